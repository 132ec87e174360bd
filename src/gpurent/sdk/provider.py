"""A renter's view of a job from its provider's endpoint: phase, timeline, logs and usage, signed.

The endpoint is the provider's own string from the chain and what it answers is the provider's
own word, so both are checked: the endpoint by :func:`~gpurent.wire.endpoint.provider_target`
(shape, fixed routes, the network's address policy, no redirects), the record by
:func:`~gpurent.wire.record.parse_record` (at most :data:`~gpurent.wire.record.RECORD_CAP` bytes,
within ``timeout_s``), and every read of a log stream by an idle timeout.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from gpurent.capped import CONNECT_TIMEOUT_S, CappedBody, capped_error_text, capped_get, loads_bounded, set_read_timeout
from gpurent.errors import GpurentError, InvalidInput, JobNotKnown, ServiceUnavailable
from gpurent.output import safe_text
from gpurent.http import call
from gpurent.types import AgentPhase
from gpurent.wire.access import sign_access
from gpurent.wire.endpoint import Target, provider_target
from gpurent.wire.images import CID_SHAPE, IMAGE_ANSWER_CAP, parse_image_state
from gpurent.wire.metrics import LINE_MAX, METRICS_CAP, MetricsAnswer, Sample, parse_line, parse_metrics
from gpurent.wire.protocol import ADDRESS
from gpurent.wire.record import RECORD_CAP, ProviderRecord, parse_record

if TYPE_CHECKING:
    from ape.api.accounts import AccountAPI

    from gpurent.sdk.client import Gpurent
    from gpurent.types import Job

CHUNK = 64 * 1024
ERROR_CAP = 4096  # bytes of an error answer read
FOLLOW_IDLE_S = 60.0  # a followed log stream silent this long is reconnected ...
FOLLOW_RECONNECTS = 5  # ... this many times in a row without a byte, then the follow ends
UNKNOWN_WAIT_S = 120.0  # a followed record of a job its agent has not found yet is asked for this long
HEALTH_CAP = 64 * 1024  # bytes of an agent's /health read
SERVED_MAX = 1024  # GPU ids an agent's /health may list
_ID = re.compile(r"0x[0-9a-fA-F]{64}")
T = TypeVar("T")
FINAL_PHASES = frozenset(str(p) for p in AgentPhase if p.final)


@dataclass(frozen=True)
class AgentHealth:
    """What a provider's agent says of itself at ``/health``, checked: who it is, whether it
    takes work, and the GPUs (resource ids, lower case) it serves; ``gpus`` is None for an agent
    that does not list them."""

    provider: str
    chain_id: int
    accepting: bool
    gpus: frozenset[str] | None

    def serves(self, provider: str, chain_id: int, resource_id: str) -> bool | None:
        """Whether this agent is ``provider``'s on ``chain_id`` and serves ``resource_id``;
        None when it cannot tell (another provider's or chain's agent, or no list)."""
        if self.provider.lower() != provider.lower() or self.chain_id != chain_id or self.gpus is None:
            return None
        return resource_id.lower() in self.gpus


def parse_health(data: Any) -> AgentHealth:
    """``data`` (parsed JSON) as an :class:`AgentHealth`; ValueError naming the first field
    that is not so."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    provider, chain_id, accepting = data.get("provider"), data.get("chain_id"), data.get("accepting")
    if not isinstance(provider, str) or not ADDRESS.fullmatch(provider):
        raise ValueError("provider is not an address")
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or not 0 < chain_id < 1 << 64:
        raise ValueError("chain_id is not a chain id")
    if not isinstance(accepting, bool):
        raise ValueError("accepting is not a boolean")
    listed = data.get("resources")
    if listed is not None and (not isinstance(listed, list) or len(listed) > SERVED_MAX or not all(
            isinstance(r, str) and _ID.fullmatch(r) for r in listed)):
        raise ValueError(f"resources is not a list of at most {SERVED_MAX} GPU ids")
    return AgentHealth(provider, chain_id, accepting,
                       None if listed is None else frozenset(r.lower() for r in listed))


class MalformedAnswer(GpurentError):
    """Raised when a provider answers with something its protocol does not allow: a record of
    the wrong shape, one too large, not JSON, or a redirect."""

    def __init__(self, problem: str):
        self.problem = problem
        super().__init__(f"the provider's answer is malformed: {problem}")


class ProviderEndpoint:
    """A provider agent's HTTP endpoint, asked about one job at a time, signing as its renter.

    ``timeout_s`` bounds the answer to a record request and each read of a log stream;
    a followed stream gets ``follow_idle_s`` per read, and is reconnected from the byte it
    reached when silent that long, ``follow_reconnects`` times in a row at most."""

    def __init__(self, url: str, account: AccountAPI | None, chain_id: int, timeout_s: float = 10.0,
                 follow_idle_s: float = FOLLOW_IDLE_S, follow_reconnects: int = FOLLOW_RECONNECTS):
        self.target: Target = provider_target(url, chain_id)  # InvalidEndpoint: nothing is sent
        self.account, self.chain_id, self.timeout_s = account, chain_id, timeout_s
        self.follow_idle_s, self.follow_reconnects = follow_idle_s, follow_reconnects

    @property
    def url(self) -> str:
        return self.target.endpoint.base

    @classmethod
    def for_job(cls, gp: Gpurent, job: Job) -> ProviderEndpoint:
        """The endpoint of ``job``'s provider (from the registry), signing as ``gp``'s account."""
        return cls(gp.provider(job.provider).endpoint, gp.account, gp.manifest.chain_id)

    def phase(self, job_id: str) -> ProviderRecord:
        """The provider's record of the job (phase, bytes pulled, exit code, timeline), checked:
        MalformedAnswer when it is not one, GpurentError when the provider refuses."""
        body = self._signed_json(job_id, (), RECORD_CAP, "a record")
        try:
            return parse_record(loads_bounded(body), job_id)
        except ValueError as err:  # not JSON (UnicodeDecodeError included), or not a record
            raise MalformedAnswer(str(err).splitlines()[0][:200] if str(err) else "not a record") from None

    def follow_record(self, job_id: str, every_s: float = 1.0) -> Iterator[ProviderRecord]:
        """The provider's record of the job, asked every ``every_s`` and yielded each time (the
        caller keeps what changed), until its phase is final. An ask that gets no answer is
        tried again, ``follow_reconnects`` times in a row at most (ServiceUnavailable then);
        a refusal or a malformed record ends it at once, but for a job the provider does not
        know yet (just created: asked again for ``UNKNOWN_WAIT_S``, until its first record)."""
        missed, started, known = 0, time.monotonic(), False
        while True:
            asked = time.monotonic()
            try:
                record = self.phase(job_id)
            except ServiceUnavailable:
                missed += 1
                if missed > self.follow_reconnects:
                    raise
            except JobNotKnown:
                if known or asked - started > UNKNOWN_WAIT_S:
                    raise
            else:
                missed, known = 0, True
                yield record
                if record["phase"] in FINAL_PHASES:
                    return
            time.sleep(max(0.0, every_s - (time.monotonic() - asked)))

    def job_metrics(self, job_id: str) -> MetricsAnswer:
        """The job's usage as the provider samples it (:mod:`gpurent.wire.metrics`): its recent
        samples and its summary over the whole run (None before the first sample), checked:
        MalformedAnswer when it is not one, GpurentError when the provider refuses."""
        body = self._signed_json(job_id, ("metrics",), METRICS_CAP, "a metrics answer")
        try:
            return parse_metrics(loads_bounded(body), job_id)
        except ValueError as err:
            raise MalformedAnswer(str(err).splitlines()[0][:200] if str(err) else "not a metrics answer") from None

    def follow_metrics(self, job_id: str) -> Iterator[Sample]:
        """The job's samples as the provider takes them (the latest first), until the job is past
        running; each line checked (at most :data:`~gpurent.wire.metrics.LINE_MAX` bytes, one
        sample: MalformedAnswer otherwise), samples not later than the last one skipped. A
        stream silent for ``follow_idle_s`` (the agent sends an empty line every 10 s while a
        job waits to run) is reconnected, ``follow_reconnects`` times in a row at most."""
        quiet, last_t = 0, float("-inf")
        while True:
            response = self._open_stream(job_id, "metrics", {"follow": 1})
            received = 0
            try:
                set_read_timeout(response.raw, self.follow_idle_s)
                for line in _lines(response.raw, LINE_MAX):
                    received += 1
                    if not line.strip():
                        continue  # the agent's keep-alive
                    try:
                        sample = parse_line(line)
                    except ValueError as err:
                        raise MalformedAnswer(f"a metrics sample: {str(err).splitlines()[0][:200]}") from None
                    if sample["t"] > last_t:
                        last_t = sample["t"]
                        yield sample
                return  # the provider ended the stream: the job is past running
            except MalformedAnswer:
                raise
            except Exception as err:  # noqa: BLE001 - a read timeout or a broken connection: the stream stalled
                stalled = type(err).__name__
            finally:
                response.close()
            quiet = 0 if received else quiet + 1
            if quiet > self.follow_reconnects:
                raise ServiceUnavailable(f"no metrics from the provider for {quiet * self.follow_idle_s:g} s "
                                         f"({stalled}); stopped following")

    def health(self) -> AgentHealth:
        """The agent's ``/health`` (unsigned), checked: ServiceUnavailable when it does not
        answer within ``timeout_s``, MalformedAnswer when the answer is not one."""
        return self._unsigned(("health",), HEALTH_CAP, "a health answer", parse_health)

    def image_state(self, cid: str) -> str:
        """Whether a job on image ``cid`` would start here without a download: ``ready``,
        ``stored`` or ``absent`` (:mod:`gpurent.wire.images`; unsigned). ServiceUnavailable when
        the agent does not answer within ``timeout_s``, MalformedAnswer when the answer is not one,
        GpurentError when it refuses (an agent from before this route answers 404)."""
        if not CID_SHAPE.fullmatch(cid):
            raise InvalidInput(f"{safe_text(cid)[:80]!r} is not a CID")
        return self._unsigned(("images", cid), IMAGE_ANSWER_CAP, "an image answer",
                              lambda data: parse_image_state(data, cid))

    def _unsigned(self, route: tuple[str, ...], cap: int, what: str, parse: Callable[[Any], T]) -> T:
        """An unsigned JSON answer at ``route``, at most ``cap`` bytes within ``timeout_s``, parsed."""
        got = capped_get(self.target.url(*route), self._unavailable, max_bytes=cap,
                         deadline=time.monotonic() + self.timeout_s, session=self.target.session())
        if got.status >= 300:
            _refused(got)
        if got.truncated or got.timed_out:
            raise MalformedAnswer(f"{what} larger than {cap:,} bytes or later than {self.timeout_s:g} s")
        try:
            return parse(loads_bounded(got.body))
        except ValueError as err:
            raise MalformedAnswer(str(err).splitlines()[0][:200] if str(err) else f"not {what}") from None

    def logs(self, job_id: str, follow: bool = False, offset: int = 0) -> Iterator[bytes]:
        """The job's log from byte ``offset``, as it arrives. Without ``follow``, a stream silent
        for ``timeout_s`` ends with ServiceUnavailable; with it, see the class's docstring."""
        idle = self.follow_idle_s if follow else self.timeout_s
        quiet = 0  # connections in a row that brought nothing before going silent
        while True:
            response = self._open_logs(job_id, offset, follow)
            received = 0
            try:
                set_read_timeout(response.raw, idle)
                while chunk := response.raw.read1(CHUNK, decode_content=False):
                    received += len(chunk)
                    yield chunk
                return  # the provider ended the stream: the whole log, or the job is over
            except Exception as err:  # noqa: BLE001 - a read timeout or a broken connection: the stream stalled
                stalled = f"{type(err).__name__}"
            finally:
                response.close()
            offset += received
            quiet = 0 if received else quiet + 1
            if not follow:
                raise ServiceUnavailable(f"the provider's log stream stalled after {received:,} bytes "
                                         f"(nothing for {idle:g} s: {stalled})")
            if quiet > self.follow_reconnects:
                raise ServiceUnavailable(f"no log output from the provider for {quiet * idle:g} s; stopped "
                                         "following (run `gpurent jobs logs -f` again to go on)")

    @property
    def unavailable(self) -> str:
        """The message for an endpoint that does not answer."""
        return f"the provider's endpoint {self.url} does not answer"

    def signed(self, job_id: str) -> dict[str, str]:
        """Headers proving the renter asks about ``job_id`` now."""
        return dict(sign_access(self.account, self.chain_id, job_id))

    def _signed_json(self, job_id: str, route: tuple[str, ...], cap: int, what: str) -> bytes:
        """The body of a signed ``GET /jobs/<id>/<route>``: at most ``cap`` bytes within ``timeout_s``."""
        got = capped_get(self.target.url("jobs", job_id, *route), self._unavailable, max_bytes=cap,
                         deadline=time.monotonic() + self.timeout_s, headers=self._signed(job_id),
                         session=self.target.session())
        if got.status >= 300:
            _refused(got)
        if got.truncated:
            raise MalformedAnswer(f"{what} larger than {cap:,} bytes")
        if got.timed_out:
            raise ServiceUnavailable(f"the provider's endpoint {self.url} did not finish its answer within "
                                     f"{self.timeout_s:g} s")
        return got.body

    # ---------------------------------------------------------------- internals
    _unavailable = unavailable
    _signed = signed

    def _open_logs(self, job_id: str, offset: int, follow: bool) -> requests.Response:
        return self._open_stream(job_id, "logs", {"offset": offset, "follow": int(follow)})

    def _open_stream(self, job_id: str, route: str, params: dict[str, int]) -> requests.Response:
        response = call("GET", self.target.url("jobs", job_id, route), self._unavailable,
                        session=self.target.session(), headers={**self._signed(job_id), "Accept-Encoding": "identity"},
                        params=params, stream=True, allow_redirects=False,
                        timeout=(min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s))
        if response.status_code >= 300:
            with response:
                body = _read_some(response.raw, ERROR_CAP)
            _refused(CappedBody(response.status_code, body, False, False))
        return response


def _refused(got: CappedBody) -> None:
    """Raises for an answer that is not a 2xx: a redirect is malformed, the rest refusals."""
    if got.status < 400:
        raise MalformedAnswer(capped_error_text(got))
    kind = JobNotKnown if got.status == 404 else GpurentError
    raise kind(f"the provider refused: {capped_error_text(got)}")


def _lines(raw: Any, cap: int) -> Iterator[bytes]:
    """The lines of a stream as they come (without their newline), none over ``cap`` bytes:
    MalformedAnswer as soon as more than ``cap`` bytes arrive without a newline."""
    pending = b""
    while chunk := raw.read1(CHUNK, decode_content=False):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if len(line) > cap:
                raise MalformedAnswer(f"a metrics line longer than {cap:,} bytes")
            yield line
        if len(pending) > cap:
            raise MalformedAnswer(f"a metrics line longer than {cap:,} bytes")
    if pending:
        yield pending


def _read_some(raw: Any, limit: int) -> bytes:
    """At most ``limit`` bytes of an answer's body (whatever arrives before a read times out)."""
    body = b""
    try:
        while len(body) < limit and (chunk := raw.read1(limit - len(body), decode_content=False)):
            body += chunk
    except Exception:  # noqa: BLE001 - an error body cut short still says what it can
        pass
    return body


class DelegatedEndpoint(ProviderEndpoint):
    """A provider endpoint asked on a renter's behalf by a service that holds no key of theirs
    (the gateway), with the access headers the renter's wallet signed (``gpurent job access``,
    see :mod:`gpurent.wire.access`), good for ``MAX_SKEW_S`` around the time they name.

    On its first request for a job the signature is exchanged for the agent's access token
    (``POST /jobs/<id>/access``, good for 15 min: :mod:`gpurent.agent.tokens`), which every
    request and every reconnect of a followed stream carries from then on, renewed (with the
    signature then at hand) when under ``REFRESH_S`` is left. So a log followed across
    reconnects, or a record polled every second, goes on past the signature's minute without
    the renter signing again. An agent that gives no token (no route: older, or no ingress; or
    an answer that is no token) is sent the signature itself, as before. ``headers`` is read at each exchange, so its holder
    may put a fresher signature in it meanwhile."""

    def __init__(self, url: str, chain_id: int, headers: dict[str, str], **options: Any):
        super().__init__(url, None, chain_id, **options)
        self._headers = headers
        self._tokens: dict[str, tuple[str, float]] = {}  # job id -> (token, its expiry, Unix s)
        self._no_tokens = False  # the agent answered 404 at its token route
        self._lock = threading.Lock()

    def signed(self, job_id: str) -> dict[str, str]:
        return dict(self._headers)

    def authorized(self, job_id: str) -> dict[str, str]:
        """The headers a request about ``job_id`` carries: the agent's token when it has one."""
        from gpurent.sdk.access import REFRESH_S, NoTokenRoute, issue_token

        key = job_id.lower()
        with self._lock:
            if self._no_tokens:
                return self.signed(job_id)
            held = self._tokens.get(key)
            if held is None or held[1] - time.time() < REFRESH_S:
                try:
                    held = self._tokens[key] = issue_token(self, key, self.signed(job_id), self.timeout_s)
                except NoTokenRoute:
                    self._no_tokens = True
                    return self.signed(job_id)
                except GpurentError:
                    if held is None or held[1] <= time.time():
                        raise  # (a stale signature with no token left to go on with)
            return {"Authorization": f"Bearer {held[0]}"}

    _signed = authorized
