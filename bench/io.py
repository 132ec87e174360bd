"""Data in, results out: a 500 MB dataset through a job and a 200 MB result back, against raw Kubo.

Run as ``.venv/bin/python bench/io.py`` from the project root (``make bench-io`` does). It starts
an Anvil chain (through Ape) with the suite deployed, two Kubo nodes peered on loopback (the
renter's and the provider's, each with a temporary repo), a podman API service and the provider's
agent in this process, then measures in one run:

- ``push_s``: the renter's ``data push`` of a 500 MB folder (4 incompressible files) into the
  renter's node (pinned; CID, size, digest), from an empty blockstore;
- ``raw_add_s``: the ``ipfs`` command line's ``add -r`` of the same folder with the same chunker,
  CID version and raw leaves into the same node, from an empty blockstore (the same CID);
- ``cold_start_s``: ``createJob`` mined → the container's ``State.StartedAt``, for a job whose
  definition mounts the dataset at ``/data`` while the provider has never seen it (its node
  fetches the 500 MB from the renter's over bitswap, the agent unpacks it into its input cache);
- ``warm_start_s``: the same for a second job with the same input (cached: the direct start);
- ``result_fetch_s``: the renter's ``jobs results`` of the first job's 200 MB result (sealed to
  the renter's key): blocks from the provider's node through the renter's, every hash checked,
  opened, written to a folder;
- ``raw_cat_s``: the ``ipfs`` command line's ``cat`` of the same result payload through the
  renter's node, also from an empty blockstore (so also fetched from the provider's node).

``io_ratio = (push_s + result_fetch_s) / (raw_add_s + raw_cat_s)``, target ≤ 1.2. The last line
printed is one JSON object: ``{"push_s", "result_fetch_s", "raw_add_s", "raw_cat_s", "io_ratio",
"cold_start_s", "warm_start_s", ...}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TARGET_RATIO = 1.2
MB = 1_000_000


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def make_dataset(folder: Path, total_mb: int, files: int = 4) -> Path:
    data = folder / "dataset"
    data.mkdir(parents=True)
    for i in range(files):
        with (data / f"shard-{i:02d}.bin").open("wb") as out:
            for _ in range(total_mb // files):
                out.write(os.urandom(MB))
    return data


def started_at(container: Any) -> float:
    container.reload()
    text = container.attrs["State"]["StartedAt"]
    stamp, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(stamp + "+00:00").timestamp() + float(f"0.{frac[:6] or 0}")


def empty_blockstore(client: Any) -> None:
    for cid in client.pins():
        client.pin_rm(cid)
    client.repo_gc()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset-mb", type=int, default=500)
    parser.add_argument("--result-mb", type=int, default=200)
    args = parser.parse_args()

    import docker
    from ape import accounts, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")  # Ape logs to stdout; the last line must be the JSON object
    from fixtures import deploy_funded
    from gpurent.agent.agent import Agent
    from gpurent.agent.config import AgentConfig, Limits, ResourceSpec
    from gpurent.images.archive import LayerFile, build_archive
    from gpurent.images.kubo import CHUNKER
    from gpurent.images.store import ImageStore
    from gpurent.local import engine as engine_mod
    from gpurent.local import ipfs as node_mod
    from gpurent.local.process import free_port
    from gpurent.workload.data import push_data
    from gpurent.workload.seal import KeyPair
    from gpurent.workload.spec import InputMount, JobSpec

    work = Path(tempfile.mkdtemp(prefix="gpurent-bench-io-"))
    service = engine_mod.start(folder=work / "engine")
    provider_node = node_mod.start(0, 0, 0, repo=work / "provider-kubo" / "repo")
    renter_node = node_mod.start(0, 0, 0, repo=work / "renter-kubo" / "repo", peers=provider_node.swarm_multiaddrs)
    engine = docker.DockerClient(base_url=service.docker_host, timeout=600)
    kubo = node_mod.kubo_binary()
    renter_env = {**os.environ, "IPFS_PATH": renter_node.repo}
    agent = None
    figures: dict[str, Any] = {}
    try:
        dataset = make_dataset(work, args.dataset_mb)
        dataset_bytes = sum(p.stat().st_size for p in dataset.iterdir())
        renter_ipfs = renter_node.client()

        def raw_add() -> str:
            out = subprocess.run([kubo, "add", "-r", "-Q", f"--chunker={CHUNKER}", "--cid-version=1", "--raw-leaves",
                                  str(dataset)], env=renter_env, check=True, capture_output=True, text=True)
            return out.stdout.strip()

        empty_blockstore(renter_ipfs)
        figures["raw_add_s"], raw_cid = timed(raw_add)

        with networks.parse_network_choice("ethereum:local:foundry"):
            deployed = deploy_funded(project, accounts.test_accounts)
            gp, provider, renter = deployed.gp, deployed.provider, deployed.renter
            as_renter = gp.with_account(renter)

            empty_blockstore(renter_ipfs)
            figures["push_s"], pushed = timed(lambda: push_data(renter_ipfs, dataset))
            assert pushed.cid == raw_cid, (pushed.cid, raw_cid)  # the same bytes, chunked the same way

            archive = work / "image.tar"
            build_archive(archive, [LayerFile("bin/busybox", Path("/bin/busybox"), 0o755)], "gpurent-bench/io:1",
                          ["/bin/busybox", "sh"])
            image_cid = ImageStore(renter_ipfs, lambda: engine).push_archive(archive).cid

            port = free_port()
            config = AgentConfig(endpoint=f"http://127.0.0.1:{port}", listen_host="127.0.0.1", listen_port=port,
                                 stake=Decimal(100), poll_interval_s=0.2,
                                 resources=(ResourceSpec("RTX4090", 1, 4, 10, Decimal(36)),),
                                 limits=Limits(pids=64, scratch_mb=64))
            store = ImageStore(provider_node.client(), lambda: engine)
            agent = Agent(gp.with_account(provider), config, work / "provider", store, [])
            thread = threading.Thread(target=agent.run, daemon=True)
            thread.start()
            while not agent.accepting:
                time.sleep(0.05)
            gpu = next(iter(agent.slots))
            keypair = KeyPair.generate()
            command = ("/bin/busybox", "sh", "-c",
                       f"/bin/busybox head -c {args.result_mb * MB} /dev/urandom > /outputs/model.bin && "
                       "/bin/busybox ls -l /data > /outputs/inputs.txt")
            spec = JobSpec(image=image_cid, command=command, inputs=(InputMount(pushed.cid, "/data"),),
                           output="/outputs", result_key=keypair.public_b64)

            def run_job() -> tuple[str, float]:
                job = as_renter.create_job(gpu, spec, 3600, ipfs=renter_ipfs).value  # the renter's own node
                mined = time.time()
                while (record := agent.state.job(job.job_id)) is None or record.phase not in ("running", "exited",
                                                                                              "completed"):
                    if record is not None and record.phase in ("declined", "failed"):
                        raise SystemExit(f"job {record.phase}: {record.detail or record.error}")
                    time.sleep(0.01)
                latency = started_at(engine.containers.get(record.container_id)) - mined
                deadline = time.monotonic() + 600
                while gp.result_cid(job.job_id) is None:
                    if time.monotonic() > deadline:
                        raise SystemExit("no result committed within 600 s")
                    time.sleep(0.2)
                return job.job_id, latency

            cold_job, figures["cold_start_s"] = run_job()
            _, figures["warm_start_s"] = run_job()
            result_cid = str(gp.result_cid(cold_job))
            payload_bytes = int(renter_ipfs.stat(f"{result_cid}/payload")["Size"])

            def raw_cat() -> None:
                with (work / "cat.out").open("wb") as sink:
                    subprocess.run([kubo, "cat", f"/ipfs/{result_cid}/payload"], env=renter_env, check=True,
                                   stdout=sink)

            empty_blockstore(renter_ipfs)
            figures["raw_cat_s"], _ = timed(raw_cat)
            assert (work / "cat.out").stat().st_size == payload_bytes
            empty_blockstore(renter_ipfs)
            out = work / "results"
            figures["result_fetch_s"], fetched = timed(
                lambda: as_renter.fetch_results(cold_job, out, keypair, ipfs=renter_ipfs))
            model = out / "model.bin"
            assert model.stat().st_size == args.result_mb * MB
            digest = hashlib.sha256(model.read_bytes()).hexdigest()
            assert any(f.path == "model.bin" and f.sha256 == digest for f in fetched.files)
            agent.stop()
            thread.join(timeout=60)
    finally:
        if agent is not None:
            agent.stop()
        node_mod.stop_node(renter_node)
        node_mod.stop_node(provider_node)
        engine_mod.stop_service(service)
        shutil.rmtree(work, ignore_errors=True)

    result = {k: round(v, 3) for k, v in figures.items()}
    result["io_ratio"] = round((figures["push_s"] + figures["result_fetch_s"])
                               / (figures["raw_add_s"] + figures["raw_cat_s"]), 3)
    result.update(dataset_bytes=dataset_bytes, result_payload_bytes=payload_bytes)
    met = "met" if result["io_ratio"] <= TARGET_RATIO else "MISSED"
    print(f"push {result['push_s']} s + result fetch {result['result_fetch_s']} s vs raw add {result['raw_add_s']} s "
          f"+ raw cat {result['raw_cat_s']} s: io_ratio {result['io_ratio']} (target ≤ {TARGET_RATIO}: {met}); "
          f"time to start: cold input {result['cold_start_s']} s, warm {result['warm_start_s']} s")
    ordered = {k: result[k] for k in ("push_s", "result_fetch_s", "raw_add_s", "raw_cat_s", "io_ratio", "cold_start_s",
                                      "warm_start_s")}
    ordered.update({k: v for k, v in result.items() if k not in ordered})
    print(json.dumps(ordered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
