"""`gpurent images`: Docker images by CID over IPFS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gpurent.command import App
from gpurent.cli.common import pass_app
from gpurent.settings import format_size

if TYPE_CHECKING:
    from gpurent.images.store import ImageMetadata, ImageStore


@click.group("images")
def group() -> None:
    """Push images to IPFS, pull them back verified, list and unpin them."""


def _store(app: App) -> ImageStore:
    from gpurent.local.ipfs import ipfs_client
    from gpurent.images.store import ImageStore

    return ImageStore(ipfs_client())


def _uploader(app: App) -> str | None:
    if not app.account:
        return None
    from gpurent.sdk import resolve_account

    return str(resolve_account(app.account).address)


def _row(cid: str, meta: ImageMetadata) -> dict[str, Any]:
    return {"cid": cid, "image": meta.reference, "size": format_size(meta.size), "created": meta.created,
            "uploader": meta.uploader or ""}


@group.command("push")
@click.argument("image")
@click.option("--network", is_flag=True, help="The job needs network access (providers may decline it)")
@pass_app
def push(app: App, image: str, network: bool) -> None:
    """Adds IMAGE to IPFS and pins it; prints its CID.

    IMAGE is a docker-archive tar (`docker save -o x.tar …`) or an image the container engine
    holds (exported through its API).
    """
    store = _store(app)
    uploader = _uploader(app)
    sent = _Counted()
    try:
        with app.output.transfer() as transfer:
            sent.inner = transfer
            if image.endswith(".tar") or Path(image).is_file():
                pushed = store.push_archive(Path(image), uploader=uploader, transfer=sent, network=network)
            else:
                pushed = store.push_local(image, uploader=uploader, transfer=sent, network=network)
    except KeyboardInterrupt:
        _stopped(image, sent.done)
    app.output.done(f"pushed {pushed.metadata.reference} ({format_size(pushed.metadata.size)}, "
                    f"{pushed.metadata.digest[:19]}…)")
    if app.output.as_json:
        app.output.data({"cid": pushed.cid, **_meta(pushed.metadata)})
    else:
        click.echo(pushed.cid)


class _Counted:
    """The transfer display, counting the bytes sent (what a Ctrl-C reports)."""

    def __init__(self) -> None:
        from gpurent.images.store import NoProgress

        self.inner: Any = NoProgress()
        self.done = 0

    def begin(self, label: str, total: int | None) -> None:
        self.inner.begin(label, total)

    def advance(self, done: int) -> None:
        self.done += done
        self.inner.advance(done)

    def end(self) -> None:
        self.inner.end()


INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT)


def _stopped(image: str, sent: int) -> None:
    """Ctrl-C during a push: what was stopped and what was kept (IPFS pins an upload only once
    it is whole, so nothing was pinned and no CID was made), then exit 130."""
    from gpurent.output import safe_text

    click.echo(f"stopped: the push of {safe_text(image)} was interrupted after {format_size(sent)}; nothing was "
               f"pinned and no CID was made (the blocks already added stay unpinned on the IPFS node until its "
               f"next garbage collection); {safe_text(image)} itself is unchanged", err=True)
    raise SystemExit(INTERRUPTED)


@group.command("sample")
@click.option("--tag", default=None, help="Tag for the built image (default: gpurent-sample/hello-gpu:1)")
@click.option("--push/--no-push", "and_push", default=True, show_default=True, help="Also push it to IPFS")
@pass_app
def sample(app: App, tag: str | None, and_push: bool) -> None:
    """Builds gpurent's sample job (busybox, FROM scratch) in the container engine; pushes it."""
    from gpurent import sample as sample_mod
    from gpurent.local.engine import engine_client

    tag = tag or sample_mod.TAG
    with app.output.pending(f"Building {tag}…"):
        image_id = sample_mod.build(engine_client(), tag)
    app.output.done(f"built {tag} ({image_id[:19]}…)")
    if and_push:
        click.get_current_context().invoke(push, image=tag, network=False)


def _meta(meta: ImageMetadata) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(meta)


@group.command("pull")
@click.argument("cid")
@pass_app
def pull(app: App, cid: str) -> None:
    """Fetches CID, verifies its digest, loads it into the container engine and pins it."""
    store = _store(app)
    with app.output.transfer() as transfer:
        pulled = store.pull(cid, transfer=transfer)
    app.output.done(f"{pulled.metadata.reference} verified and loaded")
    app.output.data({"cid": pulled.cid, "image": pulled.metadata.reference, "image_id": pulled.image_id,
                     "digest": pulled.metadata.digest, "size": pulled.metadata.size})


@group.command("ls")
@pass_app
def ls(app: App) -> None:
    """The gpurent images this node keeps (pinned)."""
    images = _store(app).list()
    if app.output.as_json:
        app.output.data([{"cid": i.cid, **_meta(i.metadata)} for i in images])
    elif not images:
        app.output.info("no images pinned on this node: push one with `gpurent images push IMAGE`")
    else:
        app.output.data([_row(i.cid, i.metadata) for i in images], title="Images")


@group.command("inspect")
@click.argument("cid")
@pass_app
def inspect(app: App, cid: str) -> None:
    """An image's metadata and what this node holds of it."""
    app.output.data(_store(app).inspect(cid), title=f"Image {cid}")


@group.command("rm")
@click.argument("cid")
@pass_app
def rm(app: App, cid: str) -> None:
    """Unpins CID (its blocks are freed at the node's next garbage collection)."""
    store = _store(app)
    store.remove(cid)
    app.output.done(f"unpinned {cid}")
    app.output.data({"cid": cid, "pinned": False})
