"""Tables of Altinn Events: the append-only event log, subscriptions and the delivery of each event to each
matching subscription (with its attempts and, after the last one, its dead letter)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for an append-only log.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")


class CloudEventRecord(Base):
    """One CloudEvent, stored once per (source, id) and never changed. `sequence` orders the log (the `after`
    cursor). CloudEvents makes an id unique within its source only: one publisher cannot claim another's ids."""

    __tablename__ = "events"

    sequence: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(500))
    alternative_subject: Mapped[str | None] = mapped_column(String(500))
    resource: Mapped[str | None] = mapped_column(String(500))
    resource_instance: Mapped[str | None] = mapped_column(String(500))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Who published it ("organization:<orgnr>", "system:<component>"): publishers may read their own events.
    publisher: Mapped[str] = mapped_column(String(100))
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_events_resource_sequence", "resource", "sequence"),
                      UniqueConstraint("event_id", "source", name="uq_events_event_id_source"))


class Subscription(Base):
    """A consumer's webhook with its filters. Nothing is delivered before the endpoint passed validation."""

    __tablename__ = "event_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    end_point: Mapped[str] = mapped_column(String(2000))
    source_filter: Mapped[str | None] = mapped_column(String(500))
    type_filter: Mapped[str | None] = mapped_column(String(200))
    subject_filter: Mapped[str | None] = mapped_column(String(500))
    resource_filter: Mapped[str | None] = mapped_column(String(500))
    alternative_subject_filter: Mapped[str | None] = mapped_column(String(500))
    # The party that owns the subscription ("organization:<orgnr>" / "person:<fnr>" / "system:<client>").
    consumer: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    # What the consumer's token allowed at subscription time (["*"] for the admin scope); see service.ReadDecisions.
    grants: Mapped[list[str]] = mapped_column(JSONDocument)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    validated: Mapped[bool] = mapped_column(Boolean, default=False)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_event_subscriptions_consumer", "consumer"),)


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # dead letter: every attempt failed
    UNAUTHORIZED = "unauthorized"  # the subscriber may not read this event (checked at delivery)
    CANCELLED = "cancelled"  # the subscription was deleted


class EventDelivery(Base):
    """One event on its way to one subscription's webhook."""

    __tablename__ = "event_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("event_subscriptions.id", ondelete="CASCADE"))
    event_sequence: Mapped[int] = mapped_column(ForeignKey("events.sequence"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_sequence", name="uq_event_deliveries_subscription_event"),
        Index("ix_event_deliveries_status", "status"),
    )
