"""The compiled contracts shipped in the package (``gpurent/abi/*.json``).

``contract_type(name)`` gives Ape's ContractType; ``artifacts()`` gives a project-like object
whose attributes are deployable containers, which ``deploy_suite`` accepts in place of
``ape.project``. Both work from any directory.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from types import SimpleNamespace
from typing import Any

from gpurent.manifest import CONTRACTS


@cache
def contract_type(name: str) -> Any:
    from ethpm_types import ContractType

    text = resources.files("gpurent.abi").joinpath(f"{name}.json").read_text()
    return ContractType.model_validate(json.loads(text))


def artifacts() -> SimpleNamespace:
    """GPUToken, ResourceRegistry, Marketplace, ReputationSystem as Ape ContractContainers."""
    from ape.contracts import ContractContainer

    return SimpleNamespace(**{name: ContractContainer(contract_type(name)) for name in CONTRACTS})
