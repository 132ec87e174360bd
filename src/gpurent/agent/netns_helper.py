"""Runs inside a job container's network namespace and opens connections to its ports for the
agent (run by :mod:`gpurent.agent.netns`; standard library only, started with ``python -I -S``).

``python -I -S netns_helper.py PID FD``: joins the user namespace (when it is not the
helper's own, as under rootless podman) and the network namespace of process ``PID`` (the job's
container), then answers on the Unix socket ``FD``: each request is 2 bytes, a port in network
order; each answer is 1 status byte (0: connected, else an errno below 256) with, when 0, the
connected socket's file descriptor passed alongside (SCM_RIGHTS). Only loopback in the job's own
namespace is ever dialled, so nothing here gives the container a route anywhere. It ends when
the agent closes its end of the socket.
"""

import ctypes
import errno
import os
import socket
import struct
import sys

CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
CONNECT_TIMEOUT_S = 5.0


def join(pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    own_user = os.stat("/proc/self/ns/user").st_ino
    for name, flag in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
        path = f"/proc/{pid}/ns/{name}"
        if name == "user" and os.stat(path).st_ino == own_user:
            continue  # a rootful engine: the container shares the host's user namespace
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, flag) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"setns({name}): {os.strerror(code)}")
        finally:
            os.close(fd)


def serve(control: socket.socket) -> None:
    while True:
        request = control.recv(2)
        if len(request) < 2:
            return
        (port,) = struct.unpack("!H", request)
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT_S)
        except OSError as err:
            code = err.errno if isinstance(err.errno, int) and 0 < err.errno < 256 else errno.ECONNREFUSED
            if isinstance(err, TimeoutError):
                code = errno.ETIMEDOUT
            control.sendall(bytes([code]))
            continue
        try:
            socket.send_fds(control, [b"\x00"], [upstream.fileno()])
        finally:
            upstream.close()


def main() -> int:
    pid, fd = int(sys.argv[1]), int(sys.argv[2])
    control = socket.socket(fileno=fd)
    try:
        join(pid)
    except OSError as err:
        control.sendall(b"\x01" + str(err).encode()[:200])
        return 1
    control.sendall(b"\x00")  # joined
    serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
