"""The leave rules: granted at once within 10 school days outside test weeks, otherwise to a case worker, checked
against counting each day of the period."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from felles.casesystem.rules import MAX_SCHOOL_DAYS, TEST_WEEKS, Outcome, assess_leave, school_days


def test_eight_school_days_in_december_are_granted_and_a_test_week_is_not() -> None:
    granted = assess_leave(date(2026, 12, 14), date(2026, 12, 23))
    assert (granted.outcome, granted.school_days) == (Outcome.GRANTED, 8)
    in_test_week = assess_leave(date(2027, 3, 8), date(2027, 3, 9))  # ISO week 10
    assert in_test_week.outcome is Outcome.MANUAL and "uke 10" in in_test_week.reasons[0]
    assert assess_leave(date(2027, 1, 4), date(2027, 1, 22)).outcome is Outcome.MANUAL  # 15 school days
    assert assess_leave(date(2027, 1, 5), date(2027, 1, 4)).outcome is Outcome.MANUAL  # dates in the wrong order
    assert assess_leave(None, date(2027, 1, 4)).outcome is Outcome.MANUAL


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=0, max_value=40))
def test_the_rules_agree_with_counting_each_day(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    days = [first + timedelta(days=n) for n in range(length + 1)]
    weekdays = sum(1 for day in days if day.weekday() < 5)
    in_test_week = any(day.isocalendar().week in TEST_WEEKS for day in days)
    assessment = assess_leave(first, last)
    assert school_days(first, last) == weekdays
    expected = Outcome.GRANTED if weekdays <= MAX_SCHOOL_DAYS and not in_test_week else Outcome.MANUAL
    assert assessment.outcome is expected
