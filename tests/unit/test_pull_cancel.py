"""A transfer for a job stops when the job ended on chain meanwhile (the renter cancelled while
its image or inputs came in): the progress asks the chain every few seconds of transfer."""

from __future__ import annotations

import pytest

from gpurent.agent.agent import JobGone, _PullProgress


class Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []

    def progress(self, job_id: str, done: int, total: int | None) -> None:
        self.calls.append((job_id, done, total))


def test_a_transfer_stops_once_the_job_is_no_longer_wanted() -> None:
    answers = iter([True, True, False])
    asked: list[int] = []

    def wanted() -> bool:
        asked.append(1)
        return next(answers)

    progress = _PullProgress(Recorded(), "0xjob", wanted, check_s=0.0)  # type: ignore[arg-type]
    progress.begin("download", 10)
    progress.advance(1)
    progress.advance(1)
    with pytest.raises(JobGone, match="ended on chain while its data came in"):
        progress.advance(1)
    assert len(asked) == 3


def test_the_chain_is_asked_at_most_every_check_interval() -> None:
    asked: list[int] = []
    progress = _PullProgress(Recorded(), "0xjob", lambda: asked.append(1) is None, check_s=3600.0)  # type: ignore[arg-type]
    for _ in range(1000):
        progress.advance(1)
    assert asked == []  # a long interval: no chain read per block
    assert _PullProgress(Recorded(), "0xjob").wanted is None  # type: ignore[arg-type]
