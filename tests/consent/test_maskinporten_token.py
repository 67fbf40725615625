"""Maskinporten's consent token: a grant with `authorization_details` of type urn:altinn:consent gets a token
that carries the consent, once the person has accepted it and while it is valid, for its consumer only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from felles.core.audit import Actor
from felles.core.clock import clock, utcnow
from felles.identity import selfservice
from tests.consent.conftest import (
    BFF,
    COMPANY,
    CONSUMER,
    CONSUMER_PATH,
    FOR_ORGANIZATIONS,
    INCOME,
    INGRID,
    KARI,
    OLA,
    OTHER_ORGANIZATION,
    create_request,
    one_time_resource,
)
from tests.identity.conftest import (
    BASE,
    PROVIDER,
    MachineClient,
    register_machine_client,
    register_scope,
)
from tests.identity.test_maskinporten import claims_of, token

pytestmark = pytest.mark.usefixtures("resources")
CONSENT = "urn:altinn:consent"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"base_url": BASE})


async def machine_client(database, owner: str, key_index: int) -> MachineClient:
    scope = await register_scope(database) if owner == CONSUMER else "prov:api.read"
    await selfservice.set_scope_access(database, Actor(f"organization:{PROVIDER}"), PROVIDER, scope, owner,
                                       approved=True)
    return await register_machine_client(database, owner, [scope], key_index=key_index)


@pytest.fixture
async def bank(database) -> MachineClient:
    return await machine_client(database, CONSUMER, 0)


async def accepted_consent(client, consumer_headers, person_headers, **overrides) -> dict:
    created = await create_request(client, consumer_headers, **overrides)
    response = await client.post(f"{BFF}/consentrequests/{created['id']}/accept",
                                 headers=person_headers(KARI.identifier))
    assert response.status_code == 200
    return dict(response.json())


def consent_detail(consent_id: str, person: str = KARI.identifier) -> list[dict]:
    return [{"type": CONSENT, "id": consent_id, "from": f"urn:altinn:person:identifier-no:{person}"}]


async def test_the_token_carries_the_accepted_consent(client, bank, consumer_headers, person_headers):
    consent = await accepted_consent(client, consumer_headers, person_headers)
    response = await token(client, bank.grant(authorization_details=consent_detail(consent["id"])))
    assert response.status_code == 200, response.text
    (detail,) = claims_of(response.json()["access_token"])["authorization_details"]
    assert detail["type"] == CONSENT and detail["id"] == consent["id"]
    assert detail["from"] == f"urn:altinn:person:identifier-no:{KARI.identifier}"
    assert detail["to"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{CONSUMER}"}
    assert detail["consentRights"] == [{"action": ["consent"], "metadata": {"inntektsaar": "2025"},
                                        "resource": [{"type": "urn:altinn:resource", "value": INCOME}]}]
    assert detail["consented"].startswith(consent["consented"][:19])
    assert detail["validTo"].startswith(consent["validTo"][:19])
    plain = claims_of((await token(client, bank.grant())).json()["access_token"])
    assert "authorization_details" not in plain


async def test_a_consent_that_is_not_accepted_gives_no_token(client, bank, consumer_headers, person_headers):
    open_request = await create_request(client, consumer_headers)
    response = await token(client, bank.grant(authorization_details=consent_detail(open_request["id"])))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "Created, not Accepted" in response.json()["error_description"]

    revoked = await accepted_consent(client, consumer_headers, person_headers)
    await client.post(f"{BFF}/consents/{revoked['id']}/revoke", headers=person_headers(KARI.identifier))
    response = await token(client, bank.grant(authorization_details=consent_detail(revoked["id"])))
    assert response.json()["error"] == "invalid_grant" and "Revoked" in response.json()["error_description"]


async def test_an_expired_consent_gives_no_token(client, bank, consumer_headers, person_headers):
    consent = await accepted_consent(client, consumer_headers, person_headers,
                                     validTo=(utcnow() + timedelta(hours=1)).isoformat())
    clock.advance(timedelta(hours=2))
    issued_at = int(utcnow().timestamp())  # the grant is made at the moved time
    response = await token(client, bank.grant(authorization_details=consent_detail(consent["id"]),
                                              iat=issued_at, exp=issued_at + 60))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant" and "Expired" in response.json()["error_description"]


async def test_only_the_consumer_the_consent_is_given_to_gets_it(client, database, bank, consumer_headers,
                                                                 person_headers):
    consent = await accepted_consent(client, consumer_headers, person_headers)
    other = await machine_client(database, OTHER_ORGANIZATION, 1)
    response = await token(client, other.grant(authorization_details=consent_detail(consent["id"])))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert f"not given to organisation {OTHER_ORGANIZATION}" in response.json()["error_description"]
    wrong_person = await token(client, bank.grant(authorization_details=consent_detail(consent["id"], OLA.identifier)))
    assert wrong_person.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("details", "described"), [
    ([{"type": "urn:altinn:resource", "id": "x"}], "supported authorization_details type"),
    ([{"type": CONSENT, "id": "not-a-uuid"}], "id (a UUID)"),
    ([{"type": CONSENT, "id": "0195f0a0-0000-7000-8000-000000000000"}], "There is no consent"),
    ({"type": CONSENT}, "JSON array"),
    ([], "JSON array"),
])
async def test_malformed_or_unknown_consent_details(client, bank, details, described):
    response = await token(client, bank.grant(authorization_details=details))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"
    assert described in response.json()["error_description"]


async def test_a_deleted_consent_is_unknown(client, bank, consumer_headers, person_headers):
    consent = await accepted_consent(client, consumer_headers, person_headers)
    await client.delete(f"{CONSUMER_PATH}/{consent['id']}", headers=consumer_headers)
    response = await token(client, bank.grant(authorization_details=consent_detail(consent["id"])))
    assert response.json()["error"] == "invalid_authorization_details"


async def test_a_consent_given_for_an_organisation_names_it_in_the_token(client, bank, consumer_headers,
                                                                          person_headers):
    company = f"urn:altinn:organization:identifier-no:{COMPANY}"
    created = await create_request(client, consumer_headers, **{"from": company}, consentRights=[{
        "action": ["consent"], "resource": [{"type": "urn:altinn:resource", "value": FOR_ORGANIZATIONS}]}])
    await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=person_headers(INGRID.identifier))
    response = await token(client, bank.grant(authorization_details=[{"type": CONSENT, "id": created["id"],
                                                                       "from": company}]))
    assert response.status_code == 200, response.text
    (detail,) = claims_of(response.json()["access_token"])["authorization_details"]
    assert detail["from"] == company
    as_person = await token(client, bank.grant(authorization_details=consent_detail(created["id"],
                                                                                    INGRID.identifier)))
    assert as_person.json()["error"] == "invalid_grant"


async def test_a_one_time_consent_is_carried_like_any_consent_until_its_valid_to(
        client, database, bank, consumer_headers, person_headers):
    """Altinn's `isOneTimeConsent` changes only what the consent page tells the person: the lookup behind
    Maskinporten neither marks the consent used nor ends it, so each token carries it until its validTo, and the
    request's history gets no event from a token."""
    one_time = await one_time_resource(database)
    consent = await accepted_consent(client, consumer_headers, person_headers, consentRights=[{
        "action": ["consent"], "resource": [{"type": "urn:altinn:resource", "value": one_time}],
        "metadata": {"inntektsaar": "2025"}}], validTo=(utcnow() + timedelta(hours=1)).isoformat())

    for _ in range(2):
        response = await token(client, bank.grant(authorization_details=consent_detail(consent["id"])))
        assert response.status_code == 200, response.text
        (detail,) = claims_of(response.json()["access_token"])["authorization_details"]
        assert detail["id"] == consent["id"] and detail["validTo"].startswith(consent["validTo"][:19])
    read = (await client.get(f"{CONSUMER_PATH}/{consent['id']}", headers=consumer_headers)).json()
    assert read["status"] == "Accepted"
    assert [event["eventType"] for event in read["consentRequestEvents"]] == ["Created", "Accepted"]

    clock.advance(timedelta(hours=2))
    issued_at = int(utcnow().timestamp())
    late = await token(client, bank.grant(authorization_details=consent_detail(consent["id"]), iat=issued_at,
                                          exp=issued_at + 60))
    assert late.json()["error"] == "invalid_grant" and "Expired" in late.json()["error_description"]
