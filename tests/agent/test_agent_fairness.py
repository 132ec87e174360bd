"""No renter may get an honest provider penalised (issue 16): a job flooding its log, a forged
image, or cheap jobs naming a CID on someone else's GPU cost the provider no heartbeat, no other
job's cap, no memory, no failed job and no pre-warm of the attacker's choosing.

Real components: the session chain, a Kubo node, podman containers, the agent in-process; an
oracle-like receiver counts the agent's signed heartbeats by slot, as the oracles do."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler

import pytest
from docker.errors import ImageNotFound

from gpurent.agent.endpoint import LogStore
from gpurent.agent.tasks import Tasks
from gpurent.http import HttpServer, read_json, send_json
from gpurent.images.kubo import UploadPart
from gpurent.images.store import IMAGE_FILE, METADATA_FILE, ImageMetadata, ImageStore
from gpurent.types import JobStatus
from gpurent.wire.protocol import slot_of
from tests.agent.test_agent import MISSING_CID, wait_chain
from gpurent.agent.agent import Agent
from gpurent.local.process import free_port
from tests.agents import PRICE, AgentRunner, agent_config
from tests.services import make_image

INTERVAL = 2.0  # heartbeat slots: wide for a loaded machine, far shorter than a stalled loop's gap
FLOOD_BYTES = 200_000_000  # the flood, in lines of 75 bytes as a chatty job prints them
LOG_MB = 8
CAP_S = 15  # the other job's booking: its cap falls while the flood's log would be sealed
RSS_GROWTH_MIB = 300


class BeatCounter:
    """An oracle's heartbeat route: records the slot of every beat (the oracle's own cut)."""

    def __init__(self) -> None:
        self.slots: list[int] = []
        self.server = HttpServer("127.0.0.1", 0, "beat-counter", self._get, self._post)
        self.url = f"http://127.0.0.1:{self.server.port}"

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        send_json(request, 404, {"error": "not found"})

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        self.slots.append(slot_of(int(read_json(request)["timestamp"]), INTERVAL))
        send_json(request, 200, {"accepted": True})

    def missed(self, first: int, last: int) -> list[int]:
        kept = set(self.slots)
        return [slot for slot in range(first, last + 1) if slot not in kept]


class PeakRss:
    """This process's resident memory, sampled every 20 ms on a thread (the agent runs in-process)."""

    def __init__(self) -> None:
        self.baseline = self.peak = _rss_mib()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, _rss_mib())

    def growth(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak - self.baseline


@pytest.fixture
def renter_rent(gp, cast):
    """The second renter: job ids carry the renter's address, and podman's storage is shared by
    every test session on this machine, so other sessions' jobs (the first renter's) never name
    the same containers as these (until containers carry the chain and the agent in their label)."""
    return gp.with_account(cast.renter2)


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _phase_at(runner, job_id: str, phase: str) -> float:
    return next(at for p, at, _ in runner.agent.state.history(job_id) if p == phase)


def test_a_log_flood_costs_no_heartbeat_no_memory_and_not_another_jobs_cap(start_agent, push_image, renter_rent):
    beats = BeatCounter()
    beats.server.start()
    try:
        runner = start_agent(slots=2, oracle_urls=(beats.url,), heartbeat_interval_s=INTERVAL, log_mb=LOG_MB)
        flood_gpu, capped_gpu = runner.agent.slots
        line = "gpurent flood " + "0123456789" * 6
        flood_cid = push_image(f"yes '{line}' | head -c {FLOOD_BYTES}; echo flood-done", "gpurent-test/flood:1")
        capped_cid = push_image("echo capped; exec sleep 600", "gpurent-test/capped:1")
        deadline = time.monotonic() + 30
        while not beats.slots:
            assert time.monotonic() < deadline, "no heartbeat from the agent"
            time.sleep(0.1)
        first = beats.slots[0] + 1
        memory = PeakRss()

        flood = renter_rent.create_job(flood_gpu, flood_cid, 3600).value
        capped = renter_rent.create_job(capped_gpu, capped_cid, CAP_S).value
        flooded = runner.wait_phase(flood.job_id, "completed", timeout_s=300)
        held = runner.wait_phase(capped.job_id, "completed", timeout_s=300)
        time.sleep(INTERVAL)
        last = slot_of(time.time() - INTERVAL, INTERVAL)  # the last slot whose beat is surely in
        growth = memory.growth()

        assert not beats.missed(first, last), (beats.missed(first, last), first, last)
        assert growth < RSS_GROWTH_MIB, f"the agent's memory grew {growth:.0f} MiB over a {FLOOD_BYTES} byte log"
        assert flooded.exit_code == 0 and not flooded.capped
        kept = runner.agent.logs.read(flood.job_id)
        # the agent's copy: the output's beginning, within the cap; it ends at the cap's mark, or
        # (the flood outran the follow stream and the engine's capped log started over) marked
        # as having a gap, or with the whole record when the engine's log kept it
        assert len(kept) <= LOG_MB * 2**20 + len(LogStore.TRUNCATED), len(kept)
        assert kept.startswith(line.encode() + b"\n")
        assert kept.endswith((LogStore.TRUNCATED, LogStore.GAP, b"flood-done\n")), kept[-200:]

        assert held.capped  # the other job was stopped at its cap, on time, and billed exactly the cap
        late = _phase_at(runner, capped.job_id, "exited") - _phase_at(runner, capped.job_id, "running") - CAP_S
        assert late < 10, f"the cap was enforced {late:.1f} s late"
        settled = renter_rent.job(capped.job_id)
        assert settled.final_cost == settled.max_cost == Decimal(CAP_S) / 100
    finally:
        beats.server.stop()


def _forged(kind: str, archive: bytes, honest: ImageMetadata) -> tuple[bytes, ImageMetadata]:
    """An image.tar and a gpurent.json that pass every check before the bytes are fetched."""
    import hashlib
    import os

    if kind == "digest":  # the bytes are not the ones the metadata names
        return archive, replace(honest, digest="sha256:" + "ab" * 32)
    if kind == "image-id":  # a real image, but not the one the metadata names
        return archive, replace(honest, image_id="sha256:" + "1" * 64)
    garbage = os.urandom(len(archive))  # bytes as named, but no image the engine can load
    return garbage, replace(honest, digest="sha256:" + hashlib.sha256(garbage).hexdigest(), image_id=None)


@pytest.mark.parametrize("kind", ["digest", "image-id", "not-an-image"])
def test_a_forged_image_is_declined_before_acceptance_at_no_cost_to_the_provider(
        kind, start_agent, kubo, engine_factory, engine, renter_rent, provider_rent, suite, cast, tmp_path):
    runner = start_agent()
    path, info = make_image(tmp_path, f"gpurent-test/forged-{kind}:1", kind.encode(),
                            cmd=["/bin/busybox", "sh", "/payload"])
    honest = ImageStore(kubo.client(), engine_factory, workdir=tmp_path / "push").push_archive(path).metadata
    data, metadata = _forged(kind, path.read_bytes(), honest)
    cid = kubo.client().add([UploadPart(IMAGE_FILE, [data]), UploadPart(METADATA_FILE, [metadata.to_bytes()])],
                            pin=False)[-1].cid
    provider = cast.provider.address
    stats, score = suite.marketplace.providerStats(provider), provider_rent.reputation(provider)
    balance = renter_rent.balance()

    job = renter_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "declined", "failed")
    try:
        assert record.phase == "declined", record.error
        assert [p for p, _, _ in runner.agent.state.history(job.job_id)] == ["queued", "pulling", "declined"]
        assert wait_chain(renter_rent, job.job_id, JobStatus.CANCELLED).start_time == 0
        assert renter_rent.balance() == balance  # every token back
        after = suite.marketplace.providerStats(provider)
        assert (after.totalJobs, after.successfulJobs, after.valueFailed, after.openJobs) == \
            (stats.totalJobs, stats.successfulJobs, stats.valueFailed, stats.openJobs)
        reputation = provider_rent.reputation(provider)
        assert (reputation.score, reputation.total_jobs, reputation.completion) == \
            (score.score, score.total_jobs, score.completion)
        assert not kubo.client().is_pinned(cid)  # and no container was made (the history has no start)
        if kind == "digest":
            with pytest.raises(ImageNotFound):
                engine.images.get(info.image_id)
    finally:
        try:
            engine.images.remove(info.image_id, force=True)
        except Exception:  # noqa: BLE001 - never loaded
            pass


def test_only_jobs_paid_on_the_providers_own_gpus_choose_what_it_prewarms(start_agent, push_image, renter_rent,
                                                                          gp, cast, kubo):
    runner = start_agent(fetch_timeout_s=2)
    paid_cid = push_image("echo a paying job; sleep 2", "gpurent-test/paid:1")  # billed 2 s or more
    bait_cid = push_image("echo the attacker's pick", "gpurent-test/bait:1")  # a real image anyone could fetch
    kubo.client().pin_rm(bait_cid)  # pushed for the test: only a pre-warm would pin it again
    paid = renter_rent.create_job(runner.gpu, paid_cid, 3600).value
    runner.wait_phase(paid.job_id, "completed")
    assert renter_rent.job(paid.job_id).final_cost > 0
    declined = renter_rent.create_job(runner.gpu, MISSING_CID, 3600).value  # on this GPU, never paid
    runner.wait_phase(declined.job_id, "declined")

    elsewhere = gp.with_account(cast.provider2)  # the attacker's own GPUs: one at 1 wei an hour
    elsewhere.register_provider("http://127.0.0.1:9", stake=100)
    cheap = elsewhere.register_resource("RTX4090", 1, 1, 1, Decimal("1e-18")).value.resource_id
    for _ in range(3):  # jobs naming the bait, cancelled: a few gas each, nothing paid
        renter_rent.cancel_job(renter_rent.create_job(cheap, bait_cid, 3600).value.job_id)
    priced = elsewhere.register_resource("RTX4090", 1, 1, 1, PRICE).value.resource_id
    for _ in range(2):  # paid, but to someone else: another provider's popularity, not this one's
        other = renter_rent.create_job(priced, bait_cid, 3600).value
        elsewhere.accept_job(other.job_id)
        elsewhere.start_job(other.job_id)
        time.sleep(1.5)  # a second or more billed
        renter_rent.complete_job(other.job_id)
        assert renter_rent.job(other.job_id).final_cost > 0

    maintainer = runner.agent.maintainer
    assert maintainer.popular(10) == [paid_cid]
    pinned = runner.agent.cache.prewarm(maintainer.popular(10), 10, fetch_timeout_s=5)
    assert bait_cid not in pinned and not kubo.client().is_pinned(bait_cid)


def test_sealing_reads_the_engines_record_only_up_to_the_cap(tmp_path):
    """The seal's read of the engine's record stops at the cap and closes the stream: an endless
    record costs one chunk of memory, not the record."""
    logs = LogStore(tmp_path, max_bytes=1 << 20)
    logs.append("0xjob", b"streamed, with a line missing\n")
    read, closed = [], []

    class EndlessRecord:
        def __iter__(self):
            while True:
                read.append(1)
                yield b"y" * 8192

        def close(self) -> None:
            closed.append(True)

    assert logs.seal("0xjob", EndlessRecord())
    sealed = logs.read("0xjob")
    assert len(sealed) == (1 << 20) + len(LogStore.TRUNCATED) and logs.full("0xjob")
    assert len(read) == (1 << 20) // 8192 + 1 and closed == [True]
    assert not logs.seal("0xjob", iter([])) and logs.read("0xjob") == sealed  # an empty record keeps the log
    # an engine log that started over at its own cap holds only its end: the streamed copy stays, marked
    logs.reset("0xjob")
    logs.append("0xjob", b"line 1\nline 2\nline 3\n")
    assert not logs.seal("0xjob", iter([b"line 9\n"])) and logs.read("0xjob") == b"line 1\nline 2\nline 3\n" + logs.GAP
    # a shorter record that begins alike corrects the stream's repeated lines
    logs.reset("0xjob")
    logs.append("0xjob", b"line 1\nline 2\nline 2\n")
    assert logs.seal("0xjob", iter([b"line 1\nline 2\n"])) and logs.read("0xjob") == b"line 1\nline 2\n"


def test_the_job_pool_runs_one_task_per_job_and_no_job_behind_another():
    pool = Tasks(2, "test")
    slow, other, again = threading.Event(), threading.Event(), []
    assert pool.submit("0xslow", lambda: slow.wait(30))  # a job's slow step (a seal, a pull)
    assert not pool.submit("0xslow", lambda: again.append(1))  # its next round finds it busy: skipped
    assert pool.submit("0xother", other.set)
    assert other.wait(10), "another job's step waited behind the slow one"
    assert pool.busy("0xslow") and not again
    slow.set()
    deadline = time.monotonic() + 10
    while pool.busy("0xslow") or pool.busy("0xother"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert pool.submit("0xslow", lambda: again.append(1))  # done: the job's next step runs
    while pool.busy("0xslow"):
        time.sleep(0.01)
    assert again == [1] and len(pool._threads) <= 2
    pool.close()
    assert not pool.submit("0xlate", lambda: again.append(2))


def test_prewarming_an_image_that_exists_nowhere_costs_no_heartbeat(start_agent, push_image, renter_rent,
                                                                    provider_rent, kubo, engine, engine_factory,
                                                                    tmp_path):
    """An image this provider ran and was paid for, gone since from every node: pre-warming it
    waits out the fetch timeout on its metadata. That wait is the maintenance thread's, never
    the loop's or the heartbeats'."""
    first = start_agent()
    gone = push_image("echo paid, then gone; sleep 2", "gpurent-test/gone:1")  # billed 2 s or more
    job = renter_rent.create_job(first.gpu, gone, 3600).value
    image_id = first.wait_phase(job.job_id, "completed").image_id
    first.stop()
    node = kubo.client()
    node.pin_rm(gone)
    node.repo_gc()
    engine.images.remove(image_id, force=True)

    beats = BeatCounter()
    beats.server.start()
    try:  # the same provider, started afresh: its first round finds the image due for pre-warming
        store = ImageStore(kubo.client(), engine_factory, workdir=tmp_path / "staging2")
        config = agent_config(free_port(), oracle_urls=(beats.url,), heartbeat_interval_s=INTERVAL)
        second = AgentRunner(Agent(provider_rent, config, tmp_path / "provider2", store, [])).start()
        try:
            assert second.agent.maintainer.popular(10) == [gone]
            begun = slot_of(time.time(), INTERVAL) + 1
            time.sleep(6 * INTERVAL)
            ended = slot_of(time.time() - INTERVAL, INTERVAL)
            assert not beats.missed(begun, ended), (beats.missed(begun, ended), beats.slots)
            assert second.agent.background.busy("maintenance")  # still waiting on the gone image
        finally:
            second.stop()
    finally:
        beats.server.stop()
