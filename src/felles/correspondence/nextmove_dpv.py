"""DPV in the next-move API: a `digital_dpv` message to an organisation becomes an Altinn correspondence through its
CorrespondenceService resource (`nextmove_schemas.DPV_RESOURCE`, or the one `digital_dpv.dpv.resourceId` names),
which the resource registry and the PDP decide again when it is delivered.

The letter follows its correspondence: SENDT when sent, LEVERT when the correspondence is published
(`digitalpost.delivered_in_altinn_in_transaction`), LEST when it is read there, FEIL when the sender is refused or
the correspondence fails. A correspondence that fails writes `DPV_FAILED_JOB` in the transaction of its Failed
status (`service_history.add_status_rows`); the job gives its letter FEIL with the correspondence's reason. One
that failed before its letter was linked to it is seen by `deliver_dpv` when it links them. A message whose
lifetime ends before its correspondence is published (LEVETID_UTLOPT, `nextmove.expire`) stops it: Failed, with
`LIFETIME_ENDED` as the reason, so it is never published.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.blobs import open_blob_store
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.errors import Forbidden, InvalidInput
from felles.core.jobs import JobContext, job_handler
from felles.correspondence import nextmove_schemas as schemas
from felles.correspondence import schemas as correspondence_schemas
from felles.correspondence import service as correspondence_service
from felles.correspondence import service_access
from felles.correspondence.letters import MessageStatus, record_status
from felles.correspondence.letters_models import Letter
from felles.correspondence.models import Correspondence, CorrespondenceStatusEvent
from felles.correspondence.schemas import CorrespondenceStatus
from felles.correspondence.service_history import DPV_FAILED_JOB

DPV_JOB = "nextmove.deliver_dpv"
# Why a DPV message's correspondence fails when the message's lifetime ends before it is published.
LIFETIME_ENDED = ("The eFormidling message's lifetime (its expectedResponseDateTime) ended before the correspondence "
                  "was published")
# The correspondence's statuses before it is published or fails: its letter waits (SENDT).
_NOT_YET_PUBLISHED = (CorrespondenceStatus.INITIALIZED, CorrespondenceStatus.READY_FOR_PUBLISH,
                      CorrespondenceStatus.RESERVED)


def _dpv_request(letter: Letter, document: schemas.StandardBusinessDocument,
                 resource_id: str) -> correspondence_schemas.CorrespondencesCreate:
    message = document.digital_dpv
    assert message is not None
    return correspondence_schemas.CorrespondencesCreate.model_validate({
        "correspondence": {
            "resourceId": resource_id, "sendersReference": letter.conversation_id,
            "content": {"language": "nb", "messageTitle": message.tittel, "messageSummary": message.sammendrag,
                        "messageBody": message.innhold,
                        "attachments": [{"fileName": file["name"], "displayName": file["title"],
                                         "sendersReference": letter.message_id} for file in letter.documents]},
            "propertyList": {"eFormidlingMessageId": letter.message_id,
                             "eFormidlingConversationId": letter.conversation_id}},
        "recipients": [f"urn:altinn:organization:identifier-no:{letter.recipient}"],
        # The letter's id: a retried delivery gets the correspondence the first attempt made.
        "idempotentKey": str(letter.id)})


async def _failure_reason(session: AsyncSession, correspondence_id: uuid.UUID) -> str:
    text = await session.scalar(
        select(CorrespondenceStatusEvent.status_text)
        .where(CorrespondenceStatusEvent.correspondence_id == correspondence_id,
               CorrespondenceStatusEvent.status == CorrespondenceStatus.FAILED.value)
        .order_by(CorrespondenceStatusEvent.status_changed.desc()).limit(1))
    return f"The Altinn correspondence failed: {text or 'no reason given'}"


@job_handler(DPV_JOB, max_attempts=20, backoff_base=timedelta(seconds=5))
async def deliver_dpv(payload: dict[str, Any], context: JobContext) -> None:
    """Send a DPV message on as an Altinn correspondence to its organisation (its files as attachments, scanned
    again as every attachment is). A sender the registry or the PDP no longer lets send gets FEIL."""
    letter_id = uuid.UUID(payload["letterId"])
    async with context.database.transaction() as reading:
        letter = await reading.get(Letter, letter_id)
    if letter is None or letter.correspondence_id is not None or letter.status != MessageStatus.SENDT:
        return
    document = schemas.StandardBusinessDocument.model_validate(letter.business_document)
    blobs = open_blob_store(get_settings())
    try:
        sending = await service_access.permitted_sending(context.database, letter.sender,
                                                           document.service_resource)
        files = [correspondence_service.UploadedFile(file["name"], await blobs.get(file["blobKey"]))
                 for file in letter.documents]
        answer, _ = await correspondence_service.initialize(context.database, blobs, sending,
                                                            _dpv_request(letter, document, sending.resource.identifier),
                                                            files)
    except (Forbidden, InvalidInput) as exc:
        failed = await context.session.get(Letter, letter_id, with_for_update=True)
        if failed is not None and failed.status == MessageStatus.SENDT:
            record_status(context.session, failed, MessageStatus.FEIL, exc.detail)
        return
    (created,) = answer.correspondences
    # The correspondence is locked before its letter, as publishing (and `nextmove.expire`) lock them; this waits
    # for a publish under way.
    status = await context.session.scalar(select(Correspondence.status).where(
        Correspondence.id == created.correspondenceId).with_for_update())
    letter = await context.session.get(Letter, letter_id, with_for_update=True)
    assert letter is not None
    letter.correspondence_id = created.correspondenceId
    if letter.status == MessageStatus.LEVETID_UTLOPT:
        # Its lifetime ended while the correspondence was made: the correspondence must not go out.
        await correspondence_service.fail_unpublished_in_transaction(context.session, created.correspondenceId,
                                                                     LIFETIME_ENDED)
        return
    # Published or failed before this transaction linked it (the publish job may run first): follow it now.
    if letter.status != MessageStatus.SENDT or status in _NOT_YET_PUBLISHED:
        return  # the correspondence's publish or failure will follow
    if status == CorrespondenceStatus.FAILED:
        record_status(context.session, letter, MessageStatus.FEIL,
                      await _failure_reason(context.session, created.correspondenceId))
    else:
        letter.delivered_at = utcnow()
        record_status(context.session, letter, MessageStatus.LEVERT, "Publisert i Altinn")


@job_handler(DPV_FAILED_JOB, max_attempts=20, backoff_base=timedelta(seconds=5))
async def correspondence_failed(payload: dict[str, Any], context: JobContext) -> None:
    """A correspondence failed (its Failed status wrote this job): the DPV message it carries, still waiting
    (SENDT), gets FEIL with the correspondence's reason. A correspondence no letter carries (yet), or a letter
    that moved on, is left as it is, so the job may run twice."""
    correspondence_id = uuid.UUID(payload["correspondence"])
    letter = await context.session.scalar(select(Letter).where(
        Letter.correspondence_id == correspondence_id, Letter.document_type == "digital_dpv",
        Letter.status == MessageStatus.SENDT).with_for_update())
    if letter is not None:
        record_status(context.session, letter, MessageStatus.FEIL,
                      await _failure_reason(context.session, correspondence_id))
