"""Launch latency of the provider agent: ``JobCreated`` mined → the job's container running.

Run as ``.venv/bin/python bench/launch.py`` from the project root (``make bench-launch`` puts
anvil on PATH). It starts an Anvil chain
(through Ape), deploys the suite, its own Kubo node and podman service, pushes a busybox image
and lets the agent pull it once (so the image is cached, as the benchmark asks), then creates
``--jobs`` jobs one after another. For each, the clock starts when ``createJob``'s receipt
returns (the event is mined) and stops at the container's ``State.StartedAt`` as the engine
reports it. The baseline, measured in the same run through the same engine, is a bare
``docker run -d`` of the same image: call → ``StartedAt``. The agent's poll interval bounds how
late it can notice an event, so the target is ``p50_s ≤ 1.5 × bare_p50_s + poll_interval_s``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def started_at(container) -> float:  # type: ignore[no-untyped-def]
    """The engine's ``State.StartedAt`` (RFC 3339, nanoseconds) as epoch seconds."""
    container.reload()
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?",
                     container.attrs["State"]["StartedAt"])
    assert match, container.attrs["State"]["StartedAt"]
    zone = match.group(3) or "Z"
    stamp = datetime.fromisoformat(match.group(1) + ("+00:00" if zone == "Z" else zone)).timestamp()
    return stamp + float(match.group(2) or 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.2, help="the agent's poll interval (s)")
    args = parser.parse_args()

    import docker
    from ape import accounts, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")
    from gpurent.local import engine as engine_mod
    from fixtures import deploy_funded
    from gpurent.agent.agent import Agent
    from gpurent.agent.config import AgentConfig, Limits, ResourceSpec
    from gpurent.local import ipfs as node_mod
    from gpurent.images.archive import LayerFile, build_archive
    from gpurent.images.store import ImageStore
    from gpurent.local.process import free_port

    work = Path(tempfile.mkdtemp(prefix="gpurent-bench-launch-"))
    service = engine_mod.start(folder=work / "engine")
    kubo = node_mod.start(0, 0, 0, repo=work / "kubo" / "repo")
    engine = docker.DockerClient(base_url=service.docker_host, timeout=300)
    agent = None
    try:
        with networks.parse_network_choice("ethereum:local:foundry"):
            deployed = deploy_funded(project, accounts.test_accounts)
            gp, provider, renter = deployed.gp, deployed.provider, deployed.renter

            archive = work / "image.tar"
            info = build_archive(archive, [LayerFile("bin/busybox", Path("/bin/busybox"), 0o755)],
                                 "gpurent-bench/launch:1", ["/bin/busybox", "sleep", "600"])
            store = ImageStore(kubo.client(), lambda: engine)
            cid = store.push_archive(archive).cid
            port = free_port()
            config = AgentConfig(endpoint=f"http://127.0.0.1:{port}", listen_host="127.0.0.1", listen_port=port,
                                 stake=Decimal(100), poll_interval_s=args.poll,
                                 resources=(ResourceSpec("RTX4090", 1, 1, 10, Decimal(36)),),
                                 limits=Limits(pids=64, scratch_mb=16))
            agent = Agent(gp.with_account(provider), config, work / "provider", store, [])
            thread = threading.Thread(target=agent.run, daemon=True)
            thread.start()
            while not agent.accepting:
                time.sleep(0.05)
            gpu = next(iter(agent.slots))
            as_renter = gp.with_account(renter)

            def run_job() -> float:
                job = as_renter.create_job(gpu, cid, 3600).value
                mined = time.time()
                while (record := agent.state.job(job.job_id)) is None or record.phase not in ("running",):
                    time.sleep(0.01)
                latency = started_at(engine.containers.get(record.container_id)) - mined
                as_renter.complete_job(job.job_id)
                while agent.state.job(job.job_id).phase != "completed":
                    time.sleep(0.01)
                return latency

            run_job()  # the first job pulls the image into the cache; not counted
            latencies = [run_job() for _ in range(args.jobs)]

            bare: list[float] = []
            for _ in range(args.jobs):
                start = time.time()
                container = engine.containers.run(info.image_id, ["/bin/busybox", "sleep", "600"], detach=True)
                bare.append(started_at(container) - start)
                container.remove(force=True)
            agent.stop()
            thread.join(timeout=30)
    finally:
        if agent is not None:
            agent.stop()
        node_mod.stop_node(kubo)
        engine_mod.stop_service(service)
        shutil.rmtree(work, ignore_errors=True)

    result = {"p50_s": round(statistics.median(latencies), 3), "p95_s": round(percentile(latencies, 0.95), 3),
              "bare_p50_s": round(statistics.median(bare), 3), "poll_interval_s": args.poll, "jobs": len(latencies)}
    target = 1.5 * result["bare_p50_s"] + args.poll
    print(f"agent: p50 {result['p50_s']} s, p95 {result['p95_s']} s over {len(latencies)} jobs; bare docker run p50 "
          f"{result['bare_p50_s']} s; target p50 ≤ {target:.3f} s: {'met' if result['p50_s'] <= target else 'MISSED'}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
