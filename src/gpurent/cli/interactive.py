"""`gpurent jobs port-forward`, `exec` and `shell`: reach a running job through its provider's agent."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

import click

from gpurent.cli.common import JOB_ID, pass_app
from gpurent.command import App
from gpurent.errors import GpurentError, InvalidInput
from gpurent.types import JobStatus

if TYPE_CHECKING:
    from gpurent.sdk.access import JobAccess

WATCH_S = 3.0  # how often port-forward asks the chain whether the job still runs


def _access(app: App, job_id: str) -> tuple[Any, Any, JobAccess]:
    """The SDK, the job (the caller's, running) and the way into it."""
    from gpurent.sdk.access import JobAccess
    from gpurent.sdk.provider import ProviderEndpoint

    gp = app.sdk(needs_account=True)
    job = gp.job(job_id)
    if gp.account is None or job.user.lower() != gp.account.address.lower():
        raise InvalidInput(f"job {job_id[:10]}… is not yours: only its renter reaches its ports and shell")
    if job.status != JobStatus.RUNNING:
        raise InvalidInput(f"job {job_id[:10]}… is {job.status.label}: its ports and shell are open only while it runs")
    return gp, job, JobAccess(ProviderEndpoint.for_job(gp, job), job_id)


def _ports(text: str) -> tuple[int, int]:
    remote, _, local = text.partition(":")
    if not remote.isdigit() or (local and not local.isdigit()):
        raise click.BadParameter(f"{text[:40]!r} is not PORT or PORT:LOCAL", param_hint="PORTS")
    pair = int(remote), int(local) if local else int(remote)
    if not 1 <= pair[0] <= 65535 or not 0 <= pair[1] <= 65535:
        raise click.BadParameter("ports run from 1 to 65535 (LOCAL 0: any free port)", param_hint="PORTS")
    return pair


def register(group: click.Group) -> None:
    group.add_command(port_forward)
    group.add_command(exec_command)
    group.add_command(shell)


@click.command("port-forward")
@click.argument("job_id", type=JOB_ID)
@click.argument("ports")
@click.option("--address", default="127.0.0.1", show_default=True, help="The local address to listen on")
@pass_app
def port_forward(app: App, job_id: str, ports: str, address: str) -> None:
    """Forwards a local port to the job's PORT (PORT or PORT:LOCAL), like kubectl port-forward:
    each local connection is a tunnel through the provider's agent, yours alone. Ends with the
    job, or Ctrl-C."""
    from gpurent.relay import Relay
    from gpurent.sdk.access import JobEnded

    remote, local = _ports(ports)
    gp, job, access = _access(app, job_id)
    access.token()  # refused now (not yours, not running, an old agent) rather than at the first connection
    listener = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((address, local))
    except OSError as err:
        listener.close()
        raise InvalidInput(f"cannot listen on {address}:{local} ({err.strerror}): pick another with {remote}:LOCAL") from None
    listener.listen(64)
    bound = listener.getsockname()[1]
    ended = threading.Event()
    why: list[str] = []

    def stop(reason: str) -> None:
        if not ended.is_set():
            why.append(reason)
            ended.set()
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(client: socket.socket) -> None:
        try:
            upstream, first = access.tunnel(remote)
        except JobEnded as err:
            client.close()
            stop(str(err))
            return
        except GpurentError as err:
            client.close()
            app.output.warn(f"a connection to port {remote} failed: {err}")
            return
        Relay(client, upstream, idle_s=3600.0, pending_b=first).run()

    def watch() -> None:
        while not ended.wait(WATCH_S):
            try:
                status = gp.job(job_id).status
            except GpurentError:
                continue
            if status != JobStatus.RUNNING:
                stop(f"the job is {status.label}: its ports are closed")

    threading.Thread(target=watch, daemon=True).start()
    app.output.info(f"Forwarding {address}:{bound} -> job {job_id[:10]}… port {remote} (Ctrl-C to stop)")
    try:
        while not ended.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                break
            threading.Thread(target=serve, args=(client,), daemon=True).start()
    except KeyboardInterrupt:
        stop("stopped")
    finally:
        listener.close()
    if why and why[0] != "stopped":
        raise GpurentError(f"port-forward ended: {why[0]}")


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("job_id", type=JOB_ID)
@click.argument("command", nargs=-1, required=True, type=str)
@click.option("-i", "--interactive", is_flag=True, help="Send this terminal's stdin to the command")
@click.option("-t", "--tty", is_flag=True, help="Give the command a terminal (for interactive programs)")
@pass_app
def exec_command(app: App, job_id: str, command: tuple[str, ...], interactive: bool, tty: bool) -> None:
    """Runs COMMAND in the job's running container (gpurent jobs exec JOB -- ls -la /scratch), as
    the container's user with its limits; exits with the command's exit code. Recorded in the
    job's timeline."""
    _, _, access = _access(app, job_id)
    sys.exit(_session(access, list(command), tty, interactive or tty))


@click.command("shell")
@click.argument("job_id", type=JOB_ID)
@click.option("--cmd", "command", default="/bin/sh", show_default=True, help="The shell to run")
@pass_app
def shell(app: App, job_id: str, command: str) -> None:
    """An interactive terminal in the job's running container (resize and Ctrl-C pass through;
    exit leaves with the shell's exit code). Recorded in the job's timeline."""
    import shlex

    _, _, access = _access(app, job_id)
    sys.exit(_session(access, shlex.split(command), tty=True, interactive=True))


def _terminal_size() -> tuple[int, int]:
    size = os.get_terminal_size(sys.stdout.fileno()) if sys.stdout.isatty() else os.terminal_size((80, 24))
    return max(1, min(size.lines, 1000)), max(1, min(size.columns, 1000))


def _session(access: JobAccess, cmd: list[str], tty: bool, interactive: bool) -> int:
    """Runs one session to its end; the remote exit code (255 when none came)."""
    rows, cols = _terminal_size()
    ws = access.exec(cmd, tty, rows, cols)
    code: list[int] = []
    done = threading.Event()
    resized = threading.Event()

    def receive() -> None:
        out, err = sys.stdout.buffer, sys.stderr.buffer
        try:
            for message in ws:
                if isinstance(message, bytes) and message:
                    target = err if message[0] == 2 else out
                    target.write(message[1:])
                    target.flush()
                elif isinstance(message, str):
                    try:
                        control = json.loads(message)
                    except ValueError:
                        continue
                    exit_code = control.get("exit") if isinstance(control, dict) else None
                    if isinstance(exit_code, int) and not isinstance(exit_code, bool):
                        code.append(exit_code & 0xFF)
        except Exception:  # noqa: BLE001 - the connection ended: the exit code (or its absence) says how
            pass
        finally:
            done.set()

    def send_stdin() -> None:
        fd = sys.stdin.fileno()
        try:
            while not done.is_set():
                data = os.read(fd, 65536)
                if not data:
                    ws.send(json.dumps({"eof": True}))
                    return
                ws.send(b"\x00" + data)
        except Exception:  # noqa: BLE001 - the session ended meanwhile
            return

    restore = _raw_terminal() if tty and sys.stdin.isatty() else None
    previous = signal.signal(signal.SIGWINCH, lambda *_: resized.set()) if tty else None
    threading.Thread(target=receive, daemon=True).start()
    if interactive:
        threading.Thread(target=send_stdin, daemon=True).start()
    else:
        ws.send(json.dumps({"eof": True}))
    try:
        while not done.wait(0.2):
            if resized.is_set():
                resized.clear()
                ws.send(json.dumps({"resize": list(_terminal_size())}))
    except KeyboardInterrupt:
        ws.close()
        return 130
    finally:
        if restore is not None:
            restore()
        if previous is not None:
            signal.signal(signal.SIGWINCH, previous)
        ws.close()
    return code[0] if code else 255


def _raw_terminal() -> Any:
    """Puts the terminal in raw mode (keys, Ctrl-C included, go to the remote terminal); the
    function that restores it."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    return lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)
