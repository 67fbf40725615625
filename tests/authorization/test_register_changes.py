"""Register changes reach decisions and authorized parties at once: authorization reads the registers through
their service (in bulk) and forgets what it cached when a register announces a change."""

from __future__ import annotations

from datetime import date

from felles.authorization import service
from felles.authorization.xacml import request_from_json
from felles.core.audit import Actor
from felles.core.db import Database
from felles.registers import schemas as register_schemas
from felles.registers import service as registers
from felles.registers import service_changes
from tests.authorization.world import ACME, ACME_BRANCH, REFERENCE, SKD, add_organizations, add_persons, person_number

ACTOR = Actor("test:registers")
LEADER = person_number(date(1970, 5, 17), 1)
GUARDIAN = person_number(date(1965, 4, 4), 2)
WARD = person_number(date(1940, 1, 1), 3)
POLICY_TEMPLATE = (REFERENCE / "pdp" / "resources" / "ttd-accesspackage-resource.policy.xml").read_text("utf-8-sig")


def policy_for(resource: str, package: str) -> bytes:
    """Read and write of ``resource`` for holders of ``package``."""
    return POLICY_TEMPLATE.replace("ttd-accesspackage-resource", resource).replace(
        ">ansettelsesforhold<", f">{package}<").encode()


async def add_resource(database: Database, resource: str, package: str) -> None:
    document = {"identifier": resource, "title": {"nb": resource, "nn": resource, "en": resource},
                "hasCompetentAuthority": {"organization": SKD, "orgcode": "skd"},
                "resourceType": "GenericAccessResource"}
    await service.create_resource(database, ACTOR, SKD, service.s.ServiceResource.model_validate(document))
    await service.put_policy(database, ACTOR, SKD, resource, policy_for(resource, package))


def request(person: str, party_attribute: str, party: str, resource: str) -> dict:
    return {"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": person}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                   "Value": "read"}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": resource},
                                    {"AttributeId": party_attribute, "Value": party}]}],
    }}


async def decision(database: Database, body: dict) -> str:
    return (await service.authorize(database, request_from_json(body))).results[0].decision.value


async def test_a_role_registered_and_resigned_in_enhetsregisteret_changes_the_decision(database):
    await add_organizations(database, (ACME, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)))
    await add_resource(database, "employment", "ansettelsesforhold")
    body = request(LEADER, "urn:altinn:organization:identifier-no", ACME, "employment")
    assert await decision(database, body) == "NotApplicable"  # cached now: no role yet

    role = await registers.register_role(database, ACTOR, ACME, "DAGL", person=LEADER)
    assert await decision(database, body) == "Permit"

    await registers.resign_role(database, ACTOR, ACME, role)
    assert await decision(database, body) == "NotApplicable"


async def test_a_guardianship_registered_and_ended_in_folkeregisteret_changes_the_decision(database):
    await add_persons(database, (GUARDIAN, date(1965, 4, 4)), (WARD, date(1940, 1, 1)))
    await add_resource(database, "pension", "vergemal-nav-pensjon")
    body = request(GUARDIAN, "urn:altinn:person:identifier-no", WARD, "pension")
    assert await decision(database, body) == "NotApplicable"

    registration = register_schemas.GuardianshipRegistration(
        verge=GUARDIAN, type="voksen", omfang="oekonomiskeInteresser",
        tjenesteomraade=[register_schemas.Tjenesteomraade(tjenestevirksomhet="nav", tjenesteoppgave="pensjon")])
    guardianship = await service_changes.add_guardianship(database, ACTOR, WARD, registration)
    assert await decision(database, body) == "Permit"
    assert WARD in {p.personId for p in await service.authorized_parties(database, ACTOR, GUARDIAN)}

    await service_changes.end_guardianship(database, ACTOR, WARD, str(guardianship.id))
    assert await decision(database, body) == "NotApplicable"
    assert WARD not in {p.personId for p in await service.authorized_parties(database, ACTOR, GUARDIAN)}


async def test_a_death_in_folkeregisteret_shows_in_authorized_parties(database):
    await add_persons(database, (GUARDIAN, date(1965, 4, 4)), (WARD, date(1940, 1, 1)))
    await service_changes.add_guardianship(database, ACTOR, WARD, register_schemas.GuardianshipRegistration(
        verge=GUARDIAN, type="voksen", omfang="oekonomiskeInteresser",
        tjenesteomraade=[register_schemas.Tjenesteomraade(tjenestevirksomhet="nav", tjenesteoppgave="pensjon")]))
    assert WARD in {p.personId for p in await service.authorized_parties(database, ACTOR, GUARDIAN)}

    await service_changes.register_death(database, ACTOR, WARD, date(2026, 1, 2))
    # A dead ward is no longer acted for; the guardian still acts for themself.
    assert {p.personId for p in await service.authorized_parties(database, ACTOR, GUARDIAN)} == {GUARDIAN}


async def test_authorized_parties_read_names_and_sub_units_from_enhetsregisteret_in_bulk(database):
    await add_organizations(database, (ACME, "AS", None), (ACME_BRANCH, "BEDR", ACME))
    await add_persons(database, (LEADER, date(1970, 5, 17)))
    await registers.register_role(database, ACTOR, ACME, "DAGL", person=LEADER)

    (company,) = [p for p in await service.authorized_parties(database, ACTOR, LEADER) if p.organizationNumber]
    assert (company.organizationNumber, company.name, company.unitType) == (ACME, f"Org {ACME}", "AS")
    assert [(u.organizationNumber, u.unitType, u.parentId) for u in company.subunits] == [
        (ACME_BRANCH, "BEDR", company.partyId)]
    assert "ansettelsesforhold" in company.subunits[0].authorizedAccessPackages  # the main unit's roles count
