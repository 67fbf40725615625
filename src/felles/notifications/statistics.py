"""Varsling's figures for the monthly statistics: notifications sent per channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from felles.core.db import Database
from felles.notifications.models import Notification

SENT_RESULTS = ("Email_Succeeded", "Email_Delivered", "SMS_Accepted", "SMS_Delivered")


async def notifications_sent(database: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Notifications handed to the e-mail or SMS gateway in [start, end) (by their latest result's time), per
    channel."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(Notification.channel, func.count())
            .where(Notification.status.in_(SENT_RESULTS), Notification.status_at >= start,
                   Notification.status_at < end)
            .group_by(Notification.channel))
        return {channel: int(count) for channel, count in rows.all()}
