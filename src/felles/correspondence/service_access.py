"""Who may send and who may read, decided by the resource registry and the PDP (Altinn Autorisasjon), as Altinn's
Correspondence decides it.

- A sender sends through a resource of type CorrespondenceService: as its owner (the competent authority, with
  Altinn's `altinn:serviceowner` scope besides `altinn:correspondence.write`), or as an organisation the resource's
  policy permits action `write` (an allowed sender, e.g. through an access list).
- A recipient reads its own post. Anyone else reads a party's post when the resource's policy permits them action
  `read` for that party (a key role such as daglig leder, an access package, a delegation).
- Confidential post (`isConfidential`) needs, besides that, the access package for confidential post
  (taushetsbelagt post) for the party: no role gives it, only an explicit delegation.
- `ignoreReservation` is for the resource's owner only: a public agency with the legal basis to reach persons who
  reserved against digital post.
"""

from __future__ import annotations

from dataclasses import dataclass

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.errors import Forbidden, InvalidInput, NotFound
from felles.core.tokens import PORTAL_END_USER_SCOPE, Principal

WRITE_SCOPE = "altinn:correspondence.write"
READ_SCOPE = "altinn:correspondence.read"
SERVICE_OWNER_SCOPE = "altinn:serviceowner"
RECIPIENT_SCOPES = (READ_SCOPE, PORTAL_END_USER_SCOPE)
CONFIDENTIAL_PACKAGE = "post-til-virksomheten-med-taushetsbelagt-innhold"
READ_ACTION = "read"
WRITE_ACTION = "write"


@dataclass(frozen=True)
class Sending:
    """A sender allowed to send through a resource."""

    sender: str
    resource: authorization_schemas.ServiceResource
    is_owner: bool


def sender_of(principal: Principal) -> str:
    """The organisation that sends: the token's consumer (a supplier may send on its behalf)."""
    if principal.kind != "organization" or principal.organization_number is None:
        raise Forbidden("Only an organisation (a Maskinporten token) may send correspondences.",
                        code="organization_required")
    return principal.organization_number


async def correspondence_resource(database: Database, resource_id: str) -> authorization_schemas.ServiceResource:
    try:
        resource = await authorization_service.get_resource(database, resource_id)
    except NotFound as exc:
        raise InvalidInput(f"No resource {resource_id} in the resource registry.", code="unknown_resource",
                           extra={"resourceId": resource_id}) from exc
    if resource.resourceType != authorization_schemas.ResourceType.CORRESPONDENCE_SERVICE:
        raise InvalidInput(f"Resource {resource_id} is not of type CorrespondenceService.",
                           code="not_correspondence_resource", extra={"resourceId": resource_id})
    return resource


async def authorize_sender(database: Database, principal: Principal, resource_id: str) -> Sending:
    """The sender and its resource, or the problem saying why it may not send through it."""
    sender = sender_of(principal)
    if WRITE_SCOPE not in principal.scopes:
        raise Forbidden(f"Sending needs the scope {WRITE_SCOPE}.", code="insufficient_scope")
    sending = await permitted_sending(database, sender, resource_id)
    if sending.is_owner and SERVICE_OWNER_SCOPE not in principal.scopes:
        raise Forbidden(f"A service owner sends with the scope {SERVICE_OWNER_SCOPE} besides {WRITE_SCOPE}.",
                        code="insufficient_scope")
    return sending


async def permitted_sending(database: Database, sender: str, resource_id: str) -> Sending:
    """Whether the organisation may send through the resource, by the registry and the PDP (its token's scopes
    checked by the caller: the correspondence API's, or the next-move API's for DPV)."""
    resource = await correspondence_resource(database, resource_id)
    if sender == resource.hasCompetentAuthority.organization:
        return Sending(sender, resource, is_owner=True)
    if not await authorization_service.is_permitted(database, sender, None, resource_id, WRITE_ACTION):
        raise Forbidden(f"Organisation {sender} may not send through resource {resource_id}: it is not its owner "
                        f"and its policy does not permit it action {WRITE_ACTION}.", code="sender_not_permitted",
                        extra={"resourceId": resource_id})
    return Sending(sender, resource, is_owner=False)


def subject_of(principal: Principal) -> str | None:
    """The party a recipient's token speaks for: the person, or the organisation of a Maskinporten token."""
    return principal.person_identifier if principal.kind == "person" else principal.organization_number


def is_sender(principal: Principal, sender: str) -> bool:
    return principal.kind == "organization" and principal.organization_number == sender and \
        WRITE_SCOPE in principal.scopes


class ReadDecisions:
    """What one subject may read, asked of the PDP once per (resource, party) within one request."""

    def __init__(self, database: Database, subject: str) -> None:
        self.database = database
        self.subject = subject
        self._decisions: dict[tuple[str, str], bool] = {}
        self._confidential: set[str] | None = None

    async def may_read(self, resource_id: str, party: str, *, confidential: bool) -> bool:
        if party == self.subject:
            return True  # one's own post
        key = (resource_id, party)
        if key not in self._decisions:
            self._decisions[key] = await authorization_service.is_permitted(
                self.database, self.subject, party, resource_id, READ_ACTION)
        if not self._decisions[key]:
            return False
        return not confidential or party in await self._confidential_parties()

    async def _confidential_parties(self) -> set[str]:
        """The parties for which the subject holds the package for confidential post."""
        if self._confidential is None:
            parties = await authorization_service.authorized_parties(
                self.database, _actor(self.subject), self.subject, include_roles=False, include_resources=False)
            found = set()
            for party in parties:
                for unit in (party, *party.subunits):
                    if CONFIDENTIAL_PACKAGE in unit.authorizedAccessPackages:
                        found.add(unit.organizationNumber or unit.personId or "")
            self._confidential = found
        return self._confidential

    async def parties(self) -> list[tuple[str, str]]:
        """Every party the subject may act for (itself first), with its name, for listing its post."""
        found: dict[str, str] = {self.subject: self.subject}
        for party in await authorization_service.authorized_parties(
                self.database, _actor(self.subject), self.subject, include_roles=False, include_resources=False):
            for unit in (party, *party.subunits):
                identifier = unit.organizationNumber or unit.personId
                if identifier:
                    found[identifier] = unit.name
        return list(found.items())


def _actor(subject: str) -> Actor:
    return Actor(f"person:{subject}" if len(subject) == 11 else f"organization:{subject}")
