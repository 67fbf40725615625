"""Consent resources in the registry with their policies, the consumer's tokens and the persons asked, for the
consent tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization import service_delegations
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.ids import uuid7
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import REFERENCE, bearer

CONSUMER = "910753614"  # the bank asking
OTHER_ORGANIZATION = "991825827"
SERVICE_OWNER = "974761076"  # Skatteetaten, owner of the consent resource
KARI, OLA = DEMO_PERSONS[0], DEMO_PERSONS[1]
# Fjordkraft Demo AS (DEMO_COMPANY): Ingrid is its daglig leder (DAGL); Kari only a board member (MEDL).
INGRID = DEMO_PERSONS[4]
COMPANY = DEMO_COMPANY
WRITE = "altinn:consentrequests.write"
READ = "altinn:consentrequests.read"
CONSUMER_PATH = "/accessmanagement/api/v1/enterprise/consentrequests"
BFF = "/accessmanagement/api/v1/bff"
INCOME = "ske-inntekt-samtykke"
# A consent resource for organisations only: its policy lets their DAGL or LEDE consent, and no private person.
FOR_ORGANIZATIONS = "ttd-samtykkeressurs-forallevirksomheter"
PDP_RESOURCES = REFERENCE / "altinn-authorization/pdp/resources"


def reference_policy(name: str, identifier: str) -> bytes:
    """A real consent policy from Altinn's PDP tests, for our resource `identifier`."""
    return (PDP_RESOURCES / f"{name}.policy.xml").read_text(encoding="utf-8-sig").replace(name, identifier).encode()



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


def organizations_resource() -> authorization_schemas.ServiceResource:
    return authorization_schemas.ServiceResource.model_validate({
        "identifier": FOR_ORGANIZATIONS, "resourceType": "Consent", "consentTemplate": "default",
        "title": {"nb": "Regnskapsopplysninger", "nn": "Rekneskapsopplysningar", "en": "Accounting information"},
        "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "skd"},
        "availableForType": ["Company"],
        "consentText": {"nb": "Banken får se regnskapet.", "nn": "Banken får sjå rekneskapen.",
                        "en": "The bank sees the accounts."},
    })


async def one_time_resource(database) -> str:
    """Our income resource as a one-time consent (`isOneTimeConsent`), with Skatteetaten's consent policy."""
    one_time = income_resource().model_copy(update={"identifier": "ske-inntekt-engangs", "isOneTimeConsent": True})
    owner = Actor(f"organization:{SERVICE_OWNER}")
    await authorization_service.create_resource(database, owner, SERVICE_OWNER, one_time)
    await authorization_service.put_policy(database, owner, SERVICE_OWNER, one_time.identifier, reference_policy(
        "ske-samtykke-sbl-summert-skattegrunnlag", one_time.identifier))
    return one_time.identifier


@pytest.fixture
async def resources(database) -> dict[str, authorization_schemas.ServiceResource]:
    """Our income resource and STAMI's real consent resource from the reference data, both with Skatteetaten's
    real consent policy (any organisation may ask; the person themself (priv), key roles and accountants may
    consent); a consent resource for organisations only, with Altinn's test policy for it; and a resource that
    is not a consent resource. The demo personas and their company are in the registers."""
    stami = authorization_schemas.ServiceResource.model_validate(json.loads(
        (REFERENCE / "altinn-authorization/resourceregistry/resources/stami-samtykke-must.json").read_text()))
    generic = authorization_schemas.ServiceResource.model_validate({
        "identifier": "ske-generisk", "resourceType": "GenericAccessResource", "title": {"nb": "Generisk"},
        "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "skd"}})
    policies = {INCOME: reference_policy("ske-samtykke-sbl-summert-skattegrunnlag", INCOME),
                stami.identifier: reference_policy("ske-samtykke-sbl-summert-skattegrunnlag", stami.identifier),
                FOR_ORGANIZATIONS: reference_policy(FOR_ORGANIZATIONS, FOR_ORGANIZATIONS)}
    created = {}
    for resource in (income_resource(), stami, organizations_resource(), generic):
        owner = resource.hasCompetentAuthority.organization
        actor = Actor(f"organization:{owner}")
        created[resource.identifier] = await authorization_service.create_resource(database, actor, owner, resource)
        if resource.identifier in policies:
            await authorization_service.put_policy(database, actor, owner, resource.identifier,
                                                   policies[resource.identifier])
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
    return lambda pid: bearer(token(scopes=[], person=pid))


async def create_request(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post(CONSUMER_PATH, json=request_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_access_manager(database, person: str) -> None:
    """Ingrid, daglig leder of the company, gives ``person`` the package tilgangsstyrer for it."""
    await service_delegations.delegate_package(
        database, Actor(f"person:{INGRID.identifier}"), INGRID.identifier,
        authorization_schemas.PackageDelegationCreate(party=COMPANY, to=person, package="tilgangsstyrer"))
