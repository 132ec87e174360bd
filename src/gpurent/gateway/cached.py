"""The gateway's side of "image already cached here": providers' endpoints from the index, for
:class:`gpurent.sdk.images_here.ImageProbe`, which asks their agents."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from gpurent.indexer import schema as s


def index_endpoints(engine: Engine) -> Callable[[list[str]], dict[str, str]]:
    """Providers' endpoints (lower-case address -> endpoint) from the index."""

    def endpoints(addresses: list[str]) -> dict[str, str]:
        p = s.providers.c
        with engine.connect() as db:
            rows = db.execute(select(p.address, p.endpoint).where(p.address.in_(addresses))).all()
        return {str(address).lower(): str(endpoint) for address, endpoint in rows if endpoint}

    return endpoints
