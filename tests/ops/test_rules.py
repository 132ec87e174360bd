"""ops/: the alert rules checked and unit-tested by promtool (Debian's prometheus package,
installed by `make setup`), and Prometheus' config as the stack renders it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gpurent.local.monitoring import default_targets, render
from tests.ops.promql import OPS, metric_names, rules

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: `make setup` installs it "
                                    "(tools/install-prometheus.sh)")


def promtool(*args: str, cwd: Path = OPS) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@needs_promtool
def test_promtool_check_rules():
    assert "SUCCESS: 15 rules found" in promtool("check", "rules", "alerts.yml")


@needs_promtool
def test_promtool_test_rules():
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


@needs_promtool
def test_promtool_check_config_rendered_with_the_stacks_ports(tmp_path):
    """The config `gpurent up` would write (other ports, the rules by absolute path) is valid."""
    targets = {"gateway": ["127.0.0.1:41001"], "indexer": ["127.0.0.1:41002"], "oracle": ["127.0.0.1:41003"],
               "provider": ["127.0.0.1:41004", "127.0.0.1:41005"], "chain": ["127.0.0.1:41006"]}  # chain: geth
    config = tmp_path / "prometheus.yml"
    config.write_text(render(targets, [str(OPS / "alerts.yml")], scrape_interval_s=1, evaluation_interval_s=0.5))
    out = promtool("check", "config", str(config), cwd=tmp_path)
    assert "is valid prometheus config file syntax" in out and "SUCCESS: 15 rules found" in out


@needs_promtool
def test_promtool_check_config_checked_in():
    promtool("check", "config", "prometheus.yml")


def test_checked_in_config_is_the_rendered_default():
    assert (OPS / "prometheus.yml").read_text() == render(default_targets())


def test_every_alert_is_unit_tested():
    tested = (OPS / "alerts_test.yml").read_text()
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert alerts and all(f"alertname: {name}" in tested for name in alerts)
    # the architecture's rules, by name
    assert {"ServiceDown", "BlockProductionStalled", "HighHttpErrorRate", "HighHttpLatency", "IpfsPeersLow",
            "DatabaseConnectionsHigh", "NoJobsCreated"} <= alerts


def test_rules_read_gpurent_metrics():
    names = metric_names()
    assert "gpurent_gateway_http_requests_total" in names and "gpurent_chain_head_block" in names
    assert not any(":" in name for name in names)
