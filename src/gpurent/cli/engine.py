"""`gpurent engine`: a podman service serving the Docker Engine API."""

from __future__ import annotations

import click

from gpurent.cli.common import pass_app
from gpurent.cli.service import down_and_status, start_and_show
from gpurent.command import App
from gpurent.local import engine as engine_mod


@click.group("engine")
def group() -> None:
    """Run podman's Docker-compatible API service for images and containers."""


@group.command("up")
@pass_app
def up(app: App) -> None:
    """Starts `podman system service` (socket under the state folder)."""
    start_and_show(app, engine_mod.Engine(), "Starting podman's API service…",
                   lambda service: f"container engine at {service.docker_host}")


down_and_status(group, engine_mod.Engine, "engine service",
                "Stops the service (images and containers stay with podman).",
                "Where the engine is and whether it answers.")
