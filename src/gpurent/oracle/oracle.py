"""The oracle: watches providers and settles disputes.

One loop (``tick``) does, for every provider it watches:

- **heartbeats**: judges each finished heartbeat slot (kept if a valid signed heartbeat for it
  arrived; expected only while the provider offers at least one GPU on-chain). More than
  ``miss_limit`` misses in a row is downtime: one Downtime penalty per run of misses, named on
  chain by the run's first slot, so every oracle instance names it the same way.
- **challenges**: once per challenge interval a draw, seeded by a secret the oracle instances
  share, decides whether to challenge, when, which running job and which offset. Every instance
  draws the same challenge (same nonce), and the chain penalises a nonce once.
- **reports**: after each period, one ``submitValidationReport`` (heartbeats kept and expected,
  challenges passed and failed, average response time); the chain takes one per period.

And it follows ``JobDisputed`` events, gathers evidence (:mod:`gpurent.oracle.evidence`), stores
it on IPFS and calls ``resolveDispute`` with the evidence CID. A dispute whose resolution fails
(the oracle's own IPFS node down, a node hiccup) is tried again with exponential backoff per
job, from ``DISPUTE_RETRY_FIRST_S`` doubling up to ``DISPUTE_RETRY_MAX_S``, never every round;
so is one whose provider does not answer for its record (an agent restarting), for at most
``[reports] record_wait`` seconds from the first try (the last wait is cut to end there), after
which it is ruled on as it stands.

The chain bounds what the oracle may send: reports only for periods that have ended by chain
time (the period length is the ReputationSystem's, which the oracle's config must equal: see
:func:`check_period`), uptime credits no larger than the time since the previous credit, a GPU's
reputation only as a copy of its provider's score. The oracle stays inside those bounds rather
than have its transactions reverted.

Slow work (a challenge waits up to its expiry, evidence up to its timeout) runs on a small thread
pool; transactions are sent one at a time (one account, one nonce sequence).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gpurent.logfmt import labels
from gpurent.wire.access import sign_bytes
from gpurent.errors import AlreadyRecorded, ConfigurationError, ContractRevert, GpurentError, InvalidJobState
from gpurent.images.kubo import UploadPart
from gpurent.images.store import IMAGE_FILE, ImageStore
from gpurent.capped import capped_request, loads_bounded
from gpurent.oracle.config import OracleConfig
from gpurent.wire.endpoint import private_targets_allowed, provider_target
from gpurent.oracle.evidence import EvidenceGatherer, ProviderUnreachable, await_record, decide, to_document
from gpurent.wire.protocol import (
    CHALLENGE_MAX_EXPIRY_S,
    Challenge,
    Domain,
    Heartbeat,
    SignatureError,
    incident,
    response_signer,
    slot_of,
)
from gpurent.oracle.params import PARAMS_PATH, params_view
from gpurent.oracle.server import OracleServer
from gpurent.oracle.telemetry import OracleMetrics
from gpurent.oracle.state import (
    PENALTY_OF,
    ActionKind,
    ActionStatus,
    ChallengeOutcome,
    OracleState,
    Penalty,
)
from gpurent.runner import run_rounds
from gpurent.types import JobStatus, PenaltyReason, ValidationReport

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

log = logging.getLogger("gpurent.oracle")

PROVIDERS_REFRESH_S = 5.0
DISPUTE_RETRY_FIRST_S = 2.0  # a failed resolution is tried again after 2 s, 4 s, 8 s, ...
DISPUTE_RETRY_MAX_S = 300.0  # ... at most 5 min apart


def dispute_retry_delay(failures: int, first_try: float | None, now: float, record_wait_s: float) -> float:
    """The wait before a dispute's next try after ``failures`` failed ones: the backoff, but no
    later than ``record_wait_s`` after ``first_try`` when it waits for the provider's record
    (None: it failed for another reason), so the ruling comes at the stated bound."""
    delay = min(DISPUTE_RETRY_MAX_S, DISPUTE_RETRY_FIRST_S * 2.0 ** min(failures - 1, 30))
    if first_try is None:
        return delay
    return max(0.0, min(delay, first_try + record_wait_s - now))
ANSWER_CAP = 256 * 1024  # bytes of a challenge answer read at most (64 KiB asked, base64, signed)
UNESTIMATED_GAS = 1_000_000  # gas limit of a report sent without an estimate (it takes ~100k)


class Rejection(StrEnum):
    """Why a heartbeat was refused (counted per reason in ``/health``)."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_PROVIDER = "unknown-provider"
    STALE = "stale"
    REPLAY = "replay"


class Answer(NamedTuple):
    """How a provider answered one challenge."""

    outcome: ChallengeOutcome
    response_ms: int | None
    detail: str


def check_period(gp: Gpurent, config: OracleConfig) -> None:
    """ConfigurationError (one line) unless the config's report period is the chain's
    (``ReputationSystem.periodLength``, fixed at deployment): reports name periods by number,
    and a different length would name the wrong ones."""
    try:
        length = int(gp.reputation_system.periodLength())
    except Exception as err:  # noqa: BLE001 - an older deployment, or no node: say so in one line
        raise ConfigurationError(f"cannot read the chain's report period (ReputationSystem.periodLength): "
                                 f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    if length != config.period_s:
        raise ConfigurationError(f"the oracle's report period ({config.period_s:g} s) differs from the chain's "
                                 f"({length} s, ReputationSystem.periodLength): set `period = {length}` under "
                                 "[reports] in the oracle config")


class Oracle:
    def __init__(self, gp: Gpurent, config: OracleConfig, home: Path, store: ImageStore,
                 clock: Callable[[], float] = time.time):
        self.gp, self.config, self.home, self.store, self.clock = gp, config, home, store, clock
        self.chain_id = gp.manifest.chain_id
        private_targets_allowed(self.chain_id)  # a bad setting stops the oracle here, not blames every provider
        self.domain = Domain(self.chain_id, str(gp.reputation_system.address))
        self.state = OracleState(home / "oracle.db")
        self.evidence = EvidenceGatherer(gp, self.state, store, config.heartbeat_interval_s,
                                         config.evidence_timeout_s)
        self.metrics = OracleMetrics()
        self.server = OracleServer(config.listen_host, config.listen_port, self.receive,
                                   {"health": self.health, "providers": self.provider_table,
                                    PARAMS_PATH: params_view(config, self.chain_id)},
                                   exposition=self.metrics.exposition)
        self.secret = self._secret()
        self.started_slot = slot_of(clock(), config.heartbeat_interval_s)
        self.tx_lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="oracle")
        self.rejected: dict[Rejection, int] = {}
        self._providers: list[str] = []
        self._providers_at = self._forced_at = 0.0
        self._in_flight: set[str] = set()
        self._dispute_retry: dict[str, tuple[int, float]] = {}  # job id -> (failures, next try, monotonic)
        self._first_try: dict[str, float] = {}  # job id -> when its evidence was first gathered (monotonic)
        self._waiting_period: dict[str, int] = {}  # provider -> period the chain's clock has not ended
        self._uptime_at: dict[str, tuple[int, int]] = {}  # resource id -> (block scanned to, last credit time)
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ================================================================ lifecycle
    def run(self) -> None:
        self.server.start()
        if self.state.get("dispute_cursor") is None:
            self.state.put("dispute_cursor", str(self.gp.manifest.block - 1))
        log.info("oracle %s listening on %s:%d (heartbeats every %g s, reports every %g s)", self.gp.address,
                 self.config.listen_host, self.server.port, self.config.heartbeat_interval_s, self.config.period_s)
        try:
            run_rounds(self.tick, self._stop, self.config.poll_interval_s, log, "oracle",
                       max_failures=self.config.max_failures,
                       block=lambda: self.state.get('dispute_cursor'))
        finally:
            self.shutdown()

    def stop(self) -> None:
        self._stop.set()

    def shutdown(self) -> None:
        self.server.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.state.close()

    def tick(self) -> None:
        self.retry_pending()
        for provider in self.providers():
            self.judge_heartbeats(provider)
            self.maybe_challenge(provider)
            self.maybe_report(provider)
        self.follow_disputes()

    def providers(self, unknown: str | None = None) -> list[str]:
        """Registered providers (or the configured ones), refreshed every few seconds, or at
        most once a second when asked about an ``unknown`` one (a newly registered provider)."""
        now = time.monotonic()
        forced = unknown is not None and unknown not in self._providers and now - self._forced_at > 1.0
        if forced:
            self._forced_at = now
        if forced or now - self._providers_at > PROVIDERS_REFRESH_S:
            found = [p.lower() for p in self.gp.providers()]
            wanted = set(self.config.providers)
            self._providers = [p for p in found if not wanted or p in wanted]
            self._providers_at = now
        return self._providers

    def _secret(self) -> bytes:
        """The challenge seed: configured, or derived from the oracle account's signature, which
        is deterministic, so instances holding the same account draw the same challenges."""
        if self.config.secret:
            return hashlib.sha256(self.config.secret.encode()).digest()
        from eth_account.messages import encode_defunct

        text = f"gpurent oracle challenge seed\nchain: {self.chain_id}\ncontract: {self.domain.contract}"
        return hashlib.sha256(sign_bytes(self.gp.account, encode_defunct(text=text))).digest()

    # ================================================================ heartbeats
    def receive(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Checks and records one heartbeat: (HTTP status, answer)."""
        try:
            if not isinstance(body, dict):
                raise SignatureError("a heartbeat is a JSON object")
            beat = Heartbeat.from_json(body)
            signer = beat.signer(self.domain)
        except SignatureError as err:
            return self._reject(Rejection.MALFORMED, 400, str(err))
        if signer.lower() != beat.provider.lower():
            return self._reject(Rejection.BAD_SIGNATURE, 401, "the signature is not the provider's")
        if beat.provider.lower() not in self.providers(unknown=beat.provider.lower()):
            return self._reject(Rejection.UNKNOWN_PROVIDER, 403,
                                f"{beat.provider} is not a provider this oracle watches")
        if abs(self.clock() - beat.timestamp) > self.config.max_skew_s:
            return self._reject(Rejection.STALE, 400, f"stale heartbeat: timestamp {beat.timestamp} is more than "
                                f"{self.config.max_skew_s:g} s from the oracle's clock")
        slot = slot_of(beat.timestamp, self.config.heartbeat_interval_s)
        if not self.state.add_heartbeat(beat, slot):
            return self._reject(Rejection.REPLAY, 409, "replayed heartbeat: this nonce was already used")
        self.metrics.heartbeats_received.labels("accepted").inc()
        return 200, {"slot": slot}

    def _reject(self, reason: Rejection, code: int, message: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self.metrics.heartbeats_received.labels(str(reason)).inc()
        log.info("heartbeat refused (%s): %s", reason, message)
        return code, {"error": message, "reason": reason}

    def judge_heartbeats(self, provider: str) -> None:
        interval = self.config.heartbeat_interval_s
        # a slot is judged half an interval after it ends: heartbeats are sent mid-slot
        last = slot_of(self.clock() - interval / 2, interval) - 1
        watch = self.state.watch(provider)
        if watch is None:
            self.state.start_watch(provider, last)
            return
        evaluated, streak_start, streak = watch.evaluated, watch.streak_start, watch.streak
        if evaluated < self.started_slot - 1:  # the oracle itself was down: those slots are not judged
            evaluated, streak_start, streak = self.started_slot - 1, None, 0
        if last <= evaluated:
            return
        offering = self._offering(provider)
        kept_slots = self.state.heartbeat_slots(provider, evaluated + 1, last)
        for slot in range(evaluated + 1, last + 1):
            kept = slot in kept_slots
            if kept or not offering:
                streak_start, streak = None, 0
            else:
                streak_start, streak = (slot if streak == 0 else streak_start), streak + 1
            self.state.judge(provider, slot, offering, kept, streak_start, streak)
            if offering:
                self.metrics.heartbeat_slots.labels(provider, "kept" if kept else "missed").inc()
            if offering and streak == self.config.miss_limit + 1:
                assert streak_start is not None
                self.penalise(provider, PenaltyReason.DOWNTIME, incident("downtime", self.chain_id, provider,
                                                                         streak_start),
                              f"{streak} heartbeats missed in a row from slot {streak_start}")

    def _offering(self, provider: str) -> bool:
        return any(r.available and not r.retired for r in self.gp.provider_resources(provider))

    # ================================================================ penalties and reports
    def penalise(self, provider: str, reason: PenaltyReason, name: bytes, detail: str) -> ActionStatus:
        """Applies a penalty for incident ``name`` unless any oracle already did: the status.

        The decision is recorded (``pending``) before the transaction is sent. If sending
        fails (a node hiccup, a nonce taken by another instance of this oracle), the penalty
        stays pending and :meth:`retry_pending` sends it again next round: a verdict once
        reached is never lost."""
        key = name.hex()
        if self.state.action(ActionKind.PENALTY, key) in (ActionStatus.APPLIED, ActionStatus.ALREADY):
            return ActionStatus.ALREADY
        note = Penalty(reason, detail).note()
        self.state.record_action(ActionKind.PENALTY, key, provider, ActionStatus.PENDING, note)
        try:
            status = self._send_once(lambda: bool(self.gp.incident_recorded(provider, name)),
                                     lambda: self.gp.apply_penalty(provider, reason, name), AlreadyRecorded,
                                     ActionStatus.APPLIED, ActionStatus.ALREADY)
        except Exception as err:  # noqa: BLE001 - kept pending, retried next round
            self.metrics.transactions_failed.labels("penalty").inc()
            log.warning("penalty %s for %s pending (retried next round): %s", reason.name.lower(), provider,
                        str(err).splitlines()[0] if str(err) else type(err).__name__, extra=labels(provider=provider))
            return ActionStatus.PENDING
        self.state.record_action(ActionKind.PENALTY, key, provider, status, note)
        self.metrics.penalties.labels(reason.name.lower(), str(status)).inc()
        log.info("penalty %s for %s (%s): %s", reason.name.lower(), provider, status, detail,
                 extra=labels(provider=provider))
        return status

    def _send_once(self, done: Callable[[], bool], send: Callable[[], object], refused: type[GpurentError],
                   sent: ActionStatus, elsewhere: ActionStatus) -> ActionStatus:
        """Sends one transaction under the transaction lock unless ``done()`` finds its effect on
        chain already; ``refused`` (the revert saying so: another instance got there first)
        counts as done too. Returns ``sent`` or ``elsewhere``; any other failure raises."""
        with self.tx_lock:
            try:
                if done():
                    return elsewhere
                send()
            except refused:
                return elsewhere
        return sent

    def retry_pending(self) -> None:
        """Sends again every penalty decided but not yet on chain."""
        for action in self.state.actions(ActionKind.PENALTY, ActionStatus.PENDING):
            penalty = Penalty.parse(action.detail)
            self.penalise(str(action.provider), penalty.reason, bytes.fromhex(action.key), penalty.detail)

    def maybe_report(self, provider: str) -> None:
        watch = self.state.watch(provider)
        if watch is None:
            return
        evaluated, reported = watch.evaluated, watch.reported_period
        spp = self.config.slots_per_period
        period = (evaluated + 1) // spp - 1  # the latest period whose slots are all judged
        if period < 0 or (reported is not None and period <= reported):
            return
        if period < self.started_slot // spp:  # the oracle did not watch any of it
            self.state.set_reported(provider, period)
            return
        validation = self.gp.validation(provider)
        if validation.last_period is not None and validation.last_period >= period:
            self.state.set_reported(provider, period)
            return
        kept, expected = self.state.slot_counts(provider, period * spp, (period + 1) * spp - 1)
        start = period * self.config.period_s
        done = [c for c in self.state.challenges(provider, start, start + self.config.period_s) if c.outcome]
        passed = [c for c in done if c.outcome == ChallengeOutcome.PASSED]
        failed = [c for c in done if c.outcome in PENALTY_OF]
        if expected == 0 and not passed and not failed:
            self.state.set_reported(provider, period)  # offline all period: nothing to say
            return
        if period >= (now := self.gp.chain_time()) // round(self.config.period_s):
            if self._waiting_period.get(provider) != period:  # said once per period
                self._waiting_period[provider] = period
                log.info("report for %s, period %d: waits for the chain's clock (%d) to end it", provider, period, now,
                         extra=labels(provider=provider))
            return  # the chain's clock has not ended the period yet: the chain would refuse it
        avg_ms = round(sum(c.response_ms or 0 for c in passed) / len(passed)) if passed else 0
        report = ValidationReport(kept, expected, len(passed), len(failed), avg_ms)
        with self.tx_lock:
            try:
                try:
                    self.gp.submit_validation_report(provider, period, report)
                except ContractRevert as err:
                    if err.name != "ReputationPeriodNotPast":
                        raise
                    # the chain's gas estimate ran on its latest block, older than the period's
                    # end (a chain that mines only on demand): the block that takes the report
                    # carries the chain's time, which has passed it, so send it unestimated
                    log.debug("report for %s, period %d: the latest block is older than the period's end (%s); "
                              "sent without a gas estimate", provider, period, err, extra=labels(provider=provider))
                    self.gp.submit_validation_report(provider, period, report, gas=UNESTIMATED_GAS)
                status = ActionStatus.SUBMITTED
            except AlreadyRecorded:
                status = ActionStatus.ALREADY
            except ContractRevert as err:
                if err.name != "ReputationPeriodNotPast":
                    self.metrics.transactions_failed.labels("report").inc()
                    raise
                log.info("report for %s, period %d: the chain finds it not past yet (%s), sent again next round",
                         provider, period, err, extra=labels(provider=provider))
                return
        self.state.set_reported(provider, period)
        self.state.record_action(ActionKind.REPORT, f"{provider}:{period}", provider, status, str(report.as_tuple()))
        self.metrics.reports.labels(str(status)).inc()
        log.info("report for %s, period %d (%s): %s", provider, period, status, report, extra=labels(provider=provider))
        if status == ActionStatus.SUBMITTED:  # only the instance whose report landed mirrors it per GPU
            self.mirror_on_resources(provider, round(kept * self.config.heartbeat_interval_s))

    def mirror_on_resources(self, provider: str, uptime_s: int) -> None:
        """Credits the period's kept uptime to each of the provider's GPUs in the registry and
        copies the provider's score onto them (what renters sort GPUs by).

        The registry takes no more uptime than the seconds since the GPU's previous credit (or
        its registration), so each credit is cut to that, as the chain's own events and blocks
        report it; the score is read under the transaction lock, right before it is copied. A
        credit or copy the chain still refuses (another oracle instance got there first) is
        logged and left to the next period: it must not stop the round."""
        with self.tx_lock:
            score = self.gp.reputation(provider).score
            for resource in self.gp.provider_resources(provider):
                if resource.retired:
                    continue
                rid = resource.resource_id
                try:
                    if uptime_s and resource.available:
                        self._credit_uptime(rid, min(uptime_s, self._uptime_bound(resource)))
                    if resource.reputation != score:
                        self.gp.update_resource_reputation(rid, score)
                except ContractRevert as err:
                    log.warning("GPU %s of %s not updated this period: %s", rid, provider, err,
                                extra=labels(provider=provider))

    def _credit_uptime(self, rid: str, seconds: int) -> None:
        """Credits ``seconds`` (already cut to the bound); should the chain still find them too
        many (its clock a second behind ours), credits the most it names instead."""
        if seconds <= 0:
            return
        try:
            receipt = self.gp.update_uptime(rid, seconds)
        except ContractRevert as err:
            allowed = int(err.inputs.get("maxSeconds", 0) or 0)
            if err.name != "RegistryUptimeTooLarge" or not 0 < allowed < seconds:
                raise
            receipt = self.gp.update_uptime(rid, allowed)
        at, block = getattr(receipt, "timestamp", None), getattr(receipt, "block_number", None)
        if isinstance(at, int) and isinstance(block, int):
            self._uptime_at[rid] = (block, at)

    def _uptime_bound(self, resource: Any) -> int:
        """Seconds from the resource's last uptime credit (its latest UptimeUpdated event, else
        its registration) to the chain time the next block carries: what the registry allows.
        Events are scanned once per resource, then from where the last scan ended."""
        from ape import chain

        rid = resource.resource_id
        head = chain.blocks.head
        scanned, at = self._uptime_at.get(rid, (self.gp.manifest.block - 1, resource.registered_at))
        if int(head.number) > scanned:
            logs = list(self.gp.registry.UptimeUpdated.range(
                scanned + 1, int(head.number) + 1, search_topics={"resourceId": bytes.fromhex(rid[2:])}))
            if logs:
                at = int(chain.blocks[int(logs[-1].block_number)].timestamp)
            scanned = int(head.number)
            self._uptime_at[rid] = (scanned, at)
        return max(0, int(self.gp.chain_time()) - at)

    # ================================================================ challenges
    def draw(self, provider: str, round_: int) -> bytes:
        return hmac.new(self.secret, f"{self.chain_id}:{provider.lower()}:{round_}".encode(), hashlib.sha256).digest()

    def maybe_challenge(self, provider: str) -> None:
        interval = self.config.challenge_interval_s
        now = self.clock()
        round_ = slot_of(now, interval)
        key = f"{provider}:{round_}"
        if self.state.action(ActionKind.CHALLENGE, key) is not None or key in self._in_flight:
            return
        seed = self.draw(provider, round_)
        if int.from_bytes(seed[:8], "big") / 2**64 >= self.config.challenge_probability:
            self.state.record_action(ActionKind.CHALLENGE, key, provider, ActionStatus.NOT_DRAWN)
            return
        at = round_ * interval + (int.from_bytes(seed[8:16], "big") % 1000) / 1000 * interval / 2
        if now < at:
            return
        running = [j for j in self.gp.jobs_of_provider(provider) if j.status == JobStatus.RUNNING and j.image_cid]
        if not running:
            self.state.record_action(ActionKind.CHALLENGE, key, provider, ActionStatus.NO_RUNNING_JOB)
            return
        job = running[int.from_bytes(seed[16:24], "big") % len(running)]
        with self._lock:
            self._in_flight.add(key)
        self.pool.submit(self._challenge_job, provider, key, job.job_id, str(job.image_cid), seed)

    def _challenge_job(self, provider: str, key: str, job_id: str, cid: str, seed: bytes) -> None:
        try:
            outcome = self.challenge(provider, job_id, cid, seed)
            self.state.record_action(ActionKind.CHALLENGE, key, provider, outcome)
        except Exception as err:  # noqa: BLE001 - recorded, tried again next round
            log.warning("challenge of %s failed on the oracle's side: %s", provider, err,
                        extra=labels(provider=provider))
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def challenge(self, provider: str, job_id: str, cid: str, seed: bytes) -> ChallengeOutcome:
        """Asks ``provider`` for bytes of ``cid``'s image; returns the outcome and penalises a
        late, wrong or badly signed answer."""
        length = self.config.challenge_length
        try:
            size = self.store.metadata(cid, timeout_s=self.config.challenge_expiry_s).size
            offset = int.from_bytes(seed[24:32], "big") % max(1, size - length)
            expected = self.store.ipfs.cat_bytes(f"{cid}/{IMAGE_FILE}", offset=offset, length=length,
                                                 timeout=self.config.evidence_timeout_s)
        except GpurentError as err:
            log.warning("cannot challenge on %s: the oracle's own copy is unavailable: %s", cid, err,
                        extra=labels(job=job_id, provider=provider))
            return ChallengeOutcome.VOID
        nonce = hashlib.sha256(seed + b"/nonce").digest()
        expiry = self.clock() + min(self.config.challenge_expiry_s, CHALLENGE_MAX_EXPIRY_S)  # providers take no more
        challenge = Challenge(job_id, cid, offset, len(expected), nonce, expiry)
        self.state.add_challenge(nonce, provider, job_id, cid, offset, len(expected))
        outcome, response_ms, detail = self.ask(provider, challenge, expected)
        self.state.finish_challenge(nonce, outcome, response_ms, detail)
        self.metrics.challenges.labels(str(outcome)).inc()
        log.info("challenge of %s on job %s: %s (%s)", provider, job_id, outcome, detail,
                 extra=labels(job=job_id, provider=provider))
        if outcome in PENALTY_OF:
            self.penalise(provider, PENALTY_OF[outcome], incident("challenge", self.chain_id, provider, nonce), detail)
        return outcome

    def ask(self, provider: str, challenge: Challenge, expected: bytes) -> Answer:
        """Sends ``challenge``, signed by this oracle (providers answer no one else's), to
        ``provider`` and judges its answer against ``expected``."""
        began = self.clock()
        try:  # capped: an answer is the bytes asked for, base64, and a signature
            target = provider_target(self.gp.provider(provider).endpoint, self.chain_id)
            got = capped_request("POST", target.url("challenge"), f"{target.endpoint} did not answer",
                                 max_bytes=ANSWER_CAP, deadline=time.monotonic() + max(0.1, challenge.expiry - began),
                                 json_body=challenge.signed(self.gp.account, self.domain).to_json(),
                                 session=target.session())
        except GpurentError as err:
            return Answer(ChallengeOutcome.TIMEOUT, None, f"no answer: {err}")
        elapsed_ms = round((self.clock() - began) * 1000)
        if self.clock() > challenge.expiry or got.timed_out:
            return Answer(ChallengeOutcome.TIMEOUT, elapsed_ms, f"answered after the expiry ({elapsed_ms} ms)")
        try:
            body = loads_bounded(got.body) if got.status == 200 and not got.truncated else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            over = f", over {ANSWER_CAP} bytes" if got.truncated else ""
            return Answer(ChallengeOutcome.TIMEOUT, elapsed_ms, f"no valid answer (HTTP {got.status}{over})")
        try:
            data = base64.b64decode(str(body.get("data", "")), validate=True)
            signer = response_signer(self.domain, provider, challenge, data, str(body.get("signature", "")))
        except (ValueError, SignatureError) as err:
            return Answer(ChallengeOutcome.BAD_SIGNATURE, elapsed_ms, f"unreadable answer: {err}")
        if signer.lower() != provider.lower():
            return Answer(ChallengeOutcome.BAD_SIGNATURE, elapsed_ms, f"answer signed by {signer}, not the provider")
        if data != expected:
            return Answer(ChallengeOutcome.FRAUD, elapsed_ms, (f"bytes {challenge.offset}.."
                                                               f"{challenge.offset + challenge.length} differ "
                                                               "from the image on IPFS"))
        return Answer(ChallengeOutcome.PASSED, elapsed_ms, f"{len(data)} bytes in {elapsed_ms} ms")

    # ================================================================ disputes
    def follow_disputes(self) -> None:
        cursor = int(self.state.get("dispute_cursor") or self.gp.manifest.block - 1)
        head = self.gp.head_block()
        if head > cursor:
            for job_id in self.gp.disputes_raised(cursor + 1, head):
                if self.state.action(ActionKind.DISPUTE, job_id) is None:
                    self.state.record_action(ActionKind.DISPUTE, job_id, None, ActionStatus.PENDING)
            self.state.put("dispute_cursor", str(head))
        now = time.monotonic()
        for _, job_id, _, _, _ in self.state.actions(ActionKind.DISPUTE, ActionStatus.PENDING):
            if not self.metrics.disputes.knows(job_id):
                self.metrics.disputes.pending(job_id, self._dispute_window(job_id))
            with self._lock:
                retry = self._dispute_retry.get(job_id)
                if job_id in self._in_flight or (retry is not None and now < retry[1]):
                    continue
                self._in_flight.add(job_id)
            self.pool.submit(self._resolve_job, job_id)

    def _dispute_window(self, job_id: str) -> tuple[float, float] | None:
        """(when ``job_id`` was disputed, its dispute timeout) in chain seconds, for the metrics;
        None if the chain does not say now."""
        try:
            job = self.gp.job(job_id)
            return float(job.updated_at), float(self.gp.deadlines_of(job).dispute_timeout)
        except Exception as err:  # noqa: BLE001 - a metric's detail: the dispute itself goes on
            log.debug("dispute %s: its deadline not read: %s", job_id, err, extra=labels(job=job_id))
            return None

    def _resolve_job(self, job_id: str) -> None:
        try:
            self.resolve(job_id)
            self.metrics.disputes.done(job_id)
            with self._lock:
                self._dispute_retry.pop(job_id, None)
                self._first_try.pop(job_id, None)
        except Exception as err:  # noqa: BLE001 - stays pending, tried again after a backoff
            with self._lock:
                failures = self._dispute_retry.get(job_id, (0, 0.0))[0] + 1
                now = time.monotonic()
                first_try = self._first_try.get(job_id) if isinstance(err, ProviderUnreachable) else None
                delay = dispute_retry_delay(failures, first_try, now, self.config.record_wait_s)
                self._dispute_retry[job_id] = (failures, now + delay)
            text = str(err).splitlines()[0] if str(err) else type(err).__name__
            log.warning("dispute %s not resolved yet (attempt %d; next in %g s): %s", job_id, failures, delay, text,
                        extra=labels(job=job_id))
            if self.state.action(ActionKind.DISPUTE, job_id) == ActionStatus.PENDING:
                self.state.record_action(ActionKind.DISPUTE, job_id, None, ActionStatus.PENDING,
                                         f"attempt {failures} failed: {text[:300]}; next in {delay:g} s")
        finally:
            with self._lock:
                self._in_flight.discard(job_id)

    def resolve(self, job_id: str) -> ActionStatus:
        job = self.gp.job(job_id)
        if job.status != JobStatus.DISPUTED:
            self.state.record_action(ActionKind.DISPUTE, job_id, job.provider, ActionStatus.RESOLVED_ELSEWHERE,
                                     job.status.label)
            return ActionStatus.RESOLVED_ELSEWHERE
        evidence = self.evidence.gather(job_id)
        now = time.monotonic()
        with self._lock:
            first_try = self._first_try.setdefault(job_id, now)
        await_record(evidence, first_try, now, self.config.record_wait_s)  # raises: tried again after a backoff
        outcome, rule = decide(evidence, self.config.miss_limit)
        document = to_document(evidence, outcome, rule)
        cid = self.store.ipfs.add([UploadPart("evidence.json", [document])], wrap=False)[-1].cid
        try:
            status = self._send_once(lambda: self.gp.job(job_id).status != JobStatus.DISPUTED,
                                     lambda: self.gp.resolve_dispute(job_id, outcome, cid), InvalidJobState,
                                     ActionStatus.RESOLVED, ActionStatus.RESOLVED_ELSEWHERE)
        except Exception:
            self.metrics.transactions_failed.labels("dispute").inc()
            raise
        self.state.record_action(ActionKind.DISPUTE, job_id, job.provider, status,
                                 f"{outcome.name.lower()} ({rule}); evidence {cid}")
        log.info("dispute %s: %s, %s; evidence %s", job_id, status, outcome.name.lower(), cid, extra=labels(job=job_id))
        return status

    # ================================================================ views
    def health(self) -> dict[str, Any]:
        return {"oracle": self.gp.address, "chain_id": self.chain_id,
                "heartbeat_interval_s": self.config.heartbeat_interval_s, "period_s": self.config.period_s,
                "providers": len(self._providers), "rejected": dict(self.rejected)}

    def provider_table(self) -> dict[str, Any]:
        rows = {}
        for provider in list(self._providers):
            watch = self.state.watch(provider)
            kept, expected = self.state.slot_counts(provider, 0, 2**62)
            done = [c for c in self.state.challenges(provider) if c.outcome]
            rows[provider] = {"kept": kept, "expected": expected, "streak": watch.streak if watch else 0,
                              "reported_period": watch.reported_period if watch else None,
                              "challenges_passed": sum(c.outcome == ChallengeOutcome.PASSED for c in done),
                              "challenges_failed": sum(c.outcome in PENALTY_OF for c in done),
                              "last_heartbeat": self.state.last_heartbeat(provider)}
        return rows
