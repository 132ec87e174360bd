"""The GraphQL API's bounds on what one operation returns, over HTTP on the real server: every
list nested in a row takes a limit (default 20, at most 100), and an operation whose worst case
(the limits multiplied along each nesting, summed) is over 5,000 objects is refused before it
runs, in one line that names the bound."""

from __future__ import annotations

import logging

from gpurent.indexer.api import MAX_PAGE
from tests.indexer.test_graphql import _post, indexed, served  # noqa: F401 - the fixtures, reused

BOUND = "over the bound of 5,000"  # (the bound, as the API documents it)


def ask(url: str, query: str, **variables: object) -> dict:
    reply = _post(url, {"query": query, "variables": variables})
    assert reply.status_code == 200, reply.text[:300]
    return reply.json()


def refusal(answer: dict) -> str:
    assert answer.get("data") is None, answer
    message = answer["errors"][0]["message"]
    assert "\n" not in message
    return message


def test_nested_lists_take_a_bounded_limit(served, cast):
    provider2 = cast.provider2.address
    every = 'query($a: String!) { provider(address: $a) { gpus { id } } }'
    assert len(ask(served, every, a=provider2)["data"]["provider"]["gpus"]) == 3  # within the default (20)
    gpus = 'query($a: String!, $n: Int) { provider(address: $a) { gpus(limit: $n) { id } } }'
    assert len(ask(served, gpus, a=provider2, n=1)["data"]["provider"]["gpus"]) == 1
    over = ask(served, gpus, a=provider2, n=MAX_PAGE + 1)
    assert f"limit must be between 1 and {MAX_PAGE}, got {MAX_PAGE + 1}" in over["errors"][0]["message"]

    done = ask(served, '{ jobs(status: "completed") { id } }')["data"]["jobs"][0]["id"]
    history = 'query($id: String!, $n: Int!) { job(id: $id) { history(limit: $n) { status } } }'
    first_two = ask(served, history, id=done, n=2)["data"]["job"]["history"]
    assert [h["status"] for h in first_two] == ["Created", "Accepted"]
    changes = ask(served, 'query($id: String!) { job(id: $id) { history { status } } }', id=done)["data"]["job"]
    assert len(changes["history"]) == 4  # within the default (20)
    assert "limit must be between 1" in ask(served, history, id=done, n=0)["errors"][0]["message"]
    reputation = 'query($a: String!) { provider(address: $a) { history(limit: 101) { kind } } }'
    assert "limit must be between 1" in ask(served, reputation, a=provider2)["errors"][0]["message"]

    for query in ("{ jobs(limit: 101) { id } }", f'{{ myJobs(address: "{provider2}", limit: 101) {{ id }} }}',
                  "{ gpus(limit: 101) { id } }", "{ images(limit: 101) { cid } }", "{ gpus(offset: -1) { id } }",
                  "{ jobs(offset: -1) { id } }"):  # the top-level pages: bounded as before
        message = ask(served, query)["errors"][0]["message"]
        assert "limit must be between 1 and 100" in message or "offset must be 0 or more" in message, (query, message)


def test_an_operation_over_the_cost_bound_is_refused_naming_it(served, caplog):
    caplog.set_level(logging.INFO)
    wide = "{ gpus(limit: 100) { provider { history(limit: 100) { kind } } } }"  # 100 + 100 + 100 x 100
    message = refusal(ask(served, wide))
    assert "10,200 objects" in message and BOUND in message, message
    through_variables = "query($n: Int!) { jobs(limit: $n) { history(limit: $n) { status } } }"
    assert BOUND in refusal(ask(served, through_variables, n=100))  # 100 + 100 x 100
    assert ask(served, through_variables, n=10)["data"]["jobs"]  # 10 + 100: fine
    assert BOUND in refusal(ask(served, "{ gpus(limit: 100) { provider { gpus(limit: 100) { id } } } }"))
    variable_default = "query($n: Int = 100) { gpus(limit: $n) { provider { gpus(limit: $n) { id } } } }"
    assert BOUND in refusal(ask(served, variable_default))
    fragment = "{ gpus(limit: 100) { ...P } } fragment P on Gpu { provider { gpus(limit: 60) { id } } }"
    assert BOUND in refusal(ask(served, fragment))  # 100 + 100 + 6,000
    inline = "{ gpus(limit: 100) { ... on Gpu { provider { gpus(limit: 60) { id } } } } }"
    assert BOUND in refusal(ask(served, inline))
    spread_often = "{ gpus(limit: 100) { ...P ...P } } fragment P on Gpu { provider { gpus(limit: 20) { id } } }"
    assert ask(served, spread_often)["data"]["gpus"]  # 100 + 2 x (100 + 2,000): 4,300, within
    aliased = " ".join(f"g{i}: gpus(limit: 100) {{ provider {{ gpus(limit: 2) {{ id }} }} }}" for i in range(20))
    assert "8,000 objects" in refusal(ask(served, f"{{ {aliased} }}"))  # 20 x 400: each alone is fine
    assert ask(served, " ".join(f"g{i}: gpus(limit: 100) {{ provider {{ address }} }}" for i in range(20))
               .join("{}"))["data"]["g0"]  # 20 x 200
    defaults = "{ gpus { provider { gpus { provider { address } } } } }"  # 50 + 50 + 1,000 + 1,000
    assert ask(served, defaults)["data"]["gpus"][0]["provider"]["gpus"]
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage()[:200] for r in caplog.records if r.exc_info]
    refused = [r.getMessage() for r in caplog.records if BOUND in r.getMessage()]
    assert len(refused) >= 6 and all("\n" not in m for m in refused)
