"""Tilgangsstyring: the access-management pages of the portal (Altinn's ``accessmanagement/ui``).

The logged-in person chooses a party they can act for, sees who has access to it (delegations given and the
roles in Enhetsregisteret), gives an access package or a single right to a person (fødselsnummer and last name,
as Altinn asks) or an organisation, removes access, and approves or rejects access requests.

The pages decide nothing themselves: every read and change goes through ``authorization.service``, which
refuses anyone who is not the party, its main administrator, a key role holder or an access manager; the pages
show that refusal as a page. Buttons that change access are shown only to those the service lets manage access.

Login goes through the portal's ID-porten login (``felles.portal.login``), shared with the other portal pages.
Posted forms carry a token bound to that session, so another site cannot post on the person's behalf.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from felles.authorization import schemas as s
from felles.authorization import service, service_access_requests, service_delegations
from felles.authorization.catalogue import reference_data
from felles.authorization.parties import kind_of
from felles.core.audit import Actor
from felles.core.errors import Forbidden, InvalidInput, NotFound, Problem
from felles.core.i18n import DEFAULT_LANGUAGE, catalogue, translate
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import page_language, render_page
from felles.registers import service as registers

router = APIRouter(include_in_schema=False)

BASE_PATH = "/accessmanagement/ui"
PARTIES_PATH = f"{BASE_PATH}/parties"
USERS_PATH = f"{BASE_PATH}/users"
GIVE_PACKAGE_PATH = f"{BASE_PATH}/give-package"
GIVE_RIGHT_PATH = f"{BASE_PATH}/give-right"
REVOKE_PATH = f"{BASE_PATH}/revoke"
FORM_PURPOSE = "accessmanagement"
REQUESTS_PATH = f"{BASE_PATH}/requests"
# The actions a single right can be given for; a resource's policy decides which of them mean anything.
RIGHT_ACTIONS = ("read", "write", "sign")
# What a redirect after a change tells the page to confirm (``?done=``).
DONE_MESSAGES = frozenset({"package", "right", "revoked", "approved", "rejected"})
REQUEST_ANSWERS = {"approve": (service_access_requests.approve_access_request, "approved"),
                   "reject": (service_access_requests.reject_access_request, "rejected")}


# --- page plumbing --------------------------------------------------------------------------------------------
def _error(request: Request, message_key: str, status_code: int) -> HTMLResponse:
    return _no_store(render_page(request, "accessmanagement/error.html", {"message_key": message_key},
                                 status_code=status_code))


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"  # no framing of pages that give access away
    return response


def _problem_text(request: Request, problem: Problem) -> str:
    """The service's refusal in the page's language where we have words for its code, else its own detail."""
    key = f"accessmanagement.error.{problem.code}"
    if key in catalogue(DEFAULT_LANGUAGE):
        return translate(key, page_language(request))
    return problem.detail or problem.title


def _localised(texts: dict[str, str] | None, language: str) -> str:
    texts = texts or {}
    return texts.get(language) or texts.get("nb") or next(iter(texts.values()), "")


def _redirect(request: Request, path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(request.scope.get("root_path", "") + login.local_path(path, **query), status_code=303,
                            headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class ActingFor:
    """The logged-in person and the party they act for on this page."""

    person: str
    actor: Actor
    party: s.AuthorizedParty
    identifier: str
    is_self: bool


def _flatten(parties: list[s.AuthorizedParty]) -> list[tuple[s.AuthorizedParty, bool]]:
    """The parties with their sub-units after them; (party, is a sub-unit)."""
    return [item for party in parties for item in [(party, False), *((unit, True) for unit in party.subunits)]]


def _party_identifier(party: s.AuthorizedParty) -> str:
    return party.organizationNumber or party.personId or str(party.partyUuid)


async def _acting_for(runtime: Runtime, person: str, party: str) -> ActingFor | None:
    """The party ``party`` if the person can act for it at all (the service decides what they may do)."""
    actor = Actor(f"person:{person}")
    for candidate, _ in _flatten(await service.authorized_parties(runtime.database, actor, person)):
        if _party_identifier(candidate) == party:
            return ActingFor(person, actor, candidate, party, party == person)
    return None


def _page_context(request: Request, runtime: Runtime, acting: ActingFor, current: str) -> dict[str, Any]:
    return {"acting": acting, "current": current, "form_token": login.form_token(runtime, request, FORM_PURPOSE),
            "party_query": urlencode({"party": acting.identifier})}


async def _may_manage(runtime: Runtime, acting: ActingFor) -> list[s.DelegationPublic] | None:
    """The delegations the party has given, if the person may manage its access; None if the service refuses."""
    try:
        return await service_delegations.list_delegations(runtime.database, acting.person, party=acting.identifier)
    except Forbidden:
        return None


async def _open(request: Request, runtime: Runtime, path: str) -> ActingFor | Response:
    """The person (logging them in first) and the party of the page's ``?party=``, or the page to show instead."""
    party = request.query_params.get("party", "")
    person = await login.signed_in_person(request, runtime)
    if person is None:
        query = request.url.query
        return await login.start_login(request, runtime, f"{path}?{query}" if query else path)
    if not party:
        return _redirect(request, PARTIES_PATH)
    acting = await _acting_for(runtime, person, party)
    if acting is None:
        return _error(request, "accessmanagement.error.not_your_party", 403)
    return acting


# --- names of the parties shown -------------------------------------------------------------------------------
@dataclass
class Holder:
    """Someone who has been given access by the party, with what they were given."""

    identifier: str
    name: str
    kind: str  # person | organization | systemuser
    born: str | None = None
    grants: list[Grant] = field(default_factory=list)


@dataclass(frozen=True)
class Grant:
    delegation_id: uuid.UUID
    what: str
    kind: str  # package | right
    given: str
    via: str | None


async def _names(runtime: Runtime, actor: Actor, identifiers: set[str]) -> dict[str, tuple[str, str | None]]:
    """identifier -> (name, birth date) from Folkeregisteret and Enhetsregisteret; unknown ones are left out."""
    names: dict[str, tuple[str, str | None]] = {}
    persons = sorted(i for i in identifiers if kind_of(i) == "person")
    if persons:
        try:
            found = await registers.get_persons(runtime.database, actor, persons)
        except InvalidInput:
            found = None
        for person in found.personer if found else []:
            name = " ".join(p for p in (person.navn.fornavn, person.navn.mellomnavn, person.navn.etternavn) if p)
            names[person.identifikasjonsnummer] = (name, person.foedselsdato.strftime("%d.%m.%Y"))
    for number in sorted(i for i in identifiers if kind_of(i) == "organization"):
        try:
            enhet = await registers.get_organization(runtime.database, number, base_url=runtime.settings.base_url)
        except (NotFound, InvalidInput):
            continue
        names[number] = (enhet.navn, None)
    return names


async def _package_names(runtime: Runtime, language: str) -> dict[str, str]:
    return {package.urn: _localised(package.name, language)
            for package in await service.list_access_packages(runtime.database)}


async def _resource_title(runtime: Runtime, identifier: str, language: str) -> str:
    try:
        return _localised((await service.get_resource(runtime.database, identifier)).title, language)
    except NotFound:
        return identifier


async def _right_text(runtime: Runtime, language: str, package_names: dict[str, str], package: str | None,
                      resource: str | None, action: str | None) -> tuple[str, str]:
    """(what was given, in words; "package" or "right")."""
    if package is not None:
        return package_names.get(package, package), "package"
    title = await _resource_title(runtime, resource or "", language)
    return translate("accessmanagement.right_with_action", language, resource=title,
                     action=translate(f"accessmanagement.action.{action}", language)), "right"


# --- choosing the party ---------------------------------------------------------------------------------------
@router.get(BASE_PATH, response_class=HTMLResponse, name="accessmanagement_home", response_model=None)
async def home(request: Request) -> Response:
    return _redirect(request, PARTIES_PATH)


@router.get(PARTIES_PATH, response_class=HTMLResponse, name="accessmanagement_parties", response_model=None)
async def parties(request: Request, runtime: RuntimeDep) -> Response:
    """Velg aktør: every party the person can act for, sub-units under their main unit."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, PARTIES_PATH)
    found = await service.authorized_parties(runtime.database, Actor(f"person:{person}"), person)
    choices = [{"party": party, "identifier": _party_identifier(party), "is_sub_unit": is_sub_unit,
                "is_self": _party_identifier(party) == person} for party, is_sub_unit in _flatten(found)]
    choices.sort(key=lambda choice: not choice["is_self"])  # yourself first, as Altinn lists
    return _no_store(render_page(request, "accessmanagement/parties.html", {"choices": choices}))


# --- who has access -------------------------------------------------------------------------------------------
@router.get(USERS_PATH, response_class=HTMLResponse, name="accessmanagement_users", response_model=None)
async def users(request: Request, runtime: RuntimeDep) -> Response:
    """Hvem har tilgang: the delegations the party has given, per receiver, and its roles in Enhetsregisteret."""
    acting = await _open(request, runtime, USERS_PATH)
    if isinstance(acting, Response):
        return acting
    language = page_language(request)
    delegations = await _may_manage(runtime, acting)
    holders: list[Holder] = []
    if delegations is not None:
        names = await _names(runtime, acting.actor, {d.toParty for d in delegations} | {
            d.facilitator for d in delegations if d.facilitator})
        package_names = await _package_names(runtime, language)
        by_receiver: dict[str, Holder] = {}
        for delegation in delegations:
            holder = by_receiver.get(delegation.toParty)
            if holder is None:
                name, born = names.get(delegation.toParty, (delegation.toParty, None))
                holder = by_receiver[delegation.toParty] = Holder(delegation.toParty, name,
                                                                  kind_of(delegation.toParty), born)
            what, kind = await _right_text(runtime, language, package_names, delegation.package,
                                           delegation.resource, delegation.action)
            via = names.get(delegation.facilitator, (delegation.facilitator, None))[0] if delegation.facilitator \
                else None
            holder.grants.append(Grant(delegation.id, what, kind, delegation.created[:10], via))
        holders = sorted(by_receiver.values(), key=lambda holder: (holder.name, holder.identifier))
    roles = await _enhetsregisteret_roles(runtime, acting, language)
    done = request.query_params.get("done", "")
    return _no_store(render_page(request, "accessmanagement/users.html", {
        **_page_context(request, runtime, acting, "users"), "may_manage": delegations is not None,
        "holders": holders, "roles": roles, "done": done if done in DONE_MESSAGES else None,
    }))


def _role_names(language: str) -> dict[str, str]:
    """Enhetsregisteret's role codes (lower case: dagl, lede ...) → the role's name in ``language``."""
    return {role["legacyCode"]: _localised(role["name"], language) for role in reference_data()["roles"]
            if role["legacyCode"]}


async def _enhetsregisteret_roles(runtime: Runtime, acting: ActingFor, language: str) -> list[dict[str, str]]:
    """An organisation's current roles (daglig leder, board, accountant ...): they give access through roles.
    The register describes a role in Norwegian only; the catalogue names it in the page's language."""
    if acting.party.type != "Organization":
        return []
    try:
        found = await registers.get_roles(runtime.database, acting.identifier)
    except NotFound:
        return []
    rows = []
    names = _role_names(language)
    for group in found.rollegrupper:
        for role in group.roller:
            if role.fratraadt or role.avregistrert:
                continue
            if role.person is not None:
                name = " ".join(p for p in (role.person.navn.fornavn, role.person.navn.mellomnavn,
                                            role.person.navn.etternavn) if p)
            elif role.enhet is not None:
                name = " ".join(role.enhet.navn)
            else:
                continue
            rows.append({"role": names.get(role.type.kode.lower(), role.type.beskrivelse), "code": role.type.kode,
                         "name": name})
    return rows


@router.post(REVOKE_PATH, response_class=HTMLResponse, name="accessmanagement_revoke", response_model=None)
async def revoke(request: Request, runtime: RuntimeDep, party: Annotated[str, Form()],
                 delegation_id: Annotated[str, Form()], form_token: Annotated[str, Form()]) -> Response:
    """Fjern tilgang: the service checks that the person may remove it."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(USERS_PATH, party=party))
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "accessmanagement.error.form_expired", 400)
    try:
        delegation = uuid.UUID(delegation_id)
    except ValueError:
        return _error(request, "accessmanagement.error.delegation_not_found", 404)
    try:
        await service_delegations.revoke_delegation(runtime.database, Actor(f"person:{person}"), person, delegation)
    except Problem as problem:
        return _refused(request, problem)
    return _redirect(request, USERS_PATH, party=party, done="revoked")


def _refused(request: Request, problem: Problem) -> HTMLResponse:
    """The service said no: a page that says why, in the page's language where we have the words."""
    return _no_store(render_page(request, "accessmanagement/error.html",
                                 {"message": _problem_text(request, problem)}, status_code=problem.status))


# --- giving access --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """Who is to get access, as typed in the form."""

    kind: str  # person | organization
    national_identity_number: str
    last_name: str
    organization_number: str

    def as_form(self) -> dict[str, str]:
        return {"recipient_kind": self.kind, "national_identity_number": self.national_identity_number,
                "last_name": self.last_name, "organization_number": self.organization_number}


def _recipient(recipient_kind: str, national_identity_number: str, last_name: str,
               organization_number: str) -> Recipient:
    return Recipient("organization" if recipient_kind == "organization" else "person",
                     "".join(national_identity_number.split()), last_name.strip(),
                     "".join(organization_number.split()))


async def _check_recipient(runtime: Runtime, actor: Actor, recipient: Recipient) -> str:
    """The recipient's identifier, once the registers know them: a person by fødselsnummer and last name
    together (so a typo cannot give access to a stranger), an organisation by its number."""
    if recipient.kind == "organization":
        try:
            await registers.get_organization(runtime.database, recipient.organization_number,
                                             base_url=runtime.settings.base_url)
        except (NotFound, InvalidInput):
            raise NotFound("No such organisation.", code="recipient_organization_not_found") from None
        return recipient.organization_number
    if not recipient.last_name:
        raise InvalidInput("Give the person's last name.", code="recipient_last_name_missing")
    try:
        person = await registers.get_person(runtime.database, actor, recipient.national_identity_number)
    except (NotFound, InvalidInput):
        raise NotFound("No person with that fødselsnummer and last name.", code="recipient_not_found") from None
    if person.navn.etternavn.casefold() != recipient.last_name.casefold():
        raise NotFound("No person with that fødselsnummer and last name.", code="recipient_not_found")
    return recipient.national_identity_number


def _area_names(language: str) -> dict[str, str]:
    return {area["urn"]: _localised(area["name"], language) for area in reference_data()["areas"]}


async def _package_choices(runtime: Runtime, acting: ActingFor, language: str, search: str,
                           area: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """(areas with the packages the person holds for the party and may be given, filtered by the search;
    every area that has such packages, for the area filter)."""
    held = set(acting.party.authorizedAccessPackages)
    areas = _area_names(language)
    words = search.casefold().split()
    packages = [p for p in await service.list_access_packages(runtime.database) if p.isAssignable and p.code in held]
    area_choices = sorted({(p.area, areas.get(p.area, p.area)) for p in packages}, key=lambda a: a[1])
    grouped: dict[str, list[dict[str, str]]] = {}
    for package in packages:
        name, description = _localised(package.name, language), _localised(package.description, language)
        text = f"{name} {description}".casefold()
        if (area and package.area != area) or not all(word in text for word in words):
            continue
        grouped.setdefault(package.area, []).append({"urn": package.urn, "code": package.code, "name": name,
                                                     "description": description})
    return [{"urn": urn, "name": areas.get(urn, urn), "packages": sorted(items, key=lambda p: p["name"])}
            for urn, items in sorted(grouped.items(), key=lambda item: areas.get(item[0], item[0]))], area_choices


async def _give_package_page(request: Request, runtime: Runtime, acting: ActingFor, *, form: dict[str, str],
                             problem: str | None = None, status_code: int = 200) -> Response:
    language = page_language(request)
    search = request.query_params.get("q", "").strip()
    area = request.query_params.get("area", "")
    may_manage = await _may_manage(runtime, acting) is not None
    groups, areas = await _package_choices(runtime, acting, language, search, area) if may_manage else ([], [])
    return _no_store(render_page(request, "accessmanagement/give_package.html", {
        **_page_context(request, runtime, acting, "give_package"), "may_manage": may_manage,
        "groups": groups, "areas": areas, "search": search, "area": area, "form": form, "problem": problem,
        "package_count": sum(len(group["packages"]) for group in groups),
    }, status_code=status_code))


@router.get(GIVE_PACKAGE_PATH, response_class=HTMLResponse, name="accessmanagement_give_package_page",
            response_model=None)
async def give_package_page(request: Request, runtime: RuntimeDep) -> Response:
    """Gi tilgangspakke: the catalogue, searchable and by area, and who is to get the package."""
    acting = await _open(request, runtime, GIVE_PACKAGE_PATH)
    if isinstance(acting, Response):
        return acting
    return await _give_package_page(request, runtime, acting,
                                    form={**_recipient("person", "", "", "").as_form(), "package": ""})


@router.post(GIVE_PACKAGE_PATH, response_class=HTMLResponse, name="accessmanagement_give_package",
             response_model=None)
async def give_package(request: Request, runtime: RuntimeDep, party: Annotated[str, Form()],
                       form_token: Annotated[str, Form()], package: Annotated[str, Form()] = "",
                       recipient_kind: Annotated[str, Form()] = "person",
                       national_identity_number: Annotated[str, Form()] = "",
                       last_name: Annotated[str, Form()] = "",
                       organization_number: Annotated[str, Form()] = "") -> Response:
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(GIVE_PACKAGE_PATH, party=party))
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "accessmanagement.error.form_expired", 400)
    acting = await _acting_for(runtime, person, party)
    if acting is None:
        return _error(request, "accessmanagement.error.not_your_party", 403)
    recipient = _recipient(recipient_kind, national_identity_number, last_name, organization_number)
    try:
        if not package:
            raise InvalidInput("Choose an access package.", code="package_missing")
        to = await _check_recipient(runtime, acting.actor, recipient)
        await service_delegations.delegate_package(runtime.database, acting.actor, person,
                                       s.PackageDelegationCreate(party=party, to=to, package=package))
    except Problem as problem:
        return await _give_package_page(request, runtime, acting, form={**recipient.as_form(), "package": package},
                                        problem=_problem_text(request, problem), status_code=problem.status)
    return _redirect(request, USERS_PATH, party=party, done="package")


async def _delegable_resources(runtime: Runtime, language: str) -> list[dict[str, str]]:
    return sorted(({"identifier": resource.identifier, "title": _localised(resource.title, language)}
                   for resource in await service.list_resources(runtime.database) if resource.delegable),
                  key=lambda resource: resource["title"])


async def _give_right_page(request: Request, runtime: Runtime, acting: ActingFor, *, form: dict[str, Any],
                           problem: str | None = None, status_code: int = 200) -> Response:
    may_manage = await _may_manage(runtime, acting) is not None
    resources = await _delegable_resources(runtime, page_language(request)) if may_manage else []
    return _no_store(render_page(request, "accessmanagement/give_right.html", {
        **_page_context(request, runtime, acting, "give_right"), "may_manage": may_manage,
        "resources": resources, "actions": RIGHT_ACTIONS, "form": form, "problem": problem,
    }, status_code=status_code))


@router.get(GIVE_RIGHT_PATH, response_class=HTMLResponse, name="accessmanagement_give_right_page",
            response_model=None)
async def give_right_page(request: Request, runtime: RuntimeDep) -> Response:
    """Gi enkeltrettighet: a resource and the actions on it that the person has themself."""
    acting = await _open(request, runtime, GIVE_RIGHT_PATH)
    if isinstance(acting, Response):
        return acting
    return await _give_right_page(request, runtime, acting,
                                  form={**_recipient("person", "", "", "").as_form(), "resource": "", "actions": []})


@router.post(GIVE_RIGHT_PATH, response_class=HTMLResponse, name="accessmanagement_give_right", response_model=None)
async def give_right(request: Request, runtime: RuntimeDep, party: Annotated[str, Form()],
                     form_token: Annotated[str, Form()], resource: Annotated[str, Form()] = "",
                     actions: Annotated[list[str] | None, Form()] = None,
                     recipient_kind: Annotated[str, Form()] = "person",
                     national_identity_number: Annotated[str, Form()] = "",
                     last_name: Annotated[str, Form()] = "",
                     organization_number: Annotated[str, Form()] = "") -> Response:
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(GIVE_RIGHT_PATH, party=party))
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "accessmanagement.error.form_expired", 400)
    acting = await _acting_for(runtime, person, party)
    if acting is None:
        return _error(request, "accessmanagement.error.not_your_party", 403)
    recipient = _recipient(recipient_kind, national_identity_number, last_name, organization_number)
    chosen = [action for action in actions or [] if action in RIGHT_ACTIONS]
    try:
        if not resource:
            raise InvalidInput("Choose a service.", code="resource_missing")
        if not chosen:
            raise InvalidInput("Choose at least one action.", code="actions_missing")
        to = await _check_recipient(runtime, acting.actor, recipient)
        await service_delegations.delegate_rights(runtime.database, acting.actor, person,
                                      s.RightDelegationCreate(party=party, to=to, resource=resource, actions=chosen))
    except Problem as problem:
        return await _give_right_page(request, runtime, acting,
                                      form={**recipient.as_form(), "resource": resource, "actions": chosen},
                                      problem=_problem_text(request, problem), status_code=problem.status)
    return _redirect(request, USERS_PATH, party=party, done="right")


# --- access requests ------------------------------------------------------------------------------------------
@router.get(REQUESTS_PATH, response_class=HTMLResponse, name="accessmanagement_requests", response_model=None)
async def requests_page(request: Request, runtime: RuntimeDep) -> Response:
    """Forespørsler: the pending requests for access to the party, to approve or reject."""
    acting = await _open(request, runtime, REQUESTS_PATH)
    if isinstance(acting, Response):
        return acting
    language = page_language(request)
    try:
        pending = await service_access_requests.list_received_access_requests(runtime.database, acting.person,
                                                                              acting.identifier,
                                                                              status=[s.AccessRequestStatus.PENDING])
    except Forbidden:
        pending = None
    rows = []
    if pending:
        names = await _names(runtime, acting.actor, {item.requester for item in pending})
        package_names = await _package_names(runtime, language)
        for item in pending:
            what, _ = await _right_text(runtime, language, package_names, item.package, item.resource, item.action)
            name, born = names.get(item.requester, (item.requester, None))
            rows.append({"id": item.id, "requester": name, "born": born, "what": what, "message": item.message,
                         "created": item.created[:10]})
    done = request.query_params.get("done", "")
    return _no_store(render_page(request, "accessmanagement/requests.html", {
        **_page_context(request, runtime, acting, "requests"), "may_manage": pending is not None,
        "requests": rows, "done": done if done in DONE_MESSAGES else None,
    }))


@router.post(REQUESTS_PATH + "/{answer}", response_class=HTMLResponse, name="accessmanagement_answer_request",
             response_model=None)
async def answer_request(request: Request, runtime: RuntimeDep, answer: str, party: Annotated[str, Form()],
                         request_id: Annotated[str, Form()], form_token: Annotated[str, Form()]) -> Response:
    """Godkjenn or avslå: approving gives the package or right asked for (if the approver may give it)."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return await login.start_login(request, runtime, login.local_path(REQUESTS_PATH, party=party))
    if not login.form_token_is_valid(runtime, request, FORM_PURPOSE, form_token):
        return _error(request, "accessmanagement.error.form_expired", 400)
    change = REQUEST_ANSWERS.get(answer)
    try:
        wanted = uuid.UUID(request_id)
    except ValueError:
        change = None
    if change is None:
        return _error(request, "accessmanagement.error.request_not_found", 404)
    answer_with, done = change
    try:
        await answer_with(runtime.database, Actor(f"person:{person}"), person, party, wanted)
    except Problem as problem:
        return _refused(request, problem)
    return _redirect(request, REQUESTS_PATH, party=party, done=done)
