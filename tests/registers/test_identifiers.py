"""Tests for fødselsnummer/D-nummer and organisasjonsnummer parsing and generation.

The module under test is written for speed (ASCII arithmetic, lookup tables). The reference functions
here are written for obviousness instead: per-digit sums, the century table as printed in
docs/reference, and `datetime.date` for the calendar. The property tests check that the two agree.
"""

from __future__ import annotations

import pickle
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from felles.core.errors import InvalidInput, Problem, install_problem_handlers
from felles.registers.identifiers import (
    InvalidIdentifier,
    PersonIdentifier,
    is_valid_organization_number,
    is_valid_person_identifier,
    make_organization_number,
    make_person_identifier,
    parse_organization_number,
    parse_person_identifier,
)

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
ORG_W = (3, 2, 7, 6, 5, 4, 3, 2)
CHECK_RULES = {"check_digit_1", "check_digit_2"}

VERIFIED_PERSONS = {
    # value: (kind, synthetic, birth date)
    "47906701517": ("dnr", True, date(1967, 10, 7)),  # TestID: synthetic D-nummer, +40 day and +80 month
    "45840375084": ("dnr", True, date(2003, 4, 5)),  # Ansattporten
    "02013299997": ("fnr", False, date(2032, 1, 2)),  # Skatteetaten's 2032 examples; both have k1 remainder 0
    "30108299920": ("fnr", False, date(1982, 10, 30)),
    "55507608360": ("dnr", True, date(1976, 10, 15)),  # NAV Dolly: +40 month
    "20036914700": ("fnr", False, date(1969, 3, 20)),
}
VERIFIED_ORGANIZATIONS = ["991825827", "987464291", "974760673", "910753614", "314758625"]


# ---------------------------------------------------------------------------------------------------------
# Reference implementation


def weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(w * int(x) for w, x in zip(weights, digits, strict=True))


def k1_remainder(number: str) -> int:
    return (weighted(number[:9], W1) + int(number[9])) % 11


def with_check_digits(first_nine: str, remainder: int = 0) -> str | None:
    """Append k1 (for this k1 remainder) and k2, or None when either would be 10."""
    k1 = (remainder - weighted(first_nine, W1)) % 11
    if k1 == 10:
        return None
    k2 = -weighted(first_nine + str(k1), W2) % 11
    if k2 == 10:
        return None
    return f"{first_nine}{k1}{k2}"


def reference_century(yy: int, individual_number: int) -> int | None:
    if 0 <= individual_number <= 499:
        return 1900
    if 500 <= individual_number <= 749 and 54 <= yy <= 99:
        return 1800
    if 500 <= individual_number <= 999 and 0 <= yy <= 39:
        return 2000
    if 900 <= individual_number <= 999 and 40 <= yy <= 99:
        return 1900
    return None


def is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def reference_rule(value: str) -> str | None:
    if len(value) != 11:
        return "length"
    if any(ch not in "0123456789" for ch in value):
        return "digits"
    remainder = k1_remainder(value)
    if remainder not in (0, 1, 2, 3):
        return "check_digit_1"
    if (weighted(value[:10], W2) + int(value[10])) % 11:
        return "check_digit_2"
    day, month, yy, individual = int(value[0:2]), int(value[2:4]), int(value[4:6]), int(value[6:9])
    day = day - 40 if day > 40 else day
    month = month - 80 if month > 80 else month - 40 if month > 40 else month
    if remainder != 0:
        # 2032 rule: some century must make it a date.
        return None if any(is_date(c + yy, month, day) for c in (1800, 1900, 2000)) else "date"
    if not is_date(2000, month, day):  # 2000 is a leap year: this rejects only the never-dates
        return "date"
    century = reference_century(yy, individual)
    if century is None:
        return "individual_number"
    return None if is_date(century + yy, month, day) else "date"


def reference_organization_rule(value: str) -> str | None:
    if len(value) != 9:
        return "length"
    if any(ch not in "0123456789" for ch in value):
        return "digits"
    return None if (weighted(value[:8], ORG_W) + int(value[8])) % 11 == 0 else "check_digit_1"


def person_number(ddmmyy: str, individual_numbers: range, remainder: int = 0) -> str:
    """The first number with this date prefix whose check digits exist."""
    for individual in individual_numbers:
        number = with_check_digits(f"{ddmmyy}{individual:03d}", remainder)
        if number is not None:
            return number
    raise AssertionError("no individual number in range gives valid check digits")


def rule_of(value: str) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_person_identifier(value)
    assert not is_valid_person_identifier(value)
    return caught.value.rule


def substitutions(number: str):
    for position, digit in enumerate(number):
        for replacement in "0123456789":
            if replacement != digit:
                yield number[:position] + replacement + number[position + 1 :]


# ---------------------------------------------------------------------------------------------------------
# Strategies

YEAR_SERIES = [  # (first year, last year, individual-number ranges issued for them)
    (1854, 1899, [(500, 749)]),
    (1900, 1939, [(0, 499)]),
    (1940, 1999, [(0, 499), (900, 999)]),
    (2000, 2039, [(500, 999)]),
]


@st.composite
def birth_and_individual(draw: st.DrawFn) -> tuple[date, int]:
    born = draw(st.dates(min_value=date(1854, 1, 1), max_value=date(2039, 12, 31)))
    ranges = next(r for first, last, r in YEAR_SERIES if first <= born.year <= last)
    low, high = draw(st.sampled_from(ranges))
    return born, draw(st.integers(low, high))


def digit_strings(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=length, max_size=length)


@st.composite
def checksummed_person_numbers(draw: st.DrawFn) -> str:
    """11-digit strings whose check digits hold under either rule, so the date and century rules get tested.

    Half of them have a plausible day and month (with the offsets), because random digits rarely do.
    """
    if draw(st.booleans()):
        first_nine = draw(digit_strings(9))
    else:
        day = draw(st.integers(0, 32)) + draw(st.sampled_from([0, 40]))
        month = draw(st.integers(0, 13)) + draw(st.sampled_from([0, 40, 80]))
        rest = draw(digit_strings(5))
        first_nine = f"{day:02d}{month:02d}{rest}"
    number = with_check_digits(first_nine, draw(st.sampled_from([0, 0, 1, 2, 3])))
    if number is None:
        # Change k1's remainder: a pair that fails for one remainder usually works for another.
        number = next(n for r in (0, 1, 2, 3) if (n := with_check_digits(first_nine, r)) is not None)
    return number


# ---------------------------------------------------------------------------------------------------------
# Person identifiers: examples


@pytest.mark.parametrize("value", VERIFIED_PERSONS)
def test_verified_person_examples_parse(value: str) -> None:
    kind, synthetic, born = VERIFIED_PERSONS[value]
    assert is_valid_person_identifier(value)
    assert parse_person_identifier(value) == PersonIdentifier(
        value=value, kind=kind, synthetic=synthetic, birth_date=born
    )


@pytest.mark.parametrize("value", VERIFIED_PERSONS)
def test_every_single_digit_change_of_a_verified_person_number_fails_a_check_digit(value: str) -> None:
    for changed in substitutions(value):
        assert rule_of(changed) in CHECK_RULES, changed
    # A wrong k2 can only be caught by k2. A wrong k1 is caught by k1, or by k2 when the new k1 happens
    # to fit the 2032 rule.
    assert rule_of(value[:10] + str((int(value[10]) + 1) % 10)) == "check_digit_2"


@pytest.mark.parametrize(
    "value",
    ["", "4790670151", "479067015170", "479067 01517", " 47906701517", "47906701517\n", "4790-670-1517"],
)
def test_wrong_length_is_rejected(value: str) -> None:
    assert rule_of(value) == "length"


@pytest.mark.parametrize(
    "value",
    [
        "4790670151a",
        "4790670151 ",
        "+4790670151",
        "4790_670151",
        "4790670151²",  # "²".isdigit() is True
        "٤٧٩٠٦٧٠١٥١٧",  # Arabic-Indic digits: int() would read this as 47906701517
        "４７９０６７０１５１７",  # full-width digits
    ],
)
def test_non_digits_are_rejected(value: str) -> None:
    assert rule_of(value) == "digits"


@pytest.mark.parametrize(
    ("ddmmyy", "why"),
    [
        ("310490", "31 April"),
        ("300290", "30 February"),
        ("290290", "29 February 1990"),
        ("000190", "day 00"),
        ("320190", "day 32"),
        ("400190", "day 40: not a D-nummer, not a day"),
        ("720190", "D-nummer day 32"),
        ("810190", "day 81"),
        ("010090", "month 00"),
        ("011390", "month 13"),
        ("012190", "month 21: +20 is no convention"),
        ("016190", "month 61: +60 is no convention"),
        ("015390", "+40 month 13"),
        ("019390", "+80 month 13"),
        ("714090", "D-nummer 31, +40 month 00"),
    ],
)
def test_impossible_dates_are_rejected(ddmmyy: str, why: str) -> None:
    assert rule_of(person_number(ddmmyy, range(500))) == "date", why


def test_29_february_depends_on_the_century_from_the_individual_number() -> None:
    born_1900 = person_number("290200", range(500))  # 000–499 with 00: 1900, not a leap year
    born_2000 = person_number("290200", range(500, 1000))  # 500–999 with 00: 2000, a leap year
    assert rule_of(born_1900) == "date"
    assert parse_person_identifier(born_2000).birth_date == date(2000, 2, 29)
    assert parse_person_identifier(person_number("694296", range(500))).birth_date == date(1996, 2, 29)


@pytest.mark.parametrize(
    ("yy", "individual_numbers", "century"),
    [
        ("54", range(500, 510), 1800),
        ("99", range(740, 750), 1800),
        ("00", range(490, 500), 1900),
        ("39", range(0, 10), 1900),
        ("39", range(990, 1000), 2000),
        ("00", range(500, 510), 2000),
        ("40", range(900, 910), 1900),
        ("99", range(990, 1000), 1900),
        ("53", range(500, 510), None),  # 500–749 covers 1854–1899 only
        ("40", range(740, 750), None),
        ("40", range(890, 900), None),  # 750–899 is never issued before 2000
        ("99", range(750, 760), None),
    ],
)
def test_century_comes_from_the_individual_number(yy: str, individual_numbers: range, century: int | None) -> None:
    number = person_number(f"1503{yy}", individual_numbers)
    if century is None:
        assert rule_of(number) == "individual_number"
    else:
        assert parse_person_identifier(number).birth_date == date(century + int(yy), 3, 15)


@pytest.mark.parametrize("remainder", [1, 2, 3])
def test_2032_rule_numbers_are_valid_without_a_birth_date(remainder: int) -> None:
    number = person_number("478553", range(750, 900), remainder)  # 750–899 with 53: impossible before 2032
    assert k1_remainder(number) == remainder
    assert parse_person_identifier(number) == PersonIdentifier(
        value=number, kind="dnr", synthetic=True, birth_date=None
    )
    # The same digits with the pre-2032 k1 are checked against the century table and fail it.
    assert rule_of(person_number("478553", range(750, 900))) == "individual_number"


def test_2032_rule_numbers_still_need_a_calendar_date() -> None:
    assert rule_of(person_number("310485", range(1000), remainder=2)) == "date"
    assert rule_of(person_number("718285", range(1000), remainder=3)) == "date"  # D/synthetic 31 February
    # The century is unknown, so 29 February is accepted when some century makes YY a leap year.
    for yy in ("01", "02", "03", "98", "99"):
        assert rule_of(person_number(f"2902{yy}", range(1000), remainder=2)) == "date", yy
    for yy in ("00", "04", "96"):  # 00: 2000 was a leap year, though 1900 was not
        leap = parse_person_identifier(person_number(f"2902{yy}", range(1000), remainder=1))
        assert (leap.birth_date, leap.kind, leap.synthetic) == (None, "fnr", False)


def test_k1_remainders_above_3_are_rejected() -> None:
    for remainder in range(4, 11):
        k1 = (remainder - weighted("010190123", W1)) % 11
        if k1 != 10:
            assert rule_of(f"010190123{k1}0") == "check_digit_1"


def test_non_strings_are_invalid_but_never_crash_the_validator() -> None:
    assert not is_valid_person_identifier(47906701517)  # type: ignore[arg-type]
    assert not is_valid_person_identifier(None)  # type: ignore[arg-type]
    assert not is_valid_organization_number(991825827)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_person_identifier(47906701517)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_organization_number(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# Person identifiers: generation


def test_make_person_identifier_flags() -> None:
    born = date(1967, 10, 7)
    assert make_person_identifier(born, 15, synthetic=False) == "07106701568"
    assert make_person_identifier(born, 15) == "07906701523"  # synthetic (+80) by default
    assert make_person_identifier(born, 15, d_number=True) == "47906701517"  # the TestID example
    assert make_person_identifier(born, 15, synthetic=False, d_number=True) == "47106701551"


def test_make_person_identifier_returns_none_when_a_check_digit_is_10() -> None:
    born = date(1990, 5, 17)
    results = {n: make_person_identifier(born, n, synthetic=False) for n in range(500)}
    missing = {n for n, number in results.items() if number is None}
    assert missing == {n for n in range(500) if with_check_digits(f"170590{n:03d}") is None}
    assert 50 < len(missing) < 120  # about 1 − (10/11)², one in six


@pytest.mark.parametrize(
    ("born", "individual_number"),
    [
        (date(1990, 1, 1), -1),
        (date(1990, 1, 1), 1000),
        (date(1990, 1, 1), 500),
        (date(1950, 1, 1), 899),
        (date(1939, 1, 1), 900),
        (date(2000, 1, 1), 499),
        (date(1880, 1, 1), 750),
        (date(1880, 1, 1), 499),
        (date(1853, 12, 31), 600),
        (date(2040, 1, 1), 999),
        (date(1800, 1, 1), 600),  # yy 00 with 600 means 2000, not 1800
        (date(2, 1, 1), 0),
    ],
)
def test_make_person_identifier_rejects_individual_numbers_outside_the_series(
    born: date, individual_number: int
) -> None:
    with pytest.raises(ValueError, match="individual number"):
        make_person_identifier(born, individual_number)


@settings(max_examples=500)
@given(birth_and_individual(), st.booleans(), st.booleans())
def test_made_person_numbers_parse_back(born_and_individual: tuple[date, int], synthetic: bool, d: bool) -> None:
    born, individual = born_and_individual
    number = make_person_identifier(born, individual, synthetic=synthetic, d_number=d)
    day = born.day + 40 if d else born.day
    month = born.month + 80 if synthetic else born.month
    expected = with_check_digits(f"{day:02d}{month:02d}{born.year % 100:02d}{individual:03d}")
    assert number == expected
    if number is None:
        return
    assert parse_person_identifier(number) == PersonIdentifier(
        value=number, kind="dnr" if d else "fnr", synthetic=synthetic, birth_date=born
    )
    assert is_valid_person_identifier(number)


# ---------------------------------------------------------------------------------------------------------
# Person identifiers: properties


def check_agreement(value: str) -> None:
    expected = reference_rule(value)
    assert is_valid_person_identifier(value) is (expected is None)
    if expected is not None:
        assert rule_of(value) == expected
        return
    parsed = parse_person_identifier(value)
    assert parsed.value == value
    assert parsed.kind == ("dnr" if value[0] in "4567" else "fnr")
    assert parsed.synthetic is (value[2] in "4589")
    if k1_remainder(value) != 0:
        assert parsed.birth_date is None
    else:
        assert parsed.birth_date is not None
        assert parsed.birth_date.strftime("%d%m%y") == f"{int(value[:2]) % 40:02d}{int(value[2]) % 4}{value[3:6]}"


@settings(max_examples=1000)
@given(digit_strings(11))
def test_arbitrary_digit_strings_agree_with_the_reference(value: str) -> None:
    check_agreement(value)


@settings(max_examples=1000)
@given(checksummed_person_numbers())
def test_checksummed_numbers_agree_with_the_reference(value: str) -> None:
    check_agreement(value)


@given(st.text(max_size=14))
def test_arbitrary_text_agrees_with_the_reference(value: str) -> None:
    check_agreement(value)


@settings(max_examples=300)
@given(checksummed_person_numbers().filter(lambda n: reference_rule(n) is None), st.data())
def test_any_single_digit_change_fails_a_check_digit(number: str, data: st.DataObject) -> None:
    # Every k2 weight (5,4,3,2,7,6,5,4,3,2 and 1 for k2 itself) is non-zero mod 11. A change of one digit by
    # 1–9 therefore always moves the k2 sum off 0 mod 11. The relaxed 2032 k1 rule cannot hide it.
    position = data.draw(st.integers(0, 10))
    replacement = data.draw(st.sampled_from([x for x in "0123456789" if x != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    assert rule_of(changed) in CHECK_RULES


# ---------------------------------------------------------------------------------------------------------
# Organisation numbers


@pytest.mark.parametrize("value", VERIFIED_ORGANIZATIONS)
def test_verified_organization_numbers(value: str) -> None:
    assert is_valid_organization_number(value)
    assert parse_organization_number(value) == value
    assert make_organization_number(int(value[:8])) == value
    for changed in substitutions(value):
        assert not is_valid_organization_number(changed)
        with pytest.raises(InvalidIdentifier) as caught:
            parse_organization_number(changed)
        assert caught.value.rule == "check_digit_1"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "length"),
        ("99182582", "length"),
        ("9918258270", "length"),
        ("991 825 827", "length"),
        ("99182582x", "digits"),
        ("٩٩١٨٢٥٨٢٧", "digits"),
        ("991825828", "check_digit_1"),
    ],
)
def test_invalid_organization_numbers(value: str, rule: str) -> None:
    assert not is_valid_organization_number(value)
    with pytest.raises(InvalidIdentifier) as caught:
        parse_organization_number(value)
    assert caught.value.rule == rule


def test_organization_numbers_may_start_with_any_digit() -> None:
    assert make_organization_number(0) == "000000000"
    assert parse_organization_number("314758625") == "314758625"


@pytest.mark.parametrize("first_eight", [-1, 100_000_000])
def test_make_organization_number_rejects_out_of_range(first_eight: int) -> None:
    with pytest.raises(ValueError, match="first_eight_digits"):
        make_organization_number(first_eight)


@settings(max_examples=500)
@given(st.integers(0, 99_999_999))
def test_made_organization_numbers_round_trip(first_eight: int) -> None:
    number = make_organization_number(first_eight)
    body = f"{first_eight:08d}"
    completions = [body + k for k in "0123456789" if reference_organization_rule(body + k) is None]
    # Mod 11 leaves at most one valid check digit, and none when it would have to be 10.
    assert completions == ([] if number is None else [number])
    if number is not None:
        assert parse_organization_number(number) == number


@settings(max_examples=1000)
@given(st.one_of(digit_strings(9), st.text(max_size=11)))
def test_organization_validator_agrees_with_parser_and_reference(value: str) -> None:
    expected = reference_organization_rule(value)
    assert is_valid_organization_number(value) is (expected is None)
    if expected is None:
        assert parse_organization_number(value) == value
    else:
        with pytest.raises(InvalidIdentifier) as caught:
            parse_organization_number(value)
        assert caught.value.rule == expected


# ---------------------------------------------------------------------------------------------------------
# The exception


def test_invalid_identifier_is_a_400_problem_naming_the_rule() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_person_identifier("47906701518")
    error = caught.value
    assert isinstance(error, InvalidInput)
    assert isinstance(error, Problem)
    assert error.status == 400
    assert error.code == "invalid_identifier"
    assert error.extra == {"rule": "check_digit_2"}
    assert error.rule == "check_digit_2"
    assert error.value == "47906701518"
    # The number is personal data and must not leak into messages that get logged.
    assert "47906701518" not in error.detail
    assert "47906701518" not in str(error)


def test_invalid_identifier_survives_pickling() -> None:
    error = InvalidIdentifier("123", "length", "too short")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.value, copy.rule, copy.detail, copy.extra, copy.code, copy.status) == (
        InvalidIdentifier,
        "123",
        "length",
        "too short",
        {"rule": "length"},
        "invalid_identifier",
        400,
    )


async def test_problem_json_body_names_the_rule() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/people/{pid}")
    async def person(pid: str) -> dict[str, str]:
        return {"kind": parse_person_identifier(pid).kind}

    # httpx's ASGI transport rather than starlette's TestClient, which warns about its httpx dependency.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as client:
        assert (await client.get("/people/47906701517")).json() == {"kind": "dnr"}
        response = await client.get("/people/47906701557")  # k1 remainder 4
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_identifier"
    assert body["rule"] == "check_digit_1"
    assert body["status"] == 400
