"""The recipient's pages: a simple list of the post of each party the person may read for (until the inbox
issue brings Arbeidsflate), and a message page: the body rendered from markdown (safely: no HTML, no images, so
nothing is loaded from another host), the attachments to download, confirm, the reply options, archive and
delete. Opening the page reads the message.

The person logs in through the portal's ID-porten login (`felles.portal.login`); forms are bound to the session.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markdown_it import MarkdownIt
from markupsafe import Markup

from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import Principal
from felles.correspondence import service_attachments, service_reading
from felles.correspondence.schemas import CorrespondenceStatus
from felles.correspondence.service_access import READ_SCOPE
from felles.portal import login
from felles.portal.shell import norwegian_time, render_page

router = APIRouter(include_in_schema=False)

INBOX_PATH = "/correspondence/ui"
MESSAGE_PATH = INBOX_PATH + "/message"
FORM_PURPOSE = "correspondence"
# CommonMark without raw HTML and without images: a sender's markdown cannot inject markup or load anything.
_markdown = MarkdownIt("commonmark", {"html": False}).disable("image")
ACTIONS = {"confirm": service_reading.confirm, "archive": service_reading.archive, "delete": service_reading.purge}
STATUS_COLOURS = {
    CorrespondenceStatus.PUBLISHED.value: "info", CorrespondenceStatus.READ.value: "neutral",
    CorrespondenceStatus.REPLIED.value: "success", CorrespondenceStatus.CONFIRMED.value: "success",
    CorrespondenceStatus.ARCHIVED.value: "neutral",
}


def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # noqa: S704 - markdown-it escapes text; HTML and images are disabled


def _reader(person: str) -> Principal:
    """The logged-in person as a recipient, reading through the pages as through the API."""
    return Principal("person", person_identifier=person, scopes=frozenset({READ_SCOPE}))


def _error(request: Request, message_key: str, status_code: int) -> HTMLResponse:
    return render_page(request, "correspondence/error.html", {"message_key": message_key}, status_code=status_code)


def _message_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@router.get(INBOX_PATH, response_class=HTMLResponse, name="correspondence_inbox", response_model=None)
async def inbox(request: Request, runtime: RuntimeDep) -> Response:
    """Meldinger: the post of the person and of each party they may read for."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(INBOX_PATH))
    parties = await service_reading.inbox(runtime.database, person)
    response = render_page(request, "correspondence/inbox.html", {
        "parties": [{"party": post, "items": [{
            "item": item, "href": f"{MESSAGE_PATH}/{item.id}", "colour": STATUS_COLOURS.get(item.status, "info"),
            "published": norwegian_time(item.published) if item.published else "",
        } for item in post.items]} for post in parties],
    })
    response.headers["Cache-Control"] = "no-store"
    return response


async def _page(request: Request, runtime: Runtime, person: str, message_id: uuid.UUID, *,
                problem_key: str | None = None, status_code: int = 200) -> HTMLResponse:
    try:
        view, sender = await service_reading.open_message(runtime.database, _reader(person), message_id)
    except NotFound:
        return _error(request, "correspondence.error.not_found", 404)
    except Forbidden:
        return _error(request, "correspondence.error.not_permitted", 403)
    response = render_page(request, "correspondence/message.html", {
        "view": view, "sender": sender, "body": render_markdown(view.content.messageBody),
        "status": view.status.value, "colour": STATUS_COLOURS.get(view.status.value, "info"),
        "published": norwegian_time(view.published) if view.published else "",
        "due": norwegian_time(view.dueDateTime) if view.dueDateTime else "",
        "confirmed": view.status in (CorrespondenceStatus.CONFIRMED, CorrespondenceStatus.ARCHIVED),
        "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "base": f"{MESSAGE_PATH}/{view.correspondenceId}",
        "problem_key": problem_key,
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(MESSAGE_PATH + "/{message}", response_class=HTMLResponse, name="correspondence_message",
            response_model=None)
async def message(request: Request, runtime: RuntimeDep, message: str) -> Response:
    message_id = _message_id(message)
    if message_id is None:
        return _error(request, "correspondence.error.not_found", 404)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(f"{MESSAGE_PATH}/{message_id}"))
    return await _page(request, runtime, person, message_id)


@router.get(MESSAGE_PATH + "/{message}/attachment/{attachment}", name="correspondence_message_attachment",
            response_model=None)
async def attachment(request: Request, runtime: RuntimeDep, message: str, attachment: str) -> Response:
    message_id, attachment_id = _message_id(message), _message_id(attachment)
    if message_id is None or attachment_id is None:
        return _error(request, "correspondence.error.not_found", 404)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(f"{MESSAGE_PATH}/{message_id}"))
    try:
        found, stream = await service_reading.open_attachment(runtime.database, runtime.blobs, _reader(person),
                                                              message_id, attachment_id)
    except NotFound:
        return _error(request, "correspondence.error.not_found", 404)
    except Forbidden:
        return _error(request, "correspondence.error.not_permitted", 403)
    return StreamingResponse(stream, media_type="application/octet-stream", headers={
        **service_attachments.download_headers(found.file_name, stream), "Cache-Control": "no-store"})


@router.post(MESSAGE_PATH + "/{message}/{action}", response_class=HTMLResponse, name="correspondence_message_action",
             response_model=None)
async def act(request: Request, runtime: RuntimeDep, message: str, action: str,
              form_token: Annotated[str, Form()], option: Annotated[int | None, Form()] = None) -> Response:
    """Confirm, archive, delete, or follow a reply option; then back to the page (or the list, or the reply)."""
    message_id = _message_id(message)
    if message_id is None or (action not in ACTIONS and action != "reply"):
        return _error(request, "correspondence.error.not_found", 404)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(f"{MESSAGE_PATH}/{message_id}"))
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "correspondence.error.form_expired", 400)
    root = request.scope.get("root_path", "")
    try:
        if action == "reply":
            target = await service_reading.reply(runtime.database, _reader(person), message_id, option or 0)
            return RedirectResponse(target, status_code=303)
        await ACTIONS[action](runtime.database, _reader(person), message_id)
    except NotFound:
        return _error(request, "correspondence.error.not_found", 404)
    except Forbidden:
        return _error(request, "correspondence.error.not_permitted", 403)
    except (Conflict, InvalidInput):
        return await _page(request, runtime, person, message_id, problem_key="correspondence.error.confirm_first",
                           status_code=409)
    if action == "delete":
        return RedirectResponse(f"{root}{INBOX_PATH}", status_code=303, headers={"Cache-Control": "no-store"})
    return RedirectResponse(f"{root}{MESSAGE_PATH}/{message_id}", status_code=303,
                            headers={"Cache-Control": "no-store"})
