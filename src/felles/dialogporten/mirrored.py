"""Dialogs the platform writes itself, kept in step with another component's records (an app instance, a
correspondence; `mirrors` decides what each should be): the whole dialog is written as it should be now, only the
activities, transmissions and seen-log entries it lacks are appended, and Dialogporten's events go out for what
changed, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.clock import utcnow
from felles.core.ids import uuid7
from felles.dialogporten import schemas as s
from felles.dialogporten import sent, service
from felles.dialogporten.models import Dialog, DialogActivity, DialogLabelAssignment, DialogSeenLog, DialogTransmission
from felles.events import service as events_service


@dataclass
class MirroredDialog:
    """A dialog as the platform writes it for a record of its own (an app instance, a correspondence): the whole
    dialog as it should be now, with every activity, transmission and seen-log entry it should have (each with a
    fixed id, so that only the ones it lacks are appended)."""

    id: uuid.UUID
    org: str
    owner_organization: str
    service_resource: str
    service_resource_type: str
    party: str
    created_at: datetime
    body: s.DialogUpdate
    deleted: bool = False
    archived: bool = False
    # (end user urn, when) for each look the source records (a correspondence read by its recipient).
    seen: list[tuple[str, datetime]] = dataclass_field(default_factory=list)


def check_mirrored(mirror: MirroredDialog) -> None:
    """Dialogporten's validation of a service owner's dialog, for one the platform writes (a defect otherwise)."""
    errors: dict[str, list[str]] = {}
    service._check(mirror.body, mirror.party, errors)
    service._check_gui_actions(mirror.body.guiActions, errors)
    if errors:
        raise service.validation_failed(errors)


async def write_in_transaction(session: AsyncSession, mirror: MirroredDialog, *, base_url: str) -> Dialog:
    """Create or bring up to date a dialog the platform mirrors, in the caller's transaction, publishing
    Dialogporten's events for what changed: created/updated, deleted/restored, new activities and transmissions,
    and seen. The end user's own labels stay, except that an archived source files the dialog in the archive."""
    (row,) = await write_many_in_transaction(session, [mirror], base_url=base_url)
    return row


async def write_many_in_transaction(session: AsyncSession, mirrors: list[MirroredDialog], *, base_url: str
                                    ) -> list[Dialog]:
    """`write_in_transaction` of several dialogs (each once) at once: the dialogs, and the transmissions,
    activities and seen log of those that exist, are each read with one query for all, the new dialogs inserted
    together, and every event published in one go, in the order writing each in turn would publish them."""
    for mirror in mirrors:
        check_mirrored(mirror)
    now = utcnow()
    rows = {row.id: row for row in await session.scalars(select(Dialog).where(
        Dialog.id.in_([mirror.id for mirror in mirrors])).order_by(Dialog.id).with_for_update())}
    existing = sorted(rows)
    transmission_ids: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    activity_ids: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    seen_before: dict[uuid.UUID, set[tuple[str, datetime]]] = defaultdict(set)
    if existing:
        for dialog_id, item_id in await session.execute(select(DialogTransmission.dialog_id, DialogTransmission.id)
                                                        .where(DialogTransmission.dialog_id.in_(existing))):
            transmission_ids[dialog_id].add(item_id)
        for dialog_id, item_id in await session.execute(select(DialogActivity.dialog_id, DialogActivity.id)
                                                        .where(DialogActivity.dialog_id.in_(existing))):
            activity_ids[dialog_id].add(item_id)
        for entry in await session.scalars(select(DialogSeenLog).where(DialogSeenLog.dialog_id.in_(existing))):
            seen_before[entry.dialog_id].add((entry.end_user_id, entry.seen_at))
    events: dict[uuid.UUID, list[dict[str, Any]]] = {mirror.id: [] for mirror in mirrors}
    appended: dict[uuid.UUID, tuple[list[DialogTransmission], list[DialogActivity]]] = {}
    labelled_sent: set[uuid.UUID] = set()
    for mirror in mirrors:
        row = rows.get(mirror.id)
        appended[mirror.id] = transmissions, _ = (
            [item for item in service._transmission_rows(mirror.id, mirror.body.transmissions, now)
             if item.id not in transmission_ids[mirror.id]],
            [item for item in service._activity_rows(mirror.id, mirror.body.activities, now)
             if item.id not in activity_ids[mirror.id]])
        if row is None:
            row = rows[mirror.id] = Dialog(
                id=mirror.id, idempotent_key=None, org=mirror.org, owner_organization=mirror.owner_organization,
                service_resource=mirror.service_resource, service_resource_type=mirror.service_resource_type,
                party=mirror.party, frozen=False, created_at=mirror.created_at, deleted_at=None,
                service_owner_labels=[], service_owner_context_revision=uuid7(),
                system_label=s.SystemLabel.DEFAULT.value, system_labels=[s.SystemLabel.DEFAULT.value],
                end_user_context_revision=uuid7())
            service._fill(row, mirror.body, now)
            if sent.label_as_sent(row, transmissions):  # in the INSERT, its log row after it
                labelled_sent.add(row.id)
            session.add(row)
            events[mirror.id].append(service.event(row, "created", base_url))
        elif row.deleted_at is None or not mirror.deleted:
            service._fill(row, mirror.body, now)
            events[mirror.id].append(service.event(row, "updated", base_url))
    await session.flush()  # the new dialogs, before what refers to them
    for mirror in mirrors:
        row = rows[mirror.id]
        transmissions, activities = appended[mirror.id]
        session.add_all([*transmissions, *activities])
        if row.id in labelled_sent:
            sent.log_sent(session, row, now)
        else:
            sent.file_as_sent(session, row, transmissions, now)
        if transmissions and row.id in existing:
            row.content_updated_at = now  # a new message is new content for the end user
        events[mirror.id] += service.appended_events(row, base_url, activities, transmissions)
        for end_user, seen_at in mirror.seen:
            if (end_user, service._utc(seen_at)) not in seen_before[row.id]:
                session.add(DialogSeenLog(id=uuid7(), dialog_id=row.id, seen_at=seen_at, end_user_id=end_user,
                                          end_user_name=None, is_via_service_owner=True))
                events[mirror.id].append(service.event(row, "seen", base_url))
        if mirror.archived and row.system_label == s.SystemLabel.DEFAULT.value:
            row.system_labels = [s.SystemLabel.ARCHIVE.value, *(label for label in row.system_labels
                                                                 if label not in s.FOLDER_LABELS)]
            row.system_label, row.end_user_context_revision = s.SystemLabel.ARCHIVE.value, uuid7()
            session.add(DialogLabelAssignment(id=uuid7(), dialog_id=row.id, created_at=now,
                                              name=s.LABEL_LOG_PREFIX + s.SystemLabel.ARCHIVE.value, action="set",
                                              performed_by={"actorType": "ServiceOwner"}))
        if mirror.deleted and row.deleted_at is None:
            row.deleted_at, row.revision = now, uuid7()
            events[mirror.id].append(service.event(row, "deleted", base_url))
        elif not mirror.deleted and row.deleted_at is not None:
            row.deleted_at, row.revision = None, uuid7()
            events[mirror.id].append(service.event(row, "restored", base_url))
    await events_service.publish_many_in_transaction(
        session, [event for mirror in mirrors for event in events[mirror.id]], publisher=service.EVENT_PUBLISHER)
    return [rows[mirror.id] for mirror in mirrors]


async def delete_in_transaction(session: AsyncSession, dialog_id: uuid.UUID, *, base_url: str) -> bool:
    """Soft-delete a mirrored dialog whose source is gone; whether it was not deleted already."""
    row = await session.get(Dialog, dialog_id, with_for_update=True)
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at, row.revision = utcnow(), uuid7()
    await service.publish(session, row, "deleted", base_url)
    return True
