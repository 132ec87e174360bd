"""How long the main job takes end to end (`make demo`), phase by phase, against running the
same container straight on the same engine.

Runs ``gpurent --json demo`` ROUNDS times (each a fresh stack on fresh ports) and reports the
median of each phase from the demo's own step log, plus the whole wall time. The baseline,
measured in the same run: the sample image run to completion with a bare ``docker run``
(create, start, wait) on a podman service of its own. The ratio says what renting the GPU
through gpurent (escrow, accept, pull by CID, start, settle) adds to running the job locally.

    .venv/bin/python bench/demo.py [ROUNDS]      # or: make bench-demo
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_S = 300.0  # the issue: well under 5 minutes on a 2-core machine


def step_at(steps: list[dict], service: str, starts: str) -> float:
    return next(s["at_s"] for s in steps if s["service"] == service and s["what"].startswith(starts))


def one_demo() -> dict[str, float]:
    began = time.monotonic()  # the demo isolates itself: own state folder, ports, endpoints
    done = subprocess.run([str(BIN / "gpurent"), "--json", "demo"], capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - began
    if done.returncode != 0:
        sys.exit(f"the demo failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    steps = json.loads(done.stdout)["steps"]
    ready = step_at(steps, "provider", "provider agent at")
    connected = step_at(steps, "renter", "connected")
    imaged = step_at(steps, "image", "built")
    created = step_at(steps, "renter", "created job")
    settled = step_at(steps, "provider", "completed")
    reported = step_at(steps, "oracle", "reported")
    indexed = step_at(steps, "indexer", "has the job")
    stopped = step_at(steps, "stack", "all")
    return {"stack_up_s": ready, "image_build_push_s": imaged - connected, "job_created_to_settled_s": settled - created,
            "oracle_report_wait_s": reported - settled, "indexer_view_s": indexed - reported,
            "shutdown_s": stopped - indexed, "total_wall_s": wall}


def bare_run_s() -> float:
    """The sample image, created, started and waited for on a private podman service."""
    from gpurent import sample
    from gpurent.local import engine

    with tempfile.TemporaryDirectory() as folder:
        service = engine.start(folder=Path(folder))
        try:
            import docker

            client = docker.DockerClient(base_url=service.docker_host, timeout=120)
            sample.build(client)
            timings = []
            for _ in range(3):
                began = time.monotonic()
                container = client.containers.run(sample.TAG, detach=True)
                container.wait(timeout=120)
                timings.append(time.monotonic() - began)
                container.remove(force=True)
            return statistics.median(timings)
        finally:
            engine.stop_service(service)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    baseline = bare_run_s()
    runs = [one_demo() for _ in range(rounds)]
    figures = {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
    figures["bare_docker_run_s"] = round(baseline, 2)
    figures["job_vs_bare_run_ratio"] = round(figures["job_created_to_settled_s"] / baseline, 2)
    figures["total_vs_target_ratio"] = round(figures["total_wall_s"] / TARGET_S, 3)
    figures["rounds"] = rounds
    for key, value in figures.items():
        print(f"{key:<28} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
