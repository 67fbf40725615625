"""Norwegian person identifiers (fødselsnummer, D-nummer) and organisasjonsnummer.

Person identifiers are 11 digits, ``DDMMYY III K1 K2``:

- ``DDMMYY`` is the birth date. A D-nummer adds 40 to the day. Synthetic test numbers add 80 to the month
  (Skatteetaten/Tenor/TestID) or 40 (NAV Dolly; the same digits as the internal H-number convention).
  Both offsets may be combined, e.g. ``47906701517``.
- ``III`` is the individnummer. Together with ``YY`` it gives the century for numbers issued before 2032.
- ``K1``/``K2`` are mod-11 check digits. From 2032, new numbers may use a k1 whose weighted sum leaves a
  remainder of 1, 2 or 3 instead of 0. Those numbers no longer encode the century, so ``birth_date`` is
  ``None`` for them.

The validators run over whole registers and the generator seeds the national population (5.5 million
calls). So the hot paths work on the ASCII bytes with precomputed tables, and build no regexes, dates or
objects until a caller asks for a parsed result.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Literal

from felles.core.errors import InvalidInput

__all__ = [
    "IdentifierRule",
    "InvalidIdentifier",
    "PersonIdentifier",
    "is_valid_organization_number",
    "is_valid_person_identifier",
    "make_organization_number",
    "make_person_identifier",
    "parse_organization_number",
    "parse_person_identifier",
]

IdentifierRule = Literal["length", "digits", "check_digit_1", "check_digit_2", "date", "individual_number"]


class InvalidIdentifier(InvalidInput):
    """A person or organisation number that breaks a named rule (HTTP 400, ``extra.rule`` names the rule)."""

    code = "invalid_identifier"
    title = "Invalid identifier"

    def __init__(self, value: str, rule: IdentifierRule, detail: str) -> None:
        # The value stays off the message and the problem body: a fødselsnummer is personal data, and the
        # detail ends up in logs and error trackers. Callers that need it have `self.value`.
        super().__init__(detail, code="invalid_identifier", extra={"rule": rule})
        self.value = value
        self.rule = rule

    def __reduce__(self) -> tuple[type[InvalidIdentifier], tuple[str, IdentifierRule, str]]:
        # The default exception pickling would call __init__(detail) and fail. Bulk jobs that run in worker
        # processes send these exceptions back to the parent, so pickling must work.
        return (type(self), (self.value, self.rule, self.detail))


@dataclass(frozen=True, slots=True)
class PersonIdentifier:
    value: str
    kind: Literal["fnr", "dnr"]
    synthetic: bool  # +80 or +40 on the month
    birth_date: date | None  # None for 2032-rule numbers: their century cannot be derived


# ---------------------------------------------------------------------------------------------------------
# Tables

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_W = (3, 2, 7, 6, 5, 4, 3, 2)

# The validators read the digits as ASCII codes (48 = "0"), so every weighted sum carries the constant
# 48 * sum(weights). One subtraction at the end removes it, which saves a subtraction per digit.
_ZERO = ord("0")
_BIAS_4 = _ZERO * 1111  # four ASCII digits abcd read as a*1000 + b*100 + c*10 + d
_ASCII_BIAS_ORG = _ZERO * (sum(_ORG_W) + 1)  # + 1: the check digit itself has weight 1
_ASCII_BIAS_ORG_BODY = _ZERO * sum(_ORG_W)
_DIGITS = "0123456789"

# _check_person computes both check sums in one pass: k1's sum in the bits from 12 up, k2's in the low
# 12 bits. Neither field can overflow: the k2 sum of eleven ASCII digits is at most 57 * 42 < 4096. The
# whole value stays below 2**30, so CPython keeps it on its fast single-digit integer path.
_PACKED_W = tuple((w1 << 12) | w2 for w1, w2 in zip((*_W1, 1, 0), (*_W2, 1), strict=True))
_PACKED_ASCII_BIAS = _ZERO * sum(_PACKED_W)

_NOT_A_DATE, _ANY_YEAR, _LEAP_YEAR_ONLY = 0, 1, 2


def _build_day_month_tables() -> tuple[bytes, tuple[str, ...]]:
    """Tables indexed by DDMM as an int, with the D and synthetic offsets still applied.

    The first table says whether those digits can be a date. The second spells them out for the generator.
    """
    kinds = bytearray(10_000)
    spelled = [""] * 10_000
    for day_offset in (0, 40):  # D-nummer
        for month_offset in (0, 40, 80):  # Dolly/H-number, Skatteetaten synthetic
            for month in range(1, 13):
                # 2000 is a leap year, so this allows 29 February. The year is checked once the century
                # is known.
                for day in range(1, calendar.monthrange(2000, month)[1] + 1):
                    ddmm = (day + day_offset) * 100 + month + month_offset
                    kinds[ddmm] = _LEAP_YEAR_ONLY if (month, day) == (2, 29) else _ANY_YEAR
                    spelled[ddmm] = f"{ddmm:04d}"
    return bytes(kinds), tuple(spelled)


_DAY_MONTH, _DDMM_DIGITS = _build_day_month_tables()

# _CENTURY[YY * 100 + III // 10] is the century (18, 19, 20) of an old-rule number, or _NO_CENTURY.
# The range limits (500, 750, 900) are all multiples of ten, so III // 10 is enough. The 0xFF sentinel
# never equals `year // 100`, so make_person_identifier can use this table for its check too.
_NO_CENTURY = 0xFF


def _century_of(yy: int, individual_number: int) -> int:
    if individual_number <= 499:
        return 19
    if individual_number <= 749 and yy >= 54:
        return 18
    if yy <= 39:  # individual_number >= 500
        return 20
    if individual_number >= 900:  # yy >= 40
        return 19
    return _NO_CENTURY  # 500–749 with 40–53, or 750–899 with 40–99: never issued


_CENTURY = bytes(_century_of(yy, tens * 10) for yy in range(100) for tens in range(100))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# ---------------------------------------------------------------------------------------------------------
# Person identifiers


_UNKNOWN_CENTURY = 0


def _check_person(value: str) -> IdentifierRule | int:
    """The first rule `value` breaks, or, for a valid number, the century of its birth year.

    The century is 18, 19 or 20, or _UNKNOWN_CENTURY for a 2032-rule number. The validator and the parser
    both use this one function, so they cannot disagree. Returning the century spares the parser from
    working it out again.
    """
    if len(value) != 11:
        return "length"
    # Plain isdigit() also accepts "²" and non-Latin digits such as "٣".
    if not (value.isascii() and value.isdigit()):
        return "digits"
    a, b, c, d, e, f, g, h, i, j, k = value.encode("ascii")
    # The weights are _PACKED_W written out as literals. The compiler folds them, which is measurably faster
    # than indexing a tuple. A slip in a literal makes the property tests disagree with their reference
    # implementation.
    sums = (
        (3 << 12 | 5) * a + (7 << 12 | 4) * b + (6 << 12 | 3) * c + (1 << 12 | 2) * d
        + (8 << 12 | 7) * e + (9 << 12 | 6) * f + (4 << 12 | 5) * g + (5 << 12 | 4) * h
        + (2 << 12 | 3) * i + (1 << 12 | 2) * j + k - _PACKED_ASCII_BIAS
    )  # fmt: skip
    r1 = (sums >> 12) % 11
    if r1 > 3:  # 0 is the pre-2032 rule; 1–3 are allowed for numbers issued from 2032
        return "check_digit_1"
    if (sums & 0xFFF) % 11:
        return "check_digit_2"
    day_month = _DAY_MONTH[a * 1000 + b * 100 + c * 10 + d - _BIAS_4]
    if day_month == _NOT_A_DATE:
        return "date"
    if r1 == 0:
        century = _CENTURY[e * 1000 + f * 100 + g * 10 + h - _BIAS_4]
        if century == _NO_CENTURY:
            return "individual_number"
        if day_month == _LEAP_YEAR_ONLY and not _is_leap(century * 100 + (e - _ZERO) * 10 + f - _ZERO):
            return "date"
        return century
    if day_month == _LEAP_YEAR_ONLY and ((e - _ZERO) * 10 + f - _ZERO) % 4:
        # With an unknown century, 29 February is possible exactly when YY is a multiple of 4. For YY = 00,
        # that is the year 2000.
        return "date"
    return _UNKNOWN_CENTURY


_PERSON_DETAIL: dict[IdentifierRule, str] = {
    "length": "A fødselsnummer or D-nummer has 11 digits.",
    "digits": "A fødselsnummer or D-nummer contains only the digits 0-9.",
    "check_digit_1": "The first check digit of the fødselsnummer or D-nummer is wrong.",
    "check_digit_2": "The second check digit of the fødselsnummer or D-nummer is wrong.",
    "date": "The first six digits of the fødselsnummer or D-nummer are not a calendar date.",
    "individual_number": "The individnummer of the fødselsnummer or D-nummer does not fit its birth year.",
}


def is_valid_person_identifier(value: str) -> bool:
    """True for a valid fødselsnummer or D-nummer (real or synthetic, pre-2032 or 2032 rule).

    Does not raise: any non-string is simply invalid.
    """
    return isinstance(value, str) and not isinstance(_check_person(value), str)


def parse_person_identifier(value: str) -> PersonIdentifier:
    """Parse a fødselsnummer or D-nummer. Raises InvalidIdentifier naming the first rule broken.

    The rules are checked in the order length, digits, check_digit_1, check_digit_2, date,
    individual_number. So a typo reports a check digit, never a date.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    century = _check_person(value)
    if isinstance(century, str):
        raise InvalidIdentifier(value, century, _PERSON_DETAIL[century])
    a, b, c, d, e, f = value[:6].encode("ascii")
    day = (a - _ZERO) * 10 + b - _ZERO
    # Only the tens digit carries the offsets. "4"–"7" mean a D-nummer; "4"/"5" and "8"/"9" in the month
    # mean a synthetic number (+40 or +80).
    is_d_number = a >= ord("4")
    is_synthetic = c >= ord("4")
    birth_date = None
    if century != _UNKNOWN_CENTURY:
        birth_date = date(
            century * 100 + (e - _ZERO) * 10 + f - _ZERO,
            ((c - _ZERO) % 4) * 10 + d - _ZERO,  # 4→0, 5→1, 8→0, 9→1: removes +40 and +80
            day - 40 if is_d_number else day,
        )
    return PersonIdentifier(
        value=value,
        kind="dnr" if is_d_number else "fnr",
        synthetic=is_synthetic,
        birth_date=birth_date,
    )


# Partial check sums for the generator, per DDMM / YY / III value. Looking them up is cheaper than
# splitting digits on every call.
_W1_DDMM = tuple(sum(w * int(x) for w, x in zip(_W1[:4], f"{n:04d}", strict=True)) for n in range(10_000))
_W2_DDMM = tuple(sum(w * int(x) for w, x in zip(_W2[:4], f"{n:04d}", strict=True)) for n in range(10_000))
_W1_YY = tuple(sum(w * int(x) for w, x in zip(_W1[4:6], f"{n:02d}", strict=True)) for n in range(100))
_W2_YY = tuple(sum(w * int(x) for w, x in zip(_W2[4:6], f"{n:02d}", strict=True)) for n in range(100))
_W1_III = tuple(sum(w * int(x) for w, x in zip(_W1[6:9], f"{n:03d}", strict=True)) for n in range(1000))
_W2_III = tuple(sum(w * int(x) for w, x in zip(_W2[6:9], f"{n:03d}", strict=True)) for n in range(1000))
_YY_DIGITS = tuple(f"{n:02d}" for n in range(100))
_III_DIGITS = tuple(f"{n:03d}" for n in range(1000))
# _CHECK_DIGITS[k1 * 11 + k2] spells "k1k2". Pairs where either digit would be 10 hold None.
_CHECK_DIGITS = tuple(None if 10 in (k1, k2) else f"{k1}{k2}" for k1 in range(11) for k2 in range(11))


def make_person_identifier(
    birth_date: date, individual_number: int, *, synthetic: bool = True, d_number: bool = False
) -> str | None:
    """The pre-2032-rule number for `birth_date` and `individual_number`, or None when none exists.

    A number has no digits when a check digit comes out as 10. That happens for about one in six
    individnumre, so callers should try the next one.

    `synthetic` adds 80 to the month (Skatteetaten/Tenor/TestID). It is on by default so that seeded data
    is never mistaken for real people. `d_number` adds 40 to the day. Raises ValueError when
    `individual_number` is not in 0–999, or is not in the series for the birth year. Supported years are
    1854–2039.
    """
    year = birth_date.year
    yy = year % 100
    if not 0 <= individual_number <= 999 or _CENTURY[yy * 100 + individual_number // 10] != year // 100:
        raise ValueError(
            f"individual number {individual_number!r} is not issued for people born in {year} "
            "(000-499: 1900-1999, 500-749: 1854-1899, 500-999: 2000-2039, 900-999: 1940-1999)"
        )
    ddmm = (birth_date.day + 40 if d_number else birth_date.day) * 100 + (
        birth_date.month + 80 if synthetic else birth_date.month
    )
    k1 = -(_W1_DDMM[ddmm] + _W1_YY[yy] + _W1_III[individual_number]) % 11
    k2 = -(_W2_DDMM[ddmm] + _W2_YY[yy] + _W2_III[individual_number] + 2 * k1) % 11
    check = _CHECK_DIGITS[k1 * 11 + k2]
    if check is None:
        return None
    return _DDMM_DIGITS[ddmm] + _YY_DIGITS[yy] + _III_DIGITS[individual_number] + check


# ---------------------------------------------------------------------------------------------------------
# Organisation numbers. The first digit is not limited to 8 or 9: numbers starting with 3 are issued now.


def _organization_failure(value: str) -> IdentifierRule | None:
    if len(value) != 9:
        return "length"
    if not (value.isascii() and value.isdigit()):
        return "digits"
    a, b, c, d, e, f, g, h, i = value.encode("ascii")
    if (3 * a + 2 * b + 7 * c + 6 * d + 5 * e + 4 * f + 3 * g + 2 * h + i - _ASCII_BIAS_ORG) % 11:
        return "check_digit_1"  # the only check digit; the rule names are shared with person identifiers
    return None


_ORGANIZATION_DETAIL: dict[IdentifierRule, str] = {
    "length": "An organisasjonsnummer has 9 digits.",
    "digits": "An organisasjonsnummer contains only the digits 0-9.",
    "check_digit_1": "The check digit of the organisasjonsnummer is wrong.",
}


def is_valid_organization_number(value: str) -> bool:
    """True for a valid organisasjonsnummer. Does not raise: any non-string is simply invalid."""
    return isinstance(value, str) and _organization_failure(value) is None


def parse_organization_number(value: str) -> str:
    """Return `value` if it is a valid organisasjonsnummer. Otherwise raise InvalidIdentifier."""
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    failure = _organization_failure(value)
    if failure is not None:
        raise InvalidIdentifier(value, failure, _ORGANIZATION_DETAIL[failure])
    return value


def make_organization_number(first_eight_digits: int) -> str | None:
    """The number with these first eight digits (zero-padded), or None if its check digit would be 10."""
    if not 0 <= first_eight_digits <= 99_999_999:
        raise ValueError(f"first_eight_digits must be in 0..99999999, got {first_eight_digits!r}")
    body = f"{first_eight_digits:08d}"
    a, b, c, d, e, f, g, h = body.encode("ascii")
    check = -(3 * a + 2 * b + 7 * c + 6 * d + 5 * e + 4 * f + 3 * g + 2 * h - _ASCII_BIAS_ORG_BODY) % 11
    return None if check == 10 else body + _DIGITS[check]
