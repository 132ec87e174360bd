"""Proves the agent's GPU paths on a machine with NVIDIA GPUs (none on the build machines).

    .venv/bin/python bench/nvml_probe.py [--engine unix:///var/run/docker.sock] [--image IMAGE]

1. NVML: the GPUs the agent would offer (model, memory, UUID) and one monitor sample each
   (utilisation, memory, temperature, power), through the agent's own functions; and each GPU's
   readings by its UUID as a job's usage samples carry them (``gpurent.agent.metrics``), checked
   against the schema the renter's SDK holds them to.
2. Device requests: with an engine and an image that has ``nvidia-smi`` (the NVIDIA container
   toolkit must be installed), runs it under the agent's exact isolation options with the first
   GPU requested by UUID, and checks that the container sees that GPU and only it.
Prints one JSON object as its last line; exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gpurent.agent.config import Limits, ResourceSpec  # noqa: E402
from gpurent.agent.hardware import Monitor, detect_gpus  # noqa: E402
from gpurent.agent.metrics import GpuReader, Reading, make_sample  # noqa: E402
from gpurent.agent.runtime import container_options  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", help="Docker Engine API (default: DOCKER_HOST); skip the container check if unset")
    parser.add_argument("--image", default="nvidia/cuda:12.4.1-base-ubuntu22.04")
    args = parser.parse_args()

    gpus, reason = detect_gpus()
    result: dict[str, object] = {"gpus": [g.__dict__ for g in gpus], "reason": reason}
    if not gpus:
        print(json.dumps(result))
        return 1
    sample = Monitor(gpus).sample()
    result["sample"] = sample
    ok = len(sample["gpus"]) == len(gpus) and all(s["memory_total_mb"] > 0 for s in sample["gpus"])
    from gpurent.wire.metrics import parse_sample

    reader, readings = GpuReader(gpus), {}
    for gpu in gpus:  # a job's GPU, by its UUID (the agent's Slot.gpu_uuid)
        reading, why = reader.read(gpu.uuid)
        readings[gpu.uuid] = reading or why
        job_sample = make_sample(Reading(0.0, 0, 0, 0, 0, 0, 0, 0, 0), None, reading, why)
        ok = (ok and reading is not None and reading["mem_total_bytes"] // 2**20 == gpu.memory_mb
              and parse_sample(job_sample)["gpu"] == reading)
    result["job_gpu_readings"] = readings

    import os

    host = args.engine or os.environ.get("DOCKER_HOST")
    if host:
        import docker

        engine = docker.DockerClient(base_url=host, timeout=300)
        options = container_options("0x" + "00" * 32, ResourceSpec("probe", 1, 2, 1, Decimal(0)), Limits(), gpus[0].uuid)
        options.update(command=["nvidia-smi", "--query-gpu=uuid,name", "--format=csv,noheader"], detach=False,
                       remove=True)
        options.pop("name")
        output = engine.containers.run(args.image, **options).decode()
        result["container_sees"] = output.strip().splitlines()
        ok = ok and result["container_sees"] == [f"{gpus[0].uuid}, {gpus[0].name}"]
    result["ok"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
