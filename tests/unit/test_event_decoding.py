"""The indexer's fast ABI decoding agrees with eth_abi on every type our events use."""

from __future__ import annotations

from eth_abi import decode, encode
from hypothesis import given, settings
from hypothesis import strategies as st

from gpurent.indexer import events as ev

KINDS = ["address", "uint256", "string", "bool", "bytes32", "uint16", "uint8", "string", "uint32"]
values = st.tuples(
    st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()), st.integers(0, 2**256 - 1), st.text(),
    st.booleans(), st.binary(min_size=32, max_size=32), st.integers(0, 2**16 - 1), st.integers(0, 255), st.text(),
    st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None)
@given(values)
def test_fast_decoding_matches_eth_abi(vals):
    data = encode(KINDS, list(vals))
    assert ev.fast_decode(KINDS, data) == [ev.normalise(v, k) for v, k in zip(decode(KINDS, data), KINDS, strict=True)]


def test_static_words():
    assert ev.static_word("address", bytes(12) + bytes.fromhex("ab" * 20)) == "0x" + "ab" * 20
    assert ev.static_word("bool", (1).to_bytes(32, "big")) is True
    assert ev.static_word("uint8", (7).to_bytes(32, "big")) == 7
