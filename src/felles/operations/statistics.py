"""The monthly statistics (as the seeds' terms of use promise): each component's figures through its own
`statistics` service functions, and the platform's own: availability from the health samples and response-time
percentiles from the counts every server process stores."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select

from felles.core.db import Database
from felles.correspondence import statistics as correspondence_statistics
from felles.identity import statistics as identity_statistics
from felles.notifications import statistics as notifications_statistics
from felles.operations.models import HealthSample, ResponseTimeCount

PERCENTILES = (0.50, 0.95, 0.99)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, today: date) -> Month:
        """`YYYY-MM`, or this month when absent or not a month."""
        try:
            year, month = (int(part) for part in (text or "").split("-"))
            if 2000 <= year <= 2100 and 1 <= month <= 12:
                return cls(year, month)
        except ValueError:
            pass
        return cls(today.year, today.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=calendar.monthrange(self.year, self.month)[1])

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def days(self) -> list[date]:
        return [date(self.year, self.month, day) for day in range(1, calendar.monthrange(self.year, self.month)[1] + 1)]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class MonthlyStatistics:
    month: Month
    logins_per_eid: dict[str, int]
    tokens_per_client: dict[str, int]
    notifications_sent: dict[str, int]
    letters_printed_per_day: dict[date, int]
    availability: dict[str, float]  # percent of samples where the component's check passed
    response_times_ms: dict[str, tuple[float, ...]]  # p50, p95, p99 per component
    requests: dict[str, int]


async def availability(database: Database, start: datetime, end: datetime) -> dict[str, float]:
    """Per component, the percentage of its minute-by-minute self-checks in [start, end) that passed."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(HealthSample.component, func.count(), func.sum(case((HealthSample.ok, 1), else_=0)))
            .where(HealthSample.taken_at >= start, HealthSample.taken_at < end)
            .group_by(HealthSample.component))
        return {component: 100 * int(ok or 0) / total for component, total, ok in rows.all() if total}


async def response_times(database: Database, start: datetime,
                         end: datetime) -> tuple[dict[str, tuple[float, ...]], dict[str, int]]:
    """Per component, the p50, p95 and p99 response times in [start, end) in milliseconds (each the upper bound
    of the histogram bucket it falls in), and how many requests."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(ResponseTimeCount.component, ResponseTimeCount.le, func.sum(ResponseTimeCount.count))
            .where(ResponseTimeCount.hour >= start, ResponseTimeCount.hour < end)
            .group_by(ResponseTimeCount.component, ResponseTimeCount.le))
        buckets: dict[str, list[tuple[float, int]]] = {}
        for component, le, count in rows.all():
            buckets.setdefault(component, []).append((float(le), int(count)))
    percentiles, totals = {}, {}
    for component, counts in buckets.items():
        counts.sort()
        total = sum(count for _, count in counts)
        totals[component] = total
        percentiles[component] = tuple(_bucket_at(counts, total * q) * 1000 for q in PERCENTILES)
    return percentiles, totals


def _bucket_at(counts: list[tuple[float, int]], rank: float) -> float:
    seen = 0
    finite = [le for le, _ in counts if le != float("inf")]
    for le, count in counts:
        seen += count
        if seen >= rank:
            # Above the highest bound: say at least that bound (the histogram knows no more).
            return le if le != float("inf") else max(finite, default=10.0)
    return counts[-1][0]


async def monthly_statistics(database: Database, month: Month) -> MonthlyStatistics:
    start, end = month.start, month.end
    percentiles, requests = await response_times(database, start, end)
    return MonthlyStatistics(
        month=month,
        logins_per_eid=await identity_statistics.logins_per_eid(database, start, end),
        tokens_per_client=await identity_statistics.tokens_per_client(database, start, end),
        notifications_sent=await notifications_statistics.notifications_sent(database, start, end),
        letters_printed_per_day=await correspondence_statistics.letters_printed_per_day(database, start, end),
        availability=await availability(database, start, end),
        response_times_ms=percentiles,
        requests=requests,
    )
