"""Altinn's party ids: ``partyId`` (int), ``partyUuid`` and ``userId`` for persons, organisations and system
users, given out the first time a party is met (Altinn's Register and Profile do the same)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization.models import Party
from felles.core.db import insert_for


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
    has_details: bool = False


def kind_of(identifier: str) -> str:
    """A fødselsnummer has 11 digits, an organisasjonsnummer 9; anything else is a system user's UUID."""
    if identifier.isdigit():
        return "person" if len(identifier) == 11 else "organization"
    return "systemuser"


def _ref(row: Party) -> PartyRef:
    return PartyRef(row.party_id, row.party_uuid, row.kind, row.identifier, row.user_id, row.owner_identifier,
                    row.name, row.unit_type, row.parent_identifier, row.birth_date, row.is_deleted,
                    row.details_at is not None)


async def parties_by_identifier(session: AsyncSession, identifiers: Iterable[str], *,
                                create: bool = True) -> dict[str, PartyRef]:
    """The parties of these identifiers, creating those not met before (unless ``create`` is false)."""
    wanted = list(dict.fromkeys(identifiers))
    found: dict[str, PartyRef] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        for row in await session.scalars(select(Party).where(Party.identifier.in_(chunk))):
            found[row.identifier] = _ref(row)
    missing = [i for i in wanted if i not in found]
    if missing and create:
        await session.execute(insert_for(session, Party).values([
            {"party_uuid": uuid.uuid4(), "kind": kind_of(i), "identifier": i} for i in missing
        ]).on_conflict_do_nothing(index_elements=["identifier"]))
        for start in range(0, len(missing), 1000):
            chunk = missing[start:start + 1000]
            for row in await session.scalars(select(Party).where(Party.identifier.in_(chunk))):
                if row.kind == "person" and row.user_id is None:
                    row.user_id = row.party_id  # persons log in: their user id is their first party id
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
