"""A parameter change's values as the operator page and the CLI hand them over (text or typed),
read before anything is sent, and told back in words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpurent.errors import InvalidInput
from gpurent.sdk.proposals import PARAMETERS, arguments, change_text, parameter, shown


def test_values_are_read_from_text_or_typed_and_bounded():
    assert arguments(parameter("fee_bps"), (" 300 ",)) == (300,)
    assert arguments(parameter("fee_bps"), (300,)) == (300,)
    assert arguments(parameter("dispute_bond"), ("500", "2.5")) == (500, 2_500_000_000_000_000_000)
    (treasury,) = arguments(parameter("treasury"), ("0x" + "ab" * 20,))
    assert treasury.lower() == "0x" + "ab" * 20 and treasury != treasury.lower()  # checksummed
    for key, values, words in (("fee_bps", ("3%",), "whole number of basis points"),
                               ("fee_bps", (True,), "whole number"),
                               ("fee_bps", ("²",), "whole number"),  # a digit to str.isdigit, not to int()
                               ("fee_bps", (str(2**256),), "whole number"),
                               ("unstake_cooldown", ("-1",), "whole number of seconds"),
                               ("min_stake", ("1e400",), "a plain decimal number of tokens"),
                               ("min_stake", ("1e999999999",), "a plain decimal number of tokens"),
                               ("min_stake", ("9" * 60,), "more than a uint256"),
                               ("min_stake", ("1" * 101,), "at most 100 characters"),
                               ("treasury", ("0x1234",), "an address is 0x and 40 hex digits"),
                               ("timeouts", ("1", "2"), "takes 4 value(s)")):
        with pytest.raises(InvalidInput, match=words.replace("(", r"\(").replace(")", r"\)")):
            arguments(parameter(key), values)
    with pytest.raises(InvalidInput, match="unknown parameter"):
        parameter("x" * 500)


def test_a_change_is_told_in_words_against_the_current_values():
    current = {"fee_bps": 200, "accept_timeout_s": 3600, "start_timeout_s": 900, "completion_grace_s": 3600,
               "dispute_timeout_s": 259200, "dispute_bond_bps": 1000, "dispute_min_bond": Decimal("0.01")}
    assert change_text(PARAMETERS["fee_bps"], current, (300,)) == "platform fee 2% → 3%"
    assert change_text(PARAMETERS["timeouts"], current, (3600, 900, 7200, 259200)) == \
        "completion grace (dispute window) 1 h → 2 h"
    assert change_text(PARAMETERS["dispute_bond"], current, (1000, 10**16)) == "dispute bond unchanged (10%, 0.01 GPU)"
    assert [shown("bps", 25), shown("seconds", 2 * 86400), shown("tokens", 10**18)] == ["0.25%", "2 days", "1 GPU"]


def test_an_exponent_past_decimal_range_is_a_malformed_amount_not_a_crash():
    from gpurent.sdk.inputs import tokens_in

    with pytest.raises(InvalidInput, match="not a token amount"):
        tokens_in("1e999999999", "stake")
