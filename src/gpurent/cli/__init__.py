"""The `gpurent` command line (Click + Rich), built on the SDK: the context (the application
object, global options, the abort path) is :mod:`gpurent.command`, the root :mod:`gpurent.cli.root`,
one module per command group beside it."""

from __future__ import annotations


def main() -> None:
    from gpurent.cli.root import make_root

    make_root()(prog_name="gpurent")
