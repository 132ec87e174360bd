"""The gateway's one error: an HTTP status, a one-line message, and headers (Retry-After,
WWW-Authenticate); answered as ``{"error": message}``."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
