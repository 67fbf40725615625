"""The XACML 3.0 standard functions (core spec appendix A.3), with their signatures for static type checks.

Every function is registered under its XACML 3.0 identifier and, where XACML 1.0/2.0 used another one that 3.0
still accepts, under that identifier too. Higher-order functions and the lazy logical functions are evaluated by
``expressions.Apply`` itself because they need the unevaluated arguments or a function argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.datatypes import (
    ANYURI,
    BASE64BINARY,
    BOOLEAN,
    DATE,
    DATETIME,
    DAYTIMEDURATION,
    DNSNAME,
    DOUBLE,
    HEXBINARY,
    INTEGER,
    IPADDRESS,
    RFC822NAME,
    STRING,
    TIME,
    X500NAME,
    YEARMONTHDURATION,
)
from felles.authorization.xacml.model import STATUS_PROCESSING_ERROR, EvaluationError

F1 = "urn:oasis:names:tc:xacml:1.0:function:"
F2 = "urn:oasis:names:tc:xacml:2.0:function:"
F3 = "urn:oasis:names:tc:xacml:3.0:function:"

# (data type, is a bag); data type None means "any".
ArgType = tuple[str | None, bool]


@dataclass(frozen=True, slots=True)
class Function:
    id: str
    params: tuple[ArgType, ...]
    returns: ArgType
    impl: Callable[..., Any] | None
    variadic: ArgType | None = None  # extra arguments of this type may follow ``params``
    min_args: int | None = None
    kind: str = "plain"  # plain | and | or | n-of | higher-order

    def __post_init__(self) -> None:
        if self.min_args is None:
            object.__setattr__(self, "min_args", len(self.params))


FUNCTIONS: dict[str, Function] = {}


def _register(function: Function, *aliases: str) -> None:
    FUNCTIONS[function.id] = function
    for alias in aliases:
        FUNCTIONS[alias] = Function(alias, function.params, function.returns, function.impl, function.variadic,
                                    function.min_args, function.kind)


def _fn(fid: str, params: list[ArgType], returns: ArgType, impl: Callable[..., Any], *aliases: str,
        variadic: ArgType | None = None, min_args: int | None = None) -> None:
    _register(Function(fid, tuple(params), returns, impl, variadic, min_args), *aliases)


def _p(data_type: str | None) -> ArgType:
    return (data_type, False)


def _b(data_type: str | None) -> ArgType:
    return (data_type, True)


# Type names as they appear inside function identifiers, e.g. "dateTime" in "dateTime-equal".
SHORT_NAMES = {
    STRING: "string", BOOLEAN: "boolean", INTEGER: "integer", DOUBLE: "double", TIME: "time", DATE: "date",
    DATETIME: "dateTime", ANYURI: "anyURI", HEXBINARY: "hexBinary", BASE64BINARY: "base64Binary",
    DAYTIMEDURATION: "dayTimeDuration", YEARMONTHDURATION: "yearMonthDuration", X500NAME: "x500Name",
    RFC822NAME: "rfc822Name", IPADDRESS: "ipAddress", DNSNAME: "dnsName",
}
# Functions that were 1.0 identifiers before 3.0 re-issued them (the duration ones use the new data types).
_DURATION_TYPES = (DAYTIMEDURATION, YEARMONTHDURATION)


def _prefix_for(data_type: str) -> str:
    if data_type in _DURATION_TYPES:
        return F3
    if data_type in (IPADDRESS, DNSNAME):
        return F2
    return F1


def _fail(message: str) -> EvaluationError:
    return EvaluationError(STATUS_PROCESSING_ERROR, message)


# ---------------------------------------------------------------- equality, comparison

for _type, _short in SHORT_NAMES.items():
    if _type in (IPADDRESS, DNSNAME):
        continue
    _aliases = [F1 + f"{_short}-equal"] if _type in _DURATION_TYPES else []
    if _type == DOUBLE:
        # NaN equals NaN here, as in the conformance suite (IIC358) and Java's Double.equals.
        _fn(F1 + "double-equal", [_p(DOUBLE), _p(DOUBLE)], _p(BOOLEAN),
            lambda a, b: a == b or (a != a and b != b))
    else:
        _fn(_prefix_for(_type) + f"{_short}-equal", [_p(_type), _p(_type)], _p(BOOLEAN),
            lambda a, b: a == b, *_aliases)

_fn(F3 + "string-equal-ignore-case", [_p(STRING), _p(STRING)], _p(BOOLEAN),
    lambda a, b: a.casefold() == b.casefold())

for _type in (INTEGER, DOUBLE, STRING, TIME, DATE, DATETIME):
    _short = SHORT_NAMES[_type]
    _fn(F1 + f"{_short}-greater-than", [_p(_type), _p(_type)], _p(BOOLEAN), lambda a, b: a > b)
    _fn(F1 + f"{_short}-greater-than-or-equal", [_p(_type), _p(_type)], _p(BOOLEAN), lambda a, b: a >= b)
    _fn(F1 + f"{_short}-less-than", [_p(_type), _p(_type)], _p(BOOLEAN), lambda a, b: a < b)
    _fn(F1 + f"{_short}-less-than-or-equal", [_p(_type), _p(_type)], _p(BOOLEAN), lambda a, b: a <= b)


def _seconds_of_day_utc(value: dt.XacmlTime) -> float:
    instant = value.instant
    offset = instant.utcoffset() or timedelta(0)
    local_seconds = instant.hour * 3600 + instant.minute * 60 + instant.second + instant.microsecond / 1e6
    return (local_seconds - offset.total_seconds()) % 86400


def _time_in_range(value: dt.XacmlTime, lower: dt.XacmlTime, upper: dt.XacmlTime) -> bool:
    t, lo, hi = (_seconds_of_day_utc(v) for v in (value, lower, upper))
    if lo <= hi:
        return lo <= t <= hi
    return t >= lo or t <= hi


_fn(F2 + "time-in-range", [_p(TIME), _p(TIME), _p(TIME)], _p(BOOLEAN), _time_in_range)

# ---------------------------------------------------------------- arithmetic


def _integer_divide(a: int, b: int) -> int:
    if b == 0:
        raise _fail("integer-divide by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def _integer_mod(a: int, b: int) -> int:
    if b == 0:
        raise _fail("integer-mod by zero")
    return a - b * _integer_divide(a, b)


def _double_divide(a: float, b: float) -> float:
    if b == 0:
        raise _fail("double-divide by zero")
    return a / b


def _round_half_even(value: float) -> float:
    return float(round(value)) if math.isfinite(value) else value


def _double_to_integer(value: float) -> int:
    if not math.isfinite(value):
        raise _fail("double-to-integer of a non-finite value")
    return int(value)


_fn(F1 + "integer-add", [_p(INTEGER), _p(INTEGER)], _p(INTEGER), lambda *a: sum(a), variadic=_p(INTEGER))
_fn(F1 + "double-add", [_p(DOUBLE), _p(DOUBLE)], _p(DOUBLE), lambda *a: math.fsum(a), variadic=_p(DOUBLE))
_fn(F1 + "integer-multiply", [_p(INTEGER), _p(INTEGER)], _p(INTEGER), lambda *a: math.prod(a),
    variadic=_p(INTEGER))
_fn(F1 + "double-multiply", [_p(DOUBLE), _p(DOUBLE)], _p(DOUBLE), lambda *a: math.prod(a), variadic=_p(DOUBLE))
_fn(F1 + "integer-subtract", [_p(INTEGER), _p(INTEGER)], _p(INTEGER), lambda a, b: a - b)
_fn(F1 + "double-subtract", [_p(DOUBLE), _p(DOUBLE)], _p(DOUBLE), lambda a, b: a - b)
_fn(F1 + "integer-divide", [_p(INTEGER), _p(INTEGER)], _p(INTEGER), _integer_divide)
_fn(F1 + "double-divide", [_p(DOUBLE), _p(DOUBLE)], _p(DOUBLE), _double_divide)
_fn(F1 + "integer-mod", [_p(INTEGER), _p(INTEGER)], _p(INTEGER), _integer_mod)
_fn(F1 + "integer-abs", [_p(INTEGER)], _p(INTEGER), abs)
_fn(F1 + "double-abs", [_p(DOUBLE)], _p(DOUBLE), abs)
_fn(F1 + "round", [_p(DOUBLE)], _p(DOUBLE), _round_half_even)
_fn(F1 + "floor", [_p(DOUBLE)], _p(DOUBLE), lambda a: float(math.floor(a)) if math.isfinite(a) else a)
_fn(F1 + "double-to-integer", [_p(DOUBLE)], _p(INTEGER), _double_to_integer)
_fn(F1 + "integer-to-double", [_p(INTEGER)], _p(DOUBLE), float)

# ---------------------------------------------------------------- strings

_fn(F1 + "string-normalize-space", [_p(STRING)], _p(STRING), lambda s: s.strip(" \t\r\n"))
_fn(F1 + "string-normalize-to-lower-case", [_p(STRING)], _p(STRING), str.lower)
_fn(F2 + "string-concatenate", [_p(STRING), _p(STRING)], _p(STRING), lambda *a: "".join(a), variadic=_p(STRING))
_fn(F3 + "string-starts-with", [_p(STRING), _p(STRING)], _p(BOOLEAN), lambda a, b: b.startswith(a))
_fn(F3 + "anyURI-starts-with", [_p(STRING), _p(ANYURI)], _p(BOOLEAN), lambda a, b: b.startswith(a))
_fn(F3 + "string-ends-with", [_p(STRING), _p(STRING)], _p(BOOLEAN), lambda a, b: b.endswith(a))
_fn(F3 + "anyURI-ends-with", [_p(STRING), _p(ANYURI)], _p(BOOLEAN), lambda a, b: b.endswith(a))
_fn(F3 + "string-contains", [_p(STRING), _p(STRING)], _p(BOOLEAN), lambda a, b: a in b)
_fn(F3 + "anyURI-contains", [_p(STRING), _p(ANYURI)], _p(BOOLEAN), lambda a, b: a in b)


def _substring(text: str, begin: int, end: int) -> str:
    if begin < 0 or begin > len(text) or end < -1 or end > len(text) or (end != -1 and end < begin):
        raise _fail(f"substring({begin}, {end}) outside a string of length {len(text)}")
    return text[begin:] if end == -1 else text[begin:end]


_fn(F3 + "string-substring", [_p(STRING), _p(INTEGER), _p(INTEGER)], _p(STRING), _substring)
_fn(F3 + "anyURI-substring", [_p(ANYURI), _p(INTEGER), _p(INTEGER)], _p(STRING), _substring)

# Conversions to and from string (A.3.9).
for _type, _short in SHORT_NAMES.items():
    if _type in (STRING,):
        continue
    _fn(F3 + f"{_short}-from-string", [_p(STRING)], _p(_type),
        lambda s, _t=_type: dt.parse_value(_t, s))
    _fn(F3 + f"string-from-{_short}", [_p(_type)], _p(STRING),
        lambda v, _t=_type: dt.format_value(_t, v))

# ---------------------------------------------------------------- logic

_register(Function(F1 + "or", (), _p(BOOLEAN), None, variadic=_p(BOOLEAN), min_args=0, kind="or"))
_register(Function(F1 + "and", (), _p(BOOLEAN), None, variadic=_p(BOOLEAN), min_args=0, kind="and"))
_register(Function(F1 + "n-of", (_p(INTEGER),), _p(BOOLEAN), None, variadic=_p(BOOLEAN), kind="n-of"))
_fn(F1 + "not", [_p(BOOLEAN)], _p(BOOLEAN), lambda a: not a)

# ---------------------------------------------------------------- dates and durations


def _with_months(value: Any, months: int) -> Any:
    local = dt.add_months(value.local, months)
    return type(value)._build(local, value.tz)


def _with_delta(value: Any, delta: timedelta) -> Any:
    return type(value)._build(value.local + delta, value.tz)


_legacy_dt = "urn:oasis:names:tc:xacml:1.0:function:"
_fn(F3 + "dateTime-add-dayTimeDuration", [_p(DATETIME), _p(DAYTIMEDURATION)], _p(DATETIME), _with_delta,
    _legacy_dt + "dateTime-add-dayTimeDuration")
_fn(F3 + "dateTime-subtract-dayTimeDuration", [_p(DATETIME), _p(DAYTIMEDURATION)], _p(DATETIME),
    lambda v, d: _with_delta(v, -d), _legacy_dt + "dateTime-subtract-dayTimeDuration")
_fn(F3 + "dateTime-add-yearMonthDuration", [_p(DATETIME), _p(YEARMONTHDURATION)], _p(DATETIME),
    lambda v, d: _with_months(v, d.months), _legacy_dt + "dateTime-add-yearMonthDuration")
_fn(F3 + "dateTime-subtract-yearMonthDuration", [_p(DATETIME), _p(YEARMONTHDURATION)], _p(DATETIME),
    lambda v, d: _with_months(v, -d.months), _legacy_dt + "dateTime-subtract-yearMonthDuration")
_fn(F3 + "date-add-yearMonthDuration", [_p(DATE), _p(YEARMONTHDURATION)], _p(DATE),
    lambda v, d: _with_months(v, d.months), _legacy_dt + "date-add-yearMonthDuration")
_fn(F3 + "date-subtract-yearMonthDuration", [_p(DATE), _p(YEARMONTHDURATION)], _p(DATE),
    lambda v, d: _with_months(v, -d.months), _legacy_dt + "date-subtract-yearMonthDuration")

# ---------------------------------------------------------------- names


def _x500_match(pattern: dt.X500Name, name: dt.X500Name) -> bool:
    """True if ``name`` ends with the RDN sequence of ``pattern`` (A.3.14)."""
    count = len(pattern.rdns)
    return count <= len(name.rdns) and name.rdns[len(name.rdns) - count:] == pattern.rdns


def _rfc822_match(pattern: str, name: dt.Rfc822Name) -> bool:
    if "@" in pattern:
        return dt.parse_rfc822_name(pattern) == name
    pattern = pattern.lower()
    if pattern.startswith("."):
        return name.domain.endswith(pattern)
    return name.domain == pattern


_fn(F1 + "x500Name-match", [_p(X500NAME), _p(X500NAME)], _p(BOOLEAN), _x500_match)
_fn(F1 + "rfc822Name-match", [_p(STRING), _p(RFC822NAME)], _p(BOOLEAN), _rfc822_match)


@lru_cache(maxsize=1024)
def _compile_regex(pattern: str) -> re.Pattern[str]:
    # XML Schema regular expressions are close enough to Python's for the patterns policies use;
    # "\p{..}" classes are not supported and fail as a processing error.
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise _fail(f"invalid regular expression {pattern!r}: {exc}") from None


def _regexp_match(pattern: str, value: Any) -> bool:
    return _compile_regex(pattern).search(str(value)) is not None


_fn(F1 + "string-regexp-match", [_p(STRING), _p(STRING)], _p(BOOLEAN), _regexp_match)
for _type in (ANYURI, IPADDRESS, DNSNAME, RFC822NAME, X500NAME):
    _fn(F2 + f"{SHORT_NAMES[_type]}-regexp-match", [_p(STRING), _p(_type)], _p(BOOLEAN), _regexp_match)

# ---------------------------------------------------------------- bags and sets


def _one_and_only(bag: tuple[Any, ...]) -> Any:
    if len(bag) != 1:
        raise _fail(f"one-and-only on a bag of {len(bag)} values")
    return bag[0]


def _unique(values: Any) -> tuple[Any, ...]:
    result: list[Any] = []
    for value in values:
        if value not in result:
            result.append(value)
    return tuple(result)


def _union(*bags: tuple[Any, ...]) -> tuple[Any, ...]:
    return _unique(value for bag in bags for value in bag)


for _type, _short in SHORT_NAMES.items():
    _prefix = _prefix_for(_type)
    _legacy = [F1 + f"{_short}-{name}" for name in ("one-and-only", "bag-size", "is-in", "bag")] \
        if _type in _DURATION_TYPES else [None] * 4
    _fn(_prefix + f"{_short}-one-and-only", [_b(_type)], _p(_type), _one_and_only,
        *[a for a in _legacy[:1] if a])
    _fn(_prefix + f"{_short}-bag-size", [_b(_type)], _p(INTEGER), len, *[a for a in _legacy[1:2] if a])
    _fn(_prefix + f"{_short}-is-in", [_p(_type), _b(_type)], _p(BOOLEAN), lambda v, bag: v in bag,
        *[a for a in _legacy[2:3] if a])
    _fn(_prefix + f"{_short}-bag", [], _b(_type), lambda *v: tuple(v), *[a for a in _legacy[3:4] if a],
        variadic=_p(_type))
    _set_aliases = (lambda name, _s=_short: [F1 + f"{_s}-{name}"]) if _type in _DURATION_TYPES \
        else (lambda name: [])
    _fn(_prefix + f"{_short}-intersection", [_b(_type), _b(_type)], _b(_type),
        lambda a, b: _unique(v for v in a if v in b), *_set_aliases("intersection"))
    _fn(_prefix + f"{_short}-at-least-one-member-of", [_b(_type), _b(_type)], _p(BOOLEAN),
        lambda a, b: any(v in b for v in a), *_set_aliases("at-least-one-member-of"))
    _fn(_prefix + f"{_short}-union", [_b(_type), _b(_type)], _b(_type), _union, *_set_aliases("union"),
        variadic=_b(_type))
    _fn(_prefix + f"{_short}-subset", [_b(_type), _b(_type)], _p(BOOLEAN),
        lambda a, b: all(v in b for v in a), *_set_aliases("subset"))
    _fn(_prefix + f"{_short}-set-equals", [_b(_type), _b(_type)], _p(BOOLEAN),
        lambda a, b: all(v in b for v in a) and all(v in a for v in b), *_set_aliases("set-equals"))

# ---------------------------------------------------------------- higher-order bag functions (A.3.12)

HIGHER_ORDER = ("any-of", "all-of", "any-of-any", "all-of-any", "any-of-all", "all-of-all", "map")
for _name in HIGHER_ORDER:
    _returns: ArgType = _b(None) if _name == "map" else _p(BOOLEAN)
    for _prefix in (F3, F1):
        _register(Function(_prefix + _name, (), _returns, None, variadic=(None, False), min_args=2,
                           kind="higher-order"))

# The XPath functions (A.3.15) are registered by expressions.py, which owns the request content.

EQUALITY_FUNCTIONS = frozenset(
    fid for fid, f in FUNCTIONS.items()
    if fid.endswith("-equal") and not fid.endswith("ignore-case") and len(f.params) == 2
    and f.params[0] == f.params[1] and not f.params[0][1]
)
