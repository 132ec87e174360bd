"""The provider's image cache against a real Kubo node, a real peer and a real engine."""

from __future__ import annotations

from dataclasses import replace

import pytest
from docker.errors import ImageNotFound

from gpurent.errors import IntegrityError
from gpurent.images.cache import DAY, CacheMaintainer, ImageCache, chain_popularity
from gpurent.images.kubo import UploadPart
from gpurent.images.store import IMAGE_FILE, METADATA_FILE, ImageStore
from gpurent.settings import load_settings


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def peers(nodes):
    """A renter's node (where images are pushed) and a provider's node peered with it."""
    renter = nodes.start("renter")
    provider = nodes.start("provider", peers=[renter])
    return renter, provider


@pytest.fixture
def settings():
    return replace(load_settings(), cache_quota_bytes=1 << 40, cache_unused_days=30, prewarm_top=10,
                   prewarm_minutes=5)


def make_cache(provider, engine_factory, tmp_path, settings, clock=None) -> ImageCache:
    store = ImageStore(provider.client(), engine_factory, workdir=tmp_path / "work")
    return ImageCache(store, tmp_path / "cache.db", settings, clock or Clock())


def test_first_use_fetches_from_peers_then_the_fast_path(peers, engine_factory, engine, image_factory, tmp_path,
                                                         settings):
    renter, provider = peers
    renter_store = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r")
    path, info = image_factory("gpurent-test/cached:1")
    cid = renter_store.push_archive(path).cid
    cache = make_cache(provider, engine_factory, tmp_path, settings)

    first = cache.ensure(cid)
    assert (first.source, first.image_id) == ("peers", info.image_id)
    assert provider.client().is_pinned(cid)
    assert cache.ensure(cid).source == "cache"  # pinned and loaded: no transfer

    engine.images.remove(info.image_id, force=True)  # the engine lost it; the pin has it
    again = cache.ensure(cid)
    assert (again.source, again.image_id) == ("local", info.image_id)
    engine.images.get(info.image_id)


def test_an_images_state_says_whether_a_job_would_start_here_without_a_transfer(peers, engine_factory, engine,
                                                                                image_factory, tmp_path, settings):
    renter, provider = peers
    path, info = image_factory("gpurent-test/state:1")
    pushed = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r").push_archive(path).cid
    other = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r").push_archive(
        image_factory("gpurent-test/state:2")[0]).cid
    cache = make_cache(provider, engine_factory, tmp_path, settings)
    assert cache.state(pushed) == "absent"  # on a peer only
    # pinned on the renter's own node for its push, but no cache of that node's ever took it
    assert make_cache(renter, engine_factory, tmp_path / "renter", settings).state(pushed) == "absent"

    cache.ensure(pushed)
    assert cache.state(pushed) == "ready" and cache.state(other) == "absent"
    engine.images.remove(info.image_id, force=True)
    assert cache.state(pushed) == "stored"  # pinned here, to be loaded again: no download
    assert cache.prewarm([other], top=1, fetch_timeout_s=10) == [other]
    assert cache.state(other) == "stored"  # pre-warmed: pinned, never loaded
    cache.ensure(other)
    assert cache.state(other) == "ready"
    cache._evict(next(e for e in cache.entries() if e.cid == pushed))
    assert cache.state(pushed) == "absent"


def test_a_forged_image_from_a_peer_is_never_loaded_or_pinned(peers, engine_factory, engine, image_factory,
                                                              tmp_path, settings):
    renter, provider = peers
    path, info = image_factory("gpurent-test/forged:1")
    honest = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r").push_archive(path).metadata
    forged = replace(honest, digest="sha256:" + "ab" * 32)
    cid = renter.client().add([UploadPart(IMAGE_FILE, [path.read_bytes()]),
                               UploadPart(METADATA_FILE, [forged.to_bytes()])])[-1].cid
    cache = make_cache(provider, engine_factory, tmp_path, settings)
    with pytest.raises(IntegrityError):
        cache.ensure(cid, job_id="0xjob")
    assert not provider.client().is_pinned(cid)
    with pytest.raises(ImageNotFound):
        engine.images.get(info.image_id)
    assert cache.entries() == []  # and the failed job's lease is gone
    assert cache.leases() == []


def test_cleanup_removes_stale_images_but_never_one_in_use(peers, engine_factory, image_factory, tmp_path,
                                                           settings):
    renter, provider = peers
    store = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r")
    clock = Clock()
    cache = make_cache(provider, engine_factory, tmp_path, settings, clock)
    old_busy, old_idle, fresh = (store.push_archive(image_factory(f"gpurent-test/age:{i}")[0]).cid for i in range(3))
    cache.ensure(old_busy, job_id="0xrunning")
    cache.ensure(old_idle)
    clock.now += 31 * DAY
    cache.ensure(fresh)

    removed = cache.cleanup()
    assert removed == [old_idle]
    assert not provider.client().is_pinned(old_idle)
    assert provider.client().is_pinned(old_busy) and provider.client().is_pinned(fresh)

    cache.release(old_busy, "0xrunning")  # released now: last used now, so not stale yet
    assert cache.cleanup() == []
    clock.now += 31 * DAY
    assert set(cache.cleanup()) == {old_busy, fresh}


def test_quota_evicts_least_recently_used_first(peers, engine_factory, image_factory, tmp_path, settings):
    renter, provider = peers
    store = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r")
    cids = [store.push_archive(image_factory(f"gpurent-test/lru:{i}", size=500_000)[0]).cid for i in range(4)]
    clock = Clock()
    cache = make_cache(provider, engine_factory, tmp_path, settings, clock)
    for cid in cids:
        clock.now += 60
        cache.ensure(cid)
    clock.now += 60
    cache.ensure(cids[0])  # now the most recently used
    cache.acquire(cids[1], "0xjob")  # the least recently used, but a job holds it
    sizes = {e.cid: e.size for e in cache.entries()}
    cache.settings = replace(settings, cache_quota_bytes=sizes[cids[0]] + sizes[cids[1]] + 1)

    removed = cache.cleanup()
    assert removed == [cids[2], cids[3]]  # LRU order, skipping the leased one
    assert {e.cid for e in cache.entries()} == {cids[0], cids[1]}
    assert cache.total_bytes() <= cache.settings.cache_quota_bytes


def test_prewarm_pins_the_most_rented_images_it_lacks(peers, engine_factory, image_factory, tmp_path, settings):
    renter, provider = peers
    store = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r")
    cids = [store.push_archive(image_factory(f"gpurent-test/popular:{i}")[0]).cid for i in range(4)]
    not_an_image = renter.client().add([UploadPart("x.txt", [b"x"])], wrap=False)[-1].cid
    cache = make_cache(provider, engine_factory, tmp_path, settings)
    cache.ensure(cids[0])  # already held

    pinned = cache.prewarm([cids[0], not_an_image, cids[1], cids[2], cids[3]], top=4, fetch_timeout_s=10)
    assert pinned == [cids[1], cids[2]]  # the top 4 minus the held one and the non-image
    assert all(provider.client().is_pinned(c) for c in cids[:3]) and not provider.client().is_pinned(cids[3])
    # pre-warmed: pinned, not yet loaded; first use verifies and loads from the local pin
    assert cache.ensure(cids[1]).source == "local"


def test_maintainer_runs_on_its_schedule(peers, engine_factory, image_factory, tmp_path, settings):
    renter, provider = peers
    cid = ImageStore(renter.client(), engine_factory, workdir=tmp_path / "r").push_archive(image_factory()[0]).cid
    clock = Clock()
    cache = make_cache(provider, engine_factory, tmp_path, settings, clock)
    asked: list[int] = []

    def popular(top: int) -> list[str]:
        asked.append(top)
        return [cid]

    maintainer = CacheMaintainer(cache, popular)
    assert maintainer.tick() == ([cid], [])
    clock.now += 4 * 60
    assert maintainer.tick() is None
    clock.now += 61
    assert maintainer.tick() == ([], [])
    assert asked == [10, 10]


def test_popularity_comes_from_job_events(as_provider, gp, cast, gpu):
    renter = gp.with_account(cast.renter)
    popular, rare = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", \
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    for cid in (popular, rare, popular, popular):
        renter.create_job(gpu.resource_id, cid, 60)
    ranking = gp.image_popularity()
    assert ranking == [(popular, 3), (rare, 1)]
    assert gp.image_popularity(top=1) == [(popular, 3)]
    assert chain_popularity(as_provider)(1) == []  # what pre-warms: only jobs that paid (tests/agent)
