"""A service owner (Testdepartementet, ttd) with a service resource and its policy, its Maskinporten tokens, the
demo personas and their company in the registers, and a dialog body as Dialogporten's own tests send it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.demo import PACKAGE, ROLE, policy_xml
from felles.core.audit import Actor
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer

TTD = "405003309"
DIGDIR = "991825827"
RESOURCE = "ttd-dialogporten-automated-tests"
RESOURCE_URN = f"urn:altinn:resource:{RESOURCE}"
OTHER_RESOURCE = "digdir-dialogporten-other"
# A service whose policy requires logins at level 4 (ID-porten's "high"), as Dialogporten's test resource does.
HIGH_LEVEL_RESOURCE = "ttd-dialogporten-transmissions-test"
HIGH_LEVEL_RESOURCE_URN = f"urn:altinn:resource:{HIGH_LEVEL_RESOURCE}"
SERVICE_PROVIDER = "digdir:dialogporten.serviceprovider"
END_USER = "digdir:dialogporten"
DIALOGS = "/dialogporten/api/v1/serviceowner/dialogs"
ENDUSER_DIALOGS = "/dialogporten/api/v1/enduser/dialogs"
KARI, OLA, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4]
COMPANY = DEMO_COMPANY
KARI_URN = f"urn:altinn:person:identifier-no:{KARI.identifier}"
COMPANY_URN = f"urn:altinn:organization:identifier-no:{COMPANY}"


def with_minimum_authentication_level(policy: bytes, level: int) -> bytes:
    """The policy with Altinn's obligation that its rights need a login at `level` or higher."""
    obligation = (
        '<xacml:ObligationExpressions><xacml:ObligationExpression FulfillOn="Permit" '
        'ObligationId="urn:altinn:obligation:authenticationLevel1"><xacml:AttributeAssignmentExpression '
        'AttributeId="urn:altinn:obligation1-assignment1" Category="urn:altinn:minimum-authenticationlevel">'
        f'<xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#integer">{level}</xacml:AttributeValue>'
        '</xacml:AttributeAssignmentExpression></xacml:ObligationExpression></xacml:ObligationExpressions>')
    return policy.replace(b"</xacml:Policy>", obligation.encode() + b"</xacml:Policy>")


async def register_resource(database: Any, owner: str, orgcode: str, identifier: str,
                            minimum_authentication_level: int | None = None) -> None:
    """A generic resource whose policy lets the person themself (priv) and the company's leaders read and write,
    and only the daglig leder `sign`; holders of the package `ordinaer-post-til-virksomheten` may read. With
    `minimum_authentication_level`, its rights need a login at that level."""
    actor = Actor(f"organization:{owner}")
    await authorization_service.create_resource(database, actor, owner, authorization_schemas.ServiceResource(
        identifier=identifier, title={"nb": "Dialogporten-test", "en": "Dialogporten test"},
        hasCompetentAuthority=authorization_schemas.CompetentAuthority(organization=owner, orgcode=orgcode),
        resourceType="GenericAccessResource"))
    policy = policy_xml(identifier, [
        ([(ROLE, "priv"), (ROLE, "dagl"), (ROLE, "lede")], ["read", "write"]),
        ([(ROLE, "dagl")], ["sign"]),
        ([(PACKAGE, "ordinaer-post-til-virksomheten")], ["read"]),
    ])
    if minimum_authentication_level is not None:
        policy = with_minimum_authentication_level(policy, minimum_authentication_level)
    await authorization_service.put_policy(database, actor, owner, identifier, policy)


@pytest.fixture
async def resources(database) -> None:
    await register_resource(database, TTD, "ttd", RESOURCE)
    await register_resource(database, DIGDIR, "digdir", OTHER_RESOURCE)
    await seed_demo_personas(database)


@pytest.fixture
async def high_level_resource(database, resources) -> str:
    """ttd's service that needs a login at level 4; its urn."""
    await register_resource(database, TTD, "ttd", HIGH_LEVEL_RESOURCE, minimum_authentication_level=4)
    return HIGH_LEVEL_RESOURCE_URN


@pytest.fixture
def owner_headers(token) -> dict[str, str]:
    return bearer(token(scopes=[SERVICE_PROVIDER], org=TTD))


@pytest.fixture
def other_owner_headers(token) -> dict[str, str]:
    return bearer(token(scopes=[SERVICE_PROVIDER], org=DIGDIR))


def dialog_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceResource": RESOURCE_URN, "party": KARI_URN, "status": "InProgress",
        "process": "urn:test:process:1", "extendedStatus": "urn:any/valid/uri",
        "content": {
            "title": {"value": [{"value": "Skjema for rapportering av et eller annet", "languageCode": "nb"}]},
            "summary": {"value": [{"value": "Et sammendrag her.", "languageCode": "nb"},
                                  {"value": "A summary here.", "languageCode": "en"}]},
            "senderName": {"value": [{"value": "Avsendernavn", "languageCode": "nb"}]},
        },
        "searchTags": [{"value": "rapportering"}],
        "attachments": [{"displayName": [{"value": "Vedlegg", "languageCode": "nb"}], "name": "vedlegg",
                         "urls": [{"url": "https://altinn.no/vedlegg.pdf", "mediaType": "application/pdf",
                                   "consumerType": "Gui"}]}],
        "guiActions": [
            {"action": "read", "url": "https://digdir.no/", "priority": "Primary",
             "title": [{"value": "Gå til dialog", "languageCode": "nb"}]},
            {"action": "sign", "url": "https://digdir.no/sign", "priority": "Secondary", "httpMethod": "POST",
             "title": [{"value": "Signer", "languageCode": "nb"}]}],
        "apiActions": [{"action": "write", "name": "submit",
                        "endpoints": [{"url": "https://digdir.no/api", "httpMethod": "POST"}]}],
        "transmissions": [{"type": "Information", "sender": {"actorType": "ServiceOwner"},
                           "content": {"title": {"value": [{"value": "Melding", "languageCode": "nb"}]}}}],
        "activities": [{"type": "DialogCreated", "performedBy": {"actorType": "ServiceOwner"}}],
    }
    body.update(overrides)
    return body


async def create_dialog(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> str:
    response = await client.post(DIALOGS, json=dialog_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json())
