"""The indexer's GraphQL API from the client's side: where it is (configured, or gpurent's own
running indexer, :mod:`gpurent.local.indexer`), one query, and the renter's GPU search."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from gpurent.limits import UNMEASURED_BPS
from gpurent.settings import load_settings


def graphql_url() -> str | None:
    """Where to query the index: configured (GPURENT_INDEXER_URL, [indexer] url), else gpurent's
    own running indexer, else None."""
    configured = load_settings().indexer_url
    if configured:
        return configured
    from gpurent.local.indexer import running

    process = running()
    return process.graphql_url if process else None


def query(url: str, document: str, variables: dict[str, Any] | None = None, timeout_s: float = 10.0) -> Any:
    """The ``data`` of a GraphQL query; ConnectionError or ValueError (the API's message) if not."""
    response = requests.post(url, json={"query": document, "variables": variables or {}}, timeout=timeout_s)
    body = response.json()
    if body.get("errors"):
        raise ValueError(body["errors"][0]["message"])
    return body["data"]


GPUS_QUERY = """query($f: GpuFilter, $sort: GpuSort!, $offset: Int!) {
  gpus(filters: $f, sort: $sort, limit: 100, offset: $offset) {
    id gpuModel vcpu memoryGb storageGb pricePerHour available retired providerAddress reputation uptimeBps responseBps } }"""


def find_gpus(model: str | None = None, min_vcpu: int = 0, min_memory: int = 0, min_storage: int = 0,
              max_price: Decimal | None = None, min_reputation: int = 0, show_all: bool = False,
              sort: str = "price", min_uptime_bps: int = 0,
              min_response_bps: int = 0) -> list[dict[str, object]] | None:
    """GPUs matching the filters, through the indexer's GraphQL API (every page), as rows of
    plain values (the provider's components in percent, unmeasured ones as the chain counts
    them); None when no indexer answers or it indexes another deployment."""
    from gpurent.manifest import load_manifest

    url = graphql_url()
    if url is None:
        return None
    try:  # the index must be of the deployment this CLI uses
        me = query(url, "{ indexer { chainId marketplace } }", timeout_s=3)["indexer"]
    except (requests.RequestException, ValueError, KeyError):
        return None
    manifest = load_manifest(int(me["chainId"]))
    if manifest is None or manifest.contracts["Marketplace"].lower() != me["marketplace"].lower():
        return None
    filters = {"model": model, "minVcpu": min_vcpu, "minMemoryGb": min_memory, "minStorageGb": min_storage,
               "maxPrice": float(max_price) if max_price is not None else None,
               "minReputation": min_reputation or None, "minUptimeBps": min_uptime_bps or None,
               "minResponseBps": min_response_bps or None, "available": None if show_all else True,
               "includeRetired": show_all}
    rows: list[dict[str, object]] = []
    try:
        while True:  # page through
            page = query(url, GPUS_QUERY, {"f": filters, "offset": len(rows),
                                                   "sort": "PRICE_ASC" if sort == "price" else "REPUTATION_DESC"})
            rows += [{"id": g["id"], "model": g["gpuModel"], "vcpu": g["vcpu"], "memory_gb": g["memoryGb"],
                      "storage_gb": g["storageGb"], "price_per_hour": Decimal(g["pricePerHour"]),
                      "available": g["available"] and not g["retired"], "provider": g["providerAddress"],
                      "reputation": g["reputation"] or 0, "uptime_pct": bps_percent(g["uptimeBps"]),
                      "response_pct": bps_percent(g["responseBps"])} for g in page["gpus"]]
            if len(page["gpus"]) < 100:
                return rows
    except (requests.RequestException, ValueError, KeyError):
        return None  # fall back to the chain


def bps_percent(bps: int | None) -> Decimal:
    """Basis points as a percentage (9925 -> 99.25); None (not measured yet) as the chain counts it."""
    return (Decimal(UNMEASURED_BPS if bps is None else int(bps)) / 100).normalize() + 0


OPEN_JOBS_QUERY = """query($status: String!, $offset: Int!) {
  jobs(status: $status, limit: 100, offset: $offset) { resourceId } }"""
OPEN_JOBS_MAX = 10_000  # open jobs read per status; past it the counts say "at least"


def gpu_loads_indexed(url: str) -> dict[str, tuple[int, int]] | None:
    """Each GPU's open jobs from the index (lower-case resource id → (running, waiting)); None
    when the indexer does not answer."""
    counts: dict[str, list[int]] = {}
    try:
        for status, column in (("Running", 0), ("Created", 1), ("Accepted", 1)):
            offset = 0
            while offset < OPEN_JOBS_MAX:
                page = query(url, OPEN_JOBS_QUERY, {"status": status, "offset": offset})["jobs"]
                for job in page:
                    counts.setdefault(str(job["resourceId"]).lower(), [0, 0])[column] += 1
                offset += len(page)
                if len(page) < 100:
                    break
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None
    return {rid: (running, waiting) for rid, (running, waiting) in counts.items()}
