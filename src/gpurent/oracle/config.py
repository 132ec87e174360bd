"""The oracle's config file (``$GPURENT_HOME/oracle.toml`` or ``--config``); every key optional::

    [oracle]
    listen = "127.0.0.1:7300"        # where providers send heartbeats (give them this URL)
    poll_interval = 1.0              # seconds between rounds of work
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
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError
from gpurent.settings import state_home


@dataclass(frozen=True)
class OracleConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 7300
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

    def __post_init__(self) -> None:
        if self.heartbeat_interval_s <= 0 or self.period_s <= 0 or self.challenge_interval_s <= 0:
            raise ConfigurationError("intervals and the report period must be positive")
        ratio = self.period_s / self.heartbeat_interval_s
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ConfigurationError(f"the report period ({self.period_s:g} s) must be a whole number of heartbeat "
                                     f"intervals ({self.heartbeat_interval_s:g} s)")
        if not 0 <= self.challenge_probability <= 1:
            raise ConfigurationError("challenges.probability must be between 0 and 1")
        if self.miss_limit < 0 or not 0 < self.challenge_length <= 65536 or self.challenge_expiry_s <= 0:
            raise ConfigurationError("miss_limit, challenge length or expiry out of range")

    @property
    def slots_per_period(self) -> int:
        return round(self.period_s / self.heartbeat_interval_s)

    @property
    def url(self) -> str:
        return f"http://{self.listen_host}:{self.listen_port}"


def default_path() -> Path:
    return state_home() / "oracle.toml"


def parse_config(doc: dict[str, Any], where: str = "oracle config") -> OracleConfig:
    oracle, beats = doc.get("oracle", {}), doc.get("heartbeats", {})
    challenges, reports = doc.get("challenges", {}), doc.get("reports", {})
    listen = str(oracle.get("listen", "127.0.0.1:7300"))
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"{where}: listen must be HOST:PORT, got {listen!r}")
    try:
        return OracleConfig(
            listen_host=host, listen_port=int(port), poll_interval_s=float(oracle.get("poll_interval", 1.0)),
            providers=tuple(str(p).lower() for p in oracle.get("providers", [])), secret=str(oracle.get("secret", "")),
            heartbeat_interval_s=float(beats.get("interval", 60)), miss_limit=int(beats.get("miss_limit", 3)),
            max_skew_s=float(beats.get("max_skew", 30)),
            challenge_interval_s=float(challenges.get("interval", 600)),
            challenge_probability=float(challenges.get("probability", 0.5)),
            challenge_expiry_s=float(challenges.get("expiry", 30)),
            challenge_length=int(challenges.get("length", 1024)),
            period_s=float(reports.get("period", 3600)), evidence_timeout_s=float(reports.get("dispute_timeout", 20)))
    except (TypeError, ValueError) as err:
        raise ConfigurationError(f"{where}: {err}") from None


def load_config(path: Path | None = None) -> OracleConfig:
    """The config at ``path`` (default: the state folder's oracle.toml; defaults if absent)."""
    explicit = path is not None
    path = path or default_path()
    if not path.exists():
        if explicit:
            raise ConfigurationError(f"no oracle config at {path}")
        return OracleConfig()
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from err
    return parse_config(doc, str(path))
