"""Hostile input at the CLI, against a real Anvil: strings anyone can put on chain are printed as
text (no Rich markup read, no terminal escape sequence passed on), and hostile values of every
option type end in one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gpurent.cli.root import make_root
from gpurent.manifest import manifest_path
from tests.cli.test_cli import CID, PROVIDER, RENTER, assert_one_line_error, cli, listed_gpu  # noqa: F401 - fixtures

BIN = Path(sys.executable).parent
# what must never reach a terminal from a value: ESC, C1 controls (0x80-0x9F), DEL, bidi overrides
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1m\u202eevil\u202c"  # a title, a clear screen, colours, bidi
MARKUP = "[/x] A100 [bold]"


def assert_shown_as_text(result) -> None:
    """No traceback, no unsafe character anywhere in what the command wrote."""
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and "MarkupError" not in stream, stream
        assert not UNSAFE.search(stream), repr(stream)


# ------------------------------------------------------------------ chain strings on the terminal


def test_gpu_model_markup_prints_as_text(cli, suite, cast, monkeypatch):
    """`[/x] A100` is printable ASCII, allowed on chain: every command that shows it prints it as
    it reads (it made gpus list / show and provider info crash with a Rich MarkupError)."""
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that no table cuts the model
    cli("--account", PROVIDER, "provider", "register", "--endpoint", "http://127.0.0.1:8765")
    tx = suite.registry.registerResource(MARKUP, 16, 64, 500, 10**19, sender=cast.provider)
    gpu_id = "0x" + bytes(tx.events.filter(suite.registry.ResourceRegistered)[0].resourceId).hex()
    for args in (("gpus", "list"), ("gpus", "show", gpu_id), ("provider", "info", cast.provider.address),
                 ("gpus", "list", "--model", "[/x]")):
        result = cli(*args)
        assert_shown_as_text(result)
        assert "[/x] A100 [bold]" in result.stdout, (args, result.stdout)
    assert cli("--json", "gpus", "show", gpu_id)["model"] == MARKUP


def test_escape_sequences_from_the_chain_never_reach_the_terminal(cli, listed_gpu, suite, cast):
    """A dispute reason is any string up to 1 KiB on chain; `jobs show` prints it to anyone."""
    job = cli("--json", "--account", RENTER, "jobs", "create", "--gpu", listed_gpu, "--image", CID, "--hours", "1",
              "--yes")
    suite.marketplace.acceptJob(job["id"], sender=cast.provider)
    suite.marketplace.startJob(job["id"], sender=cast.provider)
    cli("--account", RENTER, "jobs", "dispute", job["id"], "--reason", f"slow{ESCAPES}\nforged: line [/x]")
    result = cli("jobs", "show", job["id"])
    assert_shown_as_text(result)
    assert "slow" in result.stdout and "evil" in result.stdout and "[/x]" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("forged")]  # no line of its own
    shown = cli("--json", "jobs", "show", job["id"])  # JSON keeps the value, every control escaped
    assert "pwned" in shown["dispute"] and ESCAPES in shown["dispute"]


# ------------------------------------------------------------------ hostile values, one line each


@pytest.mark.parametrize("args, text", [
    (("jobs", "create", "--gpu", "0x11", "--image", CID, "--hours", "1e400"), "too large for a number of hours"),
    (("jobs", "create", "--gpu", "0x11", "--image", CID, "--hours", "1e999999"), "at most 2,160 h"),
    (("jobs", "create", "--gpu", "0x11", "--image", CID, "--hours", "0"), "must be above 0"),
    (("jobs", "create", "--gpu", "0x11", "--image", CID, "--hours", "NaN"), "is not a number of hours"),
    (("jobs", "create", "--gpu", "0x11", "--image", CID, "--hours", "٣"), "is not a number of hours"),
    (("wallet", "faucet", "--amount", "1e80"), "too large for a token amount"),
    (("wallet", "faucet", "--amount", "1.0000000000000000001"), "more than 18 decimals"),
    (("gpus", "list", "--min-memory", "1" + "0" * 40), "--min-memory"),
    (("--account", "\x1b]0;pwned\x07", "wallet", "balance"), "is not an account alias"),
    (("jobs", "create"), "Missing option '--gpu'"),
    (("jobs", "nope"), "No such command 'nope'"),
])
def test_usage_errors_are_one_line(cli, args, text):
    result = cli(*args, code=2)
    assert_one_line_error(result, text)
    assert_shown_as_text(result)


@pytest.mark.parametrize("account, text", [("999", "no test account 999: this network has 10 (0 to 9)"),
                                           ("²", "unknown account '²'")])
def test_unknown_accounts_are_one_line(cli, account, text):
    result = cli("--account", account, "wallet", "balance", code=1)
    assert_one_line_error(result, text)


@pytest.mark.parametrize("content, text", [
    ("{not json", "not JSON of a manifest"),
    ("[]", "not a JSON object but list"),
    ('"x" ' * 3, "not JSON of a manifest"),
    pytest.param("[" * 100_000, "JSON nested deeper than 8", id="100000-deep"),  # segfaulted the CLI on main
    (None, "unknown field(s) 'extra'"),  # an extended manifest: the session's, plus a field
    ({"chain_id": "31337"}, "chain_id must be a whole number"),
    ({"contracts": {"GPUToken": "0x1"}}, "lacks ResourceRegistry"),
    ({"contracts": []}, "contracts must be an object"),
    ({"deployer": 7}, "deployer must be an address"),
    ({"chain_id": 1}, "it is the manifest of chain 1, not 31337"),
    ({"block": True}, "block must be a whole number"),
])
def test_corrupt_or_extended_manifests_are_one_line(cli, chain, content, text):
    path = manifest_path(chain.chain_id)
    data = json.loads(path.read_text())
    if content is None:
        path.write_text(json.dumps({**data, "extra": 1}))
    elif isinstance(content, dict):
        path.write_text(json.dumps({**data, **content}))
    else:
        path.write_text(content)
    result = cli("gpus", "show", "0x" + "11" * 32, code=1)
    assert_one_line_error(result, text)
    assert str(path) in result.stderr  # the line names the file


# ------------------------------------------------------------------ the class: every option type

HOSTILE = ["1e400", "1e999999", "-1", "1" + "0" * 100, "NaN", "²", "\x1b[2J", ""]


def _walk(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name))
        else:
            yield (*path, name), command


def _checked(param: click.Parameter) -> bool:
    """Parameters whose type checks the value before the command runs (free text reaches the
    command and the SDK, which check it there; flags take no value)."""
    if getattr(param, "is_flag", False):
        return False
    kinds = param.type.types if isinstance(param.type, click.Tuple) else [param.type]
    free = (click.types.StringParamType, click.types.BoolParamType, click.Path, click.File)
    return not any(isinstance(k, free) for k in kinds)


def _cases():
    for path, command in _walk(make_root()):
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        for param in command.params:
            if not _checked(param):
                continue
            for value in HOSTILE:
                values = [value] * (param.nargs if param.nargs > 0 else 1)
                if isinstance(param, click.Option):
                    yield path, [*path, param.opts[0], *values], param
                else:  # the arguments before it get plain values; it gets the hostile one
                    before = arguments[:arguments.index(param)]
                    yield path, [*path, "--", *["0x" + "11" * 20 for _ in before], *values], param


CASES = list(_cases())


def test_every_checked_option_refuses_hostile_values_in_one_line(cli, tmp_path):
    """Every command, every option and argument whose type is checked at parse time, every
    hostile value: exit code 2 and one line that names the parameter, never a traceback (and
    nothing runs: the value is refused before the command body)."""
    assert len({c[0] for c in CASES}) >= 15 and len(CASES) >= 150  # the walk covers the CLI
    runner = click.testing.CliRunner(mix_stderr=False)
    root = make_root()
    failures = []
    with runner.isolated_filesystem(temp_dir=tmp_path):  # should a value get through, it lands here
        results = [(argv, param, runner.invoke(root, argv)) for _, argv, param in CASES]
    for argv, param, result in results:
        lines = result.stderr.strip().splitlines()
        named = f"'{param.opts[0]}'" if isinstance(param, click.Option) else "Invalid value for '"
        ok = (result.exit_code == 2 and len(lines) == 1 and not UNSAFE.search(result.stderr)
              and "Traceback" not in result.stderr and named in lines[0])
        if not ok:
            failures.append((argv, result.exit_code, result.stderr[-300:], repr(result.exception)))
    assert not failures, f"{len(failures)} of {len(CASES)}: {failures[:5]}"


def test_the_installed_command_prints_one_line_too(tmp_path):
    """The real `gpurent` process (no chain needed: these are refused while parsing)."""
    for args, text in ((("jobs", "create", "--gpu", "0x11", "--image", CID, "--hours", "1e400"), "--hours"),
                       (("wallet", "faucet", "--amount", "1e80"), "too large for a token amount"),
                       (("--account", "x" * 100, "wallet", "balance"), "is not an account alias"),
                       (("gpus", "list", "--sort", "\x1b]0;t\x07"), "--sort")):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPURENT_")}
        done = subprocess.run([str(BIN / "gpurent"), *args], capture_output=True, text=True, timeout=120,
                              env={**env, "GPURENT_HOME": str(tmp_path)})
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and text in lines[0], (args, done.stderr)
        assert not UNSAFE.search(done.stderr) and done.stdout == ""
