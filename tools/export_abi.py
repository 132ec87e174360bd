"""Copies the compiled contract types (ABI and deployment bytecode) into the package, so
`import gpurent` and `gpurent devnet up` work outside this repository. Run after `ape compile` (the Makefile does); a test keeps them in sync.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gpurent.manifest import CONTRACTS  # run with the project venv (make does)
TARGET = Path(__file__).resolve().parents[1] / "src" / "gpurent" / "abi"


def exported(build_manifest: Path) -> dict[str, str]:
    """Contract name -> the JSON text the package ships for it."""
    types = json.loads(build_manifest.read_text())["contractTypes"]
    return {
        name: json.dumps(
            {
                "contractName": name,
                "abi": types[name]["abi"],
                "deploymentBytecode": types[name]["deploymentBytecode"],
            },
            indent=1,
            sort_keys=True,
        )
        + "\n"
        for name in CONTRACTS
    }


def main() -> int:
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".build/__local__.json")
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, text in exported(build).items():
        path = TARGET / f"{name}.json"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
