"""Altinn's parties: ``partyId`` (int), ``partyUuid`` and ``userId`` for persons, organisations and system users,
given out the first time a party is met (Altinn's Register and Profile do the same), with what the registers
say about them.

Only the ids are this component's (``authz_parties``). Names, organisation forms, main units, birth dates and
deaths are read from the registers through their service, in bulk (``party_details``), and kept per process for
``PARTY_CACHE_SECONDS`` at most: a register change announces itself (``core.cache_invalidation``, topics
``folkeregisteret`` and ``enhetsregisteret``) and every process forgets them then.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization.models import Party
from felles.core import cache_invalidation
from felles.core.audit import Actor
from felles.core.db import Database, insert_for
from felles.core.errors import InvalidInput
from felles.core.params import MAX_DATABASE_BIG_INTEGER
from felles.registers import service as registers

AUTHORIZATION_ACTOR = Actor("system:authorization")
PARTY_CACHE_SECONDS = 30.0
MAX_CACHED_PARTIES = 200_000


@dataclass(frozen=True)
class PartyRef:
    party_id: int
    party_uuid: uuid.UUID
    kind: str  # person | organization | systemuser
    identifier: str
    user_id: int | None = None
    owner_identifier: str | None = None
    name: str | None = None
    unit_type: str | None = None
    parent_identifier: str | None = None
    birth_date: date | None = None
    is_deleted: bool = False


def kind_of(identifier: str) -> str:
    """A fødselsnummer has 11 digits, an organisasjonsnummer 9; anything else is a system user's UUID."""
    if identifier.isdigit():
        return "person" if len(identifier) == 11 else "organization"
    return "systemuser"


def _ref(row: Any) -> PartyRef:
    return PartyRef(row.party_id, row.party_uuid, row.kind, row.identifier, row.user_id, row.owner_identifier)


_ID_COLUMNS = (Party.party_id, Party.party_uuid, Party.kind, Party.identifier, Party.user_id, Party.owner_identifier)


async def parties_by_identifier(session: AsyncSession, identifiers: Iterable[str], *,
                                create: bool = True) -> dict[str, PartyRef]:
    """The parties of these identifiers, creating those not met before (unless ``create`` is false)."""
    wanted = list(dict.fromkeys(identifiers))
    found: dict[str, PartyRef] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        for row in await session.execute(select(*_ID_COLUMNS).where(Party.identifier.in_(chunk))):
            found[row.identifier] = _ref(row)
    missing = [i for i in wanted if i not in found]
    if missing and create:
        # executemany: one compiled statement, however many parties (a multi-row VALUES compiles per row)
        await session.execute(insert_for(session, Party).on_conflict_do_nothing(index_elements=["identifier"]),
                              [{"party_uuid": uuid.uuid4(), "kind": kind_of(i), "identifier": i} for i in missing])
        for start in range(0, len(missing), 1000):
            chunk = missing[start:start + 1000]
            # persons log in: their user id is their first party id
            await session.execute(update(Party).where(
                Party.identifier.in_(chunk), Party.kind == "person", Party.user_id.is_(None),
            ).values(user_id=Party.party_id))
            for row in await session.execute(select(*_ID_COLUMNS).where(Party.identifier.in_(chunk))):
                found[row.identifier] = _ref(row)
    return found


async def register_party(session: AsyncSession, identifier: str, *, party_id: int | None = None,
                         party_uuid: uuid.UUID | None = None, user_id: int | None = None,
                         owner_identifier: str | None = None) -> PartyRef:
    """Register a party with known ids (imported from Altinn, or a system user created for an organisation)."""
    row = Party(party_uuid=party_uuid or uuid.uuid4(), kind=kind_of(identifier), identifier=identifier,
                user_id=user_id, owner_identifier=owner_identifier)
    if party_id is not None:
        row.party_id = party_id
    session.add(row)
    await session.flush()
    return _ref(row)


async def party_by(session: AsyncSession, *, party_id: int | None = None, party_uuid: uuid.UUID | None = None,
                   user_id: int | None = None) -> PartyRef | None:
    # a number larger than the id columns hold (64 bits) names no party; the database would refuse to compare it
    if any(number is not None and abs(number) > MAX_DATABASE_BIG_INTEGER for number in (party_id, user_id)):
        return None
    if party_id is not None:
        query = select(Party).where(Party.party_id == party_id)
    elif party_uuid is not None:
        query = select(Party).where(Party.party_uuid == party_uuid)
    elif user_id is not None:
        query = select(Party).where(Party.user_id == user_id)
    else:
        return None
    row = (await session.scalars(query)).first()
    return _ref(row) if row is not None else None


# --- what the registers say about parties, cached per process -------------------------------------------------
_details: dict[tuple[str, str], tuple[float, PartyRef]] = {}
_sub_units: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
_party_writes = asyncio.Lock()


def forget_details() -> None:
    """Forget what the registers said (a register changed, here or in another process)."""
    _details.clear()
    _sub_units.clear()


cache_invalidation.on_change(registers.FOLKEREGISTERET, forget_details)
cache_invalidation.on_change(registers.ENHETSREGISTERET, forget_details)


async def party_details(database: Database, identifiers: Iterable[str]) -> dict[str, PartyRef]:
    """The parties with their ids, names, types, main units and birth dates, from this process's cache or else
    from the registers in bulk (one query per thousand organisations, one bulk person lookup). A party unknown
    to its register (or with an invalid identifier) is marked deleted."""
    await cache_invalidation.check(database)
    now = time.monotonic()
    found: dict[str, PartyRef] = {}
    wanted: list[str] = []
    for identifier in dict.fromkeys(identifiers):
        hit = _details.get((database.url, identifier))
        if hit is not None and now - hit[0] < PARTY_CACHE_SECONDS:
            found[identifier] = hit[1]
        else:
            wanted.append(identifier)
    if not wanted:
        return found
    ids = await _party_ids(database, wanted)
    organizations = await registers.organizations_in_bulk(
        database, [i for i in wanted if kind_of(i) == "organization"])
    persons = await _persons(database, [i for i in wanted if kind_of(i) == "person"])
    if len(_details) + len(wanted) > MAX_CACHED_PARTIES:
        _details.clear()
    for identifier in wanted:
        ref = ids[identifier]
        if ref.kind == "organization":
            organization = organizations.get(identifier)
            ref = dataclasses.replace(
                ref, name=organization.name, unit_type=organization.organization_form,
                parent_identifier=organization.parent_organization_number, is_deleted=organization.is_deleted,
            ) if organization is not None else dataclasses.replace(ref, is_deleted=True)
        elif ref.kind == "person":
            ref = dataclasses.replace(ref, **persons.get(identifier, {"is_deleted": True}))
        _details[(database.url, identifier)] = (now, ref)
        found[identifier] = ref
    return found


async def _party_ids(database: Database, identifiers: list[str]) -> dict[str, PartyRef]:
    async with database.transaction() as session:
        found = await parties_by_identifier(session, identifiers, create=False)
    if len(found) == len(identifiers):
        return found
    # One writer per process: concurrent decisions must not queue on the database's write lock.
    async with _party_writes, database.transaction() as session:
        return await parties_by_identifier(session, identifiers)


async def _persons(database: Database, identifiers: list[str]) -> dict[str, dict[str, Any]]:
    """Name, birth date and death of persons in Folkeregisteret (a read of personal data, audited there)."""
    if not identifiers:
        return {}
    try:
        registers.valid_person_identifiers(identifiers)
    except InvalidInput as exc:
        invalid = {entry["identifier"] for entry in exc.extra.get("invalidIdentifiers", [])}
        identifiers = [i for i in identifiers if i not in invalid]
        if not identifiers:
            return {}
    found = await registers.get_persons(database, AUTHORIZATION_ACTOR, identifiers)
    return {
        person.identifikasjonsnummer: {
            "name": " ".join(p for p in (person.navn.fornavn, person.navn.mellomnavn, person.navn.etternavn) if p),
            "birth_date": person.foedselsdato, "is_deleted": person.status == "doed",
        }
        for person in found.personer
    }


async def sub_units(database: Database, main_units: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The sub-units (underenheter) of these main units, from Enhetsregisteret; cached like ``party_details``."""
    await cache_invalidation.check(database)
    now = time.monotonic()
    found: dict[str, tuple[str, ...]] = {}
    wanted: list[str] = []
    for identifier in dict.fromkeys(main_units):
        hit = _sub_units.get((database.url, identifier))
        if hit is not None and now - hit[0] < PARTY_CACHE_SECONDS:
            found[identifier] = hit[1]
        else:
            wanted.append(identifier)
    if wanted:
        units: dict[str, list[str]] = {identifier: [] for identifier in wanted}
        for organization in (await registers.organizations_in_bulk(database, wanted, sub_units=True)).values():
            units[organization.parent_organization_number or ""].append(organization.organization_number)
        if len(_sub_units) + len(wanted) > MAX_CACHED_PARTIES:
            _sub_units.clear()
        for identifier, numbers in units.items():
            found[identifier] = tuple(sorted(numbers))
            _sub_units[(database.url, identifier)] = (now, found[identifier])
    return found
