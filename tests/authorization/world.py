"""Small registers worlds for authorization tests: organisations, persons, roles and guardianships."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.registers.identifiers import make_person_identifier
from felles.registers.models import Guardianship, Organization, ParentChild, Person, Role

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "altinn-authorization"
SKD = "974761076"  # Skatteetaten, a service owner
ACME = "910000012"
ACME_BRANCH = "910000020"
OTHER_COMPANY = "910000039"
AUTHORIZE_SCOPE = "altinn:authorization/authorize"
DELEGABLE_RESOURCE = "ttd-accesspackage-resource"  # read/write for holders of the package "ansettelsesforhold"


async def add_delegable_resource(database: Database) -> None:
    """Skatteetaten's delegable resource ``DELEGABLE_RESOURCE``, with Altinn's reference policy for it."""
    from felles.authorization import schemas, service
    from felles.core.audit import Actor

    owner = Actor(f"organization:{SKD}")
    await service.create_resource(database, owner, SKD, schemas.ServiceResource.model_validate({
        "identifier": DELEGABLE_RESOURCE, "title": {"nb": "Ansettelsesforhold", "nn": "Tilsetjing", "en": "Employment"},
        "hasCompetentAuthority": {"organization": SKD, "orgcode": "skd"}, "resourceType": "GenericAccessResource"}))
    await service.put_policy(database, owner, SKD, DELEGABLE_RESOURCE,
                             (REFERENCE / "pdp" / "resources" / f"{DELEGABLE_RESOURCE}.policy.xml").read_bytes())


def _identifier_attribute(value: str) -> str:
    return f"urn:altinn:{'person' if len(value) == 11 else 'organization'}:identifier-no"


async def decide_over_http(client: Any, token: Any, subject: str, party: str, resource: str,
                           action: str = "read") -> str:
    """Skatteetaten asks the decision API whether ``subject`` may do ``action`` on ``resource`` for ``party``
    (each a fødselsnummer or an organisation number); the decision."""
    body = {"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": _identifier_attribute(subject), "Value": subject}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": action}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": resource},
                                    {"AttributeId": _identifier_attribute(party), "Value": party}]}],
    }}
    response = await client.post("/authorization/api/v1/authorize", json=body,
                                 headers={"Authorization": f"Bearer {token(scopes=[AUTHORIZE_SCOPE], org=SKD)}"})
    assert response.status_code == 200, response.text
    return str(response.json()["Response"][0]["Decision"])


def organization_number(base: int) -> str:
    """A valid organisasjonsnummer (mod 11) from an 8-digit base, skipping bases without one."""
    while True:
        digits = str(base)
        total = sum(int(d) * w for d, w in zip(digits, (3, 2, 7, 6, 5, 4, 3, 2), strict=True))
        check = 11 - total % 11
        if check != 10:
            return digits + ("0" if check == 11 else str(check))
        base += 1


def person_number(born: date, serial: int) -> str:
    """A valid synthetic fødselsnummer born on ``born`` (serial 0–99 picks among them)."""
    base = 0 if born.year < 2000 else 500
    for individual in range(base + serial * 4, base + 500):
        identifier = make_person_identifier(born, individual, synthetic=True)
        if identifier is not None:
            return identifier
    raise ValueError("no identifier")


async def add_organizations(database: Database, *organizations: tuple[str, str, str | None]) -> None:
    """(number, form, main unit) — names are "Org <number>"."""
    now = utcnow()
    async with database.transaction() as session:
        for number, form, parent in organizations:
            session.add(Organization(organization_number=number, name=f"Org {number}", organization_form=form,
                                     parent_organization_number=parent, registered_on=date(2020, 1, 1),
                                     updated_at=now))
            await session.flush()


async def add_persons(database: Database, *persons: tuple[str, date]) -> None:
    now = utcnow()
    async with database.transaction() as session:
        for identifier, born in persons:
            session.add(Person(national_identity_number=identifier, given_name="Test", family_name=identifier[-5:],
                               birth_date=born, gender="kvinne", status="bosatt", updated_at=now))


async def add_roles(database: Database, *roles: tuple[str, str, str]) -> None:
    """(organisation, role code, person)."""
    async with database.transaction() as session:
        for position, (organization, code, person) in enumerate(roles):
            session.add(Role(id=uuid7(), organization_number=organization, role_code=code, person=person,
                             position=position, registered_on=date(2020, 1, 1)))


async def add_parent(database: Database, parent: str, child: str) -> None:
    async with database.transaction() as session:
        session.add(ParentChild(parent=parent, child=child, parent_role="mor"))


async def add_guardianship(database: Database, guardian: str, ward: str, areas: list[tuple[str, str]]) -> None:
    async with database.transaction() as session:
        session.add(Guardianship(
            id=uuid.uuid4(), ward=ward, guardian=guardian, guardianship_type="voksen", scope="utenlandssaker",
            service_areas=[{"tjenestevirksomhet": b, "tjenesteoppgave": t} for b, t in areas],
            appointed_by="Statsforvalteren i Oslo og Viken", valid_from=date(2020, 1, 1)))


async def add_organization_roles(database: Database, *roles: tuple[str, str, str]) -> None:
    """(client organisation, role code, holder organisation): an accounting firm's REGN for a client ..."""
    async with database.transaction() as session:
        for position, (organization, code, holder) in enumerate(roles):
            session.add(Role(id=uuid7(), organization_number=organization, role_code=code,
                             holder_organization_number=holder, position=position, registered_on=date(2020, 1, 1)))
