"""The gateway's config file (``$GPURENT_HOME/gateway.toml`` or ``--config``); every key
optional, and each may be overridden by ``gpurent-gateway run``'s options::

    [gateway]
    listen = "127.0.0.1:8200"        # where it serves (HTTP and WebSocket)
    public_url = ""                  # the URL browsers use; sign-in messages name it (default: http://LISTEN)
    origins = []                     # origins CORS allows (the web app's); none by default
    db = ""                          # the index: sqlite:///PATH or postgresql://… (default: the indexer's)
    redis = ""                       # redis://HOST:PORT shared by replicas (default: in memory)
    ipfs = ""                        # Kubo RPC URL for uploads (default: the configured or running node)
    key_file = ""                    # the session key (default: gateway/session.key in the state folder)
    web_dir = ""                     # the web app's built files, served at / (default: the checkout's web/dist)

    [limits]
    per_ip = 1200                    # requests a minute from one IP
    per_address = 600                # requests a minute for one signed-in address
    sign_in_per_ip = 30              # challenges and logins a minute from one IP
    streams_per_address = 8          # log and metrics WebSockets one address holds at once
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gpurent.conffile import load_optional, parse_listen, toml_line
from gpurent.errors import ConfigurationError
from gpurent.gateway.guard import Limits
from gpurent.settings import state_home

GATEWAY_HOST = "127.0.0.1"
GATEWAY_PORT = 8200


@dataclass(frozen=True)
class GatewaySettings:
    """Every key of gateway.toml, with its default (the one place the defaults are written)."""

    listen_host: str = GATEWAY_HOST
    listen_port: int = GATEWAY_PORT
    public_url: str = ""
    origins: tuple[str, ...] = ()
    db: str = ""
    redis: str = ""
    ipfs: str = ""
    key_file: str = ""
    web_dir: str = ""
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        url = self.url
        if not url.startswith(("http://", "https://")) or "/" in url.split("://", 1)[1]:
            raise ConfigurationError(f"the public URL must be http(s)://HOST[:PORT], got {url!r}")
        for origin in self.origins:
            if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
                raise ConfigurationError(f"an origin is scheme://HOST[:PORT] (no path), got {origin!r}")
        if self.redis and not self.redis.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(f"redis must be a redis:// URL, got {self.redis!r}")
        for name in ("per_ip", "per_address", "sign_in_per_ip", "streams_per_address"):
            value = getattr(self.limits, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"limits.{name} must be a whole number, at least 1, got {value!r}")

    @property
    def url(self) -> str:
        """What browsers call it: the public URL, else the listen address."""
        return (self.public_url or f"http://{self.listen_host}:{self.listen_port}").rstrip("/")

    def web_path(self) -> Path | None:
        """Where the web app's built files are: ``web_dir``, else the checkout's web/dist if it
        holds a build, else none (the gateway then serves the API alone)."""
        from gpurent.gateway.web import repo_web_dir

        return Path(self.web_dir).expanduser() if self.web_dir else repo_web_dir()

    def overridden(self, **changes: Any) -> GatewaySettings:
        """These settings with the options given on the command line (None: not given)."""
        given = {key: value for key, value in changes.items() if value is not None and value != ()}
        limit_keys = {"per_ip", "per_address", "sign_in_per_ip", "streams_per_address"}
        limits = replace(self.limits, **{k: v for k, v in given.items() if k in limit_keys})
        return replace(self, limits=limits, **{k: v for k, v in given.items() if k not in limit_keys})


DEFAULTS = GatewaySettings()


def default_path() -> Path:
    """gateway.toml in the state folder."""
    return state_home() / "gateway.toml"


def gateway_home() -> Path:
    """The gateway's own folder (its session key, its process record and log)."""
    path = state_home() / "gateway"
    path.mkdir(parents=True, exist_ok=True)
    return path


def parse_config(doc: dict[str, Any], where: str = "gateway config") -> GatewaySettings:
    d, dl = DEFAULTS, DEFAULTS.limits
    gateway, limits = doc.get("gateway", {}), doc.get("limits", {})
    if not isinstance(gateway, dict) or not isinstance(limits, dict):
        raise ConfigurationError(f"{where}: [gateway] and [limits] are tables")
    host, port = parse_listen(gateway.get("listen", f"{d.listen_host}:{d.listen_port}"), f"{where}: listen")
    origins = gateway.get("origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigurationError(f"{where}: origins must be a list of strings")
    try:
        return GatewaySettings(
            listen_host=host, listen_port=port, public_url=str(gateway.get("public_url", d.public_url)),
            origins=tuple(origins), db=str(gateway.get("db", d.db)), redis=str(gateway.get("redis", d.redis)),
            ipfs=str(gateway.get("ipfs", d.ipfs)), key_file=str(gateway.get("key_file", d.key_file)),
            web_dir=str(gateway.get("web_dir", d.web_dir)),
            limits=Limits(per_ip=limits.get("per_ip", dl.per_ip), per_address=limits.get("per_address", dl.per_address),
                          sign_in_per_ip=limits.get("sign_in_per_ip", dl.sign_in_per_ip),
                          streams_per_address=limits.get("streams_per_address", dl.streams_per_address)))
    except ConfigurationError as err:
        raise ConfigurationError(f"{where}: {err}") from None


def load_config(path: Path | None = None) -> GatewaySettings:
    """The config at ``path`` (default: the state folder's gateway.toml; defaults if absent)."""
    return load_optional(path, default_path(), "gateway", parse_config, GatewaySettings)


def render(config: GatewaySettings = DEFAULTS, header: str = "") -> str:
    """``config`` as a gateway.toml that :func:`parse_config` reads back to the same values."""
    c, ln = config, toml_line
    return "\n".join([
        f"{header}[gateway]",
        ln("listen", f"{c.listen_host}:{c.listen_port}", "where it serves (HTTP and WebSocket)"),
        ln("public_url", c.public_url, "the URL browsers use (default: http://LISTEN)"),
        ln("origins", list(c.origins), "origins CORS allows (the web app's)"),
        ln("db", c.db, "the index (default: the indexer's)"),
        ln("redis", c.redis, "redis://HOST:PORT shared by replicas (default: in memory)"),
        ln("ipfs", c.ipfs, "Kubo RPC URL for uploads (default: the running node)"),
        ln("key_file", c.key_file, "the session key (default: the state folder's)"),
        ln("web_dir", c.web_dir, "the web app's built files, served at / (default: the checkout's web/dist)"),
        "",
        "[limits]",
        ln("per_ip", c.limits.per_ip, "requests a minute from one IP"),
        ln("per_address", c.limits.per_address, "requests a minute for one signed-in address"),
        ln("sign_in_per_ip", c.limits.sign_in_per_ip, "challenges and logins a minute from one IP"),
        ln("streams_per_address", c.limits.streams_per_address, "log and metrics WebSockets per address"),
    ]) + "\n"
