"""`gpurent data`: datasets to IPFS for jobs' inputs; `gpurent keys`: the renter's results key."""

from __future__ import annotations

from pathlib import Path

import click

from gpurent.command import App
from gpurent.cli.common import pass_app
from gpurent.settings import format_size


@click.group("data")
def group() -> None:
    """Push datasets (a file or a folder) to IPFS for jobs to mount read-only."""


@group.command("push")
@click.argument("path", type=click.Path(exists=True, file_okay=True, dir_okay=True, path_type=Path))
@pass_app
def push(app: App, path: Path) -> None:
    """Adds PATH (a file or a folder) to IPFS as one CID, pinned; prints the CID, the size and
    the sha256 digest of the content. Use it in a job as `--input CID:/data`."""
    from gpurent.cli.images import INTERRUPTED, _Counted
    from gpurent.local.ipfs import ipfs_client
    from gpurent.output import safe_text
    from gpurent.workload.data import push_data

    ipfs = ipfs_client()
    sent = _Counted()
    try:
        with app.output.transfer() as transfer:
            sent.inner = transfer
            pushed = push_data(ipfs, path, progress=sent.advance,
                               on_total=lambda total: sent.begin(f"pushing {path.name}", total))
            sent.end()
    except KeyboardInterrupt:
        click.echo(f"stopped: the push of {safe_text(str(path))} was interrupted after {format_size(sent.done)}; "
                   "nothing was pinned and no CID was made", err=True)
        raise SystemExit(INTERRUPTED) from None
    app.output.done(f"pushed {safe_text(str(path))} ({format_size(pushed.size)}, {pushed.files} file(s), "
                    f"{pushed.digest[:19]}…)")
    if app.output.as_json:
        app.output.data({"cid": pushed.cid, "size": pushed.size, "files": pushed.files, "digest": pushed.digest})
    else:
        click.echo(pushed.cid)


@click.group("keys")
def keys() -> None:
    """The renter's results key (results are sealed to it)."""


@keys.command("show")
@pass_app
def show(app: App) -> None:
    """The public half of the results key (made on first use; the private half never leaves
    $GPURENT_HOME/keys/results.key: keep a copy, results sealed to it cannot be opened without it)."""
    from gpurent.sdk.workload import results_key_path, results_keypair

    pair = results_keypair()
    assert pair is not None
    app.output.data({"public_key": pair.public_b64, "file": str(results_key_path())})
