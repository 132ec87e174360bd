"""`gpurent gpus`: search the GPU registry."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import click

from gpurent.command import App
from gpurent.limits import BPS
from gpurent.types import Reputation
from gpurent.units import percent_to_bps
from gpurent.cli.common import GPU_ID, PERCENT, TOKENS, UINT16, UINT32, pass_app, resource_row


@click.group("gpus")
def group() -> None:
    """Search and inspect GPUs for rent."""


@group.command("list")
@click.option("--model", help="GPU model contains this text (case-insensitive)")
@click.option("--min-vcpu", type=UINT16, default=0)
@click.option("--min-memory", type=UINT32, default=0, help="GiB")
@click.option("--min-storage", type=UINT32, default=0, help="GiB")
@click.option("--max-price", type=TOKENS, help="Tokens per hour")
@click.option("--min-reputation", type=click.IntRange(0, 1000), default=0)
@click.option("--min-uptime", type=PERCENT, help="The provider's uptime component at least this percentage "
              "(0-100, decimals; a provider not measured yet counts 50, as its score does)")
@click.option("--min-response", type=PERCENT, help="The provider's response component at least this percentage "
              "(0-100, decimals; a provider not measured yet counts 50)")
@click.option("--all", "show_all", is_flag=True, help="Include unavailable and retired GPUs")
@click.option("--sort", type=click.Choice(["price", "reputation"]), default="price", show_default=True)
@click.option("--image", metavar="CID", help="Say at each GPU's provider whether this image is cached already "
              "(ready: starts without a download; stored: loaded from its node; absent; unknown), as its agent says")
@pass_app
def list_gpus(app: App, model: str | None, min_vcpu: int, min_memory: int, min_storage: int,
              max_price: Decimal | None, min_reputation: int, min_uptime: Decimal | None, min_response: Decimal | None,
              show_all: bool, sort: str, image: str | None) -> None:
    """GPUs matching the filters (from the indexer when one runs, else from the chain), each with
    its open jobs: running, and waiting for it (a GPU can be available and busy)."""
    from gpurent.images.store import validate_cid
    from gpurent.indexer.service import bps_percent, find_gpus, gpu_loads_indexed, graphql_url

    cid = validate_cid(image) if image is not None else None  # before anything is asked of anyone
    columns = COLUMNS + (["image_here"] if cid else [])
    uptime_bps = percent_to_bps(min_uptime) if min_uptime is not None else 0
    response_bps = percent_to_bps(min_response) if min_response is not None else 0
    rows = find_gpus(model, min_vcpu, min_memory, min_storage, max_price, min_reputation, show_all, sort,
                     min_uptime_bps=uptime_bps, min_response_bps=response_bps)
    url = graphql_url() if rows is not None else None
    loads = gpu_loads_indexed(url) if url is not None else None
    if rows is not None and loads is not None:
        rows = _with_image(app, _with_load(rows, loads), cid)
        app.output.data(rows, title=f"{len(rows)} GPU(s) (indexer)", columns=columns)
        return
    gp = app.reader()
    reputations: dict[str, Reputation] = {}
    rows = []
    for r in gp.resources():
        if not show_all and (r.retired or not r.available):
            continue
        if model and model.lower() not in r.gpu_model.lower():
            continue
        if r.vcpu < min_vcpu or r.memory_gb < min_memory or r.storage_gb < min_storage:
            continue
        if max_price is not None and r.price_per_hour > max_price:
            continue
        if r.provider not in reputations:
            reputations[r.provider] = gp.reputation(r.provider)
        rep = reputations[r.provider]
        uptime, response = int(rep.uptime * BPS), int(rep.response * BPS)
        if rep.score < min_reputation or uptime < uptime_bps or response < response_bps:
            continue
        rows.append(resource_row(r, rep.score) | {"uptime_pct": bps_percent(uptime), "response_pct": bps_percent(response)})
    if sort == "price":
        rows.sort(key=lambda row: (row["price_per_hour"], -row["reputation"]))
    else:
        rows.sort(key=lambda row: (-row["reputation"], row["price_per_hour"]))
    rows = _with_load(rows, {rid: (load.running, load.waiting) for rid, load in gp.gpu_loads().items()})
    app.output.data(_with_image(app, rows, cid), title=f"{len(rows)} GPU(s) (chain)", columns=columns)


COLUMNS = ["id", "model", "vcpu", "memory_gb", "price_per_hour", "reputation", "uptime_pct", "response_pct", "available",
           "running", "waiting"]


def _with_load(rows: list[dict[str, object]], loads: Mapping[str, tuple[int, int]]) -> list[dict[str, object]]:
    """``rows`` with each GPU's open jobs: ``running`` and ``waiting`` (created or accepted)."""
    for row in rows:
        running, waiting = loads.get(str(row["id"]).lower(), (0, 0))
        row.update(running=running, waiting=waiting)
    return rows


def _with_image(app: App, rows: list[dict[str, object]], cid: str | None) -> list[dict[str, object]]:
    """``rows`` with ``image_here``: the state of image ``cid`` at each row's provider, as its
    agent says (at most MAX_PROVIDERS providers asked, each for TIMEOUT_S; "unknown" past them)."""
    if cid is None or not rows:
        return rows
    from gpurent.sdk.images_here import MAX_PROVIDERS, ImageProbe, agent_ask
    from gpurent.sdk.rpc_contract import checksum

    gp = app.reader()
    providers = sorted({str(row["provider"]).lower() for row in rows})[:MAX_PROVIDERS]

    def endpoints(addresses: list[str]) -> dict[str, str]:
        return {a: gp.provider(checksum(a)).endpoint for a in addresses}

    probe = ImageProbe(endpoints, agent_ask(gp.manifest.chain_id))
    try:
        states = probe.states(cid, providers)
    finally:
        probe.close()
    for row in rows:
        row["image_here"] = states.get(str(row["provider"]).lower()) or "unknown"
    return rows


@group.command("show")
@click.argument("gpu_id", type=GPU_ID)
@pass_app
def show(app: App, gpu_id: str) -> None:
    """One GPU, with its provider's endpoint and reputation, and its open jobs."""
    gp = app.reader()
    resource = gp.resource(gpu_id)
    rep = gp.reputation(resource.provider)
    info = gp.provider(resource.provider)
    data = resource_row(resource, rep.score)
    load = gp.gpu_loads().get(resource.resource_id.lower())
    data.update({"retired": resource.retired, "total_uptime_s": resource.total_uptime,
                 "endpoint": info.endpoint, "provider_stake": info.stake,
                 "running": load.running if load else 0, "waiting": load.waiting if load else 0})
    app.output.data(data, title=f"GPU {resource.resource_id}")
