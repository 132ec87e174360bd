"""`gpurent engine`: a podman service serving the Docker Engine API."""

from __future__ import annotations

import click

from gpurent.local import engine as engine_mod
from gpurent.command import App
from gpurent.cli.common import pass_app


@click.group("engine")
def group() -> None:
    """Run podman's Docker-compatible API service for images and containers."""


@group.command("up")
@pass_app
def up(app: App) -> None:
    """Starts `podman system service` (socket under the state folder)."""
    service = engine_mod.start()
    app.output.info(f"[green]✓[/] container engine at {service.docker_host}")
    app.output.data(_status())


@group.command("down")
@pass_app
def down(app: App) -> None:
    """Stops the service (images and containers stay with podman)."""
    stopped = engine_mod.stop()
    app.output.info("engine stopped" if stopped else "no engine service was running")
    app.output.data({"running": False})


def _status() -> dict[str, object]:
    try:
        client = engine_mod.engine_client(timeout_s=10)
    except Exception as err:  # noqa: BLE001 - reported as the status
        return {"running": False, "reason": str(err)}
    version = client.version()
    service = engine_mod.running_service()
    return {"running": True, "docker_host": engine_mod.docker_host(), "managed": service is not None,
            "engine": version.get("Components", [{}])[0].get("Name", "engine"), "version": version.get("Version"),
            "api_version": version.get("ApiVersion"), "images": len(client.images.list())}


@group.command("status")
@pass_app
def status(app: App) -> None:
    """Where the engine is and whether it answers."""
    app.output.data(_status())
