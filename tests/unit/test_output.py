"""The CLI's tables on narrow terminals: ids are folded, never cut, and no column disappears."""

from __future__ import annotations

import io
import re

from rich.console import Console

from gpurent.output import Output

JOB = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc000000000000000000000001"
GPU = "0x90f79bf6eb2c4f870365e785982e1f101e93b906000000000000000000000001"
CID = "bafybeidvd5udrufiq6cjhs3uup6p7gc7vhjueirywdkrfcfdtppndsvtvq"


def render(value: object, width: int, **kwargs: object) -> str:
    output = Output()
    output.out = Console(file=io.StringIO(), width=width, soft_wrap=True)
    output.data(value, **kwargs)
    return output.out.file.getvalue()  # type: ignore[attr-defined]


def column_text(text: str, index: int) -> str:
    """Column ``index`` of a Rich table's body, its lines joined."""
    cells = [re.split(r"[│┃]", line)[index + 1].strip() for line in text.splitlines() if line.startswith("│")]
    return "".join(cells)


def test_ids_fold_instead_of_vanishing_and_every_column_keeps_its_header():
    rows = [{"id": JOB, "status": "Completed", "gpu": GPU, "image": CID, "hours": 1, "max_cost": "3.6", "cost": "0.006"}]
    for width in (80, 120):
        text = render(rows, width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert column_text(text, 0) == JOB and column_text(text, 2) == GPU and column_text(text, 3) == CID
        for header in ("status", "hours", "max cost", "cost"):
            assert header in text
        assert column_text(text, 1) == "Completed"


def test_nested_records_print_as_sections_not_python_reprs():
    text = render({"provider": {"address": "0xabc", "stake": "100"}, "gpus": [{"id": GPU, "model": "A100"}],
                   "jobs": 2}, 160)
    assert "{" not in text and "'" not in text
    assert text.index("jobs") < text.index("Provider") < text.index("Gpus")
    assert re.search(r"^stake +100$", text, re.M) and GPU in text


def test_the_demo_prints_a_providers_words_as_text():
    """`gpurent demo` quotes the provider's timeline (a phase's detail): markup reads as it is
    (it raised MarkupError), escape sequences never reach the terminal."""
    from gpurent.demo import Demo, Reporter

    console = Console(file=io.StringIO(), width=200, force_terminal=True)
    demo = Demo.__new__(Demo)
    demo.steps = []
    Reporter(console, demo).step("provider", "pulling: [/x] A100 \x1b]0;pwned\x07\x1b[2J done")
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "pulling: [/x] A100  done" in text and "pwned" not in text and "\x1b[2J" not in text


def test_the_demos_tables_and_the_jobs_output_panel_print_chain_and_provider_strings_as_text():
    """The demo's GPU table (a chain's model), timeline table (a provider's detail) and the job's
    output: markup read as it is, escape sequences taken out, the output's lines kept."""
    from rich.panel import Panel
    from rich.text import Text

    from gpurent.demo import _timeline_table
    from gpurent.output import safe_lines

    console = Console(file=io.StringIO(), width=200, force_terminal=True)
    console.print(_timeline_table([{"t_s": 1.0, "event": "[/x] pulled", "source": "provider agent",
                                    "detail": "[bold]x\x1b]0;pwned\x07\x1b[2J"}]))
    console.print(Panel(Text(safe_lines("line one [/x]\n\tline two\x1b[2J\x1b]0;t\x07\r\nend"))))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[/x] pulled" in text and "[bold]x" in text and "pwned" not in text and "\x1b[2J" not in text
    assert "line one [/x]" in text and "line two" in text and "end" in text


def test_a_log_stream_reaches_a_terminal_without_its_escape_sequences():
    """`gpurent jobs logs` on a terminal: a provider's (or an image's) escape sequences, split
    across chunks or not, and invalid UTF-8 never reach it; lines, tabs and UTF-8 split across
    chunks do."""
    from gpurent.output import TerminalStream

    stream = TerminalStream()
    chunks = [b"epoch 1\tloss 0.5\n\x1b]0;owned\x07\x1b[2", b"Jclear\xe2\x82", b"\xac\n\xff", b"done\r\n"]
    shown = "".join(stream.feed(chunk) for chunk in chunks) + stream.feed(b"", final=True)
    assert "\x1b" not in shown and "\x07" not in shown and "owned" not in shown
    assert shown.startswith("epoch 1\tloss 0.5\n") and "€\n" in shown and shown.endswith("done\r\n")
