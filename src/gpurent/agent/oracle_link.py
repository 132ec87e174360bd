"""The agent's side of the oracle protocol: signed heartbeats and challenge answers.

Heartbeats go to every configured oracle once per heartbeat slot, sent at the middle of the slot
(``floor(time / interval)``, the same cut the oracles use) so clock jitter never puts two in one
slot and none in the next. They keep their slot whatever the agent's loop does: a timer thread of
their own (``start``) decides when a beat is due, and each beat is sent on a thread of its own, so
neither a slow round of the loop nor a slow or absent oracle can make the provider miss one.

A challenge is answered from the agent's own IPFS node: the asked bytes of the job image's
``image.tar``, signed with the provider's key; only challenges an oracle signed, for a job
running here, expiring within ``CHALLENGE_MAX_EXPIRY_S``.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from gpurent.http import call
from gpurent.images.store import IMAGE_FILE
from gpurent.types import AgentPhase
from gpurent.wire.protocol import (
    CHALLENGE_CLOCK_SKEW_S,
    CHALLENGE_MAX_EXPIRY_S,
    Challenge,
    ChallengeRefused,
    Domain,
    SignatureError,
    new_heartbeat,
    sign_response,
    slot_of,
)

if TYPE_CHECKING:
    from gpurent.agent.agent import Agent

log = logging.getLogger("gpurent.provider")

ORACLE_CACHE_S = 300.0
ORACLE_CACHE_MAX = 1024  # non-oracles remembered; a flood of strangers' signatures cannot grow it further
# phases whose image a challenge may ask about: the job runs, or may run by the chain's clock: the
# chain says "running" from startJob, which the agent sends while the record says starting, and until
# its completion or dispute lands, a moment after the record moves on (a refusal then would count as
# a missed challenge, and an honest provider would be penalised). Before starting the job is not
# running on chain (the image is pulled and verified before acceptance), so no oracle asks.
CHALLENGED_PHASES = (AgentPhase.STARTING, AgentPhase.RUNNING, AgentPhase.EXITED, AgentPhase.COMPLETING,
                     AgentPhase.COMPLETED, AgentPhase.DISPUTED)


class OracleLink:
    def __init__(self, agent: Agent):
        self.agent = agent
        self.urls = agent.config.oracle_urls
        self.interval = agent.config.heartbeat_interval_s
        gp = agent.gp
        self.domain = Domain(gp.manifest.chain_id, str(gp.reputation_system.address))
        self.started = time.time()
        self.next_at = 0.0
        self.sent = 0
        self.paused = False  # tests (and operators draining a machine) can stop heartbeats
        self._oracles: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._timer: threading.Thread | None = None

    def attach(self) -> None:
        self.agent.endpoint.challenge_handler = self.answer
        self.agent.endpoint.is_oracle = self.is_oracle

    # -- heartbeats --------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the heartbeat timer (no oracle configured: nothing to start)."""
        if not self.urls or (self._timer is not None and self._timer.is_alive()):
            return
        self._stopping.clear()
        self._timer = threading.Thread(target=self._beat, name="heartbeat-timer", daemon=True)
        self._timer.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
            self._timer = None

    def _beat(self) -> None:
        """The timer: a beat when one is due, else asleep until the next is (re-checked at least
        every second, so a pause or a stop takes effect at once)."""
        while not self._stopping.is_set():
            try:
                self.tick(self.agent)
            except Exception as err:  # noqa: BLE001 - the timer must outlive any one beat
                log.warning("heartbeat not sent: %s", err)
            wait = self.next_at - time.time()
            self._stopping.wait(min(wait, 1.0) if wait > 0 else 0.1)

    def tick(self, agent: Agent) -> None:
        now = time.time()
        if not self.urls or self.paused or now < self.next_at or not agent.accepting:
            return
        self.next_at = (slot_of(now, self.interval) + 1.5) * self.interval
        threading.Thread(target=self.send, args=(now,), name="heartbeat", daemon=True).start()

    def send(self, at: float | None = None) -> None:
        """One beat to every oracle, stamped ``at`` (the moment the timer chose: the beat counts
        for that slot however long signing and sending take)."""
        now = time.time() if at is None else at
        jobs = len(self.agent.state.jobs((AgentPhase.RUNNING,)))
        gpus = (self.agent.monitor.latest() or {}).get("gpus") or []
        util = sum(float(g["utilization_pct"]) for g in gpus) / len(gpus) / 100 if gpus else 0.0
        beat = new_heartbeat(self.agent.gp.address, jobs, util, now - self.started, now=now)
        body = beat.signed(self.agent.gp.account, self.domain).to_json()
        for url in self.urls:
            try:
                response = call("POST", f"{url}/heartbeat", f"oracle {url} is not answering", json=body,
                                timeout=max(1.0, self.interval / 2))
                if response.status_code != 200:
                    self.agent.telemetry.heartbeats.labels("refused").inc()
                    log.warning("oracle %s refused a heartbeat: %s", url, response.text[:200])
                else:
                    self.agent.telemetry.heartbeats.labels("sent").inc()
            except Exception as err:  # noqa: BLE001 - one absent oracle must not stop the others
                self.agent.telemetry.heartbeats.labels("failed").inc()
                log.warning("heartbeat to %s failed: %s", url, err)
        self.sent += 1

    # -- challenges --------------------------------------------------------------------------
    def answer(self, body: Any) -> dict[str, Any]:
        """:meth:`respond`, counted by outcome."""
        counted = self.agent.telemetry.challenges
        try:
            answer = self.respond(body)
        except ChallengeRefused:
            counted.labels("refused").inc()
            raise
        except (ValueError, KeyError, TypeError):
            counted.labels("malformed").inc()
            raise
        except Exception:
            counted.labels("failed").inc()
            raise
        counted.labels("answered").inc()
        return answer

    def respond(self, body: Any) -> dict[str, Any]:
        """The asked bytes, signed, if ``body`` is a challenge an oracle signed for the image of
        a job this agent runs, expiring soon; MalformedMessage (400) or ChallengeRefused (403)
        otherwise, before IPFS is asked for anything."""
        challenge = Challenge.from_json(body)
        remaining = challenge.expiry - time.time()
        if remaining <= 0:
            raise ChallengeRefused("the challenge has expired")
        if remaining > CHALLENGE_MAX_EXPIRY_S + CHALLENGE_CLOCK_SKEW_S:
            raise ChallengeRefused(f"the challenge expires more than {CHALLENGE_MAX_EXPIRY_S} s from now")
        job = self.agent.state.job(challenge.job_id)
        if job is None or job.phase not in CHALLENGED_PHASES or job.image_cid != challenge.cid:
            raise ChallengeRefused(f"no job {challenge.job_id} of image {challenge.cid} runs here")
        if not challenge.signature:
            raise ChallengeRefused("the challenge is not signed: only an oracle's are answered")
        try:
            signer = challenge.signer(self.domain)
        except SignatureError as err:
            raise ChallengeRefused(str(err)) from None
        if not self.is_oracle(signer):
            raise ChallengeRefused(f"the challenge is signed by {signer}, not by an oracle")
        data = self.agent.store.ipfs.cat_bytes(f"{challenge.cid}/{IMAGE_FILE}", offset=challenge.offset,
                                               length=challenge.length, timeout=max(1.0, remaining))
        signature = sign_response(self.agent.gp.account, self.domain, challenge, data)
        return {"provider": self.agent.gp.address, "data": base64.b64encode(data).decode(), "signature": signature}

    # -- who may read job records ------------------------------------------------------------
    def is_oracle(self, address: str) -> bool:
        key = address.lower()
        with self._lock:
            cached = self._oracles.get(key)
        if cached and time.monotonic() - cached[1] < ORACLE_CACHE_S:
            return cached[0]
        try:
            allowed = self.agent.gp.has_role("ORACLE_ROLE", address).get("Marketplace", False)
        except Exception:  # noqa: BLE001 - chain unreachable: deny, ask again next time
            return False
        with self._lock:
            if not allowed and sum(1 for ok, _ in self._oracles.values() if not ok) >= ORACLE_CACHE_MAX:
                # forget the strangers, never the oracles: a flood of fresh keys cannot evict them
                self._oracles = {k: v for k, v in self._oracles.items() if v[0]}
            self._oracles[key] = (allowed, time.monotonic())
        return allowed
