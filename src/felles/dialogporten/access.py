"""What an end user may see and do in Dialogporten: the parties they can act for (Altinn's authorized parties)
and, per dialog, the decision point's answer for each action on the dialog's service resource.

A dialog is listed to a person when the decision point lets them `read` its service resource for its party. A
GUI or API action, a transmission or the main content is authorized when the decision point permits its
`action` on the resource its `authorizationAttribute` names: another service (`urn:altinn:resource:...`), or the
dialog's own service resource for a sub-resource or task attribute (whose rules the policy states with the
resource's own). An app's rules may name a process task: a task attribute (`urn:altinn:task:Task_1`) is decided
with the task, as the app decides an action on an instance at that task.

A service resource's policy may require a minimum authentication level (its `urn:altinn:minimum-authenticationlevel`
obligation). A person whose login is below it may not open the dialog or its parts (Dialogporten's 403
"Altinn authentication level too low."), and a list shows them the dialog's non-sensitive title and summary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.errors import Forbidden
from felles.core.tokens import Principal

READ = "read"
RESOURCE_PREFIX = "urn:altinn:resource:"
TASK_PREFIX = "urn:altinn:task:"
PERSON_PREFIX = "urn:altinn:person:identifier-no:"
ORGANIZATION_PREFIX = "urn:altinn:organization:identifier-no:"
APP_RESOURCE_PREFIX = "app_"
AUTHENTICATION_LEVEL_TOO_LOW = "Altinn authentication level too low."
AUTHENTICATION_LEVEL_TOO_LOW_CODE = "authentication_level_too_low"
# Dialogporten's level for a service resource it knows no policy of (ID-porten's "substantial").
DEFAULT_MINIMUM_AUTHENTICATION_LEVEL = 3
AuthorizedParty = authorization_schemas.AuthorizedParty


def party_urn(party: AuthorizedParty) -> str:
    if party.type == "Organization" and party.organizationNumber:
        return ORGANIZATION_PREFIX + party.organizationNumber
    return PERSON_PREFIX + (party.personId or "")


def end_user_urn(principal: Principal) -> str:
    return PERSON_PREFIX + (principal.person_identifier or "")


def person_of(principal: Principal) -> str:
    """The person calling, or 403: Dialogporten's end-user API is for persons."""
    if principal.kind != "person" or principal.person_identifier is None:
        raise Forbidden("Only a person may use Dialogporten's end-user API.", code="person_required")
    return principal.person_identifier


async def authorized_parties(database: Database, principal: Principal) -> list[AuthorizedParty]:
    """The parties the person can act for, with their sub-units, as Altinn's authorized parties lists them."""
    person = person_of(principal)
    return await authorization_service.authorized_parties(database, Actor(f"person:{person}"), person,
                                                          include_access_packages=False, include_roles=False,
                                                          include_resources=False)


def flattened(parties: Iterable[AuthorizedParty]) -> dict[str, AuthorizedParty]:
    """Every party and sub-unit by its urn."""
    found: dict[str, AuthorizedParty] = {}
    for party in parties:
        if party.type != "SystemUser":
            found[party_urn(party)] = party
        found.update(flattened(party.subunits))
    return found


def task_of(attribute: str | None) -> str | None:
    """The process task an `urn:altinn:task:{taskId}` authorization attribute names, else None."""
    return attribute.removeprefix(TASK_PREFIX) if attribute and attribute.startswith(TASK_PREFIX) else None


def resource_of(service_resource: str, attribute: str | None) -> str:
    """The resource registry identifier an action is decided on."""
    if attribute and attribute.startswith(RESOURCE_PREFIX):
        return attribute.removeprefix(RESOURCE_PREFIX)
    return service_resource.removeprefix(RESOURCE_PREFIX)


async def minimum_authentication_levels(database: Database, service_resources: Iterable[str]) -> dict[str, int]:
    """The authentication level each service resource (`urn:altinn:resource:...`) requires: its policy's, or
    Dialogporten's default for a resource without a policy."""
    identifiers = {service_resource: resource_of(service_resource, None) for service_resource in service_resources}
    levels = await authorization_service.minimum_authentication_levels(database, identifiers.values())
    return {service_resource: levels.get(identifier, DEFAULT_MINIMUM_AUTHENTICATION_LEVEL)
            for service_resource, identifier in identifiers.items()}


async def check_authentication_level(database: Database, principal: Principal, service_resource: str) -> None:
    """403 (Dialogporten's "Altinn authentication level too low.") when the person logged in at a lower level than
    the service resource requires."""
    required = (await minimum_authentication_levels(database, [service_resource]))[service_resource]
    if principal.authentication_level < required:
        raise Forbidden(AUTHENTICATION_LEVEL_TOO_LOW, code=AUTHENTICATION_LEVEL_TOO_LOW_CODE,
                        extra={"errors": {"Forbidden": [AUTHENTICATION_LEVEL_TOO_LOW]}})


def app_of(resource: str) -> tuple[str, str] | None:
    """The org and app of an app's resource `app_{org}_{app}` (org codes have no underscore), else None."""
    if not resource.startswith(APP_RESOURCE_PREFIX):
        return None
    org, _, app = resource.removeprefix(APP_RESOURCE_PREFIX).partition("_")
    return (org, app) if org and app else None


def identifier_of(party: str) -> str:
    return party.removeprefix(PERSON_PREFIX).removeprefix(ORGANIZATION_PREFIX)


@dataclass
class Decisions:
    """The decision point's answers for one person, asked once each within a request."""

    database: Database
    person: str
    _answers: dict[tuple[str, str, str, str | None], bool] = field(default_factory=dict)

    async def permits(self, party: str, resource: str, action: str, *, task: str | None = None) -> bool:
        """`task`: the app's process task the action is done in (an `urn:altinn:task:` authorization attribute),
        which an app's rules may name; other resources' rules are decided without it."""
        key = (party, resource, action, task)
        if key not in self._answers:
            app = app_of(resource)
            if app is not None:
                # An app's policy states its rules on org and app (as app instances are decided), not on its
                # registry id: a mirrored instance's dialog is decided as its instance would be.
                self._answers[key] = await authorization_service.may_use_app(
                    self.database, self.person, identifier_of(party), app[0], app[1], action, task=task)
            else:
                self._answers[key] = await authorization_service.is_permitted(
                    self.database, self.person, identifier_of(party), resource, action)
        return self._answers[key]

    async def may_read(self, party: str, service_resource: str) -> bool:
        """Whether the person may see `party`'s dialogs of `service_resource` at all (list, count or open them)."""
        return await self.permits(party, resource_of(service_resource, None), READ)

    async def permitted_actions(self, party: str, service_resource: str,
                                pairs: Iterable[tuple[str, str | None]]) -> frozenset[tuple[str, str | None]]:
        """Which `(action, authorizationAttribute)` pairs the person may do for `party`."""
        permitted = set()
        for action, attribute in set(pairs):
            if await self.permits(party, resource_of(service_resource, attribute), action, task=task_of(attribute)):
                permitted.add((action, attribute))
        return frozenset(permitted)


def action_pairs(gui_actions: list[dict[str, Any]], api_actions: list[dict[str, Any]],
                 transmission_attributes: Iterable[str | None]) -> list[tuple[str, str | None]]:
    """Every decision a dialog's view needs: its actions, `read` on each transmission's attribute and on the
    main content."""
    return [(READ, None), *((item["action"], item.get("authorizationAttribute")) for item in gui_actions),
            *((item["action"], item.get("authorizationAttribute")) for item in api_actions),
            *((READ, attribute) for attribute in transmission_attributes)]
