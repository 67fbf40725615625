"""Tables of the broker (Formidlingstjenesten): service owners and resources set up for it, file transfers with
their recipients, the stored parts of each file, and the status history of the transfer and of each recipient."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime


class BrokerServiceOwner(Base):
    """A service owner onboarded to the broker (Altinn's `POST /broker/api/v1/serviceowner`)."""

    __tablename__ = "broker_service_owners"

    organization_number: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    deletion_time: Mapped[str | None] = mapped_column(String(50))  # ISO 8601 duration
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BrokerResource(Base):
    """The broker's settings of one resource of the resource registry (Altinn's `ResourceExt`)."""

    __tablename__ = "broker_resources"

    resource_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    service_owner: Mapped[str] = mapped_column(String(9))  # organisation number of the competent authority
    max_file_transfer_size: Mapped[int | None] = mapped_column(BigInteger)
    file_transfer_time_to_live: Mapped[str | None] = mapped_column(String(50))  # ISO 8601 duration
    purge_after_all_recipients_confirmed: Mapped[bool] = mapped_column(Boolean)
    purge_grace_period: Mapped[str | None] = mapped_column(String(50))  # ISO 8601 duration
    use_manifest_file_shim: Mapped[bool] = mapped_column(Boolean)
    external_service_code_legacy: Mapped[str | None] = mapped_column(String(100))
    external_service_edition_code_legacy: Mapped[int | None] = mapped_column(Integer)
    required_party: Mapped[str | None] = mapped_column(String(100))
    # Set by the platform's operators, never by the service owner: senders may then turn the virus scan off.
    approved_for_disabled_virus_scan: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FileTransfer(Base):
    """Filoverføring: one file from a sender organisation to one or more recipient organisations."""

    __tablename__ = "broker_file_transfers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(9))  # organisation number
    senders_reference: Mapped[str | None] = mapped_column(String(4096))
    file_name: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str | None] = mapped_column(String(32))  # MD5, hex: the sender's, else the one computed
    use_virus_scan: Mapped[bool] = mapped_column(Boolean)
    property_list: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Bytes stored so far (the TUS offset); the whole size once uploaded.
    size: Mapped[int] = mapped_column(BigInteger)
    # The size announced by a resumable upload (TUS `Upload-Length`), None until one is created.
    upload_length: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(30))
    status_text: Mapped[str] = mapped_column(String(1000))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))  # audit actor

    __table_args__ = (
        Index("ix_broker_file_transfers_sender_resource", "sender", "resource_id"),
        Index("ix_broker_file_transfers_created_at", "created_at"),
    )


class FileTransferPart(Base):
    """A stored piece of a transfer's file, from `offset` on. The file is its parts in order: an upload commits
    each part when it is whole, so that a resumable upload survives a killed process from the last part on."""

    __tablename__ = "broker_file_transfer_parts"

    file_transfer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("broker_file_transfers.id", ondelete="CASCADE"), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(200))


class FileTransferRecipient(Base):
    """One recipient of a transfer and its current status (Initialized, DownloadStarted, DownloadConfirmed)."""

    __tablename__ = "broker_file_transfer_recipients"

    file_transfer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("broker_file_transfers.id", ondelete="CASCADE"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(9), primary_key=True)  # organisation number
    status: Mapped[str] = mapped_column(String(30))
    status_text: Mapped[str] = mapped_column(String(1000))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_broker_file_transfer_recipients_recipient", "recipient"),)


class FileTransferStatusEvent(Base):
    """One status a transfer passed through; with `recipient` set, one status of that recipient."""

    __tablename__ = "broker_file_transfer_status_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    file_transfer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("broker_file_transfers.id", ondelete="CASCADE"))
    recipient: Mapped[str | None] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(30))
    status_text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_broker_file_transfer_status_events_file_transfer_id", "file_transfer_id"),)


class BrokerRateLimitWindow(Base):
    """Calls of one client to one endpoint in the current minute (a fixed window), shared by every server process
    as Altinn's limits are (Altinn counts in a shared cache)."""

    __tablename__ = "broker_rate_limit_windows"

    client: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(50), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger)  # minutes since the epoch
    calls: Mapped[int] = mapped_column(Integer)
