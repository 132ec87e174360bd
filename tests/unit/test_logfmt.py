"""gpurent.logfmt: a daemon's JSON log lines (one object a line, labels, errors) and the
``--log-format`` option every daemon's command line takes."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import click
import pytest
from click.testing import CliRunner

from gpurent.logfmt import MAX_LABEL, MAX_MESSAGE, JsonFormatter, error_line, labels


def record(message: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("gpurent.oracle", logging.WARNING, __file__, 10, message, args,
                            (type(exc), exc, exc.__traceback__) if exc else None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def line(rec: logging.LogRecord) -> dict:
    text = JsonFormatter().format(rec)
    assert "\n" not in text and "\r" not in text and text.isascii() and text.isprintable()
    return json.loads(text)


def test_a_line_has_time_level_logger_message_and_the_labels():
    job = "0x" + "ab" * 32
    entry = line(record("job %s: settled", job, **labels(job=job, block=1234, provider="0x" + "cd" * 20)))
    assert entry["level"] == "warning" and entry["logger"] == "gpurent.oracle"
    assert entry["message"] == f"job {job}: settled"
    assert entry["job"] == job and entry["block"] == 1234 and entry["provider"] == "0x" + "cd" * 20
    assert entry["time"].endswith("Z") and datetime.fromisoformat(entry["time"]).utcoffset().total_seconds() == 0
    assert "error" not in entry


def test_no_label_when_the_record_has_none():
    assert set(line(record("GraphQL at %s", "http://127.0.0.1:1/graphql"))) == {"time", "level", "logger", "message"}
    assert labels(job=None, block=0) == {"block": 0}  # block 0 is a block


def test_untrusted_text_stays_inside_the_string():
    """A provider's answer with newlines, a forged JSON line, terminal escapes and markup."""
    hostile = 'ok\n{"level": "info", "message": "forged"}\r\x1b[2J\x07[red]x[/red]<script>\u2028\u202e\x00'
    entry = line(record("oracle %s refused a heartbeat: %s", "http://p", hostile, provider=hostile))
    assert entry["message"] == f"oracle http://p refused a heartbeat: {hostile}"  # every character kept, escaped
    assert entry["provider"] == hostile
    assert entry["level"] == "warning"  # the forged field never became one


def test_exceptions_go_in_one_error_field():
    try:
        raise ValueError("node answered junk\nsecond line\x1b[31m")
    except ValueError as err:
        entry = line(record("round failed", exc=err))
    assert entry["error"].startswith("ValueError: node answered junk (at test_logfmt.py:")
    assert "second line" not in entry["error"]
    assert error_line(RuntimeError()) == "RuntimeError"


def test_sizes_are_bounded():
    entry = line(record("%s", "x" * (MAX_MESSAGE * 3), job="j" * 10_000))
    assert len(entry["message"]) < MAX_MESSAGE + 50 and entry["message"].endswith(f"({MAX_MESSAGE * 2} more characters)")
    assert len(entry["job"]) < MAX_LABEL + 50
    assert line(record("x", job=b"\x01\x02"))["job"] == "0x0102"


def test_the_option_sets_the_format_of_a_fresh_process(tmp_path):
    """``--log-format`` on a daemon's command: the lines a process logs, in a subprocess (the
    test runner's own logging stays untouched in this one)."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "daemon.py"
    script.write_text(textwrap.dedent("""
        import logging, click
        from gpurent.command import log_format_option
        from gpurent.logfmt import labels

        @click.command()
        @log_format_option()
        def run():
            logging.getLogger("gpurent.indexer").info("%d event(s) applied, up to block 2", 3, extra=labels(block=2))
            logging.getLogger("gpurent.indexer").debug("not shown")

        run()
    """))
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    json_run = subprocess.run([sys.executable, str(script), "--log-format", "json"], capture_output=True, text=True,
                              env=env, timeout=60)
    assert json_run.returncode == 0, json_run.stderr
    [entry] = [json.loads(text) for text in json_run.stderr.splitlines()]
    assert entry["block"] == 2 and entry["message"] == "3 event(s) applied, up to block 2"
    text_run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert text_run.stderr.strip().endswith("INFO gpurent.indexer: 3 event(s) applied, up to block 2")
    env_run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                             env={**env, "GPURENT_LOG_FORMAT": "json"})
    assert json.loads(env_run.stderr)["block"] == 2


def test_the_option_refuses_another_format():
    from gpurent.command import log_format_option

    @click.command()
    @log_format_option()
    def run() -> None:
        pass

    result = CliRunner().invoke(run, ["--log-format", "xml"])
    assert result.exit_code == 2 and "'xml' is not one of 'text', 'json'" in result.output


@pytest.mark.parametrize("command", [("gpurent.agent.cli", "run"), ("gpurent.oracle.cli", "run"),
                                     ("gpurent.indexer.cli", "run"), ("gpurent.gateway.cli", "run")])
def test_every_daemon_takes_it(command):
    import importlib

    group = importlib.import_module(command[0]).main
    options = {opt for param in group.commands[command[1]].params for opt in getattr(param, "opts", [])}
    assert "--log-format" in options


def test_configure_leaves_a_configured_root_alone():
    """Under a test runner (or a program embedding a daemon), the root logger is its own."""
    from gpurent.logfmt import configure

    root = logging.getLogger()
    mine = logging.StreamHandler(io.StringIO())
    before = list(root.handlers)
    root.addHandler(mine)
    try:
        assert configure("json") is False
        assert root.handlers == [*before, mine]
    finally:
        root.removeHandler(mine)
