"""Dates in the expression language: parsing ISO-like strings and ``formatDate``'s Unicode patterns.

A date either carries an explicit offset (``Z``, ``+01:00``) or none; a date without one is read in the
evaluator's local time zone (UTC unless configured), which is what Altinn's frontend test setup uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from felles.apps.expressions.casting import describe_value, js_number_to_string
from felles.apps.expressions.errors import ExpressionError

_DATE_PATTERN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


@dataclass(frozen=True, slots=True)
class ExprDate:
    """A parsed date; ``moment`` is timezone-aware when the text gave an offset, naive otherwise."""

    moment: datetime
    has_timezone: bool
    fraction_digits: str = ""

    def in_zone(self, zone: tzinfo) -> datetime:
        """The wall-clock time in ``zone`` (naive dates are already local wall-clock times)."""
        if not self.has_timezone:
            return self.moment
        return self.moment.astimezone(zone).replace(tzinfo=None)


def parse_date(value: Any) -> ExprDate | None:
    """Cast a value to a date with Altinn's rules: empty string and null are null, booleans are errors."""
    if value is None or value == "null":
        return None
    if isinstance(value, bool):
        raise ExpressionError(f"Expected date, got value {describe_value(value)}")
    text = js_number_to_string(value) if isinstance(value, int | float) else str(value)
    if not text.strip():
        return None
    match = _DATE_PATTERN.fullmatch(text.upper())
    if match is None:
        raise ExpressionError(f'Unable to parse date "{text}": Unknown format')
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        zone: tzinfo | None = None
        if offset is not None:
            if offset == "Z":
                zone = UTC
            else:
                hours, minutes = int(offset[1:3]), int(offset[4:6])
                if hours >= 24 or minutes >= 60:
                    raise ValueError("offset out of range")
                delta = timedelta(hours=hours, minutes=minutes)
                zone = timezone(-delta if offset[0] == "-" else delta)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        raise ExpressionError(
            f'Unable to parse date "{text}": Format was recognized, but the date/time is invalid'
        ) from None
    return ExprDate(moment, zone is not None, fraction or "")


@dataclass(frozen=True)
class _Locale:
    months: tuple[str, ...]
    months_short: tuple[str, ...]
    weekdays: tuple[str, ...]  # Monday first
    weekdays_short: tuple[str, ...]
    weekdays_narrow: tuple[str, ...]
    eras: tuple[str, str, str]  # abbreviated, wide, narrow
    day_periods: tuple[str, str]
    default_pattern: str


_NORWEGIAN_MONTHS = (
    "januar", "februar", "mars", "april", "mai", "juni",
    "juli", "august", "september", "oktober", "november", "desember",
)  # fmt: skip
_NORWEGIAN_MONTHS_SHORT = ("jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des")

LOCALES: dict[str, _Locale] = {
    "nb": _Locale(
        _NORWEGIAN_MONTHS,
        _NORWEGIAN_MONTHS_SHORT,
        ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
        ("man", "tir", "ons", "tor", "fre", "lør", "søn"),
        ("M", "T", "O", "T", "F", "L", "S"),
        ("e.Kr.", "etter Kristus", "e.Kr."),
        ("a.m.", "p.m."),
        "dd.MM.yyyy",
    ),
    "nn": _Locale(
        _NORWEGIAN_MONTHS,
        _NORWEGIAN_MONTHS_SHORT,
        ("måndag", "tysdag", "onsdag", "torsdag", "fredag", "laurdag", "sundag"),
        ("mån", "tys", "ons", "tor", "fre", "lau", "sun"),
        ("M", "T", "O", "T", "F", "L", "S"),
        ("e.Kr.", "etter Kristus", "e.Kr."),
        ("a.m.", "p.m."),
        "dd.MM.yyyy",
    ),
    "en": _Locale(
        (
            "January", "February", "March", "April", "May", "June",
            "July", "August", "September", "October", "November", "December",
        ),
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        ("M", "T", "W", "T", "F", "S", "S"),
        ("AD", "Anno Domini", "A"),
        ("AM", "PM"),
        "M/d/yy",
    ),
}  # fmt: skip

_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")


def _format_token(token: str, moment: datetime, locale: _Locale) -> str | None:
    letter, width = token[0], len(token)
    weekday = moment.weekday()
    match letter:
        case "G":
            if width <= 3:
                return locale.eras[0]
            return locale.eras[1] if width == 4 else locale.eras[2]
        case "y":
            return f"{moment.year % 100:02d}" if width == 2 else str(moment.year).zfill(width)
        case "u":
            return str(moment.year).zfill(width)
        case "M":
            if width <= 2:
                return str(moment.month).zfill(width)
            if width == 3:
                return locale.months_short[moment.month - 1]
            if width == 4:
                return locale.months[moment.month - 1]
            return locale.months[moment.month - 1][0].upper()
        case "d" if width <= 2:
            return str(moment.day).zfill(width)
        case "E":
            if width <= 3:
                return locale.weekdays_short[weekday]
            return locale.weekdays[weekday] if width == 4 else locale.weekdays_narrow[weekday]
        case "a":
            return locale.day_periods[0 if moment.hour < 12 else 1]
        case "h" if width <= 2:
            return str(moment.hour % 12 or 12).zfill(width)
        case "H" if width <= 2:
            return str(moment.hour).zfill(width)
        case "m" if width <= 2:
            return str(moment.minute).zfill(width)
        case "s" if width <= 2:
            return str(moment.second).zfill(width)
        case "S" if width <= 3:
            milliseconds = f"{moment.microsecond // 1000:03d}"
            return milliseconds[:width]
    return None


def format_date(date: ExprDate, pattern: str | None, language: str, zone: tzinfo = UTC) -> str:
    """``formatDate``: render ``date`` with a Unicode (LDML) pattern in nb, nn or en."""
    locale = LOCALES.get(language, LOCALES["nb"])
    pattern = locale.default_pattern if pattern is None else pattern
    moment = date.in_zone(zone)
    parts: list[str] = []
    position = 0
    for match in _TOKEN.finditer(pattern):
        if match.start() != position:
            break
        position = match.end()
        piece = match.group(0)
        if piece.startswith("'"):
            # quoted literal text; '' is an escaped quote
            parts.append(piece[1:-1].replace("''", "'") if piece != "''" else "'")
        elif piece[0].isalpha():
            formatted = _format_token(piece, moment, locale)
            if formatted is None:
                raise ExpressionError(f"Unsupported date format token in '{pattern}'")
            parts.append(formatted)
        else:
            parts.append(piece)
    if position != len(pattern):
        raise ExpressionError(f"Unsupported date format token in '{pattern}'")
    return "".join(parts)
