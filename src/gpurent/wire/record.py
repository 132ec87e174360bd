"""A provider agent's record of a job (``GET /jobs/<id>``), as the renter and the oracle read it.

What a provider serves is untrusted: :func:`parse_record` checks its shape and returns a record
whose every field has the type it names, or ValueError saying what is wrong. The oracle counts
a record that does not parse as no record; the renter's SDK says the answer is malformed.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

RECORD_CAP = 256 * 1024  # bytes of a provider's record of a job; a larger one is not read
TIMELINE_MAX = 1000  # entries in a record's timeline
TEXT_MAX = 16_384  # characters of a record's free text (error, detail, image CID)
COUNT_MAX = 1 << 63  # bytes_done / bytes_total: a non-negative 64-bit count
_PHASE = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # an agent phase: queued, pulling, exited, ...
_CID = re.compile(r"[A-Za-z0-9]{1,128}")  # a CID's shape (base32/base58 letters), at most MAX_CID_LENGTH


class TimelineEntry(TypedDict):
    phase: str
    at: float  # the agent's clock (0.0 when the record gave none)
    detail: str


class PortEntry(TypedDict):
    port: int
    protocol: str  # http | tcp
    public: bool
    path: str | None  # where an http port answers on the provider's endpoint


PORTS_MAX = 8  # ports a job's definition may declare
_PORT_PATH = re.compile(r"/jobs/0x[0-9a-f]{64}/ports/[0-9]{1,5}/")


class ProviderRecord(TypedDict):
    job_id: str
    phase: str
    exit_code: int | None
    capped: bool
    bytes_done: int
    bytes_total: int | None  # None until a transfer tells it (a cached image has none)
    error: str | None
    image_cid: str | None
    result_cid: str | None  # the job's packed outputs on the provider's node (None: none yet, or no output)
    timeline: list[TimelineEntry]
    ports: list[PortEntry]  # what the job serves through the agent's ingress ([] for none, or an older agent)


def parse_record(data: Any, job_id: str | None = None) -> ProviderRecord:
    """``data`` (parsed JSON) as a record of ``job_id`` (any job when None): an object with a
    string ``job_id``, a ``phase`` (a lower-case word), an ``exit_code`` that is an integer or
    null, a ``timeline`` list of at most :data:`TIMELINE_MAX` objects with a ``phase``; and, when
    present, ``capped`` a boolean, ``bytes_done``/``bytes_total`` counts, ``error`` and
    ``image_cid`` short strings or null, ``result_cid`` a CID or null, a timeline entry's ``at`` a number and ``detail`` a short
    string or null. ValueError naming the first field that is not so."""
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object but {type(data).__name__}")
    if not isinstance(data.get("job_id"), str):
        raise ValueError("no job_id string")
    if job_id is not None and data["job_id"].lower() != job_id.lower():
        raise ValueError(f"it is the record of another job ({data['job_id'][:80]!a})")
    phase = _phase(data.get("phase"), "phase")
    if "exit_code" not in data or not (data["exit_code"] is None or _is_int(data["exit_code"])):
        raise ValueError("exit_code is not an integer or null")
    if "capped" in data and not isinstance(data["capped"], bool):
        raise ValueError("capped is not a boolean")
    timeline = data.get("timeline")
    if not isinstance(timeline, list) or len(timeline) > TIMELINE_MAX:
        raise ValueError(f"timeline is not a list of at most {TIMELINE_MAX} entries")
    return ProviderRecord(
        job_id=data["job_id"], phase=phase, exit_code=data["exit_code"], capped=bool(data.get("capped", False)),
        bytes_done=_count(data, "bytes_done") or 0, bytes_total=_count(data, "bytes_total"),
        error=_text(data.get("error"), "error"), image_cid=_text(data.get("image_cid"), "image_cid"),
        result_cid=_cid(data.get("result_cid"), "result_cid"),
        timeline=[_entry(entry) for entry in timeline], ports=_ports(data.get("ports", [])))


def _ports(value: Any) -> list[PortEntry]:
    if not isinstance(value, list) or len(value) > PORTS_MAX:
        raise ValueError(f"ports is not a list of at most {PORTS_MAX} ports")
    found = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("a port is not an object")
        port, protocol, public, path = item.get("port"), item.get("protocol"), item.get("public", False), item.get("path")
        if not (isinstance(port, int) and _is_int(port) and 1 <= port <= 65535) or protocol not in ("http", "tcp") \
                or not isinstance(public, bool):
            raise ValueError("a port is not {port: 1-65535, protocol: http|tcp, public: bool}")
        if path is not None and not (isinstance(path, str) and _PORT_PATH.fullmatch(path)):
            raise ValueError("a port's path is not /jobs/<id>/ports/<port>/")
        found.append(PortEntry(port=port, protocol=protocol, public=public, path=path))
    return found


def _cid(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CID.fullmatch(value):
        raise ValueError(f"{what} is not a CID or null")
    return value


def record_problem(data: Any, job_id: str | None = None) -> str | None:
    """Why ``data`` is not a record (see :func:`parse_record`); None if it is one."""
    try:
        parse_record(data, job_id)
    except ValueError as err:
        return str(err)
    return None


def _entry(entry: Any) -> TimelineEntry:
    if not isinstance(entry, dict) or not isinstance(entry.get("phase"), str):
        raise ValueError("a timeline entry is not an object with a phase string")
    at = entry.get("at", 0.0)
    if not (_is_int(at) or isinstance(at, float)) or not -COUNT_MAX < at < COUNT_MAX:
        raise ValueError("a timeline entry's at is not a number")
    return TimelineEntry(phase=_phase(entry["phase"], "a timeline entry's phase"), at=float(at),
                         detail=_text(entry.get("detail"), "a timeline entry's detail") or "")


def _phase(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _PHASE.fullmatch(value):
        raise ValueError(f"{what} is not a phase (a lower-case word of at most 32 characters)")
    return value


def _count(data: dict[str, Any], key: str) -> int | None:
    """A count of bytes, or None when the provider sends null (not known yet) or nothing."""
    value = data.get(key)
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value < COUNT_MAX:
        raise ValueError(f"{key} is not a count of bytes or null")
    return int(value)


def _text(value: Any, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > TEXT_MAX):
        raise ValueError(f"{what} is not a string of at most {TEXT_MAX} characters or null")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
