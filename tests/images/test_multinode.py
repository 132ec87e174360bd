"""Several Kubo nodes peered on loopback: images travel between them over bitswap."""

from __future__ import annotations

import pytest

from gpurent.errors import ImageError
from gpurent.images.store import ImageStore


def test_push_on_one_node_pull_on_another_then_lose_the_uploader(nodes, engine_factory, engine, image_factory,
                                                                  tmp_path):
    uploader = nodes.start("uploader")
    provider = nodes.start("provider", peers=[uploader])
    late = nodes.start("late", peers=[provider])  # knows only the provider, never the uploader
    assert uploader.peer_id in provider.client().swarm_peers()

    path, info = image_factory("gpurent-test/bitswap:1", size=3_000_000)
    pushed = ImageStore(uploader.client(), engine_factory, workdir=tmp_path / "u").push_archive(path)

    provider_store = ImageStore(provider.client(), engine_factory, workdir=tmp_path / "p")
    assert provider_store.ipfs.stat(pushed.cid)["SizeLocal"] < 1000  # at most the root block before the pull
    pulled = provider_store.pull(pushed.cid)
    assert pulled.image_id == info.image_id
    assert provider_store.ipfs.is_pinned(pushed.cid)
    assert provider_store.inspect(pushed.cid)["local_bytes"] == provider_store.inspect(pushed.cid)["total_bytes"]

    # the uploader leaves; the image stays retrievable from the provider's pin
    nodes.stop(uploader)
    engine.images.remove(info.image_id, force=True)
    late_store = ImageStore(late.client(), engine_factory, workdir=tmp_path / "l")
    assert late_store.pull(pushed.cid).image_id == info.image_id
    assert late_store.ipfs.cat_bytes(f"{pushed.cid}/image.tar") == path.read_bytes()


def test_an_isolated_node_cannot_find_the_image(nodes, engine_factory, image_factory, tmp_path):
    holder = nodes.start("holder")
    isolated = nodes.start("isolated")
    path, _ = image_factory()
    cid = ImageStore(holder.client(), engine_factory, workdir=tmp_path).push_archive(path).cid
    with pytest.raises(ImageError, match="not found within 3 s"):
        ImageStore(isolated.client(), engine_factory, workdir=tmp_path).metadata(cid, timeout_s=3)
