"""What `gpurent devnet | ipfs | engine | indexer` share: start a service of the local stack and
show its status, stop it, print its status (one status per service: the one `gpurent status`
shows too, see :mod:`gpurent.local.service`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gpurent.cli.common import pass_app
from gpurent.command import App
from gpurent.local.service import Service


def start_and_show(app: App, service: Service, starting: str, started: Callable[[Any], str]) -> None:
    """Starts ``service`` (saying ``starting`` meanwhile, ``started(what runs)`` after) and prints its status."""
    with app.output.pending(starting):
        running = service.start()
    app.output.done(f"{started(running)}")
    app.output.data(service.status())


def down_and_status(group: click.Group, make: Callable[[], Service], what: str, down_help: str,
                    status_help: str, title: str | None = None) -> None:
    """Adds ``down`` (stops the service; ``{"running": false}``) and ``status`` to ``group``."""
    @group.command("down", help=down_help)
    @pass_app
    def down(app: App) -> None:
        stopped = make().stop()
        app.output.info(f"{what} stopped" if stopped else f"no {what} was running")
        app.output.data({"running": False})

    @group.command("status", help=status_help)
    @pass_app
    def status(app: App) -> None:
        app.output.data(make().status(), title=title)
