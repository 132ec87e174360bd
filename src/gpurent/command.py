"""What every gpurent command line shares (``gpurent`` and the daemons' ``gpurent-provider``,
``gpurent-oracle``, ``gpurent-indexer``): the application object handed to each subcommand,
the global options, the one abort path, and the root group of a daemon's command.

Neutral on purpose: the daemons' CLIs import this, never the ``gpurent.cli`` package above them.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gpurent.output import Output, safe_text, stdout_for_data_only
from gpurent.errors import GpurentError

if TYPE_CHECKING:
    from gpurent.networks import Network
    from gpurent.sdk import Gpurent
    from gpurent.sdk.reader import GpurentReader

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """What every subcommand receives (``ctx.obj``): options, output, a lazily connected SDK."""

    def __init__(self, network: str | None, account: str | None, as_json: bool, verbose: bool):
        self.network = network
        self.account = account
        self.output = Output(as_json=as_json, verbose=verbose)
        self._sdk: Gpurent | None = None
        self._restore_stdout: Callable[[], None] = lambda: None

    def network_choice(self) -> str:
        if (named := self.named_network()) is not None:
            return named.rpc
        if self.network:
            return self.network
        if env := os.environ.get("GPURENT_NETWORK"):
            return env
        from gpurent.local.devnet import running_devnet

        devnet = running_devnet()
        return devnet.network_choice if devnet else "ethereum:local:foundry"

    def named_network(self) -> Network | None:
        """The named network (``gpurent network``) chosen by --network, else the one in use."""
        from gpurent.networks import selected

        return selected(self.network)

    def quiet_ape(self) -> None:
        """Ape's logs at ERROR (DEBUG with -v): called before Ape first runs, not at start, so
        that a command reading over JSON-RPC never imports Ape."""
        from ape.logging import logger

        logger.set_level("DEBUG" if self.output.verbose else "ERROR")
        from gpurent.logfmt import adopt_ape

        adopt_ape()  # with --log-format json, Ape's lines are JSON too
        interruptible()  # importing Ape took Ctrl-C: give it back

    def sdk(self, *, needs_account: bool = False) -> Gpurent:
        """The SDK, connected on first use; with ``needs_account`` an account must be known."""
        if self._sdk is None:
            from gpurent.sdk import Gpurent

            self.quiet_ape()

            with self.output.pending("Connecting…"):
                named = self.named_network()
                self._sdk = Gpurent.connect(network=self.network_choice(), account=self.account,
                                            manifest=named.manifest if named else None)
            self._sdk.quiet_traces = True
            # Ape prints a revert's call trace to the stdout its trace module saw at import
            # (``show(file=sys.stdout)``): imported now, that is fd 1, which then goes to stderr
            import ape_ethereum.trace  # noqa: F401

            self._restore_stdout = stdout_for_data_only()
            interruptible()
        if needs_account and self._sdk.account is None:
            raise click.UsageError("this command signs a transaction: pass --account ALIAS (or a test-account index)")
        return self._sdk

    def override(self, name: str, value: Any) -> None:
        """A global option given after the subcommand (``gpurent gpus list --json``): it wins
        over the root's value (and its environment variable), as the last one given does."""
        if name == "network":
            self.network = value
        elif name == "account":
            self.account = value
        elif name == "as_json":
            self.output.as_json = True
        elif name == "verbose":
            self.output.verbose = True
            if "ape.logging" in sys.modules:
                self.quiet_ape()

    def reader(self) -> GpurentReader:
        """The SDK for a command that only reads. Over plain JSON-RPC (Ape never imported: a
        fraction of a second instead of seconds) when the network is a node's URL (a running
        devnet's, or ``--network http…``) and no --account is given; else, or with
        ``GPURENT_READS=ape``, the Ape-backed SDK (same methods, same answers)."""
        if self._sdk is None and self.account is None and os.environ.get("GPURENT_READS", "rpc") != "ape":
            url = self.network_choice()
            if url.startswith(("http://", "https://")):
                from gpurent.sdk.readonly import ReadOnlyGpurent

                with self.output.pending("Connecting…"):
                    named = self.named_network()
                    self._sdk = ReadOnlyGpurent.connect_url(url, manifest=named.manifest if named else None)
        return self.sdk()

    def close(self) -> None:
        if self._sdk is not None:
            self._sdk.close()
        self._restore_stdout()


pass_app = click.make_pass_decorator(App)


class GpurentGroup(click.Group):
    """Turns every gpurent error into one line on stderr and exit code 1 (traceback with -v),
    and every usage error into one line and exit code 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            done = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as err:  # Click's own show() prints usage, a hint and the error: 3 lines
            click.echo(usage_error_line(err), err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(done if isinstance(done, int) else 0)  # an int here is an Exit's code (--help, --version)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            accept_global_options(command)
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GpurentError as err:
            self._abort(ctx, err, type(err).__name__)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as err:  # an ape/web3 failure we did not translate: still one line
            ape = sys.modules.get("ape.exceptions")  # none without Ape imported (a read over JSON-RPC)
            if not isinstance(err, (ConnectionError, OSError, *((ape.ApeException,) if ape else ()))):
                raise
            self._abort(ctx, err, type(err).__name__)

    @staticmethod
    def _abort(ctx: click.Context, err: BaseException, kind: str) -> None:
        app = ctx.find_object(App)
        if app is not None and app.output.verbose:
            if app._sdk is not None and app._sdk.last_trace_output:
                sys.stderr.write(app._sdk.last_trace_output)
            traceback.print_exc()
        click.echo(one_line_error(err, kind), err=True)
        sys.exit(1)


def one_line_error(err: BaseException, kind: str | None = None) -> str:
    """``Error (Kind): first line of the message``: how every gpurent program reports a failure.
    The message often quotes the chain or a provider (a GPU model, an endpoint, an answer): it
    is printed as safe text (see :func:`gpurent.output.safe_text`)."""
    kind = kind or type(err).__name__
    message = str(err).strip().splitlines()[0] if str(err).strip() else kind
    return f"Error ({safe_text(kind)}): {safe_text(message)}"


def usage_error_line(err: click.ClickException) -> str:
    """A Click usage error in one line: ``Error (BadParameter): Invalid value for '--hours': …
    (see `gpurent jobs create -h`)``."""
    line = one_line_error(Exception(err.format_message()), type(err).__name__)
    ctx = getattr(err, "ctx", None)
    if isinstance(err, click.UsageError) and ctx is not None and ctx.command.get_help_option(ctx) is not None:
        line += f" (see `{safe_text(ctx.command_path)} -h`)"
    return line


class AccountRef(click.ParamType):
    """``--account``: an Ape account alias, a test-account index (ASCII digits) or an address;
    printable text of at most ``MAX_LENGTH`` characters (which account it names is the SDK's
    to say: an unknown alias or an index past the test accounts is one line there)."""

    name = "account"
    MAX_LENGTH = 64

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value)
        if not text or len(text) > self.MAX_LENGTH or not text.isprintable() or text != text.strip():
            # quoted by repr: each unprintable character shows as its escape (\x1b), none is sent
            self.fail(f"{text[:self.MAX_LENGTH]!r} is not an account alias, test-account index or "
                      f"address (printable, 1 to {self.MAX_LENGTH} characters)", param, ctx)
        return text


ACCOUNT = AccountRef()


# The global options: (declarations, keyword arguments) of each; the root takes them with their
# environment variables, every subcommand (at any depth) takes them too (see accept_global_options)
GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--network",), {"help": "Ape network choice (default: the running devnet)"}),
    (("--account",), {"type": ACCOUNT, "help": "Ape account alias, or a test-account index"}),
    (("--json", "as_json"), {"is_flag": True, "help": "Machine-readable output"}),
    (("-v", "--verbose"), {"is_flag": True, "help": "Debug logs and tracebacks"}),
)
ENVIRONMENT = {"--network": "GPURENT_NETWORK", "--account": "GPURENT_ACCOUNT"}  # the root's fallbacks


def global_options(command: Any) -> Any:
    """--network, --account, --json and -v: every gpurent command line takes them."""
    for declarations, settings in reversed(GLOBAL_OPTIONS):
        command = click.option(*declarations, envvar=ENVIRONMENT.get(declarations[0]), **settings)(command)
    return command


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value not in (None, False):
        app = ctx.find_object(App)
        if app is not None:
            app.override(str(param.name), value)


def accept_global_options(command: click.Command) -> None:
    """Lets ``command`` and everything under it take the global options after their own name
    (``gpurent gpus list --json``, ``gpurent jobs --account 5 list``), as gh and kubectl do. Each
    copy is eager (read before the command's own arguments, which may need the network) and
    hands its value to the App. A command's own option of the same name keeps it (`images
    push --network` is the image's flag). Done once per command, when it is first resolved."""
    if getattr(command, "_global_options", False):
        return
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for declarations, settings in GLOBAL_OPTIONS:
        option = click.Option(declarations, expose_value=False, is_eager=True, callback=_override, **settings)
        if not taken & set(option.opts):
            command.params.append(option)
    command._global_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)


def interruptible() -> None:
    """Gives Ctrl-C back to Python: importing ape installs a SIGINT handler that exits 130 at
    once, silently, so no command could say what it stopped. Called after ape is imported (in
    the main thread only: signal handlers cannot be set elsewhere)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def start_app(ctx: click.Context, network: str | None, account: str | None, as_json: bool, verbose: bool) -> App:
    """The App for this invocation (Ape's logs quiet unless -v), closed when the command ends."""
    app = App(network, account, as_json, verbose)
    if "ape.logging" in sys.modules:  # else when Ape is first used (App.quiet_ape): a read may never import it
        app.quiet_ape()
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


def write_starter(app: App, path: Path, text: str, force: bool) -> None:
    """``<daemon> init``: writes a starter config at ``path`` unless one exists (or ``force``)."""
    if path.exists() and not force:
        raise click.UsageError(f"{path} exists (pass --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    app.output.done(f"wrote {path}")


def config_option(name: str) -> Callable[[F], F]:
    """``--config PATH``: the daemon's config file (default: ``name`` in the state folder)."""
    return click.option("--config", "config_path", type=click.Path(path_type=Path),
                        help=f"{name} (default: state folder)")


def log_format_option() -> Callable[[F], F]:
    """``--log-format text|json`` (or ``GPURENT_LOG_FORMAT``): a daemon's log lines as text or
    as JSON (:mod:`gpurent.logfmt`), set as soon as the option is read."""
    from gpurent.logfmt import FORMATS

    def configure(ctx: click.Context, param: click.Parameter, value: str) -> None:
        from gpurent.logfmt import configure

        configure(value)

    return click.option("--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
                        envvar="GPURENT_LOG_FORMAT", expose_value=False, is_eager=True, callback=configure,
                        help="Log lines as text, or as JSON objects (time, level, logger, message, job, block, "
                             "provider, error)")


def max_failures_option(default: int | None) -> Callable[[F], F]:
    """``--max-failures N``: a daemon halts (exit 1, one line) after N failed rounds in a row."""
    return click.option("--max-failures", type=click.IntRange(1), default=default, show_default=default is not None,
                        help="Halt after this many failed rounds in a row"
                             + (" (default: the config's max_failures)" if default is None else ""))


def daemon_views(url: str, what: str, command: str, *paths: str) -> list[Any]:
    """The JSON the running daemon at ``url`` serves at each of ``paths``; ServiceUnavailable
    (start it with ``command run``) if none answers."""
    import requests

    from gpurent.errors import ServiceUnavailable

    try:
        return [requests.get(f"{url}/{path}", timeout=5).json() for path in paths]
    except requests.RequestException as err:
        raise ServiceUnavailable(f"no {what} answers at {url}: start it with `{command} run`") from err


def daemon_script(what: str, account_help: str, config_name: str, run: Callable[..., None]) -> click.Command:
    """The ``ape run <daemon>`` script of a daemon that signs (the provider agent, the oracle):
    ``--account``, ``--config``, ``--max-failures``; ``run(gp, config_path=…, max_failures=…)``
    runs it in the foreground."""
    from ape.cli import ConnectedProviderCommand

    @click.command(cls=ConnectedProviderCommand, short_help=f"Run the gpurent {what}")
    @click.option("--account", "account_ref", type=ACCOUNT, required=True, help=account_help)
    @config_option(config_name)
    @max_failures_option(None)
    @log_format_option()
    def cli(ecosystem: Any, network: Any, provider: Any, account_ref: str, config_path: Path | None,
            max_failures: int | None) -> None:
        from gpurent.sdk import Gpurent, resolve_account

        run(Gpurent.connect(account=resolve_account(account_ref)), config_path=config_path, max_failures=max_failures)

    return cli


def run_command(group: click.Group, config_name: str, help_text: str, load: Callable[[Path | None], Any],
                start: Callable[..., None]) -> None:
    """Adds ``run`` to a signing daemon's ``group``: loads its config (a bad one fails before any
    connection), then ``start(gp, config, max_failures=…)`` runs it in the foreground."""
    @group.command("run", help=help_text)
    @config_option(config_name)
    @max_failures_option(None)
    @log_format_option()
    @pass_app
    def run(app: App, config_path: Path | None, max_failures: int | None) -> None:
        config = load(config_path)
        start(app.sdk(needs_account=True), config, max_failures=max_failures)
