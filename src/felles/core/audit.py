"""The audit log: who (and on behalf of whom) read or changed which personal data, and when.

Entries are written in the same transaction as the access they describe. A person can list who looked them
up; operators can search everything. Entries older than the retention period (one year by default, as the
KRR and ID-porten terms say) are purged by a recurring job.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Base, JSONDocument, UTCDateTime
from felles.core.ids import uuid7, uuid7_floor
from felles.core.jobs import JobContext, job_handler
from felles.core.logging import current_request_id


class AuditEntry(Base):
    """One access: who, on behalf of whom, what, when. The persons it concerns are its `AuditSubject`s."""

    __tablename__ = "audit_entries"

    # UUIDv7: ordered by time, so paging and purging can go by id.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "person:<fnr>", "organization:<orgnr>", "system:<name>"
    actor: Mapped[str] = mapped_column(String(100))
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    # What kind of personal data, e.g. "krr.contact_information", "folkeregisteret.person".
    resource: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_entries_actor_id", "actor", "id"),)


class AuditSubject(Base):
    """A person (or organisation) whose data an access touched. A 1,000-person lookup is one entry and 1,000
    of these narrow rows, not 1,000 copies of the entry."""

    __tablename__ = "audit_subjects"

    subject: Mapped[str] = mapped_column(String(20), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_entries.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_audit_subjects_entry_id", "entry_id"),)


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log names them."""

    actor: str
    on_behalf_of: str | None = None


_INSERT_ENTRY = insert(AuditEntry)
_INSERT_SUBJECT = insert(AuditSubject)
# Above this many subjects, PostgreSQL takes them with COPY: a 1,000-person lookup costs one round trip.
COPY_THRESHOLD = 50


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    resource: str,
    subjects: Iterable[str],
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry for the access and one subject row per person, in the caller's transaction."""
    concerned = list(dict.fromkeys(subjects))
    if not concerned:
        return
    entry_id = uuid7()
    # Plain parameters on a fixed statement: SQLAlchemy then reuses its compiled form on every call.
    await session.execute(_INSERT_ENTRY, {
        "id": entry_id, "occurred_at": utcnow(), "actor": actor.actor, "on_behalf_of": actor.on_behalf_of,
        "action": action, "resource": resource, "detail": detail, "request_id": current_request_id(),
    })
    connection = await session.connection()
    if len(concerned) >= COPY_THRESHOLD and connection.dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            AuditSubject.__tablename__, columns=("subject", "entry_id"),
            records=[(subject, entry_id) for subject in concerned],
        )
    else:
        await session.execute(_INSERT_SUBJECT, [{"subject": s, "entry_id": entry_id} for s in concerned])


@dataclass(frozen=True)
class AuditRecord:
    """An entry as seen from one subject."""

    entry: AuditEntry
    subject: str


async def search_entries(
    session: AsyncSession,
    *,
    subject: str | None,
    actor: str | None,
    after: tuple[uuid.UUID, str] | None,
    limit: int,
) -> list[AuditRecord]:
    """Newest first, one record per (entry, subject), keyset-paged on (entry id, subject)."""
    query = select(AuditEntry, AuditSubject.subject).join(AuditSubject, AuditSubject.entry_id == AuditEntry.id)
    if subject:
        query = query.where(AuditSubject.subject == subject)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if after is not None:
        entry_id, last_subject = after
        query = query.where(
            (AuditEntry.id < entry_id) | ((AuditEntry.id == entry_id) & (AuditSubject.subject < last_subject))
        )
    query = query.order_by(AuditEntry.id.desc(), AuditSubject.subject.desc()).limit(limit)
    return [AuditRecord(entry, subject) for entry, subject in (await session.execute(query)).all()]


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> int:
    """Delete entries (and their subjects) older than `cutoff`; by id range, as UUIDv7 ids order by time."""
    boundary = uuid7_floor(int(cutoff.timestamp() * 1000))
    await session.execute(delete(AuditSubject).where(AuditSubject.entry_id < boundary))
    result = await session.execute(delete(AuditEntry).where(AuditEntry.id < boundary))
    return int(result.rowcount)  # type: ignore[attr-defined]


@job_handler("audit.purge", every=timedelta(hours=24))
async def _purge_expired_entries(_payload: dict[str, Any], context: JobContext) -> None:
    retention = timedelta(days=get_settings().audit_retention_days)
    await purge_older_than(context.session, utcnow() - retention)
