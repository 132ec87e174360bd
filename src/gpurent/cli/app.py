"""The root `gpurent` group: global options, the application object, the one abort path."""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

import click

from gpurent.cli.output import Output
from gpurent.errors import GpurentError

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent


class App:
    """What every subcommand receives (``ctx.obj``): options, output, a lazily connected SDK."""

    def __init__(self, network: str | None, account: str | None, as_json: bool, verbose: bool):
        self.network = network
        self.account = account
        self.output = Output(as_json=as_json, verbose=verbose)
        self._sdk: Gpurent | None = None

    def network_choice(self) -> str:
        if self.network:
            return self.network
        if env := os.environ.get("GPURENT_NETWORK"):
            return env
        from gpurent.local.devnet import running_devnet

        devnet = running_devnet()
        return devnet.network_choice if devnet else "ethereum:local:foundry"


    def sdk(self, *, needs_account: bool = False) -> Gpurent:
        """The SDK, connected on first use; with ``needs_account`` an account must be known."""
        if self._sdk is None:
            from gpurent.sdk import Gpurent

            with self.output.pending("Connecting…"):
                self._sdk = Gpurent.connect(network=self.network_choice(), account=self.account)
            self._sdk.quiet_traces = True
        if needs_account and self._sdk.account is None:
            raise click.UsageError("this command signs a transaction: pass --account ALIAS (or a test-account index)")
        return self._sdk

    def close(self) -> None:
        if self._sdk is not None:
            self._sdk.close()


class GpurentGroup(click.Group):
    """Turns every gpurent error into one line on stderr and exit code 1 (traceback with -v)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GpurentError as err:
            self._abort(ctx, err, type(err).__name__)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as err:  # an ape/web3 failure we did not translate: still one line
            from ape.exceptions import ApeException

            if not isinstance(err, (ApeException, ConnectionError, OSError)):
                raise
            self._abort(ctx, err, type(err).__name__)

    @staticmethod
    def _abort(ctx: click.Context, err: BaseException, kind: str) -> None:
        app = ctx.find_object(App)
        if app is not None and app.output.verbose:
            if app._sdk is not None and app._sdk.last_trace_output:
                sys.stderr.write(app._sdk.last_trace_output)
            traceback.print_exc()
        message = str(err).strip().splitlines()[0] if str(err).strip() else kind
        click.echo(f"Error ({kind}): {message}", err=True)
        sys.exit(1)


def global_options(command: Any) -> Any:
    """--network, --account, --json and -v: every gpurent command line takes them."""
    for option in reversed((
        click.option("--network", envvar="GPURENT_NETWORK", help="Ape network choice (default: the running devnet)"),
        click.option("--account", envvar="GPURENT_ACCOUNT", help="Ape account alias, or a test-account index"),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output"),
        click.option("-v", "--verbose", is_flag=True, help="Debug logs and tracebacks"),
    )):
        command = option(command)
    return command


def start_app(ctx: click.Context, network: str | None, account: str | None, as_json: bool, verbose: bool) -> App:
    """The App for this invocation (Ape's logs quiet unless -v), closed when the command ends."""
    from ape.logging import logger

    logger.set_level("DEBUG" if verbose else "ERROR")
    app = App(network, account, as_json, verbose)
    ctx.obj = app
    ctx.call_on_close(app.close)
    return app


def service_group(help_text: str) -> click.Group:
    """The root group of a daemon's command (gpurent-provider, -oracle, -indexer): the same
    global options and one-line errors as `gpurent`."""
    @click.group(cls=GpurentGroup, help=help_text, context_settings={"help_option_names": ["-h", "--help"]})
    @global_options
    @click.pass_context
    def main(ctx: click.Context, network: str | None, account: str | None, as_json: bool, verbose: bool) -> None:
        start_app(ctx, network, account, as_json, verbose)

    return main


def make_root() -> click.Group:
    @click.group(cls=GpurentGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @global_options
    @click.version_option(package_name="gpurent")
    @click.pass_context
    def gpurent(ctx: click.Context, network: str | None, account: str | None, as_json: bool, verbose: bool) -> None:
        """Rent GPUs and provide them, on chain, by the second."""
        start_app(ctx, network, account, as_json, verbose)

    from gpurent.cli import admin, devnet, engine, gpus, images, indexer, ipfs, jobs, provider, stack, wallet

    for module in (gpus, jobs, images, wallet, provider, admin, devnet, ipfs, engine, indexer):
        gpurent.add_command(module.group)
    for command in (stack.up, stack.down, stack.status, stack.demo):
        gpurent.add_command(command)
    return gpurent
