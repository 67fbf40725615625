"""Arbeidsflate's pages: the person's inbox at `/inbox/`, over Dialogporten's end-user service functions.

The list shows the dialogs of one party or of all the parties the person can act for ("Alle mine aktører"), in a
folder (`folders.py`), narrowed by free text, sender, service, status and date; a search can be saved in the
person's profile. Each row says whether it is unread (nobody has seen it since its content last changed), and
rows can be archived, binned or restored together. The dialog page shows the content, a timeline of
transmissions and activities, attachments, the GUI actions and who has seen it.

Every read and write goes through `felles.dialogporten.enduser`, which asks the decision point: a person sees
only the dialogs of parties they may act for. The person logs in through the portal's ID-porten login; every
form carries the session's form token and comes back to the page (post/redirect/get)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from felles.core import outbound
from felles.core.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed, Problem
from felles.core.i18n import translate
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import Issuer, Principal
from felles.dialogporten import enduser, search
from felles.dialogporten import schemas as dialog_schemas
from felles.dialogporten.access import AUTHENTICATION_LEVEL_TOO_LOW_CODE
from felles.inbox import folders, views
from felles.portal import login
from felles.portal.shell import NORWEGIAN_TIME, page_language, render_page
from felles.profile import schemas as profile_schemas
from felles.profile import service as profile

router = APIRouter(include_in_schema=False)

HOME = "/inbox/"
FORM_PURPOSE = "inbox"
DONE_MESSAGES = frozenset({"archive", "bin", "restore", "unread", "saved", "deleted", "action",
                           "dialog_deleted"})
# The query parameters of a search, as the page's form and a saved search's link name them.
SEARCH_PARAMETERS = ("party", "folder", "q", "org", "resource", "status", "after", "before")
SAVED_FILTERS = {"org": "org", "resource": "serviceResource", "status": "status", "after": "updatedAfter",
                 "before": "updatedBefore"}
MOVES = {
    "archive": dialog_schemas.SystemLabelsSet(addLabels=[dialog_schemas.SystemLabel.ARCHIVE]),
    "bin": dialog_schemas.SystemLabelsSet(addLabels=[dialog_schemas.SystemLabel.BIN]),
    "restore": dialog_schemas.SystemLabelsSet(removeLabels=[dialog_schemas.SystemLabel.ARCHIVE,
                                                            dialog_schemas.SystemLabel.BIN]),
    "unread": dialog_schemas.SystemLabelsSet(addLabels=[dialog_schemas.SystemLabel.MARKED_AS_UNOPENED]),
}
PAGE_SIZE = 25


def _text(request: Request, key: str, **params: str) -> str:
    return translate(key, page_language(request), **params)


async def _signed_in(request: Request, runtime: Runtime, return_to: str) -> Principal | Response:
    """The person of the portal session, else the way to the login (and back to `return_to`)."""
    claims = await login.signed_in_claims(request, runtime)
    if claims is None:
        return await login.start_login(request, runtime, return_to)
    return Principal.from_claims(claims, Issuer.IDPORTEN)


async def _poster(request: Request, runtime: Runtime, form_token: str, return_to: str) -> Principal | Response:
    """The person posting one of the inbox's forms, when its form token is this session's; else what to answer."""
    principal = await _signed_in(request, runtime, return_to)
    if isinstance(principal, Principal) and not login.form_token_is_valid(runtime, request, FORM_PURPOSE,
                                                                          form_token):
        return _problem_page(request, InvalidInput(_text(request, "inbox.problem.form_expired"),
                                                   code="form_expired"))
    return principal


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def _problem_page(request: Request, problem: Problem) -> HTMLResponse:
    return render_page(request, "inbox/problem.html", {"problem": problem.detail}, status_code=problem.status)


async def _parties(runtime: Runtime, principal: Principal) -> list[dict[str, Any]]:
    """Every party the person can act for, themself first, each sub-unit after its parent."""
    listed = (await enduser.parties(runtime.database, principal))["authorizedParties"]
    return [{"party": item["party"], "name": item["name"], "type": item["partyType"], "sub": item is not parent,
             "identifier": item["party"].rsplit(":", 1)[-1]}
            for parent in listed for item in [parent, *(parent["subParties"] or [])]]


def _day(value: str, *, end: bool) -> datetime | None:
    """A date field (YYYY-MM-DD) as the start (or the end) of that day on the Norwegian clock."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{value[:20]}' is not a date (YYYY-MM-DD).", code="invalid_date") from None
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(), NORWEGIAN_TIME)
    return moment - timedelta(microseconds=1) if end else moment


def _filters(query: dict[str, str], folder: folders.Folder) -> search.DialogFilters:
    filters = search.DialogFilters(
        party=[query["party"]] if query["party"] else [], search=query["q"] or None,
        org=[query["org"]] if query["org"] else [], service_resource=[query["resource"]] if query["resource"] else [],
        status=[query["status"]] if query["status"] else [],
        content_updated_after=_day(query["after"], end=False), content_updated_before=_day(query["before"], end=True),
        limit=PAGE_SIZE, continuation_token=query["next"] or None, exclude_api_only=True)
    return folder.narrow(filters)


async def _unread(runtime: Runtime, principal: Principal, party: str) -> dict[str, int]:
    """The unread dialogs in each folder, of the chosen party or of all: the counts beside the folder links."""
    shown = {key: folder.narrow(search.DialogFilters(exclude_api_only=True)) for key, folder in folders.FOLDERS.items()}
    return await enduser.unread_counts(runtime.database, principal, shown, parties=[party] if party else [])


def _search_link(query: dict[str, str]) -> str:
    return HOME + "?" + urlencode([(name, query[name]) for name in SEARCH_PARAMETERS if query.get(name)])


def _saved_link(data: profile_schemas.SavedSearchData) -> str:
    query = {"q": data.searchString or "", "folder": data.fromView or "", "party": (data.urn or [""])[0]}
    by_id = {item.id: item.value or "" for item in data.filters or []}
    query.update({name: by_id.get(saved, "") for name, saved in SAVED_FILTERS.items()})
    return _search_link(query)


@router.get(HOME, response_class=HTMLResponse, name="inbox_page", response_model=None)
async def inbox_page(request: Request, runtime: RuntimeDep) -> Response:
    """Innboks: the dialogs of the chosen party (or all), in a folder, searched and filtered."""
    principal = await _signed_in(request, runtime, login.local_path(HOME, **request.query_params))
    if not isinstance(principal, Principal):
        return principal
    language = page_language(request)
    query = {name: request.query_params.get(name, "").strip()[:500] for name in (*SEARCH_PARAMETERS, "next")}
    folder = folders.folder_of(query["folder"])
    query["folder"] = folder.key
    database = runtime.database
    parties = await _parties(runtime, principal)
    names = {item["party"]: item["name"] for item in parties}
    problem: Problem | None = None
    page: dict[str, Any] = {"items": [], "hasNextPage": False, "continuationToken": None}
    try:
        page = await enduser.search_dialogs(database, principal, _filters(query, folder),
                                            tokens=runtime.continuation_tokens)
    except (InvalidInput, Forbidden) as error:
        problem = error
    resources = (await enduser.service_resources(database, principal, [query["party"]]
                                                 if query["party"] in names else []))["items"]
    senders = sorted({(item["serviceOwner"]["code"], views.localised(item["serviceOwner"]["name"], language)
                       or item["serviceOwner"]["code"]) for item in resources}, key=lambda pair: pair[1])
    services = sorted(((item["serviceResource"]["id"], views.localised(item["serviceResource"]["name"], language))
                       for item in resources), key=lambda pair: pair[1])
    # A party the person cannot act for is the list's problem to explain; its folders count nothing.
    unread = await _unread(runtime, principal, query["party"]) if not query["party"] or query["party"] in names else {}
    person = _person_of(principal)
    saved = [{"id": item.id, "name": item.name, "href": _saved_link(item.data)}
             for item in await profile.saved_searches(database, person)]
    done = request.query_params.get("done")
    response = render_page(request, "inbox/list.html", {
        "query": query, "folder": folder.key, "folders": list(folders.FOLDERS), "unread": unread,
        "parties": parties, "party_name": names.get(query["party"]),
        "items": [views.list_row(item, language, names) for item in page["items"]],
        "next": _search_link(query) + "&" + urlencode({"next": page["continuationToken"]})
        if page["hasNextPage"] else None,
        "senders": senders, "services": services,
        "statuses": [(status, translate(f"dialogporten.status.{status.lower()}", language))
                     for status in views.STATUS_COLOURS],
        "saved": saved, "searching": any(query[name] for name in ("q", "org", "resource", "status", "after", "before")),
        "here": _search_link(query), "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "done": done if done in DONE_MESSAGES else None, "problem": problem.detail if problem else None,
    }, status_code=problem.status if problem else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


def _person_of(principal: Principal) -> str:
    return principal.person_identifier or ""


def _dialog_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"Dialog with key '{value[:40]}' not found.", code="dialog_not_found") from None


async def _dialog_page(request: Request, runtime: Runtime, principal: Principal, dialog_id: str, *,
                       notice: str | None = None, status_code: int = 200) -> Response:
    language = page_language(request)
    try:
        dialog = await enduser.get_dialog(runtime.database, principal, _dialog_id(dialog_id), keys=runtime.keys,
                                          base_url=runtime.settings.base_url)
    except NotFound:
        return render_page(request, "inbox/not_found.html", status_code=404)
    except Forbidden as problem:
        if problem.code != AUTHENTICATION_LEVEL_TOO_LOW_CODE:
            raise
        # The service needs a login at a higher level than this one: offer it, and come back here after.
        login_link = _root(request) + HOME + "step-up?" + urlencode({"to": HOME + f"dialog/{dialog_id}"})
        return render_page(request, "inbox/step_up.html", {"login_link": login_link}, status_code=403)
    names = {item["party"]: item["name"] for item in await _parties(runtime, principal)}
    done = request.query_params.get("done")
    back = request.query_params.get("back", "")
    back = back if _is_inbox_path(back) else HOME
    here = HOME + f"dialog/{dialog['id']}" + ("?" + urlencode({"back": back}) if back != HOME else "")
    response = render_page(request, "inbox/dialog.html", {
        "dialog": views.dialog_view(dialog, language, names), "here": here, "back": back,
        "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "done": done if done in DONE_MESSAGES else None, "notice": notice,
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(HOME + "dialog/{dialog_id}", response_class=HTMLResponse, name="inbox_dialog_page", response_model=None)
async def dialog_page(request: Request, runtime: RuntimeDep, dialog_id: str) -> Response:
    """One dialog; opening it marks it seen (in Dialogporten's seen log)."""
    principal = await _signed_in(request, runtime, login.local_path(HOME + f"dialog/{dialog_id}"))
    if not isinstance(principal, Principal):
        return principal
    return await _dialog_page(request, runtime, principal, dialog_id)


@router.get(HOME + "step-up", response_class=HTMLResponse, name="inbox_step_up", response_model=None)
async def step_up(request: Request, runtime: RuntimeDep, to: str = HOME) -> Response:
    """Log in again at ID-porten's high level, then back to the inbox page `to`."""
    return await login.start_login(request, runtime, login.local_path(to if _is_inbox_path(to) else HOME),
                                   acr=login.HIGH_LEVEL_ACR)


def _is_inbox_path(path: str) -> bool:
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc and path.startswith(HOME) and "\\" not in path


def _back(request: Request, path: str, done: str) -> RedirectResponse:
    target = path if _is_inbox_path(path) else HOME
    parts = urlsplit(target)
    kept = "&".join(pair for pair in parts.query.split("&") if pair and not pair.startswith("done="))
    query = "&".join(filter(None, [kept, urlencode({"done": done})]))
    return RedirectResponse(_root(request) + parts.path + "?" + query, status_code=303,
                            headers={"Cache-Control": "no-store"})


@router.post(HOME + "move", response_class=HTMLResponse, name="inbox_move", response_model=None)
async def move(request: Request, runtime: RuntimeDep, form_token: Annotated[str, Form()],
               to: Annotated[str, Form()] = "", dialog: Annotated[list[str] | None, Form()] = None,
               back: Annotated[str, Form()] = HOME) -> Response:
    """Archive, bin, restore or mark unread the chosen dialogs, all of them or none."""
    principal = await _poster(request, runtime, form_token, HOME)
    if not isinstance(principal, Principal):
        return principal
    change = MOVES.get(to)
    if change is None:
        return _problem_page(request, InvalidInput(_text(request, "inbox.problem.no_move"), code="invalid_move"))
    if not dialog:
        return _problem_page(request, InvalidInput(_text(request, "inbox.problem.none_chosen"),
                                                   code="no_dialog_chosen"))
    try:
        bulk = dialog_schemas.SystemLabelsBulkSet(
            dialogs=[dialog_schemas.DialogRevision(dialogId=_dialog_id(value)) for value in dialog],
            **change.model_dump())
        await enduser.bulk_set_system_labels(runtime.database, principal, bulk)
    except ValidationError:
        return _problem_page(request, InvalidInput(_text(request, "inbox.problem.too_many"), code="too_many"))
    except (InvalidInput, NotFound, PreconditionFailed) as error:
        return _problem_page(request, error)
    return _back(request, back, to)


def _saved_data(query: dict[str, str]) -> profile_schemas.SavedSearchData:
    return profile_schemas.SavedSearchData(
        searchString=query["q"] or None, fromView=query["folder"] or None,
        urn=[query["party"]] if query["party"] else None,
        filters=[profile_schemas.SearchFilter(id=saved, value=query[name])
                 for name, saved in SAVED_FILTERS.items() if query[name]] or None)


@router.post(HOME + "searches", response_class=HTMLResponse, name="inbox_save_search", response_model=None)
async def save_search(request: Request, runtime: RuntimeDep, form_token: Annotated[str, Form()],
                      name: Annotated[str, Form()] = "", party: Annotated[str, Form()] = "",
                      folder: Annotated[str, Form()] = "", q: Annotated[str, Form()] = "",
                      org: Annotated[str, Form()] = "", resource: Annotated[str, Form()] = "",
                      status: Annotated[str, Form()] = "", after: Annotated[str, Form()] = "",
                      before: Annotated[str, Form()] = "") -> Response:
    """Save the search on the page (in the person's profile, as Arbeidsflate's saved searches)."""
    principal = await _poster(request, runtime, form_token, HOME)
    if not isinstance(principal, Principal):
        return principal
    query = {"party": party, "folder": folders.folder_of(folder).key, "q": q, "org": org, "resource": resource,
             "status": status, "after": after, "before": before}
    try:
        _day(after, end=False), _day(before, end=True)
        data = _saved_data(query)
        await profile.create_saved_search(runtime.database, _person_of(principal), name, data)
    except ValidationError:
        return _problem_page(request, InvalidInput(_text(request, "inbox.problem.bad_search"), code="bad_search"))
    except InvalidInput as error:
        return _problem_page(request, error)
    return _back(request, _search_link(query), "saved")


@router.post(HOME + "searches/{search_id}/delete", response_class=HTMLResponse, name="inbox_delete_search",
             response_model=None)
async def delete_search(request: Request, runtime: RuntimeDep, search_id: int,
                        form_token: Annotated[str, Form()]) -> Response:
    principal = await _poster(request, runtime, form_token, HOME)
    if not isinstance(principal, Principal):
        return principal
    try:
        await profile.delete_saved_search(runtime.database, _person_of(principal), search_id)
    except NotFound as error:
        return _problem_page(request, error)
    return _back(request, HOME, "deleted")


@router.post(HOME + "dialog/{dialog_id}/actions/{action_id}", response_class=HTMLResponse, name="inbox_gui_action",
             response_model=None)
async def gui_action(request: Request, runtime: RuntimeDep, dialog_id: str, action_id: str,
                     form_token: Annotated[str, Form()]) -> Response:
    """A GUI action that writes (POST or DELETE): the platform calls the service's address with the dialog token,
    as Arbeidsflate's browser code does, and shows the dialog again with the outcome."""
    principal = await _poster(request, runtime, form_token, HOME + f"dialog/{dialog_id}")
    if not isinstance(principal, Principal):
        return principal
    try:
        dialog = await enduser.get_dialog(runtime.database, principal, _dialog_id(dialog_id), keys=runtime.keys,
                                          base_url=runtime.settings.base_url)
    except NotFound:
        return render_page(request, "inbox/not_found.html", status_code=404)
    action = next((item for item in dialog["guiActions"] if item["id"] == action_id), None)
    if action is None or action["httpMethod"] == "GET":
        return _problem_page(request, NotFound(_text(request, "inbox.problem.no_action"), code="action_not_found"))
    if not action["isAuthorized"]:
        return _problem_page(request, Forbidden(_text(request, "inbox.problem.action_forbidden"),
                                                code="action_not_authorized"))
    try:
        answer = await outbound.request(runtime.settings, action["httpMethod"], action["url"],
                                        headers={"Authorization": f"Bearer {dialog['dialogToken']}"})
        succeeded = answer.is_success
    except (InvalidInput, httpx.HTTPError):
        succeeded = False
    if succeeded and action["isDeleteDialogAction"]:  # the dialog is gone: back to the list
        return _back(request, HOME, "dialog_deleted")
    if succeeded:
        return _back(request, HOME + f"dialog/{dialog['id']}", "action")
    return await _dialog_page(request, runtime, principal, dialog_id, status_code=502,
                              notice=_text(request, "inbox.dialog.action_failed"))
