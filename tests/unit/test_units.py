from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpurent.units import TOKEN, to_base_units, to_tokens


@pytest.mark.parametrize(
    "tokens,units",
    [("7.35", 7_350_000_000_000_000_000), (Decimal("0.15"), 150_000_000_000_000_000), (10, 10 * TOKEN),
     ("0.000000000000000001", 1), ("0", 0)],
)
def test_to_base_units(tokens, units):
    assert to_base_units(tokens) == units


@pytest.mark.parametrize("bad", [0.1, "abc", "1e-19", "0.0000000000000000001", "NaN", "Infinity"])
def test_to_base_units_rejects(bad):
    with pytest.raises(ValueError):
        to_base_units(bad)


def test_to_tokens_has_no_exponent():
    assert str(to_tokens(100 * TOKEN)) == "100"
    assert str(to_tokens(7_350_000_000_000_000_000)) == "7.35"
    assert str(to_tokens(0)) == "0"
    assert to_tokens(1) == Decimal("0.000000000000000001")
    assert to_tokens(2**96) == Decimal("79228162514.264337593543950336")


@given(st.integers(min_value=0, max_value=2**96))
def test_round_trip(units):
    assert to_base_units(to_tokens(units)) == units
