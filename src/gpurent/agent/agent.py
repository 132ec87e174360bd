"""The provider agent's loop: find jobs, run them in containers, settle them on chain.

One main loop (``tick``) follows ``JobCreated`` for this provider's GPUs from its cursor,
schedules queued jobs onto free GPUs (highest value first), watches running containers
(exit → complete at the end the engine recorded, or when the container was last seen running
if it is gone or the engine recorded no end; past the booked duration → stop and complete at
the cap; renter's dispute or settlement → stop; every ``settle_interval`` a partial release of what the job accrued, see
:mod:`gpurent.agent.settle`), and settles exited jobs. The loop only decides: every piece of a
job's work runs on the job pool (:mod:`gpurent.agent.tasks`, one task per job at a time, a thread
per GPU), cache maintenance on a thread of its own, heartbeats on their own timer
(:mod:`gpurent.agent.oracle_link`), so no renter's job (a log flood, an image no peer has, a
container slow to go) can delay another job's cap or a heartbeat and get the provider penalised.

A job's way to its container: read its definition (:mod:`gpurent.agent.plan` says what is
declined), fetch and verify its image into the cache and its inputs into the input cache while
the job is still Created (unbilled, a visible phase); a definition, image or input that is
missing, forged, too large or not usable here is declined (cancelling a Created job costs the
provider nothing on chain, and refunds the renter). Only then create and start the container
and ``acceptAndStartJob``, so billing starts when the container runs (a job found Accepted, e.g.
after a restart, gets ``startJob``). An image lost between acceptance and start cancels the job
(the renter is refunded in full). At the end the output folder is packed, pinned and committed
with the settlement (``completeJobWithResult``).

A job's log is the agent's own copy, capped at ``log_mb``: the follow stream is read only up to
the cap, and at the end the log is sealed from the engine's record read as a stream up to the
cap as well, never whole into memory.

Transactions are serialised by one lock, and every one is preceded by a re-read of the job
on chain, so a restarted agent never accepts, starts or completes a job twice. The agent's
intent is in SQLite (see :mod:`gpurent.agent.state`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpurent.agent.config import AgentConfig, ResourceSpec
from gpurent.agent.endpoint import Endpoint, LogStore
from gpurent.agent.telemetry import AgentMetrics, PeersCollector
from gpurent.agent.hardware import Gpu, Monitor
from gpurent.agent.ingress import Ingress
from gpurent.agent.inputs import InputCache
from gpurent.agent.keys import ProviderKeys
from gpurent.agent.metrics import GpuReader, Sampler
from gpurent.agent.outputs import fresh_output_dir, output_dir, remove_output_dir, usage
from gpurent.agent.plan import open_secrets, refusal, workload
from gpurent.agent.popularity import Popularity
from gpurent.agent.results import ResultStore
from gpurent.agent.oracle_link import OracleLink
from gpurent.agent.runtime import Attached, Owner, Runtime, Workload
from gpurent.agent.settle import Settler
from gpurent.agent.state import OPEN, AgentState, JobRecord
from gpurent.agent.tasks import Tasks
from gpurent.agent.tokens import Tokens
from gpurent.errors import DeadlinePassed, GpurentError, ImageError
from gpurent.agent.image_states import ImageStates
from gpurent.images.cache import CacheMaintainer, CachedImage, ImageCache
from gpurent.images.retry import Backoff, NodeDown, retry_node
from gpurent.images.store import ImageStore
from gpurent.logfmt import labels
from gpurent.runner import run_rounds
from gpurent.types import AgentPhase, JobStatus
from gpurent.workload.seal import SealError
from gpurent.workload.spec import JobSpec, PortSpec, SpecError, read_definition

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

log = logging.getLogger("gpurent.provider")

WORKER_PHASES = (AgentPhase.QUEUED, AgentPhase.ACCEPTING, AgentPhase.ACCEPTED, AgentPhase.PULLING, AgentPhase.PULLED,
                 AgentPhase.STARTING)
WATCHED_PHASES = (AgentPhase.RUNNING, AgentPhase.EXITED, AgentPhase.COMPLETING)
RETRY_S = 5.0  # a worker that failed (engine or node unreachable…) is retried after this
PREPARE_ATTEMPTS = 5  # a Created job whose preparation failed this many times in a row is declined
SEEN_EVERY_S = 3  # chain seconds between records of a container seen running (the most a lost one is overbilled)
SPARE_WORKERS = 4  # job threads beyond one per GPU: jobs still open from a config with more GPUs


@dataclass(frozen=True)
class Slot:
    resource_id: str
    spec: ResourceSpec
    gpu_uuid: str | None


class JobGone(GpurentError):
    """The job was cancelled (or otherwise ended) on chain while its image or inputs came in."""


class _PullProgress:
    """The image cache's Transfer protocol, written into the job's record (visible at /jobs/<id>).
    Every ``check_s`` of transfer it asks ``wanted()`` whether the job still waits for it, and
    stops the transfer (JobGone) when not: a renter who cancels mid-fetch stops the download."""

    def __init__(self, state: AgentState, job_id: str, wanted: Callable[[], bool] | None = None,
                 check_s: float = 2.0):
        self.state, self.job_id, self.wanted, self.check_s = state, job_id, wanted, check_s
        self.done, self._last = 0, 0.0
        self.total: int | None = None
        self._checked = time.monotonic()

    def begin(self, label: str, total: int | None) -> None:
        if label == "download":
            self.done, self.total = 0, total
            self.state.progress(self.job_id, 0, total)

    def advance(self, done: int) -> None:
        self.done += done
        now = time.monotonic()
        if now - self._last > 0.25:
            self._last = now
            self.state.progress(self.job_id, self.done, self.total)
        if self.wanted is not None and now - self._checked >= self.check_s:
            self._checked = now
            if not self.wanted():
                raise JobGone(f"job {self.job_id} ended on chain while its data came in")

    def end(self) -> None:
        self.state.progress(self.job_id, self.done, self.total)


class Agent:
    def __init__(self, gp: Gpurent, config: AgentConfig, home: Path, store: ImageStore, gpus: list[Gpu],
                 clock: Callable[[], float] | None = None):
        self.gp, self.config, self.home, self.gpus = gp, config, home, gpus
        self.clock = clock or gp.chain_time  # the cap is judged in chain time, as billing is
        home.mkdir(parents=True, exist_ok=True)
        self.state = AgentState(home / "agent.db")
        self.logs = LogStore(home / "logs", config.limits.log_mb * 2**20)
        self.store = store
        self.cache = ImageCache(store, home / "cache.db")
        # the chain ranks definitions; the caches want their images and inputs
        self.popularity = Popularity(gp, store.ipfs, config.limits.fetch_timeout_s)
        self.maintainer = CacheMaintainer(self.cache, self.popularity.images)
        self.inputs = InputCache(store.ipfs, home / "inputs", config.limits.input_cache_mb * 2**20)
        self.results = ResultStore(store.ipfs, home / "results.db", config.limits.result_retention_s)
        self.keys = ProviderKeys(home)
        self._specs: dict[str, JobSpec] = {}  # definitions read this run (sealed secrets stay sealed in them)
        owner = Owner(gp.manifest.chain_id, gp.manifest.contracts["Marketplace"], gp.address)
        self.runtime = Runtime(store.engine, owner)  # labels and names its containers after this agent
        self.monitor = Monitor(gpus)
        self.slots: dict[str, Slot] = {}
        self.accepting = False
        self.stopping = threading.Event()
        self.tx_lock = threading.RLock()
        self.settler = Settler(gp, config.settle_interval_s, self.clock, self.tx_lock, config.withdraw_min)
        # one task per job at a time; every open job holds a GPU, so one thread per GPU means no
        # job's work waits behind another's
        self.jobs = Tasks(len(config.resources) + SPARE_WORKERS, "job")
        self.background = Tasks(1, "cache")  # pre-warm and clean-up: slow, and never a job's thread
        self._followers: dict[str, threading.Thread] = {}
        self._sealed: set[str] = set()  # jobs whose final log is written
        self._attached: set[str] = set()  # jobs whose log came from the attach stream (every write, once)
        self._retry_at: dict[str, float] = {}
        self._failures: dict[str, int] = {}  # preparations of a job that failed in a row
        self.endpoint = Endpoint(self.state, self.logs, gp.manifest.chain_id, gp.address,
                                 config.listen_host, config.listen_port, self.health)
        # each running job's usage, sampled on threads of its own, served at /jobs/<id>/metrics
        self.metrics = Sampler(self.runtime, self.state, GpuReader(gpus), config.metrics_interval_s, config.metrics_keep)
        self.endpoint.metrics = self.metrics
        self.telemetry = AgentMetrics()  # the agent's own metrics, at GET /metrics (gpurent.agent.telemetry)
        self.state.on_phase = self.telemetry.phase
        self.cache.on_ensure = lambda hit: self.telemetry.cache.labels("hit" if hit else "miss").inc()
        self.telemetry.exposition.registry.register(PeersCollector(store.ipfs.url))
        self.endpoint.exposition = self.telemetry.exposition
        self.endpoint.images = ImageStates(self.cache.state)
        self.oracle = OracleLink(self)  # signed heartbeats, challenge answers, oracle reads
        self.oracle.attach()
        self.ingress = Ingress(self.state, config.ingress, gp.manifest.chain_id, Tokens(), self._ports_of,
                               self._pid_of, store.engine)  # a running job's ports and shell
        self.endpoint.ingress = self.ingress

    # ================================================================ lifecycle
    def setup(self) -> None:
        """Registers the provider and its GPUs once (updating the endpoint if it moved), marks
        them available, and starts the event cursor at the current head on first run."""
        me = self.gp.provider(self.gp.address)
        with self.tx_lock:
            if not me.registered:
                self.gp.register_provider(self.config.endpoint, stake=self.config.stake)
            elif me.endpoint != self.config.endpoint:
                self.gp.update_endpoint(self.config.endpoint)
        for index, spec in enumerate(self.config.resources):
            rid = self.state.get(f"resource:{index}")
            resource = self.gp.resource(rid) if rid else None
            if resource is None or resource.retired or resource.provider.lower() != self.gp.address.lower():
                with self.tx_lock:
                    resource = self.gp.register_resource(spec.model, spec.vcpu, spec.memory_gb, spec.storage_gb,
                                                           spec.price).value
                self.state.put(f"resource:{index}", resource.resource_id)
            elif resource.price_per_hour != spec.price:
                with self.tx_lock:
                    self.gp.update_pricing(resource.resource_id, spec.price)
            gpu = spec.gpu or (self.gpus[index].uuid if index < len(self.gpus) else None)
            self.slots[resource.resource_id] = Slot(resource.resource_id, spec, gpu)
        if self.state.get("cursor") is None:
            self.state.put("cursor", str(self.gp.head_block()))
        with self.tx_lock:
            if self.keys.publish(self.gp):
                log.info("secrets key %s published", self.keys.current.public_b64)
        self.set_available(True)

    def set_available(self, available: bool) -> None:
        for rid in self.slots:
            resource = self.gp.resource(rid)
            if resource.available != available:
                with self.tx_lock:
                    self.gp.update_availability(rid, available)
        self.accepting = available

    def run(self) -> None:
        """Until ``stop``: serve, follow the chain, run jobs. Leaves running containers running."""
        self.setup()
        self.endpoint.start()
        self.monitor.start()
        self.oracle.start()
        self.recover()
        log.info("provider %s serving %d GPU(s) at %s", self.gp.address, len(self.slots), self.config.endpoint,
                 extra=labels(provider=self.gp.address))
        try:
            run_rounds(self.tick, self.stopping, self.config.poll_interval_s, log, "provider",
                       max_failures=self.config.max_failures, block=lambda: self.state.get('cursor'))
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Stop taking work (SIGTERM, Ctrl-C): no job is accepted from now on, the loop ends after
        its round, resources go unavailable, containers run on."""
        self.accepting = False
        self.stopping.set()

    def shutdown(self) -> None:
        self.accepting = False
        what = f"marking {len(self.slots)} GPU{'' if len(self.slots) == 1 else 's'} unavailable"
        log.info("%s…", what)
        try:
            self.set_available(False)
            log.info("%s… done", what)
        except GpurentError as err:
            log.warning("%s… failed: %s", what, err)
        self.oracle.stop()
        self.jobs.close()
        self.background.close()
        self.monitor.stop()
        self.metrics.stop()
        self.endpoint.stop()
        self.ingress.close()

    def health(self) -> dict[str, Any]:
        running = self.state.jobs((AgentPhase.RUNNING,))
        return {"provider": self.gp.address, "chain_id": self.gp.manifest.chain_id, "accepting": self.accepting,
                "gpus": [g.__dict__ for g in self.gpus], "slots": len(self.slots), "resources": sorted(self.slots),
                "jobs_running": [j.job_id for j in running],
                "jobs_open": len(self.state.jobs(OPEN)), "monitor": self.monitor.latest()}

    # ================================================================ recovery
    def recover(self) -> None:
        """After a restart: re-attach to containers still running; the rest resumes through
        ``tick`` (workers re-read the chain before any transaction; a container that ended while
        the agent was down has its log sealed from the engine's record when it is settled)."""
        for job in self.state.jobs((AgentPhase.RUNNING,)):
            container = self.runtime.state(job.container_id) if job.container_id else None
            if container is not None and container.status == "running":
                self._follow_logs(job.job_id, job.container_id)  # type: ignore[arg-type]
                self._sample(job.job_id, job.container_id)  # type: ignore[arg-type]
                log.info("re-attached to job %s", job.job_id, extra=labels(job=job.job_id))

    # ================================================================ the loop
    def _services_ok(self) -> str | None:
        """Why this machine cannot take work now (IPFS node or engine down), or None."""
        try:
            self.store.ipfs.version()
        except Exception as err:  # noqa: BLE001 - any failure means: do not take work
            return str(err).splitlines()[0] if str(err) else type(err).__name__
        try:
            self.store.engine.ping()
        except Exception as err:  # noqa: BLE001 - as above
            self.telemetry.engine_errors.labels("ping").inc()
            return str(err).splitlines()[0] if str(err) else type(err).__name__
        return None

    def _gate(self) -> None:
        """Keeps the GPUs available on-chain only while the node and the engine answer."""
        problem = self._services_ok()
        if problem and self.accepting:
            log.warning("cannot take work (%s): marking GPUs unavailable", problem)
            self.set_available(False)
        elif problem is None and not self.accepting:
            log.info("services answer again: GPUs available")
            self.set_available(True)

    def tick(self) -> None:
        """One round: decide what is due and hand it to the job pool; nothing slow runs here."""
        if not self.stopping.is_set():
            self._gate()
        self._poll_events()
        self._schedule()
        for job in self.state.jobs(WATCHED_PHASES):
            self.jobs.submit(job.job_id, partial(self._watch_job, job.job_id))
        self.background.submit("maintenance", self._maintain)

    def _maintain(self) -> None:
        try:
            if self.maintainer.tick() is not None:  # on the image cache's schedule
                self.inputs.prewarm(self.popularity.inputs(), max_bytes=self.config.limits.input_max_mb * 2**20,
                                    timeout_s=self.config.limits.fetch_timeout_s)
                self.inputs.cleanup()
            self.results.expire()
        except (GpurentError, OSError) as err:
            log.warning("cache maintenance: %s", err)

    def _watch_job(self, job_id: str) -> None:
        job = self.state.job(job_id)  # as it is now, not as the round that queued this saw it
        if job is None or job.phase not in WATCHED_PHASES:
            return
        try:
            self._watch(job)
        except GpurentError as err:
            log.warning("job %s: %s", job_id, err, extra=labels(job=job_id))

    def _poll_events(self) -> None:
        cursor = int(self.state.get("cursor") or 0)
        head = self.gp.head_block()
        if head <= cursor:
            return
        found = self.gp.jobs_created(cursor + 1, head, set(self.slots))
        jobs = [{**j, "priority": float(Decimal(j["price_per_hour"]) * j["duration_s"])} for j in found]
        added = self.state.record_new_jobs(jobs, head, self.gp.jobs_extended(cursor + 1, head))
        if added:
            log.info("%d new job(s)", added)

    def _schedule(self) -> None:
        if self.stopping.is_set():  # with the node or engine down (not accepting), jobs already here are still
            return  # worked on: a pull waits for the node within limits.node_retry_s, so each gets an answer
        held = {j.slot for j in self.state.jobs(OPEN) if j.slot}  # GPUs taken, including jobs being prepared
        now = time.monotonic()
        for job in self.state.jobs(WORKER_PHASES):  # highest value first
            if self.jobs.busy(job.job_id) or self._retry_at.get(job.job_id, 0) > now:
                continue
            if job.phase == AgentPhase.QUEUED and job.slot is None:
                if job.resource_id in held:
                    continue  # its GPU is busy: it waits in the queue
                held.add(job.resource_id)
                self.state.update(job.job_id, slot=job.resource_id)
            self._retry_at[job.job_id] = now + RETRY_S  # if this attempt fails, the next waits
            self.jobs.submit(job.job_id, partial(self._prepare, job.job_id))

    # ================================================================ a job's way in
    def _prepare(self, job_id: str) -> None:
        try:
            self._prepare_steps(job_id)
            self._failures.pop(job_id, None)
        except Exception as err:  # noqa: BLE001 - a worker must leave the job in a known state
            log.exception("job %s: %s", job_id, err, extra=labels(job=job_id))
            if _engine_error(err):
                self.telemetry.engine_errors.labels("prepare").inc()
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.state.update(job_id, error=reason)
            failures = self._failures[job_id] = self._failures.get(job_id, 0) + 1
            if failures >= PREPARE_ATTEMPTS:  # a job that fails the same way every time must not hold its
                self._decline_stuck(job_id, failures, reason)  # GPU forever: while Created, it is declined

    def _decline_stuck(self, job_id: str, failures: int, reason: str) -> None:
        job = self.state.job(job_id)
        try:
            if job is not None and self._chain_status(job_id) == JobStatus.CREATED:
                self._give_back(job, AgentPhase.DECLINED, f"could not be prepared ({failures} attempts): {reason}")
                self._failures.pop(job_id, None)
        except Exception as err:  # noqa: BLE001 - the chain itself unreachable: tried again next round
            log.warning("job %s: not declined yet: %s", job_id, err, extra=labels(job=job_id))

    def _chain_status(self, job_id: str) -> JobStatus:
        return self.gp.job(job_id).status

    def _prepare_steps(self, job_id: str) -> None:
        job = self.state.job(job_id)
        assert job is not None
        slot = self.slots[job.resource_id]
        status = self._chain_status(job_id)
        if status in (JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.RESOLVED, JobStatus.DISPUTED):
            self._finish(job, _final_phase(status), f"{status.label} on chain")
            return
        spec = self._definition(job, status)
        if spec is None:
            return
        if status == JobStatus.CREATED:
            try:  # the image and inputs ready and verified before anything is promised (a CID no peer
                # holds, a forged or oversized image or input fails here, and is declined at no cost)
                cached, inputs = self._pull(job, spec)
            except JobGone:  # the renter cancelled (or it expired) mid-fetch: the transfer stopped
                self._gone(job)
                return
            except (ImageError, NodeDown) as err:  # the image's fault, or our own node down past the
                # retry bound (said so): either way declined, which costs neither party anything
                self._give_back(job, AgentPhase.DECLINED, str(err))
                return
            self._launch(job, spec, slot, cached, inputs, direct=True)  # everything is here: accept and start in one
            return
            with self.tx_lock:
                if self.stopping.is_set():  # stopped (Ctrl-C) during the pull: nothing more is promised
                    log.info("job %s: not accepted, the agent is stopping", job_id, extra=labels(job=job_id))
                    return
                if self._chain_status(job_id) != JobStatus.CREATED:
                    return  # cancelled meanwhile: the next tick sees it
                self.state.update(job_id, AgentPhase.ACCEPTING)
                self.gp.accept_job(job_id)
                self.state.update(job_id, AgentPhase.ACCEPTED)
            status = JobStatus.ACCEPTED
        if status == JobStatus.ACCEPTED:
            try:  # verified already: the cache's fast path (unless the agent restarted mid-way)
                cached, inputs = self._pull(job, spec)
            except JobGone:
                self._gone(job)
                return
            except (ImageError, NodeDown) as err:  # promised and cannot start: the renter gets all back
                self._give_back(job, AgentPhase.FAILED, str(err))
                return
            self._launch(job, spec, slot, cached, inputs, direct=False)
            return
        if status == JobStatus.RUNNING:
            self._running(job_id)

    def _definition(self, job: JobRecord, status: JobStatus) -> JobSpec | None:
        """The job's definition (read once a run; a bare image CID is a definition of just the
        image), or None when it is declined: unreadable or invalid, or asking what this provider
        does not give (see :func:`~gpurent.agent.plan.refusal`). A running job's is read as well
        (its output folder is packed at the end)."""
        spec = self._specs.get(job.job_id)
        if spec is None:
            try:
                spec = read_definition(self.store.ipfs, job.image_cid, self.config.limits.fetch_timeout_s)
            except SpecError as err:
                reason = str(err)
                if "deadline exceeded" in reason:  # no peer serves it: said as for an image
                    reason = (f"{job.image_cid} was not found within {self.config.limits.fetch_timeout_s:g} s: "
                              "no connected IPFS peer holds it")
                if status in (JobStatus.CREATED, JobStatus.ACCEPTED):
                    self._give_back(job, AgentPhase.DECLINED if status == JobStatus.CREATED else AgentPhase.FAILED,
                                    reason)
                    return None
                spec = JobSpec(image=job.image_cid)  # running already (a restart): packed as a bare job
            self._specs[job.job_id] = spec
        if status in (JobStatus.CREATED, JobStatus.ACCEPTED):
            problem = refusal(spec, self.config.limits, self.keys, self.gp.address, job.renter,
                              self.config.ingress.public_ports)
            if problem is not None:
                self._give_back(job, AgentPhase.DECLINED if status == JobStatus.CREATED else AgentPhase.FAILED, problem)
                return None
        return spec

    def _launch(self, job: JobRecord, spec: JobSpec, slot: Slot, cached: CachedImage, inputs: dict[str, Path],
                direct: bool) -> None:
        """Creates and starts the job's container, then tells the chain: ``acceptAndStartJob``
        (``direct``: the job is Created and everything is here) or ``startJob`` (Accepted)."""
        job_id = job.job_id
        if self.stopping.is_set():  # not started: the agent's next run starts it
            log.info("job %s: not started, the agent is stopping", job_id, extra=labels(job=job_id))
            return
        network = (bool(cached.metadata.network) or spec.network) and self.config.limits.network
        current = self.state.job(job_id)
        known = current.container_id if current else None
        try:  # an image cached before the pull checked its volumes can still be refused here
            output = None
            if spec.output is not None:
                output = output_dir(self.home, job_id) if known else fresh_output_dir(self.home, job_id)
                output.mkdir(parents=True, exist_ok=True)
            secrets = open_secrets(spec, self.keys, self.gp.address, job.renter)  # only into the create call
            container_id = self.runtime.create(job_id, cached.image_id, slot.spec, self.config.limits, slot.gpu_uuid,
                                               network=network, known=known,
                                               workload=workload(spec, inputs, output, secrets))
            del secrets
        except (ImageError, SealError) as err:
            self._give_back(job, AgentPhase.DECLINED if direct else AgentPhase.FAILED, str(err))
            return
        self.state.update(job_id, AgentPhase.STARTING, container_id=container_id)  # recorded before it starts
        self._attach(job_id, container_id)
        self.runtime.start(container_id)
        try:
            with self.tx_lock:
                status = self._chain_status(job_id)
                if direct and status == JobStatus.CREATED:
                    self.gp.accept_and_start_job(job_id)
                    status = JobStatus.RUNNING
                elif status == JobStatus.ACCEPTED:
                    self.gp.start_job(job_id)
                    status = JobStatus.RUNNING
        except Exception as err:  # never a container running that the chain does not bill
            self.runtime.remove(container_id)
            self.state.update(job_id, container_id=None)
            if isinstance(err, DeadlinePassed):  # e.g. the accept timeout passed while its data came in
                self._give_back(job, AgentPhase.DECLINED if direct else AgentPhase.FAILED,
                                f"the chain refused to start it: {err}")
                return
            raise  # anything else (the node, say): tried again, from a fresh container
        if status != JobStatus.RUNNING:
            self.runtime.remove(container_id)
            self._finish(self.state.job(job_id), _final_phase(status), f"{status.label} on chain before it started")
            return
        self._running(job_id)

    def _ports_of(self, job_id: str) -> tuple[PortSpec, ...] | None:
        """A running job's declared ports (None until its definition is read this run)."""
        spec = self._specs.get(job_id)
        if spec is None:
            job = self.state.job(job_id)
            if job is None or job.phase != AgentPhase.RUNNING:
                return None
            try:
                spec = self._definition(job, JobStatus.RUNNING)  # read once (after a restart)
            except GpurentError:
                return None
        return spec.ports if spec else None

    def _pid_of(self, job_id: str) -> int | None:
        """The process of the job's running container (whose network namespace its ports live in)."""
        job = self.state.job(job_id)
        if job is None or not job.container_id:
            return None
        return self.runtime.pid(job.container_id)

    def _running(self, job_id: str) -> None:
        record = self.state.job(job_id)
        assert record is not None and record.container_id
        chain_job = self.gp.job(job_id)
        self.state.update(job_id, AgentPhase.RUNNING, chain_start=chain_job.start_time)
        self._follow_logs(job_id, record.container_id)
        self._sample(job_id, record.container_id)

    def _sample(self, job_id: str, container_id: str) -> None:
        """Starts sampling the running job's usage (its container, and the GPU of its slot)."""
        record = self.state.job(job_id)
        slot = self.slots.get(record.slot) if record is not None and record.slot else None
        self.metrics.watch(job_id, container_id, slot.gpu_uuid if slot is not None else None)

    def _pull(self, job: JobRecord, spec: JobSpec) -> tuple[CachedImage, dict[str, Path]]:
        """The job's image fetched, verified and loaded through the cache, then its inputs through
        the input cache (phases pulling → pulled, with bytes, the first time); ImageError if it
        is not an image this agent runs or an input it cannot have (missing, over
        ``limits.input_max_mb`` together, not a plain file tree).
        The provider's own node or engine failing is asked again for ``limits.node_retry_s``
        (:func:`~gpurent.images.retry.retry_node`; the wait shows as the job's error), then NodeDown."""
        waited: list[int] = []

        def waiting(attempt: int, delay_s: float, err: Exception) -> None:
            waited.append(attempt)
            text = f"waiting for this provider's node (attempt {attempt}, again in {delay_s:.0f} s): {err}"
            log.warning("job %s: %s", job.job_id, text, extra=labels(job=job.job_id))
            self.state.update(job.job_id, error=text[:500])

        cached = retry_node(partial(self._pull_once, job, spec), Backoff(self.config.limits.node_retry_s),
                            stop=self.stopping, on_wait=waiting)
        if waited:
            self.state.update(job.job_id, error=None)
        return cached

    def _pull_once(self, job: JobRecord, spec: JobSpec) -> tuple[CachedImage, dict[str, Path]]:
        current = self.state.job(job.job_id)
        fresh = current is None or current.image_id is None
        if fresh:
            metadata = self.store.metadata(spec.image, timeout_s=self.config.limits.fetch_timeout_s)
            self.store.check_size(metadata.size, f"image {spec.image}")
            if metadata.network and not self.config.limits.network:
                raise ImageError("the image asks for network access, which this provider does not offer")
            if current is None or current.phase != AgentPhase.PULLING:  # once, however many attempts
                self.state.update(job.job_id, AgentPhase.PULLING)
        cached = self.cache.ensure(spec.image, transfer=self._progress(job.job_id), job_id=job.job_id,
                                   fetch_timeout_s=self.config.limits.fetch_timeout_s)
        inputs, left = {}, self.config.limits.input_max_mb * 2**20
        for mount in spec.inputs:
            got = self.inputs.ensure(mount.cid, job_id=job.job_id, max_bytes=left,
                                     timeout_s=self.config.limits.fetch_timeout_s,
                                     transfer=self._progress(job.job_id))
            inputs[mount.cid], left = got.path, left - got.size
        if fresh:
            self.state.update(job.job_id, AgentPhase.PULLED, image_id=cached.image_id)
        return cached, inputs

    def _gone(self, job: JobRecord) -> None:
        """Closes a job that ended on chain while its image or inputs came in."""
        status = self._chain_status(job.job_id)
        self._finish(job, _final_phase(status), f"{status.label} on chain while its data came in")

    def _progress(self, job_id: str) -> _PullProgress:
        """A transfer's progress for the job, stopped when the job ends on chain meanwhile."""

        def wanted() -> bool:
            try:
                return self._chain_status(job_id) in (JobStatus.CREATED, JobStatus.ACCEPTED)
            except Exception:  # noqa: BLE001 - the chain unreachable for a moment: the transfer goes on
                return True

        return _PullProgress(self.state, job_id, wanted)

    def _give_back(self, job: JobRecord, phase: AgentPhase, reason: str) -> None:
        """Declines (Created) or abandons (Accepted) a job: the renter gets everything back."""
        with self.tx_lock:
            status = self._chain_status(job.job_id)
            if status in (JobStatus.CREATED, JobStatus.ACCEPTED):
                self.gp.cancel_job(job.job_id)
        log.info("job %s %s: %s", job.job_id, phase, reason, extra=labels(job=job.job_id))
        self._finish(job, phase, reason)

    def _finish(self, job: JobRecord | None, phase: AgentPhase, detail: str | None = None) -> None:
        if job is None:
            return
        self.state.update(job.job_id, phase, detail=detail, slot=None,
                          error=detail if phase in (AgentPhase.DECLINED, AgentPhase.FAILED) else job.error)
        spec = self._specs.pop(job.job_id, None)
        self.cache.release(spec.image if spec else job.image_cid, job.job_id)
        for mount in spec.inputs if spec else ():
            self.inputs.release(mount.cid, job.job_id)
        remove_output_dir(self.home, job.job_id)

    # ================================================================ running and settling
    def _follow_logs(self, job_id: str, container_id: str, attached: Attached | None = None) -> None:
        """Streams the container's output (from its start) into a fresh log file, up to the cap:
        past it the stream is closed, not drained. ``attached``: the engine's attach stream,
        opened before the container started (each write as it is made); otherwise (a container
        already running, after a restart) its follow stream (podman polls it every 250 ms). A
        job whose output is followed already is left as it is."""
        running = self._followers.get(job_id)
        if running is not None and running.is_alive():
            if attached is not None:
                attached.close()
            return
        self.logs.reset(job_id)
        if attached is not None:
            self._attached.add(job_id)
        else:
            self._attached.discard(job_id)

        def follow() -> None:
            stream = attached
            try:
                if stream is None:
                    stream = self.runtime.logs(container_id, follow=True)
                for chunk in stream:
                    if job_id in self._sealed or not self.logs.append(job_id, chunk):
                        break
            except Exception as err:  # noqa: BLE001 - the container went away
                log.debug("log stream of %s ended: %s", job_id, err)
            finally:
                if stream is not None and hasattr(stream, "close"):
                    stream.close()

        thread = threading.Thread(target=follow, name=f"logs-{job_id[:10]}", daemon=True)
        self._followers[job_id] = thread
        thread.start()

    def _attach(self, job_id: str, container_id: str) -> None:
        """Follows the output of a container about to start from its first byte, as written."""
        try:
            self._follow_logs(job_id, container_id, self.runtime.attach(container_id))
        except Exception as err:  # noqa: BLE001 - adopted and started already, or the engine refused
            log.debug("job %s: output not attached (%s); followed once it runs", job_id, err, extra=labels(job=job_id))

    def _watch(self, job: JobRecord) -> None:
        if job.phase == AgentPhase.RUNNING:
            container = self.runtime.state(job.container_id) if job.container_id else None
            status = self._chain_status(job.job_id)
            if status != JobStatus.RUNNING:  # disputed, or settled by the renter
                self.ingress.close_job(job.job_id)  # its ports and shells close now, not when it is stopped
                if container is not None and container.ended:
                    # it ended on its own first: keep its exit code (dispute evidence)
                    self.state.update(job.job_id, AgentPhase.EXITED, exit_code=container.exit_code,
                                      detail=f"exit code {container.exit_code}")
                elif job.container_id:
                    self.runtime.stop(job.container_id)
                if status == JobStatus.COMPLETED:
                    self._deliver_late(job)
                self._close(job, _final_phase(status), status.label)
                return
            if container is not None and container.status == "running":
                self._seen(job)
                if self._output_over(job):
                    return
            if container is None or container.ended:
                self.ingress.close_job(job.job_id)
                code = container.exit_code if container else None
                self.state.update(job.job_id, AgentPhase.EXITED, exit_code=code,
                                  detail="container lost" if container is None else f"exit code {code}")
            elif job.chain_start and self.clock() >= job.chain_start + job.duration_s and not self._extended(job):
                self.ingress.close_job(job.job_id)
                self.runtime.stop(job.container_id)  # type: ignore[arg-type]
                state = self.runtime.state(job.container_id)  # type: ignore[arg-type]
                self.state.update(job.job_id, AgentPhase.EXITED, capped=1, exit_code=state.exit_code if state else None,
                                  detail="booked duration reached: stopped at the cap")
            else:  # running as booked: collect what it accrued every settle_interval
                self.settler.tick(job.job_id, job.chain_start)
            return
        # exited or completing: settle once, at the end the engine recorded (not when it was noticed)
        ended = self.runtime.state(job.container_id) if job.container_id and not job.capped else None
        result = None
        if self._chain_status(job.job_id) == JobStatus.RUNNING:
            self.state.update(job.job_id, AgentPhase.COMPLETING)
            result = self._pack(job)  # outside the lock: a large output never holds up other jobs' transactions
        settled_here = False
        with self.tx_lock:
            status = self._chain_status(job.job_id)
            if status == JobStatus.RUNNING:
                self.settler.complete(job.job_id, ended.finished_at if ended else None, job.chain_start,
                                      last_seen=None if job.capped else job.last_seen, result_cid=result)
                status, settled_here = JobStatus.COMPLETED, True
        if status == JobStatus.COMPLETED and not settled_here:  # the renter (or anyone) settled it first
            self._deliver_late(job)
        self._close(job, _final_phase(status), status.label)
        if status == JobStatus.COMPLETED:  # credited to the earnings: paid out past withdraw_min
            self.settler.withdraw_if_due()

    def _extended(self, job: JobRecord) -> bool:
        """Whether the renter booked more of ``job`` than its record says (an extension not
        polled yet): the record follows the chain and the job runs on. Read after the clock said
        the cap came, so an extension mined before then is seen, and one after it was refused
        (``MarketplaceBookingEnded``): never stopped early, never run past its booking."""
        booked = self.gp.job(job.job_id).estimated_duration
        if booked <= job.duration_s:
            return False
        self.state.extend(job.job_id, booked)
        log.info("job %s: extended by its renter to %d s booked; running on", job.job_id, booked,
                 extra=labels(job=job.job_id))
        return True

    def _deliver_late(self, job: JobRecord) -> None:
        """A job someone else settled before this agent packed it: its output folder is packed
        and its CID committed on its own (``commitResult``, within the completion grace), so
        the renter still gets the files. Never raises: the job closes either way."""
        try:
            result = self._pack(job)  # (or the CID packed before); outside the lock, as any packing
            if result is not None and self.gp.result_cid(job.job_id) is None:  # none committed yet (a restart)
                with self.tx_lock:
                    self.gp.commit_result(job.job_id, result)
                log.info("job %s: settled by another; result %s committed", job.job_id, result,
                         extra=labels(job=job.job_id))
        except (GpurentError, OSError) as err:
            log.warning("job %s: settled by another, its result could not be delivered: %s", job.job_id,
                        str(err).splitlines()[0] if str(err) else type(err).__name__, extra=labels(job=job.job_id))

    def _output_over(self, job: JobRecord) -> bool:
        """Stops the container when its output folder is past ``output_max_mb`` plus
        ``output_slack_mb`` (measured each watch tick); True if it did."""
        spec = self._specs.get(job.job_id)
        folder = output_dir(self.home, job.job_id)  # there even when a restart has not re-read the definition
        if (spec is not None and spec.output is None) or not folder.is_dir():
            return False
        lim = self.config.limits
        bound = (lim.output_max_mb + lim.output_slack_mb) * 2**20
        if not usage(folder, bound).over:
            return False
        self.ingress.close_job(job.job_id)
        self.runtime.stop(job.container_id)  # type: ignore[arg-type]
        state = self.runtime.state(job.container_id)  # type: ignore[arg-type]
        self.state.update(job.job_id, AgentPhase.EXITED, capped=1, exit_code=state.exit_code if state else None,
                          detail=f"output folder over {lim.output_max_mb} MiB (+{lim.output_slack_mb} MiB slack): "
                                 "stopped; files past the cap are listed as dropped in the result")
        return True

    def _pack(self, job: JobRecord) -> str | None:
        """The job's output folder packed (results.pack_outputs), added and pinned on this node;
        its CID (recorded), or None for a job with no output path."""
        current = self.state.job(job.job_id)
        if current is not None and current.result_cid:
            return current.result_cid  # packed before a restart
        spec = self._specs.get(job.job_id)
        if spec is None:
            spec = self._definition(job, JobStatus.RUNNING)
        if spec is None or spec.output is None:
            return None
        packed = self.results.pack(job.job_id, output_dir(self.home, job.job_id), spec,
                                   self.config.limits.output_max_mb * 2**20,
                                   current.exit_code if current else None)
        self.state.update(job.job_id, result_cid=packed.cid, result_bytes=packed.payload_bytes,
                          detail=None)
        log.info("job %s: result %s (%d files, %d bytes%s)", job.job_id, packed.cid, packed.file_count,
                 packed.payload_bytes, ", truncated at the cap" if packed.truncated else "",
                 extra=labels(job=job.job_id))
        return packed.cid

    def _seen(self, job: JobRecord) -> None:
        """Records (at most every SEEN_EVERY_S of chain time) that the job's container runs: a
        container that is later gone, or ends with no end recorded, is billed up to here."""
        now = int(self.clock())
        if job.last_seen is None or now - job.last_seen >= SEEN_EVERY_S:
            self.state.seen(job.job_id, now)

    def _close(self, job: JobRecord, phase: AgentPhase, detail: str) -> None:
        self.ingress.close_job(job.job_id)
        self.settler.forget(job.job_id)
        follower = self._followers.pop(job.job_id, None)
        if follower is not None:
            follower.join(timeout=5)
        if job.container_id:
            self._seal_logs(job.job_id, job.container_id)
            self.runtime.remove(job.container_id)
        self._finish(job, phase, detail)

    def _seal_logs(self, job_id: str, container_id: str) -> None:
        """Makes the streamed log final. A log cut at the cap stays as it is (the engine's record
        could only add what the cap drops). Otherwise it is replaced by the engine's record of
        the output, read as a stream up to the cap: a follow stream can repeat or miss lines
        around the container's exit (podman's does). An attached log is kept when the record
        is only its beginning: the record was read before the last writes reached it."""
        self._sealed.add(job_id)
        exact = job_id in self._attached
        self._attached.discard(job_id)
        if self.logs.full(job_id):
            return
        try:
            self.logs.seal(job_id, self.runtime.logs(container_id, stream=True), exact=exact)
        except Exception as err:  # noqa: BLE001 - the container is gone: keep what was streamed
            log.debug("no final log for %s: %s", job_id, err)


def _engine_error(err: BaseException) -> bool:
    """Whether ``err`` came from the container engine (the Docker SDK's exception family)."""
    from docker.errors import DockerException

    return isinstance(err, DockerException)


def _final_phase(status: JobStatus) -> AgentPhase:
    return {JobStatus.CANCELLED: AgentPhase.CANCELLED, JobStatus.DISPUTED: AgentPhase.DISPUTED,
            JobStatus.RESOLVED: AgentPhase.DISPUTED}.get(status, AgentPhase.COMPLETED)
