"""An ASGI app on uvicorn, on a thread of its own or in the foreground: the indexer's GraphQL
API and the gateway both run this way."""

from __future__ import annotations

import threading
import time
from typing import Any

from gpurent.errors import ServiceUnavailable


class AsgiServer:
    def __init__(self, app: Any, host: str, port: int, name: str, path: str = "", **options: Any):
        import uvicorn

        # log_config None: uvicorn's few lines (warnings up) go through the process's logging
        # (gpurent.logfmt: text or JSON), not a handler of uvicorn's own
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None,
                                ws="websockets-sansio", lifespan="off", **options)
        self.server = uvicorn.Server(config)
        self.name = name
        self.url = f"http://{host}:{port}{path}"
        self._thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout_s: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServiceUnavailable(f"the {self.name} did not start on {self.url} (is the port taken?)")
            time.sleep(0.05)

    def run(self) -> None:
        """In the foreground, until SIGTERM or SIGINT."""
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
