"""Ansattporten's representation: which organisations a person who logs in may represent for the Altinn
resources a service asks for (RAR type `ansattporten:altinn:resource`), and what the tokens say about the
ones the person chose in the organisation chooser (organisasjonsvelger).

Altinn Autorisasjon decides, per resource and action, through its decision point: an organisation is offered
only when the policy of the resource permits the person to act for it (a board member is not offered a company
whose policy grants only the daglig leder). The candidates are the parties Altinn lists for the person
(avgiverlisten). This module asks only Altinn Autorisasjon's service functions; it writes nothing.

The request's options (docs.digdir.no, "RAR-typer i Ansattporten") hold across every object of the request:
`organizationform` (enterprise: main units, business: sub-units), `allow_multiple_organizations`,
`allow_deleted_organizations` and `representation_is_required`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from felles.authorization import service as authorization
from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.errors import NotFound
from felles.identity.issuers import organization

RESOURCE_TYPE = "ansattporten:altinn:resource"
ORGNO_TYPE = "ansattporten:orgno"
RESOURCE_PREFIX = "urn:altinn:resource:"
ORGANIZATION_FORMS = ("enterprise", "business")
# Enhetsregisteret's forms of sub-units (underenheter); every other form is a main unit (hovedenhet).
SUB_UNIT_FORMS = frozenset({"BEDR", "AAFY"})
# Who reads the person's party list, as the audit log names it.
CHOOSER_ACTOR = Actor("system:ansattporten")
_FLAGS = ("allow_multiple_organizations", "allow_deleted_organizations", "representation_is_required")


class InvalidAuthorizationDetails(Exception):
    """The request's `authorization_details` cannot be answered (the client gets invalid_authorization_details)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class RepresentationOptions:
    organization_form: str | None  # enterprise | business | None (both)
    allow_multiple: bool
    allow_deleted: bool
    required: bool


@dataclass(frozen=True)
class RepresentableParty:
    """An organisation the person may represent, with the actions permitted on each resource asked for."""

    orgno: str
    name: str
    unit_type: str | None
    rights: dict[str, tuple[str, ...]]  # resource identifier -> permitted actions


def _flag(item: dict[str, Any], name: str) -> bool:
    value = item.get(name, False)
    # Clients send both JSON booleans and the strings "true"/"false" (seen in Digdir's own examples).
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise InvalidAuthorizationDetails(f"{name} must be true or false.")


def _resource_id(item: dict[str, Any]) -> str:
    resource = item.get("resource")
    if not isinstance(resource, str) or not resource.startswith(RESOURCE_PREFIX) or \
            not resource.removeprefix(RESOURCE_PREFIX):
        raise InvalidAuthorizationDetails(f"resource must be {RESOURCE_PREFIX}{{id}}.")
    return resource.removeprefix(RESOURCE_PREFIX)


def _requested_actions(item: dict[str, Any]) -> tuple[str, ...]:
    """The actions the client asks for (a string or a list of strings); none means any the policy grants."""
    actions = item.get("actions")
    if actions is None:
        return ()
    values = [actions] if isinstance(actions, str) else actions
    if not isinstance(values, list) or not values or not all(isinstance(a, str) and a for a in values):
        raise InvalidAuthorizationDetails("actions must be an action or a list of actions, such as read.")
    return tuple(dict.fromkeys(values))


def options_of(details: list[dict[str, Any]]) -> RepresentationOptions:
    """The options of a checked request: a flag set in one object holds for all."""
    forms = {item["organizationform"] for item in details if "organizationform" in item}
    return RepresentationOptions(
        organization_form=next(iter(forms), None),
        allow_multiple=any(_flag(item, "allow_multiple_organizations") for item in details),
        allow_deleted=any(_flag(item, "allow_deleted_organizations") for item in details),
        required=any(_flag(item, "representation_is_required") for item in details))


async def check_authorization_details(database: Database, details: list[dict[str, Any]]) -> None:
    """Refuse what cannot be answered: a resource that is not in Altinn's resource registry, malformed options,
    or options that must agree across the objects and do not."""
    for item in details:
        for name in _FLAGS:
            _flag(item, name)
        if item.get("organizationform", ORGANIZATION_FORMS[0]) not in ORGANIZATION_FORMS:
            raise InvalidAuthorizationDetails("organizationform must be enterprise or business.")
        if item["type"] != RESOURCE_TYPE:
            continue
        identifier = _resource_id(item)
        _requested_actions(item)
        try:
            await authorization.get_resource(database, identifier)
        except NotFound:
            raise InvalidAuthorizationDetails(f"The resource {item['resource']} is not in Altinn's resource "
                                              "registry.") from None
    for name in ("organizationform", "allow_deleted_organizations"):
        if len({str(item[name]) for item in details if name in item}) > 1:
            raise InvalidAuthorizationDetails(f"{name} must have the same value in every object.")


def asks_for_representation(details: list[dict[str, Any]] | None) -> bool:
    """Whether the request needs the organisation chooser (a resource is asked for)."""
    return bool(details) and any(item["type"] == RESOURCE_TYPE for item in details or [])


async def _policy_actions(database: Database, identifier: str) -> tuple[str, ...]:
    try:
        rights = await authorization.get_policy_rights(database, identifier)
    except NotFound:  # a resource without a policy grants nothing
        return ()
    return tuple(dict.fromkeys(right.action.value for right in rights))


async def representable_parties(database: Database, pid: str,
                                details: list[dict[str, Any]]) -> list[RepresentableParty]:
    """The organisations `pid` may represent for at least one resource asked for, by Altinn's decision point:
    every requested action permitted (or, when the client names none, at least one the policy grants)."""
    options = options_of(details)
    wanted: dict[str, tuple[tuple[str, ...], bool]] = {}  # resource -> (actions to decide, all required)
    for item in details:
        if item["type"] == RESOURCE_TYPE:
            identifier = _resource_id(item)
            requested = _requested_actions(item)
            wanted[identifier] = (requested, True) if requested else (await _policy_actions(database, identifier),
                                                                       False)
    listed = await authorization.authorized_parties(database, CHOOSER_ACTOR, pid, include_access_packages=False,
                                                    include_roles=False, include_resources=False)
    candidates = [unit for party in listed for unit in (party, *party.subunits)]
    parties: dict[str, RepresentableParty] = {}
    for candidate in candidates:
        orgno = candidate.organizationNumber
        if candidate.type != "Organization" or orgno is None or orgno in parties:
            continue
        if candidate.isDeleted and not options.allow_deleted:
            continue
        sub_unit = candidate.unitType in SUB_UNIT_FORMS
        if options.organization_form is not None and sub_unit != (options.organization_form == "business"):
            continue
        rights: dict[str, tuple[str, ...]] = {}
        for identifier, (actions, all_required) in wanted.items():
            permitted = tuple([action for action in actions
                               if await authorization.is_permitted(database, pid, orgno, identifier, action)])
            if permitted and (not all_required or len(permitted) == len(actions)):
                rights[identifier] = permitted
        if rights:
            parties[orgno] = RepresentableParty(orgno=orgno, name=candidate.name, unit_type=candidate.unitType,
                                                rights=rights)
    return sorted(parties.values(), key=lambda party: (party.name.casefold(), party.orgno))


async def resource_names(database: Database, details: list[dict[str, Any]]) -> dict[str, str]:
    """The name of each resource asked for, as the resource registry has it (Bokmål first)."""
    names = {}
    for item in details:
        if item["type"] != RESOURCE_TYPE:
            continue
        identifier = _resource_id(item)
        try:
            title = (await authorization.get_resource(database, identifier)).title
        except NotFound:  # deleted since the request was checked
            title = {}
        names[identifier] = title.get("nb") or title.get("nn") or title.get("en") or identifier
    return names


def answer(details: list[dict[str, Any]], chosen: list[RepresentableParty],
           names: dict[str, str]) -> list[dict[str, Any]]:
    """The `authorization_details` of the tokens: one object per resource the chosen organisations give access
    to, listing them as `authorized_parties`; only `{"type": …}` when the person represents only themselves.
    `ansattporten:orgno` needs an e-mail login (Entra ID): with a national identity number it stays empty."""
    answered = []
    for item in details:
        if item["type"] != RESOURCE_TYPE:
            continue
        identifier = _resource_id(item)
        with_actions = "actions" in item
        parties = [{"orgno": organization(party.orgno), "name": party.name, "unit_type": party.unit_type,
                    "resource": identifier, **({"actions": list(party.rights[identifier])} if with_actions else {})}
                   for party in chosen if identifier in party.rights]
        if parties:
            answered.append({"type": RESOURCE_TYPE, "resource": item["resource"], "resource_name": names[identifier],
                             "authorized_parties": parties})
    return answered or [{"type": details[0]["type"]}]
