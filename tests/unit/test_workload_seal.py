"""Sealed boxes and sealed streams: round trips, tampering, truncation, trailing bytes, keys."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpurent.workload.seal import (
    CHUNK,
    KeyPair,
    SealError,
    open_sealed,
    open_secret,
    open_stream,
    seal,
    seal_secret,
    seal_stream,
)

PAIR = KeyPair.generate()


def _sealed(data: bytes, pair: KeyPair = PAIR) -> bytes:
    out = io.BytesIO()
    seal_stream(pair.public_bytes, io.BytesIO(data), out)
    return out.getvalue()


def _open(data: bytes, pair: KeyPair = PAIR) -> bytes:
    out = io.BytesIO()
    open_stream(pair, io.BytesIO(data), out)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_stream_round_trip(size: int) -> None:
    data = os.urandom(size)
    assert _open(_sealed(data)) == data


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=3 * CHUNK), st.data())
def test_any_flipped_bit_is_detected(data: bytes, draw: st.DataObject) -> None:
    sealed = bytearray(_sealed(data))
    position = draw.draw(st.integers(0, len(sealed) - 1))
    sealed[position] ^= 1 << draw.draw(st.integers(0, 7))
    with pytest.raises(SealError):
        _open(bytes(sealed))


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2 * CHUNK + 10), st.data())
def test_any_truncation_is_detected(data: bytes, draw: st.DataObject) -> None:
    sealed = _sealed(data)
    cut = draw.draw(st.integers(0, len(sealed) - 1))
    with pytest.raises(SealError):
        _open(sealed[:cut])


def test_dropped_final_chunk_and_trailing_bytes() -> None:
    data = os.urandom(2 * CHUNK)  # two full chunks plus an empty final one? no: the second is final
    sealed = _sealed(data)
    with pytest.raises(SealError, match="after its final"):
        _open(sealed + b"\0")
    with pytest.raises(SealError, match="after its final"):
        _open(sealed + _sealed(b"x"))
    # the stream without its last frame (length-prefixed): no final tag
    first_frame_end = 6 + 80 + 24 + 4 + CHUNK + 17
    with pytest.raises(SealError, match="truncated"):
        _open(sealed[:first_frame_end])


def test_wrong_key_and_bad_magic() -> None:
    sealed = _sealed(b"hello")
    with pytest.raises(SealError):
        _open(sealed, KeyPair.generate())
    with pytest.raises(SealError, match="magic"):
        _open(b"GPRS2\n" + sealed[6:])


def test_box_round_trip_and_tamper() -> None:
    box = seal(PAIR.public_bytes, b"manifest")
    assert open_sealed(PAIR, box) == b"manifest"
    with pytest.raises(SealError):
        open_sealed(PAIR, box[:-1] + bytes([box[-1] ^ 1]))
    with pytest.raises(SealError):
        open_sealed(KeyPair.generate(), box)


def test_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "results.key"
    pair = KeyPair.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyPair.load(path).public_bytes == pair.public_bytes
    assert KeyPair.load_or_create(path).public_b64 == pair.public_b64
    assert pair.public_b64 in repr(pair) and path.read_text().strip() not in repr(pair)
    path.write_text("garbage")
    with pytest.raises(SealError, match="not a gpurent key"):
        KeyPair.load(path)


def test_secret_is_bound_to_name_and_renter() -> None:
    renter = "0x" + "ab" * 20
    sealed = seal_secret(PAIR.public_bytes, "HF_TOKEN", renter, "hf_secret")
    assert open_secret(PAIR, sealed, "HF_TOKEN", renter.upper().replace("0X", "0x")) == "hf_secret"
    with pytest.raises(SealError, match="another renter"):
        open_secret(PAIR, sealed, "HF_TOKEN", "0x" + "cd" * 20)
    with pytest.raises(SealError, match="another name"):
        open_secret(PAIR, sealed, "OTHER", renter)
    with pytest.raises(SealError):
        open_secret(KeyPair.generate(), sealed, "HF_TOKEN", renter)
