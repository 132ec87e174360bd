"""``gpurent jobs exec`` and ``gpurent jobs shell``: a command in a running job's container, over a
WebSocket through the agent's endpoint (``GET /jobs/<id>/exec``, the renter only).

The command runs through the engine's exec API as the container's own user, inside the
container's cgroup (its memory, CPU and process limits), its seccomp profile, its dropped
capabilities and ``no-new-privileges``: the agent never asks for a privileged exec nor another
user, so nothing is regained through it. Every session is recorded (who, when, the command, its
exit code) and listed in the job's timeline.

The protocol (after the upgrade; ``PROTOCOL`` is its subprotocol name):

- the client's first message is text, JSON: ``{"cmd": [...], "tty": bool, "rows": int, "cols": int}``;
- then binary messages whose first byte is a channel: 0 stdin (client → agent), 1 stdout,
  2 stderr (agent → client; a TTY has only 1);
- text messages are JSON control: ``{"resize": [rows, cols]}`` and ``{"eof": true}`` (stdin
  ends) from the client; ``{"exit": code}`` from the agent, just before it closes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import selectors
import shlex
import socket
import struct
import threading
import time
from typing import Any

from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN, Protocol, Side

from gpurent.agent.state import AgentState
from gpurent.logfmt import labels

log = logging.getLogger("gpurent.provider.shell")

PROTOCOL = "gpurent.exec.v1"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's
MESSAGE_MAX = 1 << 20
FIRST_MESSAGE_S = 10.0
MAX_ARGS, MAX_ARG = 64, 4096
STDIN, STDOUT, STDERR = 0, 1, 2
NOT_STARTED = 127  # the exit code of a command that did not start (as a shell's "not found")


class BadSession(ValueError):
    """The client's request for a session is not one (one line, sent back as the close reason)."""


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def handshake_problem(headers: Any) -> str | None:
    """Why the request is not a WebSocket upgrade this endpoint takes, or None."""
    if (headers.get("Upgrade") or "").lower() != "websocket":
        return "exec is a WebSocket: send Upgrade: websocket"
    if headers.get("Sec-WebSocket-Version") != "13":
        return "WebSocket version 13 only"
    key = headers.get("Sec-WebSocket-Key") or ""
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return "a malformed Sec-WebSocket-Key"
    return None


def handshake_response(key: str) -> bytes:
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n").encode()


def parse_request(text: str) -> tuple[list[str], bool, int, int]:
    """``(cmd, tty, rows, cols)`` from the first message; BadSession naming what is wrong."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise BadSession("the first message must be JSON") from None
    if not isinstance(doc, dict):
        raise BadSession("the first message must be a JSON object")
    cmd, tty = doc.get("cmd"), doc.get("tty", False)
    if (not isinstance(cmd, list) or not 1 <= len(cmd) <= MAX_ARGS
            or not all(isinstance(a, str) and 0 < len(a) <= MAX_ARG and "\0" not in a for a in cmd)):
        raise BadSession(f"cmd must be a list of 1 to {MAX_ARGS} non-empty strings of at most {MAX_ARG} characters")
    if not isinstance(tty, bool):
        raise BadSession("tty must be true or false")
    rows, cols = _size(doc.get("rows", 24), doc.get("cols", 80))
    return cmd, tty, rows, cols


def _size(rows: Any, cols: Any) -> tuple[int, int]:
    if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1000 for v in (rows, cols)):
        raise BadSession("rows and cols must be whole numbers from 1 to 1000")
    return rows, cols


class Demux:
    """The engine's multiplexed exec stream (no TTY): 8-byte headers (stream, 0, 0, 0, length)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        out = []
        while len(self._buffer) >= 8:
            stream, length = self._buffer[0], struct.unpack(">I", self._buffer[4:8])[0]
            if len(self._buffer) < 8 + length:
                break
            out.append((STDERR if stream == 2 else STDOUT, bytes(self._buffer[8:8 + length])))
            del self._buffer[:8 + length]
        return out


class ShellSession:
    """One session on its own thread: ``client`` is the upgraded connection, ``engine`` the
    Docker SDK client, ``container_id`` the job's container; ``pending``: what the client sent
    past its upgrade request."""

    def __init__(self, client: socket.socket, engine: Any, container_id: str, state: AgentState, job_id: str,
                 who: str, idle_s: float, pending: bytes = b""):
        self.client, self.engine, self.container_id, self.state = client, engine, container_id, state
        self.job_id, self.who, self.idle_s = job_id, who, idle_s
        self.ws = Protocol(Side.SERVER, state=OPEN, max_size=MESSAGE_MAX)
        self._closing = threading.Event()
        self._exec: socket.socket | None = None
        if pending:
            self.ws.receive_data(pending)

    def close(self) -> None:
        """Ends the session at once (the job ended): the exec stream and the client are closed."""
        self._closing.set()
        for sock in (self._exec, self.client):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def run(self) -> None:
        try:
            self._run()
        except Exception as err:  # noqa: BLE001 - one line; the client is told where it can be
            log.warning("job %s: exec session failed: %s", self.job_id, str(err).splitlines()[0] if str(err) else err,
                        extra=labels(job=self.job_id))
            self._close_ws(CloseCode.INTERNAL_ERROR, "the session failed on the provider")
        finally:
            for sock in (self._exec, self.client):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    # ---------------------------------------------------------------- the session
    def _run(self) -> None:
        self.client.settimeout(FIRST_MESSAGE_S)
        first = self._first_message()
        if first is None:
            return
        try:
            cmd, tty, rows, cols = parse_request(first)
        except BadSession as err:
            self._close_ws(CloseCode.POLICY_VIOLATION, str(err))
            return
        from docker.errors import APIError

        api = self.engine.api
        record = self.state.session_started(self.job_id, "shell" if tty else "exec", self.who, shlex.join(cmd))
        code: int | None = None
        try:
            try:
                exec_id = api.exec_create(self.container_id, cmd, stdout=True, stderr=True, stdin=True, tty=tty,
                                          privileged=False)["Id"]  # the container's user, limits and profile
                stream = api.exec_start(exec_id, socket=True, tty=tty)
            except APIError as err:  # no such command, the container just ended: 127 as a shell says it
                code = NOT_STARTED
                text = str(getattr(err, "explanation", None) or err).splitlines()[0][:300]
                self.ws.send_binary(bytes([STDERR]) + f"gpurent: the command did not start: {text}\n".encode())
                self._send_text({"exit": code})
                self._close_ws(CloseCode.NORMAL_CLOSURE, "")
                return
            self._exec = getattr(stream, "_sock", stream)
            if tty:
                self._resize(exec_id, rows, cols)
            self._pump(exec_id, tty)
            code = self._exit_code(exec_id)
            self._send_text({"exit": code})
            self._close_ws(CloseCode.NORMAL_CLOSURE, "")
        finally:
            self.state.session_ended(record, code)

    def _first_message(self) -> str | None:
        while True:
            for frame in self._events():
                if frame.opcode == Opcode.TEXT:
                    return bytes(frame.data).decode("utf-8", "replace")
                if frame.opcode in (Opcode.BINARY, Opcode.CONT):
                    self._close_ws(CloseCode.POLICY_VIOLATION, "the first message must be the JSON request")
                    return None
            if self.ws.state is not OPEN:
                return None
            try:
                data = self.client.recv(65536)
            except (TimeoutError, OSError):
                return None
            if not data:
                return None
            self.ws.receive_data(data)
            self._flush()

    def _pump(self, exec_id: str, tty: bool) -> None:
        assert self._exec is not None
        demux = None if tty else Demux()
        self.client.settimeout(self.idle_s)
        self._exec.settimeout(self.idle_s)
        selector = selectors.DefaultSelector()
        selector.register(self.client, selectors.EVENT_READ)
        selector.register(self._exec, selectors.EVENT_READ)
        last = time.monotonic()
        try:
            while not self._closing.is_set():
                ready = selector.select(timeout=1.0)
                if not ready:
                    if time.monotonic() - last > self.idle_s:
                        return
                    continue
                last = time.monotonic()
                for key, _ in ready:
                    if key.fileobj is self._exec:
                        data = self._exec.recv(65536)
                        if not data:
                            return  # the command ended
                        for channel, chunk in demux.feed(data) if demux else [(STDOUT, data)]:
                            self.ws.send_binary(bytes([channel]) + chunk)
                        self._flush()
                    else:
                        data = self.client.recv(65536)
                        if not data:
                            return  # the client left
                        self.ws.receive_data(data)
                        if not self._client_frames(exec_id):
                            return
                        self._flush()
        finally:
            selector.close()

    def _client_frames(self, exec_id: str) -> bool:
        """Handles what the client sent; False when the session is over (the client closed)."""
        assert self._exec is not None
        for frame in self._events():
            if frame.opcode == Opcode.BINARY and frame.data[:1] == bytes([STDIN]):
                self._exec.sendall(frame.data[1:])
            elif frame.opcode == Opcode.TEXT:
                try:
                    control = json.loads(bytes(frame.data))
                    if isinstance(control, dict) and "resize" in control:
                        resize = control["resize"]
                        if not isinstance(resize, list) or len(resize) != 2:
                            raise BadSession("resize must be [rows, cols]")
                        self._resize(exec_id, *_size(*resize))
                    elif isinstance(control, dict) and control.get("eof") is True:
                        self._exec.shutdown(socket.SHUT_WR)
                except (ValueError, BadSession):
                    pass  # a malformed control message is ignored
            elif frame.opcode == Opcode.CLOSE:
                return False
        return self.ws.state is OPEN

    # ---------------------------------------------------------------- plumbing
    def _events(self) -> list[Frame]:
        return [e for e in self.ws.events_received() if isinstance(e, Frame)]

    def _resize(self, exec_id: str, rows: int, cols: int) -> None:
        try:
            self.engine.api.exec_resize(exec_id, height=rows, width=cols)
        except Exception as err:  # noqa: BLE001 - a resize the engine refuses leaves the size as it was
            log.debug("exec resize refused: %s", err)

    def _exit_code(self, exec_id: str) -> int | None:
        for _ in range(20):  # the engine records the exit a moment after the stream ends
            info = self.engine.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            time.sleep(0.05)
        return None

    def _send_text(self, doc: dict[str, Any]) -> None:
        if self.ws.state is OPEN:
            self.ws.send_text(json.dumps(doc).encode())
            self._flush()

    def _close_ws(self, code: int, reason: str) -> None:
        if self.ws.state is OPEN:
            self.ws.send_close(code, reason[:120])
            self._flush()

    def _flush(self) -> None:
        for data in self.ws.data_to_send():
            if data:
                try:
                    self.client.sendall(data)
                except OSError:
                    return


__all__ = ["PROTOCOL", "ShellSession", "handshake_problem", "handshake_response", "parse_request"]
