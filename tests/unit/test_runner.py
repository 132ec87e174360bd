"""The daemon runner the agent, the oracle and the indexer share: failed rounds are retried, too
many in a row halt the daemon with one line and exit code 1, SIGTERM halts it in order."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gpurent.errors import ServiceUnavailable
from gpurent.runner import TooManyFailures, backoff, run_rounds

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("test")


def steps(*outcomes: BaseException | None):
    """A step that raises (or not) each of ``outcomes`` in turn, then succeeds."""
    pending = list(outcomes)
    calls = []

    def step() -> None:
        calls.append(1)
        outcome = pending.pop(0) if pending else None
        if outcome is not None:
            raise outcome

    return step, calls


def test_failures_in_a_row_halt_and_a_success_resets_the_count():
    stopping = threading.Event()
    err = ServiceUnavailable("node down")
    step, calls = steps(err, err, None, err, err, RuntimeError("engine gone"))
    with pytest.raises(TooManyFailures) as raised:
        run_rounds(step, stopping, 0, log, "bot", max_failures=3)
    assert len(calls) == 6  # the success at the third round started the count again
    assert str(raised.value) == "the bot halts: 3 rounds failed in a row (last: RuntimeError: engine gone)"


def test_the_wait_after_failed_rounds_doubles_up_to_a_cap_and_a_success_resets_it():
    class Clock(threading.Event):
        """Records each wait instead of sleeping."""

        def __init__(self) -> None:
            super().__init__()
            self.waits: list[float] = []

        def wait(self, timeout: float | None = None) -> bool:
            self.waits.append(float(timeout or 0))
            return self.is_set()

    err = ServiceUnavailable("node down")
    stopping = Clock()
    outcomes = [err] * 7 + [None, err]

    def step() -> None:
        if not outcomes:
            stopping.set()
            return
        if (outcome := outcomes.pop(0)) is not None:
            raise outcome

    run_rounds(step, stopping, 0.5, log, "bot", max_failures=8, backoff_max_s=10)
    # 7 failures: 0.5, 1, 2, 4, 8, then the cap; the success waits the plain interval again
    assert stopping.waits == [0.5, 1, 2, 4, 8, 10, 10, 0.5, 0.5, 0.5]
    assert backoff(0.5, 10) == 30 and backoff(0, 5) == 0 and backoff(2, 0) == 2


def test_a_fatal_error_ends_the_loop_at_once_and_stop_ends_it_in_order():
    class Fatal(Exception):
        pass

    step, calls = steps(Fatal("reorg too deep"))
    with pytest.raises(Fatal):
        run_rounds(step, threading.Event(), 0, log, "bot", max_failures=3, fatal=(Fatal,))
    assert len(calls) == 1
    stopping = threading.Event()
    step, calls = steps()
    thread = threading.Thread(target=run_rounds, args=(step, stopping, 0.01, log, "bot"))
    thread.start()
    time.sleep(0.1)
    stopping.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and calls


def test_labels_tag_each_failed_round(caplog):
    step, _ = steps(ServiceUnavailable("node down"))
    stopping = threading.Event()
    with caplog.at_level(logging.WARNING, logger="test"):
        thread = threading.Thread(target=run_rounds, args=(step, stopping, 0.01, log, "indexer"),
                                  kwargs={"block": lambda: 42})
        thread.start()
        time.sleep(0.1)
        stopping.set()
        thread.join(timeout=5)
    assert "indexer round failed (1 of 10 in a row) [block 42]: node down" in caplog.text
    assert caplog.records[0].block == 42  # the record's label too (a JSON log line's "block")


DAEMON = """
import logging, sys, threading
from gpurent.errors import ServiceUnavailable
from gpurent.runner import run_daemon, run_rounds

class Daemon:
    def __init__(self, fail):
        self.fail, self.stopping = fail, threading.Event()

    def step(self):
        if self.fail:
            raise ServiceUnavailable("the node does not answer")
        print("round", flush=True)

    def run(self):
        try:
            run_rounds(self.step, self.stopping, 0.02, logging.getLogger("gpurent.test"), "test daemon",
                       max_failures=4)
        finally:
            print("shut down in order", flush=True)

    def stop(self):
        self.stopping.set()

run_daemon(Daemon(sys.argv[1] == "fail"), logging.getLogger("gpurent.test"), "nothing is lost")
"""


def daemon(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "daemon.py"
    script.write_text(textwrap.dedent(DAEMON))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_a_daemon_whose_rounds_keep_failing_exits_1_with_one_line(tmp_path):
    process = daemon(tmp_path, "fail")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    lines = err.strip().splitlines()
    assert lines[-1] == ("Error (TooManyFailures): the test daemon halts: 4 rounds failed in a row "
                         "(last: ServiceUnavailable: the node does not answer)")
    assert len([line for line in lines if "round failed" in line]) == 3 and "Traceback" not in err
    assert out.strip().splitlines() == ["shut down in order"]


def test_sigterm_halts_a_daemon_in_order(tmp_path):
    process = daemon(tmp_path, "work")
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "round"  # it runs
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.strip().splitlines()[-1] == "shut down in order"
    assert "signal 15: stopping (nothing is lost)" in err and "Traceback" not in err
