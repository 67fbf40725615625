"""HTTP API of the next-move messages at eFormidling's integrasjonspunkt paths (`/api/messages/out`,
`/api/messages/in`, `/api/capabilities/{receiverIdentifier}`, `/api/conversations`, `/api/statuses`), for an
organisation's Maskinporten token. Sending needs the scope of the message type (DPI's `digitalpostinnbygger:send`
for `digital` and `print`, `eformidling:dpo` for `arkivmelding`, `eformidling:dpv` for `digital_dpv`); the
incoming queue needs `eformidling:dpo`."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from felles.core.body_limit import declare_body_limit
from felles.core.errors import InvalidInput
from felles.core.runtime import RuntimeDep
from felles.core.tokens import ALTINN_API_ISSUERS, AcceptedTokens, AuthenticatedRoute, Principal, require_scope
from felles.core.virusscan import open_virus_scanner
from felles.correspondence import nextmove
from felles.correspondence import nextmove_schemas as schemas

router = APIRouter(prefix="/api", tags=["nextmove"], route_class=AuthenticatedRoute)

SEND_SCOPE = nextmove.DPI_SCOPE
MESSAGES_PATH = "/api/messages/out"
TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/api",))
Sender = Annotated[Principal, require_scope(TOKENS, nextmove.DPI_SCOPE, nextmove.DPO_SCOPE, nextmove.DPV_SCOPE)]
Receiver = Annotated[Principal, require_scope(TOKENS, nextmove.DPO_SCOPE)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
    403: {"description": "Missing scope, or not the message's sender"}, 404: {"description": "Not found"}}
Page = Annotated[int, Query(ge=0, le=nextmove.MAX_PAGE, description="The page, from 0")]
Size = Annotated[int, Query(ge=1, le=nextmove.MAX_PAGE_SIZE)]
FromId = Annotated[int | None, Query(ge=0, le=nextmove.MAX_STATUS_ID, description="The first status id wanted")]
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)

declare_body_limit(MESSAGES_PATH, nextmove.MAX_FILE_BYTES)


def _filename(content_disposition: str) -> str:
    match = _FILENAME.search(content_disposition)
    if match is None or not match.group(1).strip():
        raise InvalidInput("Content-Disposition must name the file (attachment; filename=\"...\").",
                           code="filename_missing")
    return match.group(1).strip()


def _document(value: Any) -> schemas.StandardBusinessDocument:
    try:
        return schemas.StandardBusinessDocument.model_validate(value)
    except ValidationError as exc:
        raise InvalidInput("The StandardBusinessDocument is not valid.", code="invalid_sbd",
                           extra={"errors": json.loads(exc.json(include_url=False, include_input=False))}) from exc


@router.post("/messages/out", operation_id="nextmove_create_message", responses=PROBLEMS)
async def create_message(runtime: RuntimeDep, principal: Sender,
                         document: schemas.StandardBusinessDocument) -> dict[str, Any]:
    """Create a message (multi-step): upload its files with PUT, then send it with POST."""
    return await nextmove.create_message(runtime.database, principal, document)


@router.post("/messages/out/multipart", operation_id="nextmove_create_and_send", responses=PROBLEMS,
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["sbd"], "properties": {"sbd": {"type": "string"}}}}}}})
async def create_and_send(request: Request, runtime: RuntimeDep, principal: Sender) -> dict[str, Any]:
    """Create and send a message in one request (one-step, for small messages): the part `sbd` holds the
    StandardBusinessDocument as JSON, every other part a file."""
    async with request.form(max_files=nextmove.MAX_FILES + 1) as form:
        raw = form.get("sbd")
        if not isinstance(raw, str):
            raise InvalidInput("The part 'sbd' with the StandardBusinessDocument is missing.", code="sbd_missing")
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput("The part 'sbd' is not JSON.", code="invalid_sbd") from exc
        document = _document(parsed)
        files = [(value.filename or name, value.content_type or "application/octet-stream", _chunks(value))
                 for name, value in form.multi_items() if isinstance(value, UploadFile)]
        return await nextmove.create_and_send(runtime.database, runtime.blobs,
                                              open_virus_scanner(runtime.settings), principal, document, files)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 16):
        yield chunk


@router.get("/messages/out", operation_id="nextmove_list_messages", responses=PROBLEMS)
async def list_messages(runtime: RuntimeDep, principal: Sender, page: Page = 0,
                        size: Size = nextmove.DEFAULT_PAGE_SIZE) -> schemas.Page:
    return await nextmove.list_messages(runtime.database, principal, page=page, size=size)


@router.get("/messages/out/{messageId}", operation_id="nextmove_get_message", responses=PROBLEMS)
async def get_message(messageId: str, runtime: RuntimeDep, principal: Sender) -> dict[str, Any]:
    return await nextmove.get_message(runtime.database, principal, messageId)


@router.delete("/messages/out/{messageId}", operation_id="nextmove_delete_message", responses=PROBLEMS)
async def delete_message(messageId: str, runtime: RuntimeDep, principal: Sender) -> None:
    """Delete a message not sent yet."""
    await nextmove.delete_message(runtime.database, principal, messageId)


@router.put("/messages/out/{messageId}", operation_id="nextmove_upload_file", responses=PROBLEMS,
            openapi_extra={"requestBody": {"content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}})
async def upload_file(messageId: str, request: Request, runtime: RuntimeDep, principal: Sender,
                      content_disposition: Annotated[str, Header()],
                      content_type: Annotated[str, Header()] = "application/octet-stream",
                      title: str | None = None) -> None:
    """Upload one file of a message (streamed), named by Content-Disposition."""
    await nextmove.upload_file(runtime.database, runtime.blobs, open_virus_scanner(runtime.settings), principal,
                               messageId,
                               name=_filename(content_disposition), content_type=content_type, title=title,
                               chunks=request.stream())


@router.post("/messages/out/{messageId}", operation_id="nextmove_send_message", responses=PROBLEMS)
async def send_message(messageId: str, runtime: RuntimeDep, principal: Sender) -> None:
    """Send a message created and given its files."""
    await nextmove.send_message(runtime.database, principal, messageId)


@router.get("/capabilities/{receiverIdentifier}", operation_id="nextmove_capabilities", responses=PROBLEMS)
async def capabilities(receiverIdentifier: str, runtime: RuntimeDep, principal: Sender,
                       securityLevel: int | None = None, process: str | None = None) -> schemas.Capabilities:
    """How the receiver (fødselsnummer, or organisasjonsnummer) can be reached."""
    return await nextmove.capabilities(runtime.database, principal, receiverIdentifier, process=process,
                                       security_level=securityLevel)


@router.get("/conversations", operation_id="nextmove_conversations", responses=PROBLEMS)
async def conversations(runtime: RuntimeDep, principal: Sender, page: Page = 0,
                        size: Size = nextmove.DEFAULT_PAGE_SIZE, messageId: str | None = None,
                        conversationId: str | None = None, receiverIdentifier: str | None = None,
                        serviceIdentifier: str | None = None, messageReference: str | None = None,
                        messageTitle: str | None = None, finished: bool | None = None) -> schemas.ConversationPage:
    """The caller's conversations, the last updated first."""
    filters = {"messageId": messageId, "conversationId": conversationId, "receiverIdentifier": receiverIdentifier,
               "serviceIdentifier": serviceIdentifier, "messageReference": messageReference,
               "messageTitle": messageTitle, "finished": finished}
    return await nextmove.conversations(runtime.database, principal, page=page, size=size, filters=filters)


@router.get("/conversations/messageId/{messageId}", operation_id="nextmove_conversation_by_message",
            responses=PROBLEMS)
async def conversation_by_message(messageId: str, runtime: RuntimeDep,
                                  principal: Sender) -> schemas.Conversation:
    return await nextmove.conversation(runtime.database, principal, message_id=messageId)


@router.get("/conversations/{id}", operation_id="nextmove_conversation", responses=PROBLEMS)
async def conversation(id: str, runtime: RuntimeDep, principal: Sender) -> schemas.Conversation:
    return await nextmove.conversation(runtime.database, principal, conversation_id=id)


@router.get("/statuses", operation_id="nextmove_statuses", responses=PROBLEMS)
async def statuses(runtime: RuntimeDep, principal: Sender, page: Page = 0, size: Size = nextmove.DEFAULT_PAGE_SIZE,
                   messageId: str | None = None, conversationId: str | None = None,
                   status: str | None = None,
                   fromId: FromId = None) -> schemas.MessageStatusPage:
    """The status feed of the caller's messages, oldest first: read on from the last id seen with `fromId`."""
    return await nextmove.statuses(runtime.database, principal, page=page, size=size, message_id=messageId,
                                   conversation_id=conversationId, status=status, from_id=fromId)


@router.get("/statuses/peek", operation_id="nextmove_peek_status", responses={
    **PROBLEMS, 204: {"description": "The queue is empty"}}, response_model=schemas.MessageStatus)
async def peek_status(runtime: RuntimeDep, principal: Sender) -> Any:
    """The oldest status not taken off the caller's queue; take it with DELETE /api/statuses/{id}, then peek
    again, until the queue is empty (204)."""
    status = await nextmove.peek_status(runtime.database, principal)
    return status if status is not None else Response(status_code=204)


@router.delete("/statuses/{id}", operation_id="nextmove_take_status", responses=PROBLEMS)
async def take_status(id: Annotated[int, Path(ge=0, le=nextmove.MAX_STATUS_ID)], runtime: RuntimeDep,
                      principal: Sender) -> None:
    await nextmove.take_status(runtime.database, principal, id)


@router.get("/statuses/{messageId}", operation_id="nextmove_statuses_of_message", responses=PROBLEMS)
async def statuses_of_message(messageId: str, runtime: RuntimeDep, principal: Sender, page: Page = 0,
                              size: Size = nextmove.DEFAULT_PAGE_SIZE) -> schemas.MessageStatusPage:
    return await nextmove.statuses(runtime.database, principal, page=page, size=size, message_id=messageId)


# --- the receiver's incoming queue ---------------------------------------------------------------------------
@router.get("/messages/in", operation_id="nextmove_incoming_messages", responses=PROBLEMS)
async def incoming_messages(runtime: RuntimeDep, principal: Receiver, page: Page = 0,
                            size: Size = nextmove.DEFAULT_PAGE_SIZE, serviceIdentifier: str | None = None,
                            process: str | None = None, conversationId: str | None = None) -> schemas.Page:
    """The messages waiting on the caller's incoming queue, oldest first (their StandardBusinessDocuments)."""
    return await nextmove.incoming_messages(runtime.database, principal, page=page, size=size, process=process,
                                            conversation_id=conversationId, service_identifier=serviceIdentifier)


@router.get("/messages/in/peek", operation_id="nextmove_peek_incoming", responses={
    **PROBLEMS, 204: {"description": "Nothing waits"}})
async def peek_incoming(runtime: RuntimeDep, principal: Receiver, serviceIdentifier: str | None = None,
                        process: str | None = None, conversationId: str | None = None) -> Any:
    """Lock the oldest waiting message (for 5 minutes) and answer its StandardBusinessDocument; then pop its files
    and delete it. 204 when nothing waits."""
    document = await nextmove.peek_incoming(runtime.database, principal, process=process,
                                            conversation_id=conversationId, service_identifier=serviceIdentifier)
    return document if document is not None else Response(status_code=204)


@router.get("/messages/in/pop/{messageId}", operation_id="nextmove_pop_incoming", response_class=StreamingResponse,
            responses={**PROBLEMS, 409: {"description": "The message is not locked"},
                       200: {"content": {nextmove.ASIC_CONTENT_TYPE: {}}}})
async def pop_incoming(messageId: str, runtime: RuntimeDep, principal: Receiver) -> StreamingResponse:
    """The files of a locked message (arkivmelding.xml and its documents) as one zip archive."""
    chunks = await nextmove.pop_incoming(runtime.database, runtime.blobs, principal, messageId)
    return StreamingResponse(chunks, media_type=nextmove.ASIC_CONTENT_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{messageId}.asice"'})


@router.delete("/messages/in/{messageId}", operation_id="nextmove_delete_incoming",
               responses={**PROBLEMS, 409: {"description": "The message is not locked"}})
async def delete_incoming(messageId: str, runtime: RuntimeDep, principal: Receiver) -> dict[str, Any]:
    """The case system took the locked message: off the queue, LEVERT for its sender."""
    return await nextmove.delete_incoming(runtime.database, principal, messageId)
