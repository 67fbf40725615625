"""Casting rules, checked against brute-force restatements of Altinn's rules."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from felles.apps.expressions.casting import js_number_to_string, to_boolean, to_number, to_string
from felles.apps.expressions.context import ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import evaluate


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (2.5, "2.5"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (1e21, "1e+21"),
        (123e18, "123000000000000000000"),
        (-0.5, "-0.5"),
    ],
)
def test_numbers_print_like_javascript(number: float, text: str) -> None:
    assert js_number_to_string(number) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_printed_numbers_read_back_as_the_same_number(number: float) -> None:
    assert float(js_number_to_string(number)) == number


@given(st.text(max_size=8))
def test_string_null_in_any_case_is_null_and_booleans_are_lower_cased(text: str) -> None:
    result = to_string(text)
    if text.lower() == "null":
        assert result is None
    elif text.lower() in ("true", "false"):
        assert result == text.lower()
    else:
        assert result == text


@given(
    st.one_of(
        st.booleans(), st.integers(-3, 3), st.floats(-2, 2), st.sampled_from(["1", "0", "1.0", "0.00", "yes", ""])
    )
)
def test_boolean_cast_accepts_only_true_false_one_and_zero(value: object) -> None:
    accepted = {True: True, False: False}
    expected: bool | None
    if isinstance(value, bool):
        expected = value
    elif isinstance(value, int | float) and value in (0, 1):
        expected = value == 1
    elif isinstance(value, str) and value in ("1", "1.0"):
        expected = True
    elif isinstance(value, str) and value in ("0", "0.00"):
        expected = False
    else:
        with pytest.raises(ExpressionError, match="Expected boolean, got value"):
            to_boolean(value)
        return
    assert to_boolean(value) is accepted[expected]


@given(st.integers(-(10**15), 10**15))
def test_integer_strings_are_numbers(number: int) -> None:
    assert to_number(str(number)) == number


@pytest.mark.parametrize("text", ["55.", "5e", "e2", "5+E2", "+5", " 5", "0x10"])
def test_malformed_number_strings_are_errors_quoting_the_value(text: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(f"Expected number, got value {json.dumps(text)}")):
        to_number(text)


@given(st.lists(st.decimals(-1000, 1000, places=2, allow_nan=False), min_size=1, max_size=5))
def test_plus_is_exact_decimal_arithmetic(values: list) -> None:
    expected = sum(values)
    result = evaluate(["plus", *[float(v) for v in values]], ExpressionContext())
    assert js_number_to_string(result) == js_number_to_string(float(expected)) or result == float(expected)


def test_evaluation_is_eager_so_errors_in_later_arguments_surface() -> None:
    with pytest.raises(ExpressionError, match='Expected boolean, got value "yes"'):
        evaluate(["or", True, "yes"], ExpressionContext())
