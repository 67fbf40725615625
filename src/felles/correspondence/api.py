"""HTTP API of Correspondence at Altinn's paths (`/correspondence/api/v1/...`).

Senders (service owners and allowed senders) use Maskinporten tokens, or Altinn tokens exchanged from them, with
`altinn:correspondence.write` (a service owner also `altinn:serviceowner`); recipients use Altinn tokens of a
person, or an organisation's Maskinporten token, with `altinn:correspondence.read` (Arbeidsflate's portal scope
too). Which party may read what is the service's decision (`service_access`), through the PDP.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from felles.core.blobs import CHUNK_SIZE, BlobStream
from felles.core.body_limit import declare_body_limit
from felles.core.errors import InvalidInput, Problem
from felles.core.runtime import RuntimeDep
from felles.core.tokens import ALTINN_API_ISSUERS, AcceptedTokens, AuthenticatedRoute, Principal, require_scope
from felles.correspondence import schemas, service, service_attachments, service_notifications, service_reading
from felles.correspondence.models import CorrespondenceAttachment
from felles.correspondence.service_access import READ_SCOPE, RECIPIENT_SCOPES, WRITE_SCOPE
from felles.correspondence.service_history import API_PATH

router = APIRouter(tags=["correspondence"], route_class=AuthenticatedRoute)

CORRESPONDENCE = API_PATH + "/correspondence"
ATTACHMENT = API_PATH + "/attachment"
TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/correspondence",))
# Altinn takes attachments up to 2 GB in one multipart request and streams single attachments far larger; the blob
# store streams them either way, so the limit is the disk's.
MAX_UPLOAD_BYTES = 2 * 1024**3
MAX_ATTACHMENT_BYTES = 50 * 1024**3
declare_body_limit(CORRESPONDENCE + "/upload", MAX_UPLOAD_BYTES)
declare_body_limit(ATTACHMENT, MAX_ATTACHMENT_BYTES)
# Form fields of one multipart request: 500 recipients and 100 attachments' descriptions fit.
MAX_FORM_FIELDS = 3000

Sender = Annotated[Principal, require_scope(TOKENS, WRITE_SCOPE)]
Recipient = Annotated[Principal, require_scope(TOKENS, *RECIPIENT_SCOPES)]
SenderOrRecipient = Annotated[Principal, require_scope(TOKENS, WRITE_SCOPE, READ_SCOPE, *RECIPIENT_SCOPES)]


class UnsupportedMediaType(Problem):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


async def _json_only(request: Request) -> None:
    """`/correspondence` takes JSON, as Altinn's (`[FromBody]`) does; multipart goes to `/correspondence/upload`."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise UnsupportedMediaType("This endpoint takes JSON; send attachments with their correspondence as "
                                   f"multipart/form-data to {CORRESPONDENCE}/upload.")


# --- sending --------------------------------------------------------------------------------------------------
@router.post(CORRESPONDENCE, operation_id="correspondence_initialize", dependencies=[Depends(_json_only)])
async def initialize(body: schemas.CorrespondencesCreate, principal: Sender,
                     runtime: RuntimeDep) -> schemas.CorrespondencesInitialized:
    """Initialize one correspondence to each recipient (up to 500), with existing attachments; the same
    `idempotentKey` again answers as the first time and creates nothing."""
    answer, _ = await service.initialize(runtime.database, runtime.blobs, principal, body)
    return answer


_INDEX = re.compile(r"^(.*?)\[(\d+)\]$")


def _form_path(key: str) -> list[str | int]:
    """`correspondence.content.attachments[0].fileName` → ["correspondence", "content", "attachments", 0, ...]."""
    path: list[str | int] = []
    for part in key.split("."):
        indices = []
        while (match := _INDEX.match(part)) is not None:
            part, index = match.group(1), int(match.group(2))
            indices.insert(0, index)
        path.append(part)
        path.extend(indices)
    return path


def _nest(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields with ASP.NET's dotted and indexed names as the JSON document they stand for; a name repeated
    without an index makes a list."""
    root: dict[str | int, Any] = {}
    for key, value in fields:
        path = _form_path(key)
        node = root
        for step in path[:-1]:
            child = node.get(step)
            if not isinstance(child, dict):
                child = node[step] = {}
            node = child
        last = path[-1]
        if isinstance(last, str) and last in node and not isinstance(node[last], dict):
            previous = node[last]
            node[last] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            node[last] = value
    nested: dict[str, Any] = _lists(root)
    return nested


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(key, int) for key in node):
        return [_lists(node[key]) for key in sorted(node)]
    return {key: _lists(value) for key, value in node.items()}


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_SIZE):
        yield chunk


@router.post(CORRESPONDENCE + "/upload", operation_id="correspondence_upload",
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}})
async def upload(request: Request, principal: Sender, runtime: RuntimeDep) -> schemas.CorrespondencesInitialized:
    """Initialize correspondences and upload their new attachments in one multipart/form-data request: fields
    named as the JSON's properties (`correspondence.content.messageTitle`, `recipients[0]`,
    `correspondence.content.attachments[0].fileName` ...) and the files as `attachments`, in the order of
    `content.attachments`."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType("This endpoint takes multipart/form-data.")
    async with request.form(max_files=schemas.MAX_ATTACHMENTS, max_fields=MAX_FORM_FIELDS) as form:
        fields = [(key, value) for key, value in form.multi_items() if key and isinstance(value, str)]
        files = [value for key, value in form.multi_items() if not isinstance(value, str)
                 and key.lower() == "attachments"]
        try:
            body = schemas.CorrespondencesCreate.model_validate(_nest(fields))
        except ValidationError as exc:
            errors = [{"location": list(error["loc"]), "message": error["msg"], "type": error["type"]}
                      for error in exc.errors()]
            raise InvalidInput("; ".join(f"{'.'.join(map(str, e['location']))}: {e['message']}" for e in errors),
                               code="validation_failed", extra={"errors": errors}) from None
        answer, _ = await service.initialize(
            runtime.database, runtime.blobs, principal, body,
            [service.UploadedFile(file.filename or "attachment", _chunks(file)) for file in files])
    return answer


# --- reading --------------------------------------------------------------------------------------------------
@router.get(CORRESPONDENCE, operation_id="correspondence_list")
async def list_correspondences(
        principal: SenderOrRecipient, runtime: RuntimeDep,
        resourceId: Annotated[str | None, Query(max_length=255)] = None,
        from_: Annotated[datetime | None, Query(alias="from")] = None,
        to: datetime | None = None,
        status: schemas.CorrespondenceStatus | None = None,
        role: Annotated[str, Query(max_length=30)] = "RecipientAndSender",
        onBehalfOf: Annotated[str | None, Query(max_length=100)] = None,
        sendersReference: Annotated[str | None, Query(max_length=4096)] = None,
        idempotentKey: uuid.UUID | None = None) -> schemas.CorrespondenceIds:
    """The ids of the correspondences the caller sent or may read (for itself, or `onBehalfOf` a party it may
    read for), newest first; `role` is Recipient, Sender or RecipientAndSender."""
    return await service_reading.list_ids(runtime.database, principal, service_reading.ListQuery(
        resource_id=resourceId, sent_from=from_, sent_to=to, status=status, role=role, on_behalf_of=onBehalfOf,
        senders_reference=sendersReference, idempotent_key=idempotentKey))


@router.get(CORRESPONDENCE + "/{correspondenceId}", operation_id="correspondence_overview")
async def overview(correspondenceId: uuid.UUID, principal: SenderOrRecipient,
                   runtime: RuntimeDep) -> schemas.CorrespondenceOverview:
    """The correspondence and its current status; a recipient's look marks it Fetched."""
    return await service_reading.overview(runtime.database, principal, correspondenceId)


@router.get(CORRESPONDENCE + "/{correspondenceId}/details", operation_id="correspondence_details")
async def details(correspondenceId: uuid.UUID, principal: SenderOrRecipient,
                  runtime: RuntimeDep) -> schemas.CorrespondenceDetails:
    """The correspondence with its status history and notification order."""
    return await service_reading.details(runtime.database, principal, correspondenceId)


@router.get(CORRESPONDENCE + "/{correspondenceId}/content", operation_id="correspondence_content",
            response_class=PlainTextResponse)
async def content(correspondenceId: uuid.UUID, principal: Recipient, runtime: RuntimeDep) -> PlainTextResponse:
    """The message body (markdown), for the recipient."""
    return PlainTextResponse(await service_reading.content(runtime.database, principal, correspondenceId))


@router.post(CORRESPONDENCE + "/{correspondenceId}/markasread", operation_id="correspondence_mark_as_read")
async def mark_as_read(correspondenceId: uuid.UUID, principal: Recipient, runtime: RuntimeDep) -> uuid.UUID:
    return await service_reading.mark_as_read(runtime.database, principal, correspondenceId)


@router.post(CORRESPONDENCE + "/{correspondenceId}/confirm", operation_id="correspondence_confirm")
async def confirm(correspondenceId: uuid.UUID, principal: Recipient, runtime: RuntimeDep) -> uuid.UUID:
    """Confirm a correspondence that asks for it (confirming reads it too)."""
    return await service_reading.confirm(runtime.database, principal, correspondenceId)


@router.post(CORRESPONDENCE + "/{correspondenceId}/archive", operation_id="correspondence_archive")
async def archive(correspondenceId: uuid.UUID, principal: Recipient, runtime: RuntimeDep) -> uuid.UUID:
    return await service_reading.archive(runtime.database, principal, correspondenceId)


@router.delete(CORRESPONDENCE + "/{correspondenceId}/purge", operation_id="correspondence_purge")
async def purge(correspondenceId: uuid.UUID, principal: SenderOrRecipient, runtime: RuntimeDep) -> uuid.UUID:
    """The recipient deletes it; its sender withdraws it before it is published."""
    return await service_reading.purge(runtime.database, principal, correspondenceId)


def _download(attachment: CorrespondenceAttachment, stream: BlobStream) -> StreamingResponse:
    return StreamingResponse(stream, media_type="application/octet-stream",
                             headers=service_attachments.download_headers(attachment.file_name, stream))


@router.get(CORRESPONDENCE + "/{correspondenceId}/attachment/{attachmentId}/download",
            operation_id="correspondence_attachment_download", response_class=StreamingResponse)
async def download_correspondence_attachment(correspondenceId: uuid.UUID, attachmentId: uuid.UUID,
                                             principal: SenderOrRecipient, runtime: RuntimeDep) -> StreamingResponse:
    """An attachment's bytes, streamed; a recipient's download is recorded (AttachmentsDownloaded)."""
    attachment, stream = await service_reading.open_attachment(runtime.database, runtime.blobs, principal,
                                                               correspondenceId, attachmentId)
    return _download(attachment, stream)


@router.get(CORRESPONDENCE + "/{correspondenceId}/attachments/downloadall",
            operation_id="correspondence_attachments_download_all", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}}})
async def download_all_attachments(correspondenceId: uuid.UUID, principal: SenderOrRecipient,
                                   runtime: RuntimeDep) -> StreamingResponse:
    """Every published attachment in one zip archive, streamed."""
    archive = await service_reading.open_all_attachments(runtime.database, runtime.blobs, principal,
                                                         correspondenceId)
    return StreamingResponse(archive, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{correspondenceId}.zip"'})


async def _condition(request: Request, correspondence_id: uuid.UUID, *, reminder: bool) -> dict[str, bool]:
    runtime = request.app.state.runtime
    decision = await service_notifications.should_notify(
        runtime.database, runtime.settings, correspondence_id, request.query_params.get("mac", ""),
        reminder=reminder)
    return {"sendNotification": decision}


@router.get(CORRESPONDENCE + "/{correspondenceId}/notification/check/main", include_in_schema=False)
async def check_main_notification(correspondenceId: uuid.UUID, request: Request) -> dict[str, bool]:
    """Notifications' condition check of the notice: authenticated by the MAC its URL carries."""
    return await _condition(request, correspondenceId, reminder=False)


@router.get(CORRESPONDENCE + "/{correspondenceId}/notification/check", include_in_schema=False)
async def check_reminder(correspondenceId: uuid.UUID, request: Request) -> dict[str, bool]:
    """Notifications' condition check of the reminder: it goes only while the correspondence is unread."""
    return await _condition(request, correspondenceId, reminder=True)


# --- attachments ----------------------------------------------------------------------------------------------
@router.post(ATTACHMENT, operation_id="correspondence_attachment_initialize")
async def initialize_attachment(body: schemas.AttachmentInitialize, principal: Sender,
                                runtime: RuntimeDep) -> uuid.UUID:
    """A new attachment to upload and then name in correspondences (`existingAttachments`): its id."""
    return await service_attachments.initialize(runtime.database, principal, body)


@router.post(ATTACHMENT + "/{attachmentId}/upload", operation_id="correspondence_attachment_upload",
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {
                 "schema": {"type": "string", "format": "binary"}}}}})
async def upload_attachment(attachmentId: uuid.UUID, request: Request, principal: Sender,
                            runtime: RuntimeDep) -> schemas.AttachmentOverview:
    """The attachment's bytes, streamed in the body; its virus scan follows (UploadProcessing, then Published
    or Failed)."""
    return await service_attachments.upload(runtime.database, runtime.blobs, principal, attachmentId,
                                            request.stream())


@router.get(ATTACHMENT + "/{attachmentId}", operation_id="correspondence_attachment_overview")
async def attachment_overview(attachmentId: uuid.UUID, principal: Sender,
                              runtime: RuntimeDep) -> schemas.AttachmentOverview:
    return await service_attachments.overview(runtime.database, principal, attachmentId)


@router.get(ATTACHMENT + "/{attachmentId}/details", operation_id="correspondence_attachment_details")
async def attachment_details(attachmentId: uuid.UUID, principal: Sender,
                             runtime: RuntimeDep) -> schemas.AttachmentDetails:
    return await service_attachments.details(runtime.database, principal, attachmentId)


@router.delete(ATTACHMENT + "/{attachmentId}", operation_id="correspondence_attachment_purge")
async def purge_attachment(attachmentId: uuid.UUID, principal: Sender, runtime: RuntimeDep) -> uuid.UUID:
    """Purge an attachment that no live correspondence uses."""
    return await service_attachments.purge(runtime.database, runtime.blobs, principal, attachmentId)


@router.get(ATTACHMENT + "/{attachmentId}/download", operation_id="correspondence_attachment_download_by_sender",
            response_class=StreamingResponse)
async def download_attachment(attachmentId: uuid.UUID, principal: Sender, runtime: RuntimeDep) -> StreamingResponse:
    attachment, stream = await service_attachments.open_for_sender(runtime.database, runtime.blobs, principal,
                                                                   attachmentId)
    return _download(attachment, stream)
