"""The municipality's rules for leave from school (seed 003's demo, "søke fri basert på regler"): the school
grants at most `MAX_SCHOOL_DAYS` school days (weekdays) and none in a test week; an application within the rules
is granted at once, any other goes to a case worker, who may still grant it for a good reason. Kindergarten
places are always decided by a case worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

MAX_SCHOOL_DAYS = 10
# The school year's test weeks (ISO weeks): national tests in week 38, mock exams in week 10.
TEST_WEEKS = frozenset({10, 38})


class Outcome(StrEnum):
    GRANTED = "innvilget"
    REFUSED = "avslått"
    MANUAL = "til saksbehandler"


@dataclass(frozen=True)
class Assessment:
    outcome: Outcome
    reasons: tuple[str, ...]
    school_days: int = 0


def school_days(first: date, last: date) -> int:
    """The weekdays from `first` to `last`, both included."""
    return sum(1 for offset in range((last - first).days + 1) if (first + timedelta(days=offset)).weekday() < 5)


def assess_leave(first: date | None, last: date | None, *, test_weeks: frozenset[int] = TEST_WEEKS,
                 max_days: int = MAX_SCHOOL_DAYS) -> Assessment:
    """Granted when the dates are given and in order, span at most `max_days` school days and touch no test week;
    otherwise to a case worker, with the reasons."""
    if first is None or last is None or last < first:
        return Assessment(Outcome.MANUAL, ("Datoene mangler eller er i feil rekkefølge.",))
    days = school_days(first, last)
    reasons = []
    if days > max_days:
        reasons.append(f"Søknaden gjelder {days} skoledager; skolen kan innvilge inntil {max_days} uten vurdering.")
    weeks = sorted({(first + timedelta(days=n)).isocalendar().week for n in range((last - first).days + 1)}
                   & test_weeks)
    if weeks:
        reasons.append("Perioden er i prøveuke (uke " + ", ".join(map(str, weeks)) + ").")
    if reasons:
        return Assessment(Outcome.MANUAL, tuple(reasons), days)
    return Assessment(Outcome.GRANTED, (f"{days} skoledager utenom prøveuker er innenfor reglene.",), days)
