"""What every correspondence use case shares: parties as URNs, the append-only status histories of correspondences
and attachments, and Altinn's CloudEvents about them (`no.altinn.correspondence.*`), each written in the caller's
transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.config import get_settings
from felles.core.errors import InvalidInput
from felles.core.ids import uuid7
from felles.core.jobs import enqueue, enqueue_many
from felles.correspondence.models import (
    AttachmentStatusEvent,
    Correspondence,
    CorrespondenceAttachment,
    CorrespondenceStatusEvent,
)
from felles.correspondence.schemas import ORGANIZATION_URN, PERSON_URN, AttachmentStatus, CorrespondenceStatus
from felles.events import service as events_service
from felles.registers.identifiers import is_valid_organization_number, is_valid_person_identifier

API_PATH = "/correspondence/api/v1"
EVENT_PUBLISHER = "/system/felles-correspondence"
EVENT_TYPE_PREFIX = "no.altinn.correspondence."
SENDER_PREFIX = "0192:"
SYSTEM = "urn:altinn:system:felles-correspondence"
# Publishing (`service.publish`): queued at initialize, and again when a scan settles an attachment it waits for.
PUBLISH_JOB = "correspondence.publish"
# Statuses kept in the history only: a fetch or a download does not change where the message stands.
HISTORY_ONLY = frozenset({CorrespondenceStatus.FETCHED, CorrespondenceStatus.ATTACHMENTS_DOWNLOADED})
# Dialogporten mirrors each published correspondence as a dialog (Altinn's integration) after these steps: the
# step's transaction queues a mirror job, one waiting job per correspondence (`dialog_mirror_key`).
DIALOG_MIRROR_JOB = "dialogporten.mirror_correspondence"
DIALOG_MIRRORED_STATUSES = frozenset(status.value for status in (
    CorrespondenceStatus.PUBLISHED, CorrespondenceStatus.READ, CorrespondenceStatus.REPLIED,
    CorrespondenceStatus.CONFIRMED, CorrespondenceStatus.ARCHIVED, CorrespondenceStatus.PURGED_BY_RECIPIENT,
    CorrespondenceStatus.PURGED_BY_ALTINN))
# A failed correspondence's next-move letter (a DPV message) follows it to FEIL (`nextmove_dpv`): the Failed
# status's transaction queues this job for it.
DPV_FAILED_JOB = "nextmove.dpv_correspondence_failed"

STATUS_TEXTS = {
    CorrespondenceStatus.INITIALIZED: "Initialized",
    CorrespondenceStatus.READY_FOR_PUBLISH: "Ready for publish",
    CorrespondenceStatus.PUBLISHED: "Published",
    CorrespondenceStatus.FETCHED: "Fetched by the recipient",
    CorrespondenceStatus.READ: "Read by the recipient",
    CorrespondenceStatus.REPLIED: "Replied to by the recipient",
    CorrespondenceStatus.CONFIRMED: "Confirmed by the recipient",
    CorrespondenceStatus.PURGED_BY_RECIPIENT: "Purged by the recipient",
    CorrespondenceStatus.PURGED_BY_ALTINN: "Purged",
    CorrespondenceStatus.ARCHIVED: "Archived by the recipient",
    CorrespondenceStatus.RESERVED: "The recipient has reserved against digital post in KRR",
    CorrespondenceStatus.FAILED: "Failed",
    CorrespondenceStatus.ATTACHMENTS_DOWNLOADED: "Attachment downloaded by the recipient",
}


# --- parties --------------------------------------------------------------------------------------------------
def is_person(identifier: str) -> bool:
    return len(identifier) == 11


def party_urn(identifier: str) -> str:
    return (PERSON_URN if is_person(identifier) else ORGANIZATION_URN) + identifier


def parse_party(value: str, what: str = "recipient") -> str:
    """A recipient as Altinn takes one: a URN, `0192:{orgnr}`, or a bare organisation or fødselsnummer; the
    number, or `InvalidInput`."""
    text = value.strip()
    for prefix in (PERSON_URN, ORGANIZATION_URN, SENDER_PREFIX, "urn:altinn:organization:identifier-no:0192:"):
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix):]
            break
    if (len(text) == 9 and is_valid_organization_number(text)) or (
            len(text) == 11 and is_valid_person_identifier(text)):
        return text
    raise InvalidInput(f"The {what} {value!r} is not a valid organisation number or fødselsnummer (as "
                       f"{ORGANIZATION_URN}{{orgnr}} or {PERSON_URN}{{fødselsnummer}}).", code="invalid_recipient",
                       extra={"recipient": value})


def sender_urn(organization: str) -> str:
    return SENDER_PREFIX + organization


# --- history --------------------------------------------------------------------------------------------------
def status_rows(correspondences: list[Correspondence], status: CorrespondenceStatus, now: datetime, *,
                performed_by: str = SYSTEM, text: str | None = None) -> list[dict[str, Any]]:
    """Set `status` on the correspondences (unless it is history only) and return their history rows, for one
    bulk insert (`add_status_rows`)."""
    rows = []
    for correspondence in correspondences:
        if status not in HISTORY_ONLY:
            correspondence.status, correspondence.status_changed = status.value, now
        rows.append(dict(id=uuid7(), correspondence_id=correspondence.id, status=status.value,
                         status_text=text or STATUS_TEXTS[status], status_changed=now, performed_by=performed_by))
    return rows


def dialog_mirror_key(correspondence_id: uuid.UUID) -> str:
    """The key by which the correspondence's waiting Dialogporten mirror job stands for every later one (a coalesce
    key): the job reads the correspondence as it is when it runs."""
    return f"{DIALOG_MIRROR_JOB}:{correspondence_id}"


async def add_status_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write the history rows (`status_rows`) and the jobs their statuses call for."""
    if not rows:
        return
    await session.execute(insert(CorrespondenceStatusEvent), rows)
    mirrored = sorted({row["correspondence_id"] for row in rows if row["status"] in DIALOG_MIRRORED_STATUSES})
    for correspondence_id in mirrored:
        await enqueue(session, DIALOG_MIRROR_JOB, {"correspondence": str(correspondence_id)},
                      coalesce_key=dialog_mirror_key(correspondence_id))
    failed = sorted({str(row["correspondence_id"]) for row in rows
                     if row["status"] == CorrespondenceStatus.FAILED.value})
    await enqueue_many(session, DPV_FAILED_JOB, [({"correspondence": key}, None) for key in failed])


async def set_status(session: AsyncSession, correspondence: Correspondence, status: CorrespondenceStatus,
                     now: datetime, *, performed_by: str = SYSTEM, text: str | None = None) -> None:
    await add_status_rows(session, status_rows([correspondence], status, now, performed_by=performed_by, text=text))


def set_attachment_status(session: AsyncSession, attachment: CorrespondenceAttachment, status: AttachmentStatus,
                          now: datetime, text: str | None = None) -> None:
    attachment.status, attachment.status_text, attachment.status_changed = status.value, text or status.value, now
    session.add(AttachmentStatusEvent(id=uuid7(), attachment_id=attachment.id, status=status.value,
                                      status_text=attachment.status_text, status_changed=now))


# --- events ---------------------------------------------------------------------------------------------------
def _alternative_subject(party: str) -> str:
    return f"/person/{party}" if is_person(party) else f"/organisation/{party}"


def correspondence_event(name: str, correspondence: Correspondence, data: dict[str, Any] | None = None
                         ) -> dict[str, Any]:
    """An event about a correspondence, as Altinn publishes it: the recipient is its subject."""
    return dict(source=f"{get_settings().base_url.rstrip('/')}{API_PATH}/correspondence",
                type=EVENT_TYPE_PREFIX + name.lower(), subject=party_urn(correspondence.recipient),
                alternativesubject=_alternative_subject(correspondence.recipient),
                resource=f"urn:altinn:resource:{correspondence.resource_id}",
                resourceinstance=str(correspondence.id), data=data)


def attachment_event(name: str, attachment: CorrespondenceAttachment) -> dict[str, Any]:
    """An event about an attachment: its sender is the subject."""
    return dict(source=f"{get_settings().base_url.rstrip('/')}{API_PATH}/attachment",
                type=EVENT_TYPE_PREFIX + name.lower(), subject=ORGANIZATION_URN + attachment.sender,
                alternativesubject=_alternative_subject(attachment.sender),
                resource=f"urn:altinn:resource:{attachment.resource_id}", resourceinstance=str(attachment.id))


async def publish_events(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    await events_service.publish_many_in_transaction(session, events, publisher=EVENT_PUBLISHER)


