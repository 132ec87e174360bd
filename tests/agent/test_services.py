"""A job as a service, for real (Anvil, Kubo, podman): its declared ports answer through the
agent's ingress to the renter alone (a public port to anyone) and close with the job; the CLI's
port-forward, exec and shell reach it; exec regains no privilege and every session is in the
timeline; the agent stays healthy under 50 proxied connections with a shell left open."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from gpurent.agent.netns import Connector, PortUnreachable
from gpurent.manifest import Manifest, save_manifest
from gpurent.sdk.access import JobAccess, JobEnded
from gpurent.sdk.provider import ProviderEndpoint
from gpurent.wire.access import sign_access
from gpurent.workload.spec import JobSpec, PortSpec
from tests.agent.test_workload_jobs import push_bytes

BIN = Path(sys.executable).parent
RENTER_INDEX = "6"  # cast.renter2 among the test accounts: the renter of these jobs (see tests/conftest.py)
SERVE = ("mkdir -p /scratch/www/sub; echo hello-from-job > /scratch/www/index.html; echo deep > /scratch/www/sub/f.txt; "
         "for p in 8000 9000 7000; do /bin/busybox httpd -f -p $p -h /scratch/www & done; "
         "echo ready; while true; do /bin/busybox sleep 1; done")
PORTS = (PortSpec(8000), PortSpec(9000, public=True), PortSpec(7000, "tcp"))


@pytest.fixture
def service(start_agent, push_image, renter2_rent, kubo):
    """A running job serving HTTP on 8000 (the renter's), 9000 (public) and 7000 (tcp)."""
    runner = start_agent(fetch_timeout_s=10)
    image = push_image(SERVE)
    spec = JobSpec(image=image, ports=PORTS)
    job = renter2_rent.create_job(runner.gpu, push_bytes(kubo, spec.to_bytes()), 3600).value
    runner.wait_phase(job.job_id, "running")
    base = f"http://127.0.0.1:{runner.agent.endpoint.port}"
    access = JobAccess(ProviderEndpoint.for_job(renter2_rent, renter2_rent.job(job.job_id)), job.job_id)
    deadline = time.monotonic() + 30
    while True:  # httpd starts a moment after the container
        answer = requests.get(f"{base}/jobs/{job.job_id}/ports/9000/", timeout=5)
        if answer.status_code == 200:
            break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    return runner, job.job_id, base, access


def test_ports_answer_the_renter_only_a_public_port_anyone_and_all_close_with_the_job(
        service, renter_rent, renter2_rent, cast, chain):
    # the job is renter2's (see the fixture); "another renter" is cast.renter
    runner, job_id, base, access = service
    port = f"{base}/jobs/{job_id}/ports/8000"
    signed = sign_access(cast.renter2, chain.chain_id, job_id)
    assert requests.get(f"{port}/", headers=signed, timeout=5).text == "hello-from-job\n"
    headers = access.headers()  # a token, derived from the renter's signature
    assert requests.get(f"{port}/sub/f.txt", headers=headers, timeout=5).text == "deep\n"
    with requests.Session() as session:  # keep-alive from the client: each answer closes, the next reconnects
        assert all(session.get(f"{port}/", headers=headers, timeout=5).status_code == 200 for _ in range(3))

    # refused: no access, another renter's signature or token, a forged token, an oracle-less stranger
    assert requests.get(f"{port}/", timeout=5).status_code == 403
    assert requests.get(f"{port}/", headers=sign_access(cast.renter, chain.chain_id, job_id), timeout=5).status_code == 403
    assert requests.post(f"{base}/jobs/{job_id}/access", headers=sign_access(cast.renter, chain.chain_id, job_id),
                         timeout=5).status_code == 403
    forged = headers["Authorization"][:-4] + "AAAA"
    assert requests.get(f"{port}/", headers={"Authorization": forged}, timeout=5).status_code == 403
    # a browser: the token once in the link, then a cookie scoped to this job's paths
    first = requests.get(f"{port}/sub/f.txt?a=1&gpurent_token={access.token()}", allow_redirects=False, timeout=5)
    assert first.status_code == 303 and first.headers["Location"] == f"/jobs/{job_id}/ports/8000/sub/f.txt?a=1"
    assert f"Path=/jobs/{job_id}/" in first.headers["Set-Cookie"] and "HttpOnly" in first.headers["Set-Cookie"]
    assert requests.get(f"{port}/sub/f.txt", cookies=first.cookies, timeout=5).text == "deep\n"

    # a hostile head gets a 400 and holds nothing: too large, malformed, or a request line in pieces
    host, number = base.removeprefix("http://").split(":")
    for head in (f"GET /jobs/{job_id}/ports/8000/ HTTP/1.1\r\nX-Big: {'a' * 70_000}\r\n\r\n",
                 f"GET /jobs/{job_id}/ports/8000/ HTTP/1.1\r\nno colon here\r\n\r\n",
                 f"GET /jobs/{job_id}/ports/8000/ HTTP/1.1\r\nX-Nul: a\0b\r\n\r\n"):
        assert _raw(host, int(number), [head.encode()]).startswith(b"HTTP/1.1 400 "), head[:60]
    pieces = [b"GE", b"T /hea", b"lth HTTP/1.1\r\n", b"Host: x\r\n\r\n"]  # not a port: the threaded endpoint's
    assert b'"accepting": true' in _raw(host, int(number), pieces)
    assert runner.agent.ingress.open_count(job_id) == 0

    # the public port answers anyone; undeclared and tcp ports are not served over HTTP
    assert requests.get(f"{base}/jobs/{job_id}/ports/9000/", timeout=5).text == "hello-from-job\n"
    assert requests.get(f"{base}/jobs/{job_id}/ports/8001/", headers=headers, timeout=5).status_code == 404
    assert requests.get(f"{base}/jobs/{job_id}/ports/7000/", headers=headers, timeout=5).status_code == 404
    # a raw tunnel reaches the tcp port (and any declared port)
    sock, first_bytes = access.tunnel(7000)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert b"hello-from-job" in first_bytes + _read_all(sock)
    # the rootless path (a helper process in the job's user and network namespaces) reaches it too
    helper = Connector(runner.agent.runtime.pid(runner.agent.state.job(job_id).container_id))
    try:
        sock = helper.connect(8000)
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert b"hello-from-job" in _read_all(sock)
        with pytest.raises(PortUnreachable, match="nothing listens"):
            helper.connect(8001)
    finally:
        helper.close()
    # exec and shell: the renter alone
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    for who in ({}, sign_access(cast.renter, chain.chain_id, job_id)):
        assert requests.get(f"{base}/jobs/{job_id}/exec", headers={**upgrade, **who}, timeout=5).status_code == 403
    missing = access.exec(["/no/such/command"], tty=False)
    messages = list(missing)
    assert json.loads(messages[-1]) == {"exit": 127}  # as a shell says "not found"
    assert messages[0][:1] == b"\x02" and b"/no/such/command" in messages[0]  # why, on stderr

    record = access.endpoint.phase(job_id)
    assert {p["port"]: (p["protocol"], p["public"]) for p in record["ports"]} == {
        7000: ("tcp", False), 8000: ("http", False), 9000: ("http", True)}

    # the job ends (the renter settles): an open tunnel is closed at once, new requests refused
    held, _ = access.tunnel(8000)
    renter2_rent.complete_job(job_id)
    started = time.monotonic()
    held.settimeout(15)
    assert held.recv(100) == b""  # closed by the agent
    assert time.monotonic() - started < 15
    held.close()
    runner.wait_phase(job_id, "completed", timeout_s=30)
    for url in (f"{port}/", f"{base}/jobs/{job_id}/ports/9000/"):
        assert requests.get(url, headers=headers, timeout=5).status_code in (404, 409, 410)
    with pytest.raises(JobEnded):
        access.tunnel(8000)
    assert runner.agent.ingress.open_count() == 0


def test_port_forward_exec_and_shell_from_the_cli(service, suite, cast, chain, tmp_path):
    runner, job_id, base, access = service
    home = tmp_path / "cli-home"
    home.mkdir()
    env = dict(os.environ, GPURENT_HOME=str(home), GPURENT_NETWORK=chain.provider.http_uri)
    env.pop("GPURENT_ACCOUNT", None)
    old = os.environ.get("GPURENT_HOME")
    os.environ["GPURENT_HOME"] = str(home)
    try:
        save_manifest(Manifest(chain_id=chain.chain_id, block=0, deployer=cast.admin.address,
                               contracts={n: c.address for n, c in suite.as_dict().items()}))
    finally:
        if old is None:
            os.environ.pop("GPURENT_HOME")
        else:
            os.environ["GPURENT_HOME"] = old
    cli = [str(BIN / "gpurent"), "--account", RENTER_INDEX, "jobs"]

    # port-forward: a local port that reaches the job's, until Ctrl-C
    local = _free_port()
    forward = subprocess.Popen([*cli, "port-forward", job_id, f"8000:{local}"], env=env, stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        line = forward.stderr.readline()
        assert f"127.0.0.1:{local}" in line, line
        answers = [requests.get(f"http://127.0.0.1:{local}/sub/f.txt", timeout=10).text for _ in range(3)]
        assert answers == ["deep\n"] * 3
    finally:
        forward.send_signal(signal.SIGINT)
        assert forward.wait(timeout=15) == 0, forward.stderr.read()

    # exec: the container's user and limits; no privilege regained; its exit code
    probe = ("id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; mount -t tmpfs x /mnt; "
             "echo b > /proc/sysrq-trigger; echo done; exit 3")
    ran = subprocess.run([*cli, "exec", job_id, "--", "/bin/busybox", "sh", "-c", probe], env=env,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 3, ran.stderr
    out = ran.stdout.split()
    assert out[0] == "0" and "done" in out  # root of the container's own (no capability)
    status = dict(zip(out[1::2], out[2::2]))
    assert status["CapEff:"] == "0000000000000000" and status["NoNewPrivs:"] == "1" and status["Seccomp:"] == "2"
    assert "mount" in ran.stderr and "sysrq-trigger" in ran.stderr

    # shell: a real terminal, its size and resize, Ctrl-C to the remote process, the exit code
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a terminal
        os.execve(cli[0], [*cli, "shell", job_id, "--cmd", "/bin/busybox sh"], env)
    try:
        _set_size(fd, 33, 101)
        os.kill(pid, signal.SIGWINCH)
        _expect(fd, b"# ", 30)
        os.write(fd, b"stty size\r")
        _expect(fd, b"33 101", 10)
        _set_size(fd, 40, 120)
        os.kill(pid, signal.SIGWINCH)
        time.sleep(0.5)
        os.write(fd, b"stty size\r")
        _expect(fd, b"40 120", 10)
        os.write(fd, b"/bin/busybox sleep 30; echo slept\r")
        time.sleep(1)
        os.write(fd, b"\x03")  # Ctrl-C: the remote sleep ends, the shell stays
        _expect(fd, b"# ", 10)
        os.write(fd, b"exit 7\r")
        _, status_code = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status_code) == 7
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)

    # both sessions are in the job's timeline: who, what, how it ended
    timeline = access.endpoint.phase(job_id)["timeline"]
    sessions = [e for e in timeline if e["phase"] in ("exec", "shell")]
    renter = cast.renter2.address.lower()
    assert [e["phase"] for e in sessions] == ["exec", "shell"]
    assert sessions[0]["detail"].startswith(f"{renter}: /bin/busybox sh -c") and "(exit code 3)" in sessions[0]["detail"]
    assert sessions[1]["detail"] == f"{renter}: /bin/busybox sh (exit code 7)"


def test_the_agent_stays_healthy_under_50_proxied_connections_and_an_open_shell(service):
    runner, job_id, base, access = service
    shell = access.exec(["/bin/busybox", "sh"], tty=True)  # left open throughout
    port = f"{base}/jobs/{job_id}/ports/8000/"
    headers = access.headers()
    barrier = threading.Barrier(50)

    def client(_: int) -> list[int]:
        barrier.wait(timeout=30)
        return [requests.get(port, headers=headers, timeout=30).status_code for _ in range(4)]

    health: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            started = time.monotonic()
            assert requests.get(f"{base}/health", timeout=10).status_code == 200
            health.append(time.monotonic() - started)
            time.sleep(0.1)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with ThreadPoolExecutor(50) as pool:
            codes = [c for batch in pool.map(client, range(50)) for c in batch]
    finally:
        stop.set()
        prober.join()
    assert codes == [200] * 200
    assert health and max(health) < 5.0, health  # the endpoint's own routes kept answering
    assert requests.get(f"{base}/jobs/{job_id}", headers=access.endpoint.signed(job_id), timeout=5).status_code == 200
    shell.send(b"\x00echo still-here\n")
    seen = b""
    deadline = time.monotonic() + 10
    while b"still-here\r\n" not in seen and time.monotonic() < deadline:
        message = shell.recv(timeout=10)
        seen += message[1:] if isinstance(message, bytes) else b""
    assert b"still-here" in seen
    shell.close()
    deadline = time.monotonic() + 10
    while runner.agent.ingress.open_count(job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert runner.agent.ingress.open_count(job_id) == 0  # every connection released


# ------------------------------------------------------------------ helpers

def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


def _raw(host: str, port: int, pieces: list[bytes]) -> bytes:
    """The answer to a request sent in ``pieces`` (a moment between each)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(0.05)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # refused before it was all sent: the answer is read all the same
            pass
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _expect(fd: int, needle: bytes, timeout_s: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout_s
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, seen[-400:]
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    assert needle in seen, seen[-400:]
    return seen


