"""The policy information point: what a subject may do on behalf of which parties.

Sources, as in Altinn:

- Enhetsregisteret: a person's roles in organisations (DAGL, LEDE, REGN ...), each implying Altinn 2 role codes
  (IngestRoleMap: a DAGL also holds REGNA, UTINN ...) and access packages (IngestRolePackage); a role in a main
  unit also counts for its sub-units.
- Folkeregisteret: a person acts for themself (``privatperson``), parents for their minor children (the
  citizen packages), guardians for their wards (the ``vergemal-*`` package of each guardianship service area).
- Delegations (this component's tables): packages and single rights given to the person, or to an
  organisation in which the person holds a key role; to an organisation or a system user.

Everything for one subject is computed at once (one query per source) and kept for a short time per process;
``invalidate()`` drops it when a delegation changes here.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, update

from felles.authorization.catalogue import (
    MAIN_ADMINISTRATOR_PACKAGE,
    PRIVATE_PERSON_ROLE,
    Catalogue,
    load_catalogue,
)
from felles.authorization.models import AccessList, AccessListMember, Delegation, Party
from felles.authorization.parties import PartyRef, kind_of, parties_by_identifier
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.registers import service as registers

AUTHORIZATION_ACTOR = Actor("system:authorization")
SUBJECT_CACHE_SECONDS = 30.0
ADULT_AGE = 18
PARENT_ROLES = frozenset({"far", "mor", "medmor"})
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


# --- party details from the registers ------------------------------------------------------------------------
_party_writes = asyncio.Lock()
_details: dict[tuple[str, str], tuple[float, PartyRef]] = {}


async def party_details(database: Database, identifiers: list[str]) -> dict[str, PartyRef]:
    """The parties with their names, types and main units; those met for the first time are looked up in the
    registers (and an organisation's sub-units registered with it). Kept per process for a short time."""
    now = time.monotonic()
    refs: dict[str, PartyRef] = {}
    for identifier in identifiers:
        hit = _details.get((database.url, identifier))
        if hit is not None and now - hit[0] < SUBJECT_CACHE_SECONDS:
            refs[identifier] = hit[1]
    wanted = [i for i in identifiers if i not in refs]
    if not wanted:
        return refs
    async with database.transaction() as session:
        found = await parties_by_identifier(session, wanted, create=False)
    if len(found) < len(set(wanted)) or any(not r.has_details and r.kind != "systemuser" for r in found.values()):
        # One writer per process: concurrent decisions must not queue on the database's write lock.
        async with _party_writes:
            found = await _fill_party_details(database, wanted)
    if len(_details) > 100_000:
        _details.clear()
    for identifier, ref in found.items():
        _details[(database.url, identifier)] = (now, ref)
    return {**refs, **found}


async def _fill_party_details(database: Database, identifiers: list[str]) -> dict[str, PartyRef]:
    async with database.transaction() as session:
        refs = await parties_by_identifier(session, identifiers)
    missing = [r.identifier for r in refs.values() if not r.has_details and r.kind != "systemuser"]
    if not missing:
        return refs
    rows: dict[str, dict[str, Any]] = {}
    sub_units: dict[str, dict[str, Any]] = {}
    for identifier in missing:
        if kind_of(identifier) != "organization":
            continue
        try:
            enhet = await registers.get_organization(database, identifier, base_url="")
        except (NotFound, InvalidInput):
            rows[identifier] = {"is_deleted": True}
            continue
        rows[identifier] = _organization_details(enhet)
        if enhet.overordnetEnhet is None:
            result = await registers.search_organizations(
                database, name=None, organization_form=None, parent=identifier, sub_units=True, page=0,
                size=1000, base_url="")
            for sub in result.embedded.get("underenheter", []):
                sub_units[sub.organisasjonsnummer] = _organization_details(sub)
    persons = [i for i in missing if kind_of(i) == "person"]
    try:
        registers.valid_person_identifiers(persons)
    except InvalidInput as exc:
        invalid = {entry["identifier"] for entry in exc.extra.get("invalidIdentifiers", [])}
        rows.update({i: {"is_deleted": True} for i in invalid})
        persons = [i for i in persons if i not in invalid]
    if persons:
        found = await registers.get_persons(database, AUTHORIZATION_ACTOR, persons)
        for person in found.personer:
            name = " ".join(p for p in (person.navn.fornavn, person.navn.mellomnavn, person.navn.etternavn) if p)
            rows[person.identifikasjonsnummer] = {"name": name, "birth_date": person.foedselsdato,
                                                  "is_deleted": person.status == "doed"}
        for identifier in found.ikkeFunnet:
            rows[identifier] = {"is_deleted": True}
    now = utcnow()
    async with database.transaction() as session:
        if sub_units:
            await parties_by_identifier(session, sub_units)
        for identifier, values in {**sub_units, **rows}.items():
            await session.execute(update(Party).where(Party.identifier == identifier).values(
                details_at=now, **values))
        refs = await parties_by_identifier(session, identifiers)
    return refs


def _organization_details(enhet: Any) -> dict[str, Any]:
    return {"name": enhet.navn, "unit_type": enhet.organisasjonsform.kode,
            "parent_identifier": enhet.overordnetEnhet, "is_deleted": enhet.slettedato is not None}


# --- computing a subject's access ----------------------------------------------------------------------------
_cache: dict[tuple[str, str, bool], tuple[float, int, SubjectAccess]] = {}
_generation = 0


def invalidate() -> None:
    """Forget every subject's access (a delegation changed in this process)."""
    global _generation
    _generation += 1
    _cache.clear()
    _details.clear()


_inflight: dict[tuple[str, str, bool, int], asyncio.Future[SubjectAccess]] = {}


async def subject_access(database: Database, subject: str, *, with_persons: bool = True) -> SubjectAccess:
    """Every party ``subject`` can act for. ``with_persons=False`` skips Folkeregisteret (when the decision
    is about an organisation). Concurrent callers for the same subject share one computation."""
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
                   Delegation.resource_identifier, Delegation.action)
            .where(Delegation.to_party.in_(receivers))
        )).all()
    for from_party, _to_party, package, resource, action in rows:
        party = access.parties.setdefault(from_party, PartyAccess())
        if package is not None:
            party.packages.add(package)
            if package == MAIN_ADMINISTRATOR_PACKAGE:
                party.delegable_packages |= catalogue.packages_of_role("hovedadministrator", None)[1]
        elif resource is not None and action is not None:
            party.rights.add((resource, action))


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


class SingleFlight:
    """Runs one awaitable once, however many callers await it at the same time."""

    def __init__(self) -> None:
        self._task: asyncio.Future[Any] | None = None

    async def get(self, factory: Any) -> Any:
        if self._task is None:
            self._task = asyncio.ensure_future(factory())
        return await self._task
