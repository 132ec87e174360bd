"""`gpurent up --monitoring`'s Prometheus (Debian's binary, loopback, its data in the state
folder) scraping the four services: every target up, then (with the rules' windows shortened)
the block-production stall alert firing once the chain stops making blocks."""

from __future__ import annotations

import re
import shutil
import time

import pytest
import requests

from gpurent.local.monitoring import LocalPrometheus, target_health
from tests.ops.promql import OPS

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="prometheus missing: `make setup` installs it (tools/install-prometheus.sh)")


def shortened(rules: str) -> str:
    """The rules with every window and hold in seconds rather than minutes (5m -> 5s)."""
    return re.sub(r"\b(\d+)([mh])\b", lambda m: f"{int(m.group(1)) * (60 if m.group(2) == 'h' else 1)}s", rules)


def wait(what: str, check, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    return value


def test_prometheus_scrapes_every_target_and_the_stall_fires(stack, chain, tmp_path, monkeypatch):
    urls, _, oracle, _ = stack
    monkeypatch.setenv("GPURENT_HOME", str(tmp_path / "home"))
    rules = tmp_path / "alerts.yml"
    rules.write_text(shortened((OPS / "alerts.yml").read_text()))
    targets = {name: [url.split("://", 1)[1]] for name, url in urls.items()}
    prometheus = LocalPrometheus(targets, port=0, scrape_interval_s=1, evaluation_interval_s=1, rules=rules)
    record = prometheus.start()
    try:
        url = str(record["url"])
        assert url.startswith("http://127.0.0.1:")
        assert (tmp_path / "home" / "prometheus" / "data").is_dir()  # its data in the state folder
        health = wait("every target up", lambda: (h := target_health(url))["targets_up"] == 4 and h)
        assert health["targets"] == 4 and health["targets_down"] == []
        assert prometheus.status()["targets_up"] == 4  # what `gpurent status` shows
        def stalled() -> bool:
            alerts = requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
            return any(a["labels"]["alertname"] == "BlockProductionStalled" and a["state"] == "firing" for a in alerts)

        # the session chain mines on demand only (the oracle's transactions would mine some: it
        # stops first): a block a second for longer than the 5 s window (the alert quiet), then
        # none (the alert fires)
        oracle.stop()
        for _ in range(8):
            chain.mine()
            time.sleep(1.0)
        assert not stalled()
        wait("the stall alert firing", stalled, timeout_s=45)
    finally:
        assert prometheus.stop()
