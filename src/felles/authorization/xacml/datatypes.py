"""XACML 3.0 data types (core spec §10.2.7, appendix A.2): parsing lexical forms into Python values and back.

Values are plain Python objects chosen so that ``==`` is the XACML ``type-equal`` function and ``<`` the
``type-less-than`` function: ``str`` (string, anyURI, dnsName, ipAddress), ``bool``, ``int``, ``float``,
``bytes`` (hexBinary, base64Binary), ``datetime.timedelta`` (dayTimeDuration) and the small classes below.
A bag is a ``tuple`` of values; no single value is ever a tuple, so the two cannot be confused.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

XS = "http://www.w3.org/2001/XMLSchema#"
STRING = XS + "string"
BOOLEAN = XS + "boolean"
INTEGER = XS + "integer"
DOUBLE = XS + "double"
TIME = XS + "time"
DATE = XS + "date"
DATETIME = XS + "dateTime"
ANYURI = XS + "anyURI"
HEXBINARY = XS + "hexBinary"
BASE64BINARY = XS + "base64Binary"
DAYTIMEDURATION = XS + "dayTimeDuration"
YEARMONTHDURATION = XS + "yearMonthDuration"
X500NAME = "urn:oasis:names:tc:xacml:1.0:data-type:x500Name"
RFC822NAME = "urn:oasis:names:tc:xacml:1.0:data-type:rfc822Name"
IPADDRESS = "urn:oasis:names:tc:xacml:2.0:data-type:ipAddress"
DNSNAME = "urn:oasis:names:tc:xacml:2.0:data-type:dnsName"
XPATHEXPRESSION = "urn:oasis:names:tc:xacml:3.0:data-type:xpathExpression"

# Identifiers from XACML 2.0 that 3.0 still accepts (planned for deprecation, spec §10.2.9).
LEGACY_DATA_TYPES = {
    "http://www.w3.org/TR/2002/WD-xquery-operators-20020816#dayTimeDuration": DAYTIMEDURATION,
    "http://www.w3.org/TR/2002/WD-xquery-operators-20020816#yearMonthDuration": YEARMONTHDURATION,
}

# The JSON profile (§3.3.1) allows these short names in "DataType".
JSON_SHORT_NAMES = {
    "string": STRING, "boolean": BOOLEAN, "integer": INTEGER, "double": DOUBLE, "time": TIME, "date": DATE,
    "dateTime": DATETIME, "dayTimeDuration": DAYTIMEDURATION, "yearMonthDuration": YEARMONTHDURATION,
    "anyURI": ANYURI, "hexBinary": HEXBINARY, "base64Binary": BASE64BINARY, "rfc822Name": RFC822NAME,
    "x500Name": X500NAME, "ipAddress": IPADDRESS, "dnsName": DNSNAME, "xpathExpression": XPATHEXPRESSION,
}
JSON_SHORT_NAME_OF = {uri: short for short, uri in JSON_SHORT_NAMES.items()}


class InvalidValueError(ValueError):
    """A lexical form that is not valid for its data type."""


def canonical_data_type(uri: str) -> str:
    uri = uri.strip()
    return LEGACY_DATA_TYPES.get(uri) or JSON_SHORT_NAMES.get(uri) or uri


# ---------------------------------------------------------------- date and time

# XPath compares values without a timezone in the PDP's implicit timezone; Felles runs in UTC.
IMPLICIT_TIMEZONE = UTC
# XPath F&O §10.4: times are compared as dateTimes on this reference date.
_TIME_REFERENCE_DATE = date(1972, 12, 31)

_TZ = r"(?P<tz>Z|[+-]\d\d:\d\d)?"
_DATE_RE = re.compile(r"(?P<year>-?\d{4,})-(?P<month>\d\d)-(?P<day>\d\d)" + _TZ + r"\Z")
_TIME_RE = re.compile(r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?P<frac>\.\d+)?" + _TZ + r"\Z")
_DATETIME_RE = re.compile(
    r"(?P<year>-?\d{4,})-(?P<month>\d\d)-(?P<day>\d\d)T(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?P<frac>\.\d+)?"
    + _TZ + r"\Z"
)


def _parse_tz(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _format_tz(tz: timezone | None) -> str:
    if tz is None:
        return ""
    offset = tz.utcoffset(None)
    if not offset:
        return "Z"
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _microseconds(frac: str | None) -> int:
    return int((frac[1:] + "000000")[:6]) if frac else 0


@dataclass(frozen=True, order=True)
class _Temporal:
    """A date, time or dateTime: compared by the instant it denotes, printed as it was written."""

    instant: datetime
    local: datetime = field(compare=False)
    tz: timezone | None = field(compare=False)

    @classmethod
    def _build(cls, local: datetime, tz: timezone | None) -> Any:
        return cls(local.replace(tzinfo=tz or IMPLICIT_TIMEZONE), local, tz)


class XacmlDate(_Temporal):
    def __str__(self) -> str:
        return self.local.date().isoformat() + _format_tz(self.tz)


class XacmlTime(_Temporal):
    def __str__(self) -> str:
        text = self.local.strftime("%H:%M:%S")
        if self.local.microsecond:
            text += f".{self.local.microsecond:06d}".rstrip("0")
        return text + _format_tz(self.tz)


class XacmlDateTime(_Temporal):
    def __str__(self) -> str:
        text = self.local.strftime("%Y-%m-%dT%H:%M:%S")
        if self.local.microsecond:
            text += f".{self.local.microsecond:06d}".rstrip("0")
        return text + _format_tz(self.tz)


def parse_date(text: str) -> XacmlDate:
    m = _DATE_RE.match(text)
    if not m:
        raise InvalidValueError(f"not an xs:date: {text!r}")
    local = datetime(int(m["year"]), int(m["month"]), int(m["day"]))
    return XacmlDate._build(local, _parse_tz(m["tz"]))


def parse_time(text: str) -> XacmlTime:
    m = _TIME_RE.match(text)
    if not m:
        raise InvalidValueError(f"not an xs:time: {text!r}")
    d = _TIME_REFERENCE_DATE
    local = datetime(d.year, d.month, d.day, int(m["h"]), int(m["m"]), int(m["s"]), _microseconds(m["frac"]))
    return XacmlTime._build(local, _parse_tz(m["tz"]))


def parse_datetime(text: str) -> XacmlDateTime:
    m = _DATETIME_RE.match(text)
    if not m:
        raise InvalidValueError(f"not an xs:dateTime: {text!r}")
    local = datetime(
        int(m["year"]), int(m["month"]), int(m["day"]), int(m["h"]), int(m["m"]), int(m["s"]),
        _microseconds(m["frac"]),
    )
    return XacmlDateTime._build(local, _parse_tz(m["tz"]))


def time_from_datetime(moment: datetime) -> XacmlTime:
    d = _TIME_REFERENCE_DATE
    local = moment.replace(year=d.year, month=d.month, day=d.day, tzinfo=None)
    return XacmlTime._build(local, moment.tzinfo)  # type: ignore[arg-type]


def date_from_datetime(moment: datetime) -> XacmlDate:
    local = datetime(moment.year, moment.month, moment.day)
    return XacmlDate._build(local, moment.tzinfo)  # type: ignore[arg-type]


def datetime_from_datetime(moment: datetime) -> XacmlDateTime:
    return XacmlDateTime._build(moment.replace(tzinfo=None), moment.tzinfo)  # type: ignore[arg-type]


# ---------------------------------------------------------------- durations

_DAYTIME_RE = re.compile(
    r"(?P<neg>-)?P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)(?P<frac>\.\d+)?S)?)?\Z"
)
_YEARMONTH_RE = re.compile(r"(?P<neg>-)?P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?\Z")


def parse_daytime_duration(text: str) -> timedelta:
    m = _DAYTIME_RE.match(text)
    if not m or text.endswith(("P", "T")) or not any(m[g] for g in ("d", "h", "m", "s")):
        raise InvalidValueError(f"not an xs:dayTimeDuration: {text!r}")
    value = timedelta(
        days=int(m["d"] or 0), hours=int(m["h"] or 0), minutes=int(m["m"] or 0), seconds=int(m["s"] or 0),
        microseconds=_microseconds(m["frac"]),
    )
    return -value if m["neg"] else value


def format_daytime_duration(value: timedelta) -> str:
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    days, rest = value.days, value.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}P"
    if days:
        text += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or value.microseconds:
        frac = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        time_part += f"{seconds}{frac}S"
    if time_part:
        text += "T" + time_part
    return text if (days or time_part) else "PT0S"


@dataclass(frozen=True, order=True)
class YearMonthDuration:
    months: int

    def __str__(self) -> str:
        sign = "-" if self.months < 0 else ""
        years, months = divmod(abs(self.months), 12)
        text = f"{sign}P"
        if years:
            text += f"{years}Y"
        if months or not years:
            text += f"{months}M"
        return text


def parse_yearmonth_duration(text: str) -> YearMonthDuration:
    m = _YEARMONTH_RE.match(text)
    if not m or not (m["y"] or m["m"]):
        raise InvalidValueError(f"not an xs:yearMonthDuration: {text!r}")
    months = int(m["y"] or 0) * 12 + int(m["m"] or 0)
    return YearMonthDuration(-months if m["neg"] else months)


def add_months(moment: datetime, months: int) -> datetime:
    """XPath op:add-yearMonthDuration-to-dateTime: the day is clamped to the length of the target month."""
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month)


# ---------------------------------------------------------------- names


def _split_unescaped(text: str, separators: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char in separators:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


@dataclass(frozen=True)
class X500Name:
    """A distinguished name; RDNs are compared with attribute types and values normalised (RFC 4517)."""

    rdns: tuple[frozenset[tuple[str, str]], ...]
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


def parse_x500_name(text: str) -> X500Name:
    rdns = []
    for rdn in _split_unescaped(text, ",;"):
        pairs = set()
        for ava in _split_unescaped(rdn, "+"):
            if "=" not in ava:
                raise InvalidValueError(f"not an x500Name: {text!r}")
            attr_type, value = ava.split("=", 1)
            pairs.add((attr_type.strip().lower(), " ".join(value.strip().lower().split())))
        rdns.append(frozenset(pairs))
    return X500Name(tuple(rdns), text)


@dataclass(frozen=True)
class Rfc822Name:
    """An e-mail address; the local part is case-sensitive, the domain is not (XACML A.3.14)."""

    local: str
    domain: str
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


def parse_rfc822_name(text: str) -> Rfc822Name:
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidValueError(f"not an rfc822Name: {text!r}")
    return Rfc822Name(local, domain.lower(), text)


@dataclass(frozen=True)
class XPathExpression:
    path: str
    category: str
    namespaces: tuple[tuple[str | None, str], ...] = field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        return self.path


# ---------------------------------------------------------------- the table

_INTEGER_RE = re.compile(r"[+-]?\d+\Z")
_DOUBLE_RE = re.compile(r"(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NaN)\Z")


def _parse_boolean(text: str) -> bool:
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise InvalidValueError(f"not an xs:boolean: {text!r}")


def _parse_integer(text: str) -> int:
    if not _INTEGER_RE.match(text):
        raise InvalidValueError(f"not an xs:integer: {text!r}")
    return int(text)


def _parse_double(text: str) -> float:
    if not _DOUBLE_RE.match(text):
        raise InvalidValueError(f"not an xs:double: {text!r}")
    return float(text.replace("INF", "inf"))


def format_double(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _parse_hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidValueError(f"not an xs:hexBinary: {text!r}") from exc


def _parse_base64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise InvalidValueError(f"not an xs:base64Binary: {text!r}") from exc


# How each data type reads its lexical form. String keeps surrounding white space; the others drop it
# (XML Schema whiteSpace="collapse").
_PARSERS: dict[str, Any] = {
    STRING: str,
    BOOLEAN: _parse_boolean,
    INTEGER: _parse_integer,
    DOUBLE: _parse_double,
    TIME: parse_time,
    DATE: parse_date,
    DATETIME: parse_datetime,
    ANYURI: str,
    HEXBINARY: _parse_hex,
    BASE64BINARY: _parse_base64,
    DAYTIMEDURATION: parse_daytime_duration,
    YEARMONTHDURATION: parse_yearmonth_duration,
    X500NAME: parse_x500_name,
    RFC822NAME: parse_rfc822_name,
    IPADDRESS: str,
    DNSNAME: str,
}

# The Python type each data type's values have, to accept already-typed values from attribute providers.
PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    STRING: str, BOOLEAN: bool, INTEGER: int, DOUBLE: float, TIME: XacmlTime, DATE: XacmlDate,
    DATETIME: XacmlDateTime, ANYURI: str, HEXBINARY: bytes, BASE64BINARY: bytes, DAYTIMEDURATION: timedelta,
    YEARMONTHDURATION: YearMonthDuration, X500NAME: X500Name, RFC822NAME: Rfc822Name, IPADDRESS: str,
    DNSNAME: str, XPATHEXPRESSION: XPathExpression,
}


def is_known_data_type(uri: str) -> bool:
    return uri in _PARSERS or uri == XPATHEXPRESSION


def parse_value(data_type: str, text: str) -> Any:
    """Read ``text`` as a value of ``data_type``; raises InvalidValueError if it is not one."""
    parser = _PARSERS.get(data_type)
    if parser is None:
        raise InvalidValueError(f"unknown data type {data_type!r}")
    if data_type != STRING:
        text = text.strip()
    return parser(text)


def coerce_value(data_type: str, value: Any) -> Any:
    """Accept a value from code (an attribute provider, the JSON profile): typed values pass, text is parsed."""
    expected = PYTHON_TYPES.get(data_type)
    if expected is not None and isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    if data_type == DOUBLE and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return parse_value(data_type, str(value))


def format_value(data_type: str, value: Any) -> str:
    """The canonical lexical form of ``value``."""
    if data_type == BOOLEAN:
        return "true" if value else "false"
    if data_type == DOUBLE:
        return format_double(value)
    if data_type == HEXBINARY:
        return value.hex().upper()
    if data_type == BASE64BINARY:
        return base64.b64encode(value).decode("ascii")
    if data_type == DAYTIMEDURATION:
        return format_daytime_duration(value)
    return str(value)


def values_equal(data_type: str, left: Any, right: Any) -> bool:
    """Type-equal, with NaN equal to itself (so that results carrying NaN can be compared)."""
    if data_type == DOUBLE and left != left and right != right:
        return True
    return bool(left == right)
