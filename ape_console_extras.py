"""What `ape console` preloads in this project, for operators.

    $ ape console --network ethereum:local:foundry     (or the devnet's URL)
    gpurent: connected to chain 31337 as 0xf39F… (admin on local networks; GPURENT_ACCOUNT elsewhere)
    >>> pending_disputes()
    >>> resolve(job_id, "user-fault", "bafy…evidence")
    >>> params()
    >>> popular_images(10); images.inspect("bafy…")    (images: with an IPFS node up)
"""

from __future__ import annotations

import os


def ape_init_extras():
    from gpurent.sdk import Gpurent
    from gpurent.local.devnet import on_dev_chain
    from gpurent.errors import GpurentError

    account = os.environ.get("GPURENT_ACCOUNT")
    if account is None and on_dev_chain():
        account = 0  # the deployer / admin of a local deployment
    try:
        gp = Gpurent.connect(account=account)
    except GpurentError as err:
        print(f"gpurent: not loaded: {err}")
        return {}

    def resolve(job_id, outcome, evidence_cid):
        """Rules on a dispute: outcome is provider-fault, user-fault or split."""
        return gp.resolve_dispute(job_id, outcome, evidence_cid)

    extras = {
        "gp": gp,
        "token": gp.token,
        "registry": gp.registry,
        "marketplace": gp.marketplace,
        "reputation": gp.reputation_system,
        "pending_disputes": gp.pending_disputes,
        "resolve": resolve,
        "pause": gp.pause,
        "unpause": gp.unpause,
        "params": gp.parameters,
        "job": gp.job,
        "gpus": gp.resources,
        "slash": gp.slash,
        "popular_images": gp.image_popularity,
    }
    try:  # images by CID, when an IPFS node is configured or running
        from gpurent.local.ipfs import ipfs_client
        from gpurent.images.store import ImageStore

        extras["images"] = ImageStore(ipfs_client())
    except GpurentError:
        pass
    who = gp.account.address if gp.account is not None else "read-only (set GPURENT_ACCOUNT)"
    print(f"gpurent: connected to chain {gp.manifest.chain_id} as {who}")
    print("gpurent: loaded " + ", ".join(sorted(extras)))
    return extras
