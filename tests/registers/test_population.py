import hashlib
from datetime import date

from sqlalchemy import func, select

from felles.registers.identifiers import is_valid_organization_number, parse_person_identifier
from felles.registers.models import ContactInformation, Guardianship, Organization, ParentChild, Person, Role
from felles.registers.population import (
    DEMO_PERSONS,
    TODAY,
    PopulationGenerator,
    seed_demo_personas,
    seed_population,
)


def fingerprint(seed: int, persons: int, organizations: int) -> str:
    generator = PopulationGenerator(seed)
    digest = hashlib.sha256()
    for batches in (generator.persons(persons), generator.organizations(organizations)):
        for batch, _ in batches:
            for name, rows in batch.rows.items():
                # Row ids are UUIDv7 (time-based) and differ by run; everything else must be the same.
                digest.update(repr((name, [row[1:] if name in ("roles", "guardianships") else row
                                           for row in rows])).encode())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_population_and_another_seed_another():
    assert fingerprint(7, 3000, 500) == fingerprint(7, 3000, 500)
    assert fingerprint(7, 3000, 500) != fingerprint(8, 3000, 500)


async def test_a_seeded_population_is_consistent(database):
    assert await seed_demo_personas(database)
    assert not await seed_demo_personas(database)  # idempotent
    assert await seed_population(database, persons=6000, organizations=1200, seed=3)
    assert not await seed_population(database, persons=6000, organizations=1200, seed=3)  # already seeded
    async with database.transaction() as session:
        persons = {p.national_identity_number: p for p in await session.scalars(select(Person))}
        links = list(await session.scalars(select(ParentChild)))
        contacts = list(await session.scalars(select(ContactInformation)))
        organizations = {o.organization_number: o for o in await session.scalars(select(Organization))}
        roles = list(await session.scalars(select(Role)))
        guardianships = list(await session.scalars(select(Guardianship)))
        main_units = await session.scalar(select(func.count()).select_from(Organization).where(
            Organization.parent_organization_number.is_(None)))
    assert 6000 <= len(persons) - len(DEMO_PERSONS) < 6010  # whole households: the last may overshoot a little
    assert main_units == 1200 + 2
    for identifier, person in persons.items():
        parsed = parse_person_identifier(identifier)
        assert parsed.synthetic and parsed.birth_date == person.birth_date
        assert (person.status == "doed") == (person.date_of_death is not None)
    for link in links:
        parent, child = persons[link.parent], persons[link.child]
        assert (child.birth_date - parent.birth_date).days > 17 * 365, "a parent is older than the child"
    assert len(links) > 1000
    for contact in contacts:
        person = persons[contact.national_identity_number]
        assert (TODAY - person.birth_date).days >= 13 * 365 or person.birth_date > date(2010, 1, 1)
        assert (contact.status == "SLETTET") == (person.status == "doed")
        assert not (contact.reserved and contact.email)
    reserved = sum(c.reserved for c in contacts) / len(contacts)
    without_contact = sum(c.email is None and c.mobile is None for c in contacts) / len(contacts)
    assert 0.02 < reserved < 0.07 and 0.03 < without_contact < 0.12
    for number, organization in organizations.items():
        assert is_valid_organization_number(number)
        if organization.organization_form == "BEDR":
            assert organization.parent_organization_number in organizations
    for role in roles:
        assert (role.person is None) != (role.holder_organization_number is None)
        assert role.person is None or role.person in persons
        assert role.holder_organization_number is None or role.holder_organization_number in organizations
    clients_per_accountant: dict[str, int] = {}
    for role in roles:
        if role.role_code == "REGN":
            clients_per_accountant[role.holder_organization_number] = \
                clients_per_accountant.get(role.holder_organization_number, 0) + 1
    assert max(clients_per_accountant.values()) >= 20, "accounting firms serve many companies"
    assert {r.role_code for r in roles} >= {"DAGL", "LEDE", "MEDL", "INNH", "REGN", "REVI"}
    assert guardianships and all(g.ward != g.guardian for g in guardianships)
