"""The oracle's config file (``$GPURENT_HOME/oracle.toml`` or ``--config``); every key optional::

    [oracle]
    listen = "127.0.0.1:7300"        # where providers send heartbeats (give them this URL)
    poll_interval = 1.0              # seconds between rounds of work
    max_failures = 10                # failed rounds in a row before the oracle halts (exit 1)
    providers = []                   # watch only these addresses (default: every registered one)
    secret = ""                      # challenge seed shared by oracle instances that hold
                                     # different accounts (default: derived from the account)

    [heartbeats]
    interval = 60                    # seconds per heartbeat slot; agents use the same value
    miss_limit = 3                   # more misses in a row than this: downtime (-50)
    max_skew = 30                    # a heartbeat timestamped further from now is refused

    [challenges]
    interval = 600                   # one challenge draw per provider per interval ...
    probability = 0.5                # ... that challenges with this probability
    expiry = 30                      # seconds to answer
    length = 1024                    # bytes asked for

    [reports]
    period = 3600                    # one validation report per provider per period
    dispute_timeout = 20             # seconds to wait for a provider's evidence
    record_wait = 300                # a provider not answering (restarting) is asked again this long
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.conffile import failure_limit, load_optional, parse_listen, toml_line
from gpurent.errors import ConfigurationError
from gpurent.runner import MAX_FAILURES
from gpurent.settings import state_home
from gpurent.wire.params import slot_problem
from gpurent.wire.protocol import ORACLE_HOST, ORACLE_PORT


MAX_RECORD_WAIT_S = 3600.0  # an hour: far within any dispute timeout (the chain's default is 3 days)


@dataclass(frozen=True)
class OracleConfig:
    """Every key of oracle.toml, with its default (the one place the defaults are written)."""

    listen_host: str = ORACLE_HOST
    listen_port: int = ORACLE_PORT
    poll_interval_s: float = 1.0
    providers: tuple[str, ...] = ()
    secret: str = ""
    heartbeat_interval_s: float = 60.0
    miss_limit: int = 3
    max_skew_s: float = 30.0
    challenge_interval_s: float = 600.0
    challenge_probability: float = 0.5
    challenge_expiry_s: float = 30.0
    challenge_length: int = 1024
    period_s: float = 3600.0
    evidence_timeout_s: float = 20.0
    record_wait_s: float = 300.0  # a dispute waits this long for an unreachable provider's record
    max_failures: int = MAX_FAILURES  # failed rounds in a row before the oracle halts

    def __post_init__(self) -> None:
        if self.heartbeat_interval_s <= 0 or self.period_s <= 0 or self.challenge_interval_s <= 0:
            raise ConfigurationError("intervals and the report period must be positive")
        if problem := slot_problem(self.heartbeat_interval_s, self.period_s):  # what agents accept from /v1/params
            raise ConfigurationError(problem)
        if not 0 <= self.challenge_probability <= 1:
            raise ConfigurationError("challenges.probability must be between 0 and 1")
        if not 0 <= self.record_wait_s <= MAX_RECORD_WAIT_S:
            raise ConfigurationError(f"reports.record_wait must be 0 to {MAX_RECORD_WAIT_S:g} seconds, "
                                     f"got {self.record_wait_s:g}")
        if self.miss_limit < 0 or not 0 < self.challenge_length <= 65536 or self.challenge_expiry_s <= 0:
            raise ConfigurationError("miss_limit, challenge length or expiry out of range")

    @property
    def slots_per_period(self) -> int:
        return round(self.period_s / self.heartbeat_interval_s)

    @property
    def url(self) -> str:
        return f"http://{self.listen_host}:{self.listen_port}"


DEFAULTS = OracleConfig()


def default_path() -> Path:
    """oracle.toml in the state folder."""
    return state_home() / "oracle.toml"


def oracle_home() -> Path:
    """The oracle's own folder (its database, its process record and log)."""
    return state_home() / "oracle"


def parse_config(doc: dict[str, Any], where: str = "oracle config") -> OracleConfig:
    d = DEFAULTS
    oracle, beats = doc.get("oracle", {}), doc.get("heartbeats", {})
    challenges, reports = doc.get("challenges", {}), doc.get("reports", {})
    host, port = parse_listen(oracle.get("listen", f"{d.listen_host}:{d.listen_port}"), f"{where}: listen")
    try:
        return OracleConfig(
            listen_host=host, listen_port=port, poll_interval_s=float(oracle.get("poll_interval", d.poll_interval_s)),
            providers=tuple(str(p).lower() for p in oracle.get("providers", d.providers)),
            secret=str(oracle.get("secret", d.secret)),
            max_failures=failure_limit(oracle.get("max_failures", d.max_failures), f"{where}: oracle.max_failures"),
            heartbeat_interval_s=float(beats.get("interval", d.heartbeat_interval_s)),
            miss_limit=int(beats.get("miss_limit", d.miss_limit)), max_skew_s=float(beats.get("max_skew", d.max_skew_s)),
            challenge_interval_s=float(challenges.get("interval", d.challenge_interval_s)),
            challenge_probability=float(challenges.get("probability", d.challenge_probability)),
            challenge_expiry_s=float(challenges.get("expiry", d.challenge_expiry_s)),
            challenge_length=int(challenges.get("length", d.challenge_length)),
            period_s=float(reports.get("period", d.period_s)),
            evidence_timeout_s=float(reports.get("dispute_timeout", d.evidence_timeout_s)),
            record_wait_s=float(reports.get("record_wait", d.record_wait_s)))
    except (TypeError, ValueError) as err:
        raise ConfigurationError(f"{where}: {err}") from None


def load_config(path: Path | None = None) -> OracleConfig:
    """The config at ``path`` (default: the state folder's oracle.toml; defaults if absent)."""
    return load_optional(path, default_path(), "oracle", parse_config, OracleConfig)


def render(config: OracleConfig = DEFAULTS, header: str = "") -> str:
    """``config`` as an oracle.toml that :func:`parse_config` reads back to the same values."""
    c, ln = config, toml_line
    return "\n".join([
        f"{header}[oracle]",
        ln("listen", f"{c.listen_host}:{c.listen_port}", "give providers this URL: [oracle] urls in their provider.toml"),
        ln("poll_interval", c.poll_interval_s, "seconds between rounds of work"),
        ln("providers", list(c.providers), "watch only these addresses (empty: every registered one)"),
        ln("secret", c.secret, "challenge seed shared by instances holding different accounts"),
        ln("max_failures", c.max_failures, "failed rounds in a row before the oracle halts"),
        "",
        "[heartbeats]",
        ln("interval", c.heartbeat_interval_s, "the providers' heartbeat_interval must match"),
        ln("miss_limit", c.miss_limit, "more misses in a row than this: downtime"),
        ln("max_skew", c.max_skew_s, "a heartbeat timestamped further from now is refused"),
        "",
        "[challenges]",
        ln("interval", c.challenge_interval_s, "one challenge draw per provider per interval ..."),
        ln("probability", c.challenge_probability, "... that challenges with this probability"),
        ln("expiry", c.challenge_expiry_s, "seconds to answer"),
        ln("length", c.challenge_length, "bytes asked for"),
        "",
        "[reports]",
        ln("period", c.period_s, "one validation report per provider per period"),
        ln("dispute_timeout", c.evidence_timeout_s, "seconds to wait for a provider's evidence"),
        ln("record_wait", c.record_wait_s, "a provider not answering (restarting) is asked again this long"),
    ]) + "\n"
