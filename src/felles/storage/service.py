"""Storage's use cases: applications, instances and their events, as Altinn Storage keeps them.

The app runtime writes through the `*_in_transaction` functions inside its own transaction (an instance, its first
data element and its Created event commit together); the Storage API reads and makes the service owner's and the
end user's small changes (complete confirmation, read status, substatus) through the others.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.blobs import BlobStore, BlobStream, StoredBlob, open_blob_store
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Database, done_in_transaction
from felles.core.errors import Conflict, InvalidInput, NotFound, Problem
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.paging import ContinuationTokens
from felles.storage import schemas as s
from felles.storage.models import Application, DataElement, Instance, InstanceEvent

log = structlog.get_logger("felles.storage")
STORAGE_PATH = "/storage/api/v1"
# Altinn's process instance events, from which the process history is read.
PROCESS_EVENT_PREFIX = "process_"
DEFAULT_QUERY_SIZE = 100
MAX_QUERY_SIZE = 1000
DATA_BLOB_PREFIX = "instances/"
# Altinn's read statuses of an instance (its owner's side has seen it, or not, or not since a change).
UNREAD, READ, UPDATED_SINCE_LAST_REVIEW = "Unread", "Read", "UpdatedSinceLastReview"
# Dialogporten mirrors each instance as a dialog (Altinn's storage adapter), after each event but a save.
DIALOG_MIRROR_JOB = "dialogporten.mirror_instance"


def dialog_mirror_key(instance_id: uuid.UUID) -> str:
    """The key by which the instance's waiting Dialogporten mirror job stands for every later one (a coalesce key)."""
    return f"{DIALOG_MIRROR_JOB}:{instance_id}"


@dataclass(frozen=True)
class Owner:
    """The party an instance belongs to, as the party register knows it."""
    party_id: int
    identifier: str  # fødselsnummer (11 digits) or organisation number (9)

    @property
    def is_person(self) -> bool:
        return len(self.identifier) == 11

    def public(self) -> s.InstanceOwner:
        if self.is_person:
            return s.InstanceOwner(partyId=str(self.party_id), personNumber=self.identifier)
        return s.InstanceOwner(partyId=str(self.party_id), organisationNumber=self.identifier)


# --- applications ---------------------------------------------------------------------------------------------
async def register_application_in_transaction(session: AsyncSession, metadata: dict[str, Any], *, version: int,
                                              actor: str) -> Application:
    """Store (or replace) an app's metadata as its newest deployed version."""
    app_id = metadata["id"]
    now = utcnow()
    row = await session.get(Application, app_id, with_for_update=True)
    stored = {**metadata, "versionId": str(version), "lastChanged": now.isoformat(), "lastChangedBy": actor}
    if row is None:
        stored.update(created=now.isoformat(), createdBy=actor)
        row = Application(app_id=app_id, org=metadata["org"], version=version, metadata_document=stored,
                          created_at=now, created_by=actor, last_changed_at=now, last_changed_by=actor)
        session.add(row)
    else:
        stored.update(created=row.created_at.isoformat(), createdBy=row.created_by)
        row.version, row.metadata_document = version, stored
        row.last_changed_at, row.last_changed_by = now, actor
    return row


async def get_application(database: Database, app_id: str) -> dict[str, Any]:
    async with database.transaction() as session:
        row = await session.get(Application, app_id)
    if row is None:
        raise NotFound(f"No application {app_id} is deployed.", code="application_not_found")
    return row.metadata_document


async def list_applications(database: Database, org: str | None = None) -> list[dict[str, Any]]:
    query = select(Application).order_by(Application.app_id)
    if org is not None:
        query = query.where(Application.org == org)
    async with database.transaction() as session:
        return [row.metadata_document for row in (await session.scalars(query)).all()]


# --- instances --------------------------------------------------------------------------------------------------
def instance_reference(instance: Instance) -> str:
    return f"{instance.party_id}/{instance.id}"


def _links(base_url: str, instance: Instance, suffix: str = "") -> s.ResourceLinks:
    base = base_url.rstrip("/")
    return s.ResourceLinks(apps=f"{base}/{instance.app_id}/instances/{instance_reference(instance)}{suffix}",
                           platform=f"{base}{STORAGE_PATH}/instances/{instance_reference(instance)}{suffix}")


def public_data_element(element: DataElement, instance: Instance, base_url: str) -> s.DataElementPublic:
    return s.DataElementPublic(
        id=str(element.id), instanceGuid=str(instance.id), dataType=element.data_type, filename=element.filename,
        contentType=element.content_type, blobStoragePath=element.blob_key,
        selfLinks=_links(base_url, instance, f"/data/{element.id}"), size=element.size,
        contentHash=element.content_hash, locked=element.locked, refs=element.refs, isRead=element.is_read,
        tags=element.tags or [],
        userDefinedMetadata=[s.KeyValueEntry(**entry) for entry in element.user_defined_metadata or []] or None,
        metadata=[s.KeyValueEntry(**entry) for entry in element.metadata_items or []] or None,
        fileScanResult=element.file_scan_result if element.file_scan_result != "NotApplicable" else None,
        created=element.created_at, createdBy=element.created_by, lastChanged=element.last_changed_at,
        lastChangedBy=element.last_changed_by,
    )


def public_instance(instance: Instance, elements: list[DataElement], owner: Owner, base_url: str) -> s.InstancePublic:
    return s.InstancePublic(
        id=instance_reference(instance), instanceOwner=owner.public(), appId=instance.app_id, org=instance.org,
        selfLinks=_links(base_url, instance), dueBefore=instance.due_before, visibleAfter=instance.visible_after,
        process=s.ProcessState.model_validate(instance.process),
        status=s.InstanceStatus(
            isArchived=instance.archived_at is not None, archived=instance.archived_at,
            isSoftDeleted=instance.soft_deleted_at is not None, softDeleted=instance.soft_deleted_at,
            isHardDeleted=instance.hard_deleted_at is not None, hardDeleted=instance.hard_deleted_at,
            readStatus=instance.read_status,
            substatus=s.Substatus.model_validate(instance.substatus) if instance.substatus else None,
        ),
        completeConfirmations=[s.CompleteConfirmation.model_validate(item)
                               for item in instance.complete_confirmations] or None,
        data=[public_data_element(element, instance, base_url) for element in elements],
        presentationTexts=instance.presentation_texts or None, dataValues=instance.data_values or None,
        created=instance.created_at, createdBy=instance.created_by, lastChanged=instance.last_changed_at,
        lastChangedBy=instance.last_changed_by,
    )


def _current_task(process: dict[str, Any]) -> str | None:
    task = process.get("currentTask") or {}
    return task.get("elementId")


async def create_instance_in_transaction(
    session: AsyncSession, *, app_id: str, app_version: int, owner: Owner, process: dict[str, Any], actor: str,
    due_before: datetime | None = None, visible_after: datetime | None = None,
    presentation_texts: dict[str, str] | None = None, data_values: dict[str, str] | None = None,
    read_status: str = "Read",
) -> Instance:
    """A new instance for `owner`, with its process as the caller started it. `read_status`: app-lib starts an
    instance a person creates as Read, and one a service owner creates as Unread."""
    now = utcnow()
    instance = Instance(
        id=uuid.uuid4(), party_id=owner.party_id, owner_identifier=owner.identifier, app_id=app_id,
        org=app_id.split("/", 1)[0], app_version=app_version, process=process, current_task=_current_task(process),
        process_ended_at=_ended(process), read_status=read_status, substatus=None, due_before=due_before,
        visible_after=visible_after or now, presentation_texts=presentation_texts, data_values=data_values,
        complete_confirmations=[], created_at=now, created_by=actor, last_changed_at=now, last_changed_by=actor,
        revision=1,
    )
    session.add(instance)
    await session.flush()
    return instance


async def claim_revision_in_transaction(session: AsyncSession, instance: Instance) -> None:
    """Count one change of the instance only if nobody changed it since it was read (optimistic concurrency):
    the first write of a step that read the instance and decided on what it saw. Another writer's commit in
    between is a Conflict, with nothing written."""
    claimed = await session.execute(
        update(Instance).where(Instance.id == instance.id, Instance.revision == instance.revision)
        .values(revision=Instance.revision + 1).execution_options(synchronize_session="fetch"))
    if getattr(claimed, "rowcount", 0) != 1:
        raise Conflict("The instance was changed by another request meanwhile; read it again and retry.",
                       code="instance_changed")


def lock_data_elements_in_transaction(elements: list[DataElement], data_types: set[str], actor: str, *,
                                      locked: bool = True) -> None:
    """Lock the elements of these data types (a finished task's data, which nobody may change after it), or
    unlock them (the process came back to their task)."""
    for element in elements:
        if element.data_type in data_types and element.locked != locked:
            element.locked = locked
            element.last_changed_at, element.last_changed_by = utcnow(), actor


async def delete_instance_in_transaction(session: AsyncSession, instance: Instance, *, hard: bool, actor: str,
                                        user: s.PlatformUser) -> None:
    """Soft delete (the owner may restore it) or hard delete (gone for everyone; its rows are purged later), as
    a Deleted event."""
    await claim_revision_in_transaction(session, instance)
    now = utcnow()
    instance.soft_deleted_at = instance.soft_deleted_at or now
    if hard:
        instance.hard_deleted_at = now
    touch(instance, actor)
    await record_event_in_transaction(session, instance, "Deleted", user)


async def soft_delete_instance(database: Database, party_id: int, instance_id: uuid.UUID, *,
                               user: s.PlatformUser, at_task: str | None) -> str:
    """Soft delete on behalf of `user`, whom the calling component has authorized at process task `at_task` (the
    delete action of the instance's dialog in an inbox): an instance that has moved on from that task meanwhile is
    a Conflict; one already deleted stays as it is. Returns the app's owner (org)."""
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, lock=True)
        if at_task is not None and instance.current_task != at_task:
            raise Conflict(f"The instance is no longer at {at_task}; read it again.", code="instance_changed")
        if instance.soft_deleted_at is None:
            await delete_instance_in_transaction(session, instance, hard=False, actor=str(user.userId), user=user)
        return instance.org


async def active_instances(session: AsyncSession, app_id: str, party_id: int) -> list[Instance]:
    """The party's instances of the app that are neither ended nor deleted, the last changed first."""
    return list((await session.scalars(
        select(Instance).where(Instance.app_id == app_id, Instance.party_id == party_id,
                               Instance.process_ended_at.is_(None), Instance.soft_deleted_at.is_(None),
                               Instance.hard_deleted_at.is_(None))
        .order_by(Instance.last_changed_at.desc(), Instance.id))).all())


def _ended(process: dict[str, Any]) -> datetime | None:
    ended = process.get("ended")
    return datetime.fromisoformat(ended) if isinstance(ended, str) else ended


def touch(instance: Instance, actor: str) -> None:
    """Mark a change: who and when, and one revision more (the ETag)."""
    instance.last_changed_at = utcnow()
    instance.last_changed_by = actor
    instance.revision += 1


def set_process_in_transaction(instance: Instance, process: dict[str, Any], actor: str) -> None:
    """The instance's new process state; a process that ends archives the instance then (as Storage does)."""
    instance.process = process
    instance.current_task = _current_task(process)
    instance.process_ended_at = _ended(process)
    if instance.process_ended_at is not None and instance.archived_at is None:
        instance.archived_at = instance.process_ended_at
    touch(instance, actor)


async def record_event_in_transaction(
    session: AsyncSession, instance: Instance, event_type: str, user: s.PlatformUser, *,
    process_info: dict[str, Any] | None = None, data_id: uuid.UUID | None = None,
    additional_info: dict[str, Any] | None = None,
) -> InstanceEvent:
    extra = dict(additional_info or {})
    if data_id is not None:
        extra["dataId"] = str(data_id)
    event = InstanceEvent(
        id=uuid7(), instance_id=instance.id, event_type=event_type, created_at=utcnow(), party_id=instance.party_id,
        user=user.model_dump(mode="json", exclude_none=True), process_info=process_info,
        additional_info=extra or None,
    )
    session.add(event)
    if event_type != "Saved":
        await _queue_dialog_mirror(session, instance)
    return event


_MIRRORS_QUEUED = "felles.storage.mirrors_queued"


async def _queue_dialog_mirror(session: AsyncSession, instance: Instance) -> None:
    """One waiting mirror job does for every event until it runs (it reads the instance as it is then), so a
    transaction queues it once per instance. Without flushing what the transaction has pending: the job reads
    the instance after the commit, and the step's events and changes of the instance are then written together."""
    queued = done_in_transaction(session, _MIRRORS_QUEUED)
    if instance.id in queued:
        return
    queued.add(instance.id)
    with session.no_autoflush:
        await enqueue(session, DIALOG_MIRROR_JOB, {"instance": str(instance.id), "org": instance.org},
                      coalesce_key=dialog_mirror_key(instance.id))


async def instance_row(session: AsyncSession, instance_id: uuid.UUID, *, party_id: int | None = None,
                       org: str | None = None, lock: bool = False) -> Instance:
    """The instance, or NotFound: also when it belongs to another party than the one in the path, to another
    service owner than `org` (a service owner sees its own apps' instances only), or is gone."""
    instance = await session.get(Instance, instance_id, with_for_update=lock)
    if (instance is None or instance.hard_deleted_at is not None
            or (party_id is not None and instance.party_id != party_id)
            or (org is not None and instance.org != org)):
        raise NotFound("No such instance.", code="instance_not_found")
    return instance


# Made once: each app call reads its instance so, and building the statement cost a third of reading with it.
_INSTANCE_WITH_ELEMENTS = (
    select(Instance, DataElement).outerjoin(DataElement, DataElement.instance_id == Instance.id)
    .where(Instance.id == bindparam("instance_id")).order_by(DataElement.created_at, DataElement.id))
_INSTANCE_WITH_ELEMENTS_LOCKED = _INSTANCE_WITH_ELEMENTS.with_for_update(of=Instance)


async def instance_with_elements(session: AsyncSession, instance_id: uuid.UUID, *, party_id: int | None = None,
                                 org: str | None = None, lock: bool = False) -> tuple[Instance, list[DataElement]]:
    """`instance_row` and its `data_elements_of` in one statement (an outer join; `lock` locks the instance's row
    only)."""
    statement = _INSTANCE_WITH_ELEMENTS_LOCKED if lock else _INSTANCE_WITH_ELEMENTS
    rows = (await session.execute(statement, {"instance_id": instance_id})).all()
    instance = rows[0][0] if rows else None
    if (instance is None or instance.hard_deleted_at is not None
            or (party_id is not None and instance.party_id != party_id)
            or (org is not None and instance.org != org)):
        raise NotFound("No such instance.", code="instance_not_found")
    return instance, [element for _, element in rows if element is not None]


async def data_elements_of(session: AsyncSession, instance_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[DataElement]]:
    grouped: dict[uuid.UUID, list[DataElement]] = {instance_id: [] for instance_id in instance_ids}
    if instance_ids:
        rows = await session.scalars(select(DataElement).where(DataElement.instance_id.in_(instance_ids))
                                     .order_by(DataElement.created_at, DataElement.id))
        for row in rows:
            grouped[row.instance_id].append(row)
    return grouped


# --- data elements: bytes first, then the row --------------------------------------------------------------
# A data element's bytes go to the blob store under a key of their own before its row is written, in the
# caller's transaction, so a kill -9 leaves at worst a blob no row points at (the sweeper's), never a row pointing
# at a missing blob. A replacement is a new blob; the old one is deleted after the commit (or swept).
class TooLarge(Problem):
    status = 413
    code = "data_too_large"
    title = "The file is too large"


def data_blob_key(instance_id: uuid.UUID, element_id: uuid.UUID) -> str:
    """A fresh key for one write of a data element's bytes: `instances/{instance}/{element}/{write}`."""
    return f"{DATA_BLOB_PREFIX}{instance_id}/{element_id}/{uuid.uuid4().hex}"


async def _limited(chunks: AsyncIterable[bytes], max_bytes: int | None) -> AsyncIterator[bytes]:
    written = 0
    async for chunk in chunks:
        written += len(chunk)
        if max_bytes is not None and written > max_bytes:
            raise TooLarge(f"The file is larger than the {max_bytes:,} bytes allowed.".replace(",", " "))
        yield chunk


async def put_data_blob(blobs: BlobStore, instance_id: uuid.UUID, element_id: uuid.UUID,
                        chunks: AsyncIterable[bytes], *, max_bytes: int | None = None) -> StoredBlob:
    """Stream a data element's bytes into the blob store (refused with 413 past `max_bytes`, nothing kept)."""
    return await blobs.put(data_blob_key(instance_id, element_id), _limited(chunks, max_bytes))


def add_data_element_in_transaction(
    session: AsyncSession, instance: Instance, element_id: uuid.UUID, stored: StoredBlob, *, data_type: str,
    content_type: str, actor: str, filename: str | None = None, file_scan_result: str = "NotApplicable",
    tags: list[str] | None = None, is_read: bool = True,
) -> DataElement:
    """The row of a data element whose bytes `put_data_blob` stored; the instance counts one change. `is_read`:
    whether the instance owner has seen it (Altinn: false for what the app or its service owner adds, which makes
    an instance read before "UpdatedSinceLastReview")."""
    now = utcnow()
    if not is_read and instance.read_status == READ:
        instance.read_status = UPDATED_SINCE_LAST_REVIEW
    element = DataElement(
        id=element_id, instance_id=instance.id, data_type=data_type, filename=filename, content_type=content_type,
        blob_key=stored.key, size=stored.size, content_hash=f"md5:{stored.md5}", locked=False, refs=None,
        is_read=is_read, tags=list(tags or []), file_scan_result=file_scan_result, created_at=now, created_by=actor,
        last_changed_at=now, last_changed_by=actor,
    )
    session.add(element)
    touch(instance, actor)
    return element


def replace_data_element_in_transaction(instance: Instance, element: DataElement, stored: StoredBlob, *,
                                        content_type: str, actor: str, filename: str | None = None,
                                        file_scan_result: str | None = None) -> str:
    """Point the element at newly stored bytes (with their file name and scan state, when given); returns the old
    blob's key, to delete after the commit."""
    old_key = element.blob_key
    element.blob_key, element.size, element.content_hash = stored.key, stored.size, f"md5:{stored.md5}"
    element.content_type = content_type
    if filename is not None:
        element.filename = filename
    if file_scan_result is not None:
        element.file_scan_result = file_scan_result
    element.last_changed_at, element.last_changed_by = utcnow(), actor
    touch(instance, actor)
    return old_key


def unseen_change_in_transaction(instance: Instance, element: DataElement, elements: list[DataElement]) -> None:
    """The app's service owner changed the element: the instance owner has not seen it, and an instance read before
    is Unread again when none of its other data elements is one they have seen (Storage's rule)."""
    element.is_read = False
    if instance.read_status == READ and not any(other.is_read for other in elements if other.id != element.id):
        instance.read_status = UNREAD


async def remove_data_element_in_transaction(session: AsyncSession, instance: Instance, element: DataElement,
                                             actor: str) -> str:
    """Delete the element's row; returns its blob's key, to delete after the commit (or to be swept). An instance
    read before whose data elements are all unseen (the removed one too) is Unread again (Storage's rule)."""
    seen = await session.scalar(select(DataElement.id).where(DataElement.instance_id == instance.id,
                                                             DataElement.is_read.is_(True)).limit(1))
    if instance.read_status == READ and seen is None:
        instance.read_status = UNREAD
    await session.delete(element)
    touch(instance, actor)
    return element.blob_key


async def mark_read(database: Database, instance_id: uuid.UUID, element_id: uuid.UUID | None = None) -> None:
    """The instance owner's side has seen the instance (its read status Read, as app-lib sets it on their reads)
    and, when given, the data element (Altinn's `isRead`). Neither is a change of the instance: no revision."""
    async with database.transaction() as session:
        if element_id is not None:
            await session.execute(update(DataElement).where(DataElement.id == element_id,
                                                            DataElement.is_read.is_(False)).values(is_read=True))
        await session.execute(update(Instance).where(Instance.id == instance_id, Instance.read_status != READ)
                              .values(read_status=READ).execution_options(synchronize_session=False))


def set_data_element_tags_in_transaction(instance: Instance, element: DataElement, tags: list[str],
                                         actor: str) -> None:
    element.tags = list(tags)
    element.last_changed_at, element.last_changed_by = utcnow(), actor
    touch(instance, actor)


async def find_data_element(session: AsyncSession, element_id: uuid.UUID, *, lock: bool = True) -> DataElement | None:
    """A data element by its id alone (for jobs about it), or None when it is gone."""
    return await session.get(DataElement, element_id, with_for_update=lock)


def set_file_scan_result_in_transaction(element: DataElement, result: str) -> None:
    """The virus scan's verdict on the element's current bytes (Pending, Clean or Infected)."""
    element.file_scan_result = result


async def data_element_row(session: AsyncSession, instance: Instance, element_id: uuid.UUID, *,
                           lock: bool = False) -> DataElement:
    """The instance's data element, or NotFound (also when it belongs to another instance)."""
    element = await session.get(DataElement, element_id, with_for_update=lock)
    if element is None or element.instance_id != instance.id:
        raise NotFound("No such data element.", code="data_element_not_found")
    return element


async def read_data_blob(blobs: BlobStore, element: DataElement, *, start: int = 0,
                         end: int | None = None) -> BlobStream:
    return await blobs.get(element.blob_key, start=start, end=end)


async def read_data_bytes(blobs: BlobStore, element: DataElement) -> bytes:
    """A small data element's bytes whole (form data: JSON or XML)."""
    return b"".join([chunk async for chunk in await blobs.get(element.blob_key)])


async def events_of(database: Database, instance_id: uuid.UUID, *, party_id: int, org: str | None = None,
                    event_types: list[str] | None = None) -> s.InstanceEventList:
    async with database.transaction() as session:
        await instance_row(session, instance_id, party_id=party_id, org=org)
        query = select(InstanceEvent).where(InstanceEvent.instance_id == instance_id).order_by(InstanceEvent.id)
        if event_types:
            query = query.where(InstanceEvent.event_type.in_(event_types))
        rows = (await session.scalars(query)).all()
    return s.InstanceEventList(instanceEvents=[public_event(row, instance_id) for row in rows])


def public_event(row: InstanceEvent, instance_id: uuid.UUID) -> s.InstanceEventPublic:
    extra = dict(row.additional_info or {})
    data_id = extra.pop("dataId", None)
    return s.InstanceEventPublic(
        id=row.id, instanceId=f"{row.party_id}/{instance_id}", dataId=data_id, created=row.created_at,
        eventType=row.event_type, instanceOwnerPartyId=str(row.party_id),
        user=s.PlatformUser.model_validate(row.user),
        processInfo=s.ProcessState.model_validate(row.process_info) if row.process_info else None,
        additionalInfo=extra or None,
    )


def _performed_by(user: dict[str, Any]) -> str | None:
    value = user.get("nationalIdentityNumber") or user.get("orgId") or user.get("userId")
    return str(value) if value is not None else None


async def process_history(database: Database, instance_id: uuid.UUID, *, party_id: int,
                          org: str | None = None) -> s.ProcessHistoryList:
    """The process's steps as Altinn derives them from the process events: each task's start and end, the
    start and end events."""
    async with database.transaction() as session:
        await instance_row(session, instance_id, party_id=party_id, org=org)
        rows = (await session.scalars(
            select(InstanceEvent).where(InstanceEvent.instance_id == instance_id,
                                        InstanceEvent.event_type.startswith(PROCESS_EVENT_PREFIX))
            .order_by(InstanceEvent.id))).all()
    history: list[s.ProcessHistoryItem] = []
    for row in rows:
        info = row.process_info or {}
        task = info.get("currentTask") or {}
        kind = row.event_type.removeprefix(PROCESS_EVENT_PREFIX)
        # Which element each kind of process event is about, and the moment it names.
        element, started, ended = {
            "StartEvent": (info.get("startEvent"), info.get("started"), None),
            "EndEvent": (info.get("endEvent"), None, info.get("ended")),
            "StartTask": (task.get("elementId"), task.get("started"), None),
            "EndTask": (task.get("elementId"), None, task.get("ended")),
        }.get(kind, (task.get("elementId"), None, None))
        history.append(s.ProcessHistoryItem(eventType=kind, elementId=element, occured=row.created_at,
                                            started=started, ended=ended, performedBy=_performed_by(row.user)))
    return s.ProcessHistoryList(processHistory=history)


# --- service-owner query ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstanceQuery:
    """`GET /storage/api/v1/instances`: one org's instances, narrowed by app, party, process state and change."""
    org: str
    app_id: str | None = None
    party_id: int | None = None
    current_task: str | None = None
    process_is_complete: bool | None = None
    last_changed_after: datetime | None = None
    last_changed_before: datetime | None = None
    include_soft_deleted: bool = False
    size: int = DEFAULT_QUERY_SIZE


async def query_instances(session: AsyncSession, tokens: ContinuationTokens, query: InstanceQuery,
                          continuation: str | None) -> tuple[list[Instance], str | None]:
    """A page of instances ordered by last change (then id), stable under concurrent changes, and the token of
    the next page (None on the last)."""
    if not 1 <= query.size <= MAX_QUERY_SIZE:
        raise InvalidInput(f"size must be between 1 and {MAX_QUERY_SIZE}.", code="invalid_size")
    statement = select(Instance).where(Instance.org == query.org, Instance.hard_deleted_at.is_(None))
    if query.app_id is not None:
        statement = statement.where(Instance.app_id == query.app_id)
    if query.party_id is not None:
        statement = statement.where(Instance.party_id == query.party_id)
    if query.current_task is not None:
        statement = statement.where(Instance.current_task == query.current_task)
    if query.process_is_complete is not None:
        statement = statement.where(Instance.process_ended_at.is_not(None) if query.process_is_complete
                                    else Instance.process_ended_at.is_(None))
    if query.last_changed_after is not None:
        statement = statement.where(Instance.last_changed_at > query.last_changed_after)
    if query.last_changed_before is not None:
        statement = statement.where(Instance.last_changed_at < query.last_changed_before)
    if not query.include_soft_deleted:
        statement = statement.where(Instance.soft_deleted_at.is_(None))
    if continuation:
        changed, last_id = tokens.decode(continuation)
        after = datetime.fromisoformat(changed)
        statement = statement.where(
            (Instance.last_changed_at > after)
            | ((Instance.last_changed_at == after) & (Instance.id > uuid.UUID(last_id))))
    rows = list((await session.scalars(
        statement.order_by(Instance.last_changed_at, Instance.id).limit(query.size + 1))).all())
    next_token = None
    if len(rows) > query.size:
        rows = rows[:query.size]
        next_token = tokens.encode([rows[-1].last_changed_at.isoformat(), str(rows[-1].id)])
    return rows, next_token


# --- the service owner's view ----------------------------------------------------------------------------------
def owner_of(instance: Instance) -> Owner:
    return Owner(instance.party_id, instance.owner_identifier)


async def public_instance_in_transaction(session: AsyncSession, instance: Instance, base_url: str, *,
                                         made_here: bool = False) -> s.InstancePublic:
    """The instance as Altinn serves it (with its data elements), read in the caller's transaction. `made_here`:
    the instance was created in this transaction, so every data element it has is in the session (none to read)."""
    if not made_here:
        return (await _public_instances(session, [instance], base_url))[0]
    sync = session.sync_session
    elements = sorted((row for row in [*sync.identity_map.values(), *sync.new]
                       if isinstance(row, DataElement) and row.instance_id == instance.id and row not in sync.deleted),
                      key=lambda element: (element.created_at, element.id))
    return public_instance(instance, elements, owner_of(instance), base_url)


async def _public_instances(session: AsyncSession, rows: list[Instance], base_url: str) -> list[s.InstancePublic]:
    elements = await data_elements_of(session, [row.id for row in rows])
    return [public_instance(row, elements[row.id], owner_of(row), base_url) for row in rows]


async def get_instance_for_org(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                               base_url: str) -> s.InstancePublic:
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org)
        return (await _public_instances(session, [instance], base_url))[0]


async def query_for_org(database: Database, tokens: ContinuationTokens, query: InstanceQuery,
                        continuation: str | None, base_url: str) -> tuple[list[s.InstancePublic], str | None]:
    async with database.transaction() as session:
        rows, next_token = await query_instances(session, tokens, query, continuation)
        return await _public_instances(session, rows, base_url), next_token


async def confirm_complete(database: Database, org: str, party_id: int, instance_id: uuid.UUID, actor: str,
                           user: s.PlatformUser, base_url: str) -> s.InstancePublic:
    """The service owner confirms it has what it needs (Altinn's `complete`), recorded as ConfirmedComplete."""
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org, lock=True)
        if confirm_complete_in_transaction(instance, org, actor):
            await record_event_in_transaction(session, instance, "ConfirmedComplete", user)
        return (await _public_instances(session, [instance], base_url))[0]


async def get_instance_by_guid_for_org(database: Database, org: str, instance_id: uuid.UUID,
                                       base_url: str) -> s.InstancePublic:
    """One of the owner's instances by its guid alone (Storage's GetByGuid)."""
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, org=org)
        return (await _public_instances(session, [instance], base_url))[0]


def _of_org(query: Any, org: str | None) -> Any:
    return query if org is None else query.where(Instance.org == org)


async def count_instances(database: Database, *, org: str | None = None) -> int:
    """How many instances there are (of `org`'s apps, or of every app), deleted ones too."""
    async with database.transaction() as session:
        return int(await session.scalar(_of_org(select(func.count()).select_from(Instance), org)) or 0)


async def instance_keys(database: Database, *, org: str | None = None, after: uuid.UUID | None = None,
                        limit: int = 500) -> list[tuple[uuid.UUID, str]]:
    """The next `limit` instances (their guid and their app's owner) in guid order after `after`: one page of a
    walk over every instance (of `org`'s apps), deleted ones too, in constant memory."""
    query = _of_org(select(Instance.id, Instance.org), org).order_by(Instance.id).limit(limit)
    if after is not None:
        query = query.where(Instance.id > after)
    async with database.transaction() as session:
        return [(row.id, row.org) for row in await session.execute(query)]


async def event_of(database: Database, instance_id: uuid.UUID, event_id: uuid.UUID, *, party_id: int,
                   org: str) -> s.InstanceEventPublic:
    """One instance event of one of the owner's instances."""
    async with database.transaction() as session:
        await instance_row(session, instance_id, party_id=party_id, org=org)
        row = await session.get(InstanceEvent, event_id)
    if row is None or row.instance_id != instance_id:
        raise NotFound("No such instance event.", code="instance_event_not_found")
    return public_event(row, instance_id)


MAX_TEXT_LENGTH = 1000


def _merged(current: dict[str, str] | None, changes: dict[str, str | None], what: str) -> dict[str, str] | None:
    """Storage's merge of presentation texts and data values: a value sets its key, an empty one removes it."""
    merged = dict(current or {})
    for key, value in changes.items():
        if not key or len(key) > 100 or (value is not None and len(value) > MAX_TEXT_LENGTH):
            raise InvalidInput(f"{what}: keys of 1 to 100 characters, values up to {MAX_TEXT_LENGTH}.",
                               code=f"invalid_{what.lower().replace(' ', '_')}")
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return merged or None


async def update_presentation_texts(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                                    texts: dict[str, str | None], actor: str, base_url: str) -> s.InstancePublic:
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org, lock=True)
        instance.presentation_texts = _merged(instance.presentation_texts, texts, "Presentation texts")
        touch(instance, actor)
        return (await _public_instances(session, [instance], base_url))[0]


async def update_data_values(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                             values: dict[str, str | None], actor: str, base_url: str) -> s.InstancePublic:
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org, lock=True)
        instance.data_values = _merged(instance.data_values, values, "Data values")
        touch(instance, actor)
        return (await _public_instances(session, [instance], base_url))[0]


async def update_substatus(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                           substatus: s.Substatus, actor: str, user: s.PlatformUser,
                           base_url: str) -> s.InstancePublic:
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org, lock=True)
        set_substatus_in_transaction(instance, substatus, actor)
        await record_event_in_transaction(session, instance, "SubstatusUpdated", user)
        return (await _public_instances(session, [instance], base_url))[0]


# --- small changes ----------------------------------------------------------------------------------------------
def confirm_complete_in_transaction(instance: Instance, stakeholder: str, actor: str) -> bool:
    """The service owner's confirmation that it has what it needs, once per stakeholder: whether it is new."""
    if any(item["stakeholderId"] == stakeholder for item in instance.complete_confirmations):
        return False
    instance.complete_confirmations = [*instance.complete_confirmations,
                                       {"stakeholderId": stakeholder, "confirmedOn": utcnow().isoformat()}]
    touch(instance, actor)
    return True


def set_substatus_in_transaction(instance: Instance, substatus: s.Substatus, actor: str) -> None:
    instance.substatus = substatus.model_dump(exclude_none=True)
    touch(instance, actor)


# --- the service owner's data elements --------------------------------------------------------------------------
class FileInfected(Problem):
    status = 403
    code = "file_infected"
    title = "The file is infected"


async def data_element_for_org(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                               element_id: uuid.UUID) -> DataElement:
    """A data element of one of the owner's instances, to deliver (an infected file never). Its `isRead` is the
    instance owner's, so the service owner's read leaves it."""
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org)
        element = await data_element_row(session, instance, element_id, lock=True)
        if element.file_scan_result == "Infected":
            raise FileInfected("The file is infected by a virus: it is not delivered.")
        return element


async def data_elements_for_org(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                                base_url: str) -> s.DataElementList:
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org)
        elements = (await data_elements_of(session, [instance.id]))[instance.id]
        return s.DataElementList(dataElements=[public_data_element(element, instance, base_url)
                                               for element in elements])


async def set_data_element_lock(database: Database, org: str, party_id: int, instance_id: uuid.UUID,
                                element_id: uuid.UUID, locked: bool, actor: str,
                                base_url: str) -> s.DataElementPublic:
    """Lock a data element (no more changes through the app) or unlock it."""
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org, lock=True)
        element = await data_element_row(session, instance, element_id, lock=True)
        if element.locked != locked:
            element.locked = locked
            element.last_changed_at, element.last_changed_by = utcnow(), actor
            touch(instance, actor)
        return public_data_element(element, instance, base_url)


async def update_read_status(database: Database, org: str, party_id: int, instance_id: uuid.UUID, status: str,
                             actor: str, base_url: str) -> s.InstancePublic:
    if status not in s.READ_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(s.READ_STATUSES)}.", code="invalid_read_status")
    async with database.transaction() as session:
        instance = await instance_row(session, instance_id, party_id=party_id, org=org, lock=True)
        if instance.read_status != status:
            instance.read_status = status
            touch(instance, actor)
        return (await _public_instances(session, [instance], base_url))[0]


# --- orphaned bytes ---------------------------------------------------------------------------------------------
# Bytes are stored before their row: a process killed in between (or before deleting replaced bytes) leaves a blob
# no row points at. The sweeper removes those once they are old enough that no upload can still be committing.
ORPHANS_OLDER_THAN = timedelta(hours=1)
_SWEEP_BATCH = 500


async def sweep_orphaned_blobs(database: Database, blobs: BlobStore,
                               older_than: timedelta = ORPHANS_OLDER_THAN) -> int:
    """Delete data blobs (under `instances/`) that no data element points at and that are older than
    `older_than`; returns how many. Keys are checked against the rows in batches, in constant memory."""
    cutoff = utcnow() - older_than
    removed = 0
    batch: list[str] = []

    async def sweep(keys: list[str]) -> int:
        async with database.transaction() as session:
            kept = set((await session.scalars(select(DataElement.blob_key)
                                              .where(DataElement.blob_key.in_(keys)))).all())
        orphans = [key for key in keys if key not in kept]
        for key in orphans:
            await blobs.delete(key)
        return len(orphans)

    async for blob in blobs.list(DATA_BLOB_PREFIX):
        if blob.modified_at < cutoff:
            batch.append(blob.key)
            if len(batch) >= _SWEEP_BATCH:
                removed, batch = removed + await sweep(batch), []
    if batch:
        removed += await sweep(batch)
    return removed


@job_handler("storage.sweep_orphaned_blobs", every=timedelta(hours=1))
async def _sweep_orphaned_blobs(payload: dict[str, Any], context: JobContext) -> None:
    removed = await sweep_orphaned_blobs(context.database, open_blob_store(get_settings()))
    if removed:
        log.info("orphaned_blobs_removed", count=removed)
