"""Changes to Folkeregisteret as its own case handling makes them: births (with a synthetic fødselsnummer), deaths
and their correction, moves and guardianships, each in one transaction with its entry in the change feed, and the
feed (`hendelser`) that other registers and components read."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.registers import schemas
from felles.registers.identifiers import (
    make_person_identifier,
)
from felles.registers.models import (
    ContactInformation,
    Guardianship,
    ParentChild,
    Person,
    RegisterChange,
)
from felles.registers.service import (
    FOLKEREGISTERET,
    MAX_FEED_PAGE,
    folkeregister_persons,
    guardianship_public,
    locked_person,
    record_change,
)


async def _free_synthetic_identifier(session: AsyncSession, birth_date: date) -> str:
    # Individual numbers are tried from the top of the century's series, as FREG hands them out.
    low, high = (500, 749) if birth_date.year < 1900 else (0, 499) if birth_date.year < 2000 else (500, 999)
    for individual in range(high, low - 1, -1):
        candidate = make_person_identifier(birth_date, individual, synthetic=True)
        if candidate is not None and await session.get(Person, candidate) is None:
            return candidate
    raise Conflict(f"No free identifier is left for birth date {birth_date}.", code="identifiers_exhausted")


async def register_birth(
    database: Database, actor: Actor, registration: schemas.BirthRegistration
) -> schemas.FolkeregisterPerson:
    """A birth (or immigration): a new person with parents and address; enters the feed as `foedsel`."""
    now = utcnow()
    if registration.foedselsdato > now.date():
        raise InvalidInput("The birth date lies in the future.", code="invalid_birth_date")
    async with database.transaction() as session:
        identifier = registration.identifikasjonsnummer or await _free_synthetic_identifier(
            session, registration.foedselsdato
        )
        if await session.get(Person, identifier) is not None:
            raise Conflict(f"Person {identifier} is already registered.", code="person_exists")
        parents = {role: getattr(registration, role) for role in ("mor", "far", "medmor")}
        for parent in filter(None, parents.values()):
            await locked_person(session, parent)
        address = registration.bostedsadresse
        session.add(Person(
            national_identity_number=identifier, given_name=registration.navn.fornavn,
            middle_name=registration.navn.mellomnavn, family_name=registration.navn.etternavn,
            birth_date=registration.foedselsdato, gender=registration.kjoenn, status="bosatt",
            street_address=address.adressenavn if address else None,
            postal_code=address.postnummer if address else None,
            postal_place=address.poststed if address else None,
            municipality_number=address.kommunenummer if address else None, updated_at=now,
        ))
        await session.flush()
        for role, parent in parents.items():
            if parent:
                session.add(ParentChild(parent=parent, child=identifier, parent_role=role))
        await record_change(session, FOLKEREGISTERET, "foedsel", identifier, {
            "foedselsdato": registration.foedselsdato.isoformat(),
            "foreldre": {role: parent for role, parent in parents.items() if parent},
        })
        await audit.record(session, actor, action="create", resource="folkeregisteret.person", subjects=[identifier])
        (person,) = await folkeregister_persons(session, [identifier])
    return person


async def register_death(database: Database, actor: Actor, identifier: str, date_of_death: date) -> None:
    async with database.transaction() as session:
        person = await locked_person(session, identifier)
        if person.status == "doed":
            raise Conflict(f"Person {identifier} is already registered as dead.", code="already_dead")
        if date_of_death < person.birth_date or date_of_death > utcnow().date():
            raise InvalidInput("The date of death must lie between the birth date and today.",
                               code="invalid_date_of_death")
        person.status, person.date_of_death, person.updated_at = "doed", date_of_death, utcnow()
        contact = await session.get(ContactInformation, identifier, with_for_update=True)
        if contact is not None:
            contact.status = "SLETTET"
        await record_change(session, FOLKEREGISTERET, "doedsfall", identifier,
                             {"doedsdato": date_of_death.isoformat()})
        await audit.record(session, actor, action="update", resource="folkeregisteret.person", subjects=[identifier],
                           detail={"change": "doedsfall"})


async def correct_death(database: Database, actor: Actor, identifier: str) -> None:
    """Undo a wrongly registered death; the correction enters the feed so consumers can undo theirs."""
    async with database.transaction() as session:
        person = await locked_person(session, identifier)
        if person.status != "doed":
            raise Conflict(f"Person {identifier} is not registered as dead.", code="not_dead")
        annulled = person.date_of_death
        person.status, person.date_of_death, person.updated_at = "bosatt", None, utcnow()
        contact = await session.get(ContactInformation, identifier, with_for_update=True)
        if contact is not None:
            contact.status = "AKTIV"
        await record_change(session, FOLKEREGISTERET, "doedsfallKorrigert", identifier, {
            "annullertDoedsdato": annulled.isoformat() if annulled else None,
        })
        await audit.record(session, actor, action="update", resource="folkeregisteret.person", subjects=[identifier],
                           detail={"change": "doedsfallKorrigert"})


async def register_move(database: Database, actor: Actor, identifier: str, address: schemas.Adresse) -> None:
    async with database.transaction() as session:
        person = await locked_person(session, identifier)
        if person.status == "doed":
            raise Conflict(f"Person {identifier} is dead and cannot move.", code="person_dead")
        moved_from = person.municipality_number
        person.street_address, person.postal_code = address.adressenavn, address.postnummer
        person.postal_place, person.municipality_number = address.poststed, address.kommunenummer
        person.updated_at = utcnow()
        await record_change(session, FOLKEREGISTERET, "flytting", identifier, {
            "fraKommunenummer": moved_from, "tilKommunenummer": address.kommunenummer,
        })
        await audit.record(session, actor, action="update", resource="folkeregisteret.person", subjects=[identifier],
                           detail={"change": "flytting"})


async def add_guardianship(
    database: Database, actor: Actor, ward: str, registration: schemas.GuardianshipRegistration
) -> schemas.VergemaalEllerFremtidsfullmakt:
    if registration.verge == ward:
        raise InvalidInput("A person cannot be their own guardian.", code="self_guardian")
    async with database.transaction() as session:
        await locked_person(session, ward)
        guardian = await locked_person(session, registration.verge)
        if guardian.status == "doed":
            raise Conflict("A dead person cannot be appointed guardian.", code="guardian_dead")
        guardianship = Guardianship(
            id=uuid7(), ward=ward, guardian=registration.verge, guardianship_type=registration.type,
            scope=registration.omfang,
            service_areas=[area.model_dump() for area in registration.tjenesteomraade] or None,
            appointed_by=registration.embete, valid_from=registration.gyldigFraOgMed or utcnow().date(),
        )
        session.add(guardianship)
        await record_change(session, FOLKEREGISTERET, "vergemaalOpprettet", ward, {
            "id": str(guardianship.id), "verge": registration.verge, "type": registration.type,
            "omfang": registration.omfang,
        })
        await audit.record(session, actor, action="create", resource="folkeregisteret.guardianship",
                           subjects=[ward, registration.verge])
    return guardianship_public(guardianship)


async def end_guardianship(database: Database, actor: Actor, ward: str, guardianship_id: str) -> None:
    async with database.transaction() as session:
        guardianship = await session.scalar(
            select(Guardianship).where(Guardianship.ward == ward, Guardianship.id == _uuid(guardianship_id))
            .with_for_update()
        )
        if guardianship is None or guardianship.valid_to is not None:
            raise NotFound("No such active guardianship for this person.", code="guardianship_not_found")
        guardianship.valid_to = utcnow().date()
        await record_change(session, FOLKEREGISTERET, "vergemaalOpphoert", ward, {
            "id": guardianship_id, "verge": guardianship.guardian,
        })
        await audit.record(session, actor, action="update", resource="folkeregisteret.guardianship",
                           subjects=[ward, guardianship.guardian])


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("No such guardianship.", code="guardianship_not_found") from exc


async def change_feed(database: Database, register: str, *, after: int, limit: int) -> schemas.HendelseFeed:
    """The register's changes after sequence number `after`, oldest first."""
    if not 1 <= limit <= MAX_FEED_PAGE:
        raise InvalidInput(f"antall must be between 1 and {MAX_FEED_PAGE}.", code="invalid_limit")
    async with database.transaction() as session:
        changes = list(await session.scalars(
            select(RegisterChange)
            .where(RegisterChange.register == register, RegisterChange.sequence > after)
            .order_by(RegisterChange.sequence).limit(limit)
        ))
    return schemas.HendelseFeed(
        hendelser=[
            schemas.Hendelse(sekvensnummer=c.sequence, kilde=c.register, hendelsestype=c.change_type,
                             identifikator=c.subject, tidspunkt=c.occurred_at, data=c.data)
            for c in changes
        ],
        nesteSekvensnummer=changes[-1].sequence if changes else after,
    )
