"""Tables of Varsling: order chains (one order and its reminders), orders (shipments), one notification per
recipient and channel, the status feed, and the development SMS and e-mail outboxes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime

SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")


class NotificationOrderChain(Base):
    """A v2 order: the notification and its reminders, created once per `idempotencyId` and creator."""

    __tablename__ = "notification_order_chains"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    creator: Mapped[str] = mapped_column(String(100))
    idempotency_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The answer given when it was created, given again to a repeated request.
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (UniqueConstraint("creator", "idempotency_id", name="uq_notification_order_chains_idempotency"),)


class NotificationOrder(Base):
    """One shipment: a notification or a reminder, sent at its time to its recipients if its condition holds."""

    __tablename__ = "notification_orders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chain_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notification_order_chains.id"))
    creator: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))  # Notification | Reminder
    senders_reference: Mapped[str | None] = mapped_column(String(200))
    requested_send_time: Mapped[datetime] = mapped_column(UTCDateTime)
    condition_endpoint: Mapped[str | None] = mapped_column(String(2000))
    # [{"email": …} | {"mobile": …} | {"person": fnr} | {"organization": orgnr}]
    recipients: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
    channel_scheme: Mapped[str] = mapped_column(String(16))
    ignore_reservation: Mapped[bool] = mapped_column(Boolean, default=False)
    use_stale_contact_information: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"email": {subject, body, contentType, senderEmailAddress, translations}, "sms": {sender, body, ...}}
    texts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_notification_orders_chain_id", "chain_id"),
        Index("ix_notification_orders_creator_senders_reference", "creator", "senders_reference"),
    )


class Notification(Base):
    """One recipient on one channel, with its result (Email_New … Email_Succeeded, SMS_…, *_Failed_…)."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notification_orders.id"))
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    destination: Mapped[str | None] = mapped_column(String(200))
    # The person (fødselsnummer) or organisation (orgnr) it was looked up for, if any.
    recipient_identifier: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(48))
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sender: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(8))
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_notifications_order_id_status", "order_id", "status"),)


class OrderStatusChange(Base):
    """The status feed: every status an order takes, numbered for consumers that follow it."""

    __tablename__ = "notification_status_feed"

    sequence: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    creator: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_notification_status_feed_creator_sequence", "creator", "sequence"),)


class OutboxMessage:
    """What a development provider "sent" (columns shared by the e-mail and SMS outboxes)."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsOutboxMessage(OutboxMessage, Base):
    """An SMS "sent" by the development provider: kept here and shown at /notifications/sms-outbox."""

    __tablename__ = "sms_outbox"

    sender: Mapped[str] = mapped_column(String(100))
    destination: Mapped[str] = mapped_column(String(20))


class EmailOutboxMessage(OutboxMessage, Base):
    """An e-mail "sent" by the development provider: kept here and shown at /notifications/email-outbox."""

    __tablename__ = "email_outbox"

    sender: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[bool] = mapped_column(Boolean)
