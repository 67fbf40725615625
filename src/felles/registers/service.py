"""Use cases of the national registers: Folkeregisteret, Enhetsregisteret and KRR. The changes Folkeregisteret's own
case handling makes (births, deaths, moves, guardianships) and its change feed are in `service_changes`.

Every read of personal data is written to the audit log in the same transaction; every change to a register
is written to its change feed in the same transaction, so a consumer following the feed misses nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import audit, cache_invalidation
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.registers import schemas
from felles.registers.catalogue import INDUSTRIES, ORGANIZATION_FORMS, ROLE_GROUPS, ROLE_TYPES, SUB_UNIT_FORMS
from felles.registers.identifiers import (
    InvalidIdentifier,
    is_valid_person_identifier,
    parse_organization_number,
    parse_person_identifier,
)
from felles.registers.models import (
    ContactInformation,
    Guardianship,
    Organization,
    ParentChild,
    Person,
    RegisterChange,
    Role,
)
from felles.registers.population import DEMO_PERSONS, JOURNEY_FAMILY

FOLKEREGISTERET = "folkeregisteret"
ENHETSREGISTERET = "enhetsregisteret"
KRR = "krr"
# eForvaltningsforskriften §32: contact details not updated or confirmed for 18 months may not be used.
CONTACT_INFORMATION_FRESHNESS = timedelta(days=548)
MAX_FEED_PAGE = 1000


async def seeded_demo_personas(database: Database) -> list[tuple[str, str, str]]:
    """The named demo personas this database holds, as (key, fødselsnummer, full name), in the seed's order.

    Empty where the demo data was not seeded (production): the welcome page lists them only where they exist."""
    personas = (*DEMO_PERSONS, JOURNEY_FAMILY.heidi, JOURNEY_FAMILY.dag_arne)
    identifiers = [persona.identifier for persona in personas]
    async with database.transaction() as session:
        present = set((await session.scalars(
            select(Person.national_identity_number).where(Person.national_identity_number.in_(identifiers))
        )).all())
    return [(persona.given.lower().replace(" ", "-"), persona.identifier, f"{persona.given} {persona.family}")
            for persona in personas if persona.identifier in present]


def valid_person_identifiers(values: Iterable[str]) -> list[str]:
    """The identifiers in order without repeats, or `InvalidInput` naming every invalid one and its rule."""
    seen: dict[str, None] = {}
    invalid: list[dict[str, str]] = []
    for value in values:
        if is_valid_person_identifier(value):  # the fast check; parse only to name the rule a number breaks
            seen[value] = None
            continue
        try:
            parse_person_identifier(value)
        except InvalidIdentifier as exc:
            invalid.append({"identifier": value, "rule": str(exc.extra["rule"]), "detail": exc.detail})
    if invalid:
        raise InvalidInput(
            f"{len(invalid)} identifier(s) are not valid fødselsnummer or D-nummer.",
            code="invalid_identifier", extra={"invalidIdentifiers": invalid},
        )
    return list(seen)


async def record_change(
    session: AsyncSession, register: str, change_type: str, subject: str, data: dict[str, Any]
) -> None:
    session.add(RegisterChange(
        occurred_at=utcnow(), register=register, change_type=change_type, subject=subject, data=data,
    ))
    await cache_invalidation.announce(session, register)  # other components' caches of the register forget


async def locked_person(session: AsyncSession, identifier: str) -> Person:
    person = await session.get(Person, identifier, with_for_update=True)
    if person is None:
        raise person_not_found(identifier)
    return person


# --- Kontakt- og reservasjonsregisteret ---------------------------------------------------------------------
class KrrValues(NamedTuple):
    """The columns of a KRR entry that answers are made of, read as a plain tuple: attribute access on database
    rows costs more than building the answer, and a 1,000-person lookup does it 15,000 times."""

    status: str
    reserved: bool
    reserved_at: datetime | None
    reservation_updated_at: datetime | None
    email: str | None
    email_updated_at: datetime | None
    email_verified_at: datetime | None
    mobile: str | None
    mobile_updated_at: datetime | None
    mobile_verified_at: datetime | None
    language: str | None
    language_updated_at: datetime | None
    mailbox_address: str | None
    mailbox_provider: str | None

    @classmethod
    def of(cls, entry: ContactInformation) -> KrrValues:
        return cls._make(getattr(entry, name) for name in cls._fields)


# Built once: SQLAlchemy reuses its compiled form for every lookup, whatever the number of persons.
_KRR_LOOKUP = select(
    ContactInformation.__table__.c.national_identity_number,
    *(ContactInformation.__table__.c[name] for name in KrrValues._fields),
).where(ContactInformation.__table__.c.national_identity_number.in_(bindparam("identifiers", expanding=True)))


def _notification_status(entry: KrrValues, now: datetime) -> str:
    if entry.status != "AKTIV" or entry.reserved:
        return "KAN_IKKE_VARSLES"
    freshest = max(
        (moment for moment in (entry.email_updated_at, entry.email_verified_at,
                               entry.mobile_updated_at, entry.mobile_verified_at) if moment is not None),
        default=None,
    )
    if freshest is None or (entry.email is None and entry.mobile is None):
        return "KAN_IKKE_VARSLES"
    return "KAN_VARSLES" if now - freshest <= CONTACT_INFORMATION_FRESHNESS else "KAN_IKKE_VARSLES"


def _without_empty(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


def _krr_person(
    identifier: str, entry: KrrValues | None, now: datetime, *, contact: bool, digital_post: bool
) -> dict[str, Any]:
    """One person as KRR answers (`schemas.KrrPerson`), built directly as data for orjson: a 1,000-person
    lookup is on the hot path, and validating models we build ourselves would only cost time."""
    if entry is None:
        return {"personidentifikator": identifier, "status": "IKKE_REGISTRERT", "varslingsstatus": "KAN_IKKE_VARSLES"}
    person = _without_empty({
        "personidentifikator": identifier,
        "reservasjon": "JA" if entry.reserved else "NEI",
        "reservasjonstidspunkt": entry.reserved_at,
        "reservasjon_oppdatert": entry.reservation_updated_at,
        "status": entry.status,
        "varslingsstatus": _notification_status(entry, now),
    })
    active = entry.status == "AKTIV"
    if contact and active and (entry.email or entry.mobile):
        person["kontaktinformasjon"] = _without_empty({
            "epostadresse": entry.email,
            "epostadresse_oppdatert": entry.email_updated_at,
            "epostadresse_sist_verifisert": entry.email_verified_at,
            "mobiltelefonnummer": entry.mobile,
            "mobiltelefonnummer_oppdatert": entry.mobile_updated_at,
            "mobiltelefonnummer_sist_verifisert": entry.mobile_verified_at,
        })
    if digital_post and active and entry.mailbox_address and entry.mailbox_provider:
        person["digital_post"] = {
            "postkasseadresse": entry.mailbox_address, "postkasseleverandoeradresse": entry.mailbox_provider,
        }
    if contact and active and entry.language:
        person["spraak"] = entry.language
        person["spraak_oppdatert"] = entry.language_updated_at
    return person


async def lookup_contact_information(
    database: Database, actor: Actor, identifiers: Sequence[str], *, contact: bool, digital_post: bool
) -> dict[str, Any]:
    """KRR's oppslagstjeneste: up to 1,000 persons in one call, as `schemas.PersonLookupResponse`.
    Reservation is always returned; contact details and digital mailbox only with the scopes that allow them.
    Each person looked up is audited."""
    wanted = valid_person_identifiers(identifiers)
    now = utcnow()
    async with database.transaction() as session:
        rows = await session.execute(_KRR_LOOKUP, {"identifiers": wanted})
        found = {row[0]: KrrValues._make(row[1:]) for row in rows}
        await audit.record(session, actor, action="read", resource="krr.contact_information", subjects=wanted)
    return {"personer": [
        _krr_person(identifier, found.get(identifier), now, contact=contact, digital_post=digital_post)
        for identifier in wanted
    ]}


async def own_contact_information(database: Database, person_identifier: str) -> dict[str, Any]:
    """What KRR holds about the person asking (the user-specific API)."""
    async with database.transaction() as session:
        entry = await session.get(ContactInformation, person_identifier)
    values = KrrValues.of(entry) if entry is not None else None
    return _krr_person(person_identifier, values, utcnow(), contact=True, digital_post=True)


async def update_own_contact_information(
    database: Database, person_identifier: str, update: schemas.ContactInformationUpdate
) -> dict[str, Any]:
    """A person changes their own e-mail, mobile, reservation or language. Each change enters the feed."""
    changes = update.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.", code="empty_update")
    now = utcnow()
    async with database.transaction() as session:
        if await session.get(Person, person_identifier) is None:
            raise NotFound("The person is not in Folkeregisteret.", code="person_not_found")
        entry = await session.get(ContactInformation, person_identifier, with_for_update=True)
        if entry is None:
            entry = ContactInformation(national_identity_number=person_identifier, status="AKTIV", reserved=False)
            session.add(entry)
        if "epostadresse" in changes:
            entry.email, entry.email_updated_at, entry.email_verified_at = changes["epostadresse"], now, now
        if "mobiltelefonnummer" in changes:
            entry.mobile, entry.mobile_updated_at, entry.mobile_verified_at = changes["mobiltelefonnummer"], now, now
        if "reservasjon" in changes:
            reserved = changes["reservasjon"] == "JA"
            if reserved != entry.reserved:
                entry.reserved = reserved
                entry.reserved_at = now if reserved else None
            entry.reservation_updated_at = now
        if "spraak" in changes:
            entry.language, entry.language_updated_at = changes["spraak"], now
        await record_change(session, KRR, "kontaktinformasjonEndret", person_identifier,
                             {"endret": sorted(changes)})
        await audit.record(session, Actor(f"person:{person_identifier}"), action="update",
                           resource="krr.contact_information", subjects=[person_identifier],
                           detail={"fields": sorted(changes)})
    return _krr_person(person_identifier, KrrValues.of(entry), now, contact=True, digital_post=True)


async def register_digital_mailbox(
    database: Database, actor: Actor, person_identifier: str, *, provider: str, address: str | None
) -> None:
    """A postkasseleverandør (Digipost, e-Boks) reports the person's digital mailbox to KRR, or (`address`
    None) that the person closed it. The change enters the feed."""
    (person,) = valid_person_identifiers([person_identifier])
    parse_organization_number(provider)
    async with database.transaction() as session:
        entry = await session.get(ContactInformation, person, with_for_update=True)
        if entry is None:
            if await session.get(Person, person) is None:
                raise person_not_found(person)
            entry = ContactInformation(national_identity_number=person, status="AKTIV", reserved=False)
            session.add(entry)
        entry.mailbox_provider = provider if address else None
        entry.mailbox_address = address
        await record_change(session, KRR, "digitalPostkasseEndret", person, {"postkasseleverandoer": provider})
        await audit.record(session, actor, action="update", resource="krr.contact_information", subjects=[person],
                           detail={"fields": ["digital_post"]})


# --- Folkeregisteret ------------------------------------------------------------------------------------------
async def folkeregister_persons(session: AsyncSession, identifiers: list[str]) -> list[schemas.FolkeregisterPerson]:
    persons = list(await session.scalars(
        select(Person).where(Person.national_identity_number.in_(identifiers))
    ))
    if not persons:
        return []
    found = [person.national_identity_number for person in persons]
    relations: dict[str, list[schemas.ForeldreBarnRelasjon]] = defaultdict(list)
    for link in await session.scalars(
        select(ParentChild).where(or_(ParentChild.parent.in_(found), ParentChild.child.in_(found)))
    ):
        relations[link.child].append(schemas.ForeldreBarnRelasjon(
            relatertPersonsIdentifikator=link.parent, relatertPersonsRolle=link.parent_role,  # type: ignore[arg-type]
            minRolleForPerson="barn",
        ))
        relations[link.parent].append(schemas.ForeldreBarnRelasjon(
            relatertPersonsIdentifikator=link.child, relatertPersonsRolle="barn",
            minRolleForPerson=link.parent_role,  # type: ignore[arg-type]
        ))
    wards: dict[str, list[schemas.VergemaalEllerFremtidsfullmakt]] = defaultdict(list)
    guardian_of: dict[str, list[str]] = defaultdict(list)
    today = utcnow().date()
    for guardianship in await session.scalars(
        select(Guardianship).where(
            or_(Guardianship.ward.in_(found), Guardianship.guardian.in_(found)),
            or_(Guardianship.valid_to.is_(None), Guardianship.valid_to > today),
        )
    ):
        wards[guardianship.ward].append(guardianship_public(guardianship))
        guardian_of[guardianship.guardian].append(guardianship.ward)
    return [
        schemas.FolkeregisterPerson(
            identifikasjonsnummer=person.national_identity_number,
            navn=schemas.Navn(fornavn=person.given_name, mellomnavn=person.middle_name,
                              etternavn=person.family_name),
            foedselsdato=person.birth_date, kjoenn=person.gender, status=person.status,
            doedsdato=person.date_of_death,
            bostedsadresse=schemas.Adresse(
                adressenavn=person.street_address, postnummer=person.postal_code,
                poststed=person.postal_place, kommunenummer=person.municipality_number,
            ) if person.street_address else None,
            foreldreBarnRelasjon=relations.get(person.national_identity_number, []),
            vergemaalEllerFremtidsfullmakt=wards.get(person.national_identity_number, []),
            vergeFor=guardian_of.get(person.national_identity_number, []),
        )
        for person in persons
    ]


def guardianship_public(guardianship: Guardianship) -> schemas.VergemaalEllerFremtidsfullmakt:
    return schemas.VergemaalEllerFremtidsfullmakt(
        id=str(guardianship.id), type=guardianship.guardianship_type, embete=guardianship.appointed_by,
        verge=schemas.Verge(
            foedselsEllerDNummer=guardianship.guardian, omfang=guardianship.scope,
            tjenesteomraade=[schemas.Tjenesteomraade(**area) for area in guardianship.service_areas or []],
        ),
        gyldigFraOgMed=guardianship.valid_from, gyldigTilOgMed=guardianship.valid_to,
    )


def person_not_found(identifier: str) -> NotFound:
    return NotFound(f"No person {identifier} in Folkeregisteret.", code="person_not_found")


async def get_person(database: Database, actor: Actor, identifier: str) -> schemas.FolkeregisterPerson:
    (wanted,) = valid_person_identifiers([identifier])
    async with database.transaction() as session:
        persons = await folkeregister_persons(session, [wanted])
        if not persons:
            raise person_not_found(wanted)
        await audit.record(session, actor, action="read", resource="folkeregisteret.person", subjects=[wanted])
    return persons[0]


async def person_status(session: AsyncSession, actor: Actor, identifier: str) -> str:
    """One person's folkeregisterpersonstatus (bosatt, doed ...), read in the caller's transaction, for a caller
    that only needs to know the person is registered (a TestID login records the read with the login): one read
    where `get_person` makes three. Audited as a read all the same."""
    (wanted,) = valid_person_identifiers([identifier])
    status = await session.scalar(select(Person.status).where(Person.national_identity_number == wanted))
    if status is None:
        raise person_not_found(wanted)
    await audit.record(session, actor, action="read", resource="folkeregisteret.person", subjects=[wanted])
    return status


async def get_persons(database: Database, actor: Actor, identifiers: Sequence[str]) -> schemas.PersonBulkResponse:
    """Bulkoppslag: many persons in one call; the ones not found are listed."""
    wanted = valid_person_identifiers(identifiers)
    async with database.transaction() as session:
        persons = await folkeregister_persons(session, wanted)
        found = {person.identifikasjonsnummer for person in persons}
        await audit.record(session, actor, action="read", resource="folkeregisteret.person", subjects=sorted(found))
    return schemas.PersonBulkResponse(personer=persons, ikkeFunnet=[i for i in wanted if i not in found])


async def search_persons(
    database: Database, actor: Actor, *, name: str, limit: int = 20
) -> list[schemas.PersonSearchHit]:
    """Persons whose family name, or given and family name, start with the words given (TestID uses it)."""
    words = name.split()
    if not words or len(name) > 200:
        raise InvalidInput("Give a name of 1 to 200 characters to search for.", code="invalid_search")
    query = select(Person)
    if len(words) == 1:
        query = query.where(or_(Person.family_name.startswith(words[0].capitalize()),
                                Person.given_name.startswith(words[0].capitalize())))
    else:
        query = query.where(Person.given_name.startswith(words[0].capitalize()),
                            Person.family_name.startswith(words[-1].capitalize()))
    async with database.transaction() as session:
        persons = list(await session.scalars(
            query.order_by(Person.family_name, Person.given_name, Person.national_identity_number).limit(limit)
        ))
        await audit.record(session, actor, action="search", resource="folkeregisteret.person",
                           subjects=[p.national_identity_number for p in persons])
    return [
        schemas.PersonSearchHit(
            identifikasjonsnummer=p.national_identity_number,
            navn=schemas.Navn(fornavn=p.given_name, mellomnavn=p.middle_name, etternavn=p.family_name),
            foedselsdato=p.birth_date, status=p.status,
        )
        for p in persons
    ]


# --- Enhetsregisteret -----------------------------------------------------------------------------------------
def _code(value: str, names: dict[str, str]) -> schemas.Kode:
    return schemas.Kode(kode=value, beskrivelse=names.get(value, value))


def _enhet(organization: Organization, base_url: str) -> schemas.Enhet:
    address = schemas.BrregAdresse(
        adresse=[organization.street_address] if organization.street_address else [],
        postnummer=organization.postal_code, poststed=organization.postal_place,
        kommunenummer=organization.municipality_number,
    )
    sub_unit = organization.organization_form in SUB_UNIT_FORMS
    kind = "underenheter" if sub_unit else "enheter"
    return schemas.Enhet(
        organisasjonsnummer=organization.organization_number, navn=organization.name,
        organisasjonsform=_code(organization.organization_form, ORGANIZATION_FORMS),
        forretningsadresse=None if sub_unit else address, beliggenhetsadresse=address if sub_unit else None,
        naeringskode1=_code(organization.industry_code, INDUSTRIES) if organization.industry_code else None,
        antallAnsatte=organization.employees, harRegistrertAntallAnsatte=organization.employees is not None,
        overordnetEnhet=organization.parent_organization_number,
        registreringsdatoEnhetsregisteret=organization.registered_on, konkurs=organization.bankrupt,
        slettedato=organization.deleted_on,
        links={"self": {"href": f"{base_url}/enhetsregisteret/api/{kind}/{organization.organization_number}"}},
    )


async def get_organization(database: Database, organization_number: str, *, base_url: str) -> schemas.Enhet:
    number = parse_organization_number(organization_number)
    async with database.transaction() as session:
        organization = await session.get(Organization, number)
    if organization is None:
        raise NotFound(f"No organisation {number} in Enhetsregisteret.", code="organization_not_found")
    return _enhet(organization, base_url)


async def search_organizations(
    database: Database,
    *,
    name: str | None,
    organization_form: str | None,
    parent: str | None,
    sub_units: bool,
    page: int,
    size: int,
    base_url: str,
) -> schemas.EnhetListe:
    """brreg's search: by name prefix, form and parent, in pages (`page` from 0, `size` up to 1,000)."""
    if size < 1 or size > MAX_FEED_PAGE or page < 0 or page * size > 10_000:
        raise InvalidInput("size must be 1–1000 and page·size at most 10,000.", code="invalid_paging")
    forms = SUB_UNIT_FORMS if sub_units else set(ORGANIZATION_FORMS) - SUB_UNIT_FORMS
    conditions = [Organization.organization_form.in_(sorted(forms))]
    if name:
        conditions.append(func.upper(Organization.name).startswith(name.upper()))
    if organization_form:
        conditions.append(Organization.organization_form == organization_form.upper())
    if parent:
        conditions.append(Organization.parent_organization_number == parse_organization_number(parent))
    async with database.transaction() as session:
        total = await session.scalar(select(func.count()).select_from(Organization).where(*conditions)) or 0
        rows = list(await session.scalars(
            select(Organization).where(*conditions).order_by(Organization.organization_number)
            .offset(page * size).limit(size)
        ))
    key = "underenheter" if sub_units else "enheter"
    return schemas.EnhetListe(
        _embedded={key: [_enhet(row, base_url) for row in rows]},
        page=schemas.BrregPage(size=size, totalElements=total, totalPages=-(-total // size), number=page),
    )


async def get_roles(database: Database, organization_number: str) -> schemas.Roller:
    """The organisation's roles grouped as brreg groups them (STYR, DAGL, REVI, REGN ...)."""
    number = parse_organization_number(organization_number)
    async with database.transaction() as session:
        if await session.get(Organization, number) is None:
            raise NotFound(f"No organisation {number} in Enhetsregisteret.", code="organization_not_found")
        rows = (await session.execute(
            select(Role, Person, Organization)
            .outerjoin(Person, Person.national_identity_number == Role.person)
            .outerjoin(Organization, Organization.organization_number == Role.holder_organization_number)
            .where(Role.organization_number == number)
            .order_by(Role.position)
        )).all()
    groups: dict[str, list[tuple[date, schemas.Rolle]]] = defaultdict(list)
    for role, person, holder in rows:
        role_type = ROLE_TYPES.get(role.role_code)
        group = role_type.group if role_type else role.role_code
        groups[group].append((role.registered_on, schemas.Rolle(
            type=schemas.Kode(kode=role.role_code, beskrivelse=role_type.description if role_type else role.role_code),
            person=schemas.RollePerson(
                fodselsdato=person.birth_date,
                navn=schemas.RollePersonNavn(fornavn=person.given_name, mellomnavn=person.middle_name,
                                             etternavn=person.family_name),
                erDoed=person.status == "doed",
            ) if person else None,
            enhet=schemas.RolleEnhet(
                organisasjonsnummer=holder.organization_number,
                organisasjonsform=_code(holder.organization_form, ORGANIZATION_FORMS),
                navn=[holder.name], erSlettet=holder.deleted_on is not None,
            ) if holder else None,
            fratraadt=role.resigned, avregistrert=role.resigned, rekkefolge=role.position,
        )))
    return schemas.Roller(rollegrupper=[
        schemas.Rollegruppe(
            type=_code(group, ROLE_GROUPS), sistEndret=max(registered for registered, _ in members),
            roller=[rolle for _, rolle in members],
        )
        for group, members in groups.items()
    ])


async def roles_held_by_person(database: Database, person_identifier: str) -> list[tuple[str, str]]:
    """(organisation number, role code) for every active role the person holds: the information point for
    logins as an employee and for authorization."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(Role.organization_number, Role.role_code)
            .where(Role.person == person_identifier, Role.resigned.is_(False))
            .order_by(Role.organization_number, Role.role_code)
        )
        return [(organization, code) for organization, code in rows.all()]


async def roles_held_by_organization(database: Database, organization_number: str) -> list[tuple[str, str]]:
    """(organisation number, role code) for every active role the organisation holds in others (an accounting
    firm's REGN for each client ...): the information point for client delegation."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(Role.organization_number, Role.role_code)
            .where(Role.holder_organization_number == organization_number, Role.resigned.is_(False))
            .order_by(Role.organization_number, Role.role_code)
        )
        return [(organization, code) for organization, code in rows.all()]


async def register_role(
    database: Database, actor: Actor, organization_number: str, role_code: str, *,
    person: str | None = None, holder_organization: str | None = None,
) -> uuid.UUID:
    """A role (DAGL, REGN ...) registered in an organisation for a person or another organisation; enters the
    feed as `rolleRegistrert`."""
    if (person is None) == (holder_organization is None):
        raise InvalidInput("A role is held by either a person or an organisation.", code="invalid_role_holder")
    if role_code not in ROLE_TYPES:
        raise InvalidInput(f"Unknown role type {role_code}.", code="invalid_role_type")
    number = parse_organization_number(organization_number)
    async with database.transaction() as session:
        if await session.get(Organization, number) is None:
            raise NotFound(f"No organisation {number} in Enhetsregisteret.", code="organization_not_found")
        if person is not None:
            await locked_person(session, person)
        elif await session.get(Organization, parse_organization_number(holder_organization or "")) is None:
            raise NotFound(f"No organisation {holder_organization} in Enhetsregisteret.",
                           code="organization_not_found")
        role = Role(id=uuid7(), organization_number=number, role_code=role_code, person=person,
                    holder_organization_number=holder_organization, registered_on=utcnow().date())
        session.add(role)
        await record_change(session, ENHETSREGISTERET, "rolleRegistrert", number, {
            "id": str(role.id), "type": role_code, "person": person, "enhet": holder_organization,
        })
        await audit.record(session, actor, action="create", resource="enhetsregisteret.role",
                           subjects=[number, *filter(None, [person, holder_organization])])
    return role.id


async def resign_role(database: Database, actor: Actor, organization_number: str, role_id: uuid.UUID) -> None:
    """The holder resigns (fratrådt); enters the feed as `rolleFratraadt`."""
    number = parse_organization_number(organization_number)
    async with database.transaction() as session:
        role = await session.get(Role, role_id, with_for_update=True)
        if role is None or role.organization_number != number or role.resigned:
            raise NotFound("No such active role in this organisation.", code="role_not_found")
        role.resigned = True
        await record_change(session, ENHETSREGISTERET, "rolleFratraadt", number, {
            "id": str(role.id), "type": role.role_code,
        })
        await audit.record(session, actor, action="update", resource="enhetsregisteret.role",
                           subjects=[number, *filter(None, [role.person, role.holder_organization_number])])


class OrganizationFacts(NamedTuple):
    """What acting for an organisation needs: its name, form, main unit (of a sub-unit) and whether deleted."""

    organization_number: str
    name: str
    organization_form: str
    parent_organization_number: str | None
    is_deleted: bool


async def organizations_in_bulk(
    database: Database, organization_numbers: Iterable[str], *, sub_units: bool = False
) -> dict[str, OrganizationFacts]:
    """Many organisations in one call, by number; those not registered are left out. With `sub_units`, the
    sub-units of these organisations instead (authorized parties lists them under their main unit)."""
    wanted = list(dict.fromkeys(organization_numbers))
    found: dict[str, OrganizationFacts] = {}
    async with database.transaction() as session:
        for start in range(0, len(wanted), MAX_FEED_PAGE):
            chunk = wanted[start:start + MAX_FEED_PAGE]
            key = Organization.parent_organization_number if sub_units else Organization.organization_number
            rows = await session.execute(
                select(Organization.organization_number, Organization.name, Organization.organization_form,
                       Organization.parent_organization_number, Organization.deleted_on.is_not(None))
                .where(key.in_(chunk))
            )
            for number, name, form, parent, deleted in rows:
                found[number] = OrganizationFacts(number, name, form, parent, bool(deleted))
    return found


async def organization_notification_addresses(
    database: Database, organization_numbers: Sequence[str]
) -> dict[str, dict[str, str | None]]:
    """The notification addresses ("varslingsadresser") of organisations, for Varsling:
    `{orgnr: {"name", "email", "mobile"}}`. Organisations not registered, or deleted, are left out."""
    wanted = list(dict.fromkeys(organization_numbers))
    async with database.transaction() as session:
        rows = await session.execute(
            select(Organization.organization_number, Organization.name, Organization.notification_email,
                   Organization.notification_mobile)
            .where(Organization.organization_number.in_(wanted), Organization.deleted_on.is_(None))
        )
        return {number: {"name": name, "email": email, "mobile": mobile} for number, name, email, mobile in rows}


# --- Digital post and print (the correspondence component's routing and print batches) ------------------------
class DigitalPostChannel(NamedTuple):
    """What KRR says about reaching one person with a letter: reserved against digital post, the digital mailbox
    they chose (Digipost or e-Boks: the provider's organisation number and the mailbox address), and whether
    they can be notified (varslingsstatus KAN_VARSLES: current e-mail or mobile, not reserved)."""

    reserved: bool
    mailbox_provider: str | None
    mailbox_address: str | None
    notifiable: bool


async def digital_post_channels_in_transaction(
    session: AsyncSession, actor: Actor, identifiers: Sequence[str]
) -> dict[str, DigitalPostChannel]:
    """KRR's answer for each person, read in the caller's transaction (a sender routing its letters decides in
    the transaction that stores them); a person KRR does not know is not reserved, has no mailbox and cannot be
    notified. Audited as a KRR read."""
    wanted = valid_person_identifiers(identifiers)
    now = utcnow()
    rows = await session.execute(_KRR_LOOKUP, {"identifiers": wanted})
    found = {row[0]: KrrValues._make(row[1:]) for row in rows}
    await audit.record(session, actor, action="read", resource="krr.contact_information", subjects=wanted)
    channels = {}
    for identifier in wanted:
        entry = found.get(identifier)
        active = entry is not None and entry.status == "AKTIV"
        has_mailbox = active and entry is not None and bool(entry.mailbox_address and entry.mailbox_provider)
        channels[identifier] = DigitalPostChannel(
            reserved=active and entry is not None and entry.reserved,
            mailbox_provider=entry.mailbox_provider if has_mailbox and entry is not None else None,
            mailbox_address=entry.mailbox_address if has_mailbox and entry is not None else None,
            notifiable=entry is not None and _notification_status(entry, now) == "KAN_VARSLES",
        )
    return channels


class PostalAddressFacts(NamedTuple):
    """Where paper to a party goes: a person's bostedsadresse in Folkeregisteret, an organisation's
    forretningsadresse in Enhetsregisteret."""

    name: str
    street_address: str | None
    postal_code: str | None
    postal_place: str | None


async def postal_addresses_in_transaction(
    session: AsyncSession, actor: Actor, parties: Sequence[str]
) -> dict[str, PostalAddressFacts]:
    """The postal address of each party (11 digits: a person; 9: an organisation), read in the caller's
    transaction; parties not registered are left out. Reading persons' addresses is audited."""
    persons = [party for party in dict.fromkeys(parties) if len(party) == 11]
    organizations = [party for party in dict.fromkeys(parties) if len(party) == 9]
    found: dict[str, PostalAddressFacts] = {}
    if persons:
        rows = await session.execute(
            select(Person.national_identity_number, Person.given_name, Person.middle_name, Person.family_name,
                   Person.street_address, Person.postal_code, Person.postal_place)
            .where(Person.national_identity_number.in_(persons)))
        for number, given, middle, family, street, code, place in rows:
            name = " ".join(part for part in (given, middle, family) if part)
            found[number] = PostalAddressFacts(name, street, code, place)
        await audit.record(session, actor, action="read", resource="folkeregisteret.person", subjects=persons)
    if organizations:
        rows = await session.execute(
            select(Organization.organization_number, Organization.name, Organization.street_address,
                   Organization.postal_code, Organization.postal_place)
            .where(Organization.organization_number.in_(organizations)))
        for number, name, street, code, place in rows:
            found[number] = PostalAddressFacts(name, street, code, place)
    return found
