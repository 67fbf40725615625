"""The consent API: a data consumer asks, the person answers and may revoke, the consumer reads and deletes;
who may do what; validation of what is asked; expiry by the movable clock; history, audit and events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from felles.core.audit import search_entries
from felles.core.clock import clock, utcnow
from felles.core.jobs import Worker
from felles.core.tokens import Issuer
from tests.conftest import bearer
from tests.consent.conftest import (
    BFF,
    CONSUMER,
    CONSUMER_PATH,
    INCOME,
    KARI,
    OLA,
    OTHER_ORGANIZATION,
    READ,
    WRITE,
    create_request,
    request_body,
)

pytestmark = pytest.mark.usefixtures("resources")


def history(details: dict) -> list[str]:
    return [event["eventType"] for event in details["consentRequestEvents"]]


async def test_consumer_creates_the_person_accepts_and_the_consumer_reads_the_consent(
        client, database, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    assert created["status"] == "Created" and created["consented"] is None
    assert created["from"] == f"urn:altinn:person:identifier-no:{KARI.identifier}"
    assert created["to"] == f"urn:altinn:organization:identifier-no:{CONSUMER}"
    assert created["viewUri"].endswith(f"/accessmanagement/ui/consent/request?id={created['id']}")
    assert created["templateId"] == "samtykkemal_simpleconsent"
    assert created["consentRights"][0]["metadata"] == {"inntektsaar": "2025"}
    assert history(created) == ["Created"]
    assert created["consentRequestEvents"][0]["performedBy"] == f"urn:altinn:organization:identifier-no:{CONSUMER}"

    seen = await client.get(f"{BFF}/consentrequests/{created['id']}", headers=person_headers(KARI.identifier))
    assert seen.status_code == 200 and seen.json()["requestMessage"]["nb"].startswith("Vi trenger")

    accepted = await client.post(f"{BFF}/consentrequests/{created['id']}/accept",
                                 headers=person_headers(KARI.identifier))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "Accepted" and accepted.json()["consented"] is not None

    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert read.status_code == 200
    assert read.json()["status"] == "Accepted" and history(read.json()) == ["Created", "Accepted"]
    assert read.json()["consentRequestEvents"][1]["performedBy"] == \
        f"urn:altinn:person:identifier-no:{KARI.identifier}"

    again = await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=person_headers(KARI.identifier))
    assert again.status_code == 409 and again.json()["code"] == "consent_status_conflict"

    # Each change is in the audit log, under the person and the consumer (beside the register reads of the
    # authorization decisions).
    async with database.transaction() as session:
        entries = [record for record in await search_entries(session, subject=KARI.identifier, actor=None,
                                                              after=None, limit=20)
                   if record.entry.action.startswith("consent.")]
    assert sorted(record.entry.action for record in entries) == ["consent.accepted", "consent.created"]
    assert {record.entry.actor for record in entries} == {f"organization:{CONSUMER}", f"person:{KARI.identifier}"}


async def test_each_status_change_is_an_event_the_consumer_can_read(client, consumer_headers, person_headers, token):
    created = await create_request(client, consumer_headers)
    await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=person_headers(KARI.identifier))
    await client.post(f"{BFF}/consents/{created['id']}/revoke", headers=person_headers(KARI.identifier))
    reader = bearer(token(scopes=["altinn:events.subscribe"], org=CONSUMER))
    response = await client.get("/events/api/v1/events", headers=reader, params={
        "resource": "urn:altinn:resource:altinn-consent", "after": "0", "size": 10})
    assert response.status_code == 200, response.text
    events = response.json()
    assert [event["type"] for event in events] == [
        "no.altinn.consent.request.created", "no.altinn.consent.request.accepted",
        "no.altinn.consent.request.revoked"]
    assert {event["resourceinstance"] for event in events} == {created["id"]}
    assert events[-1]["data"] == {"consentRequestId": created["id"], "status": "Revoked"}


async def test_the_person_rejects_and_then_cannot_accept(client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    rejected = await client.post(f"{BFF}/consentrequests/{created['id']}/reject",
                                 headers=person_headers(KARI.identifier))
    assert rejected.json()["status"] == "Rejected"
    late = await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=person_headers(KARI.identifier))
    assert late.status_code == 409 and late.json()["status"] == "Rejected"


async def test_the_person_revokes_an_accepted_consent_but_not_an_open_request(client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    early = await client.post(f"{BFF}/consents/{created['id']}/revoke", headers=person_headers(KARI.identifier))
    assert early.status_code == 409
    await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=person_headers(KARI.identifier))
    revoked = await client.post(f"{BFF}/consents/{created['id']}/revoke", headers=person_headers(KARI.identifier))
    assert revoked.status_code == 200 and revoked.json()["status"] == "Revoked"
    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert history(read.json()) == ["Created", "Accepted", "Revoked"]


async def test_the_consumer_deletes_its_request_and_the_person_no_longer_sees_it(
        client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    deleted = await client.delete(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert deleted.status_code == 200 and deleted.json()["status"] == "Deleted"
    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert read.json()["status"] == "Deleted"
    gone = await client.get(f"{BFF}/consentrequests/{created['id']}", headers=person_headers(KARI.identifier))
    assert gone.status_code == 404
    twice = await client.delete(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert twice.status_code == 409


async def test_another_organisation_can_neither_read_nor_delete_the_request(client, consumer_headers, token):
    created = await create_request(client, consumer_headers)
    other = bearer(token(scopes=[WRITE, READ], org=OTHER_ORGANIZATION))
    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=other)
    assert read.status_code == 403 and read.json()["code"] == "not_consent_consumer"
    assert (await client.delete(f"{CONSUMER_PATH}/{created['id']}", headers=other)).status_code == 403
    # Nor can it ask on behalf of the consumer, or reuse the consumer's request id for itself.
    as_consumer = await client.post(CONSUMER_PATH, json=request_body(), headers=other)
    assert as_consumer.status_code == 403
    reused = await client.post(CONSUMER_PATH, headers=other, json=request_body(
        id=created["id"], to=f"urn:altinn:organization:identifier-no:{OTHER_ORGANIZATION}"))
    assert reused.status_code == 409 and reused.json()["code"] == "consent_request_exists"


async def test_another_person_can_neither_see_nor_answer_the_request(client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers)
    for call in ("accept", "reject"):
        response = await client.post(f"{BFF}/consentrequests/{created['id']}/{call}",
                                     headers=person_headers(OLA.identifier))
        assert response.status_code == 403 and response.json()["code"] == "not_consent_party"
    seen = await client.get(f"{BFF}/consentrequests/{created['id']}", headers=person_headers(OLA.identifier))
    assert seen.status_code == 403
    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert read.json()["status"] == "Created"


async def test_tokens_must_fit_the_side_of_the_api(client, consumer_headers, person_headers, token):
    created = await create_request(client, consumer_headers)
    reader = bearer(token(scopes=[READ], org=CONSUMER))
    assert (await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=reader)).status_code == 200
    no_write = await client.post(CONSUMER_PATH, json=request_body(), headers=reader)
    assert no_write.status_code == 403 and no_write.json()["code"] == "insufficient_scope"
    person_as_consumer = await client.post(CONSUMER_PATH, json=request_body(),
                                           headers=bearer(token(scopes=[WRITE], person=KARI.identifier)))
    assert person_as_consumer.json()["code"] == "organization_required"
    # The BFF takes Altinn end-user tokens: a Maskinporten token is not one, an organisation's Altinn token is
    # not a person's.
    consumer_as_person = await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=consumer_headers)
    assert consumer_as_person.status_code == 401 and consumer_as_person.json()["code"] == "invalid_token"
    exchanged_consumer = bearer(token(scopes=[WRITE], org=CONSUMER, issuer=Issuer.ALTINN))
    consumer_as_person = await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=exchanged_consumer)
    assert consumer_as_person.json()["code"] == "person_required"
    assert (await client.get(f"{CONSUMER_PATH}/{created['id']}")).status_code == 401


async def test_sending_the_same_request_again_answers_with_the_stored_one(client, consumer_headers):
    body = request_body()
    first = await client.post(CONSUMER_PATH, json=body, headers=consumer_headers)
    second = await client.post(CONSUMER_PATH, json=body, headers=consumer_headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"] and history(second.json()) == ["Created"]


@pytest.mark.parametrize(("overrides", "code"), [
    ({"validTo": "2020-01-01T00:00:00+00:00"}, "invalid_valid_to"),
    ({"redirectUrl": "http://bank.example.no/lan"}, "invalid_redirect_url"),
    ({"redirectUrl": "javascript:alert(1)"}, "invalid_redirect_url"),
    ({"redirectUrl": "/relative"}, "invalid_redirect_url"),
    ({"from": "urn:altinn:person:identifier-no:12345678901"}, "invalid_party"),
    ({"from": "urn:altinn:organization:identifier-no:123456789"}, "invalid_party"),
    ({"from": "urn:altinn:party:uuid:0195f0a0-0000-7000-8000-000000000000"}, "invalid_party"),
    ({"requiredDelegator": f"urn:altinn:organization:identifier-no:{CONSUMER}"}, "invalid_party"),
    ({"to": "urn:altinn:organization:identifier-no:123456789"}, "invalid_party"),
    ({"requestMessage": {"nb": "  "}}, "invalid_request_message"),
    ({"consentRights": [{"action": ["consent"], "resource": [{"value": "ske-generisk"}]}]}, "not_consent_resource"),
    ({"consentRights": [{"action": ["consent"], "resource": [{"value": "finnes-ikke"}]}]}, "unknown_resource"),
    ({"consentRights": [{"action": ["consent"], "resource": [{"value": INCOME}]}]}, "missing_consent_metadata"),
    ({"consentRights": [{"action": ["consent"], "resource": [{"value": INCOME}],
                         "metadata": {"inntektsaar": "2025", "kontonummer": "1"}}]}, "unknown_consent_metadata"),
    ({"consentRights": [{"action": ["consent"], "resource": [{"value": "stami-samtykke-must"}],
                         "metadata": {"virksomhet": "Digdir"}}]}, "missing_consent_metadata"),
])
async def test_what_is_asked_is_checked(client, consumer_headers, overrides, code):
    response = await client.post(CONSUMER_PATH, json=request_body(**overrides), headers=consumer_headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code


async def test_a_real_consent_resource_with_its_required_metadata_is_accepted(client, consumer_headers):
    created = await create_request(client, consumer_headers, consentRights=[{
        "action": ["consent"], "resource": [{"type": "urn:altinn:resource", "value": "stami-samtykke-must"}],
        "metadata": {"virksomhet": "Digdir", "samtykkelink": "https://stami.no/must"}}])
    assert created["templateId"] == "samtykkemal_simpleconsent"


async def test_a_request_past_its_valid_to_reads_as_expired_and_can_no_longer_be_answered(
        client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers, validTo=(utcnow() + timedelta(hours=1)).isoformat())
    clock.advance(timedelta(hours=2))
    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert read.json()["status"] == "Expired" and history(read.json()) == ["Created"]  # computed, not stored yet
    late = await client.post(f"{BFF}/consentrequests/{created['id']}/accept", headers=person_headers(KARI.identifier))
    assert late.status_code == 409 and late.json()["status"] == "Expired"
    # The refused answer stored the expiry.
    read = await client.get(f"{CONSUMER_PATH}/{created['id']}", headers=consumer_headers)
    assert history(read.json()) == ["Created", "Expired"]
    assert read.json()["consentRequestEvents"][1]["performedBy"] == "urn:altinn:system:felles-consent-expiry"


async def test_the_recurring_job_stores_the_expiry_of_consents(client, database, consumer_headers, person_headers):
    soon = await create_request(client, consumer_headers, validTo=(utcnow() + timedelta(hours=1)).isoformat())
    await client.post(f"{BFF}/consentrequests/{soon['id']}/accept", headers=person_headers(KARI.identifier))
    later = await create_request(client, consumer_headers)
    clock.advance(timedelta(hours=2))
    worker = Worker(database)
    await worker.schedule_recurring()
    await worker.run_until_idle()
    expired = (await client.get(f"{CONSUMER_PATH}/{soon['id']}", headers=consumer_headers)).json()
    assert expired["status"] == "Expired" and history(expired) == ["Created", "Accepted", "Expired"]
    untouched = (await client.get(f"{CONSUMER_PATH}/{later['id']}", headers=consumer_headers)).json()
    assert untouched["status"] == "Created" and history(untouched) == ["Created"]
