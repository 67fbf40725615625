"""Attachments (Altinn's attachment API): initialize, streamed upload into the blob store, the virus scan, streamed
download, purge.

An attachment goes Initialized → UploadProcessing (its bytes stored; a scan job written in the same transaction)
→ Published (clean, or no scanner configured) or Failed (infected), and ends Purged. Bytes stream from the request
to the blob store and from the blob store to the client in chunks, so memory stays flat whatever the file's size.
Each upload goes to a key of its own, so a second upload of the same attachment never mixes with the first; the
loser's bytes are removed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.blobs import BlobStore, BlobStream, open_blob_store
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.tokens import Principal
from felles.core.virusscan import Clean, Infected, ScanFailed, open_virus_scanner
from felles.correspondence import schemas as s
from felles.correspondence.models import (
    AttachmentStatusEvent,
    Correspondence,
    CorrespondenceAttachment,
    CorrespondenceAttachmentLink,
)
from felles.correspondence.schemas import AttachmentStatus, CorrespondenceStatus
from felles.correspondence.service_access import authorize_sender, sender_of
from felles.correspondence.service_history import (
    PUBLISH_JOB,
    attachment_event,
    publish_events,
    sender_urn,
    set_attachment_status,
)

log = structlog.get_logger("felles.correspondence")
SCAN_JOB = "correspondence.scan_attachment"
BLOB_PREFIX = "correspondence"
# A correspondence that still uses an attachment keeps it from being purged.
FINISHED_STATUSES = frozenset({CorrespondenceStatus.PURGED_BY_RECIPIENT.value,
                               CorrespondenceStatus.PURGED_BY_ALTINN.value, CorrespondenceStatus.FAILED.value,
                               CorrespondenceStatus.RESERVED.value})


class ScannerUnavailable(RuntimeError):
    """The scanner gave no verdict: the job is tried again later."""


class _Md5:
    """The MD5 (Altinn's attachment checksum) of bytes streaming through."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self._md5 = hashlib.md5(usedforsecurity=False)

    async def stream(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self._md5.update(chunk)
            yield chunk

    @property
    def hex(self) -> str:
        return self._md5.hexdigest()


def new_blob_key(attachment_id: uuid.UUID) -> str:
    return f"{BLOB_PREFIX}/{attachment_id}/{uuid7().hex}"


async def store_bytes(blobs: BlobStore, attachment_id: uuid.UUID, chunks: AsyncIterable[bytes],
                      checksum: str | None) -> tuple[str, int, str]:
    """Stream the bytes into the blob store: (key, size, MD5 hex). A checksum the sender gave must match them,
    else they are removed and the upload refused."""
    key = new_blob_key(attachment_id)
    md5 = _Md5(chunks)
    stored = await blobs.put(key, md5.stream())
    if checksum is not None and checksum.strip().lower() != md5.hex:
        await blobs.delete(key)
        raise InvalidInput(f"The checksum {checksum} does not match the MD5 of the bytes sent ({md5.hex}).",
                           code="checksum_mismatch", extra={"attachmentId": str(attachment_id)})
    return key, stored.size, md5.hex


def attachment_row(attachment_id: uuid.UUID, resource_id: str, sender: str, file_name: str, display_name: str | None,
                   senders_reference: str, is_encrypted: bool, checksum: str | None, expiration: Any,
                   now: Any) -> CorrespondenceAttachment:
    return CorrespondenceAttachment(
        id=attachment_id, resource_id=resource_id, sender=sender, file_name=file_name, display_name=display_name,
        senders_reference=senders_reference, is_encrypted=is_encrypted, checksum=checksum, expiration_time=expiration,
        status=AttachmentStatus.INITIALIZED.value, status_text=AttachmentStatus.INITIALIZED.value,
        status_changed=now, created_at=now)


async def add_new(session: AsyncSession, attachment: CorrespondenceAttachment) -> None:
    """Add a new (Initialized) attachment with the first entry of its history."""
    session.add(attachment)
    await session.flush()
    session.add(AttachmentStatusEvent(id=uuid7(), attachment_id=attachment.id, status=attachment.status,
                                      status_text=attachment.status_text, status_changed=attachment.status_changed))


async def add_uploaded(session: AsyncSession, attachment: CorrespondenceAttachment, key: str, size: int,
                       md5: str) -> None:
    """Record an attachment's stored bytes (UploadProcessing) and queue their scan, in the caller's transaction."""
    now = utcnow()
    attachment.blob_key, attachment.size, attachment.checksum = key, size, md5
    set_attachment_status(session, attachment, AttachmentStatus.UPLOAD_PROCESSING, now)
    await enqueue(session, SCAN_JOB, {"attachmentId": str(attachment.id), "blobKey": key})


# --- the attachment API ---------------------------------------------------------------------------------------
async def initialize(database: Database, principal: Principal, body: s.AttachmentInitialize) -> uuid.UUID:
    """A new attachment (Initialized), to upload next and name in correspondences as an existing attachment."""
    sending = await authorize_sender(database, principal, body.resourceId)
    now = utcnow()
    attachment = attachment_row(uuid7(), body.resourceId, sending.sender, body.fileName, body.displayName,
                                body.sendersReference, body.isEncrypted, body.checksum, body.expirationTime, now)
    async with database.transaction() as session:
        await add_new(session, attachment)
        await publish_events(session, [attachment_event("AttachmentInitialized", attachment)])
    return attachment.id


async def _own(session: AsyncSession, principal: Principal, attachment_id: uuid.UUID, *,
               lock: bool = False) -> CorrespondenceAttachment:
    attachment = await session.get(CorrespondenceAttachment, attachment_id, with_for_update=lock)
    if attachment is None:
        raise NotFound(f"No attachment {attachment_id}.", code="attachment_not_found")
    if attachment.sender != sender_of(principal):
        raise Forbidden("The attachment belongs to another sender.", code="not_attachment_sender")
    return attachment


async def upload(database: Database, blobs: BlobStore, principal: Principal, attachment_id: uuid.UUID,
                 chunks: AsyncIterable[bytes]) -> s.AttachmentOverview:
    """Stream an Initialized attachment's bytes into the blob store; its scan follows."""
    async with database.transaction() as session:
        attachment = await _own(session, principal, attachment_id)
        if attachment.status != AttachmentStatus.INITIALIZED:
            raise Conflict(f"Attachment {attachment_id} is {attachment.status}; it takes bytes once.",
                           code="attachment_already_uploaded")
        checksum = attachment.checksum
    key, size, md5 = await store_bytes(blobs, attachment_id, chunks, checksum)
    if size == 0:
        await blobs.delete(key)
        raise InvalidInput("The upload holds no bytes.", code="empty_attachment")
    async with database.transaction() as session:
        attachment = await _own(session, principal, attachment_id, lock=True)
        if attachment.status != AttachmentStatus.INITIALIZED:  # another upload won
            await blobs.delete(key)
            raise Conflict(f"Attachment {attachment_id} is {attachment.status}; it takes bytes once.",
                           code="attachment_already_uploaded")
        await add_uploaded(session, attachment, key, size, md5)
        await publish_events(session, [attachment_event("AttachmentUploadProcessing", attachment)])
        return await _overview(session, attachment)


async def _correspondence_ids(session: AsyncSession, attachment_id: uuid.UUID) -> list[uuid.UUID]:
    return list(await session.scalars(select(CorrespondenceAttachmentLink.correspondence_id).where(
        CorrespondenceAttachmentLink.attachment_id == attachment_id)))


async def _overview(session: AsyncSession, attachment: CorrespondenceAttachment) -> s.AttachmentOverview:
    return s.AttachmentOverview(
        attachmentId=attachment.id, resourceId=attachment.resource_id, fileName=attachment.file_name,
        displayName=attachment.display_name, isEncrypted=attachment.is_encrypted, checksum=attachment.checksum,
        sendersReference=attachment.senders_reference, sender=sender_urn(attachment.sender),
        status=AttachmentStatus(attachment.status), statusText=attachment.status_text,
        statusChanged=attachment.status_changed, expirationTime=attachment.expiration_time,
        correspondenceIds=await _correspondence_ids(session, attachment.id))


async def overview(database: Database, principal: Principal, attachment_id: uuid.UUID) -> s.AttachmentOverview:
    async with database.transaction() as session:
        return await _overview(session, await _own(session, principal, attachment_id))


async def details(database: Database, principal: Principal, attachment_id: uuid.UUID) -> s.AttachmentDetails:
    async with database.transaction() as session:
        attachment = await _own(session, principal, attachment_id)
        history = await session.scalars(select(AttachmentStatusEvent).where(
            AttachmentStatusEvent.attachment_id == attachment_id).order_by(AttachmentStatusEvent.id))
        summary = await _overview(session, attachment)
        return s.AttachmentDetails(**summary.model_dump(), statusHistory=[
            s.StatusEventPublic(status=event.status, statusText=event.status_text, statusChanged=event.status_changed)
            for event in history])


async def purge(database: Database, blobs: BlobStore, principal: Principal, attachment_id: uuid.UUID) -> uuid.UUID:
    """Purge an attachment no live correspondence uses: its bytes are deleted, its record stays (Purged)."""
    async with database.transaction() as session:
        attachment = await _own(session, principal, attachment_id, lock=True)
        if attachment.status == AttachmentStatus.PURGED:
            raise Conflict(f"Attachment {attachment_id} is purged already.", code="attachment_purged")
        users = await session.scalars(select(Correspondence.status).join(
            CorrespondenceAttachmentLink, CorrespondenceAttachmentLink.correspondence_id == Correspondence.id).where(
            CorrespondenceAttachmentLink.attachment_id == attachment_id))
        if any(status not in FINISHED_STATUSES for status in users):
            raise Conflict("The attachment is used by correspondences that are not purged.",
                           code="attachment_in_use")
        key = attachment.blob_key
        set_attachment_status(session, attachment, AttachmentStatus.PURGED, utcnow())
        await publish_events(session, [attachment_event("AttachmentPurged", attachment)])
    if key is not None:
        await blobs.delete(key)
    return attachment_id


async def open_for_sender(database: Database, blobs: BlobStore, principal: Principal,
                          attachment_id: uuid.UUID) -> tuple[CorrespondenceAttachment, BlobStream]:
    async with database.transaction() as session:
        attachment = await _own(session, principal, attachment_id)
    if attachment.blob_key is None or attachment.status == AttachmentStatus.PURGED:
        raise NotFound(f"Attachment {attachment_id} has no bytes.", code="attachment_data_not_found")
    return attachment, await blobs.get(attachment.blob_key)


def download_headers(file_name: str, stream: BlobStream) -> dict[str, str]:
    """The headers of an attachment's download: its length and its name (RFC 6266, with a plain-ASCII fallback)."""
    ascii_name = file_name.encode("ascii", "replace").decode().replace('"', "'")
    return {"Content-Length": str(stream.end - stream.start),
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"}


# --- the scan -------------------------------------------------------------------------------------------------
@job_handler(SCAN_JOB, max_attempts=20, backoff_base=timedelta(seconds=5), lease=timedelta(minutes=15))
async def scan_attachment(payload: dict[str, Any], context: JobContext) -> None:
    """Scan an uploaded attachment's bytes: Published when clean (or no scanner runs), Failed when infected."""
    attachment = await context.session.get(CorrespondenceAttachment, uuid.UUID(payload["attachmentId"]),
                                           with_for_update=True)
    if attachment is None or attachment.blob_key != payload["blobKey"] or \
            attachment.status != AttachmentStatus.UPLOAD_PROCESSING:
        return
    settings = get_settings()
    result = await open_virus_scanner(settings).scan(await open_blob_store(settings).get(attachment.blob_key))
    if isinstance(result, ScanFailed):
        raise ScannerUnavailable(result.reason)
    now = utcnow()
    if isinstance(result, Infected):
        log.warning("infected_attachment", attachment=str(attachment.id), signature=result.signature)
        set_attachment_status(context.session, attachment, AttachmentStatus.FAILED, now,
                              f"Malware was found: {result.signature}")
        await publish_events(context.session, [attachment_event("AttachmentUploadFailed", attachment)])
    else:
        text = "Published" if isinstance(result, Clean) else "Published (no virus scanner is configured)"
        set_attachment_status(context.session, attachment, AttachmentStatus.PUBLISHED, now, text)
        await publish_events(context.session, [attachment_event("AttachmentPublished", attachment)])
    await _publish_waiting(context.session, attachment.id)


async def _publish_waiting(session: AsyncSession, attachment_id: uuid.UUID) -> None:
    """Queue the publishing of the correspondences that waited for this attachment, each at its publish time."""
    waiting: dict[datetime, list[str]] = {}
    for correspondence_id, publish_at in await session.execute(
            select(Correspondence.id, Correspondence.requested_publish_time).join(
                CorrespondenceAttachmentLink, CorrespondenceAttachmentLink.correspondence_id == Correspondence.id)
            .where(CorrespondenceAttachmentLink.attachment_id == attachment_id,
                   Correspondence.status == CorrespondenceStatus.INITIALIZED.value)):
        waiting.setdefault(publish_at, []).append(str(correspondence_id))
    for publish_at, ids in waiting.items():
        await enqueue(session, PUBLISH_JOB, {"ids": ids}, run_at=publish_at)
