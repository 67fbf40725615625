"""Usage counts for the monthly statistics (tokens per client, logins per eID …), at no cost per request.

A component counts with `count_usage(component, metric, key)` in process memory; each server process stores what
it counted once a minute (`flush_usage`, run by the operations component while the process serves, and when it
stops), one row per hour, component, metric and key; `usage_counts` sums them for a period. Nothing is written
on the hot path (a Maskinporten token stays one signature), and a process killed loses at most its last minute.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Uuid, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.clock import utcnow
from felles.core.db import Base, Database, UTCDateTime
from felles.core.ids import uuid7


class UsageCount(Base):
    __tablename__ = "usage_counts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    component: Mapped[str] = mapped_column(String(50))
    metric: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_usage_counts_component_metric_hour", "component", "metric", "hour"),)


_lock = threading.Lock()
_counted: dict[tuple[str, str, str], int] = {}


def count_usage(component: str, metric: str, key: str, amount: int = 1) -> None:
    """Count one use (a token issued to a client, a login with an eID) in this process."""
    with _lock:
        _counted[component, metric, key[:200]] = _counted.get((component, metric, key[:200]), 0) + amount


async def flush_usage(database: Database, now: datetime | None = None) -> int:
    """Store what this process counted since the last flush; returns how many uses."""
    global _counted
    with _lock:
        taken, _counted = _counted, {}
    if not taken:
        return 0
    hour = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    try:
        async with database.transaction() as session:
            await session.execute(insert(UsageCount), [
                dict(hour=hour, component=component, metric=metric, key=key, count=count)
                for (component, metric, key), count in taken.items()])
    except Exception:
        for name, count in taken.items():
            count_usage(*name, amount=count)
        raise
    return sum(taken.values())


async def usage_counts(database: Database, component: str, metric: str, start: datetime,
                       end: datetime) -> dict[str, int]:
    """How many uses of a metric each key had in [start, end) (by the hour counted)."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(UsageCount.key, func.sum(UsageCount.count))
            .where(UsageCount.component == component, UsageCount.metric == metric, UsageCount.hour >= start,
                   UsageCount.hour < end)
            .group_by(UsageCount.key))
        return {key: int(count) for key, count in rows.all()}
