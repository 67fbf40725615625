"""Brokerbox (formidlingsboksen): a person logged in to the portal chooses an organisation they can act for, sees
the file transfers it sent and received, downloads a received file and confirms the download, and sends a file
for the organisation (initialize and streamed upload, as its system would through the API).

What the person may do is what the resource's policy lets them do for the organisation (a role such as daglig
leder, or an access package, their own or delegated): the pages call the same service functions as the API,
with the person as the subject acting for the organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from felles.authorization import service as authorization_service
from felles.broker import service, service_files
from felles.broker.api import FORM_UPLOAD_LIMIT, streamed
from felles.broker.schemas import FileTransferInitialize, Role
from felles.broker.service import Caller
from felles.core.audit import Actor
from felles.core.blobs import CHUNK_SIZE
from felles.core.body_limit import declare_body_limit
from felles.core.errors import Conflict, Forbidden, NotFound, Problem
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import norwegian_time, render_page

router = APIRouter(include_in_schema=False)

BOX_PATH = "/broker/ui"
FORM_PURPOSE = "brokerbox"
declare_body_limit(BOX_PATH + "/send", FORM_UPLOAD_LIMIT)
STATUS_COLOURS = {"Published": "info", "AllConfirmedDownloaded": "success", "Purged": "neutral",
                  "Failed": "danger", "Cancelled": "warning"}


def _error(request: Request, message_key: str, status_code: int, detail: str | None = None) -> HTMLResponse:
    return render_page(request, "broker/error.html", {"message_key": message_key, "detail": detail},
                       status_code=status_code)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


async def _organisations(runtime: Runtime, person: str) -> list[Any]:
    """The organisations (sub-units after their main unit) the person can act for at all."""
    parties = await authorization_service.authorized_parties(runtime.database, Actor(f"person:{person}"), person)
    flattened = [item for party in parties for item in [party, *party.subunits]]
    return [party for party in flattened if party.organizationNumber]


async def _caller(request: Request, runtime: Runtime, path: str) -> Caller | Response:
    """The logged-in person acting for `?party=` (logging in first), or the page to show instead."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        query = request.url.query
        return await login.start_login(request, runtime, f"{path}?{query}" if query else path)
    party = request.query_params.get("party", "")
    if party not in {choice.organizationNumber for choice in await _organisations(runtime, person)}:
        return _error(request, "broker.error.not_your_party", 403)
    return Caller.person(person, party)


def _line(row: Any, recipients: list[Any], names: dict[str, str], side: Role) -> dict[str, Any]:
    return {
        "id": str(row.id), "file_name": row.file_name, "size": row.size, "status": row.status,
        "colour": STATUS_COLOURS.get(row.status, "neutral"), "created": norwegian_time(row.created_at),
        "reference": row.senders_reference or "",
        "sender": names.get(row.sender, row.sender),
        "recipients": ", ".join(names.get(recipient.recipient, recipient.recipient) for recipient in recipients),
        "recipient_statuses": {recipient.recipient: recipient.status for recipient in recipients},
        "side": side.value,
    }


@router.get(BOX_PATH, response_class=HTMLResponse, name="brokerbox", response_model=None)
async def brokerbox(request: Request, runtime: RuntimeDep) -> Response:
    """The organisation chooser, or with `?party=` the organisation's sent and received transfers."""
    if "party" not in request.query_params:
        person = await login.signed_in_person(request, runtime)
        if person is None:
            return await login.start_login(request, runtime, BOX_PATH)
        choices = await _organisations(runtime, person)
        return _no_store(render_page(request, "broker/parties.html", {"choices": choices}))
    caller = await _caller(request, runtime, BOX_PATH)
    if isinstance(caller, Response):
        return caller
    received = await service.list_with_recipients(runtime.database, caller, service.Search(
        role=Role.RECIPIENT, order_ascending=False))
    sent = await service.list_with_recipients(runtime.database, caller, service.Search(
        role=Role.SENDER, order_ascending=False))
    organisations = {row.sender for row, _ in received + sent} | {
        recipient.recipient for _, recipients in received + sent for recipient in recipients} | {caller.party}
    names = await service.organization_names(runtime.database, sorted(organisations))
    resources = [{"id": resource.identifier, "title": resource.title} for resource in
                 await service.sendable_resources(runtime.database, caller)]
    return _no_store(render_page(request, "broker/box.html", {
        "party": caller.party, "party_name": names.get(caller.party, caller.party), "resources": resources,
        "received": [_line(row, recipients, names, Role.RECIPIENT) for row, recipients in received],
        "sent": [_line(row, recipients, names, Role.SENDER) for row, recipients in sent],
        "form_token": login.form_token(runtime, request, FORM_PURPOSE),
    }))


def _transfer_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@router.post(BOX_PATH + "/send", name="brokerbox_send", response_model=None)
async def send(request: Request, runtime: RuntimeDep) -> Response:
    """Send a file for the person's organisation, as its system would through the API (initialize, then the
    streamed upload, whose MD5 the server computes); then back to the box, where it is listed as sent."""
    caller = await _caller(request, runtime, BOX_PATH)
    if isinstance(caller, Response):
        return caller
    async with request.form(max_files=1, max_fields=10) as form:
        token = form.get("form_token")
        if not isinstance(token, str) or not login.form_token_is_valid(runtime, request, FORM_PURPOSE, token):
            return _error(request, "broker.error.form_expired", 400)
        file = form.get("file")
        fields = {name: str(form.get(name) or "").strip() for name in ("resource", "recipient", "reference")}
        if file is None or isinstance(file, str) or not file.filename:
            return _error(request, "broker.error.no_file_chosen", 400)
        try:
            body = FileTransferInitialize(
                fileName=file.filename, resourceId=fields["resource"], sender=f"0192:{caller.party}",
                recipients=[f"0192:{fields['recipient']}"],
                sendersFileTransferReference=fields["reference"] or None)
        except ValidationError:
            return _error(request, "broker.error.bad_recipient", 400)

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await file.read(CHUNK_SIZE):
                yield chunk

        try:
            transfer_id = await service.initialize(runtime.database, runtime.settings, caller, body)
            await service_files.upload(runtime.database, runtime.settings, runtime.blobs, caller, transfer_id,
                                       file.size, chunks())
        except Forbidden:
            return _error(request, "broker.error.not_permitted_to_send", 403)
        except Problem as problem:
            return _error(request, "broker.error.send_failed", problem.status, detail=problem.detail)
    return RedirectResponse(request.scope.get("root_path", "") + login.local_path(BOX_PATH, party=caller.party),
                            status_code=303, headers={"Cache-Control": "no-store"})


@router.get(BOX_PATH + "/filetransfer/{file_transfer_id}/download", name="brokerbox_download", response_model=None)
async def download(request: Request, runtime: RuntimeDep, file_transfer_id: str) -> Response:
    """The received file, for the person's organisation (a recipient)."""
    transfer_id = _transfer_id(file_transfer_id)
    caller = await _caller(request, runtime, BOX_PATH + f"/filetransfer/{file_transfer_id}/download")
    if isinstance(caller, Response):
        return caller
    if transfer_id is None:
        return _error(request, "broker.error.not_found", 404)
    try:
        found = await service_files.download(runtime.database, runtime.blobs, caller, transfer_id, None)
    except NotFound:
        return _error(request, "broker.error.not_found", 404)
    except Forbidden:
        return _error(request, "broker.error.not_permitted", 403)
    except Conflict:
        return _error(request, "broker.error.no_file", 409)
    return streamed(found)


@router.post(BOX_PATH + "/filetransfer/{file_transfer_id}/confirm", name="brokerbox_confirm", response_model=None)
async def confirm(request: Request, runtime: RuntimeDep, file_transfer_id: str,
                  form_token: Annotated[str, Form()]) -> Response:
    """Confirm the download for the person's organisation; then back to the box."""
    transfer_id = _transfer_id(file_transfer_id)
    caller = await _caller(request, runtime, BOX_PATH)
    if isinstance(caller, Response):
        return caller
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "broker.error.form_expired", 400)
    if transfer_id is None:
        return _error(request, "broker.error.not_found", 404)
    try:
        await service.confirm_download(runtime.database, runtime.settings, caller, transfer_id)
    except NotFound:
        return _error(request, "broker.error.not_found", 404)
    except Forbidden:
        return _error(request, "broker.error.not_permitted", 403)
    except Conflict:
        return _error(request, "broker.error.no_file", 409)
    return RedirectResponse(request.scope.get("root_path", "") + login.local_path(BOX_PATH, party=caller.party),
                            status_code=303, headers={"Cache-Control": "no-store"})
