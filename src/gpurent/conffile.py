"""What the daemons' TOML config files share: reading one, writing one value, a listen address."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

from gpurent.errors import ConfigurationError


def read_toml(path: Path) -> dict[str, Any]:
    """The document at ``path``; ConfigurationError naming the file if it is not TOML."""
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigurationError(f"{path} is not valid TOML: {err}") from err


def load_optional(path: Path | None, default_path: Path, what: str, parse: Callable[[dict[str, Any], str], T],
                  default: Callable[[], T]) -> T:
    """The config at ``path`` (default: ``default_path``) read by ``parse``; ``default()`` when
    the default file is absent, but a file named explicitly must exist ("no WHAT config at …")."""
    chosen = path or default_path
    if not chosen.exists():
        if path is not None:
            raise ConfigurationError(f"no {what} config at {chosen}")
        return default()
    return parse(read_toml(chosen), str(chosen))


def toml_value(value: object) -> str:
    """One TOML value: strings quoted, whole floats as integers, lists of these."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def toml_line(key: str, value: object, comment: str = "", *, raw: bool = False) -> str:
    """``key = value``, its comment (if any) aligned at column 40; ``raw``: value already TOML."""
    text = f"{key} = {value if raw else toml_value(value)}"
    return f"{text:<38} # {comment}" if comment else text


def parse_listen(value: object, where: str) -> tuple[str, int]:
    """``HOST:PORT`` as (host, port); ConfigurationError naming ``where`` otherwise."""
    host, _, port = str(value).rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"{where} must be HOST:PORT, got {str(value)!r}")
    return host, int(port)


def failure_limit(value: object, where: str) -> int:
    """``max_failures``: a whole number of failed rounds, at least 1; ConfigurationError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{where} must be a whole number of rounds, at least 1, got {value!r}")
    return value
