"""What `gpurent jobs create` checks before any token is locked: the image (through an IPFS
node), the provider's agent (its ``/health``: reachable, this provider's, serving this GPU) and
the GPU's queue (from the marketplace's events).

A :class:`Problem` that ``blocks`` is evidence the job would not run (an IPFS node answers and
the image is not to be had or not usable; the agent answers as this provider's and does not
serve the GPU): `jobs create` asks (default no) and with ``--yes`` refuses unless ``--force``.
One that does not block only means a check could not be made (no IPFS node, the agent does not
answer): it is shown and the job goes on as asked.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from gpurent.errors import GpurentError, InvalidInput

if TYPE_CHECKING:
    from gpurent.command import App
    from gpurent.sdk.client import Gpurent

HEALTH_TIMEOUT_S = 5.0  # the provider's /health must answer within this
IMAGE_TIMEOUT_S = 10.0  # the image's metadata must come from IPFS within this
MAYBE = "the job may sit Created, its funds locked, until you cancel it"


class Refused(InvalidInput):
    """The job would not run: nothing is locked."""


class Problem(NamedTuple):
    text: str
    blocks: bool  # evidence the job would not run, not only a check that could not be made
    fine: bool = False  # not a problem: what a check found (printed as information)


def check_terms(gp: Gpurent, quote: Decimal, limit: Decimal) -> None:
    """What the chain would refuse, said first and alone: a quote above the cost limit, a
    balance short of the quote (the contract's and the token's own messages)."""
    from gpurent.reverts import contract_error, insufficient_balance
    from gpurent.units import to_base_units

    needed = to_base_units(quote)
    if to_base_units(limit) < needed:
        raise contract_error("MarketplaceCostAboveLimit", {"maxCost": needed, "limit": to_base_units(limit)},
                             "create a job on")
    balance = int(gp.token.balanceOf(gp.address))
    if balance < needed:
        raise insufficient_balance("create a job on", balance, needed)


def image_problem(app: App, image_cid: str) -> Problem | None:
    """What is wrong with the image, or what it is when it checked out (``fine``); None when no
    IPFS node could be asked. A CID that is not a gpurent image raises NotAGpurentImage."""
    from gpurent.errors import ImageError, NotAGpurentImage, ServiceUnavailable
    from gpurent.images.store import ImageStore, validate_cid
    from gpurent.local.ipfs import ipfs_client

    validate_cid(image_cid)
    try:
        ipfs = ipfs_client()
    except ServiceUnavailable as err:  # no node to ask (as before: said with -v); the agent checks it
        if app.output.verbose:
            app.output.info(f"not checking the image: {_line(err)}")
        return None
    try:
        metadata = ImageStore(ipfs, max_bytes=1 << 62).metadata(image_cid, timeout_s=IMAGE_TIMEOUT_S)
    except NotAGpurentImage:
        raise
    except ImageError as err:  # the node answers: not found in time, too large, unusable
        return Problem(f"could not check the image: {_line(err)}", blocks=True)
    except ServiceUnavailable as err:  # the configured node does not answer: no evidence either way
        return Problem(f"could not check the image: {_line(err)}", blocks=False)
    return Problem(f"image {metadata.reference} ({metadata.size:,} bytes, pushed {metadata.created})",
                   blocks=False, fine=True)


def agent_problem(gp: Gpurent, resource_id: str, provider: str) -> Problem | None:
    """Why the provider's agent may not run a job on ``resource_id``, or None when it answers
    as this provider's agent on this chain, serves the GPU and takes work."""
    from gpurent.sdk.provider import ProviderEndpoint

    endpoint = gp.provider(provider).endpoint
    try:
        health = ProviderEndpoint(endpoint, None, gp.manifest.chain_id, timeout_s=HEALTH_TIMEOUT_S).health()
    except GpurentError as err:  # InvalidEndpoint, ServiceUnavailable, MalformedAnswer, a refusal
        return Problem(f"the provider's agent was not reached ({_line(err)}): {MAYBE}", blocks=False)
    served = health.serves(provider, gp.manifest.chain_id, resource_id)
    if served is False:
        return Problem(f"GPU {resource_id[:10]}… is not served by its provider's agent at {_line(endpoint)} "
                       f"(it serves {len(health.gpus or ())} other GPU(s)): the job would never start", blocks=True)
    if served is None:
        return Problem(f"the endpoint {_line(endpoint)} does not answer as this provider's agent on this "
                       f"chain: {MAYBE}", blocks=False)
    if not health.accepting:
        return Problem(f"the provider's agent takes no work now: {MAYBE}", blocks=False)
    return None


def queue_note(gp: Gpurent, resource_id: str) -> str | None:
    """The GPU's open jobs, when it has any (the new job waits for them)."""
    load = gp.gpu_loads().get(resource_id.lower())
    if load is None or not load.busy:
        return None
    return (f"GPU {resource_id[:10]}… is busy: {load.running} job(s) running, {load.waiting} waiting; "
            "yours starts after them")


def report(app: App, problems: list[Problem | None]) -> None:
    """Each check's finding on stderr: a warning, or information when it is ``fine``."""
    for problem in filter(None, problems):
        (app.output.info if problem.fine else app.output.warn)(problem.text)


def settle(problems: list[Problem | None], yes: bool, force: bool) -> bool:
    """Whether to ask "lock anyway?" (default no) rather than the usual question: True when a
    problem blocks and no flag was given; Refused (one line naming --force) when one blocks
    under --yes without --force."""
    blocking = [p for p in problems if p is not None and p.blocks]
    if not blocking or force:
        return False
    if yes:
        raise Refused(f"{blocking[0].text}; nothing was locked (pass --force to lock the funds anyway)")
    return True


def _line(value: BaseException | str) -> str:
    """One line of an error or of the provider's endpoint, safe for a terminal, bounded."""
    from gpurent.http import one_line
    from gpurent.output import safe_text

    return safe_text(one_line(value) if isinstance(value, BaseException) else value[:200])
