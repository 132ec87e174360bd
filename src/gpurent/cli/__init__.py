"""The `gpurent` command line (Click + Rich), built on the SDK."""

from __future__ import annotations


def main() -> None:
    from gpurent.cli.app import make_root

    make_root()(prog_name="gpurent")
