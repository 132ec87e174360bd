"""gpurent's sample job (``Containerfile`` and ``job.sh`` beside this module), built by the
container engine from Debian's static busybox, so it needs no registry. ``make demo`` builds it
and pushes it; ``gpurent images sample`` does the same by hand."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from gpurent.errors import ConfigurationError, ImageError

TAG = "gpurent-sample/hello-gpu:1"
BUSYBOX = Path("/bin/busybox")
HERE = Path(__file__).resolve().parent


def build(engine: Any, tag: str = TAG) -> str:
    """Builds the sample image in ``engine`` (a docker.DockerClient); returns its image id."""
    if not BUSYBOX.exists():
        raise ConfigurationError(f"{BUSYBOX} is missing: install Debian's busybox-static (`make setup` does)")
    from docker.errors import BuildError

    with tempfile.TemporaryDirectory(prefix="gpurent-sample-") as folder:
        context = Path(folder)
        for name in ("Containerfile", "job.sh"):
            shutil.copyfile(HERE / name, context / name)
        shutil.copyfile(BUSYBOX, context / "busybox")
        (context / "busybox").chmod(0o755)
        try:
            image, _ = engine.images.build(path=str(context), dockerfile="Containerfile", tag=tag, rm=True)
        except BuildError as err:
            raise ImageError(f"building the sample image failed: {err.msg}") from None
    return str(image.id)
