"""Sending correspondences (Meldingstjenesten): initialize, with new or existing attachments, and publishing.

One request sends one correspondence to each of up to 500 recipients. Everything the request creates is written
in one transaction: the correspondences with their first statuses, new attachments (their bytes streamed to the
blob store before, their scans queued), the links to the attachments, the events, the sender's idempotency key
and one publish job at `requestedPublishTime`. A process killed at any moment leaves all of it or none of it, and a
retry with the same `idempotentKey` gets the first answer and creates nothing.

A person who reserved against digital post in KRR gets the correspondence as Reserved (never published), unless
the resource's owner sends with `ignoreReservation`. The publish job publishes each correspondence whose
attachments are all published (scanned), fails those with a failed attachment, waits for those still scanning,
and orders each published one's notification through its own job (`service_notifications`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.audit import Actor
from felles.core.blobs import BlobStore
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.tokens import Principal
from felles.correspondence import digitalpost, service_notifications
from felles.correspondence import schemas as s
from felles.correspondence.models import (
    Correspondence,
    CorrespondenceAttachment,
    CorrespondenceAttachmentLink,
    CorrespondenceRequest,
    CorrespondenceStatusEvent,
)
from felles.correspondence.schemas import AttachmentStatus, CorrespondenceStatus
from felles.correspondence.service_access import Sending, authorize_sender
from felles.correspondence.service_attachments import add_new, add_uploaded, attachment_row, store_bytes
from felles.correspondence.service_history import (
    PUBLISH_JOB,
    SYSTEM,
    add_status_rows,
    attachment_event,
    correspondence_event,
    is_person,
    parse_party,
    party_urn,
    publish_events,
    status_rows,
)
from felles.correspondence.service_reading import sender_names
from felles.registers import service as registers_service

SYSTEM_DELETE_JOB = "correspondence.system_delete"
DUE_DATE_JOB = "correspondence.due_date"
KRR_ACTOR = Actor("system:felles-correspondence")
KRR_BATCH = 1000
SYSTEM_DELETE_BATCH = 500
# Texts the notification needs per channel, for a CustomMessage.
_CHANNEL_TEXTS = {
    s.NotificationChannel.EMAIL: (("emailSubject", "emailBody"),),
    s.NotificationChannel.SMS: (("smsBody",),),
    s.NotificationChannel.EMAIL_PREFERRED: (("emailSubject", "emailBody"), ("smsBody",)),
    s.NotificationChannel.SMS_PREFERRED: (("emailSubject", "emailBody"), ("smsBody",)),
    s.NotificationChannel.EMAIL_AND_SMS: (("emailSubject", "emailBody"), ("smsBody",)),
}


@dataclass
class UploadedFile:
    """One file of a multipart `/correspondence/upload`, to be streamed into the blob store."""

    file_name: str
    chunks: AsyncIterable[bytes]


# --- checking a request ---------------------------------------------------------------------------------------
def _recipients(body: s.CorrespondencesCreate) -> list[str]:
    recipients = [parse_party(value) for value in body.recipients]
    repeated = sorted({party for party in recipients if recipients.count(party) > 1}) if \
        len(set(recipients)) != len(recipients) else []
    if repeated:
        raise InvalidInput(f"Recipients are named more than once: {', '.join(repeated)}.",
                           code="duplicate_recipients")
    return recipients


def _check_dates(correspondence: s.CorrespondenceCreate, now: datetime) -> datetime:
    """When to publish (now, for a time passed), once the due date and system-delete date are checked."""
    publish_at = max(correspondence.requestedPublishTime or now, now)
    due = correspondence.dueDateTime
    if due is not None and (due <= now or due < publish_at):
        raise InvalidInput("dueDateTime must be in the future and not before requestedPublishTime.",
                           code="invalid_due_date_time")
    if correspondence.isConfirmationNeeded and due is None:
        raise InvalidInput("A correspondence that needs confirmation needs a dueDateTime.",
                           code="due_date_time_required")
    delete_after = correspondence.allowSystemDeleteAfter
    if delete_after is not None and (delete_after <= publish_at or (due is not None and delete_after < due)):
        raise InvalidInput("allowSystemDeleteAfter must be after requestedPublishTime and not before dueDateTime.",
                           code="invalid_allow_system_delete_after")
    return publish_at


def _check_content(correspondence: s.CorrespondenceCreate) -> None:
    if not correspondence.content.messageTitle.strip() or not correspondence.content.messageBody.strip():
        raise InvalidInput("messageTitle and messageBody must not be blank.", code="empty_message")
    if len(correspondence.propertyList) > s.MAX_PROPERTIES:
        raise InvalidInput(f"propertyList holds at most {s.MAX_PROPERTIES} entries.", code="too_many_properties")
    for option in correspondence.replyOptions:
        parts = urlsplit(option.linkURL)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise InvalidInput(f"The reply option {option.linkURL!r} is not an absolute http(s) URL.",
                               code="invalid_reply_option")
    notification = correspondence.notification
    if notification is None or notification.notificationTemplate != s.NotificationTemplate.CUSTOM_MESSAGE:
        return
    needed = [("", names) for names in _CHANNEL_TEXTS[notification.notificationChannel]]
    if notification.sendReminder:
        channel = notification.reminderNotificationChannel or notification.notificationChannel
        needed += [("reminder", names) for names in _CHANNEL_TEXTS[channel]]
    for prefix, names in needed:
        fields = [prefix + name[0].upper() + name[1:] if prefix else name for name in names]
        missing = [field for field in fields if not (getattr(notification, field) or "").strip()]
        if missing:
            raise InvalidInput(f"A CustomMessage notification on {notification.notificationChannel.value} needs "
                               f"{', '.join(missing)}.", code="missing_notification_texts")


def check_request(body: s.CorrespondencesCreate, new_files: int, now: datetime) -> tuple[list[str], datetime]:
    """The recipients and the publish time of a request whose limits and fields are sound, or `InvalidInput`."""
    recipients = _recipients(body)
    correspondence = body.correspondence
    attachments = len(correspondence.content.attachments) + len(body.existingAttachments)
    if attachments > s.MAX_ATTACHMENTS:
        raise InvalidInput(f"A correspondence has at most {s.MAX_ATTACHMENTS} attachments; this one has "
                           f"{attachments}.", code="too_many_attachments")
    if len(set(body.existingAttachments)) != len(body.existingAttachments):
        raise InvalidInput("existingAttachments names an attachment more than once.", code="duplicate_attachments")
    if new_files != len(correspondence.content.attachments):
        raise InvalidInput(f"content.attachments describes {len(correspondence.content.attachments)} new "
                           f"attachment(s), and {new_files} file(s) came with the request: new attachments are "
                           "sent with their bytes through /correspondence/upload.", code="missing_attachment_data")
    publish_at = _check_dates(correspondence, now)
    _check_content(correspondence)
    return recipients, publish_at


async def _reserved(database: Database, persons: list[str]) -> set[str]:
    """The persons who reserved against digital post in KRR."""
    reserved: set[str] = set()
    for start in range(0, len(persons), KRR_BATCH):
        answer = await registers_service.lookup_contact_information(
            database, KRR_ACTOR, persons[start:start + KRR_BATCH], contact=False, digital_post=False)
        reserved.update(entry["personidentifikator"] for entry in answer["personer"]
                        if entry.get("reservasjon") == "JA")
    return reserved


async def _existing_attachments(session: AsyncSession, sender: str,
                                ids: list[uuid.UUID]) -> list[CorrespondenceAttachment]:
    found = {row.id: row for row in await session.scalars(
        select(CorrespondenceAttachment).where(CorrespondenceAttachment.id.in_(ids)))} if ids else {}
    missing = [str(identifier) for identifier in ids if identifier not in found or found[identifier].sender != sender]
    if missing:
        raise InvalidInput(f"No attachment {', '.join(missing)} of this sender.", code="attachment_not_found",
                           extra={"attachmentIds": missing})
    unusable = [str(row.id) for row in found.values()
                if row.status in (AttachmentStatus.PURGED, AttachmentStatus.FAILED, AttachmentStatus.EXPIRED)]
    if unusable:
        raise InvalidInput(f"Attachment {', '.join(unusable)} is purged or failed.", code="attachment_not_usable",
                           extra={"attachmentIds": unusable})
    return [found[identifier] for identifier in ids]


async def _stored_answer(database: Database, sender: str, key: uuid.UUID) -> s.CorrespondencesInitialized | None:
    async with database.transaction() as session:
        stored = await session.scalar(select(CorrespondenceRequest.response).where(
            CorrespondenceRequest.sender == sender, CorrespondenceRequest.idempotent_key == key))
    return None if stored is None else s.CorrespondencesInitialized.model_validate(stored)


# --- initializing ---------------------------------------------------------------------------------------------
async def initialize(database: Database, blobs: BlobStore, principal: Principal | Sending,
                     body: s.CorrespondencesCreate,
                     files: list[UploadedFile] | None = None) -> tuple[s.CorrespondencesInitialized, bool]:
    """Send one correspondence to each recipient; `(answer, created)`. With an `idempotentKey` the sender used
    before, nothing is created and the first answer is given again. (A `Sending` instead of the caller's
    principal: the next-move API authorized the sender itself.)"""
    files = files or []
    now = utcnow()
    recipients, publish_at = check_request(body, len(files), now)
    correspondence = body.correspondence
    sending = principal if isinstance(principal, Sending) else \
        await authorize_sender(database, principal, correspondence.resourceId)
    if correspondence.ignoreReservation and not sending.is_owner:
        raise Forbidden("Only the resource's owner may send with ignoreReservation.",
                        code="ignore_reservation_not_permitted")
    if body.idempotentKey is not None:
        stored = await _stored_answer(database, sending.sender, body.idempotentKey)
        if stored is not None:
            return stored, False
    persons = [party for party in recipients if is_person(party)]
    reserved = set() if correspondence.ignoreReservation or not persons else await _reserved(database, persons)
    new_attachments = []
    try:
        for described, file in zip(correspondence.content.attachments, files, strict=True):
            attachment = attachment_row(uuid7(), correspondence.resourceId, sending.sender, described.fileName,
                                        described.displayName, described.sendersReference, described.isEncrypted,
                                        described.checksum, described.expirationTime, now)
            new_attachments.append((attachment, await store_bytes(blobs, attachment.id, file.chunks,
                                                                 described.checksum)))
        answer = await _create(database, sending, body, recipients, reserved, publish_at, new_attachments)
    except BaseException:
        for _, (key, _, _) in new_attachments:  # nothing was created: the bytes go too
            await blobs.delete(key)
        raise
    if answer is None:  # the same idempotentKey arrived twice at once: the other request created it
        for _, (key, _, _) in new_attachments:
            await blobs.delete(key)
        assert body.idempotentKey is not None
        stored = await _stored_answer(database, sending.sender, body.idempotentKey)
        if stored is None:
            raise Conflict("The idempotentKey is being used by a request that has not finished.",
                           code="idempotent_key_in_use")
        return stored, False
    return answer, True


async def _create(database: Database, sending: Sending, body: s.CorrespondencesCreate, recipients: list[str],
                  reserved: set[str], publish_at: datetime,
                  new_attachments: list[tuple[CorrespondenceAttachment, tuple[str, int, str]]]
                  ) -> s.CorrespondencesInitialized | None:
    request = body.correspondence
    now = utcnow()
    try:
        async with database.transaction() as session:
            if body.idempotentKey is not None:
                session.add(CorrespondenceRequest(id=uuid7(), sender=sending.sender, idempotent_key=body.idempotentKey,
                                                  response={}, created_at=now))
                await session.flush()  # the unique key decides between requests racing with the same key
            existing = await _existing_attachments(session, sending.sender, body.existingAttachments)
            events = []
            for attachment, (key, size, md5) in new_attachments:
                await add_new(session, attachment)
                await add_uploaded(session, attachment, key, size, md5)
                events.append(attachment_event("AttachmentUploadProcessing", attachment))
            attachments = [attachment for attachment, _ in new_attachments] + existing
            waiting = any(attachment.status != AttachmentStatus.PUBLISHED for attachment in attachments)
            rows = [_correspondence(sending, request, body.idempotentKey, recipient, publish_at, now)
                    for recipient in recipients]
            session.add_all(rows)
            await session.flush()
            if attachments:
                await session.execute(insert(CorrespondenceAttachmentLink), [
                    dict(correspondence_id=row.id, attachment_id=attachment.id, position=position)
                    for row in rows for position, attachment in enumerate(attachments)])
            history = status_rows(rows, CorrespondenceStatus.INITIALIZED, now)
            blocked = [row for row in rows if row.recipient in reserved]
            ready = [row for row in rows if row.recipient not in reserved]
            history += status_rows(blocked, CorrespondenceStatus.RESERVED, now)
            if not waiting:
                history += status_rows(ready, CorrespondenceStatus.READY_FOR_PUBLISH, now)
            await add_status_rows(session, history)
            events += [correspondence_event("CorrespondenceInitialized", row) for row in rows]
            events += [correspondence_event("CorrespondenceReceiverReserved", row) for row in blocked]
            await publish_events(session, events)
            # A reserved person gets the letter on paper (their KRR reservation decides the route).
            await digitalpost.route_published_in_transaction(session, blocked)
            if ready:
                await enqueue(session, PUBLISH_JOB, {"ids": [str(row.id) for row in ready]}, run_at=publish_at)
                if request.dueDateTime is not None:
                    await enqueue(session, DUE_DATE_JOB, {"ids": [str(row.id) for row in ready]},
                                  run_at=request.dueDateTime)
            answer = s.CorrespondencesInitialized(
                correspondences=[s.InitializedCorrespondence(correspondenceId=row.id,
                                                             status=CorrespondenceStatus(row.status),
                                                             recipient=party_urn(row.recipient)) for row in rows],
                attachmentIds=[attachment.id for attachment in attachments])
            if body.idempotentKey is not None:
                stored = await session.scalar(select(CorrespondenceRequest).where(
                    CorrespondenceRequest.sender == sending.sender,
                    CorrespondenceRequest.idempotent_key == body.idempotentKey))
                assert stored is not None
                stored.response = answer.model_dump(mode="json")
    except IntegrityError:
        if body.idempotentKey is None:
            raise
        return None
    return answer


def _correspondence(sending: Sending, request: s.CorrespondenceCreate, key: uuid.UUID | None, recipient: str,
                    publish_at: datetime, now: datetime) -> Correspondence:
    content = request.content
    return Correspondence(
        id=uuid7(), resource_id=request.resourceId, sender=sending.sender, recipient=recipient,
        senders_reference=request.sendersReference, message_sender=request.messageSender,
        language=content.language.value, message_title=content.messageTitle, message_summary=content.messageSummary,
        message_body=content.messageBody, requested_publish_time=publish_at, due_date_time=request.dueDateTime,
        allow_system_delete_after=request.allowSystemDeleteAfter,
        external_references=[reference.model_dump(mode="json") for reference in request.externalReferences],
        property_list=dict(request.propertyList),
        reply_options=[option.model_dump(mode="json") for option in request.replyOptions],
        notification=request.notification.model_dump(mode="json") if request.notification else None,
        ignore_reservation=bool(request.ignoreReservation), is_confirmation_needed=request.isConfirmationNeeded,
        is_confidential=request.isConfidential, allow_forwarding=request.allowForwarding, idempotent_key=key,
        status=CorrespondenceStatus.INITIALIZED.value, status_changed=now, created_at=now)


# --- publishing -----------------------------------------------------------------------------------------------
@job_handler(PUBLISH_JOB, max_attempts=20, backoff_base=timedelta(seconds=5))
async def publish(payload: dict[str, Any], context: JobContext) -> None:
    """Publish the request's correspondences whose attachments are all published, each with its notification
    order (in this transaction), and fail those with a failed attachment. Those still waiting for a scan are
    left Initialized: the scan queues this job again when it settles. Already handled ones are left as they are,
    so the job may run twice."""
    session = context.session
    ids = [uuid.UUID(value) for value in payload["ids"]]
    rows = list(await session.scalars(select(Correspondence).where(
        Correspondence.id.in_(ids), Correspondence.status.in_([CorrespondenceStatus.INITIALIZED.value,
                                                               CorrespondenceStatus.READY_FOR_PUBLISH.value]))
        .with_for_update()))
    if not rows:
        return
    statuses: dict[uuid.UUID, list[str]] = {row.id: [] for row in rows}
    for correspondence_id, status in await session.execute(
            select(CorrespondenceAttachmentLink.correspondence_id, CorrespondenceAttachment.status)
            .join(CorrespondenceAttachment, CorrespondenceAttachment.id == CorrespondenceAttachmentLink.attachment_id)
            .where(CorrespondenceAttachmentLink.correspondence_id.in_(list(statuses)))):
        statuses[correspondence_id].append(status)
    failed = [row for row in rows if any(status != AttachmentStatus.PUBLISHED and status not in (
        AttachmentStatus.UPLOAD_PROCESSING, AttachmentStatus.INITIALIZED) for status in statuses[row.id])]
    waiting = [row for row in rows if row not in failed and any(
        status != AttachmentStatus.PUBLISHED for status in statuses[row.id])]
    publishable = [row for row in rows if row not in failed and row not in waiting]
    # Read before this transaction writes (the names come from other components, in transactions of their own).
    senders = await sender_names(context.database, [row for row in publishable if row.notification is not None])
    now = utcnow()
    history = status_rows(failed, CorrespondenceStatus.FAILED, now,
                          text="An attachment failed its upload or virus scan, or was purged")
    history += status_rows([row for row in publishable if row.status == CorrespondenceStatus.INITIALIZED],
                           CorrespondenceStatus.READY_FOR_PUBLISH, now)
    history += status_rows(publishable, CorrespondenceStatus.PUBLISHED, now)
    await add_status_rows(session, history)
    for row in publishable:
        row.published_at = now
    await publish_events(session, [correspondence_event("CorrespondencePublishFailed", row) for row in failed] +
                         [correspondence_event("CorrespondencePublished", row) for row in publishable])
    await service_notifications.order_in_transaction(session, get_settings(), publishable, senders)
    # A person's letter also goes to their digital mailbox, or on paper if it stays unread (KRR decides).
    await digitalpost.route_published_in_transaction(session, publishable)


async def fail_unpublished_in_transaction(session: AsyncSession, correspondence_id: uuid.UUID, reason: str) -> bool:
    """Stop a correspondence that is not published yet (Initialized or ReadyForPublish): Failed, Altinn's status for
    one that will not be published, with `reason`, so that its publish job passes it by. In the caller's
    transaction; True if it was stopped, False if it was published, failed or gone before. The correspondence is
    locked as publishing locks it: a publish under way finishes first."""
    row = await session.scalar(select(Correspondence).where(
        Correspondence.id == correspondence_id, Correspondence.status.in_([
            CorrespondenceStatus.INITIALIZED.value, CorrespondenceStatus.READY_FOR_PUBLISH.value]))
        .with_for_update())
    if row is None:
        return False
    await add_status_rows(session, status_rows([row], CorrespondenceStatus.FAILED, utcnow(), text=reason))
    await publish_events(session, [correspondence_event("CorrespondencePublishFailed", row)])
    return True


@job_handler(DUE_DATE_JOB, max_attempts=20, backoff_base=timedelta(seconds=30))
async def due_date_passed(payload: dict[str, Any], context: JobContext) -> None:
    """At the due date, tell the sender (Altinn's events) of each published correspondence its recipient never
    read, and of each that asked for confirmation and never got it."""
    session = context.session
    rows = list(await session.scalars(select(Correspondence).where(
        Correspondence.id.in_([uuid.UUID(value) for value in payload["ids"]]),
        Correspondence.published_at.is_not(None),
        Correspondence.status.not_in([CorrespondenceStatus.PURGED_BY_ALTINN.value,
                                      CorrespondenceStatus.PURGED_BY_RECIPIENT.value]))))
    reached: dict[uuid.UUID, set[str]] = {row.id: set() for row in rows}
    for correspondence_id, status in await session.execute(
            select(CorrespondenceStatusEvent.correspondence_id, CorrespondenceStatusEvent.status).where(
                CorrespondenceStatusEvent.correspondence_id.in_(list(reached)),
                CorrespondenceStatusEvent.status.in_([CorrespondenceStatus.READ.value,
                                                      CorrespondenceStatus.CONFIRMED.value]))):
        reached[correspondence_id].add(status)
    events = [correspondence_event("CorrespondenceReceiverNeverRead", row) for row in rows
              if CorrespondenceStatus.READ.value not in reached[row.id]]
    events += [correspondence_event("CorrespondenceReceiverNeverConfirmed", row) for row in rows
               if row.is_confirmation_needed and CorrespondenceStatus.CONFIRMED.value not in reached[row.id]]
    await publish_events(session, events)


@job_handler(SYSTEM_DELETE_JOB, every=timedelta(hours=1))
async def delete_expired(payload: dict[str, Any], context: JobContext) -> None:
    """Purge (PurgedByAltinn) correspondences past their allowSystemDeleteAfter, a batch per run."""
    now = utcnow()
    rows = list(await context.session.scalars(select(Correspondence).where(
        Correspondence.allow_system_delete_after <= now,
        Correspondence.status.not_in([CorrespondenceStatus.PURGED_BY_ALTINN.value,
                                      CorrespondenceStatus.PURGED_BY_RECIPIENT.value]))
        .limit(SYSTEM_DELETE_BATCH)))
    await add_status_rows(context.session, status_rows(rows, CorrespondenceStatus.PURGED_BY_ALTINN, now,
                                                       performed_by=SYSTEM, text="allowSystemDeleteAfter passed"))
    await publish_events(context.session, [correspondence_event("CorrespondencePurged", row) for row in rows])
