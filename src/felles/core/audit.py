"""The audit log: who (and on behalf of whom) read or changed which personal data, and when.

Entries are written in the same transaction as the access they describe. A person can list who looked them
up; operators can search everything. Entries older than the retention period (one year by default, as the
KRR and ID-porten terms say) are purged by a recurring job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index, String, Uuid, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Base, JSONDocument, UTCDateTime
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, job_handler
from felles.core.logging import current_request_id


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "person:<fnr>", "organization:<orgnr>", "system:<name>"
    actor: Mapped[str] = mapped_column(String(100))
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    # What kind of personal data, e.g. "krr.contact_information", "folkeregisteret.person".
    resource: Mapped[str] = mapped_column(String(100))
    # The person (or organisation) whose data it was.
    subject: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_entries_subject_occurred_at", "subject", "occurred_at"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
    )


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log names them."""

    actor: str
    on_behalf_of: str | None = None


# Above this many entries, PostgreSQL takes them with COPY: a 1,000-person lookup then costs one round trip.
COPY_THRESHOLD = 50
_COLUMNS = ("id", "occurred_at", "actor", "on_behalf_of", "action", "resource", "subject", "detail", "request_id")


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    resource: str,
    subjects: Iterable[str],
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry per subject, in the caller's transaction."""
    now = utcnow()
    request_id = current_request_id()
    rows = [
        (uuid7(), now, actor.actor, actor.on_behalf_of, action, resource, subject, detail, request_id)
        for subject in subjects
    ]
    if not rows:
        return
    connection = await session.connection()
    if len(rows) >= COPY_THRESHOLD and connection.dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        encoded = json.dumps(detail) if detail is not None else None  # COPY's binary JSONB codec takes text
        await raw.copy_records_to_table(  # type: ignore[union-attr]
            AuditEntry.__tablename__, columns=_COLUMNS, records=[(*row[:7], encoded, row[8]) for row in rows]
        )
    else:
        await session.execute(insert(AuditEntry), [dict(zip(_COLUMNS, row, strict=True)) for row in rows])


async def search_entries(
    session: AsyncSession,
    *,
    subject: str | None,
    actor: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AuditEntry]:
    """Newest first, keyset-paged on (occurred_at, id)."""
    query = select(AuditEntry)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if after is not None:
        occurred_at, entry_id = after
        query = query.where(
            (AuditEntry.occurred_at < occurred_at)
            | ((AuditEntry.occurred_at == occurred_at) & (AuditEntry.id < entry_id))
        )
    query = query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(AuditEntry).where(AuditEntry.occurred_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]


@job_handler("audit.purge", every=timedelta(hours=24))
async def _purge_expired_entries(_payload: dict[str, Any], context: JobContext) -> None:
    retention = timedelta(days=get_settings().audit_retention_days)
    await purge_older_than(context.session, utcnow() - retention)
