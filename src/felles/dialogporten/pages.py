"""A simple end-user page over Dialogporten: the person's dialogs across every party they can act for (or one
party), by folder, and a dialog's page with its content, transmissions, attachments, actions and who has seen
it. The real inbox (Arbeidsflate, the `inbox` component) comes later; this page shows what Dialogporten holds.

The person logs in through the portal's ID-porten login (`felles.portal.login`), shared with the other pages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from felles.core.errors import Forbidden, InvalidInput, NotFound
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import Issuer, Principal
from felles.dialogporten import enduser, search
from felles.portal import login
from felles.portal.shell import page_language, render_page

router = APIRouter(include_in_schema=False)

LIST_PATH = "/dialogporten/ui"
FOLDERS = ("Default", "Archive", "Bin")
STATUS_COLOURS = {"InProgress": "info", "Draft": "neutral", "Awaiting": "warning", "RequiresAttention": "danger",
                  "Completed": "success", "NotApplicable": "neutral"}


def _localised(value: dict[str, Any] | list[dict[str, Any]] | None, language: str) -> str:
    """The text of a content value (or a list of localizations) in the reader's language, else in any."""
    items = value.get("value", []) if isinstance(value, dict) else value or []
    texts = {item["languageCode"]: item["value"] for item in items}
    return texts.get(language) or texts.get("nb") or next(iter(texts.values()), "")


def _time(value: str | None) -> str:
    return "" if value is None else datetime.fromisoformat(value).strftime("%d.%m.%Y")


async def _person(request: Request, runtime: Runtime) -> Principal | None:
    claims = await login.signed_in_claims(request, runtime)
    return None if claims is None else Principal.from_claims(claims, Issuer.IDPORTEN)


@router.get(LIST_PATH, response_class=HTMLResponse, name="dialogporten_dialogs_page", response_model=None)
async def dialogs_page(request: Request, runtime: RuntimeDep) -> Response:
    """Dialoger: the person's dialogs in a folder, for all their parties or the one chosen."""
    principal = await _person(request, runtime)
    if principal is None:
        return await login.start_login(request, runtime, login.local_path(LIST_PATH, **request.query_params))
    language = page_language(request)
    party = request.query_params.get("party") or ""
    folder = request.query_params.get("folder") if request.query_params.get("folder") in FOLDERS else "Default"
    parties = (await enduser.parties(runtime.database, principal))["authorizedParties"]
    choices = [(item["party"], item["name"]) for parent in parties for item in [parent, *(parent["subParties"] or [])]]
    names = dict(choices)
    search_text = request.query_params.get("search", "").strip()[:255]
    filters = search.DialogFilters(party=[party] if party in names else [], system_label=[folder],
                                   search=search_text if len(search_text) >= search.MIN_SEARCH_LENGTH else None)
    try:
        page = await enduser.search_dialogs(runtime.database, principal, filters, tokens=runtime.continuation_tokens)
    except (Forbidden, InvalidInput):
        page = {"items": []}
    items = [{
        "href": login.local_path(f"{LIST_PATH}/{item['id']}"),
        "title": _localised(item["content"]["title"], language),
        "summary": _localised(item["content"]["summary"], language),
        "sender": _localised(item["content"]["senderName"], language) or item["org"],
        "party": names.get(item["party"], item["party"]), "status": item["status"],
        "colour": STATUS_COLOURS.get(item["status"], "neutral"), "updated": _time(item["contentUpdatedAt"]),
        "unseen": not item["isContentSeen"],
    } for item in page["items"]]
    return render_page(request, "dialogporten/dialogs.html", {
        "items": items, "parties": choices, "party": party, "folders": FOLDERS, "folder": folder,
        "search_text": search_text})


@router.get(LIST_PATH + "/{dialog_id}", response_class=HTMLResponse, name="dialogporten_dialog_page",
            response_model=None)
async def dialog_page(request: Request, runtime: RuntimeDep, dialog_id: str) -> Response:
    """One dialog: its content, transmissions, attachments, actions and seen log; opening it marks it seen."""
    principal = await _person(request, runtime)
    if principal is None:
        return await login.start_login(request, runtime, login.local_path(f"{LIST_PATH}/{dialog_id}"))
    language = page_language(request)
    try:
        dialog = await enduser.get_dialog(runtime.database, principal, uuid.UUID(dialog_id), keys=runtime.keys,
                                          base_url=runtime.settings.base_url)
    except (ValueError, NotFound):
        return render_page(request, "dialogporten/not_found.html", status_code=404)
    content = dialog["content"]
    return render_page(request, "dialogporten/dialog.html", {
        "title": _localised(content["title"], language), "summary": _localised(content["summary"], language),
        "additional_info": _localised(content["additionalInfo"], language),
        "sender": _localised(content["senderName"], language) or dialog["org"],
        "status": dialog["status"], "colour": STATUS_COLOURS.get(dialog["status"], "neutral"),
        "due": _time(dialog["dueAt"]), "updated": _time(dialog["contentUpdatedAt"]),
        "attachments": [{"name": _localised(item["displayName"], language) or item["name"] or item["id"],
                         "urls": [url for url in item["urls"] if url["consumerType"] == "Gui"]}
                        for item in dialog["attachments"]],
        "actions": [{"title": _localised(item["title"], language), "url": item["url"], "priority": item["priority"]}
                    for item in dialog["guiActions"] if item["isAuthorized"] and item["httpMethod"] == "GET"],
        "transmissions": [{
            "title": _localised(item["content"]["title"], language), "type": item["type"],
            "created": _time(item["createdAt"]), "authorized": item["isAuthorized"],
            "attachments": [{"name": _localised(attachment["displayName"], language) or attachment["name"],
                             "urls": [url for url in attachment["urls"] if url["consumerType"] == "Gui"]}
                            for attachment in item["attachments"]],
        } for item in reversed(dialog["transmissions"])],
        "seen": [{"name": item["seenBy"]["actorName"], "at": _time(item["seenAt"]),
                  "current": item["isCurrentEndUser"]} for item in dialog["seenSinceLastContentUpdate"]],
        "back": login.local_path(LIST_PATH),
    })
