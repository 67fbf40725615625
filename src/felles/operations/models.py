"""Incidents (driftsmeldinger) shown on the status page, and the availability samples behind the statistics."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, UTCDateTime
from felles.core.ids import uuid7


class Incident(Base):
    """Driftsmelding: an operator's notice that a component does not work as it should, until it is closed."""

    __tablename__ = "operations_incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    component: Mapped[str] = mapped_column(String(100))
    # "degraded" (slower or partly failing) or "outage" (does not work); "maintenance" is planned.
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_operations_incidents_opened_at", "opened_at"),)


class HealthSample(Base):
    """One self-check of one component at one time (taken every minute by a recurring job): availability."""

    __tablename__ = "operations_health_samples"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    component: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool] = mapped_column(Boolean)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_operations_health_samples_taken_at", "taken_at"),)


class ResponseTimeCount(Base):
    """How many requests to a component a server process answered within `le` seconds (and above the next lower
    bound) during one hour: histogram buckets, flushed from each process every minute, summed when read."""

    __tablename__ = "operations_response_times"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    component: Mapped[str] = mapped_column(String(100))
    le: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer, default=0)  # of them, answered with a 5xx

    __table_args__ = (Index("ix_operations_response_times_hour", "hour"),)
