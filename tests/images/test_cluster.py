"""IPFS Cluster (built from the Go module proxy) over three Kubo nodes: replication 2 to 3."""

from __future__ import annotations

import time

import pytest

from gpurent.errors import ImageError
from gpurent.images.cluster import new_secret, start_peer, stop_peer
from gpurent.images.store import ImageStore

TTL = 3.0  # seconds before a silent peer's metrics expire (30 s by default)


@pytest.fixture
def cluster(nodes, tmp_path):
    kubos = []
    for name in ("a", "b", "c"):
        kubos.append(nodes.start(name, peers=kubos))
    secret = new_secret()
    peers = []
    for kubo in kubos:
        peers.append(start_peer(tmp_path / f"cluster-{len(peers)}", kubo, secret, bootstrap=list(peers),
                                metric_ttl_s=TTL))
    yield kubos, peers
    for peer in peers:
        stop_peer(peer)


def wait_for(predicate, timeout_s: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_replicated_pins_survive_a_lost_peer_and_refuse_under_replication(cluster, nodes, engine_factory,
                                                                          image_factory, tmp_path):
    kubos, peers = cluster
    client = peers[2].client()
    wait_for(lambda: len(client.peers()) == 3, what="three cluster peers")
    assert client.wait_live(3) == {p.peer_id for p in peers}

    path, info = image_factory("gpurent-test/cluster:1")
    pushed = ImageStore(kubos[0].client(), engine_factory, workdir=tmp_path / "w").push_archive(path)
    kubos[0].client().pin_rm(pushed.cid)  # only the cluster keeps it from here on
    client.pin(pushed.cid, replication_min=2, replication_max=3, name="gpurent-test/cluster:1")
    status = client.wait_pinned(pushed.cid, at_least=3)
    assert set(status) == {p.peer_id for p in peers}
    assert all(k.client().is_pinned(pushed.cid) for k in kubos)

    # peer a (cluster peer and its Kubo node) is lost: the image is still retrievable
    stop_peer(peers[0])
    nodes.stop(kubos[0])
    newcomer = nodes.start("newcomer", peers=[kubos[1], kubos[2]])
    pulled = ImageStore(newcomer.client(), engine_factory, workdir=tmp_path / "n").pull(pushed.cid)
    assert pulled.image_id == info.image_id

    # with peer b gone too, one live peer is below the minimum of 2: a new pin is refused
    stop_peer(peers[1])
    wait_for(lambda: client.live_peers() == {peers[2].peer_id}, what="the lost peers' metrics to expire")
    other, _ = image_factory("gpurent-test/cluster:2")
    fresh = ImageStore(kubos[2].client(), engine_factory, workdir=tmp_path / "c").push_archive(other).cid
    with pytest.raises(ImageError, match="not enough peers to allocate"):
        client.pin(fresh, replication_min=2, replication_max=3)
    # the surviving replica still serves the first image
    assert kubos[2].client().is_pinned(pushed.cid)
