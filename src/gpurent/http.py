"""Small HTTP helpers shared by the clients of gpurent's services (provider endpoints, IPFS
Cluster): one message for a service that does not answer, one way to read an error body."""

from __future__ import annotations

from typing import Any

import requests

from gpurent.errors import ServiceUnavailable


def call(method: str, url: str, unavailable: str, **kwargs: Any) -> requests.Response:
    """``requests.request``; ServiceUnavailable(``unavailable``) when nothing answers."""
    try:
        return requests.request(method, url, **kwargs)
    except requests.RequestException as err:
        raise ServiceUnavailable(unavailable) from err


def error_text(response: requests.Response, key: str) -> str:
    """The ``key`` field of a JSON error body, else the body itself (trimmed)."""
    try:
        body = response.json()
        message = body.get(key, response.text) if isinstance(body, dict) else response.text
    except ValueError:
        message = response.text
    return str(message).strip()[:300] or f"HTTP {response.status_code}"
