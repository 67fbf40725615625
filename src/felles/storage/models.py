"""Storage's tables: the deployed applications' metadata, instances, their data elements and instance events.

An instance's process state, status and texts are kept as Altinn shapes them (JSON documents), since the app API
and Storage API hand them out whole; what queries filter on (owner, app, last change, process state, deletion) has
its own indexed column. Process history is not stored twice: Altinn derives it from the process instance events,
and so does Felles.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime


class Application(Base):
    """An app's metadata (`applicationmetadata.json`) as Storage serves it, for the version deployed last."""

    __tablename__ = "storage_applications"

    app_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "org/app"
    org: Mapped[str] = mapped_column(String(50), index=True)
    version: Mapped[int] = mapped_column(Integer)
    metadata_document: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_changed_by: Mapped[str] = mapped_column(String(100))


class Instance(Base):
    """One filled-in (or being filled-in) service for one party: Altinn's `Instance`."""

    __tablename__ = "storage_instances"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the instanceGuid
    party_id: Mapped[int] = mapped_column(Integer)  # instanceOwner.partyId
    # The owner's fødselsnummer or organisation number, from the party register (never from the caller).
    owner_identifier: Mapped[str] = mapped_column(String(11))
    app_id: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(String(50))
    # The deployed app version the instance runs on: a later deployment does not change a running form.
    app_version: Mapped[int] = mapped_column(Integer)
    process: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # The current task's element id, or "EndEvent…"/None: what process-state queries filter on.
    current_task: Mapped[str | None] = mapped_column(String(100))
    process_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_status: Mapped[str] = mapped_column(String(30), default="Read")
    substatus: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    soft_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hard_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visible_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    presentation_texts: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)
    data_values: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)
    complete_confirmations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_changed_by: Mapped[str] = mapped_column(String(100))
    # Counts every change: the ETag, and the optimistic lock of concurrent writers.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_storage_instances_party_app", "party_id", "app_id"),
        Index("ix_storage_instances_org_app_changed", "org", "app_id", "last_changed_at", "id"),
    )


class DataElement(Base):
    """A data element: form data or an attachment, its bytes in the blob store under `blob_key`."""

    __tablename__ = "storage_data_elements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("storage_instances.id", ondelete="CASCADE"), index=True)
    data_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    blob_key: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str | None] = mapped_column(String(100))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    refs: Mapped[list[str] | None] = mapped_column(JSONDocument)
    is_read: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    user_defined_metadata: Mapped[list[dict[str, str]] | None] = mapped_column(JSONDocument)
    metadata_items: Mapped[list[dict[str, str]] | None] = mapped_column("metadata", JSONDocument)
    # NotApplicable | Pending | Clean | Infected (Altinn's FileScanResult)
    file_scan_result: Mapped[str] = mapped_column(String(20), default="NotApplicable")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_changed_by: Mapped[str] = mapped_column(String(100))


class InstanceEvent(Base):
    """Something that happened to an instance (Created, Saved, Submited, process_EndTask …): Altinn's
    `InstanceEvent`, append-only."""

    __tablename__ = "storage_instance_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # UUIDv7: orders the events
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("storage_instances.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    party_id: Mapped[int] = mapped_column(Integer)
    # Altinn's PlatformUser: userId, orgId, authenticationLevel, nationalIdentityNumber, systemUserId …
    user: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    process_info: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    additional_info: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_storage_instance_events_instance", "instance_id", "id"),)
