"""JSON from anyone, bounded before it is parsed: Python's parser recurses once a nesting level
(a 100,000-deep list raises RecursionError, or overflows the C stack where the recursion limit
was raised), and reads any size it is given. The one home of bounded JSON parsing: the GraphQL
API's request bodies, deployment manifests and what a provider serves the oracle and the SDK."""

from __future__ import annotations

import json
import re
from typing import Any

DEPTH_MAX = 32  # nesting of a provider's JSON; deeper is refused before parsing (a parser's stack)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class JSONTooLarge(ValueError):
    """Raised when a JSON text is over its size or nesting bound (nothing of it was parsed)."""


def json_depth(data: bytes | str) -> int:
    """How deep ``data``'s JSON arrays and objects nest (strings skipped), without parsing it:
    a parser recursing into 100,000 brackets could exhaust the reader's stack."""
    raw = data.encode() if isinstance(data, str) else data
    depth = deepest = 0
    for byte in _STRINGS.sub(b"", raw).translate(None, delete=_NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def loads_bounded(data: bytes | str, max_depth: int = DEPTH_MAX, *, max_bytes: int | None = None,
                  **options: Any) -> Any:
    """``json.loads(data, **options)``, refused first (JSONTooLarge) when ``data`` is over
    ``max_bytes`` (if given) or nests deeper than ``max_depth``; ValueError (json.JSONDecodeError)
    when it is not JSON."""
    raw = data.encode() if isinstance(data, str) else data
    if max_bytes is not None and len(raw) > max_bytes:
        raise JSONTooLarge(f"{len(raw):,} bytes, over the limit of {max_bytes:,}")
    if json_depth(raw) > max_depth:
        raise JSONTooLarge(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(raw, **options)
    except RecursionError:
        raise JSONTooLarge("JSON nested too deep") from None
