"""Consent resources in the registry, the consumer's tokens and the persons asked, for the consent tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.ids import uuid7
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.conftest import REFERENCE, bearer

CONSUMER = "910753614"  # the bank asking
OTHER_ORGANIZATION = "991825827"
SERVICE_OWNER = "974761076"  # Skatteetaten, owner of the consent resource
KARI, OLA = DEMO_PERSONS[0], DEMO_PERSONS[1]
WRITE = "altinn:consentrequests.write"
READ = "altinn:consentrequests.read"
CONSUMER_PATH = "/accessmanagement/api/v1/enterprise/consentrequests"
BFF = "/accessmanagement/api/v1/bff"
INCOME = "ske-inntekt-samtykke"


def income_resource() -> authorization_schemas.ServiceResource:
    """A consent resource as Skatteetaten would register one: its text names the year asked for."""
    return authorization_schemas.ServiceResource.model_validate({
        "identifier": INCOME, "resourceType": "Consent", "consentTemplate": "samtykkemal_simpleconsent",
        "title": {"nb": "Inntektsopplysninger", "nn": "Inntektsopplysningar", "en": "Income information"},
        "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "skd"},
        "availableForType": ["PrivatePerson"],
        "consentText": {
            "nb": "Skatteetaten gir banken opplysninger om **inntekten din** for {inntektsaar}.",
            "nn": "Skatteetaten gir banken opplysningar om **inntekta di** for {inntektsaar}.",
            "en": "The Tax Administration gives the bank information about **your income** for {inntektsaar}.",
        },
        "consentMetadata": {"inntektsaar": {"optional": False}, "merknad": {"optional": True}},
    })


@pytest.fixture
async def resources(database) -> dict[str, authorization_schemas.ServiceResource]:
    """Our income resource, STAMI's real consent resource from the reference data, and a resource that is not
    a consent resource."""
    stami = authorization_schemas.ServiceResource.model_validate(json.loads(
        (REFERENCE / "altinn-authorization/resourceregistry/resources/stami-samtykke-must.json").read_text()))
    generic = authorization_schemas.ServiceResource.model_validate({
        "identifier": "ske-generisk", "resourceType": "GenericAccessResource", "title": {"nb": "Generisk"},
        "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "skd"}})
    created = {}
    for resource in (income_resource(), stami, generic):
        owner = resource.hasCompetentAuthority.organization
        created[resource.identifier] = await authorization_service.create_resource(
            database, Actor(f"organization:{owner}"), owner, resource)
    await seed_demo_personas(database)
    return created


def request_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid7()), "from": f"urn:altinn:person:identifier-no:{KARI.identifier}",
        "to": f"urn:altinn:organization:identifier-no:{CONSUMER}",
        "validTo": (utcnow() + timedelta(days=30)).isoformat(),
        "consentRights": [{"action": ["consent"], "resource": [{"type": "urn:altinn:resource", "value": INCOME}],
                           "metaData": {"inntektsaar": "2025"}}],
        "requestMessage": {"nb": "Vi trenger dette for lånesøknaden din.", "en": "We need this for your loan."},
        "redirectUrl": "https://bank.example.no/lan?consent=1",
    }
    body.update(overrides)
    return body


@pytest.fixture
def consumer_headers(token) -> dict[str, str]:
    return bearer(token(scopes=[WRITE, READ], org=CONSUMER))


@pytest.fixture
def person_headers(token) -> Callable[[str], dict[str, str]]:
    return lambda pid: bearer(token(scopes=["openid"], person=pid))


async def create_request(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post(CONSUMER_PATH, json=request_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())
