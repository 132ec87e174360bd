"""Attacks on the gateway, on the real stack (Anvil, a real index, the gateway on uvicorn): a
GraphQL WebSocket through it."""

from __future__ import annotations

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.gateway.test_gateway import gateway, indexed, index_db  # noqa: F401 - fixtures


# ---------------------------------------------------------------------- 1. GraphQL: HTTP only

def test_graphql_through_the_gateway_is_http_only(gateway):
    server, _, indexer = gateway
    for path in ("/graphql", "/graphql/"):
        for protocols in (["graphql-transport-ws"], ["graphql-ws"], None):
            with pytest.raises(InvalidStatus) as refused:
                connect(server.url.replace("http://", "ws://") + path, subprotocols=protocols, open_timeout=10)
            assert refused.value.response.status_code == 403, (path, protocols)
    query = requests.post(f"{server.url}/graphql", json={"query": "{ indexer { chainId } }"}, timeout=10)
    assert query.json()["data"]["indexer"]["chainId"] == indexer.manifest.chain_id  # HTTP queries as before
    over_http = requests.post(f"{server.url}/graphql", json={"query": "subscription { newGPUAvailable { id } }"},
                              headers={"Accept": "multipart/mixed;subscriptionSpec=1.0, application/json"}, timeout=10)
    assert over_http.headers["content-type"].startswith("application/json")  # no subscription streamed either
    assert "subscription" in over_http.json()["errors"][0]["message"].lower(), over_http.text[:300]
