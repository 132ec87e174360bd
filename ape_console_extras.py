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
    from gpurent.client import Gpurent
    from gpurent.devnet import on_dev_chain
    from gpurent.errors import GpurentError

    account = os.environ.get("GPURENT_ACCOUNT")
    if account is None and on_dev_chain():
        account = 0  # the deployer / admin of a local deployment
    try:
        rent = Gpurent.connect(account=account)
    except GpurentError as err:
        print(f"gpurent: not loaded: {err}")
        return {}

    def resolve(job_id, outcome, evidence_cid):
        """Rules on a dispute: outcome is provider-fault, user-fault or split."""
        return rent.resolve_dispute(job_id, outcome, evidence_cid)

    extras = {
        "rent": rent,
        "token": rent.token,
        "registry": rent.registry,
        "marketplace": rent.marketplace,
        "reputation": rent.reputation_system,
        "pending_disputes": rent.pending_disputes,
        "resolve": resolve,
        "pause": rent.pause,
        "unpause": rent.unpause,
        "params": rent.parameters,
        "job": rent.job,
        "gpus": rent.resources,
        "slash": rent.slash,
        "popular_images": rent.image_popularity,
    }
    try:  # images by CID, when an IPFS node is configured or running
        from gpurent.images.node import ipfs_client
        from gpurent.images.store import ImageStore

        extras["images"] = ImageStore(ipfs_client())
    except GpurentError:
        pass
    who = rent.account.address if rent.account is not None else "read-only (set GPURENT_ACCOUNT)"
    print(f"gpurent: connected to chain {rent.manifest.chain_id} as {who}")
    print("gpurent: loaded " + ", ".join(sorted(extras)))
    return extras
