"""A real daemon with ``--log-format json``: `gpurent-indexer run` (the lightest to start, over
plain JSON-RPC) indexes busy_chain's story with its GraphQL API on; every line it writes is a
JSON object, the lines about blocks carry the block, and SIGTERM's line is JSON too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import requests

from gpurent.local.process import free_port
from tests.indexer.test_indexer import BIN, _save_manifest, busy_chain


def test_the_indexer_logs_json_lines_with_block_labels(suite, cast, chain, tmp_path):
    busy_chain(suite, cast, chain)
    home = tmp_path / "home"
    home.mkdir()
    _save_manifest(home, suite, cast, chain)
    port = free_port()
    log_path = tmp_path / "indexer.log"
    args = [str(BIN / "gpurent-indexer"), "run", "--rpc", chain.provider.http_uri, "--db",
            f"sqlite:///{tmp_path / 'index.db'}", "--graphql", f"127.0.0.1:{port}", "--poll", "0.1",
            "--log-format", "json"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, env={**os.environ, "GPURENT_HOME": str(home)}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while "event(s) applied, up to block" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
        # a refused request: what a client sent is quoted in the log, inside the JSON string
        requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": '{ nope\n"level": "forged" }'}, timeout=10)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    lines = log_path.read_text().splitlines()
    entries = [json.loads(text) for text in lines]  # every line: one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries), lines
    start = next(e for e in entries if e["message"].startswith("indexing chain"))
    assert start["block"] == 0 and start["logger"] == "gpurent.indexer"
    applied = [e for e in entries if "event(s) applied, up to block" in e["message"]]
    assert applied and all(isinstance(e["block"], int) and e["block"] > 0 for e in applied)
    assert all(e["level"] == "info" for e in entries), lines  # no failed round, and no forged level
    assert any(e["logger"] == "gpurent.indexer.api" and "refused a GraphQL" in e["message"] for e in entries)
    assert any(e["message"].startswith("signal 15: stopping") for e in entries)
