"""Who calls an app, for which party, and whether the app's policy lets them: every app call is decided here.

A person calls with an Altinn (or ID-porten) token and acts for a party they may represent; a service owner calls
with a Maskinporten token of its own organisation, and app policies grant it rights by its code (urn:altinn:org),
as Altinn's do. The party comes from the party register by its ``partyId``, never from what the caller writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from felles.authorization import service as authorization
from felles.core.db import Database
from felles.core.errors import Forbidden, NotFound
from felles.core.tokens import Principal


@dataclass(frozen=True)
class Caller:
    """The caller of an app: a person (fødselsnummer) or an organisation, maybe one that owns services."""

    subject: str  # fødselsnummer or organisation number
    service_owner: str | None  # the caller's service-owner code (`ttd`, `skd` …) when it is one
    authentication_level: int
    user_id: int | None = None  # Altinn's userId of a person

    @property
    def is_person(self) -> bool:
        return len(self.subject) == 11

    @property
    def actor(self) -> str:
        return f"person:{self.subject}" if self.is_person else f"organization:{self.subject}"


@dataclass(frozen=True)
class Party:
    party_id: int
    identifier: str  # fødselsnummer or organisation number
    name: str | None
    is_person: bool


async def caller_of(database: Database, principal: Principal) -> Caller:
    """The caller a verified token names; a token naming neither a person nor an organisation is refused."""
    if principal.person_identifier is not None:
        party = await authorization.party_of(database, principal.person_identifier)
        return Caller(principal.person_identifier, None, principal.authentication_level, party.user_id)
    if principal.organization_number is not None:
        code = await authorization.service_owner_code(database, principal.organization_number)
        return Caller(principal.organization_number, code, principal.authentication_level)
    raise Forbidden("An app is called by a person or an organisation; this token names neither.",
                    code="no_caller")


async def party(database: Database, party_id: int) -> Party:
    """The party with this ``partyId``, as the registers know it."""
    found = await authorization.party_by_id(database, party_id)
    if found is None or found.is_deleted or found.kind not in ("person", "organization"):
        raise NotFound(f"No party {party_id}.", code="party_not_found")
    return Party(found.party_id, found.identifier, found.name, found.kind == "person")


async def permits(database: Database, caller: Caller, party_identifier: str, app_id: str, action: str, *,
                  task: str | None = None, end_event: str | None = None) -> bool:
    org, app = app_id.split("/", 1)
    return await authorization.may_use_app(database, caller.subject, party_identifier, org, app, action, task=task,
                                           end_event=end_event, service_owner=caller.service_owner)


async def require(database: Database, caller: Caller, party_identifier: str, app_id: str, action: str, *,
                  task: str | None = None, end_event: str | None = None) -> None:
    """Refuse (403) unless the app's policy permits ``action`` for the caller on the party's instance."""
    if not await permits(database, caller, party_identifier, app_id, action, task=task, end_event=end_event):
        where = f" in task {task}" if task else ""
        raise Forbidden(f"You may not {action}{where} in {app_id} for this party.", code="not_permitted")
