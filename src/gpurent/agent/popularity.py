"""What to pre-warm: the images and inputs this provider's own paid jobs used most.

A job commits its definition's CID on chain (a bare image CID is a definition of just the
image), so the chain's ranking of paid jobs is a ranking of definitions. Each is read (within
the definition bounds of :func:`~gpurent.workload.spec.read_definition`, once per CID and run)
and split into its image, for the image cache, and its inputs, for the input cache. A CID whose
definition cannot be read now (gone from every node, or not a definition) is handed to the image
cache as it is, as before definitions existed: it may be a bare image, and the image cache skips
what is not one (a popular CID that is not a usable job is not this node's problem).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpurent.errors import GpurentError
from gpurent.images.kubo import KuboClient
from gpurent.workload.spec import JobSpec, SpecError, read_definition

if TYPE_CHECKING:
    from gpurent.sdk import Gpurent

MAX_REMEMBERED = 1024  # definitions kept read (they never change: a CID is its content)


class Popularity:
    def __init__(self, gp: Gpurent, ipfs: KuboClient, timeout_s: float):
        self.gp, self.ipfs, self.timeout_s = gp, ipfs, timeout_s
        self._specs: dict[str, JobSpec | None] = {}
        self._inputs: list[str] = []

    def _spec(self, cid: str) -> JobSpec | None:
        if cid not in self._specs:
            if len(self._specs) >= MAX_REMEMBERED:
                self._specs.clear()
            try:
                self._specs[cid] = read_definition(self.ipfs, cid, self.timeout_s)
            except (SpecError, GpurentError):  # not a definition, or not readable now: not remembered
                return None
        return self._specs[cid]

    def images(self, top: int) -> list[str]:
        """The images of the ``top`` most paid definitions, most popular first (the image
        cache's popularity); the same pass ranks their inputs (:meth:`inputs`)."""
        images: dict[str, None] = {}
        inputs: dict[str, None] = {}
        for cid, _count in self.gp.paid_image_popularity(None, top=top):
            spec = self._spec(cid)
            if spec is None:
                images.setdefault(cid)  # unreadable now: perhaps a bare image; the image cache decides
                continue
            images.setdefault(spec.image)
            for mount in spec.inputs:
                inputs.setdefault(mount.cid)
        self._inputs = list(inputs)
        return list(images)

    def inputs(self) -> list[str]:
        """The inputs of the definitions the last :meth:`images` ranked, most popular first."""
        return list(self._inputs)
