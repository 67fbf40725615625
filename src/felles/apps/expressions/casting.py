"""Casting values between the expression language's types, with Altinn's exact rules and messages.

Every type is nullable. ``None`` and the string ``"null"`` are null before any cast; the string cast also
treats ``"NULL"`` in any case as null and normalises ``"TRUE"``/``"False"`` to lower case.
Numbers print the way JavaScript prints them (``1`` not ``1.0``, ``1e-7`` not ``1e-07``).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from felles.apps.expressions.errors import ExpressionError

_NUMBER_PATTERNS = (
    re.compile(r"-?[0-9]+"),
    re.compile(r"-?[0-9]+\.[0-9]+"),
    re.compile(r"[-+]?([0-9]+(\.[0-9]+)?|\.[0-9]+)([eE][-+]?[0-9]+)"),
)


def js_number_to_string(number: float | int | Decimal) -> str:
    """Format a number as JavaScript's ``String(n)`` does."""
    if isinstance(number, int):
        return str(number)
    if isinstance(number, float):
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        if number == 0:
            return "0"
        decimal = Decimal(repr(number))
    else:
        decimal = number.normalize()
        if decimal == 0:
            return "0"
    sign, digit_tuple, exponent = decimal.as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # point = position of the decimal point relative to the start of the digits
    point = exponent + len(digit_tuple)
    count = len(digits)
    prefix = "-" if sign else ""
    if count <= point <= 21:
        return prefix + digits + "0" * (point - count)
    if 0 < point <= 21:
        return prefix + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return prefix + "0." + "0" * (-point) + digits
    mantissa = digits[0] + ("." + digits[1:] if count > 1 else "")
    power = point - 1
    return f"{prefix}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def describe_value(value: Any) -> str:
    """A value as JSON, the way Altinn quotes it in error messages (``"abc"``, ``true``, ``5``)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        return js_number_to_string(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return str(value)


def type_name(value: Any) -> str:
    """The expression-language type name of a value, as used in 'Expected argument to be list, got X'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_null(value: Any) -> bool:
    return value is None or value == "null"


def to_string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > 5:  # longer than "false": none of the special words
            return value
        lowered = value.lower()
        if lowered == "null":
            return None
        if lowered in ("true", "false"):
            return lowered
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return js_number_to_string(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def parse_number_string(text: str) -> int | float | None:
    """A number from a string, or ``None`` if the string is not one of Altinn's accepted number forms."""
    if _NUMBER_PATTERNS[0].fullmatch(text):
        return int(text)
    if _NUMBER_PATTERNS[1].fullmatch(text) or _NUMBER_PATTERNS[2].fullmatch(text):
        return float(text)
    return None


def to_number(value: Any) -> int | float | None:
    if is_null(value):
        return None
    if isinstance(value, bool):
        raise ExpressionError(f"Expected number, got value {describe_value(value)}")
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return decimal_to_number(value)
    if isinstance(value, str):
        number = parse_number_string(value)
        if number is not None:
            return number
    raise ExpressionError(f"Expected number, got value {describe_value(value)}")


def to_boolean(value: Any) -> bool | None:
    if is_null(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        number = parse_number_string(value)
        if number == 1:
            return True
        if number == 0:
            return False
    elif isinstance(value, int | float | Decimal):
        if value == 1:
            return True
        if value == 0:
            return False
    raise ExpressionError(f"Expected boolean, got value {describe_value(value)}")


def to_any(value: Any) -> Any:
    return None if is_null(value) else value


def to_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ExpressionError(f"Expected argument to be list, got {type_name(value)}")
    return value


def decimal_to_number(value: Decimal) -> int | float:
    """Arithmetic runs in Decimal (so 0.1 + 0.2 is 0.3); results go back to plain JSON numbers."""
    if value == value.to_integral_value() and abs(value) < Decimal("1e21"):
        return int(value)
    return float(value)


def to_decimal(number: int | float) -> Decimal:
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))
