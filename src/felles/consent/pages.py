"""The consent page (Altinn's `accessmanagement/ui/consent/request?id=…`): the person asked — or, for an
organisation asked, a person who may consent for it (a key role such as daglig leder, or an access package the
resource's policy names) — reads what a data consumer wants and accepts or rejects it, and may revoke a consent
given.

The person logs in through the portal's ID-porten login (`felles.portal.login`), shared with the other portal
pages.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from felles.consent import service
from felles.consent.schemas import ConsentStatus
from felles.core.errors import Conflict, Forbidden, NotFound
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import page_language, render_page

router = APIRouter(include_in_schema=False)

PAGE_PATH = service.VIEW_PATH
OVERVIEW_PATH = "/accessmanagement/ui/consent"
FORM_PURPOSE = "consent"
NORWEGIAN_TIME = ZoneInfo("Europe/Oslo")
ACTIONS = {"accept": service.accept, "reject": service.reject, "revoke": service.revoke}
# Consent texts are Markdown with links and emphasis; no HTML, images or headings (the page owns its outline).
_markdown = MarkdownIt("zero").enable(["emphasis", "link", "newline", "list"])
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


# --- the page -------------------------------------------------------------------------------------------------
def _error(request: Request, message_key: str, status_code: int) -> HTMLResponse:
    return render_page(request, "consent/error.html", {"message_key": message_key}, status_code=status_code)


def _consent_text(template: str, metadata: dict[str, str]) -> Markup:
    """The resource's consent text with the request's metadata in its `{field}` places; a value is text, never
    Markdown, so a consumer cannot slip a link into it."""
    for key, value in metadata.items():
        template = template.replace("{" + key + "}", _MARKDOWN_SPECIAL.sub(r"\\\1", value))
    return Markup(_markdown.render(template))  # noqa: S704 - markdown-it escapes text; HTML is disabled


def _localised(texts: dict[str, str] | None, language: str) -> str:
    texts = texts or {}
    return texts.get(language) or texts.get("nb") or next(iter(texts.values()), "")


def _request_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


# Why a person may not see or answer a request (the service's Forbidden codes), as the page says it.
FORBIDDEN_MESSAGES = {
    "not_consent_party": "consent.error.not_yours",
    "consent_not_permitted": "consent.error.not_permitted",
    "not_required_delegator": "consent.error.not_required_delegator",
}


def _forbidden(request: Request, refusal: Forbidden) -> HTMLResponse:
    return _error(request, FORBIDDEN_MESSAGES[refusal.code], 403)


# The statuses the page explains, with the alert colour each is shown in.
STATUS_COLOURS = {
    ConsentStatus.CREATED.value: "info", ConsentStatus.ACCEPTED.value: "success",
    ConsentStatus.REJECTED.value: "warning", ConsentStatus.REVOKED.value: "warning",
    ConsentStatus.EXPIRED.value: "warning", ConsentStatus.DELETED.value: "warning",
}


async def _page(request: Request, runtime: Runtime, person: str, request_id: uuid.UUID, *,
                problem_key: str | None = None, status_code: int = 200) -> HTMLResponse:
    try:
        view = await service.view_for_person(runtime.database, runtime.settings, person, request_id)
    except NotFound:
        return _error(request, "consent.error.not_found", 404)
    except Forbidden as refusal:
        return _forbidden(request, refusal)
    language = page_language(request)
    rights: list[dict[str, Any]] = [{
        "title": _localised(right.resource.title, language),
        "text": _consent_text(_localised(right.resource.consentText, language), right.metadata),
    } for right in view.rights]
    return render_page(request, "consent/request.html", {
        "view": view, "details": view.details, "status": view.details.status.value, "rights": rights,
        "colour": STATUS_COLOURS[view.details.status.value],
        "valid_to": view.details.validTo.astimezone(NORWEGIAN_TIME).strftime("%d.%m.%Y %H:%M"),
        "message": _localised(view.details.requestMessage, language),
        "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "problem_key": problem_key,
    }, status_code=status_code)


@router.get(OVERVIEW_PATH, response_class=HTMLResponse, name="consent_overview", response_model=None)
async def overview(request: Request, runtime: RuntimeDep) -> Response:
    """Samtykker: the requests the person has been asked, each linking to its page."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(OVERVIEW_PATH))
    items = await service.overview_for_person(runtime.database, runtime.settings, person)
    return render_page(request, "consent/overview.html", {
        "items": [{
            "item": item, "status": item.status.value, "colour": STATUS_COLOURS[item.status.value],
            "created": item.created_at.astimezone(NORWEGIAN_TIME).strftime("%d.%m.%Y %H:%M"),
            "href": login.local_path(PAGE_PATH, id=str(item.id)),
        } for item in items],
    })


@router.get(PAGE_PATH, response_class=HTMLResponse, name="consent_request_page", response_model=None)
async def consent_page(request: Request, runtime: RuntimeDep) -> Response:
    request_id = _request_id(request.query_params.get("id"))
    if request_id is None:
        return _error(request, "consent.error.not_found", 404)
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(PAGE_PATH, id=str(request_id)))
    response = await _page(request, runtime, person, request_id)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(PAGE_PATH + "/{action}", response_class=HTMLResponse, name="consent_answer", response_model=None)
async def answer(request: Request, runtime: RuntimeDep, action: str, id: Annotated[str, Form()],
                 form_token: Annotated[str, Form()]) -> Response:
    """Accept, reject or revoke; then back to the page, which shows the new status."""
    request_id = _request_id(id)
    change = ACTIONS.get(action)
    if request_id is None or change is None:
        return _error(request, "consent.error.not_found", 404)
    person = await login.signed_in_person(request, runtime)
    if person is None:  # the session ran out: log in again and answer on a fresh page
        return await login.start_login(request, runtime, login.local_path(PAGE_PATH, id=str(request_id)))
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "consent.error.form_expired", 400)
    try:
        await change(runtime.database, runtime.settings, person, request_id)
    except NotFound:
        return _error(request, "consent.error.not_found", 404)
    except Forbidden as refusal:
        return _forbidden(request, refusal)
    except Conflict:
        return await _page(request, runtime, person, request_id, problem_key="consent.error.status_changed",
                           status_code=409)
    return RedirectResponse(f"{request.scope.get('root_path', '')}{PAGE_PATH}?id={request_id}", status_code=303,
                            headers={"Cache-Control": "no-store"})
