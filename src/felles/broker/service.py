"""Use cases of the broker (Formidlingstjenesten), as Altinn Broker runs them: service-owner setup of a resource,
file-transfer initialize, reading (overview, details, search), confirming a download, cancelling, and the purge.
Storing and reading the file itself (streamed and resumable uploads, processing, download) is in `service_files.py`.

Who may do what. Every caller acts for one organisation (`Caller.party`): an organisation's Maskinporten token
for itself, or a person logged in to the portal who chose an organisation. The sender must be the party and be
permitted `write` on the transfer's resource; a recipient must be the party and be permitted `read`. The
resource's XACML policy decides through the PDP: an organisation is matched by its organisation number, a
person through the roles and access packages (own or delegated) they hold in the organisation.

Every status change is written in one transaction with its history row, an audit entry and Altinn's CloudEvent
(`no.altinn.broker.*`, one per organisation concerned).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.broker import schemas as s
from felles.broker.models import (
    BrokerRateLimitWindow,
    BrokerResource,
    BrokerServiceOwner,
    FileTransfer,
    FileTransferPart,
    FileTransferRecipient,
    FileTransferStatusEvent,
)
from felles.broker.schemas import FileTransferStatus, RecipientFileTransferStatus
from felles.core import audit
from felles.core.audit import Actor
from felles.core.blobs import open_blob_store
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.events import service as events_service
from felles.registers import service as registers_service

API_PATH = "/broker/api/v1"
EVENT_PUBLISHER = "/system/felles-broker"
EVENT_PREFIX = "no.altinn.broker."
AUDIT_RESOURCE = "broker.filetransfer"
RESOURCE_URN = "urn:altinn:resource:"
# Altinn's limits: 50 GB with the virus scan (and, here, at all: larger is not tested), grace period ≤ 24 h.
MAX_FILE_TRANSFER_SIZE = 50 * 1000**3
DEFAULT_TIME_TO_LIVE = "P30D"
DEFAULT_GRACE_PERIOD = "PT2H"
MAX_GRACE_PERIOD = timedelta(hours=24)
# Altinn caps a search at 100 ids (altinn-broker #531).
SEARCH_LIMIT = 100
READ, WRITE = "read", "write"
# What a recipient sees: nothing before the file is published.
VISIBLE_TO_RECIPIENTS = (FileTransferStatus.PUBLISHED, FileTransferStatus.ALL_CONFIRMED_DOWNLOADED,
                         FileTransferStatus.PURGED)
STATUS_TEXTS = {
    FileTransferStatus.INITIALIZED: "Filetransfer initialized",
    FileTransferStatus.UPLOAD_STARTED: "Upload started",
    FileTransferStatus.UPLOAD_PROCESSING: "Upload is being processed",
    FileTransferStatus.PUBLISHED: "File is published and ready for download",
    FileTransferStatus.CANCELLED: "Filetransfer cancelled",
    FileTransferStatus.ALL_CONFIRMED_DOWNLOADED: "All recipients have confirmed the download",
    FileTransferStatus.PURGED: "The file has been purged",
    FileTransferStatus.FAILED: "Upload failed",
}
RECIPIENT_TEXTS = {
    RecipientFileTransferStatus.INITIALIZED: "Initialized",
    RecipientFileTransferStatus.DOWNLOAD_STARTED: "Download started",
    RecipientFileTransferStatus.DOWNLOAD_CONFIRMED: "Download confirmed",
}


@dataclass(frozen=True)
class Caller:
    """Who calls (`subject`: an organisation number or a fødselsnummer) for which organisation (`party`)."""

    subject: str
    party: str
    actor: Actor

    @classmethod
    def organization(cls, organization_number: str, actor: Actor | None = None) -> Caller:
        return cls(organization_number, organization_number, actor or Actor(f"organization:{organization_number}"))

    @classmethod
    def person(cls, person_identifier: str, organization_number: str) -> Caller:
        return cls(person_identifier, organization_number,
                   Actor(f"person:{person_identifier}", on_behalf_of=f"organization:{organization_number}"))


class TransferNotFound(NotFound):
    code = "file_transfer_not_found"
    title = "File transfer not found"


def _legacy(organization_number: str) -> str:
    return s.LEGACY_ORGANIZATION_PREFIX + organization_number


def _duration(value: str) -> timedelta:
    return timedelta(seconds=s.duration_seconds(value))


# --- authorization --------------------------------------------------------------------------------------------
async def is_permitted(database: Database, caller: Caller, resource_id: str, action: str) -> bool:
    """The resource's policy decides, through the PDP: an organisation acting for itself is the subject with no
    other party; a person is the subject acting for the organisation."""
    if caller.subject == caller.party:
        return await authorization_service.is_permitted(database, caller.subject, None, resource_id, action)
    return await authorization_service.is_permitted(database, caller.subject, caller.party, resource_id, action)


async def _require_permitted(database: Database, caller: Caller, resource_id: str, action: str) -> None:
    if not await is_permitted(database, caller, resource_id, action):
        raise Forbidden(f"The policy of resource {resource_id} does not permit {caller.party} to {action}.",
                        code="not_permitted")


async def access_of(database: Database, caller: Caller, row: FileTransfer, recipients: list[str]) -> set[str]:
    """The sides (`Sender`, `Recipient`) the caller's party may act on for this transfer."""
    sides = set()
    if row.sender == caller.party and await is_permitted(database, caller, row.resource_id, WRITE):
        sides.add(s.Role.SENDER.value)
    if (caller.party in recipients and FileTransferStatus(row.status) in VISIBLE_TO_RECIPIENTS
            and await is_permitted(database, caller, row.resource_id, READ)):
        sides.add(s.Role.RECIPIENT.value)
    return sides


# --- rate limits ----------------------------------------------------------------------------------------------
class TooManyRequests(Problem):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


async def count_call(database: Database, client: str, endpoint: str, per_minute: int) -> None:
    """Count one call of `client` to `endpoint` in the current minute, or refuse it (429 with `Retry-After`, the
    seconds until the next minute) when it is over `per_minute`. One upsert in the database, so that every
    server process counts in the same window; a window behind the clock of another process is never reopened."""
    now = utcnow().timestamp()
    minute = int(now // 60)
    # A Core statement on a connection, not a session: this runs on every API call.
    dialect = postgresql if database.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(BrokerRateLimitWindow).values(client=client, endpoint=endpoint, minute=minute, calls=1)
    newer = insert.excluded.minute > BrokerRateLimitWindow.minute
    statement = insert.on_conflict_do_update(index_elements=["client", "endpoint"], set_={
        "calls": case((newer, 1), else_=BrokerRateLimitWindow.calls + 1),
        "minute": case((newer, insert.excluded.minute), else_=BrokerRateLimitWindow.minute),
    }).returning(BrokerRateLimitWindow.calls, BrokerRateLimitWindow.minute)
    async with database.engine.begin() as connection:
        calls, window = (await connection.execute(statement)).one()
    if calls > per_minute:
        retry_after = max(1, int((window + 1) * 60 - now + 0.999))
        raise TooManyRequests(f"At most {per_minute} calls a minute to this endpoint; try again in {retry_after} s.",
                              headers={"Retry-After": str(retry_after)})


# --- service owners and resources -----------------------------------------------------------------------------
async def initialize_service_owner(database: Database, organization_number: str, actor: Actor,
                                   body: s.ServiceOwnerInitialize) -> None:
    """Onboard the calling service owner to the broker; a second time is a conflict, as in Altinn."""
    if await authorization_service.service_owner_code(database, organization_number) is None:
        raise Forbidden(f"Organisation {organization_number} is not a registered service owner.",
                        code="not_service_owner")
    async with database.transaction() as session:
        if await session.get(BrokerServiceOwner, organization_number) is not None:
            raise Conflict("The service owner is initialized already.", code="service_owner_exists")
        session.add(BrokerServiceOwner(organization_number=organization_number, name=body.name,
                                       deletion_time=body.deletionTime, created_at=utcnow()))
        await audit.record(session, actor, action="broker.serviceowner.initialize", resource=AUDIT_RESOURCE,
                           subjects=[organization_number])


async def get_service_owner(database: Database, organization_number: str, settings: Settings) -> s.ServiceOwnerOverview:
    async with database.transaction() as session:
        row = await session.get(BrokerServiceOwner, organization_number)
    if row is None:
        raise NotFound("The service owner is not initialized in the broker.", code="service_owner_not_found")
    # One store holds every service owner's files here (Altinn deploys a storage account per service owner).
    provider = s.StorageProvider(type="AltinnAzure", deploymentStatus="Ready",
                                 deploymentEnvironment=settings.environment.value)
    return s.ServiceOwnerOverview(name=row.name, storageProviders=[provider])


async def _registry_resource(database: Database, resource_id: str) -> authorization_schemas.ServiceResource:
    try:
        resource = await authorization_service.get_resource(database, resource_id)
    except NotFound:
        raise InvalidInput(f"No resource {resource_id} in the resource registry.",
                           code="resource_not_found") from None
    if resource.resourceType != authorization_schemas.ResourceType.BROKER_SERVICE:
        raise InvalidInput(f"Resource {resource_id} is not a broker service (resourceType BrokerService).",
                           code="not_broker_resource")
    return resource


async def _owned_resource(database: Database, organization_number: str,
                          resource_id: str) -> authorization_schemas.ServiceResource:
    resource = await _registry_resource(database, resource_id)
    if resource.hasCompetentAuthority.organization != organization_number:
        raise Forbidden(f"Only the resource's service owner may configure {resource_id}.", code="not_resource_owner")
    return resource


async def configure_resource(database: Database, organization_number: str, actor: Actor, resource_id: str,
                             body: s.ResourceConfiguration) -> None:
    """Set the broker settings of a resource its service owner registered; fields left out keep their value."""
    await _owned_resource(database, organization_number, resource_id)
    if body.maxFileTransferSize is not None and body.maxFileTransferSize > MAX_FILE_TRANSFER_SIZE:
        raise InvalidInput(f"maxFileTransferSize may be at most {MAX_FILE_TRANSFER_SIZE} bytes (50 GB).",
                           code="max_file_transfer_size_too_large")
    if body.purgeFileTransferGracePeriod is not None and _duration(body.purgeFileTransferGracePeriod) > \
            MAX_GRACE_PERIOD:
        raise InvalidInput("purgeFileTransferGracePeriod may be at most PT24H.", code="grace_period_too_long")
    async with database.transaction() as session:
        row = await session.get(BrokerResource, resource_id, with_for_update=True)
        if row is None:
            row = _default_resource(resource_id, organization_number)
            session.add(row)
        for field, column in (("maxFileTransferSize", "max_file_transfer_size"),
                              ("fileTransferTimeToLive", "file_transfer_time_to_live"),
                              ("purgeFileTransferAfterAllRecipientsConfirmed", "purge_after_all_recipients_confirmed"),
                              ("purgeFileTransferGracePeriod", "purge_grace_period"),
                              ("useManifestFileShim", "use_manifest_file_shim"),
                              ("externalServiceCodeLegacy", "external_service_code_legacy"),
                              ("externalServiceEditionCodeLegacy", "external_service_edition_code_legacy"),
                              ("requiredParty", "required_party")):
            if field in body.model_fields_set:
                value = getattr(body, field)
                if value is not None or column not in _NOT_NULL:
                    setattr(row, column, value)
        row.updated_at = utcnow()
        await audit.record(session, actor, action="broker.resource.configure", resource=AUDIT_RESOURCE,
                           subjects=[organization_number], detail={"resourceId": resource_id})


_NOT_NULL = frozenset({"purge_after_all_recipients_confirmed", "use_manifest_file_shim"})


def _default_resource(resource_id: str, owner: str) -> BrokerResource:
    return BrokerResource(resource_id=resource_id, service_owner=owner, max_file_transfer_size=None,
                          file_transfer_time_to_live=DEFAULT_TIME_TO_LIVE, purge_after_all_recipients_confirmed=True,
                          purge_grace_period=DEFAULT_GRACE_PERIOD, use_manifest_file_shim=False,
                          approved_for_disabled_virus_scan=False, updated_at=utcnow())


async def resource_settings(session: AsyncSession, resource_id: str) -> BrokerResource:
    """The broker settings of a resource: as configured, or the defaults (unsaved) when never configured."""
    return await session.get(BrokerResource, resource_id) or _default_resource(resource_id, "")


def max_size(settings_row: BrokerResource) -> int:
    return min(settings_row.max_file_transfer_size or MAX_FILE_TRANSFER_SIZE, MAX_FILE_TRANSFER_SIZE)


async def get_resource_configuration(database: Database, organization_number: str,
                                     resource_id: str) -> s.ResourceConfiguration:
    await _owned_resource(database, organization_number, resource_id)
    async with database.transaction() as session:
        row = await resource_settings(session, resource_id)
    return s.ResourceConfiguration(
        maxFileTransferSize=max_size(row), fileTransferTimeToLive=row.file_transfer_time_to_live,
        purgeFileTransferAfterAllRecipientsConfirmed=row.purge_after_all_recipients_confirmed,
        purgeFileTransferGracePeriod=row.purge_grace_period, useManifestFileShim=row.use_manifest_file_shim,
        externalServiceCodeLegacy=row.external_service_code_legacy,
        externalServiceEditionCodeLegacy=row.external_service_edition_code_legacy, requiredParty=row.required_party)


async def sendable_resources(database: Database, caller: Caller) -> list[authorization_schemas.ServiceResource]:
    """The broker resources whose policy lets the caller's party send (for the brokerbox's send form)."""
    resources = [resource for resource in await authorization_service.list_resources(database)
                 if resource.resourceType == authorization_schemas.ResourceType.BROKER_SERVICE]
    return [resource for resource in resources if await is_permitted(database, caller, resource.identifier, WRITE)]


# --- statistics -----------------------------------------------------------------------------------------------
STATISTICS_COLUMNS = ("resourceId", "sender", "recipient", "fileTransfers", "bytes", "confirmedDownloads")


async def monthly_statistics(database: Database, organization_number: str, year: int, month: int,
                             resource_id: str | None = None) -> list[tuple[str, str, str, int, int, int]]:
    """The file transfers initialized in one month (UTC) on the service owner's broker resources (or the one
    named), counted per resource, sender and recipient: transfers, bytes, confirmed downloads. Felles's columns
    (`STATISTICS_COLUMNS`): the reference does not describe Altinn's."""
    if not 1 <= month <= 12 or not 2000 <= year <= 9999:
        raise InvalidInput("year and month must name a month (month 1-12).", code="invalid_month")
    if resource_id is not None:
        resources = [(await _owned_resource(database, organization_number, resource_id)).identifier]
    else:
        resources = [resource.identifier for resource in await authorization_service.list_resources(
            database, include_hidden=True) if resource.resourceType == authorization_schemas.ResourceType
            .BROKER_SERVICE and resource.hasCompetentAuthority.organization == organization_number]
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=start.tzinfo)
    confirmed = RecipientFileTransferStatus.DOWNLOAD_CONFIRMED.value
    query = (select(FileTransfer.resource_id, FileTransfer.sender, FileTransferRecipient.recipient,
                    func.count(), func.coalesce(func.sum(FileTransfer.size), 0),
                    func.sum(case((FileTransferRecipient.status == confirmed, 1), else_=0)))
             .join(FileTransferRecipient, FileTransferRecipient.file_transfer_id == FileTransfer.id)
             .where(FileTransfer.resource_id.in_(resources), FileTransfer.created_at >= start,
                    FileTransfer.created_at < end)
             .group_by(FileTransfer.resource_id, FileTransfer.sender, FileTransferRecipient.recipient)
             .order_by(FileTransfer.resource_id, FileTransfer.sender, FileTransferRecipient.recipient))
    async with database.transaction() as session:
        rows = (await session.execute(query)).all()
    return [(resource, _legacy(sender), _legacy(recipient), int(count), int(size), int(downloads))
            for resource, sender, recipient, count, size, downloads in rows]


# --- initialize -----------------------------------------------------------------------------------------------
async def initialize(database: Database, settings: Settings, caller: Caller,
                     body: s.FileTransferInitialize) -> uuid.UUID:
    """Create a file transfer (status Initialized) for the sender's file, to come by upload."""
    sender = s.organization_number(body.sender)
    recipients = list(dict.fromkeys(s.organization_number(value) for value in body.recipients))
    if sender != caller.party:
        raise Forbidden(f"You may only send as {caller.party}, not as {sender}.", code="not_sender")
    await _registry_resource(database, body.resourceId)
    await _require_permitted(database, caller, body.resourceId, WRITE)
    registered = await registers_service.organizations_in_bulk(database, recipients)
    unknown = [number for number in recipients if number not in registered or registered[number].is_deleted]
    if unknown:
        raise InvalidInput(f"Unknown recipient: {', '.join(unknown)} is not in Enhetsregisteret.",
                           code="unknown_recipient", extra={"recipients": unknown})
    now = utcnow()
    async with database.transaction() as session:
        config = await resource_settings(session, body.resourceId)
        if body.disableVirusScan and not config.approved_for_disabled_virus_scan:
            raise InvalidInput("This resource is not approved for file transfers without the virus scan.",
                               code="virus_scan_required")
        row = FileTransfer(
            id=uuid7(), resource_id=body.resourceId, sender=sender, senders_reference=body.sendersFileTransferReference,
            file_name=body.fileName, checksum=body.checksum, use_virus_scan=not body.disableVirusScan,
            property_list=dict(body.propertyList or {}), size=0, upload_length=None,
            status=FileTransferStatus.INITIALIZED.value, status_text="", status_changed_at=now, created_at=now,
            expires_at=now + _duration(config.file_transfer_time_to_live or DEFAULT_TIME_TO_LIVE),
            created_by=caller.actor.actor)
        session.add(row)
        await session.flush()
        session.add_all(FileTransferRecipient(
            file_transfer_id=row.id, recipient=number, status=RecipientFileTransferStatus.INITIALIZED.value,
            status_text=RECIPIENT_TEXTS[RecipientFileTransferStatus.INITIALIZED], status_changed_at=now)
            for number in recipients)
        await set_status(session, settings, row, FileTransferStatus.INITIALIZED, caller.actor, now=now,
                         notify=[sender])
        # The purge after the time to live: a transfer never uploaded goes too.
        await enqueue(session, "broker.purge", {"fileTransferId": str(row.id), "reason": "expired"},
                      run_at=row.expires_at, dedupe_key=f"broker.purge.expired:{row.id}")
    return row.id


# --- status changes -------------------------------------------------------------------------------------------
_EVENT_OF = {
    FileTransferStatus.INITIALIZED: "filetransferinitialized",
    FileTransferStatus.UPLOAD_PROCESSING: "uploadprocessing",
    FileTransferStatus.PUBLISHED: "published",
    FileTransferStatus.FAILED: "uploadfailed",
    FileTransferStatus.ALL_CONFIRMED_DOWNLOADED: "allconfirmeddownloaded",
    FileTransferStatus.PURGED: "filepurged",
}


async def publish_events(session: AsyncSession, settings: Settings, row: FileTransfer, name: str,
                         organizations: list[str]) -> None:
    """Altinn's event `no.altinn.broker.<name>` about the transfer, once for each organisation concerned."""
    source = f"{settings.base_url.rstrip('/')}{API_PATH}/filetransfer"
    await events_service.publish_many_in_transaction(session, [dict(
        source=source, type=EVENT_PREFIX + name, subject=s.ORGANIZATION_URN + organization,
        resource=RESOURCE_URN + row.resource_id, resourceinstance=str(row.id)) for organization in organizations],
        publisher=EVENT_PUBLISHER)


async def set_status(session: AsyncSession, settings: Settings, row: FileTransfer, status: FileTransferStatus,
                     actor: Actor, *, now: datetime | None = None, text: str | None = None,
                     notify: list[str] | None = None) -> None:
    """Move the transfer to `status`, with its history row, audit entry and event (to `notify`, if given)."""
    now = now or utcnow()
    row.status, row.status_text, row.status_changed_at = status.value, text or STATUS_TEXTS[status], now
    session.add(FileTransferStatusEvent(id=uuid7(), file_transfer_id=row.id, recipient=None, status=status.value,
                                        status_text=row.status_text, created_at=now))
    await audit.record(session, actor, action=f"broker.filetransfer.{status.value.lower()}", resource=AUDIT_RESOURCE,
                       subjects=[row.sender], detail={"fileTransferId": str(row.id)})
    if notify and status in _EVENT_OF:
        await publish_events(session, settings, row, _EVENT_OF[status], notify)


def set_recipient_status(session: AsyncSession, row: FileTransfer, recipient: FileTransferRecipient,
                          status: RecipientFileTransferStatus, now: datetime) -> None:
    recipient.status, recipient.status_text = status.value, RECIPIENT_TEXTS[status]
    recipient.status_changed_at = now
    session.add(FileTransferStatusEvent(id=uuid7(), file_transfer_id=row.id, recipient=recipient.recipient,
                                        status=status.value, status_text=recipient.status_text, created_at=now))


async def recipients_of(session: AsyncSession, transfer_id: uuid.UUID) -> list[FileTransferRecipient]:
    return list(await session.scalars(select(FileTransferRecipient).where(
        FileTransferRecipient.file_transfer_id == transfer_id).order_by(FileTransferRecipient.recipient)))


async def locked_transfer(session: AsyncSession, transfer_id: uuid.UUID) -> FileTransfer:
    row = await session.get(FileTransfer, transfer_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise TransferNotFound(f"No file transfer {transfer_id}.")
    return row


async def authorized_transfer(database: Database, caller: Caller, transfer_id: uuid.UUID,
                              side: s.Role) -> FileTransfer:
    """The transfer, if the caller's party may act on it as `side` (either side for `Both`); else not found
    or forbidden (a party that is neither sender nor recipient learns nothing: not found)."""
    async with database.transaction() as session:
        row = await session.get(FileTransfer, transfer_id)
        recipients = [recipient.recipient for recipient in await recipients_of(session, transfer_id)] \
            if row is not None else []
    if row is None:
        raise TransferNotFound(f"No file transfer {transfer_id}.")
    sides = await access_of(database, caller, row, recipients)
    if not sides:
        if caller.party == row.sender or caller.party in recipients:
            if caller.party == row.sender or FileTransferStatus(row.status) in VISIBLE_TO_RECIPIENTS:
                raise Forbidden(f"The policy of resource {row.resource_id} does not permit {caller.party} this.",
                                code="not_permitted")
        raise TransferNotFound(f"No file transfer {transfer_id}.")
    if side is not s.Role.BOTH and side.value not in sides:
        raise Forbidden(f"Only the transfer's {side.value.lower()} may do this.", code=f"not_{side.value.lower()}")
    return row


# --- reading --------------------------------------------------------------------------------------------------
def _overview_fields(row: FileTransfer, recipients: list[FileTransferRecipient]) -> dict[str, Any]:
    return dict(
        fileTransferId=row.id, resourceId=row.resource_id, fileName=row.file_name,
        sendersFileTransferReference=row.senders_reference, checksum=row.checksum, useVirusScan=row.use_virus_scan,
        fileTransferSize=row.size, fileTransferStatus=FileTransferStatus(row.status),
        fileTransferStatusText=row.status_text, fileTransferStatusChanged=row.status_changed_at,
        created=row.created_at, expirationTime=row.expires_at, sender=_legacy(row.sender),
        recipients=[s.RecipientFileTransferStatusDetails(
            recipient=_legacy(recipient.recipient),
            currentRecipientFileTransferStatusCode=RecipientFileTransferStatus(recipient.status),
            currentRecipientFileTransferStatusText=recipient.status_text,
            currentRecipientFileTransferStatusChanged=recipient.status_changed_at) for recipient in recipients],
        propertyList=dict(row.property_list))


async def overview(database: Database, caller: Caller, transfer_id: uuid.UUID) -> s.FileTransferOverview:
    await authorized_transfer(database, caller, transfer_id, s.Role.BOTH)
    async with database.transaction() as session:
        row = await session.get(FileTransfer, transfer_id)
        if row is None:
            raise TransferNotFound(f"No file transfer {transfer_id}.")
        return s.FileTransferOverview(**_overview_fields(row, await recipients_of(session, transfer_id)))


async def details(database: Database, caller: Caller, transfer_id: uuid.UUID) -> s.FileTransferDetails:
    """The overview with the history of the transfer's statuses and of each recipient's."""
    await authorized_transfer(database, caller, transfer_id, s.Role.BOTH)
    async with database.transaction() as session:
        row = await session.get(FileTransfer, transfer_id)
        if row is None:
            raise TransferNotFound(f"No file transfer {transfer_id}.")
        recipients = await recipients_of(session, transfer_id)
        history = list(await session.scalars(select(FileTransferStatusEvent).where(
            FileTransferStatusEvent.file_transfer_id == transfer_id).order_by(FileTransferStatusEvent.id)))
    return s.FileTransferDetails(
        **_overview_fields(row, recipients),
        fileTransferStatusHistory=[s.FileTransferStatusEvent(
            fileTransferStatus=FileTransferStatus(event.status), fileTransferStatusText=event.status_text,
            fileTransferStatusChanged=event.created_at) for event in history if event.recipient is None],
        recipientFileTransferStatusHistory=[s.RecipientFileTransferStatusEvent(
            recipient=_legacy(event.recipient), recipientFileTransferStatusCode=RecipientFileTransferStatus(
                event.status), recipientFileTransferStatusText=event.status_text,
            recipientFileTransferStatusChanged=event.created_at) for event in history if event.recipient is not None])


@dataclass(frozen=True)
class Search:
    resource_id: str | None = None
    status: FileTransferStatus | None = None
    recipient_status: RecipientFileTransferStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    order_ascending: bool = True
    role: s.Role = s.Role.BOTH
    limit: int = SEARCH_LIMIT


async def search(database: Database, caller: Caller, criteria: Search) -> list[FileTransfer]:
    """The transfers the caller's party sent or received (as `role` says) that match, at most `limit`.
    A resource whose policy does not permit the party is left out."""
    sent = FileTransfer.sender == caller.party
    received = FileTransfer.id.in_(select(FileTransferRecipient.file_transfer_id).where(
        FileTransferRecipient.recipient == caller.party)) & FileTransfer.status.in_(
        [status.value for status in VISIBLE_TO_RECIPIENTS])
    side = {s.Role.SENDER: sent, s.Role.RECIPIENT: received, s.Role.BOTH: or_(sent, received)}[criteria.role]
    query = select(FileTransfer).where(side)
    if criteria.resource_id is not None:
        query = query.where(FileTransfer.resource_id == criteria.resource_id)
    if criteria.status is not None:
        query = query.where(FileTransfer.status == criteria.status.value)
    if criteria.recipient_status is not None:
        query = query.where(FileTransfer.id.in_(select(FileTransferRecipient.file_transfer_id).where(
            FileTransferRecipient.recipient == caller.party,
            FileTransferRecipient.status == criteria.recipient_status.value)))
    if criteria.created_from is not None:
        query = query.where(FileTransfer.created_at >= criteria.created_from)
    if criteria.created_to is not None:
        query = query.where(FileTransfer.created_at <= criteria.created_to)
    order = FileTransfer.created_at.asc() if criteria.order_ascending else FileTransfer.created_at.desc()
    async with database.transaction() as session:
        rows = list(await session.scalars(query.order_by(order, FileTransfer.id).limit(criteria.limit)))
    permitted: dict[tuple[str, str], bool] = {}
    found = []
    for row in rows:
        action = WRITE if row.sender == caller.party else READ
        if (row.resource_id, action) not in permitted:
            permitted[row.resource_id, action] = await is_permitted(database, caller, row.resource_id, action)
        if permitted[row.resource_id, action]:
            found.append(row)
    return found


async def search_ids(database: Database, caller: Caller, criteria: Search) -> list[uuid.UUID]:
    return [row.id for row in await search(database, caller, criteria)]


async def list_with_recipients(database: Database, caller: Caller,
                               criteria: Search) -> list[tuple[FileTransfer, list[FileTransferRecipient]]]:
    """Search results with their recipients, for the brokerbox pages."""
    rows = await search(database, caller, criteria)
    async with database.transaction() as session:
        return [(row, await recipients_of(session, row.id)) for row in rows]


async def organization_names(database: Database, numbers: list[str]) -> dict[str, str]:
    found = await registers_service.organizations_in_bulk(database, numbers)
    return {number: facts.name for number, facts in found.items()}


# --- download confirmation ------------------------------------------------------------------------------------
async def confirm_download(database: Database, settings: Settings, caller: Caller, transfer_id: uuid.UUID) -> None:
    """The recipient confirms it has the file. When every recipient has, the transfer is AllConfirmedDownloaded
    and, if the resource says so, purged after the grace period."""
    await authorized_transfer(database, caller, transfer_id, s.Role.RECIPIENT)
    now = utcnow()
    async with database.transaction() as session:
        row = await locked_transfer(session, transfer_id)
        if FileTransferStatus(row.status) not in (FileTransferStatus.PUBLISHED,
                                                  FileTransferStatus.ALL_CONFIRMED_DOWNLOADED):
            raise Conflict(f"The file transfer is {row.status}; only a published file can be confirmed.",
                           code="not_published")
        recipients = await recipients_of(session, transfer_id)
        mine = next(recipient for recipient in recipients if recipient.recipient == caller.party)
        if mine.status == RecipientFileTransferStatus.DOWNLOAD_CONFIRMED.value:
            return  # confirmed before: nothing changes
        set_recipient_status(session, row, mine, RecipientFileTransferStatus.DOWNLOAD_CONFIRMED, now)
        await audit.record(session, caller.actor, action="broker.filetransfer.downloadconfirmed",
                           resource=AUDIT_RESOURCE, subjects=[row.sender, caller.party],
                           detail={"fileTransferId": str(row.id)})
        await publish_events(session, settings, row, "downloadconfirmed", [row.sender, caller.party])
        if all(recipient.status == RecipientFileTransferStatus.DOWNLOAD_CONFIRMED.value for recipient in recipients):
            everyone = [row.sender, *(recipient.recipient for recipient in recipients)]
            await set_status(session, settings, row, FileTransferStatus.ALL_CONFIRMED_DOWNLOADED, caller.actor,
                             now=now, notify=everyone)
            config = await resource_settings(session, row.resource_id)
            if config.purge_after_all_recipients_confirmed:
                await enqueue(session, "broker.purge", {"fileTransferId": str(row.id), "reason": "confirmed"},
                              run_at=now + _duration(config.purge_grace_period or DEFAULT_GRACE_PERIOD),
                              dedupe_key=f"broker.purge.confirmed:{row.id}")


# --- cancel and purge -----------------------------------------------------------------------------------------
CANCELLABLE = (FileTransferStatus.INITIALIZED, FileTransferStatus.UPLOAD_STARTED)


async def cancel(database: Database, settings: Settings, caller: Caller, transfer_id: uuid.UUID) -> None:
    """The sender gives up a transfer not yet uploaded (TUS termination); what was stored of it is deleted."""
    await authorized_transfer(database, caller, transfer_id, s.Role.SENDER)
    async with database.transaction() as session:
        row = await locked_transfer(session, transfer_id)
        if FileTransferStatus(row.status) not in CANCELLABLE:
            raise Conflict(f"The file transfer is {row.status}; only one not yet uploaded can be cancelled.",
                           code="not_cancellable")
        await set_status(session, settings, row, FileTransferStatus.CANCELLED, caller.actor)
        keys = await detach_parts(session, row)
    await delete_blobs(keys)


async def detach_parts(session: AsyncSession, row: FileTransfer) -> list[str]:
    """Remove the part rows of a transfer (in the caller's transaction); the blob keys to delete after it."""
    parts = list(await session.scalars(select(FileTransferPart).where(FileTransferPart.file_transfer_id == row.id)))
    for part in parts:
        await session.delete(part)
    return [part.blob_key for part in parts]


async def delete_blobs(keys: list[str]) -> None:
    # After the commit: a blob left by a crash here is an orphan no row names, never a row without its blob.
    blobs = open_blob_store(get_settings())
    for key in keys:
        await blobs.delete(key)


PURGE_ACTOR = Actor("system:broker-purge")


@job_handler("broker.purge")
async def _purge(payload: dict[str, Any], context: JobContext) -> None:
    """Delete a transfer's file after its time to live, or after the grace period once all have confirmed.
    Recipients who never confirmed are told so (`fileneverconfirmeddownloaded`)."""
    settings = get_settings()
    row = await context.session.get(FileTransfer, uuid.UUID(payload["fileTransferId"]), with_for_update=True)
    if row is None or row.status == FileTransferStatus.PURGED.value:
        return
    recipients = await recipients_of(context.session, row.id)
    everyone = [row.sender, *(recipient.recipient for recipient in recipients)]
    published = FileTransferStatus(row.status) in (FileTransferStatus.PUBLISHED,
                                                   FileTransferStatus.ALL_CONFIRMED_DOWNLOADED)
    if payload["reason"] == "expired" and row.status == FileTransferStatus.PUBLISHED.value and any(
            recipient.status != RecipientFileTransferStatus.DOWNLOAD_CONFIRMED.value for recipient in recipients):
        await publish_events(context.session, settings, row, "fileneverconfirmeddownloaded", everyone)
    keys = await detach_parts(context.session, row)
    await set_status(context.session, settings, row, FileTransferStatus.PURGED, PURGE_ACTOR,
                     notify=everyone if published else [row.sender])
    await context.session.flush()
    # Deleted inside the job: should the commit fail, the job runs again and finds the rows still there; a
    # blob already gone is no error.
    await delete_blobs(keys)


def problem_too_large(limit: int) -> Problem:
    return Problem(f"The file is larger than the {limit} bytes the resource takes.", status=413,
                   code="file_transfer_too_large", title="File too large")
