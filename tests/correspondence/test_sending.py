"""Sending: initialize, publish, the limits and the problems a bad request gets, with nothing created."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from felles.correspondence.models import Correspondence
from tests.conftest import bearer
from tests.correspondence.conftest import (
    ALLOWED_SENDER,
    API,
    COMPANY,
    KARI,
    OLA,
    OTHER_ORGANIZATION,
    OTHER_RESOURCE,
    REIDUN,
    organization,
    person,
    request_body,
    run_jobs,
    send,
)


async def count(database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Correspondence)) or 0)


async def test_a_service_owner_sends_to_a_person_and_a_company_and_it_is_published(
        client, database, resource, sender, reader, job_settings):
    answer = await send(client, sender, person(KARI.identifier), organization(COMPANY))
    assert [item["recipient"] for item in answer["correspondences"]] == [person(KARI.identifier),
                                                                          organization(COMPANY)]
    assert {item["status"] for item in answer["correspondences"]} == {"ReadyForPublish"}
    await run_jobs(database)
    kari_id = answer["correspondences"][0]["correspondenceId"]
    details = await client.get(f"{API}/correspondence/{kari_id}/details", headers=sender)
    assert details.status_code == 200, details.text
    assert [event["status"] for event in details.json()["statusHistory"]] == [
        "Initialized", "ReadyForPublish", "Published"]
    seen = await client.get(f"{API}/correspondence/{kari_id}", headers=reader(KARI.identifier))
    assert seen.status_code == 200, seen.text
    assert seen.json()["content"]["messageTitle"] == "Vedtak i saken din"
    assert seen.json()["sender"] == "0192:974761076"


async def test_a_reserved_person_gets_it_as_reserved_and_it_is_never_published(
        client, database, resource, sender, reader, job_settings):
    answer = await send(client, sender, person(REIDUN.identifier))
    assert answer["correspondences"][0]["status"] == "Reserved"
    await run_jobs(database)
    identifier = answer["correspondences"][0]["correspondenceId"]
    assert (await client.get(f"{API}/correspondence/{identifier}", headers=sender)).json()["status"] == "Reserved"
    assert (await client.get(f"{API}/correspondence/{identifier}",
                             headers=reader(REIDUN.identifier))).status_code == 404


async def test_ignore_reservation_reaches_the_reserved_person_and_only_the_owner_may_use_it(
        client, database, resource, sender, token, job_settings):
    answer = await send(client, sender, person(REIDUN.identifier), ignoreReservation=True)
    assert answer["correspondences"][0]["status"] == "ReadyForPublish"
    allowed = bearer(token(scopes=["altinn:correspondence.write"], org=ALLOWED_SENDER))
    refused = await client.post(f"{API}/correspondence", headers=allowed,
                                json=request_body(person(REIDUN.identifier), ignoreReservation=True))
    assert refused.status_code == 403
    assert refused.json()["code"] == "ignore_reservation_not_permitted"


async def test_an_allowed_sender_sends_and_another_organisation_may_not(client, database, resource, token):
    allowed = bearer(token(scopes=["altinn:correspondence.write"], org=ALLOWED_SENDER))
    assert (await client.post(f"{API}/correspondence", json=request_body(), headers=allowed)).status_code == 200
    other = bearer(token(scopes=["altinn:correspondence.write"], org=OTHER_ORGANIZATION))
    refused = await client.post(f"{API}/correspondence", json=request_body(), headers=other)
    assert refused.status_code == 403
    assert refused.json()["code"] == "sender_not_permitted"
    # The owner itself needs Altinn's service-owner scope too.
    owner_without = bearer(token(scopes=["altinn:correspondence.write"], org="974761076"))
    assert (await client.post(f"{API}/correspondence", json=request_body(),
                              headers=owner_without)).status_code == 403
    assert await count(database) == 1


async def test_the_same_idempotent_key_answers_the_same_and_creates_nothing_more(client, database, resource, sender):
    key = str(uuid.uuid4())
    body = request_body(person(KARI.identifier), person(OLA.identifier))
    body["idempotentKey"] = key
    first = await client.post(f"{API}/correspondence", json=body, headers=sender)
    again = await client.post(f"{API}/correspondence", json=body, headers=sender)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert await count(database) == 2
    listed = await client.get(f"{API}/correspondence", params={"idempotentKey": key, "role": "Sender"},
                              headers=sender)
    assert sorted(listed.json()["ids"]) == sorted(item["correspondenceId"]
                                                  for item in first.json()["correspondences"])


async def test_bad_requests_get_a_clear_problem_and_nothing_is_created(client, database, resource, sender):
    too_many = request_body(*[organization(COMPANY)] * 501)
    cases = {
        "too many recipients": (too_many, 422),
        "unknown resource": (request_body(resourceId="finnes-ikke"), 400),
        "not a correspondence resource": (request_body(resourceId=OTHER_RESOURCE), 400),
        "invalid recipient": (request_body("urn:altinn:person:identifier-no:12345678901"), 400),
        "duplicate recipients": (request_body(person(KARI.identifier), person(KARI.identifier)), 400),
        "missing attachment": ({**request_body(), "existingAttachments": [str(uuid.uuid4())]}, 400),
        "due date passed": (request_body(dueDateTime="2020-01-01T00:00:00Z"), 400),
        "confirmation without due date": (request_body(isConfirmationNeeded=True, dueDateTime=None), 400),
        "new attachments without their bytes": (request_body(content={
            "language": "nb", "messageTitle": "T", "messageBody": "B",
            "attachments": [{"fileName": "a.pdf", "sendersReference": "a"}]}), 400),
        "too many properties": (request_body(propertyList={str(n): "x" for n in range(11)}), 400),
        "custom notification without texts": (request_body(notification={
            "notificationTemplate": "CustomMessage", "notificationChannel": "Email"}), 400),
        "reply option not a URL": (request_body(replyOptions=[{"linkURL": "javascript:alert(1)"}]), 400),
    }
    for name, (body, status) in cases.items():
        response = await client.post(f"{API}/correspondence", json=body, headers=sender)
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert response.json()["detail"], name
    oversized = await client.post(f"{API}/correspondence", content=b"{" + b" " * 1_100_000 + b"}",
                                  headers={**sender, "Content-Type": "application/json"})
    assert oversized.status_code == 413
    assert await count(database) == 0


async def test_sending_needs_a_sender_token(client, resource, reader):
    assert (await client.post(f"{API}/correspondence", json=request_body())).status_code == 401
    assert (await client.post(f"{API}/correspondence", json=request_body(),
                              headers=reader(KARI.identifier))).status_code == 403
