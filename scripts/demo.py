"""`ape run demo`: the same as `make demo` / `gpurent demo`.

Runs the main job end to end on its own fresh stack (Anvil, Kubo, podman, the indexer, the
oracle, a provider agent): builds and pushes the sample image, rents the GPU as test account 5,
follows the job to settlement and prints its output, timeline, costs, the provider's reputation
before and after, and the indexer's answer to a GraphQL query; then stops everything.
"""

from __future__ import annotations

import click


@click.command(short_help="Run the main job end to end on a fresh local stack")
@click.option("--keep-running", is_flag=True, help="Leave the stack up afterwards (`gpurent down` stops it)")
@click.option("--chain", type=click.Choice(("anvil", "geth")), default="anvil", show_default=True)
def cli(keep_running: bool, chain: str) -> None:
    from ape.logging import logger

    from gpurent import demo

    logger.set_level("ERROR")
    demo.run(keep_running=keep_running, chain=chain)
