"""HTTP API of the broker at Altinn Broker's paths (`/broker/api/v1/...`), with its scopes: `altinn:broker.write`
for the sender, `altinn:broker.read` for recipients, `altinn:serviceowner` for the service owner's setup. The
resumable upload speaks TUS 1.0 (core, creation, termination) at `/broker/api/v1/filetransfer/upload/tus/{id}`.

An organisation's system calls with its Maskinporten token. A person (an Altinn token with the same scopes) calls
with `onBehalfOf=0192:<orgnr>` and gets what the resource's policy gives them for that organisation, through the
PDP: the same rights as the organisation's system when a role or an access package (own or delegated) says so.

Altinn's per-endpoint rate limits apply per Maskinporten integration (client): 120 calls a minute, and 10 for
the search and the details. They are counted in the database, so they hold across server processes as Altinn's
shared cache makes them do; a call over the limit gets a 429 problem with `Retry-After`.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from felles.broker import schemas, service, service_files
from felles.broker.service import Caller
from felles.core.blobs import CHUNK_SIZE
from felles.core.body_limit import declare_body_limit
from felles.core.db import Database
from felles.core.errors import Forbidden, InvalidInput, Problem
from felles.core.runtime import RuntimeDep
from felles.core.tokens import ALTINN_API_ISSUERS, AcceptedTokens, AuthenticatedRoute, Principal, require_scope

API = service.API_PATH
TUS_PATH = f"{API}/filetransfer/upload/tus"
WRITE_SCOPE = "altinn:broker.write"
READ_SCOPE = "altinn:broker.read"
SERVICE_OWNER_SCOPE = "altinn:serviceowner"
BROKER_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/broker",))
TUS_VERSION = "1.0.0"
TUS_CONTENT_TYPE = "application/offset+octet-stream"
# Altinn takes form-data uploads up to 2 GB; streamed and resumable ones up to the largest resource limit.
FORM_UPLOAD_LIMIT = 2 * 1024**3
HEADROOM = 1024 * 1024
declare_body_limit(f"{API}/filetransfer", service.MAX_FILE_TRANSFER_SIZE + HEADROOM)
declare_body_limit(f"{API}/filetransfer/upload", FORM_UPLOAD_LIMIT)
declare_body_limit(TUS_PATH, service.MAX_FILE_TRANSFER_SIZE + HEADROOM)

router = APIRouter(tags=["broker"], route_class=AuthenticatedRoute)


class RateLimits:
    """Altinn's per-endpoint limits, counted in the database (`service.count_call`) so that they hold across
    server processes. `enabled` may be turned off for a load test that is to measure the handlers, not the limits
    (Schemathesis, which would otherwise meet mostly 429s)."""

    def __init__(self) -> None:
        self.enabled = True

    async def count(self, database: Database, client: str, endpoint: str, per_minute: int) -> None:
        if self.enabled:
            await service.count_call(database, client, endpoint, per_minute)


rate_limits = RateLimits()


OnBehalfOf = Annotated[str | None, Query(
    max_length=100, description="The organisation a person acts for (`0192:<orgnr>`, the organisation URN or the "
    "bare number); required with a person's token, and the resource's policy decides what the person may do for "
    "it (a role, or an access package of their own or delegated). An organisation's token acts for itself.")]


def _party(principal: Principal, on_behalf_of: str | None) -> Caller:
    """Whom the call acts for: an organisation's token for that organisation, a person's for `onBehalfOf`."""
    if on_behalf_of is not None:
        value = on_behalf_of.strip()
        try:
            party = value if len(value) == 9 and value.isdigit() else schemas.organization_number(value)
        except ValueError:
            raise InvalidInput(f"onBehalfOf {on_behalf_of!r} is not an organisation (0192:<orgnr>).",
                               code="invalid_on_behalf_of") from None
    if principal.kind == "person" and principal.person_identifier is not None:
        if on_behalf_of is None:
            raise InvalidInput("A person's token acts for an organisation: say which with onBehalfOf=0192:<orgnr>.",
                               code="on_behalf_of_required")
        return Caller.person(principal.person_identifier, party)
    if principal.kind != "organization" or principal.organization_number is None:
        raise Forbidden("The broker API takes an organisation's token (Maskinporten) or a person's acting for an "
                        "organisation.", code="organization_required")
    if on_behalf_of is not None and party != principal.organization_number:
        raise Forbidden(f"An organisation's token acts for {principal.organization_number} only.",
                        code="not_your_party")
    return Caller.organization(principal.organization_number, principal.audit_actor)


def _caller(endpoint: str, per_minute: int | None, *scopes: str) -> Any:
    """The `Caller` a token with one of `scopes` acts as (an organisation, or a person for `onBehalfOf`), within
    the rate limit (if the endpoint has one)."""

    scoped = require_scope(BROKER_TOKENS, *scopes)

    async def check(runtime: RuntimeDep, principal: Principal = scoped, onBehalfOf: OnBehalfOf = None) -> Caller:
        caller = _party(principal, onBehalfOf)
        if per_minute is not None:
            # Per integration and whom it acts for (a supplier's one client serves many organisations).
            client = f"{caller.subject}:{principal.client_id or ''}"
            await rate_limits.count(runtime.database, client, endpoint, per_minute)
        return caller

    return Depends(check)


def _service_owner() -> Any:
    scoped = require_scope(BROKER_TOKENS, SERVICE_OWNER_SCOPE)

    async def check(principal: Principal = scoped) -> Principal:
        if principal.organization_number is None:
            raise Forbidden("Only a service owner's organisation token may do this.", code="organization_required")
        return principal

    return Depends(check)


ServiceOwner = Annotated[Principal, _service_owner()]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
    403: {"description": "Missing scope, or the resource's policy does not permit it"},
    404: {"description": "No such file transfer"}, 429: {"description": "Over the rate limit"}}
# Altinn answers these with 200 and an empty body (its Bruno tests check that the body is empty).
EMPTY: dict[str, Any] = {"description": "Done (no body)", "content": {}}


# --- service owner --------------------------------------------------------------------------------------------
@router.post(f"{API}/serviceowner", operation_id="broker_serviceowner_initialize", response_class=Response,
             responses={**PROBLEMS, 200: EMPTY, 409: {"description": "Initialized already"}})
async def initialize_service_owner(body: schemas.ServiceOwnerInitialize, principal: ServiceOwner,
                                   runtime: RuntimeDep) -> Response:
    """Onboard the calling service owner to the broker."""
    assert principal.organization_number is not None
    await service.initialize_service_owner(runtime.database, principal.organization_number, principal.audit_actor,
                                           body)
    return Response(status_code=200)


@router.get(f"{API}/serviceowner", operation_id="broker_serviceowner_get", responses=PROBLEMS)
async def get_service_owner(principal: ServiceOwner, runtime: RuntimeDep) -> schemas.ServiceOwnerOverview:
    assert principal.organization_number is not None
    return await service.get_service_owner(runtime.database, principal.organization_number, runtime.settings)


@router.put(f"{API}/resource/{{resourceId}}", operation_id="broker_resource_configure", response_class=Response,
            responses={**PROBLEMS, 200: EMPTY})
async def configure_resource(resourceId: str, body: schemas.ResourceConfiguration, principal: ServiceOwner,
                             runtime: RuntimeDep) -> Response:
    """Set a broker resource's maximum file size (≤ 50 GB), time to live and purge grace period."""
    assert principal.organization_number is not None
    await service.configure_resource(runtime.database, principal.organization_number, principal.audit_actor,
                                     resourceId, body)
    return Response(status_code=200)


@router.get(f"{API}/resource/{{resourceId}}", operation_id="broker_resource_get", responses=PROBLEMS)
async def get_resource(resourceId: str, principal: ServiceOwner, runtime: RuntimeDep) -> schemas.ResourceConfiguration:
    assert principal.organization_number is not None
    return await service.get_resource_configuration(runtime.database, principal.organization_number, resourceId)


@router.get(f"{API}/statistics/monthly", operation_id="broker_statistics_monthly", response_class=Response,
            responses={**PROBLEMS, 200: {"description": "CSV, one line per resource, sender and recipient",
                                         "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def monthly_statistics(principal: ServiceOwner, runtime: RuntimeDep,
                             year: Annotated[int, Query(ge=2000, le=9999)], month: Annotated[int, Query(ge=1, le=12)],
                             resourceId: str | None = None) -> Response:
    """The month's file transfers on the calling service owner's broker resources (or the one named), as CSV:
    per resource, sender and recipient, the transfers, their bytes and the confirmed downloads."""
    assert principal.organization_number is not None
    rows = await service.monthly_statistics(runtime.database, principal.organization_number, year, month, resourceId)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(service.STATISTICS_COLUMNS)
    writer.writerows(rows)
    name = f"broker-statistics-{year:04d}-{month:02d}.csv"
    return Response(text.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- file transfers -------------------------------------------------------------------------------------------
@router.post(f"{API}/filetransfer", operation_id="broker_filetransfer_initialize", responses=PROBLEMS)
async def initialize(body: schemas.FileTransferInitialize, runtime: RuntimeDep,
                     caller: Annotated[Caller, _caller("initialize", 120, WRITE_SCOPE)],
                     ) -> schemas.FileTransferInitializeResponse:
    """Initialize a file transfer; upload its file next."""
    transfer_id = await service.initialize(runtime.database, runtime.settings, caller, body)
    return schemas.FileTransferInitializeResponse(fileTransferId=transfer_id)


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput("Content-Length must be a number of bytes.", code="invalid_content_length")
    return int(value)


@router.post(f"{API}/filetransfer/{{fileTransferId}}/upload", operation_id="broker_filetransfer_upload",
             responses={**PROBLEMS, 409: {"description": "Not Initialized"}, 413: {"description": "Too large"},
                        415: {"description": "Not application/octet-stream"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload(fileTransferId: uuid.UUID, request: Request, runtime: RuntimeDep,
                 caller: Annotated[Caller, _caller("upload", 120, WRITE_SCOPE)],
                 ) -> schemas.FileTransferInitializeResponse:
    """Upload the file of an initialized transfer as a binary stream (`application/octet-stream`)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/octet-stream":
        raise Problem("Upload the file as application/octet-stream.", status=415, code="unsupported_media_type",
                      title="Unsupported media type")
    await service_files.upload(runtime.database, runtime.settings, runtime.blobs, caller, fileTransferId,
                       _content_length(request), request.stream())
    return schemas.FileTransferInitializeResponse(fileTransferId=fileTransferId)


_FORM_FIELDS = {"Metadata.FileName": "fileName", "Metadata.ResourceId": "resourceId",
                "Metadata.SendersFileTransferReference": "sendersFileTransferReference",
                "Metadata.Sender": "sender", "Metadata.Checksum": "checksum",
                "Metadata.DisableVirusScan": "disableVirusScan"}


@router.post(f"{API}/filetransfer/upload", operation_id="broker_filetransfer_initialize_and_upload",
             responses={**PROBLEMS, 413: {"description": "Too large"}},
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["FileTransfer"], "properties": {
                     **{name: {"type": "string"} for name in _FORM_FIELDS}, "Metadata.Recipients": {
                         "type": "array", "items": {"type": "string"}},
                     "FileTransfer": {"type": "string", "format": "binary"}}}}}}})
async def initialize_and_upload(request: Request, runtime: RuntimeDep,
                                caller: Annotated[Caller, _caller("upload", 120, WRITE_SCOPE)],
                                ) -> schemas.FileTransferInitializeResponse:
    """Initialize a transfer and upload its file in one form-data request (up to 2 GB)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Problem("Send the metadata and the file as multipart/form-data.", status=415,
                      code="unsupported_media_type", title="Unsupported media type")
    async with request.form(max_files=1, max_fields=30) as form:
        metadata: dict[str, Any] = {field: form.get(name) for name, field in _FORM_FIELDS.items()
                                    if isinstance(form.get(name), str) and form.get(name) != ""}
        metadata["recipients"] = [value for value in form.getlist("Metadata.Recipients") if isinstance(value, str)]
        file = form.get("FileTransfer")
        if file is None or isinstance(file, str):
            raise InvalidInput("The form has no file in FileTransfer.", code="file_missing")
        try:
            body = schemas.FileTransferInitialize.model_validate(metadata)
        except ValidationError as exc:
            raise InvalidInput(f"Invalid metadata: {exc.errors(include_url=False, include_input=False)}",
                               code="invalid_metadata") from None

        async def chunks() -> Any:
            while chunk := await file.read(CHUNK_SIZE):
                yield chunk

        transfer_id = await service.initialize(runtime.database, runtime.settings, caller, body)
        await service_files.upload(runtime.database, runtime.settings, runtime.blobs, caller, transfer_id, file.size,
                           chunks())
    return schemas.FileTransferInitializeResponse(fileTransferId=transfer_id)


@router.get(f"{API}/filetransfer", operation_id="broker_filetransfer_search", responses=PROBLEMS)
async def search(
    runtime: RuntimeDep, caller: Annotated[Caller, _caller("search", 10, READ_SCOPE, WRITE_SCOPE)],
    resourceId: str | None = None, status: schemas.FileTransferStatus | None = None,
    recipientStatus: schemas.RecipientFileTransferStatus | None = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None, orderAscending: bool = True, role: schemas.Role = schemas.Role.BOTH,
) -> list[uuid.UUID]:
    """The ids of the transfers the caller sent or received that match the filters (at most 100)."""
    for moment in (from_, to):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("from and to need a time zone (e.g. 2026-01-01T00:00:00Z).", code="invalid_time")
    return await service.search_ids(runtime.database, caller, service.Search(
        resource_id=resourceId, status=status, recipient_status=recipientStatus, created_from=from_, created_to=to,
        order_ascending=orderAscending, role=role))


@router.get(f"{API}/filetransfer/{{fileTransferId}}", operation_id="broker_filetransfer_overview",
            responses=PROBLEMS)
async def overview(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                   caller: Annotated[Caller, _caller("overview", 120, READ_SCOPE, WRITE_SCOPE)],
                   ) -> schemas.FileTransferOverview:
    """The transfer and its current status, with each recipient's."""
    return await service.overview(runtime.database, caller, fileTransferId)


@router.get(f"{API}/filetransfer/{{fileTransferId}}/details", operation_id="broker_filetransfer_details",
            responses=PROBLEMS)
async def details(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                  caller: Annotated[Caller, _caller("details", 10, READ_SCOPE, WRITE_SCOPE)],
                  ) -> schemas.FileTransferDetails:
    """The overview with the status history of the transfer and of each recipient."""
    return await service.details(runtime.database, caller, fileTransferId)


@router.get(f"{API}/filetransfer/{{fileTransferId}}/download", operation_id="broker_filetransfer_download",
            response_class=StreamingResponse,
            responses={**PROBLEMS, 200: {"content": {"application/octet-stream": {}}},
                       206: {"description": "The range asked for"}, 416: {"description": "Range not satisfiable"}})
async def download(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                   caller: Annotated[Caller, _caller("download", 120, READ_SCOPE)],
                   range_header: Annotated[str | None, Header(alias="Range")] = None) -> StreamingResponse:
    """The file, whole or one byte range (`Range: bytes=0-9`)."""
    found = await service_files.download(runtime.database, runtime.blobs, caller, fileTransferId, range_header)
    return streamed(found)


def streamed(found: service_files.Download) -> StreamingResponse:
    """A download as its HTTP response, with the headers of a whole file or of a byte range."""
    headers = {"Content-Length": str(found.end - found.start), "Accept-Ranges": "bytes",
               "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.file_name)}"}
    if found.partial:
        headers["Content-Range"] = f"bytes {found.start}-{found.end - 1}/{found.size}"
    return StreamingResponse(found.chunks, status_code=206 if found.partial else 200,
                             media_type="application/octet-stream", headers=headers)


@router.post(f"{API}/filetransfer/{{fileTransferId}}/confirmdownload",
             operation_id="broker_filetransfer_confirm_download", response_class=Response,
             responses={**PROBLEMS, 200: EMPTY, 409: {"description": "Not published"}})
async def confirm_download(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                           caller: Annotated[Caller, _caller("confirmdownload", 120, READ_SCOPE)]) -> Response:
    """Confirm that the file has been downloaded."""
    await service.confirm_download(runtime.database, runtime.settings, caller, fileTransferId)
    return Response(status_code=200)


@router.delete(f"{API}/filetransfer/{{fileTransferId}}", operation_id="broker_filetransfer_cancel",
               response_class=Response, responses={**PROBLEMS, 200: EMPTY, 409: {"description": "Uploaded already"}})
async def cancel(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                 caller: Annotated[Caller, _caller("cancel", 120, WRITE_SCOPE)]) -> Response:
    """Cancel a transfer not yet uploaded (Felles's addition; Altinn cancels through TUS termination)."""
    await service.cancel(runtime.database, runtime.settings, caller, fileTransferId)
    return Response(status_code=200)


# --- TUS 1.0 --------------------------------------------------------------------------------------------------
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}


def _tus_version(tus_resumable: str | None) -> None:
    if tus_resumable != TUS_VERSION:
        raise Problem(f"This server speaks TUS {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}.", status=412,
                      code="tus_version", title="Unsupported TUS version", headers={"Tus-Version": TUS_VERSION})


def _header_number(value: str | None, name: str) -> int:
    if value is None or not value.isdigit():
        raise InvalidInput(f"{name} must be a number of bytes.", code=f"invalid_{name.lower().replace('-', '_')}")
    return int(value)


# Described as the one value it takes (clients and fuzzers send it); any other is answered 412 as TUS says.
TusVersion = Annotated[str | None, Header(alias="Tus-Resumable", json_schema_extra={"enum": [TUS_VERSION]})]
TUS_PROBLEMS = {**PROBLEMS, 409: {"description": "Offset mismatch, or not Initialized"},
                412: {"description": "Tus-Resumable missing"}, 413: {"description": "Too large"},
                415: {"description": "Not application/offset+octet-stream"}}


@router.options(f"{TUS_PATH}/{{fileTransferId}}", operation_id="broker_tus_options", status_code=204,
                response_class=Response)
async def tus_options(fileTransferId: uuid.UUID) -> Response:
    """What this TUS server supports."""
    return Response(status_code=204, headers={**TUS_HEADERS, "Tus-Version": TUS_VERSION,
                                              "Tus-Extension": "creation,termination",
                                              "Tus-Max-Size": str(service.MAX_FILE_TRANSFER_SIZE)})


@router.post(f"{TUS_PATH}/{{fileTransferId}}", operation_id="broker_tus_create", status_code=201,
             response_class=Response, responses=TUS_PROBLEMS)
async def tus_create(fileTransferId: uuid.UUID, request: Request, runtime: RuntimeDep,
                     caller: Annotated[Caller, _caller("upload", 120, WRITE_SCOPE)], tus_resumable: TusVersion = None,
                     upload_length: Annotated[str | None, Header(alias="Upload-Length")] = None) -> Response:
    """Create the resumable upload of an initialized transfer (`Upload-Length` bytes)."""
    _tus_version(tus_resumable)
    length = _header_number(upload_length, "Upload-Length")
    await service_files.tus_create(runtime.database, runtime.settings, caller, fileTransferId, length)
    location = f"{str(request.base_url).rstrip('/')}{TUS_PATH}/{fileTransferId}"
    if caller.subject != caller.party:  # a person: the upload's further requests act for the same organisation
        location += f"?onBehalfOf={caller.party}"
    return Response(status_code=201, headers={**TUS_HEADERS, "Location": location, "Upload-Offset": "0"})


@router.head(f"{TUS_PATH}/{{fileTransferId}}", operation_id="broker_tus_offset", response_class=Response,
             responses=TUS_PROBLEMS)
async def tus_offset(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                     caller: Annotated[Caller, _caller("tus", None, WRITE_SCOPE)],
                     tus_resumable: TusVersion = None) -> Response:
    """How many bytes of the upload are stored (`Upload-Offset`)."""
    _tus_version(tus_resumable)
    state = await service_files.tus_state(runtime.database, caller, fileTransferId)
    return Response(status_code=200, headers={**TUS_HEADERS, "Upload-Offset": str(state.offset),
                                              "Upload-Length": str(state.length), "Cache-Control": "no-store"})


# The body (application/offset+octet-stream) is not described: OpenAPI tools have no serializer for TUS's type.
@router.patch(f"{TUS_PATH}/{{fileTransferId}}", operation_id="broker_tus_append", status_code=204,
              response_class=Response, responses=TUS_PROBLEMS)
async def tus_append(fileTransferId: uuid.UUID, request: Request, runtime: RuntimeDep,
                     caller: Annotated[Caller, _caller("tus", None, WRITE_SCOPE)],
                     tus_resumable: TusVersion = None,
                     upload_offset: Annotated[str | None, Header(alias="Upload-Offset")] = None) -> Response:
    """Append bytes at `Upload-Offset`; the last byte starts processing."""
    _tus_version(tus_resumable)
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != TUS_CONTENT_TYPE:
        raise Problem(f"A PATCH carries {TUS_CONTENT_TYPE}.", status=415, code="unsupported_media_type",
                      title="Unsupported media type")
    offset = _header_number(upload_offset, "Upload-Offset")
    new_offset = await service_files.tus_append(runtime.database, runtime.settings, runtime.blobs, caller,
                                                fileTransferId, offset, _content_length(request), request.stream())
    return Response(status_code=204, headers={**TUS_HEADERS, "Upload-Offset": str(new_offset)})


@router.delete(f"{TUS_PATH}/{{fileTransferId}}", operation_id="broker_tus_terminate", status_code=204,
               response_class=Response, responses=TUS_PROBLEMS)
async def tus_terminate(fileTransferId: uuid.UUID, runtime: RuntimeDep,
                        caller: Annotated[Caller, _caller("upload", 120, WRITE_SCOPE)],
                        tus_resumable: TusVersion = None) -> Response:
    """Terminate an unfinished upload: the transfer is Cancelled and its bytes deleted."""
    _tus_version(tus_resumable)
    await service.cancel(runtime.database, runtime.settings, caller, fileTransferId)
    return Response(status_code=204, headers=TUS_HEADERS)
