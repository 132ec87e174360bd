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
def abi(name: str) -> list[dict[str, Any]]:
    """Contract ``name``'s packaged ABI as plain JSON (no Ape, no pydantic: quick to load)."""
    entries: list[dict[str, Any]] = json.loads(resources.files("gpurent.abi").joinpath(f"{name}.json").read_text())["abi"]
    return entries


def abi_type(param: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter ("(bytes32,address)[]" for an array of tuples)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def abi_signature(entry: dict[str, Any]) -> str:
    """``name(type,…)`` of a function, event or error: what its selector or topic hashes."""
    return f"{entry['name']}({','.join(abi_type(p) for p in entry['inputs'])})"


@cache
def contract_type(name: str) -> Any:
    from ethpm_types import ContractType

    text = resources.files("gpurent.abi").joinpath(f"{name}.json").read_text()
    return ContractType.model_validate(json.loads(text))


def artifacts() -> SimpleNamespace:
    """GPUToken, ResourceRegistry, Marketplace, ReputationSystem as Ape ContractContainers."""
    from ape.contracts import ContractContainer

    return SimpleNamespace(**{name: ContractContainer(contract_type(name)) for name in CONTRACTS})
