"""JSON from anyone, bounded before it is parsed: Python's parser recurses once a nesting level
(a 100,000-deep list raises RecursionError, or overflows the C stack where the recursion limit
was raised), and reads any size it is given."""

from __future__ import annotations

import json
import re
from typing import Any

# what opens or closes a JSON level outside strings (a string is matched whole, and skipped)
_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JSONTooLarge(ValueError):
    """Raised when a JSON text is over its size or nesting bound (nothing of it was parsed)."""


def json_depth(data: bytes | str) -> int:
    """How deep ``data``'s JSON nests, in one linear pass without parsing it."""
    raw = data.encode() if isinstance(data, str) else data
    depth = deepest = 0
    for match in _NESTING.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def bounded_loads(data: bytes | str, *, max_bytes: int, max_depth: int) -> Any:
    """``json.loads(data)``, refused first (JSONTooLarge) when ``data`` is over ``max_bytes`` or
    nests deeper than ``max_depth``; json.JSONDecodeError (a ValueError) when it is not JSON."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise JSONTooLarge(f"{len(raw):,} bytes, over the limit of {max_bytes:,}")
    if json_depth(raw) > max_depth:
        raise JSONTooLarge(f"nests deeper than {max_depth} levels")
    return json.loads(raw)
