"""The start page: log in, choose whom to act for (the parties the app's partyTypesAllowed lets start it), see the
forms not yet submitted ("my active instances"), and start a new one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from felles.apps import access, instances, parties
from felles.apps.deployment import RunningApp
from felles.apps.forms.opening import (
    FORM_PURPOSE,
    AppPage,
    app_title,
    caller_of,
    checked_form,
    error_page,
    no_store,
    problem_page,
    redirect,
    to_login,
)
from felles.core.errors import Problem
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import page_language, render_page


# --- the start page -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartyChoice:
    party_id: int
    name: str
    identifier: str | None
    kind: str  # person | organization
    is_self: bool
    sub_unit: bool


def _choices(found: parties.CallerParties) -> list[PartyChoice]:
    """The parties the person may start the app for (sub-units after their main unit)."""
    chosen: list[PartyChoice] = []

    def add(party: dict[str, Any], sub_unit: bool) -> None:
        if not party.get("onlyHierarchyElementWithNoAccess"):
            person = party.get("partyTypeName") == parties.PERSON
            chosen.append(PartyChoice(int(party["partyId"]), str(party.get("name") or party["partyId"]),
                                      party.get("orgNumber") or None, "person" if person else "organization",
                                      party["partyId"] == found.own["partyId"], sub_unit))
        for child in party.get("childParties") or []:
            add(child, True)

    for party in found.allowed_to_instantiate:
        add(party, False)
    return sorted(chosen, key=lambda choice: not choice.is_self)  # oneself first, the rest as the register lists


class SlashedRoute(APIRoute):
    """A route that takes only requests whose own path ends in "/". For a path no route has, Starlette's
    redirect_slashes tries every route with a slash added, and `/{org}/{app}/` would take any path of two segments
    (`/events/no-such-thing` redirected instead of answered 404); the scope it tries keeps the request's raw path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if isinstance(raw, bytes) and not raw.split(b"?", 1)[0].endswith(b"/"):
            return Match.NONE, {}
        return super().matches(scope)


async def start_page(request: Request, runtime: RuntimeDep, app: AppPage) -> Response:
    """Log in, choose whom to act for (parties the app's partyTypesAllowed lets start it), see the forms not yet
    submitted, and start a new one."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    language = page_language(request)
    found = await parties.caller_parties(runtime.database, caller, app.definition)
    choices = _choices(found)
    # the party asked for, else the one chosen before (Altinn's cookie), unless the person asks to choose again
    asked = request.query_params.get("party") or request.cookies.get(parties.PARTY_COOKIE, "")
    selected = next((choice for choice in choices if str(choice.party_id) == asked), None)
    if "choose" in request.query_params:
        selected = None
    elif selected is None and len(choices) == 1:
        selected = choices[0]
    context: dict[str, Any] = {"app_title": app_title(app, language), "choices": choices, "selected": selected,
                               "form_token": login.form_token(runtime, request, FORM_PURPOSE),
                               "start_path": f"/{app.id}/", "active": []}
    if selected is not None:
        try:
            context["active"] = await instances.active_instances(runtime, app, caller, selected.party_id)
        except Problem as problem:
            return problem_page(request, app, problem)
        context["party_name"] = selected.name
    response = render_page(request, "forms/start.html", context)
    if selected is not None:
        response.set_cookie(parties.PARTY_COOKIE, str(selected.party_id), path="/", httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return no_store(response)


async def instantiate(request: Request, runtime: RuntimeDep, app: AppPage) -> Response:
    """Start a new instance for the chosen party; its first page follows."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    form = await checked_form(request, runtime)
    if form is None:
        return error_page(request, app, "forms.error.expired", 400)
    party = str(form.get("party") or "")
    if not party.isdigit() or len(party) > 9:
        return error_page(request, app, "forms.error.not_found", 400)
    return await instantiate_for(request, runtime, app, caller, int(party))


async def instantiate_for(request: Request, runtime: Runtime, app: RunningApp, caller: access.Caller,
                          party_id: int) -> Response:
    """A new instance for the party (the app's policy and partyTypesAllowed decide); its first page follows."""
    try:
        created = await instances.create_instance(
            runtime, app, caller, instances.InstanceTemplate(instances.OwnerChoice(party_id=party_id)),
            language=page_language(request))
    except Problem as problem:
        return problem_page(request, app, problem)
    owner, guid = created.id.split("/", 1)
    return redirect(request, f"/{app.id}/instance/{owner}/{guid}")
