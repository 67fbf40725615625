"""Tables of Correspondence (Meldingstjenesten): messages from a sender to one recipient each, their append-only
status history, attachments (shared by the correspondences that name them) with their own history, and the
notification order each correspondence placed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime


class Correspondence(Base):
    """Melding: one message to one recipient (a person or an organisation). Sending to many recipients makes one
    row per recipient, as in Altinn."""

    __tablename__ = "correspondences"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(9))  # the sending organisation's number
    recipient: Mapped[str] = mapped_column(String(11))  # fødselsnummer or organisasjonsnummer
    senders_reference: Mapped[str] = mapped_column(String(4096))
    message_sender: Mapped[str | None] = mapped_column(String(256))  # the name shown instead of the sender's
    language: Mapped[str] = mapped_column(String(2))
    message_title: Mapped[str] = mapped_column(String(255))
    message_summary: Mapped[str | None] = mapped_column(String(255))
    message_body: Mapped[str] = mapped_column(Text)  # markdown
    requested_publish_time: Mapped[datetime] = mapped_column(UTCDateTime)
    due_date_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    allow_system_delete_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_references: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    property_list: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    reply_options: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    # The request's `notification`, as sent (templates and texts); None when the sender asked for none.
    notification: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    ignore_reservation: Mapped[bool] = mapped_column(Boolean)
    is_confirmation_needed: Mapped[bool] = mapped_column(Boolean)
    is_confidential: Mapped[bool] = mapped_column(Boolean)
    allow_forwarding: Mapped[bool] = mapped_column(Boolean)
    idempotent_key: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The latest status that says where the message stands (Fetched and AttachmentsDownloaded are only history).
    status: Mapped[str] = mapped_column(String(30))
    status_changed: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_correspondences_recipient_created_at", "recipient", "created_at"),
        Index("ix_correspondences_sender_created_at", "sender", "created_at"),
        Index("ix_correspondences_idempotent_key", "idempotent_key"),
        # The sweep for allowSystemDeleteAfter.
        Index("ix_correspondences_allow_system_delete_after", "allow_system_delete_after"),
    )


class CorrespondenceStatusEvent(Base):
    """One step in a correspondence's life (Altinn's `CorrespondenceStatusEntity`); never changed."""

    __tablename__ = "correspondence_statuses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    correspondence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("correspondences.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(30))
    status_text: Mapped[str] = mapped_column(String(500))
    status_changed: Mapped[datetime] = mapped_column(UTCDateTime)
    performed_by: Mapped[str] = mapped_column(String(100))  # a party urn or a system

    __table_args__ = (Index("ix_correspondence_statuses_correspondence_id", "correspondence_id"),)


class CorrespondenceAttachment(Base):
    """Vedlegg: a file a sender uploaded, stored in the blob store and scanned, and shared by every correspondence
    that names it."""

    __tablename__ = "correspondence_attachments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(9))
    file_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    senders_reference: Mapped[str] = mapped_column(String(4096))
    is_encrypted: Mapped[bool] = mapped_column(Boolean)
    checksum: Mapped[str | None] = mapped_column(String(64))  # MD5 hex, given by the sender or computed
    size: Mapped[int | None] = mapped_column(Integer)
    blob_key: Mapped[str | None] = mapped_column(String(200))
    expiration_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30))
    status_text: Mapped[str] = mapped_column(String(500))
    status_changed: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_correspondence_attachments_sender", "sender"),)


class AttachmentStatusEvent(Base):
    __tablename__ = "correspondence_attachment_statuses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("correspondence_attachments.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(30))
    status_text: Mapped[str] = mapped_column(String(500))
    status_changed: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_correspondence_attachment_statuses_attachment_id", "attachment_id"),)


class CorrespondenceAttachmentLink(Base):
    """Which attachments a correspondence carries, in the order the sender gave them."""

    __tablename__ = "correspondence_attachment_links"

    correspondence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("correspondences.id", ondelete="CASCADE"), primary_key=True)
    attachment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("correspondence_attachments.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_correspondence_attachment_links_attachment_id", "attachment_id"),)


class CorrespondenceNotification(Base):
    """The notification order chain (a notice and maybe a reminder) a correspondence placed with Varsling; at most
    one per correspondence, so a retried job never orders twice."""

    __tablename__ = "correspondence_notifications"

    correspondence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("correspondences.id", ondelete="CASCADE"), primary_key=True)
    order_chain_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    shipment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reminder_shipment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_send_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CorrespondenceRequest(Base):
    """A sender's `idempotentKey` and the answer its request got: the same key again gets the same answer and
    creates nothing."""

    __tablename__ = "correspondence_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sender: Mapped[str] = mapped_column(String(9))
    idempotent_key: Mapped[uuid.UUID] = mapped_column(Uuid)
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("sender", "idempotent_key", name="uq_correspondence_requests_sender_key"),)
