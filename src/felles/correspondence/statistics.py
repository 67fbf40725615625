"""Correspondence's figures for the monthly statistics: letters printed (sent on paper) per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from felles.core.db import Database
from felles.correspondence.letters_models import Letter


async def letters_printed_per_day(database: Database, start: datetime, end: datetime) -> dict[date, int]:
    """Letters handed to the print provider in [start, end), per day (UTC)."""
    per_day: dict[date, int] = {}
    async with database.transaction() as session:
        printed = await session.stream_scalars(
            select(Letter.printed_at).where(Letter.printed_at >= start, Letter.printed_at < end))
        async for moment in printed:
            if moment is not None:
                per_day[moment.date()] = per_day.get(moment.date(), 0) + 1
    return per_day
