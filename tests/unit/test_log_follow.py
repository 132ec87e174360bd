"""A followed log has no poll timer between the container's output and the renter: the agent
reads the engine's attach stream (``attach_payloads`` parses its frames), and ``LogStore.wait``
wakes a follower on append, reset and seal, and only then."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpurent.agent.endpoint import LogStore
from gpurent.agent.runtime import attach_payloads

JOB = "0x" + "ab" * 32
LONG_S = 30.0  # far past any scheduling delay: a wait that lasts this long was not woken


def _later(action, delay_s: float = 0.05) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay_s), action()))
    thread.start()
    return thread


def test_a_write_wakes_a_waiting_reader_at_once(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    logs.reset(JOB)
    for write in (lambda: logs.append(JOB, b"line\n"), lambda: logs.seal(JOB, iter([b"whole\n"])),
                  lambda: logs.reset(JOB)):
        seen = logs.writes(JOB)
        writer = _later(write)
        started = time.monotonic()
        now = logs.wait(JOB, seen, LONG_S)
        writer.join()
        assert now != seen
        assert time.monotonic() - started < LONG_S / 2


def test_without_a_write_the_wait_ends_at_its_timeout(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    logs.append(JOB, b"x")
    other = "0x" + "cd" * 32
    seen = logs.writes(JOB)
    writer = _later(lambda: logs.append(other, b"another job's output\n"))
    started = time.monotonic()
    assert logs.wait(JOB, seen, 0.5) == seen  # another job's write does not count as this one's
    writer.join()
    assert time.monotonic() - started >= 0.45


def test_a_write_before_the_wait_is_not_missed(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    seen = logs.writes(JOB)
    logs.append(JOB, b"written between the read and the wait\n")
    started = time.monotonic()
    assert logs.wait(JOB, seen, LONG_S) != seen
    assert time.monotonic() - started < LONG_S / 2


def _frames(*parts: tuple[int, bytes]) -> bytes:
    return b"".join(bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data for stream, data in parts)


@given(st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=300)), max_size=12),
       st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_attach_frames_give_the_output_in_order_however_they_are_cut(parts, cuts) -> None:
    data = _frames(*parts)
    pieces, at = [], 0
    while at < len(data):
        size = cuts[len(pieces) % len(cuts)]
        pieces.append(data[at:at + size])
        at += size
    reads = iter(pieces)
    out = list(attach_payloads(lambda: next(reads, b"")))
    assert b"".join(out) == b"".join(chunk for _, chunk in parts)
    assert all(out)  # no empty chunk passed on


def test_an_attach_stream_out_of_step_is_refused() -> None:
    reads = iter([b"\x01\x00\x00\x00\x00\x00\x00\x02hi", b"garbage!more"])
    with pytest.raises(ValueError, match="out of step"):
        list(attach_payloads(lambda: next(reads, b"")))


def test_an_attached_log_outlives_an_engine_record_read_before_its_last_line(tmp_path: Path) -> None:
    """The flake of `jobs logs -f` under load: the engine's record, read at once after the exit,
    lacked the job's last line; sealing with it dropped a line every reader had been sent."""
    store = LogStore(tmp_path)
    for line in (b"line 1\n", b"line 2\n"):
        store.append("0xjob", line)
    assert not store.seal("0xjob", iter([b"line 1\n"]), exact=True)  # attached: every write, once
    assert store.read("0xjob") == b"line 1\nline 2\n"
    assert store.seal("0xjob", iter([b"line 1\nline 2\nline 3\n"]), exact=True)  # a longer record still wins
    assert store.read("0xjob") == b"line 1\nline 2\nline 3\n"

    followed = LogStore(tmp_path / "followed")  # podman's follow stream repeats lines: its record corrects it
    for line in (b"line 1\n", b"line 2\n", b"line 2\n"):
        followed.append("0xjob", line)
    assert followed.seal("0xjob", iter([b"line 1\nline 2\n"]))
    assert followed.read("0xjob") == b"line 1\nline 2\n"
    # attached or not, a shorter record that begins otherwise is the engine's log started over
    assert not store.seal("0xjob", iter([b"other\n"]), exact=True) and store.read("0xjob").endswith(LogStore.GAP)
