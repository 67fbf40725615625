"""A correspondence resource in the registry with its policy, the sender's and recipients' tokens, and helpers
to send and to run the jobs, for the correspondence tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.decision import ORGANIZATION_ID
from felles.authorization.demo import PACKAGE, ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.jobs import Worker
from felles.registers.identifiers import make_person_identifier
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer

SERVICE_OWNER = "974761076"  # Skatteetaten owns the resource
ALLOWED_SENDER = "991825827"  # an organisation the policy lets send (action write)
OTHER_ORGANIZATION = "910753614"
RESOURCE = "skd-korrespondanse-test"
OTHER_RESOURCE = "skd-generisk-test"
KARI, OLA, INGRID, AISHA, REIDUN = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4], DEMO_PERSONS[6], DEMO_PERSONS[8]
COMPANY = DEMO_COMPANY  # Fjordkraft Demo AS: Ingrid is its daglig leder, Aisha a board member
API = "/correspondence/api/v1"
WRITE = ["altinn:correspondence.write", "altinn:serviceowner"]
READ = ["altinn:correspondence.read"]


def correspondence_resource(identifier: str = RESOURCE) -> authorization_schemas.ServiceResource:
    return authorization_schemas.ServiceResource.model_validate({
        "identifier": identifier, "resourceType": "CorrespondenceService",
        "title": {"nb": "Brev fra Skatteetaten", "nn": "Brev frå Skatteetaten", "en": "Letters from the Tax Office"},
        "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "skd"},
        "availableForType": ["PrivatePerson", "Company"]})


@pytest.fixture
async def resource(database) -> str:
    """The correspondence resource, whose policy lets the persons themselves (priv) and a company's daglig leder
    read, and the allowed sender write; a generic resource besides; the demo personas and their company."""
    actor = Actor(f"organization:{SERVICE_OWNER}")
    await authorization_service.create_resource(database, actor, SERVICE_OWNER, correspondence_resource())
    await authorization_service.put_policy(database, actor, SERVICE_OWNER, RESOURCE, policy_xml(RESOURCE, [
        ([(ROLE, "priv"), (ROLE, "dagl"), (PACKAGE, "post-til-virksomheten-med-taushetsbelagt-innhold")],
         ["read"]),
        ([(ORGANIZATION_ID, ALLOWED_SENDER)], ["write"]),
    ]))
    generic = correspondence_resource(OTHER_RESOURCE).model_dump(exclude_none=True)
    generic["resourceType"] = "GenericAccessResource"
    await authorization_service.create_resource(database, actor, SERVICE_OWNER,
                                                authorization_schemas.ServiceResource.model_validate(generic))
    await seed_demo_personas(database)
    return RESOURCE


@pytest.fixture
def sender(token) -> dict[str, str]:
    return bearer(token(scopes=WRITE, org=SERVICE_OWNER))


@pytest.fixture
def reader(token) -> Callable[[str], dict[str, str]]:
    """A person's Altinn token with the recipient's scope."""
    return lambda pid: bearer(token(scopes=READ, person=pid))


def person(identifier: str) -> str:
    return f"urn:altinn:person:identifier-no:{identifier}"


def organization(number: str) -> str:
    return f"urn:altinn:organization:identifier-no:{number}"


def request_body(*recipients: str, **correspondence: Any) -> dict[str, Any]:
    """An InitializeCorrespondencesExt as a service owner sends one."""
    body: dict[str, Any] = {
        "resourceId": RESOURCE, "sendersReference": "sak-2026-42",
        "content": {"language": "nb", "messageTitle": "Vedtak i saken din",
                    "messageSummary": "Vi har behandlet søknaden din.",
                    "messageBody": "# Vedtak\n\nSøknaden din er **innvilget**."},
        "dueDateTime": (utcnow() + timedelta(days=14)).isoformat(),
    }
    body.update(correspondence)
    return {"correspondence": body, "recipients": list(recipients or [person(KARI.identifier)])}


async def send(client: httpx.AsyncClient, headers: dict[str, str], *recipients: str, **correspondence: Any
               ) -> dict[str, Any]:
    response = await client.post(f"{API}/correspondence", json=request_body(*recipients, **correspondence),
                                 headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def run_jobs(database) -> int:
    return await Worker(database, concurrency=8).run_until_idle()


async def send_published(client, database, headers, *recipients: str, **correspondence: Any) -> list[str]:
    """Send and run the jobs: the ids of the published correspondences."""
    answer = await send(client, headers, *recipients, **correspondence)
    await run_jobs(database)
    return [item["correspondenceId"] for item in answer["correspondences"]]


def synthetic_persons(count: int) -> list[str]:
    """`count` distinct valid synthetic fødselsnummer (most not in the registers: KRR knows no reservation)."""
    found: list[str] = []
    day = date(1990, 1, 1)
    while len(found) < count:
        for individual in range(100, 500, 7):
            identifier = make_person_identifier(day, individual, synthetic=True)
            if identifier is not None and len(found) < count:
                found.append(identifier)
        day += timedelta(days=1)
    return found
