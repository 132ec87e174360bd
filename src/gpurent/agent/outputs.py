"""A job's output folder on the host: made empty before the container, measured while it runs.

The folder is bind-mounted ``rw,noexec,nosuid,nodev`` at the definition's output path. Each of
the agent's watch ticks (``poll_interval``, 1 s by default) measures it with :func:`usage` (a
walk that never follows a link, and stops counting once past the bound it is given): past
``output_max_mb`` plus ``output_slack_mb`` the container is stopped, so the disk a job can fill
is the cap, plus the slack, plus what it writes in one tick. Packing (results.pack_outputs)
keeps files up to the cap and lists the rest as dropped.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

MAX_ENTRIES = 200_000  # a folder with more entries than this counts as over its bound (a file flood)


@dataclass(frozen=True)
class Usage:
    bytes: int
    entries: int
    over: bool  # past the bound asked about (bytes or entries)


def usage(root: Path, bound: int) -> Usage:
    """Bytes on disk (the larger of a file's size and its allocated blocks) and entries under
    ``root``, walked without following links; the walk stops once past ``bound`` bytes or
    MAX_ENTRIES entries."""
    total = entries = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as items:
                for item in items:
                    entries += 1
                    try:
                        info = item.stat(follow_symlinks=False)
                    except OSError:
                        continue  # gone meanwhile
                    total += max(info.st_size, info.st_blocks * 512)
                    if item.is_dir(follow_symlinks=False):
                        stack.append(Path(item.path))
                    if total > bound or entries > MAX_ENTRIES:
                        return Usage(total, entries, True)
        except OSError:
            continue
    return Usage(total, entries, False)


def output_dir(home: Path, job_id: str) -> Path:
    """The job's output folder (``<agent home>/outputs/<job id>``)."""
    return home / "outputs" / job_id


def fresh_output_dir(home: Path, job_id: str) -> Path:
    """An empty output folder for the job, world-writable so the container's user can write
    (the container runs without capabilities as whatever user its image names)."""
    path = output_dir(home, job_id)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.chmod(path, 0o777)
    return path


def remove_output_dir(home: Path, job_id: str) -> None:
    shutil.rmtree(output_dir(home, job_id), ignore_errors=True)
