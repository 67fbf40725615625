"""Mirrors: every app instance and every published correspondence appears in Dialogporten as a dialog, and stays
in step with it, as Altinn's own adapters keep them (the storage adapter for app instances, Correspondence's
Dialogporten integration for messages).

Storage and Correspondence queue a mirror job in the transaction of each change (`dialogporten.mirror_instance`,
`dialogporten.mirror_correspondence`). The job reads the record as it is now through the owning component's
service functions, builds the whole dialog it should be, and writes it only when that differs from what was last
written (a fingerprint kept in `dialogporten_mirrors`): a replayed or repeated job changes nothing and publishes
no event. Dialog, activity and transmission ids are derived from the source's ids, as Altinn's adapters derive
theirs, so two workers racing on one record cannot make two dialogs.

How a record maps:
- An instance: the service resource `app_{org}_{app}`; the status as the adapter reads it (Draft while the party
  fills in the form, InProgress in a confirmation or signing step or when the service owner created it,
  Awaiting once submitted, Completed when the service owner confirms it complete); a primary GUI action into the
  form (its receipt once submitted) and a delete action while it is not submitted; its data elements as
  attachments; each submission as a Submission transmission carrying them; its instance events as activities.
  A deleted instance soft-deletes the dialog (a restored one restores it).
- A correspondence: its own resource; RequiresAttention while it waits for a confirmation, NotApplicable
  otherwise; one transmission with its title, summary and attachments; an action to open the message and its
  reply options; each read by the recipient in the seen log; Opened and Confirmed activities; archived files
  the dialog in the archive; purged soft-deletes it."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization_service
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Database, insert_for
from felles.core.errors import NotFound
from felles.core.jobs import JobContext, batch_job_handler, enqueue, waiting_coalesce_keys
from felles.core.tokens import Principal
from felles.correspondence import service_history as correspondence_history
from felles.correspondence import service_reading as correspondence_reading
from felles.dialogporten import access, mirrored, service
from felles.dialogporten import schemas as s
from felles.dialogporten.models import DialogMirror
from felles.storage import schemas as storage_schemas
from felles.storage import service as storage_service

MIRROR_INSTANCE_JOB = "dialogporten.mirror_instance"
MIRROR_CORRESPONDENCE_JOB = "dialogporten.mirror_correspondence"
BACKFILL_PAGE = 500  # instances looked at per transaction by the backfill
# Correspondence mirror jobs due together run as one, in one transaction: a fan-out publishes hundreds at once,
# and a job's own claim and commit cost a third of what its mirror does.
MIRROR_CORRESPONDENCE_BATCH = 50
# Instance mirror jobs due together (many people submitting at once) write their dialogs in one transaction too.
MIRROR_INSTANCE_BATCH = 20
INSTANCE, CORRESPONDENCE = "instance", "correspondence"
APP_RESOURCE_PREFIX = "app_"
# Where an instance dialog's delete action points: the adapter's endpoint, which takes the dialog token (`adapter`).
ADAPTER_PATH = "/storage/dialogporten/api/v1"
LANGUAGES = ("nb", "nn", "en")
SERVICE_OWNER = {"actorType": s.ActorType.SERVICE_OWNER.value}
PARTY = {"actorType": s.ActorType.PARTY_REPRESENTATIVE.value}
# Instance events and the activities Altinn's adapter makes of them (a data element's Created/Deleted is none).
INSTANCE_ACTIVITIES = {"Created": s.ActivityType.DIALOG_CREATED, "Submited": s.ActivityType.FORM_SUBMITTED,
                       "Deleted": s.ActivityType.DIALOG_DELETED, "Undeleted": s.ActivityType.DIALOG_RESTORED,
                       "Signed": s.ActivityType.SIGNATURE_PROVIDED, "Saved": s.ActivityType.FORM_SAVED}
NOT_PUBLISHED = frozenset({"Initialized", "ReadyForPublish", "Failed", "Reserved"})
PURGED = frozenset({"PurgedByRecipient", "PurgedByAltinn"})
GONE = "~"  # the version of a source that is gone: after every other


def derived_id(at: datetime, *names: str) -> uuid.UUID:
    """A UUIDv7 that is always the same for the same source: `at`'s milliseconds, then bits of a hash of the
    names (Altinn's adapters derive their dialog ids from the source's id and creation time the same way)."""
    milliseconds = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256("/".join(names).encode()).digest()[:10], "big")
    value = (milliseconds << 80) | (0x7 << 76) | ((digest >> 68) & 0xFFF) << 64 | (0b10 << 62) | (
        digest & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def _text(texts: dict[str, str]) -> dict[str, Any]:
    return {"value": [{"value": value[:255], "languageCode": language} for language, value in texts.items()
                      if value], "mediaType": "text/plain"}


def _localized(nb: str, nn: str, en: str) -> list[dict[str, str]]:
    return [{"value": nb, "languageCode": "nb"}, {"value": nn, "languageCode": "nn"},
            {"value": en, "languageCode": "en"}]


def _future(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return value if value > utcnow() else None


def _party_urn(identifier: str) -> str:
    return service.party_urn(identifier)


async def _records(session: AsyncSession, source_type: str, source_ids: list[uuid.UUID]
                   ) -> dict[uuid.UUID, DialogMirror]:
    """The sources' mirror records, locked for this transaction (in id order): each created empty first if there
    is none, so that jobs racing on one source take turns (on SQLite this first write also takes the one writer's
    turn)."""
    now = utcnow()
    await session.execute(insert_for(session, DialogMirror).values([dict(
        source_type=source_type, source_id=source_id, dialog_id=source_id, fingerprint="", source_version="",
        synced_at=now) for source_id in source_ids]).on_conflict_do_nothing())
    records = {record.source_id: record for record in await session.scalars(
        select(DialogMirror).where(DialogMirror.source_type == source_type, DialogMirror.source_id.in_(source_ids))
        .order_by(DialogMirror.source_id).with_for_update().execution_options(populate_existing=True))}
    assert len(records) == len(source_ids)
    return records


def _fingerprint(mirror: mirrored.MirroredDialog) -> str:
    document = {"body": mirror.body.model_dump(mode="json"), "deleted": mirror.deleted, "archived": mirror.archived,
                "seen": [[who, when.isoformat()] for who, when in mirror.seen], "party": mirror.party,
                "resource": mirror.service_resource}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


async def _write(session: AsyncSession, source_type: str,
                 sources: list[tuple[uuid.UUID, mirrored.MirroredDialog | None, str]]) -> set[uuid.UUID]:
    """Write each source's dialog (source id, dialog, version; each source once) unless it is what was last
    written, or a job that read the source later has written already; the sources whose dialog changed. A dialog
    None: the source is not (or no longer) there to be seen, so its dialog, if it has one, is soft-deleted. The
    dialogs are written together (`mirrored.write_many_in_transaction`)."""
    if not sources:
        return set()
    records = await _records(session, source_type, [source_id for source_id, _, _ in sources])
    changed: set[uuid.UUID] = set()
    writes: list[tuple[DialogMirror, mirrored.MirroredDialog, str, str]] = []
    for source_id, mirror, version in sources:
        record = records[source_id]
        if record.source_version > version:
            continue
        if mirror is None:
            if not record.fingerprint:  # never mirrored: nothing to delete, and no record to keep
                await session.delete(record)
            else:
                record.source_version = version
                if await _delete(session, record):
                    changed.add(source_id)
            continue
        fingerprint = _fingerprint(mirror)
        if record.fingerprint != fingerprint:
            writes.append((record, mirror, fingerprint, version))
        else:
            record.source_version = version
    if writes:
        await mirrored.write_many_in_transaction(session, [mirror for _, mirror, _, _ in writes],
                                                 base_url=get_settings().base_url)
    for record, mirror, fingerprint, version in writes:  # one UPDATE of the record each, after the dialogs
        record.dialog_id, record.fingerprint, record.synced_at = mirror.id, fingerprint, utcnow()
        record.source_version = version
        changed.add(record.source_id)
    return changed


async def _delete(session: AsyncSession, record: DialogMirror) -> bool:
    changed = await mirrored.delete_in_transaction(session, record.dialog_id, base_url=get_settings().base_url)
    record.fingerprint, record.synced_at = "gone", utcnow()
    return changed


async def _owner(database: Database, resource_id: str) -> tuple[str, str, str, dict[str, str]]:
    """The service resource's type, its owner's organisation number, code and name."""
    resource = await authorization_service.get_resource(database, resource_id)
    owner = resource.hasCompetentAuthority
    return (str(resource.resourceType.value).lower(), owner.organization or "", owner.orgcode or "",
            dict(owner.name or {}))


# --- app instances --------------------------------------------------------------------------------------------
def instance_status(instance: storage_schemas.InstancePublic, events: list[storage_schemas.InstanceEventPublic]
                    ) -> s.DialogStatusInput:
    """The dialog status of an instance, as Altinn's storage adapter maps it."""
    if instance.status.isArchived:
        return s.DialogStatusInput.COMPLETED if instance.completeConfirmations else s.DialogStatusInput.AWAITING
    task = instance.process.currentTask if instance.process else None
    task_type = task.altinnTaskType if task else None
    if task_type == "reject":
        return s.DialogStatusInput.REQUIRES_ATTENTION
    if task_type == "feedback":
        return s.DialogStatusInput.AWAITING
    if task_type in ("confirmation", "signing"):
        return s.DialogStatusInput.IN_PROGRESS
    if events and events[0].user.orgId:  # created (and prefilled) by the service owner
        return s.DialogStatusInput.IN_PROGRESS
    return s.DialogStatusInput.DRAFT


SUMMARIES = {
    s.DialogStatusInput.DRAFT: ("Skjemaet er påbegynt, men ikke sendt inn.",
                                "Skjemaet er påbegynt, men ikkje sendt inn.",
                                "The form is started, but not submitted."),
    s.DialogStatusInput.IN_PROGRESS: ("Skjemaet er under arbeid.", "Skjemaet er under arbeid.",
                                      "The form is in progress."),
    s.DialogStatusInput.AWAITING: ("Skjemaet er sendt inn.", "Skjemaet er sendt inn.", "The form is submitted."),
    s.DialogStatusInput.COMPLETED: ("Skjemaet er sendt inn og ferdig behandlet.",
                                    "Skjemaet er sendt inn og ferdig handsama.",
                                    "The form is submitted, and its processing is done."),
    s.DialogStatusInput.REQUIRES_ATTENTION: ("Skjemaet trenger oppmerksomheten din.",
                                             "Skjemaet treng merksemda di.", "The form needs your attention."),
}


def _data_attachments(instance: storage_schemas.InstancePublic, *key: str) -> list[dict[str, Any]]:
    created = instance.created or utcnow()
    return [{"id": str(derived_id(created, *key, element.id)), "name": element.filename or element.dataType,
             "displayName": [{"value": (element.filename or element.dataType)[:255], "languageCode": "nb"}],
             "urls": [{"id": str(derived_id(created, *key, element.id, "url")), "url": element.selfLinks.apps,
                       "mediaType": element.contentType, "consumerType": "Gui"}]}
            for element in instance.data if element.selfLinks and element.selfLinks.apps]


def _activities(instance: storage_schemas.InstancePublic, events: list[storage_schemas.InstanceEventPublic],
                transmissions: dict[uuid.UUID, uuid.UUID]) -> list[dict[str, Any]]:
    activities = []
    for index, event in enumerate(events):
        kind = INSTANCE_ACTIVITIES.get(event.eventType)
        if kind is None or event.id is None or (event.dataId and event.eventType in ("Created", "Deleted")):
            continue
        if kind == s.ActivityType.FORM_SAVED and index + 1 < len(events) and events[index + 1].eventType == "Saved":
            continue  # consecutive saves are one activity, as the adapter merges them
        activities.append({"id": str(event.id), "type": kind.value, "createdAt": event.created,
                           "performedBy": SERVICE_OWNER if event.user.orgId else PARTY,
                           "transmissionId": str(transmissions[event.id]) if event.id in transmissions else None})
    return activities


async def instance_dialog(database: Database, instance_id: uuid.UUID, org: str
                          ) -> tuple[mirrored.MirroredDialog | None, str]:
    """The dialog an instance should be now (None when the instance is gone), and how far the instance had come."""
    base_url = get_settings().base_url.rstrip("/")
    try:
        instance = await storage_service.get_instance_by_guid_for_org(database, org, instance_id, base_url)
    except NotFound:
        return None, GONE
    party_id = int(instance.instanceOwner.partyId)
    events = (await storage_service.events_of(database, instance_id, party_id=party_id, org=org)).instanceEvents
    version = f"{(instance.lastChanged or utcnow()).astimezone(UTC).isoformat()}|{len(events):08d}"
    metadata = await storage_service.get_application(database, instance.appId)
    app = instance.appId.split("/", 1)[1]
    resource_type, owner_number, owner_code, owner_name = await _owner(database, f"{APP_RESOURCE_PREFIX}{org}_{app}")
    created = instance.created or utcnow()
    status = instance_status(instance, events)
    titles = {language: text for language, text in (metadata.get("title") or {}).items() if language in LANGUAGES}
    titles = titles or {"nb": app}
    if instance.presentationTexts:
        extra = ", ".join(value for value in instance.presentationTexts.values() if value)
        titles = {language: f"{title} ({extra})" for language, title in titles.items()}
    summary = dict(zip(LANGUAGES, SUMMARIES[status], strict=True))
    substatus = instance.status.substatus
    if substatus and substatus.description:
        summary = {language: substatus.description for language in LANGUAGES}
    form_url = f"{base_url}/{instance.appId}/instance/{party_id}/{instance_id}"
    submitted = instance.status.isArchived
    gui_actions: list[dict[str, Any]] = [{
        "id": str(derived_id(created, INSTANCE, str(instance_id), "go-to")), "action": "read", "url": form_url,
        "priority": "Primary",
        "title": (_localized("Se innsendt skjema", "Sjå innsendt skjema", "See the submitted form") if submitted
                  else _localized("Gå til skjema", "Gå til skjema", "Go to the form"))}]
    if not submitted:
        task = instance.process.currentTask if instance.process else None
        gui_actions.append({
            "id": str(derived_id(created, INSTANCE, str(instance_id), "delete")), "action": "delete",
            # decided at the task the instance is in, as the app decides its own delete (a policy may allow it
            # while the form is filled in only)
            **({"authorizationAttribute": f"{access.TASK_PREFIX}{task.elementId}"} if task else {}),
            "url": f"{base_url}{ADAPTER_PATH}/instance/{party_id}/{instance_id}", "httpMethod": "DELETE",
            "priority": "Secondary", "isDeleteDialogAction": True,
            "title": _localized("Slett", "Slett", "Delete"),
            "prompt": _localized("Vil du slette skjemaet?", "Vil du slette skjemaet?", "Delete the form?")})
    transmissions = {event.id: derived_id(event.created or created, INSTANCE, str(instance_id), str(event.id))
                     for event in events if event.eventType == "Submited" and event.id is not None}
    body = s.DialogUpdate.model_validate({
        "status": status.value, "extendedStatus": (substatus.label or None) if substatus else None,
        "externalReference": instance.id, "dueAt": _future(instance.dueBefore),
        "content": {"title": _text(titles), "summary": _text(summary),
                    "senderName": _text({language: name for language, name in owner_name.items()
                                         if language in LANGUAGES})},
        "attachments": _data_attachments(instance, INSTANCE, str(instance_id)),
        "guiActions": gui_actions,
        "transmissions": [{
            "id": str(transmission_id), "type": "Submission", "sender": PARTY,
            "createdAt": next(event.created for event in events if event.id == event_id),
            "content": {"title": _text(dict(zip(LANGUAGES, ("Innsendt skjema", "Innsendt skjema",
                                                             "Submitted form"), strict=True)))},
            "attachments": _data_attachments(instance, INSTANCE, str(instance_id), str(event_id)),
        } for event_id, transmission_id in transmissions.items()],
        "activities": _activities(instance, events, transmissions),
    })
    return mirrored.MirroredDialog(
        id=derived_id(created, INSTANCE, str(instance_id)), org=owner_code or org, owner_organization=owner_number,
        service_resource=service.RESOURCE_PREFIX + f"{APP_RESOURCE_PREFIX}{org}_{app}",
        service_resource_type=resource_type, party=_party_urn(
            instance.instanceOwner.personNumber or instance.instanceOwner.organisationNumber or ""),
        created_at=created, body=body, deleted=instance.status.isSoftDeleted or instance.status.isHardDeleted
    ), version


async def mirror_instance(database: Database, session: AsyncSession, instance_id: uuid.UUID, org: str) -> bool:
    """Bring the instance's dialog in step with it (reads first, then writes in `session`); True if it changed."""
    return bool(await _write(session, INSTANCE, [(instance_id, *await instance_dialog(database, instance_id, org))]))


@batch_job_handler(MIRROR_INSTANCE_JOB, batch=MIRROR_INSTANCE_BATCH, max_attempts=12)
async def _mirror_instance_jobs(payloads: list[dict[str, Any]], context: JobContext) -> None:
    """Bring the instances' dialogs in step with them: each instance is read first (in transactions of its own,
    as `_mirror_correspondence_jobs` reads), then every dialog written in the job's transaction, together."""
    instances = {uuid.UUID(payload["instance"]): payload["org"] for payload in payloads}
    read = [(instance_id, *await instance_dialog(context.database, instance_id, org))
            for instance_id, org in instances.items()]
    await _write(context.session, INSTANCE, read)


# --- correspondences ------------------------------------------------------------------------------------------
def _summary(details: Any) -> str | None:
    text = details.content.messageSummary or details.content.messageBody or ""
    plain = " ".join(text.replace("*", "").replace("#", "").split())
    return plain[:252] + "..." if len(plain) > 255 else plain or None


async def correspondence_dialogs(database: Database, correspondence_ids: list[uuid.UUID]
                                 ) -> dict[uuid.UUID, tuple[mirrored.MirroredDialog | None, str]]:
    """The dialog each correspondence should be now (None when it is not published yet, or gone), and how far it
    had come (its history only grows), read together: the correspondences in one transaction, each resource's
    owner once."""
    views = await correspondence_reading.platform_views(database, correspondence_ids)
    owners: dict[str, tuple[str, str, str, dict[str, str]]] = {}
    found: dict[uuid.UUID, tuple[mirrored.MirroredDialog | None, str]] = {}
    for correspondence_id in correspondence_ids:
        view = views.get(correspondence_id)
        if view is None:
            found[correspondence_id] = None, GONE
            continue
        reached = {step.status for step in view.history}
        version = f"{len(view.history):08d}"
        if view.details.status.value in NOT_PUBLISHED or "Published" not in reached:
            found[correspondence_id] = None, version
            continue
        resource_id = view.details.resourceId
        if resource_id not in owners:
            owners[resource_id] = await _owner(database, resource_id)
        found[correspondence_id] = _correspondence_dialog(correspondence_id, view, owners[resource_id]), version
    return found


def _correspondence_dialog(correspondence_id: uuid.UUID, view: correspondence_reading.PlatformView,
                           owner: tuple[str, str, str, dict[str, str]]) -> mirrored.MirroredDialog:
    base_url = get_settings().base_url.rstrip("/")
    details = view.details
    reached = {step.status for step in view.history}
    resource_type, owner_number, owner_code, _ = owner
    created = details.published or details.created
    key = (CORRESPONDENCE, str(correspondence_id))
    language = details.content.language if details.content.language in LANGUAGES else "nb"
    confirmed = "Confirmed" in reached
    message_url = f"{base_url}/correspondence/ui/message/{correspondence_id}"
    gui_actions: list[dict[str, Any]] = [{
        "id": str(derived_id(created, *key, "open")), "action": "read", "url": message_url, "priority": "Primary",
        "title": _localized("Åpne meldingen", "Opne meldinga", "Open the message")}]
    for index, option in enumerate(details.replyOptions):
        link = option.get("linkURL") or ""
        gui_actions.append({"id": str(derived_id(created, *key, "reply", str(index))), "action": "read",
                            "url": link, "priority": "Tertiary",
                            "title": [{"value": (option.get("linkText") or link)[:255], "languageCode": language}]})
    attachments = [{
        "id": str(derived_id(created, *key, str(attachment.id))), "name": attachment.fileName,
        "displayName": [{"value": (attachment.displayName or attachment.fileName)[:255], "languageCode": language}],
        "urls": [{"id": str(derived_id(created, *key, str(attachment.id), "gui")),
                  "url": f"{message_url}/attachment/{attachment.id}", "consumerType": "Gui"},
                 {"id": str(derived_id(created, *key, str(attachment.id), "api")),
                  "url": f"{base_url}/correspondence/api/v1/correspondence/{correspondence_id}/attachment/"
                         f"{attachment.id}/download", "consumerType": "Api"}],
    } for attachment in details.content.attachments]
    transmission_id = derived_id(created, *key, "transmission")
    summary = _summary(details)
    activities = []
    first_read = next((step for step in view.history if step.status == "Read"), None)
    if first_read is not None:
        activities.append({"id": str(derived_id(first_read.changed, *key, "opened")), "createdAt": first_read.changed,
                           "type": s.ActivityType.CORRESPONDENCE_OPENED.value, "performedBy": PARTY})
    confirmation = next((step for step in view.history if step.status == "Confirmed"), None)
    if confirmation is not None:
        activities.append({"id": str(derived_id(confirmation.changed, *key, "confirmed")),
                           "createdAt": confirmation.changed, "performedBy": PARTY,
                           "type": s.ActivityType.CORRESPONDENCE_CONFIRMED.value})
    body = s.DialogUpdate.model_validate({
        "status": (s.DialogStatusInput.REQUIRES_ATTENTION if details.isConfirmationNeeded and not confirmed
                   else s.DialogStatusInput.NOT_APPLICABLE).value,
        "externalReference": details.sendersReference[:255] or None, "dueAt": _future(details.dueDateTime),
        "content": {"title": _text({language: details.content.messageTitle}),
                    **({"summary": _text({language: summary})} if summary else {}),
                    "senderName": _text({language: view.sender_name})},
        "guiActions": gui_actions,
        "transmissions": [{
            "id": str(transmission_id), "type": "Information", "sender": SERVICE_OWNER, "createdAt": created,
            "externalReference": details.sendersReference[:255] or None,
            "content": {"title": _text({language: details.content.messageTitle}),
                        **({"summary": _text({language: summary})} if summary else {})},
            "attachments": attachments}],
        "activities": activities,
    })
    seen = [(step.performed_by, step.changed) for step in view.history
            if step.status == "Read" and step.performed_by.startswith(service.PERSON_PREFIX)]
    return mirrored.MirroredDialog(
        id=derived_id(created, *key), org=owner_code, owner_organization=owner_number,
        service_resource=service.RESOURCE_PREFIX + details.resourceId, service_resource_type=resource_type,
        party=details.recipient, created_at=created, body=body, deleted=bool(reached & PURGED),
        archived="Archived" in reached, seen=seen)


@batch_job_handler(MIRROR_CORRESPONDENCE_JOB, batch=MIRROR_CORRESPONDENCE_BATCH, max_attempts=12)
async def _mirror_correspondence_jobs(payloads: list[dict[str, Any]], context: JobContext) -> None:
    """Bring the correspondences' dialogs in step with them: every correspondence is read first (together, in
    transactions of their own), then every dialog written in the job's, together. Reading after a write would wait
    on SQLite for the job's own write lock when a read writes (a registry that seeds itself when read)."""
    ids = [uuid.UUID(key) for key in dict.fromkeys(payload["correspondence"] for payload in payloads)]
    read = await correspondence_dialogs(context.database, ids)
    await _write(context.session, CORRESPONDENCE, [(key, *read[key]) for key in ids])


async def mirrored_dialog_id(database: Database, source_type: str, source_id: uuid.UUID) -> uuid.UUID | None:
    """The dialog that mirrors a record (an `instance` or a `correspondence`), if one does."""
    async with database.transaction() as session:
        return await session.scalar(select(DialogMirror.dialog_id).where(DialogMirror.source_type == source_type,
                                                                         DialogMirror.source_id == source_id))


async def mirror_sent_correspondences(database: Database, sender: Principal) -> int:
    """Queue a mirror job for each correspondence `sender` has sent (the newest 1,000): what brings a data folder
    filled before the mirrors existed in step. Published ones become dialogs; the rest change nothing. Queued with
    the coalesce key Correspondence queues its mirror jobs with, so one whose mirror job waits gets none. Returns
    how many jobs were queued."""
    found = await correspondence_reading.list_ids(database, sender, correspondence_reading.ListQuery(role="Sender"))
    keys = {correspondence_id: correspondence_history.dialog_mirror_key(correspondence_id)
            for correspondence_id in found.ids}
    async with database.transaction() as session:
        waiting = await waiting_coalesce_keys(session, keys.values())
        queued = [correspondence_id for correspondence_id, key in keys.items() if key not in waiting]
        for correspondence_id in queued:
            await enqueue(session, MIRROR_CORRESPONDENCE_JOB, {"correspondence": str(correspondence_id)},
                          coalesce_key=keys[correspondence_id])
    return len(queued)


async def mirror_unmirrored_instances(database: Database, *, org: str | None = None, page_size: int = BACKFILL_PAGE,
                                      progress: Callable[[int], None] | None = None) -> int:
    """Queue a mirror job for each app instance (of `org`'s apps, or of every app) that no mirror record names
    yet: what brings instances made before the mirrors existed into Dialogporten. Storage is walked a page at a
    time in guid order, so memory stays the same however many instances there are; `progress` is told how many
    each page held. Idempotent: an instance mirrored already gets no job, nor one whose mirror job waits to run
    (queued with the coalesce key Storage queues its mirror jobs with). Returns how many jobs were queued."""
    queued, after = 0, None
    while page := await storage_service.instance_keys(database, org=org, after=after, limit=page_size):
        after = page[-1][0]
        keys = {instance_id: storage_service.dialog_mirror_key(instance_id) for instance_id, _ in page}
        async with database.transaction() as session:
            mirrored_ids = set(await session.scalars(select(DialogMirror.source_id).where(
                DialogMirror.source_type == INSTANCE, DialogMirror.source_id.in_(list(keys)))))
            waiting = await waiting_coalesce_keys(session, keys.values())
            for instance_id, owner in page:
                if instance_id not in mirrored_ids and keys[instance_id] not in waiting:
                    await enqueue(session, MIRROR_INSTANCE_JOB, {"instance": str(instance_id), "org": owner},
                                  coalesce_key=keys[instance_id])
                    queued += 1
        if progress is not None:
            progress(len(page))
    return queued
