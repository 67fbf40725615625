"""Tables of Dialogporten: dialogs (one row each, with their localized content, attachments and actions as JSON
documents), and what is appended to a dialog over its life: activities, transmissions, the seen log and the
log of system-label changes.

A dialog's search columns (party, service resource, org, status, dates, labels, the free-text `search_text`) are
plain columns so that an inbox over many parties is one indexed query; the nested parts a list never filters on
stay documents, shaped as the API shows them. Free text is searched through the database's own full-text index
over `search_text` (`fulltext`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime
from felles.dialogporten.fulltext import UNMODELLED

# The full-text structures (an expression index, an FTS5 table) are made by the migration, not declared here.
Base.metadata.info.setdefault("unmodelled", set()).update(UNMODELLED)


class Dialog(Base):
    """Dialog: one case between a service owner and a party, as Dialogporten keeps it."""

    __tablename__ = "dialogporten_dialogs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the service owner may choose it (UUIDv7)
    # Changes on every write; the ETag and `If-Match` compare it.
    revision: Mapped[uuid.UUID] = mapped_column(Uuid)
    idempotent_key: Mapped[str | None] = mapped_column(String(36))
    org: Mapped[str] = mapped_column(String(50))  # the service owner's code (ttd, skd ...)
    owner_organization: Mapped[str] = mapped_column(String(9))  # its organisation number
    service_resource: Mapped[str] = mapped_column(String(255))  # urn:altinn:resource:...
    service_resource_type: Mapped[str] = mapped_column(String(50))
    party: Mapped[str] = mapped_column(String(100))  # urn:altinn:person:identifier-no:... / organization
    progress: Mapped[int | None] = mapped_column(Integer)
    process: Mapped[str | None] = mapped_column(String(255))
    preceding_process: Mapped[str | None] = mapped_column(String(255))
    extended_status: Mapped[str | None] = mapped_column(String(255))
    external_reference: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    is_api_only: Mapped[bool] = mapped_column(Boolean)
    frozen: Mapped[bool] = mapped_column(Boolean)
    visible_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # {"title": ContentValue, "summary": ...}: Dialogporten's `content`, each value with its localizations.
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    search_tags: Mapped[list[str]] = mapped_column(JSONDocument)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    gui_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    api_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    service_owner_labels: Mapped[list[str]] = mapped_column(JSONDocument)
    service_owner_context_revision: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The end user's context: the system label (Default, Bin, Archive) and MarkedAsUnopened/Sent beside it.
    system_label: Mapped[str] = mapped_column(String(20))
    system_labels: Mapped[list[str]] = mapped_column(JSONDocument)
    end_user_context_revision: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Every text an end user may search for (titles, summaries, sender names, search tags), lower-cased.
    search_text: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        # The end-user inbox: a party's dialogs, newest content first.
        Index("ix_dialogporten_dialogs_party_content_updated", "party", "content_updated_at", "id"),
        # The service owner's search: its own dialogs, newest first.
        Index("ix_dialogporten_dialogs_org_created", "org", "created_at", "id"),
        Index("ix_dialogporten_dialogs_service_resource", "service_resource"),
        UniqueConstraint("org", "idempotent_key", name="uq_dialogporten_dialogs_org_idempotent_key"),
    )


class DialogActivity(Base):
    """Aktivitet: something that happened in the dialog, in its history."""

    __tablename__ = "dialogporten_activities"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dialog_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dialogporten_dialogs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    type: Mapped[str] = mapped_column(String(30))
    extended_type: Mapped[str | None] = mapped_column(String(255))
    transmission_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    performed_by: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # Actor
    description: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)  # localizations

    __table_args__ = (Index("ix_dialogporten_activities_dialog_id", "dialog_id", "created_at"),)


class DialogTransmission(Base):
    """Forsendelse: a message in the dialog from the service owner or the party, with its own content,
    attachments and navigational actions, maybe answering an earlier one."""

    __tablename__ = "dialogporten_transmissions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dialog_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dialogporten_dialogs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotent_key: Mapped[str | None] = mapped_column(String(36))
    authorization_attribute: Mapped[str | None] = mapped_column(String(255))
    extended_type: Mapped[str | None] = mapped_column(String(255))
    external_reference: Mapped[str | None] = mapped_column(String(255))
    related_transmission_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(20))
    sender: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # Actor
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    navigational_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)

    __table_args__ = (
        Index("ix_dialogporten_transmissions_dialog_id", "dialog_id", "created_at"),
        UniqueConstraint("dialog_id", "idempotent_key", name="uq_dialogporten_transmissions_dialog_id_idempotent"),
    )


class DialogSeenLog(Base):
    """Who has seen the dialog, and when: one row per end user's first look after each update."""

    __tablename__ = "dialogporten_seen_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dialog_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dialogporten_dialogs.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_user_id: Mapped[str] = mapped_column(String(100))  # urn:altinn:person:identifier-no:...
    end_user_name: Mapped[str | None] = mapped_column(String(255))
    is_via_service_owner: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_dialogporten_seen_log_dialog_id", "dialog_id", "seen_at"),)


class DialogLabelAssignment(Base):
    """One change of a dialog's system labels by an end user (Dialogporten's label assignment log)."""

    __tablename__ = "dialogporten_label_assignments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dialog_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dialogporten_dialogs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(50))  # system:archive ...
    action: Mapped[str] = mapped_column(String(10))  # set | remove
    performed_by: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # Actor

    __table_args__ = (Index("ix_dialogporten_label_assignments_dialog_id", "dialog_id", "created_at"),)


class DialogMirror(Base):
    """Which dialog mirrors a record of another component (an app instance, a correspondence), and the fingerprint
    of what was last written to it, so that a replayed mirror job changes nothing."""

    __tablename__ = "dialogporten_mirrors"

    source_type: Mapped[str] = mapped_column(String(20), primary_key=True)  # instance | correspondence
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dialog_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # How far the source had come when it was read (ordered as text): a job that read it earlier writes nothing.
    source_version: Mapped[str] = mapped_column(String(100))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
