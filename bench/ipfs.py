"""Images over IPFS: gpurent's push and pull against raw Kubo and a plain ``docker load``.

Run as ``.venv/bin/python bench/ipfs.py`` from the project root (``make bench-ipfs`` does). It
builds a ~200 MB image locally (busybox plus incompressible data), starts its own Kubo node (a
temporary repo, loopback) and its own podman API service, and measures, as the median of
``--repeat`` rounds, each round starting from an empty blockstore (unpin + repo gc) so every add
writes its blocks:

- ``push_s``: ``ImageStore.push_archive`` (tar → IPFS with its SHA-256 and metadata, pinned);
- ``fetch_s``: the pull's transfer alone (metadata, image.tar to disk, digest check);
- ``pull_load_s``: ``ImageStore.pull`` end to end (fetch, verify, ``docker load``, pin), with the
  image first removed from the engine;
- ``docker_load_s``: a plain ``docker load`` of the same tar through the same engine;
- ``raw_add_s`` / ``raw_cat_s``: the ``ipfs`` command line's ``add`` (same chunker, CID version,
  raw leaves) and ``cat`` of the same bytes into a file.

Ratios: ``pull_vs_local_ratio = pull_load_s / docker_load_s`` (target ≤ 1.3) and
``sdk_overhead_ratio = (push_s + fetch_s) / (raw_add_s + raw_cat_s)`` (target ≤ 1.1): gpurent's
push and pull transfer over the raw node doing the same bytes; each half is also reported alone
(``push_vs_raw_add_ratio``, ``fetch_vs_raw_cat_ratio``: gpurent reads through the node's HTTP
gateway, which streams faster than the RPC ``cat`` the command line uses). The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gpurent.local import engine as engine_mod  # noqa: E402
from gpurent.local import ipfs as node_mod  # noqa: E402
from gpurent.images.archive import LayerFile, build_archive  # noqa: E402
from gpurent.images.kubo import CHUNKER  # noqa: E402
from gpurent.images.store import IMAGE_FILE, ImageStore  # noqa: E402

TARGETS = {"pull_vs_local_ratio": 1.3, "sdk_overhead_ratio": 1.1}


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def build_image(folder: Path, size_mb: int) -> tuple[Path, str]:
    blob = folder / "blob.bin"
    with blob.open("wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(1 << 20))
    tar = folder / "bench.tar"
    info = build_archive(tar, [LayerFile("bin/busybox", Path("/bin/busybox"), 0o755), LayerFile("data/blob.bin", blob)],
                         "gpurent-bench/ipfs:1", ["/bin/busybox", "true"])
    blob.unlink()
    return tar, info.image_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import docker
    from docker.errors import NotFound

    work = Path(tempfile.mkdtemp(prefix="gpurent-bench-ipfs-"))
    service = engine_mod.start(folder=work / "engine")
    node = node_mod.start(0, 0, 0, repo=work / "kubo" / "repo")
    try:
        engine = docker.DockerClient(base_url=service.docker_host, timeout=600)
        tar, image_id = build_image(work, args.size_mb)
        size = tar.stat().st_size
        store = ImageStore(node.client(), lambda: engine, max_bytes=1 << 40)  # staging as users get it
        ipfs_env = {**os.environ, "IPFS_PATH": node.repo}
        kubo = node_mod.kubo_binary()

        def forget_image() -> None:
            try:
                engine.images.remove(image_id, force=True)
            except NotFound:
                pass

        def empty_blockstore() -> None:
            for cid in store.ipfs.pins():
                store.ipfs.pin_rm(cid)
            store.ipfs.repo_gc()

        def raw_add() -> str:
            out = subprocess.run([kubo, "add", "-Q", f"--chunker={CHUNKER}", "--cid-version=1", "--raw-leaves",
                                  str(tar)], env=ipfs_env, check=True, capture_output=True, text=True)
            return out.stdout.strip()

        def raw_cat(cid: str) -> None:
            with (work / "cat.out").open("wb") as sink:
                subprocess.run([kubo, "cat", cid], env=ipfs_env, check=True, stdout=sink)

        rounds: dict[str, list[float]] = {k: [] for k in
                                          ("push_s", "fetch_s", "pull_load_s", "docker_load_s", "raw_add_s",
                                           "raw_cat_s")}
        for i in range(args.repeat):
            empty_blockstore()
            push_s, pushed = timed(lambda: store.push_archive(tar))
            cid = pushed.cid  # type: ignore[attr-defined]
            metadata = pushed.metadata  # type: ignore[attr-defined]
            tar_cid = store.ipfs.ls(cid)[IMAGE_FILE]
            staged = store.staging_dir(size) / "bench-fetch.tar"
            fetch_s, _ = timed(lambda: store.fetch(cid, store.metadata(cid), staged))
            staged.unlink()
            forget_image()
            pull_load_s, _ = timed(lambda: store.pull(cid))
            forget_image()
            docker_load_s, _ = timed(lambda: engine.images.load(tar.open("rb")))

            empty_blockstore()
            raw_add_s, raw_cid = timed(raw_add)
            raw_cat_s, _ = timed(lambda: raw_cat(str(raw_cid)))
            assert raw_cid == tar_cid  # the same bytes, chunked the same way
            assert (work / "cat.out").stat().st_size == metadata.size == size
            for key, value in zip(rounds, (push_s, fetch_s, pull_load_s, docker_load_s, raw_add_s, raw_cat_s),
                                  strict=True):
                rounds[key].append(value)
            print(f"round {i + 1}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in rounds.items()), file=sys.stderr)
        forget_image()

        med = {k: statistics.median(v) for k, v in rounds.items()}
        result = {
            "image_bytes": size,
            **{k: round(v, 3) for k, v in med.items()},
            "pull_vs_local_ratio": round(med["pull_load_s"] / med["docker_load_s"], 3),
            "sdk_overhead_ratio": round((med["push_s"] + med["fetch_s"]) / (med["raw_add_s"] + med["raw_cat_s"]), 3),
            "push_vs_raw_add_ratio": round(med["push_s"] / med["raw_add_s"], 3),
            "fetch_vs_raw_cat_ratio": round(med["fetch_s"] / med["raw_cat_s"], 3),
            "push_mb_per_s": round(size / med["push_s"] / 1e6, 1),
            "fetch_mb_per_s": round(size / med["fetch_s"] / 1e6, 1),
        }
    finally:
        node_mod.stop_node(node)
        engine_mod.stop_service(service)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'figure':<22}{'value':>12}  target")
    for key, value in result.items():
        target = f"≤ {TARGETS[key]}" if key in TARGETS else ""
        print(f"{key:<22}{value:>12}  {target}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
