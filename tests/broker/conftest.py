"""A broker resource in the registry with its policy, the organisations that send and receive through it, their
tokens, and helpers that run a transfer the way a client does."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.decision import ORGANIZATION_ID
from felles.authorization.demo import PACKAGE, ROLE, policy_xml
from felles.core.audit import Actor
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer

API = "/broker/api/v1"
SERVICE_OWNER = "405003309"  # ttd, Testdepartementet
SENDER = DEMO_ACCOUNTING_FIRM  # Regnskap Demo AS
RECIPIENT = DEMO_COMPANY  # Fjordkraft Demo AS
OUTSIDER = "310000009"  # not named by the policy
RESOURCE = "ttd-broker-test"
WRITE, READ, SERVICE_OWNER_SCOPE = "altinn:broker.write", "altinn:broker.read", "altinn:serviceowner"
INGRID = DEMO_PERSONS[4]  # daglig leder of Fjordkraft


def urn(organization: str) -> str:
    return f"urn:altinn:organization:identifier-no:{organization}"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


async def register_broker_resource(database, identifier: str = RESOURCE) -> None:
    """A broker service of ttd whose policy lets the sender and the recipient organisations read and write, and
    persons with the role daglig leder (or the package ordinær post til virksomheten) act for their organisation."""
    owner = Actor(f"organization:{SERVICE_OWNER}")
    resource = authorization_schemas.ServiceResource.model_validate({
        "identifier": identifier, "resourceType": "BrokerService", "title": {"nb": "Testformidling"},
        "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "ttd"}})
    await authorization_service.create_resource(database, owner, SERVICE_OWNER, resource)
    await authorization_service.put_policy(database, owner, SERVICE_OWNER, identifier, policy_xml(identifier, [
        ([(ORGANIZATION_ID, SENDER), (ORGANIZATION_ID, RECIPIENT)], ["read", "write"]),
        ([(ROLE, "dagl"), (PACKAGE, "ordinaer-post-til-virksomheten")], ["read", "write"]),
    ]))


@pytest.fixture
async def resource(database) -> str:
    await seed_demo_personas(database)
    await register_broker_resource(database)
    return RESOURCE


@pytest.fixture
def sender_headers(token) -> dict[str, str]:
    return bearer(token(scopes=[WRITE, READ], org=SENDER))


@pytest.fixture
def recipient_headers(token) -> dict[str, str]:
    return bearer(token(scopes=[READ], org=RECIPIENT))


@pytest.fixture
def owner_headers(token) -> dict[str, str]:
    return bearer(token(scopes=[SERVICE_OWNER_SCOPE], org=SERVICE_OWNER))


def initialize_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"fileName": "rapport.txt", "resourceId": RESOURCE, "sendersFileTransferReference": "sak-1",
                            "sender": f"0192:{SENDER}", "recipients": [urn(RECIPIENT)],
                            "propertyList": {"caseNumber": "123"}}
    body.update(overrides)
    return body


async def initialize(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> str:
    response = await client.post(f"{API}/filetransfer", json=initialize_body(**overrides), headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["fileTransferId"])


async def upload(client: httpx.AsyncClient, headers: dict[str, str], transfer_id: str, data: bytes) -> httpx.Response:
    return await client.post(f"{API}/filetransfer/{transfer_id}/upload", content=data,
                             headers={**headers, "Content-Type": "application/octet-stream"})


async def overview(client: httpx.AsyncClient, headers: dict[str, str], transfer_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/filetransfer/{transfer_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def events_of(database, transfer_id: str) -> list[tuple[str, str]]:
    """The broker's CloudEvents about a transfer, oldest first, as (type without prefix, organisation)."""
    from sqlalchemy import select

    from felles.events.models import CloudEventRecord

    async with database.transaction() as session:
        rows = await session.scalars(select(CloudEventRecord).where(
            CloudEventRecord.resource_instance == transfer_id).order_by(CloudEventRecord.sequence))
        return [(row.type.removeprefix("no.altinn.broker."), (row.subject or "").rsplit(":", 1)[-1]) for row in rows]
