"""Reading correspondences and the recipient's actions on them: list, overview (which marks it Fetched), details
with the status history, content, attachment download (AttachmentsDownloaded), markasread, confirm, archive,
reply and purge.

A recipient sees a correspondence once it is published and until it is purged; its sender sees it all along.
Every read of a correspondence is written to the audit log (it is about its recipient), and every action of the
recipient changes the status history, publishes Altinn's event and is audited, in one transaction. Actions that
are already done (a second markasread, confirm or archive) change nothing and answer as the first did.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization_service
from felles.core import audit
from felles.core.blobs import BlobStore, BlobStream
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.tokens import Principal
from felles.correspondence import digitalpost
from felles.correspondence import schemas as s
from felles.correspondence.models import (
    Correspondence,
    CorrespondenceAttachment,
    CorrespondenceAttachmentLink,
    CorrespondenceNotification,
    CorrespondenceStatusEvent,
)
from felles.correspondence.schemas import AttachmentStatus, CorrespondenceStatus
from felles.correspondence.service_access import (
    RECIPIENT_SCOPES,
    ReadDecisions,
    is_sender,
    subject_of,
)
from felles.correspondence.service_history import (
    correspondence_event,
    parse_party,
    party_urn,
    publish_events,
    sender_urn,
    set_status,
)
from felles.registers import service as registers_service

AUDIT_RESOURCE = "correspondence"
LIST_LIMIT = 1000
# Where a recipient sees the correspondence: from its publication until it is purged.
VISIBLE_TO_RECIPIENT = frozenset({
    CorrespondenceStatus.PUBLISHED.value, CorrespondenceStatus.READ.value, CorrespondenceStatus.REPLIED.value,
    CorrespondenceStatus.CONFIRMED.value, CorrespondenceStatus.ARCHIVED.value,
})
PURGED = frozenset({CorrespondenceStatus.PURGED_BY_RECIPIENT.value, CorrespondenceStatus.PURGED_BY_ALTINN.value})
NOT_PUBLISHED = frozenset({CorrespondenceStatus.INITIALIZED.value, CorrespondenceStatus.READY_FOR_PUBLISH.value})


@dataclass(frozen=True)
class Access:
    """How the caller sees a correspondence: as its sender, or as (someone reading for) its recipient."""

    row: Correspondence
    as_sender: bool
    subject: str


def _actor(principal: Principal, party: str) -> audit.Actor:
    actor = principal.audit_actor
    subject = subject_of(principal)
    if subject is not None and subject != party and actor.on_behalf_of is None:
        return audit.Actor(actor.actor, on_behalf_of=("person:" if len(party) == 11 else "organization:") + party)
    return actor


def performer(principal: Principal) -> str:
    subject = subject_of(principal) or principal.client_id or "unknown"
    return party_urn(subject) if subject.isdigit() else subject


async def _row(session: AsyncSession, correspondence_id: uuid.UUID, *, lock: bool = False) -> Correspondence:
    row = await session.get(Correspondence, correspondence_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"No correspondence {correspondence_id}.", code="correspondence_not_found")
    return row


async def _access(database: Database, principal: Principal, correspondence_id: uuid.UUID, *,
                  recipient_only: bool = False) -> Access:
    """The caller's access to a correspondence, or the problem: its sender (not for the recipient's own actions),
    or a recipient the PDP lets read it, once it is published and until it is purged."""
    async with database.transaction() as session:
        row = await _row(session, correspondence_id)
    subject = subject_of(principal) or ""
    if not recipient_only and is_sender(principal, row.sender):
        return Access(row, as_sender=True, subject=subject)
    if not principal.scopes.intersection(RECIPIENT_SCOPES) or not subject:
        raise Forbidden(f"Reading as a recipient needs one of the scopes {', '.join(RECIPIENT_SCOPES)}.",
                        code="insufficient_scope")
    if row.status not in VISIBLE_TO_RECIPIENT:
        raise NotFound(f"No correspondence {correspondence_id}.", code="correspondence_not_found")
    if not await ReadDecisions(database, subject).may_read(row.resource_id, row.recipient,
                                                            confidential=row.is_confidential):
        raise Forbidden("You may not read this correspondence: the resource's policy does not let you read the "
                        "recipient's post" + (" marked confidential." if row.is_confidential else "."),
                        code="correspondence_not_permitted")
    return Access(row, as_sender=False, subject=subject)


# --- views ----------------------------------------------------------------------------------------------------
async def _attachments(session: AsyncSession, correspondence_id: uuid.UUID) -> list[CorrespondenceAttachment]:
    return list(await session.scalars(select(CorrespondenceAttachment).join(
        CorrespondenceAttachmentLink, CorrespondenceAttachmentLink.attachment_id == CorrespondenceAttachment.id)
        .where(CorrespondenceAttachmentLink.correspondence_id == correspondence_id)
        .order_by(CorrespondenceAttachmentLink.position)))


async def _overview_fields(session: AsyncSession, row: Correspondence, status_text: str) -> dict[str, object]:
    return _overview_document(row, status_text, await _attachments(session, row.id),
                              await session.get(CorrespondenceNotification, row.id))


def _overview_document(row: Correspondence, status_text: str, attachments: list[CorrespondenceAttachment],
                       notification: CorrespondenceNotification | None) -> dict[str, object]:
    return dict(
        correspondenceId=row.id, status=CorrespondenceStatus(row.status),
        statusText=status_text, statusChanged=row.status_changed, resourceId=row.resource_id,
        sender=sender_urn(row.sender), sendersReference=row.senders_reference, messageSender=row.message_sender,
        content=s.ContentPublic(
            language=row.language, messageTitle=row.message_title, messageSummary=row.message_summary,
            messageBody=row.message_body, attachments=[s.CorrespondenceAttachmentPublic(
                id=attachment.id, fileName=attachment.file_name, displayName=attachment.display_name,
                isEncrypted=attachment.is_encrypted, checksum=attachment.checksum,
                sendersReference=attachment.senders_reference, status=AttachmentStatus(attachment.status),
                statusText=attachment.status_text, statusChanged=attachment.status_changed,
                created=attachment.created_at, expirationTime=attachment.expiration_time)
                for attachment in attachments]),
        requestedPublishTime=row.requested_publish_time, allowSystemDeleteAfter=row.allow_system_delete_after,
        dueDateTime=row.due_date_time, externalReferences=row.external_references, propertyList=row.property_list,
        replyOptions=row.reply_options,
        notifications=[] if notification is None else [s.NotificationPublic(
            notificationOrderId=notification.order_chain_id, shipmentId=notification.shipment_id,
            reminderShipmentId=notification.reminder_shipment_id,
            requestedSendTime=notification.requested_send_time, created=notification.created_at)],
        ignoreReservation=row.ignore_reservation, isConfirmationNeeded=row.is_confirmation_needed,
        isConfidential=row.is_confidential, allowForwarding=row.allow_forwarding,
        recipient=party_urn(row.recipient), created=row.created_at, published=row.published_at)


async def _status_text(session: AsyncSession, row: Correspondence) -> str:
    """The text of the step that brought the correspondence to its status."""
    text = await session.scalar(select(CorrespondenceStatusEvent.status_text).where(
        CorrespondenceStatusEvent.correspondence_id == row.id, CorrespondenceStatusEvent.status == row.status)
        .order_by(CorrespondenceStatusEvent.id.desc()).limit(1))
    return text or row.status


async def _details(session: AsyncSession, row: Correspondence
                   ) -> tuple[s.CorrespondenceDetails, list[CorrespondenceStatusEvent]]:
    """The details and the history they show, read once (the status text is the last step of its status)."""
    events = list(await session.scalars(select(CorrespondenceStatusEvent).where(
        CorrespondenceStatusEvent.correspondence_id == row.id).order_by(CorrespondenceStatusEvent.id)))
    return _details_of(row, events, await _attachments(session, row.id),
                       await session.get(CorrespondenceNotification, row.id)), events


def _details_of(row: Correspondence, events: list[CorrespondenceStatusEvent],
                attachments: list[CorrespondenceAttachment],
                notification: CorrespondenceNotification | None) -> s.CorrespondenceDetails:
    status_text = next((event.status_text for event in reversed(events) if event.status == row.status), row.status)
    return s.CorrespondenceDetails.model_validate({
        **_overview_document(row, status_text, attachments, notification),
        "statusHistory": [s.StatusEventPublic(status=event.status, statusText=event.status_text,
                                              statusChanged=event.status_changed) for event in events]})


async def _audit_read(session: AsyncSession, principal: Principal, row: Correspondence, what: str) -> None:
    await audit.record(session, _actor(principal, row.recipient), action="read", resource=AUDIT_RESOURCE,
                       subjects=[row.recipient], detail={"correspondenceId": str(row.id), "what": what})


async def overview(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> s.CorrespondenceOverview:
    """The correspondence and where it stands. A recipient's first look marks it Fetched."""
    access = await _access(database, principal, correspondence_id)
    async with database.transaction() as session:
        row = await _row(session, correspondence_id)
        if not access.as_sender:
            await set_status(session, row, CorrespondenceStatus.FETCHED, utcnow(), performed_by=performer(principal))
        await _audit_read(session, principal, row, "overview")
        return s.CorrespondenceOverview.model_validate(
            await _overview_fields(session, row, await _status_text(session, row)))


async def details(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> s.CorrespondenceDetails:
    """The overview with the whole status history."""
    await _access(database, principal, correspondence_id)
    async with database.transaction() as session:
        row = await _row(session, correspondence_id)
        await _audit_read(session, principal, row, "details")
        return (await _details(session, row))[0]


async def content(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> str:
    """The message body (markdown), for the recipient."""
    access = await _access(database, principal, correspondence_id, recipient_only=True)
    async with database.transaction() as session:
        await _audit_read(session, principal, access.row, "content")
    return access.row.message_body


async def open_message(database: Database, principal: Principal, correspondence_id: uuid.UUID
                       ) -> tuple[s.CorrespondenceOverview, str]:
    """The recipient opens the message on its page: Fetched, and Read the first time; the overview and whom it is
    from."""
    access = await _access(database, principal, correspondence_id, recipient_only=True)
    who = performer(principal)
    async with database.transaction() as session:
        row = await _row(session, correspondence_id)
        await set_status(session, row, CorrespondenceStatus.FETCHED, utcnow(), performed_by=who)
        await mark_read_in_transaction(session, row.id, performed_by=who)
        await _audit_read(session, principal, row, "message page")
        view = s.CorrespondenceOverview.model_validate(
            await _overview_fields(session, row, await _status_text(session, row)))
    return view, (await sender_names(database, [access.row]))[access.row.id]


@dataclass(frozen=True)
class ListQuery:
    resource_id: str | None = None
    sent_from: datetime | None = None
    sent_to: datetime | None = None
    status: CorrespondenceStatus | None = None
    role: str = "RecipientAndSender"
    on_behalf_of: str | None = None
    senders_reference: str | None = None
    idempotent_key: uuid.UUID | None = None


ROLES = ("Recipient", "Sender", "RecipientAndSender")


async def list_ids(database: Database, principal: Principal, query: ListQuery) -> s.CorrespondenceIds:
    """The ids of the correspondences the caller may see that match, newest first (at most 1,000)."""
    if query.role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", code="invalid_role")
    subject = subject_of(principal)
    as_sender = query.role != "Recipient" and principal.organization_number is not None and \
        is_sender(principal, principal.organization_number)
    as_recipient = query.role != "Sender" and subject is not None and bool(
        principal.scopes.intersection(RECIPIENT_SCOPES))
    if not as_sender and not as_recipient:
        raise Forbidden("Listing needs a sender's or a recipient's scope for the role asked.",
                        code="insufficient_scope")
    party = parse_party(query.on_behalf_of, "onBehalfOf") if query.on_behalf_of else subject
    found: dict[uuid.UUID, Correspondence] = {}
    async with database.transaction() as session:
        for side in (("sender",) if as_sender else ()) + (("recipient",) if as_recipient else ()):
            statement = select(Correspondence)
            if side == "sender":
                statement = statement.where(Correspondence.sender == principal.organization_number)
            else:
                statement = statement.where(Correspondence.recipient == party,
                                            Correspondence.status.in_(VISIBLE_TO_RECIPIENT))
            statement = _filtered(statement, query).order_by(Correspondence.id.desc()).limit(LIST_LIMIT)
            rows = list(await session.scalars(statement))
            if side == "recipient" and subject is not None:
                decisions = ReadDecisions(database, subject)
                rows = [row for row in rows if await decisions.may_read(row.resource_id, row.recipient,
                                                                        confidential=row.is_confidential)]
            found.update({row.id: row for row in rows})
    return s.CorrespondenceIds(ids=sorted(found, reverse=True)[:LIST_LIMIT])


def _filtered(statement: object, query: ListQuery) -> object:
    conditions = []
    if query.resource_id is not None:
        conditions.append(Correspondence.resource_id == query.resource_id)
    if query.sent_from is not None:
        conditions.append(Correspondence.requested_publish_time >= query.sent_from)
    if query.sent_to is not None:
        conditions.append(Correspondence.requested_publish_time <= query.sent_to)
    if query.status is not None:
        conditions.append(Correspondence.status == query.status.value)
    if query.senders_reference is not None:
        conditions.append(Correspondence.senders_reference == query.senders_reference)
    if query.idempotent_key is not None:
        conditions.append(Correspondence.idempotent_key == query.idempotent_key)
    return statement.where(*conditions) if conditions else statement  # type: ignore[attr-defined]


@dataclass(frozen=True)
class InboxItem:
    """One line of a party's post on the message list."""

    id: uuid.UUID
    title: str
    summary: str | None
    sender: str
    status: str
    published: datetime | None
    read: bool


@dataclass(frozen=True)
class PartyPost:
    party: str
    name: str
    items: list[InboxItem]


async def sender_names(database: Database, rows: list[Correspondence]) -> dict[uuid.UUID, str]:
    """Whom each correspondence is from, as the recipient sees it: its messageSender, else the sender's name in
    Enhetsregisteret, else in the registry of service owners, else its number."""
    names: dict[str, str] = {}
    owners: dict[str, str] | None = None
    for organization in {row.sender for row in rows if not row.message_sender}:
        try:
            names[organization] = (await registers_service.get_organization(
                database, organization, base_url=get_settings().base_url)).navn
        except NotFound:
            if owners is None:
                owners = {owner.organization: owner.name.get("nb") or owner.orgcode
                          for owner in await authorization_service.list_service_owners(database)}
            names[organization] = owners.get(organization, organization)
    return {row.id: row.message_sender or names[row.sender] for row in rows}


async def inbox(database: Database, person: str) -> list[PartyPost]:
    """The post a person may read: their own, then each party's they may read for, newest first."""
    decisions = ReadDecisions(database, person)
    parties = await decisions.parties()
    async with database.transaction() as session:
        rows = list(await session.scalars(select(Correspondence).where(
            Correspondence.recipient.in_([party for party, _ in parties]),
            Correspondence.status.in_(VISIBLE_TO_RECIPIENT)).order_by(Correspondence.id.desc()).limit(LIST_LIMIT)))
        read = set(await session.scalars(select(CorrespondenceStatusEvent.correspondence_id).where(
            CorrespondenceStatusEvent.correspondence_id.in_([row.id for row in rows]),
            CorrespondenceStatusEvent.status == CorrespondenceStatus.READ.value)))
    visible = [row for row in rows if await decisions.may_read(row.resource_id, row.recipient,
                                                               confidential=row.is_confidential)]
    names = await sender_names(database, visible)
    return [PartyPost(party, name, [
        InboxItem(row.id, row.message_title, row.message_summary, names[row.id], row.status, row.published_at,
                  row.id in read) for row in visible if row.recipient == party]) for party, name in parties]


# --- the recipient's actions ----------------------------------------------------------------------------------
async def _has_status(session: AsyncSession, correspondence_id: uuid.UUID, statuses: set[str]) -> bool:
    return await session.scalar(select(CorrespondenceStatusEvent.id).where(
        CorrespondenceStatusEvent.correspondence_id == correspondence_id,
        CorrespondenceStatusEvent.status.in_(statuses)).limit(1)) is not None


async def mark_read_in_transaction(session: AsyncSession, correspondence_id: uuid.UUID, *, performed_by: str
                                   ) -> bool:
    """Mark a published correspondence Read (its first reading: later ones change nothing), in the caller's
    transaction; whether it changed. For the recipient's markasread, and for other components that know the
    letter was opened elsewhere (a digital mailbox's receipt)."""
    row = await _row(session, correspondence_id, lock=True)
    if row.status not in VISIBLE_TO_RECIPIENT or await _has_status(session, row.id, {CorrespondenceStatus.READ.value}):
        return False
    now = utcnow()
    await set_status(session, row, CorrespondenceStatus.READ, now, performed_by=performed_by)
    await publish_events(session, [correspondence_event("CorrespondenceReceiverRead", row)])
    await digitalpost.correspondence_read_in_altinn_in_transaction(session, correspondence_id=row.id)
    return True


async def _act(database: Database, principal: Principal, correspondence_id: uuid.UUID, action: str) -> uuid.UUID:
    access = await _access(database, principal, correspondence_id, recipient_only=True)
    who = performer(principal)
    now = utcnow()
    async with database.transaction() as session:
        if action == "read":
            await mark_read_in_transaction(session, correspondence_id, performed_by=who)
        else:
            row = await _row(session, correspondence_id, lock=True)
            if row.status not in VISIBLE_TO_RECIPIENT:
                raise Conflict(f"Correspondence {correspondence_id} is {row.status}.", code="correspondence_changed")
            await ACTIONS[action](session, row, now, who)
        await audit.record(session, _actor(principal, access.row.recipient), action=action, resource=AUDIT_RESOURCE,
                           subjects=[access.row.recipient], detail={"correspondenceId": str(correspondence_id)})
    return correspondence_id


async def _confirm(session: AsyncSession, row: Correspondence, now: datetime, who: str) -> None:
    if not row.is_confirmation_needed:
        raise InvalidInput("The correspondence does not ask for confirmation.", code="confirmation_not_needed")
    if row.status == CorrespondenceStatus.CONFIRMED or await _has_status(
            session, row.id, {CorrespondenceStatus.CONFIRMED.value}):
        return
    await mark_read_in_transaction(session, row.id, performed_by=who)  # confirming is reading it too
    await set_status(session, row, CorrespondenceStatus.CONFIRMED, now, performed_by=who)
    await publish_events(session, [correspondence_event("CorrespondenceReceiverConfirmed", row)])


async def _archive(session: AsyncSession, row: Correspondence, now: datetime, who: str) -> None:
    if row.status == CorrespondenceStatus.ARCHIVED:
        return
    if row.is_confirmation_needed and not await _has_status(session, row.id, {CorrespondenceStatus.CONFIRMED.value}):
        raise Conflict("The correspondence must be confirmed before it is archived.", code="confirmation_required")
    await mark_read_in_transaction(session, row.id, performed_by=who)
    await set_status(session, row, CorrespondenceStatus.ARCHIVED, now, performed_by=who)
    await publish_events(session, [correspondence_event("CorrespondenceArchived", row)])


async def _purge(session: AsyncSession, row: Correspondence, now: datetime, who: str) -> None:
    if row.is_confirmation_needed and not await _has_status(session, row.id, {CorrespondenceStatus.CONFIRMED.value}):
        raise Conflict("The correspondence must be confirmed before it is deleted.", code="confirmation_required")
    await set_status(session, row, CorrespondenceStatus.PURGED_BY_RECIPIENT, now, performed_by=who)
    await publish_events(session, [correspondence_event("CorrespondencePurged", row)])


ACTIONS = {"confirm": _confirm, "archive": _archive, "purge": _purge}


async def mark_as_read(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> uuid.UUID:
    return await _act(database, principal, correspondence_id, "read")


async def confirm(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> uuid.UUID:
    return await _act(database, principal, correspondence_id, "confirm")


async def archive(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> uuid.UUID:
    return await _act(database, principal, correspondence_id, "archive")


async def purge(database: Database, principal: Principal, correspondence_id: uuid.UUID) -> uuid.UUID:
    """The recipient deletes it (PurgedByRecipient); its sender may withdraw it until it is published
    (PurgedByAltinn)."""
    async with database.transaction() as session:
        row = await _row(session, correspondence_id)
    if not is_sender(principal, row.sender):
        return await _act(database, principal, correspondence_id, "purge")
    async with database.transaction() as session:
        row = await _row(session, correspondence_id, lock=True)
        if row.status not in NOT_PUBLISHED:
            raise Conflict(f"Correspondence {correspondence_id} is {row.status}: its sender may purge it only "
                           "until it is published.", code="correspondence_published")
        await set_status(session, row, CorrespondenceStatus.PURGED_BY_ALTINN, utcnow(),
                         performed_by=performer(principal), text="Purged by the sender")
        await publish_events(session, [correspondence_event("CorrespondencePurged", row)])
    return correspondence_id


async def reply(database: Database, principal: Principal, correspondence_id: uuid.UUID, option: int) -> str:
    """The recipient follows a reply option: the correspondence is Replied; the option's URL, to go on to."""
    access = await _access(database, principal, correspondence_id, recipient_only=True)
    if not 0 <= option < len(access.row.reply_options):
        raise NotFound(f"The correspondence has no reply option {option}.", code="reply_option_not_found")
    who = performer(principal)
    async with database.transaction() as session:
        row = await _row(session, correspondence_id, lock=True)
        if row.status not in VISIBLE_TO_RECIPIENT:
            raise Conflict(f"Correspondence {correspondence_id} is {row.status}.", code="correspondence_changed")
        await mark_read_in_transaction(session, row.id, performed_by=who)
        if row.status != CorrespondenceStatus.REPLIED:
            await set_status(session, row, CorrespondenceStatus.REPLIED, utcnow(), performed_by=who)
            await publish_events(session, [correspondence_event("CorrespondenceReceiverReplied", row)])
    return str(access.row.reply_options[option]["linkURL"])


async def open_attachment(database: Database, blobs: BlobStore, principal: Principal, correspondence_id: uuid.UUID,
                          attachment_id: uuid.UUID) -> tuple[CorrespondenceAttachment, BlobStream]:
    """A published attachment of the correspondence, streamed; a recipient's download is recorded
    (AttachmentsDownloaded) with Altinn's event."""
    access = await _access(database, principal, correspondence_id)
    async with database.transaction() as session:
        attachment = next((item for item in await _attachments(session, correspondence_id)
                           if item.id == attachment_id), None)
        if attachment is None or attachment.blob_key is None or attachment.status != AttachmentStatus.PUBLISHED:
            raise NotFound(f"Correspondence {correspondence_id} has no attachment {attachment_id} to download.",
                           code="attachment_not_found")
        stream = await blobs.get(attachment.blob_key)
        if not access.as_sender:
            row = await _row(session, correspondence_id)
            await set_status(session, row, CorrespondenceStatus.ATTACHMENTS_DOWNLOADED, utcnow(),
                             performed_by=performer(principal), text=f"Attachment {attachment.file_name} downloaded")
            await publish_events(session, [{**correspondence_event("AttachmentDownloaded", row),
                                            "data": {"attachmentId": str(attachment_id)}}])
            await _audit_read(session, principal, row, f"attachment {attachment_id}")
    return attachment, stream


async def open_all_attachments(database: Database, blobs: BlobStore, principal: Principal,
                               correspondence_id: uuid.UUID) -> AsyncIterator[bytes]:
    """Every published attachment of the correspondence in one zip archive (Altinn's download-all), built while it
    streams, in constant memory; a recipient's download is recorded (AttachmentsDownloaded) with Altinn's event."""
    access = await _access(database, principal, correspondence_id)
    async with database.transaction() as session:
        attachments = [item for item in await _attachments(session, correspondence_id)
                       if item.status == AttachmentStatus.PUBLISHED and item.blob_key is not None]
        if not attachments:
            raise NotFound(f"Correspondence {correspondence_id} has no attachments to download.",
                           code="attachment_not_found")
        if not access.as_sender:
            row = await _row(session, correspondence_id)
            await set_status(session, row, CorrespondenceStatus.ATTACHMENTS_DOWNLOADED, utcnow(),
                             performed_by=performer(principal), text="All attachments downloaded")
            await publish_events(session, [correspondence_event("AttachmentDownloaded", row)])
            await _audit_read(session, principal, row, "all attachments")
    return _zipped(blobs, attachments)


class _Spool:
    """Where the zip archive is written: bytes taken away as soon as they are written (zipfile needs only
    `write`; without `seek` it writes each entry's sizes after its data)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def _zipped(blobs: BlobStore, attachments: list[CorrespondenceAttachment]) -> AsyncIterator[bytes]:
    names: set[str] = set()
    files: list[tuple[str, str, datetime]] = []
    for attachment in attachments:
        name = attachment.file_name
        if name in names:  # two attachments with one name both go in
            name = f"{attachment.id.hex[-12:]}-{name}"
        names.add(name)
        assert attachment.blob_key is not None
        files.append((name, attachment.blob_key, attachment.created_at))
    async for part in zipped_blobs(blobs, files):
        yield part


async def zipped_blobs(blobs: BlobStore, files: list[tuple[str, str, datetime]]) -> AsyncIterator[bytes]:
    """Files of the blob store (name, key, time) as one zip archive, streamed in constant memory."""
    spool = _Spool()
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for name, key, moment in files:
            with archive.open(zipfile.ZipInfo(name, moment.timetuple()[:6]), "w", force_zip64=True) as entry:
                async for chunk in await blobs.get(key):
                    entry.write(chunk)
                    yield spool.take()
            yield spool.take()
    yield spool.take()


# --- the platform's own read ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatusStep:
    status: str
    changed: datetime
    performed_by: str  # a party urn, a client id or "system"


@dataclass(frozen=True)
class PlatformView:
    """A correspondence as the platform itself reads it to mirror it as a dialog (Dialogporten's adapter): every
    field, whom it is from as the recipient sees it, and each step of its history with who took it."""

    details: s.CorrespondenceDetails
    sender_name: str
    history: list[StatusStep]


async def platform_views(database: Database, correspondence_ids: list[uuid.UUID]) -> dict[uuid.UUID, PlatformView]:
    """For Dialogporten's mirror only (no caller, so nothing is shown to anyone and nothing is audited): the view
    of each correspondence that exists, by id, read together in one transaction (four queries however many)."""
    async with database.transaction() as session:
        rows = list(await session.scalars(select(Correspondence).where(Correspondence.id.in_(correspondence_ids))))
        found = [row.id for row in rows]
        events: dict[uuid.UUID, list[CorrespondenceStatusEvent]] = {key: [] for key in found}
        for event in await session.scalars(select(CorrespondenceStatusEvent).where(
                CorrespondenceStatusEvent.correspondence_id.in_(found)).order_by(CorrespondenceStatusEvent.id)):
            events[event.correspondence_id].append(event)
        attachments: dict[uuid.UUID, list[CorrespondenceAttachment]] = {key: [] for key in found}
        for correspondence_id, attachment in await session.execute(
                select(CorrespondenceAttachmentLink.correspondence_id, CorrespondenceAttachment).join(
                    CorrespondenceAttachmentLink,
                    CorrespondenceAttachmentLink.attachment_id == CorrespondenceAttachment.id)
                .where(CorrespondenceAttachmentLink.correspondence_id.in_(found))
                .order_by(CorrespondenceAttachmentLink.correspondence_id, CorrespondenceAttachmentLink.position)):
            attachments[correspondence_id].append(attachment)
        notifications = {notification.correspondence_id: notification for notification in await session.scalars(
            select(CorrespondenceNotification).where(CorrespondenceNotification.correspondence_id.in_(found)))}
    names = await sender_names(database, rows)
    return {row.id: PlatformView(
        _details_of(row, events[row.id], attachments[row.id], notifications.get(row.id)), names[row.id],
        [StatusStep(event.status, event.status_changed, event.performed_by) for event in events[row.id]])
        for row in rows}
