"""Where gpurent keeps its state: one folder, ``$GPURENT_HOME`` or ``~/.gpurent``."""

from __future__ import annotations

import os
from pathlib import Path


def state_home() -> Path:
    """The project state folder (deployments, node data, logs); created on first use."""
    home = Path(os.environ.get("GPURENT_HOME") or Path.home() / ".gpurent").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home
