"""The root `gpurent` group: the global options, and every command group registered by name."""

from __future__ import annotations

import click

from gpurent.cli import (admin, data, devnet, engine, gateway, gpus, images, indexer, ipfs, jobs, network, provider,
                         stack, wallet)
from gpurent.command import GpurentGroup, global_options, start_app


def make_root() -> click.Group:
    @click.group(cls=GpurentGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @global_options
    @click.version_option(package_name="gpurent")
    @click.pass_context
    def gpurent(ctx: click.Context, network: str | None, account: str | None, as_json: bool, verbose: bool) -> None:
        """Rent GPUs and provide them, on chain, by the second."""
        start_app(ctx, network, account, as_json, verbose)

    for module in (gpus, jobs, images, wallet, provider, admin, devnet, ipfs, engine, indexer, gateway, network):
        gpurent.add_command(module.group)
    gpurent.add_command(data.group)
    gpurent.add_command(data.keys)
    for command in (stack.up, stack.down, stack.status, stack.demo):
        gpurent.add_command(command)
    return gpurent
