"""The policy information point: what a subject may do on behalf of which parties.

Sources, as in Altinn:

- Enhetsregisteret: a person's roles in organisations (DAGL, LEDE, REGN ...), each implying Altinn 2 role codes
  (IngestRoleMap: a DAGL also holds REGNA, UTINN ...) and access packages (IngestRolePackage); a role in a main
  unit also counts for its sub-units.
- Folkeregisteret: a person acts for themself (``privatperson``), parents for their minor children (the
  citizen packages), guardians for their wards (the ``vergemal-*`` package of each guardianship service area).
- Enhetsregisteret, for an organisation: the roles it holds in others. An accounting firm holding REGN
  (regnskapsforer), REVI (revisor) or FFØR (forretningsforer) for a client gets the client's packages of that
  area (``regnskapsforer-*``, ``ansvarlig-revisor`` ...).
- Delegations (this component's tables): packages and single rights given to the person, or to an
  organisation in which the person holds a key role; to an organisation or a system user.
- Client delegations: a firm's client administrator passes a client's package on to an employee; it counts
  while the firm still holds the role for the client and the role gives that package for the client's form.
- Confidential packages (taushetsbelagt post) no role gives; the main administrator must give them to
  someone explicitly, and one given to an organisation does not reach its key-role holders by itself.
- Digitalt dødsbo (this component's table, kept by Digitalt dødsbo's events): the probate court's roles of heirs
  in a deceased's estate (``urn:digitaltdodsbo:rolecode``), read per decision and not cached.

Everything for one subject is computed at once (one query per source) and kept for a short time per process;
``invalidate()`` drops it in every process when a delegation (``ACCESS_TOPIC``) or a register changes (see
``core.cache_invalidation``).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from felles.authorization.catalogue import (
    MAIN_ADMINISTRATOR_PACKAGE,
    PRIVATE_PERSON_ROLE,
    Catalogue,
    load_catalogue,
)
from felles.authorization.models import (
    AccessList,
    AccessListMember,
    AccessListResource,
    Delegation,
    EstateRole,
)
from felles.authorization.parties import AUTHORIZATION_ACTOR, PartyRef, kind_of
from felles.authorization.parties import party_details as party_details  # part of the information point
from felles.core import cache_invalidation
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.registers import service as registers

SUBJECT_CACHE_SECONDS = 30.0
ACCESS_TOPIC = "authorization.access"  # announced with every delegation change (core.cache_invalidation)
ADULT_AGE = 18
PARENT_ROLES = frozenset({"far", "mor", "medmor"})
# The Enhetsregisteret roles an organisation holds for its clients (regnskapsfører, revisor, forretningsfører).
CLIENT_ROLES = frozenset({"regnskapsforer", "revisor", "forretningsforer"})
CITIZEN_PACKAGE_PREFIX = "innbygger-"
MAIN_ADMINISTRATOR_ROLECODE = "hadm"


@dataclass
class PartyAccess:
    """What a subject holds for one party."""

    roles: set[str] = field(default_factory=set)  # catalogue roles: daglig-leder, privatperson, nav-pensjon ...
    rolecodes: set[str] = field(default_factory=set)  # urn:altinn:rolecode values: dagl, regna, priv ...
    packages: set[str] = field(default_factory=set)
    delegable_packages: set[str] = field(default_factory=set)
    rights: set[tuple[str, str]] = field(default_factory=set)  # delegated (resource, action)
    via_key_role: bool = False

    def merge(self, other: PartyAccess) -> None:
        self.roles |= other.roles
        self.rolecodes |= other.rolecodes
        self.packages |= other.packages
        self.delegable_packages |= other.delegable_packages
        self.rights |= other.rights
        self.via_key_role |= other.via_key_role

    @property
    def is_empty(self) -> bool:
        return not (self.roles or self.rolecodes or self.packages or self.rights)

    @property
    def is_main_administrator(self) -> bool:
        return MAIN_ADMINISTRATOR_ROLECODE in self.rolecodes or MAIN_ADMINISTRATOR_PACKAGE in self.packages


@dataclass
class SubjectAccess:
    """Every party a subject (a person, an organisation or a system user) can act for, and how."""

    subject: str
    parties: dict[str, PartyAccess] = field(default_factory=dict)
    details: dict[str, PartyRef] = field(default_factory=dict)

    def for_party(self, party: str) -> PartyAccess:
        """Access for one party, including what its main unit's roles and delegations give a sub-unit."""
        access = PartyAccess()
        own = self.parties.get(party)
        if own is not None:
            access.merge(own)
        ref = self.details.get(party)
        if ref is not None and ref.parent_identifier:
            parent = self.parties.get(ref.parent_identifier)
            if parent is not None:
                access.merge(parent)
        return access


# --- computing a subject's access ----------------------------------------------------------------------------
_cache: dict[tuple[str, str, bool], tuple[float, int, SubjectAccess]] = {}
_generation = 0


def invalidate() -> None:
    """Forget every subject's access (a delegation or a register changed, here or in another process)."""
    global _generation
    _generation += 1
    _cache.clear()


for _topic in (ACCESS_TOPIC, registers.FOLKEREGISTERET, registers.ENHETSREGISTERET):
    cache_invalidation.on_change(_topic, invalidate)


_inflight: dict[tuple[str, str, bool, int], asyncio.Future[SubjectAccess]] = {}


async def subject_access(database: Database, subject: str, *, with_persons: bool = True) -> SubjectAccess:
    """Every party ``subject`` can act for. ``with_persons=False`` skips Folkeregisteret (when the decision
    is about an organisation). Concurrent callers for the same subject share one computation."""
    await cache_invalidation.check(database)
    key = (database.url, subject, with_persons)
    hit = _cache.get(key)
    if hit is not None and hit[1] == _generation and time.monotonic() - hit[0] < SUBJECT_CACHE_SECONDS:
        return hit[2]
    flight = (*key, _generation)
    running = _inflight.get(flight)
    if running is None:
        running = _inflight[flight] = asyncio.ensure_future(_compute_subject_access(database, subject, with_persons))
        running.add_done_callback(lambda _: _inflight.pop(flight, None))
    return await asyncio.shield(running)


async def _compute_subject_access(database: Database, subject: str, with_persons: bool) -> SubjectAccess:
    key = (database.url, subject, with_persons)
    generation = _generation
    catalogue = await load_catalogue(database)
    if kind_of(subject) == "person":
        access = await _person_access(database, catalogue, subject, with_persons)
    elif kind_of(subject) == "organization":
        access = await _organization_access(database, catalogue, subject)
    else:
        access = SubjectAccess(subject)
        await _add_delegations(database, catalogue, access, [subject], key_role_orgs=set())
    access.details = await party_details(database, list(access.parties))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (time.monotonic(), generation, access)
    return access


async def _person_access(database: Database, catalogue: Catalogue, person: str, with_persons: bool) -> SubjectAccess:
    access = SubjectAccess(person)
    roles_by_org: dict[str, set[str]] = defaultdict(set)
    for organization, code in await registers.roles_held_by_person(database, person):
        role = catalogue.er_role(code)
        if role is not None:
            roles_by_org[organization].add(role)
    details = await party_details(database, list(roles_by_org)) if roles_by_org else {}
    key_role_orgs = set()
    for organization, roles in roles_by_org.items():
        party = access.parties.setdefault(organization, PartyAccess())
        form = details[organization].unit_type if organization in details else None
        for role in roles:
            _add_role(catalogue, party, role, form)
            if role in catalogue.key_roles:
                party.via_key_role = True
                key_role_orgs.add(organization)
    await _add_delegations(database, catalogue, access, [person, *sorted(key_role_orgs)], key_role_orgs)
    if with_persons:
        await _add_family(database, catalogue, access, person)
    return access


async def _organization_access(database: Database, catalogue: Catalogue, organization: str) -> SubjectAccess:
    access = SubjectAccess(organization)
    roles_by_org: dict[str, set[str]] = defaultdict(set)
    for other, code in await registers.roles_held_by_organization(database, organization):
        role = catalogue.er_role(code)
        if role is not None:
            roles_by_org[other].add(role)
    details = await party_details(database, list(roles_by_org)) if roles_by_org else {}
    for other, roles in roles_by_org.items():
        party = access.parties.setdefault(other, PartyAccess())
        form = details[other].unit_type if other in details else None
        for role in roles:
            _add_role(catalogue, party, role, form)
    await _add_delegations(database, catalogue, access, [organization], key_role_orgs=set())
    return access


_confidential: tuple[Catalogue, frozenset[str]] | None = None


def confidential_packages(catalogue: Catalogue) -> frozenset[str]:
    """Packages for confidential post (``post-til-virksomheten-med-taushetsbelagt-innhold``): assignable and
    delegable, yet no role gives access to them (the main administrator may only give them on)."""
    global _confidential
    if _confidential is None or _confidential[0] is not catalogue:
        given = {package for grants in catalogue.role_packages.values() for package, _, has, _ in grants if has}
        _confidential = (catalogue, frozenset(
            code for code, package in catalogue.packages.items()
            if package.is_assignable and package.is_delegable and code not in given))
    return _confidential[1]


def _add_role(catalogue: Catalogue, party: PartyAccess, role: str, organization_form: str | None) -> None:
    party.roles.add(role)
    legacy = catalogue.legacy_code_of.get(role)
    if legacy:
        party.rolecodes.add(legacy)
    party.rolecodes |= catalogue.implied_roles.get(role, frozenset())
    has, delegate = catalogue.packages_of_role(role, organization_form)
    party.packages |= has
    party.delegable_packages |= delegate
    if MAIN_ADMINISTRATOR_ROLECODE in party.rolecodes:
        # Hovedadministrator: may give every package it lists without holding it.
        party.delegable_packages |= catalogue.packages_of_role("hovedadministrator", organization_form)[1]


async def _add_delegations(database: Database, catalogue: Catalogue, access: SubjectAccess, receivers: list[str],
                           key_role_orgs: set[str]) -> None:
    async with database.transaction() as session:
        rows = (await session.execute(
            select(Delegation.from_party, Delegation.to_party, Delegation.package_code,
                   Delegation.resource_identifier, Delegation.action, Delegation.facilitator,
                   Delegation.facilitator_role)
            .where(Delegation.to_party.in_(receivers))
        )).all()
    confidential = confidential_packages(catalogue)
    client_delegations = []
    for from_party, to_party, package, resource, action, facilitator, facilitator_role in rows:
        if facilitator is not None:
            if to_party == access.subject and package is not None and facilitator_role is not None:
                client_delegations.append((from_party, package, facilitator, facilitator_role))
            continue
        if to_party in key_role_orgs and package in confidential:
            continue  # confidential post: someone in the organisation must be given it explicitly
        party = access.parties.setdefault(from_party, PartyAccess())
        if package is not None:
            party.packages.add(package)
            if package == MAIN_ADMINISTRATOR_PACKAGE:
                party.delegable_packages |= catalogue.packages_of_role("hovedadministrator", None)[1]
        elif resource is not None and action is not None:
            party.rights.add((resource, action))
    if client_delegations:
        await _add_client_delegations(database, catalogue, access, client_delegations)


async def _add_client_delegations(database: Database, catalogue: Catalogue, access: SubjectAccess,
                                  delegations: list[tuple[str, str, str, str]]) -> None:
    """(client, package, firm, role): each counts while the firm holds the role for the client and the role
    gives the package for the client's organisation form."""
    held: dict[str, set[tuple[str, str | None]]] = {}
    for firm in {firm for _, _, firm, _ in delegations}:
        held[firm] = {(client, catalogue.er_role(code))
                      for client, code in await registers.roles_held_by_organization(database, firm)}
    details = await party_details(database, list({client for client, _, _, _ in delegations}))
    for client, package, firm, role in delegations:
        if (client, role) not in held[firm]:
            continue
        form = details[client].unit_type if client in details else None
        if package in catalogue.packages_of_role(role, form)[0]:
            access.parties.setdefault(client, PartyAccess()).packages.add(package)


async def _add_family(database: Database, catalogue: Catalogue, access: SubjectAccess, person: str) -> None:
    # A person always acts for themself (privatperson), registered in Folkeregisteret or not.
    _add_role(catalogue, access.parties.setdefault(person, PartyAccess()), PRIVATE_PERSON_ROLE, None)
    try:
        me = await registers.get_person(database, AUTHORIZATION_ACTOR, person)
    except (NotFound, InvalidInput):
        return
    children = [r.relatertPersonsIdentifikator for r in me.foreldreBarnRelasjon
                if r.minRolleForPerson in PARENT_ROLES]
    related = list(dict.fromkeys([*children, *me.vergeFor]))
    if not related:
        return
    found = await registers.get_persons(database, AUTHORIZATION_ACTOR, related)
    today = utcnow().date()
    citizen_packages = {p for p in catalogue.packages_of_role(PRIVATE_PERSON_ROLE, None)[0]
                        if p.startswith(CITIZEN_PACKAGE_PREFIX)}
    for other in found.personer:
        if other.status == "doed":
            continue
        identifier = other.identifikasjonsnummer
        if identifier in children and _age(other.foedselsdato, today) < ADULT_AGE:
            access.parties.setdefault(identifier, PartyAccess()).packages |= citizen_packages
        for guardianship in other.vergemaalEllerFremtidsfullmakt:
            if guardianship.verge.foedselsEllerDNummer != person:
                continue
            party = access.parties.setdefault(identifier, PartyAccess())
            for area in guardianship.verge.tjenesteomraade:
                role = guardianship_role(catalogue, area.tjenestevirksomhet, area.tjenesteoppgave)
                if role is not None:
                    _add_role(catalogue, party, role, None)


def guardianship_role(catalogue: Catalogue, business: str, task: str) -> str | None:
    """A Folkeregisteret guardianship service area (tjenestevirksomhet, tjenesteoppgave) → its role
    (``nav`` + ``pensjon`` → ``nav-pensjon``), if the catalogue knows it."""
    for candidate in (f"{business}-{task}".lower(), task.lower()):
        if candidate in catalogue.role_packages and not catalogue.legacy_code_of.get(candidate):
            return candidate
    return None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# --- access lists ------------------------------------------------------------------------------------------
async def access_list_memberships(database: Database, organization: str) -> list[str]:
    """``{owner}:{list}`` of every access list the organisation is a member of (``urn:altinn:access-list``)."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(AccessList.owner, AccessList.identifier)
            .join(AccessListMember, AccessListMember.access_list_id == AccessList.id)
            .where(AccessListMember.organization_number == organization))
        return [f"{owner}:{identifier}" for owner, identifier in rows.all()]


async def on_access_list(database: Database, resource: str, organization: str, action: str) -> bool:
    """Whether the organisation is on an access list connected to the resource for this action (a connection
    without an action filter admits every action)."""
    async with database.transaction() as session:
        filters = (await session.scalars(
            select(AccessListResource.actions)
            .join(AccessListMember, AccessListMember.access_list_id == AccessListResource.access_list_id)
            .where(AccessListResource.resource_identifier == resource,
                   AccessListMember.organization_number == organization))).all()
    return any(not actions or action in actions for actions in filters)


# --- digitalt dødsbo (OED) roles -----------------------------------------------------------------------------
async def estate_roles(database: Database, *, estate: str | None = None,
                       recipient: str | None = None) -> list[EstateRole]:
    """The probate court's roles in ``estate`` (a deceased's fødselsnummer), given to ``recipient``, or all of
    either's when the other is None."""
    query = select(EstateRole).order_by(EstateRole.estate, EstateRole.recipient, EstateRole.role_code)
    if estate is not None:
        query = query.where(EstateRole.estate == estate)
    if recipient is not None:
        query = query.where(EstateRole.recipient == recipient)
    async with database.transaction() as session:
        return list(await session.scalars(query))


class SingleFlight:
    """Runs one awaitable once, however many callers await it at the same time."""

    def __init__(self) -> None:
        self._task: asyncio.Future[Any] | None = None

    async def get(self, factory: Any) -> Any:
        if self._task is None:
            self._task = asyncio.ensure_future(factory())
        return await self._task
