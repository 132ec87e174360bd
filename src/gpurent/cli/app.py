"""The CLI's context under its first name: the application object and the abort path live in
:mod:`gpurent.command` (shared with the daemons' commands), the root group in
:mod:`gpurent.cli.root`. Kept so that ``from gpurent.cli.app import App, make_root`` still works."""

from __future__ import annotations

from gpurent.cli.root import make_root
from gpurent.command import App, GpurentGroup, global_options, service_group, start_app

__all__ = ["App", "GpurentGroup", "global_options", "make_root", "service_group", "start_app"]
