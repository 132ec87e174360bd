"""Connections to a job's ports, made inside the job's own network namespace.

A job's container has no network at all by default (``network_mode: none``: only its own
loopback), and keeps it that way while it serves ports: nothing is published on the host and no
route is added. To reach a port, the agent makes the connection's socket inside the
container's network namespace and dials ``127.0.0.1:<port>`` there; it is how ``kubectl
port-forward`` reaches a pod (the kubelet enters the pod's network namespace). Two ways:

- :class:`NamespaceDialer`, when the agent may enter the namespace itself (it runs as root
  beside a rootful engine): the dialling thread enters the job's namespace only to create the
  socket (``setns`` is per thread) and returns to its own at once; a socket keeps the namespace
  it was made in. A few microseconds a connection.
- :class:`Connector` otherwise (rootless podman, whose namespaces belong to podman's user
  namespace, which only a single-threaded process may join): one small helper process per job
  (:mod:`gpurent.agent.netns_helper`) joins the user and network namespaces, dials for the
  agent and passes each connected socket back over a Unix socket.

Either way the agent's own threads and the helper stay outside the container's cgroup,
seccomp profile and mount namespace; the container sees only connections to its own loopback.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

from gpurent.errors import GpurentError

HELPER = Path(__file__).with_name("netns_helper.py")
ANSWER_S = 10.0  # the helper's answer to one connection request (its own connect times out at 5 s)
CONNECT_TIMEOUT_S = 5.0


class PortUnreachable(GpurentError):
    """Raised when nothing accepts a connection on the job's port (yet), or the helper failed."""


def unreachable(port: int, code: int | None, why: str) -> PortUnreachable:
    """The one wording of a connection to ``port`` that failed (``code``: its errno, if any)."""
    if code == errno.ECONNREFUSED:
        return PortUnreachable(f"nothing listens on port {port} in the job (yet)")
    return PortUnreachable(f"port {port} in the job: {why}")


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


class NamespaceDialer:
    """Dials inside process ``pid``'s network namespace from the calling thread (see the module's
    docstring); OSError (EPERM) at construction when this process may not enter it."""

    _home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)  # the agent's own namespace

    def __init__(self, pid: int):
        self._job = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)  # kept: the namespace stays
        try:
            self.new_socket().close()  # may this process enter it?
        except OSError:
            os.close(self._job)
            raise

    def new_socket(self) -> socket.socket:
        """A new TCP socket in the job's namespace, not connected (blocking)."""
        _setns(self._job)
        try:
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            _setns(self._home)  # never fails for the namespace the thread came from; if it did, the
            # exception ends the thread's work before it makes another socket

    def connect(self, port: int) -> socket.socket:
        sock = self.new_socket()
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(("127.0.0.1", port))
        except OSError as err:
            sock.close()
            raise unreachable(port, err.errno, str(err.strerror or err)) from None
        sock.settimeout(None)
        return sock

    @property
    def alive(self) -> bool:
        return True

    def close(self) -> None:
        try:
            os.close(self._job)
        except OSError:
            pass


def dialer(pid: int) -> NamespaceDialer | Connector:
    """The fastest way into process ``pid``'s network namespace this agent has."""
    try:
        return NamespaceDialer(pid)
    except PermissionError:
        return Connector(pid)


class Connector:
    """Dials ports inside one container's network namespace (the process ``pid``'s)."""

    def __init__(self, pid: int):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen([sys.executable, "-I", "-S", str(HELPER), str(pid), str(theirs.fileno())],
                                            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True)
        finally:
            theirs.close()
        self._control = ours
        self._control.settimeout(ANSWER_S)
        self._lock = threading.Lock()
        try:
            ready = self._control.recv(256)
        except OSError as err:
            self.close()
            raise PortUnreachable(f"the port helper did not start: {err}") from None
        if ready != b"\x00":
            self.close()
            why = ready[1:].decode(errors="replace") or "it exited"
            raise PortUnreachable(f"the port helper could not enter the job's network: {why}")

    def connect(self, port: int) -> socket.socket:
        """A socket connected to ``127.0.0.1:port`` in the job's namespace (blocking mode)."""
        with self._lock:
            try:
                self._control.sendall(struct.pack("!H", port))
                message, fds, _, _ = socket.recv_fds(self._control, 1, 1)
            except OSError as err:
                raise PortUnreachable(f"the port helper failed: {err}") from None
        if not message:
            raise PortUnreachable("the port helper has ended")
        if message != b"\x00" or not fds:
            for fd in fds:
                os.close(fd)
            raise unreachable(port, message[0], os.strerror(message[0]))
        sock = socket.socket(fileno=fds[0])
        sock.setblocking(True)
        return sock

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        try:
            self._control.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=2)
