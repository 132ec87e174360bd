"""The GraphQL API over a real index: filters, sorts, pages, limits, and a live subscription."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from gpurent.indexer.api import MAX_PAGE, GpuFilter, Hub, gpus_query, make_schema
from gpurent.limits import BPS, UNMEASURED_BPS
from gpurent.local.process import free_port
from gpurent.units import TOKEN
from tests.indexer.test_indexer import busy_chain, make_indexer


@pytest.fixture
def indexed(db_url, suite, cast, chain, manifest):
    made = busy_chain(suite, cast, chain)
    reg = suite.registry
    tok = suite.token
    tok.approve(reg, 100 * TOKEN, sender=cast.provider2)
    reg.registerProvider("http://127.0.0.1:9999", 100 * TOKEN, sender=cast.provider2)
    for model, memory, price in (("A100", 80, 3), ("RTX4090", 24, 1), ("H100", 80, 8)):
        reg.registerResource(model, 16, memory, 500, price * TOKEN, sender=cast.provider2)
    indexer = make_indexer(db_url, manifest, chain)
    indexer.sync()
    return indexer, made


def run(indexer, query: str, **variables):
    result = make_schema().execute_sync(query, variable_values=variables,
                                        context_value={"engine": indexer.engine, "hub": Hub(),
                                                       "manifest": indexer.manifest})
    return result


def test_gpu_filters_and_sorts(indexed, cast, gp):
    indexer, made = indexed
    q = """query($f: GpuFilter, $sort: GpuSort!, $limit: Int!, $offset: Int!) {
             gpus(filters: $f, sort: $sort, limit: $limit, offset: $offset) {
               id gpuModel memoryGb pricePerHour available reputation provider { address score } } }"""
    everything = run(indexer, q, f=None, sort="PRICE_ASC", limit=50, offset=0)
    assert everything.errors is None
    gpus = everything.data["gpus"]
    # available, not retired: provider's RTX4090 at 10, provider2's three (the A100 at 20 was retired)
    assert [g["pricePerHour"] for g in gpus] == ["1", "3", "8", "10"]
    assert all(g["available"] for g in gpus)
    by_price = run(indexer, q, f={"maxPrice": 5.0, "minMemoryGb": 32}, sort="PRICE_ASC", limit=50, offset=0)
    assert [(g["gpuModel"], g["pricePerHour"]) for g in by_price.data["gpus"]] == [("A100", "3")]
    desc = run(indexer, q, f={"model": "RTX4090"}, sort="PRICE_DESC", limit=50, offset=0).data["gpus"]
    assert [g["pricePerHour"] for g in desc] == ["10", "1"]
    mine = run(indexer, q, f={"provider": cast.provider2.address.upper().replace("0X", "0x")}, sort="MEMORY_DESC",
               limit=2, offset=1).data["gpus"]
    assert [g["memoryGb"] for g in mine] == [80, 24]  # page 2 of [80, 80, 24] by memory, then id
    scores = {a.address.lower(): gp.reputation(a.address).score for a in (cast.provider, cast.provider2)}
    low, high = sorted(scores.values())
    assert low < high  # provider was penalised; provider2 is new (0.5 uptime and response: 700)
    scored = run(indexer, q, f={"minReputation": high}, sort="REPUTATION_DESC", limit=50, offset=0).data["gpus"]
    assert {g["provider"]["address"] for g in scored} == {a for a, v in scores.items() if v == high}
    ranked = run(indexer, q, f=None, sort="REPUTATION_DESC", limit=50, offset=0).data["gpus"]
    assert [g["reputation"] for g in ranked] == sorted((scores[g["provider"]["address"]] for g in ranked),
                                                        reverse=True)
    retired = run(indexer, q, f={"available": False}, sort="PRICE_ASC", limit=50, offset=0).data["gpus"]
    assert retired == []  # retired GPUs are never offered


def test_gpu_filters_on_the_reputations_components(indexed, cast, gp):
    """minUptimeBps / minResponseBps narrow by the provider's components, as the chain has them
    (a provider not measured yet counts the contract's UNMEASURED_BPS); each row carries them."""
    indexer, _ = indexed
    q = """query($f: GpuFilter) { gpus(filters: $f, limit: 50) { providerAddress uptimeBps responseBps } }"""
    chain = {a.address.lower(): gp.reputation(a.address) for a in (cast.provider, cast.provider2)}
    bps = {a: (int(r.uptime * BPS), int(r.response * BPS)) for a, r in chain.items()}
    measured, new = cast.provider.address.lower(), cast.provider2.address.lower()
    assert bps[new] == (UNMEASURED_BPS, UNMEASURED_BPS) and bps[measured][1] > UNMEASURED_BPS
    rows = run(indexer, q, f=None).data["gpus"]
    assert {(g["providerAddress"], g["uptimeBps"], g["responseBps"]) for g in rows} == {
        (measured, *bps[measured]), (new, None, None)}  # null: not measured yet
    for key, column in (("minUptimeBps", 0), ("minResponseBps", 1)):
        for least in (0, UNMEASURED_BPS, UNMEASURED_BPS + 1, bps[measured][column], bps[measured][column] + 1, BPS):
            found = {g["providerAddress"] for g in run(indexer, q, f={key: least}).data["gpus"]}
            assert found == {a for a, v in bps.items() if v[column] >= least}, (key, least)
    both = run(indexer, q, f={"minUptimeBps": 0, "minResponseBps": bps[measured][1]}).data["gpus"]
    assert {g["providerAddress"] for g in both} == {measured}
    for bad in (-1, BPS + 1):
        refused = run(indexer, q, f={"minResponseBps": bad})
        assert refused.errors and f"minResponseBps must be between 0 and {BPS}" in refused.errors[0].message


def test_component_filters_keep_the_price_index(indexed):
    """On SQLite the page still walks gpu_by_price (the provider row joined by its key), as it
    does for minReputation: no scan of every GPU."""
    indexer, _ = indexed
    if indexer.engine.dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's")
    query = gpus_query(GpuFilter(min_uptime_bps=9000, min_response_bps=9000, min_reputation=500), limit=26)
    sql = str(query.compile(indexer.engine, compile_kwargs={"literal_binds": True}))
    with indexer.engine.connect() as db:
        plan = " | ".join(row[-1] for row in db.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "USING INDEX gpu_by_price" in plan and "providers USING INDEX" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort of the whole match


def test_jobs_queries_and_lookups(indexed, cast):
    indexer, made = indexed
    jid = "0x" + bytes(made["jobs"]["complete"][0]).hex()
    one = run(indexer, "query($id: String!) { job(id: $id) { status user totalCost history { status } } }", id=jid)
    assert one.data["job"]["status"] == "Completed" and one.data["job"]["user"] == cast.renter.address.lower()
    assert [h["status"] for h in one.data["job"]["history"]] == ["Created", "Accepted", "Running", "Completed"]
    mine = run(indexer, "query($a: String!) { myJobs(address: $a) { id status } }", a=cast.renter.address)
    assert len(mine.data["myJobs"]) == 3
    by_status = run(indexer, 'query($p: String!) { jobs(provider: $p, status: "resolved") { id } }',
                    p=cast.provider.address)
    assert [j["id"] for j in by_status.data["jobs"]] == ["0x" + bytes(made["jobs"]["dispute"][0]).hex()]
    assert run(indexer, '{ job(id: "0x00") { id } }').data["job"] is None
    provider = run(indexer, "query($a: String!) { provider(address: $a) { score penaltyPoints reports "
                            "history(limit: 50) { kind } } }", a=cast.provider.address).data["provider"]
    assert provider["penaltyPoints"] == 50 and provider["reports"] == 1
    assert {"report", "penalty", "reward", "score"} <= {h["kind"] for h in provider["history"]}
    images = run(indexer, "{ images { cid jobs } }").data["images"]
    assert images[0]["jobs"] == 2
    me = run(indexer, "{ indexer { block events chainId marketplace rows } }").data["indexer"]
    assert me["block"] == indexer.cursor().block and me["events"] > 20
    assert me["rows"]["instance_history"] == 3 and me["rows"]["gpu_resources"] == 5
    assert me["marketplace"] == indexer.manifest.contracts["Marketplace"]


def test_limits_are_enforced_with_clear_errors(indexed):
    indexer, _ = indexed
    too_big = run(indexer, f"{{ gpus(limit: {MAX_PAGE + 1}) {{ id }} }}")
    assert too_big.errors and f"limit must be between 1 and {MAX_PAGE}" in too_big.errors[0].message
    fine = run(indexer, "{ gpus { provider { gpus { provider { address } } } } }")
    assert fine.errors is None and fine.data["gpus"][0]["provider"]["gpus"]
    deep = run(indexer, "{ gpus { provider { gpus { provider { gpus { provider { gpus { id } } } } } } } }")
    assert "exceeds maximum operation depth" in deep.errors[0].message
    bad_address = run(indexer, '{ myJobs(address: "nobody") { id } }')
    assert "is not an address" in bad_address.errors[0].message
    aliases = " ".join(f"a{i}: gpus {{ id }}" for i in range(30))
    assert "aliases" in run(indexer, f"{{ {aliases} }}").errors[0].message.lower()
    fields = " ".join("id gpuModel vcpu memoryGb storageGb pricePerHour available" for _ in range(300))
    assert "token" in run(indexer, f"{{ gpus {{ {fields} }} }}").errors[0].message.lower()


def test_a_subscription_receives_a_status_change(db_url, suite, cast, chain, manifest):
    import websockets

    from gpurent.indexer.daemon import IndexerService

    made = busy_chain(suite, cast, chain, jobs=3)
    indexer = make_indexer(db_url, manifest, chain)
    port = free_port()
    service = IndexerService(indexer, poll_s=0.05, graphql=("127.0.0.1", port))
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (service.graphql is not None and service.graphql.server.started):
        assert thread.is_alive() and time.monotonic() < deadline, "the GraphQL server did not start"
        time.sleep(0.05)
    m = suite.marketplace
    job = m.createJob(made["resources"][0], "bafkreinewjob", 600, 2**256 - 1, sender=cast.renter).events.filter(m.JobCreated)[0]
    job_id = "0x" + bytes(job.jobId).hex()

    async def watch() -> list[str]:
        seen: list[str] = []
        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($id: String!) { jobStatusChanged(jobId: $id) { id status } }",
                "variables": {"id": job_id}}}))
            await asyncio.sleep(0.3)
            await asyncio.get_running_loop().run_in_executor(None, lambda: (
                m.acceptJob(job.jobId, sender=cast.provider), m.startJob(job.jobId, sender=cast.provider)))
            while not seen or seen[-1] != "Running":
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                assert message["type"] == "next", message
                seen.append(message["payload"]["data"]["jobStatusChanged"]["status"])
        return seen

    try:
        statuses = asyncio.run(watch())
    finally:
        service.stop()
        thread.join(timeout=20)
    order = ["Created", "Accepted", "Running"]
    assert statuses[-1] == "Running" and statuses == sorted(statuses, key=order.index), statuses


# ------------------------------------------------------------------ hostile requests, over HTTP


@pytest.fixture
def served(indexed, caplog):
    """The indexed chain behind the real GraphQL server (uvicorn on a free port)."""
    from gpurent.indexer.daemon import GraphQLServer

    indexer, _ = indexed
    server = GraphQLServer(indexer.engine, Hub(), indexer.manifest, "127.0.0.1", free_port())
    server.start(timeout_s=60)
    try:
        yield server.url
    finally:
        server.stop()


HOSTILE = {  # what an attacker sends -> a part of the error the API must answer with
    "unknown fragment": ({"query": "{ gpus { ...Missing } }"}, "Unknown fragment 'Missing'"),
    "fragment cycle": ({"query": "{ gpus { ...A } } fragment A on Gpu { ...B } fragment B on Gpu { ...A }"},
                       "Cannot spread fragment"),
    "negative maxPrice": ({"query": "{ gpus(filters: {maxPrice: -1}) { id } }"}, "maxPrice must be 0 or more"),
    "deep variables": ({"query": "query($m: String) { gpus(filters: {model: $m}) { id } }",
                        "variables": {"m": "x"}, "nest": 30_000}, "JSON nested deeper than 32"),
    "variables 100,000 deep": ({"query": "query($m: String) { gpus(filters: {model: $m}) { id } }",
                                "variables": {"m": "x"}, "nest": 100_000}, "over the limit of 65,536"),
    "huge body": ({"query": "{ gpus { id } }", "variables": {"m": "x" * 100_000}}, "over the limit of 65,536"),
    "variables not an object": ({"query": "{ gpus { id } }", "variables": [1]}, "must be an object"),
}


def _post(url: str, body: dict) -> "requests.Response":
    import requests

    nest = body.pop("nest", 0)
    text = json.dumps(body)
    if nest:  # {"query": …, "variables": {"m": [[[…"x"…]]]}}: valid JSON, `nest` levels deep
        text = text.replace('"x"', "[" * nest + '"x"' + "]" * nest)
    return requests.post(url, data=text, headers={"Content-Type": "application/json"}, timeout=60)


def test_hostile_requests_get_graphql_errors_and_one_log_line(served, caplog):
    import logging

    import requests

    caplog.set_level(logging.INFO)
    for name, (body, expected) in HOSTILE.items():
        reply = _post(served, dict(body))
        assert reply.status_code in (200, 400, 413), (name, reply.status_code, reply.text[:300])
        errors = reply.json()["errors"]  # a GraphQL error, never plain text or a 500
        assert any(expected in e["message"] for e in errors), (name, errors)
    # a price filter above any GPU's price matches every GPU (it used to leak a SQLite overflow)
    everything = _post(served, {"query": "{ gpus(filters: {maxPrice: 1e300}) { id } }"})
    assert everything.status_code == 200 and "errors" not in everything.json(), everything.text
    assert len(everything.json()["data"]["gpus"]) == 4
    odd = requests.post(served, data=b"{}", timeout=30, headers={"Content-Type": "application/json",
                                                                  "Content-Length": "-1"})
    assert odd.status_code == 400
    # a chunked body announces no length: it is refused as it grows past the cap, never read whole
    chunked = requests.post(served, data=iter([b'{"query": "' + b" " * 65536] * 64), timeout=30,
                            headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413 and chunked.json()["errors"], chunked.text[:200]
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()], \
        [r.getMessage()[:200] for r in caplog.records if r.exc_info]
    refusals = [r for r in caplog.records if r.name == "gpurent.indexer.api"]
    assert len(refusals) >= len(HOSTILE) and all("\n" not in r.getMessage() for r in refusals)
    assert _post(served, {"query": "{ gpus { id } }"}).json()["data"]["gpus"]  # and it still serves
