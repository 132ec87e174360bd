"""The gateway as a running service: its session key, its store, uvicorn on a thread or in
the foreground."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpurent.asgi import AsgiServer
from gpurent.errors import ConfigurationError, ServiceUnavailable
from gpurent.gateway.auth import Authenticator
from gpurent.gateway.config import GatewaySettings, gateway_home
from gpurent.gateway.uploads import Uploads
from gpurent.gateway.store import MemoryStore, RedisStore, Store
from gpurent.gateway.web import WebApp

log = logging.getLogger("gpurent.gateway")

KEY_BYTES = 32


def session_key(path: Path | None = None) -> bytes:
    """The key that signs session tokens: read from ``path`` (default: the state folder), made
    there (0600) the first time. Replicas behind one domain share one file."""
    path = path or gateway_home() / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise ConfigurationError(f"{path} holds {len(key)} bytes: a session key is {KEY_BYTES} or more")
    return key


def make_store(redis_url: str | None) -> Store:
    if not redis_url:
        return MemoryStore()
    store = RedisStore(redis_url)
    try:
        store.ping()
    except Exception as err:  # redis' ConnectionError and its kin
        raise ServiceUnavailable(f"Redis at {redis_url} does not answer: {err}") from None
    return store


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    public_url: str  # what browsers call it (the sign-in message's URI and domain)

    @property
    def domain(self) -> str:
        return self.public_url.split("://", 1)[1].split("/", 1)[0]


def authenticator(store: Store, key: bytes, listen: Listen, chain_id: int) -> Authenticator:
    return Authenticator(store, key, domain=listen.domain, uri=listen.public_url, chain_id=chain_id)


class GatewayServer(AsgiServer):
    """uvicorn serving the gateway's ``app``: ``start`` on a thread (tests, ``gpurent up``) or
    ``run`` in the foreground."""

    def __init__(self, app: Any, host: str, port: int):
        # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any local client as
        # the client's address, the key of every per-IP limit. permessage-deflate off: a stream's
        # chunk goes to every subscriber, and deflate would compress it once per subscriber, each
        # with a compressor of its own held for the connection's life (bench/gateway.py: most of
        # the fan-out's CPU, and its memory)
        super().__init__(app, host, port, "gateway", server_header=False, timeout_keep_alive=15,
                         limit_concurrency=2048, h11_max_incomplete_event_size=64 * 1024, proxy_headers=False,
                         ws_max_size=64 * 1024, ws_per_message_deflate=False)


def build_gateway(gp: Any, settings: GatewaySettings) -> GatewayServer:
    """A gateway over the index (``settings.db``, default: the indexer's) for ``gp``'s
    deployment, ready to run; image uploads go to the Kubo node at ``settings.ipfs`` (default:
    the configured or running one; none running: the gateway takes no uploads and says so);
    the web app's files (``settings.web_path()``), if any, at ``/``."""
    from gpurent.gateway.app import GatewayConfig, make_app
    from gpurent.indexer.db import connect, migrate

    s = settings
    engine = connect(s.db or None)
    migrate(engine)
    store = make_store(s.redis or None)
    listen = Listen(s.listen_host, s.listen_port, s.url)
    auth = authenticator(store, session_key(Path(s.key_file) if s.key_file else None), listen, gp.manifest.chain_id)
    web_dir = s.web_path()
    config = GatewayConfig(engine=engine, manifest=gp.manifest, store=store, origins=s.origins, auth=auth, gp=gp,
                           uploads=_uploads(s.ipfs or None), limits=s.limits, rpc_url=gp.rpc_url,
                           web=WebApp(web_dir) if web_dir else None)
    return GatewayServer(make_app(config), s.listen_host, s.listen_port)


def _uploads(ipfs_api: str | None) -> Uploads | None:
    from gpurent.images.kubo import KuboClient
    from gpurent.images.store import ImageStore
    from gpurent.local.ipfs import ipfs_client

    try:
        client = KuboClient(ipfs_api) if ipfs_api else ipfs_client()
    except ServiceUnavailable as err:
        log.warning("no image uploads: %s", err)
        return None
    return Uploads(ImageStore(client))
