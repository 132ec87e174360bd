"""Whose fault a failed pull is, for real (Anvil, two Kubo nodes, podman): the provider's own
node crashing mid-transfer is retried, not blamed on the image; content that verifies wrong
still is the image's fault."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpurent.images.archive import LayerFile
from gpurent.images.kubo import UploadPart
from gpurent.images.store import IMAGE_FILE, METADATA_FILE, ImageStore
from gpurent.local import ipfs as node_mod
from gpurent.local.process import alive, free_port
from gpurent.types import JobStatus
from tests.agent.test_agent import wait_chain
from tests.services import make_image

BLOB = 48 * 2**20  # large enough that a transfer is still going when its node is killed
RESTART_AFTER_S = 3.0


class ProviderNode:
    """The provider's own Kubo node on fixed ports (so it can come back where the agent looks),
    peered to the renter's node; ``crash`` SIGKILLs it, ``restart`` brings it back."""

    def __init__(self, root: Path, renter: node_mod.IpfsNode):
        self.repo, self.renter = root / "provider-node" / "repo", renter
        self.ports = (free_port(), free_port(), free_port())
        self.node = self._start()

    def _start(self) -> node_mod.IpfsNode:
        return node_mod.start(*self.ports, peers=self.renter.swarm_multiaddrs, repo=self.repo)

    def crash(self) -> None:
        os.kill(self.node.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(self.node.pid):
            assert time.monotonic() < deadline, "the killed Kubo did not go"
            time.sleep(0.05)

    def restart(self) -> None:
        self.node = self._start()

    def stop(self) -> None:
        node_mod.stop_node(self.node)


@pytest.fixture
def provider_node(kubo, tmp_path) -> Iterator[ProviderNode]:
    node = ProviderNode(tmp_path, kubo)
    yield node
    node.stop()


def _crash_mid_transfer(store: ImageStore, node: ProviderNode) -> tuple[threading.Event, threading.Event]:
    """Kills ``node`` for real once the first MiB of an image.tar has reached the agent, and
    restarts it ``RESTART_AFTER_S`` later; the events: crashed, and back."""
    read = store.ipfs.read
    back = threading.Event()
    crashed = threading.Event()

    def restart_later() -> None:
        time.sleep(RESTART_AFTER_S)
        node.restart()
        back.set()

    def reading(path: str, **options: Any) -> Iterator[bytes]:
        stream = read(path, **options)
        if path.endswith(IMAGE_FILE) and not crashed.is_set():
            yield next(stream)
            crashed.set()
            node.crash()
            threading.Thread(target=restart_later, daemon=True).start()
        yield from stream

    store.ipfs.read = reading  # type: ignore[method-assign]
    return crashed, back


def _stats(suite: Any, provider: str) -> tuple[int, int, int, int]:
    s = suite.marketplace.providerStats(provider)
    return int(s.totalJobs), int(s.successfulJobs), int(s.valueFailed), int(s.openJobs)


def test_the_providers_node_crashing_mid_transfer_is_retried_and_the_job_runs(
        start_agent, provider_node, kubo, engine_factory, engine, renter2_rent, suite, cast, tmp_path):
    path, info = make_image(tmp_path, "gpurent-test/large:1", b"echo ran after the crash; sleep 2",
                            cmd=["/bin/busybox", "sh", "/payload"], files=(LayerFile("blob", os.urandom(BLOB)),))
    cid = ImageStore(kubo.client(), engine_factory, workdir=tmp_path / "push").push_archive(path).cid
    runner = start_agent(node=provider_node.node, fetch_timeout_s=10, node_retry_s=120)
    crashed, back = _crash_mid_transfer(runner.agent.store, provider_node)
    before = _stats(suite, cast.provider.address)
    try:
        job = renter2_rent.create_job(runner.gpu, cid, 3600).value
        record = runner.wait_phase(job.job_id, "completed", "declined", "failed", timeout_s=240)
        assert crashed.is_set(), "the node was never crashed: the transfer did not go through the provider's node"
        assert record.phase == "completed", record.error  # main: declined, "reading … from the IPFS gateway failed"
        assert back.is_set()
        assert record.exit_code == 0 and record.error is None
        settled = wait_chain(renter2_rent, job.job_id, JobStatus.COMPLETED)
        assert settled.final_cost > 0  # the provider is paid for the run
        phases = [p for p, _, _ in runner.agent.state.history(job.job_id)]
        assert phases[:3] == ["queued", "pulling", "pulled"] and "declined" not in phases
        total, succeeded, failed, open_jobs = _stats(suite, cast.provider.address)
        assert (total, succeeded, failed, open_jobs) == (before[0] + 1, before[1] + 1, before[2], before[3])
    finally:
        try:
            engine.images.remove(info.image_id, force=True)
        except Exception:  # noqa: BLE001 - never loaded
            pass


def test_a_node_down_past_the_bound_declines_without_blaming_the_image(
        start_agent, provider_node, push_image, renter2_rent, suite, cast):
    cid = push_image("echo never runs")
    runner = start_agent(node=provider_node.node, fetch_timeout_s=10, node_retry_s=6)
    before, balance = _stats(suite, cast.provider.address), renter2_rent.balance()
    client = runner.agent.store.ipfs
    cat_bytes = client.cat_bytes

    def crash_first(path: str, **options: Any) -> bytes:  # the node dies as the pull begins, for good
        if provider_node.node.pid and alive(provider_node.node.pid):
            provider_node.crash()
        return cat_bytes(path, **options)

    client.cat_bytes = crash_first  # type: ignore[method-assign]
    job = renter2_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "declined", "failed", timeout_s=120)
    assert record.phase == "declined", record.error
    assert "the provider's own node, not the image" in record.error
    assert wait_chain(renter2_rent, job.job_id, JobStatus.CANCELLED).start_time == 0
    assert renter2_rent.balance() == balance  # every token back
    assert _stats(suite, cast.provider.address) == before  # and nothing recorded against the provider


def test_metadata_misstating_the_size_is_still_the_images_fault(start_agent, provider_node, kubo, engine_factory,
                                                                  renter2_rent, suite, cast, tmp_path):
    path, _ = make_image(tmp_path, "gpurent-test/short:1", b"echo x", cmd=["/bin/busybox", "sh", "/payload"])
    honest = ImageStore(kubo.client(), engine_factory, workdir=tmp_path / "push").push_archive(path).metadata
    lying = dataclasses.replace(honest, size=honest.size + 4096)  # the stream would end "short" every time
    cid = kubo.client().add([UploadPart(IMAGE_FILE, [path.read_bytes()]),
                             UploadPart(METADATA_FILE, [lying.to_bytes()])], pin=False)[-1].cid
    runner = start_agent(node=provider_node.node, fetch_timeout_s=10, node_retry_s=120)
    before = _stats(suite, cast.provider.address)
    job = renter2_rent.create_job(runner.gpu, cid, 3600).value
    record = runner.wait_phase(job.job_id, "declined", "failed", timeout_s=120)
    assert record.phase == "declined" and "failed verification" in record.error, record.error
    assert "not the image" not in record.error
    assert _stats(suite, cast.provider.address) == before
