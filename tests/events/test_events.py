"""Altinn Events end to end: publishing, reading with a cursor, subscriptions with the validation handshake,
delivery with Altinn's retry schedule to a real webhook receiver, dead letters, the per-event authorization
check and the SSRF guard."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization
from felles.core import outbound
from felles.core.audit import Actor
from felles.core.clock import clock
from felles.core.config import Environment, Settings
from felles.core.jobs import Job, Worker
from felles.events import service as events
from felles.events.models import EventDelivery
from felles.events.service import MAX_DELIVERY_ATTEMPTS, RETRY_SCHEDULE
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.authorization.world import REFERENCE
from tests.conftest import bearer

PUBLISHER = "974761076"
SUBSCRIBER = "910753614"
STRANGER = "991825827"
TTD = "405003309"  # Testdepartementet, the owner of the ttd apps
RESOURCE = "urn:altinn:resource:skattemelding"
EVENTS = "/events/api/v1/events"
PDP_RESOURCE = "ttd-accesspackage-resource"
KARI, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[4]
SUBSCRIPTIONS = "/events/api/v1/subscriptions"


@pytest.fixture(autouse=True)
async def _publishers_resource(database) -> None:
    """The resource the events are about, Skatteetaten's: the publisher publishes as its owner."""
    await authorization.create_resource(database, Actor(f"organization:{PUBLISHER}"), PUBLISHER,
                                        authorization_schemas.ServiceResource.model_validate({
                                            "identifier": RESOURCE.removeprefix("urn:altinn:resource:"),
                                            "title": {"nb": "Skattemelding"},
                                            "hasCompetentAuthority": {"organization": PUBLISHER, "orgcode": "skd"},
                                            "resourceType": "GenericAccessResource"}))


@pytest.fixture
def publisher(token):
    return bearer(token(scopes=["altinn:events.publish"], org=PUBLISHER))


@pytest.fixture
def subscriber(token):
    return bearer(token(scopes=["altinn:events.subscribe"], org=SUBSCRIBER))


def cloud_event(number: int, *, about: str = SUBSCRIBER, resource: str = RESOURCE, **extra) -> dict:
    return {"id": f"event-{number}", "specversion": "1.0", "source": f"https://skatt.example/api/v1/{number}",
            "type": "no.skatteetaten.skattemelding.levert", "resource": resource,
            "alternativesubject": f"/org/{about}", "subject": f"/org/{about}", "data": {"n": number}, **extra}


async def run_jobs(database) -> int:
    return await Worker(database, concurrency=8).run_until_idle()


async def subscribe(client, headers, endpoint: str, **filters) -> dict:
    response = await client.post(SUBSCRIPTIONS, headers=headers,
                                 json={"endPoint": endpoint, "resourceFilter": RESOURCE, **filters})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(database) -> list[EventDelivery]:
    async with database.transaction() as session:
        return list(await session.scalars(select(EventDelivery).order_by(EventDelivery.created_at)))


async def test_published_events_are_stored_once_and_read_with_a_cursor(client, database, publisher, subscriber,
                                                                       job_settings):
    for number in range(5):
        response = await client.post(EVENTS, json=cloud_event(number), headers={
            **publisher, "Content-Type": "application/cloudevents+json"})
        assert response.status_code == 200 and response.json() == f"event-{number}"
    assert (await client.post(EVENTS, json=cloud_event(0), headers=publisher)).status_code == 200  # a retry
    first = await client.get(EVENTS, headers=subscriber, params={"resource": RESOURCE, "after": "0", "size": 2})
    assert [e["id"] for e in first.json()] == ["event-0", "event-1"]
    assert first.json()[0]["data"] == {"n": 0} and first.json()[0]["time"].endswith("Z")
    second = await client.get(first.headers["next"].removeprefix("http://felles.test"), headers=subscriber)
    assert [e["id"] for e in second.json()] == ["event-2", "event-3"]
    last = await client.get(EVENTS, headers=subscriber, params={"resource": RESOURCE, "after": "event-3"})
    assert [e["id"] for e in last.json()] == ["event-4"] and "next" not in last.headers


async def test_publishing_and_reading_need_their_scopes_and_valid_events(client, database, token, publisher,
                                                                         subscriber, job_settings):
    assert (await client.post(EVENTS, json=cloud_event(1), headers=subscriber)).status_code == 403
    assert (await client.get(EVENTS, headers=publisher, params={"resource": RESOURCE, "after": "0"})).status_code == 403
    missing = cloud_event(2)
    del missing["resource"]
    response = await client.post(EVENTS, json=missing, headers=publisher)
    assert response.status_code == 400 and response.json()["code"] == "resource_missing"
    assert (await client.post(EVENTS, json={**cloud_event(3), "specversion": "0.3"},
                              headers=publisher)).status_code == 422
    too_many = await client.get(EVENTS, headers=subscriber, params={"resource": RESOURCE, "after": "0", "size": 1001})
    assert too_many.status_code == 422
    app_event = {"source": "https://felles.test/ttd/soknad/instances/1", "type": "app.instance.created",
                 "subject": f"/org/{SUBSCRIBER}"}
    app_owner = bearer(token(scopes=["altinn:events.publish"], org=TTD))
    response = await client.post("/events/api/v1/app", json=app_event, headers=app_owner)
    assert response.status_code == 200 and len(response.json()) == 36


async def test_a_reader_sees_only_the_events_it_may_read(client, database, token, publisher, subscriber,
                                                         job_settings):
    await client.post(EVENTS, json=cloud_event(1, about=SUBSCRIBER), headers=publisher)
    await client.post(EVENTS, json=cloud_event(2, about=STRANGER), headers=publisher)
    mine = await client.get(EVENTS, headers=subscriber, params={"resource": RESOURCE, "after": "0"})
    assert [e["id"] for e in mine.json()] == ["event-1"]
    own_publisher = bearer(token(scopes=["altinn:events.subscribe"], org=PUBLISHER))
    theirs = await client.get(EVENTS, headers=own_publisher, params={"resource": RESOURCE, "after": "0"})
    assert [e["id"] for e in theirs.json()] == ["event-1", "event-2"]
    admin = bearer(token(scopes=["altinn:events.subscribe", "altinn:events.subscribe.admin"], org=STRANGER))
    assert len((await client.get(EVENTS, headers=admin, params={"resource": RESOURCE, "after": "0"})).json()) == 2


@pytest.fixture
async def company_resource(database) -> str:
    """Fjordkraft Demo AS (daglig leder Ingrid Bakken) and a resource whose policy lets holders of the access
    package `ansettelsesforhold` (a daglig leder holds it) subscribe to its events."""
    await seed_demo_personas(database)
    owner = Actor(f"organization:{PUBLISHER}")
    resource = authorization_schemas.ServiceResource.model_validate({
        "identifier": PDP_RESOURCE, "title": {"nb": "Ansettelsesforhold", "nn": "Tilsetjing", "en": "Employment"},
        "hasCompetentAuthority": {"organization": PUBLISHER, "orgcode": "skd"},
        "resourceType": "GenericAccessResource"})
    await authorization.create_resource(database, owner, PUBLISHER, resource)
    policy = (REFERENCE / "pdp" / "resources" / f"{PDP_RESOURCE}.policy.xml").read_bytes()
    await authorization.put_policy(database, owner, PUBLISHER, PDP_RESOURCE, policy.replace(b">read<", b">subscribe<"))
    return f"urn:altinn:resource:{PDP_RESOURCE}"


async def test_delivery_of_another_partys_events_is_decided_by_the_pdp(
    client, database, token, publisher, receiver, job_settings, company_resource
):
    leader, outsider = INGRID.identifier, KARI.identifier
    for person in (leader, outsider):
        response = await client.post(SUBSCRIPTIONS, headers=bearer(token(scopes=["altinn:events.subscribe"],
                                                                         person=person)),
                                     json={"endPoint": receiver.hook(person), "resourceFilter": company_resource})
        assert response.status_code == 201, response.text
    await run_jobs(database)
    about_company = cloud_event(1, about=DEMO_COMPANY, resource=company_resource)
    assert (await client.post(EVENTS, json=about_company, headers=publisher)).status_code == 200
    await run_jobs(database)
    assert [event["id"] for event in receiver.hooks[leader].received] == ["event-1"]
    assert receiver.hooks[outsider].attempts == 0 and receiver.hooks[outsider].received == []
    assert sorted(d.status for d in await deliveries(database)) == ["delivered", "unauthorized"]
    # Reading follows the same decision.
    for person, expected in ((leader, ["event-1"]), (outsider, [])):
        page = await client.get(EVENTS, params={"resource": company_resource, "after": "0"},
                                headers=bearer(token(scopes=["altinn:events.subscribe"], person=person)))
        assert [event["id"] for event in page.json()] == expected


async def test_a_receiver_that_fails_three_times_gets_the_event_on_the_fourth_attempt(
    client, database, publisher, subscriber, receiver, job_settings
):
    endpoint = receiver.hook("flaky", fail_times=3)
    subscription = await subscribe(client, subscriber, endpoint)
    await run_jobs(database)
    assert receiver.hooks["flaky"].validations == 1
    assert (await client.get(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=subscriber)).json()["validated"]
    await client.post(EVENTS, json=cloud_event(7), headers=publisher)
    await run_jobs(database)
    for wait in RETRY_SCHEDULE[:3]:
        assert receiver.hooks["flaky"].received == []
        await run_jobs(database)  # not due before its backoff
        clock.advance(wait + timedelta(seconds=1))
        await run_jobs(database)
    hook = receiver.hooks["flaky"]
    assert hook.attempts == 4 and [event["id"] for event in hook.received] == ["event-7"]
    assert hook.received[0]["data"] == {"n": 7}
    (delivery,) = await deliveries(database)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 4, 200)


async def test_an_unvalidated_subscriber_gets_nothing(client, database, publisher, subscriber, receiver,
                                                      job_settings):
    endpoint = receiver.hook("refuses", validate=False)
    subscription = await subscribe(client, subscriber, endpoint)
    await run_jobs(database)
    await client.post(EVENTS, json=cloud_event(1), headers=publisher)
    clock.advance(timedelta(minutes=1))
    await run_jobs(database)
    hook = receiver.hooks["refuses"]
    assert hook.validations == 2 and hook.attempts == 0 and hook.received == []
    assert not (await client.get(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=subscriber)).json()["validated"]
    assert await deliveries(database) == []


async def test_an_unauthorized_subscriber_gets_nothing(client, database, token, publisher, receiver,
                                                       job_settings):
    stranger = bearer(token(scopes=["altinn:events.subscribe"], org=STRANGER))
    await subscribe(client, stranger, receiver.hook("stranger"))
    await subscribe(client, bearer(token(scopes=["altinn:events.subscribe"], org=SUBSCRIBER)),
                    receiver.hook("owner"))
    await run_jobs(database)
    await client.post(EVENTS, json=cloud_event(1, about=SUBSCRIBER), headers=publisher)
    await run_jobs(database)
    assert receiver.hooks["stranger"].attempts == 0 and receiver.hooks["stranger"].received == []
    assert [e["id"] for e in receiver.hooks["owner"].received] == ["event-1"]
    assert sorted(d.status for d in await deliveries(database)) == ["delivered", "unauthorized"]


async def test_filters_select_the_events_a_subscription_gets(client, database, publisher, subscriber, receiver,
                                                             job_settings):
    await subscribe(client, subscriber, receiver.hook("typed"), typeFilter="no.skatteetaten.skattemelding.levert",
                    sourceFilter="https://skatt.example/api/v1/1")
    await run_jobs(database)
    await client.post(EVENTS, json=cloud_event(1), headers=publisher)
    await client.post(EVENTS, json=cloud_event(12), headers=publisher)  # source prefix …/1 matches …/12 too
    await client.post(EVENTS, json=cloud_event(2), headers=publisher)
    await client.post(EVENTS, json=cloud_event(13, type="other"), headers=publisher)
    await client.post(EVENTS, json=cloud_event(14, resource="urn:altinn:resource:other"), headers=publisher)
    await run_jobs(database)
    assert sorted(e["id"] for e in receiver.hooks["typed"].received) == ["event-1", "event-12"]


async def test_after_twelve_failed_attempts_the_delivery_is_a_dead_letter(
    client, database, publisher, subscriber, receiver, job_settings
):
    await subscribe(client, subscriber, receiver.hook("down", always_fail=True))
    await run_jobs(database)
    await client.post(EVENTS, json=cloud_event(1), headers=publisher)
    await run_jobs(database)
    for wait in RETRY_SCHEDULE:
        clock.advance(wait + timedelta(seconds=1))
        await run_jobs(database)
    clock.advance(timedelta(days=2))
    await run_jobs(database)
    assert receiver.hooks["down"].attempts == MAX_DELIVERY_ATTEMPTS == 12
    (delivery,) = await deliveries(database)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("dead", 12, 503)


async def test_subscriptions_are_listed_and_deleted_by_their_owner(client, database, token, subscriber, publisher,
                                                                   receiver, job_settings):
    created = await subscribe(client, subscriber, receiver.hook("a"))
    assert created["consumer"] == f"/org/{SUBSCRIBER}" and created["validated"] is False
    listing = (await client.get(SUBSCRIPTIONS, headers=subscriber)).json()
    assert listing["count"] == 1
    stranger = bearer(token(scopes=["altinn:events.subscribe"], org=STRANGER))
    assert (await client.get(f"{SUBSCRIPTIONS}/{created['id']}", headers=stranger)).status_code == 404
    assert (await client.delete(f"{SUBSCRIPTIONS}/{created['id']}", headers=stranger)).status_code == 404
    await run_jobs(database)
    assert (await client.delete(f"{SUBSCRIPTIONS}/{created['id']}", headers=subscriber)).status_code == 204
    await client.post(EVENTS, json=cloud_event(1), headers=publisher)
    await run_jobs(database)
    assert receiver.hooks["a"].received == []
    assert (await client.get(SUBSCRIPTIONS, headers=subscriber)).json()["count"] == 0


@pytest.mark.parametrize("endpoint", [
    "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "ftp://example.no/hook",
    "http://user:secret@example.no/hook", "http://not-allowed.example/hook",
])
async def test_subscriptions_to_addresses_outside_the_allow_list_are_refused(client, database, subscriber,
                                                                             job_settings, endpoint):
    response = await client.post(SUBSCRIPTIONS, headers=subscriber, json={"endPoint": endpoint,
                                                                         "resourceFilter": RESOURCE})
    assert response.status_code == 400 and response.json()["code"] == "outbound_url_refused"


async def test_the_ssrf_guard_allows_loopback_only_in_development_and_tests(tmp_path):
    production = Settings(environment=Environment.PRODUCTION, database_url="postgresql+asyncpg://x/y",
                          secret_key="k" * 40, data_dir=tmp_path, outbound_allowed_hosts=[".example.no", "localhost"])
    test = Settings(environment=Environment.TEST, data_dir=tmp_path, secret_key="k" * 40,
                    outbound_allowed_hosts=[".example.no"])
    await outbound.check_url(test, "http://127.0.0.1:9/hook")
    await outbound.check_url(test, "http://localhost:9/hook")
    for url in ("https://127.0.0.1/hook", "https://localhost/hook", "http://hooks.example.no/x"):
        with pytest.raises(outbound.OutboundRefused):
            await outbound.check_url(production, url)
    assert outbound.check_url_syntax(production, "https://hooks.example.no/x") == "hooks.example.no"
    assert outbound.check_url_syntax(production, "https://example.no/x") == "example.no"
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url_syntax(production, "https://evilexample.no/x")


REBOUND_HOST = "hooks.felles.test"


@pytest.fixture
def rebinding_dns(monkeypatch) -> list[str]:
    """DNS (an outside system, stubbed) for REBOUND_HOST: its first answer is loopback, allowed in tests; every
    later one is 0.0.0.0, which is not allowed but which a connection on this machine reaches all the same.
    Returns the names looked up."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != REBOUND_HOST:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "0.0.0.0"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_call_connects_to_the_address_it_checked_so_dns_rebinding_gets_nowhere(
    receiver, rebinding_dns, tmp_path
):
    settings = Settings(environment=Environment.TEST, data_dir=tmp_path, secret_key="k" * 40,
                        outbound_allowed_hosts=[REBOUND_HOST])
    url = receiver.hook("pinned").replace("127.0.0.1", REBOUND_HOST)
    response = await outbound.request(settings, "POST", url, json={"type": "ping"})
    assert response.status_code == 200 and receiver.hooks["pinned"].received == [{"type": "ping"}]
    assert rebinding_dns == [REBOUND_HOST]  # resolved once: the connection went to the checked address
    # Now the name resolves to the forbidden address: refused before any connection is made.
    with pytest.raises(outbound.OutboundRefused):
        await outbound.request(settings, "POST", url, json={"type": "ping"})
    assert receiver.hooks["pinned"].attempts == 1


async def test_a_name_with_any_forbidden_address_is_refused(receiver, monkeypatch, tmp_path):
    def mixed(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
                for address in ("127.0.0.1", "0.0.0.0")]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    settings = Settings(environment=Environment.TEST, data_dir=tmp_path, secret_key="k" * 40,
                        outbound_allowed_hosts=[REBOUND_HOST])
    with pytest.raises(outbound.OutboundRefused, match="non-public"):
        await outbound.request(settings, "POST", receiver.hook("mixed").replace("127.0.0.1", REBOUND_HOST),
                               json={"type": "ping"})
    assert receiver.hooks["mixed"].attempts == 0


async def test_only_the_resource_owner_or_a_holder_of_the_publish_right_publishes_its_events(
        client, database, token, publisher, job_settings):
    stranger = bearer(token(scopes=["altinn:events.publish"], org=STRANGER))
    refused = await client.post(EVENTS, json=cloud_event(1), headers=stranger)
    assert refused.status_code == 403 and refused.json()["code"] == "publish_not_authorized"
    unknown = await client.post(EVENTS, json=cloud_event(2, resource="urn:altinn:resource:nobodys"), headers=publisher)
    assert unknown.status_code == 403
    # The owner's policy grants Digdir (by its service owner code) the publish right.
    policy = ((REFERENCE / "pdp" / "resources" / f"{PDP_RESOURCE}.policy.xml").read_bytes()
              .replace(b">ansettelsesforhold<", b">digdir<").replace(b"urn:altinn:accesspackage", b"urn:altinn:org")
              .replace(f">{PDP_RESOURCE}<".encode(), b">skattemelding<").replace(b">read<", b">publish<"))
    await authorization.put_policy(database, Actor(f"organization:{PUBLISHER}"), PUBLISHER, "skattemelding", policy)
    allowed = await client.post(EVENTS, json=cloud_event(3), headers=stranger)
    assert allowed.status_code == 200, allowed.text
    assert (await client.post(EVENTS, json=cloud_event(4), headers=publisher)).status_code == 200


async def test_an_event_id_is_unique_within_its_source_only(client, database, token, publisher, job_settings):
    """Another publisher's event with the same id (from its own source) cannot pre-claim the owner's id."""
    app_owner = bearer(token(scopes=["altinn:events.publish"], org=TTD))
    claim = {"id": "event-1", "source": "https://ttd.apps.example/ttd/soknad/instances/1/abc",
             "type": "app.instance.created", "subject": f"/org/{SUBSCRIBER}"}
    assert (await client.post("/events/api/v1/app", json=claim, headers=app_owner)).status_code == 200
    assert (await client.post(EVENTS, json=cloud_event(1), headers=publisher)).status_code == 200
    assert (await client.post(EVENTS, json=cloud_event(1), headers=publisher)).status_code == 200  # a retry
    reader = bearer(token(scopes=["altinn:events.subscribe"], org=PUBLISHER))
    stored = await client.get(EVENTS, headers=reader, params={"resource": RESOURCE, "after": "0"})
    assert [(e["id"], e["data"]) for e in stored.json()] == [("event-1", {"n": 1})]
    theirs = await client.get(EVENTS, headers=bearer(token(scopes=["altinn:events.subscribe"], org=TTD)),
                              params={"resource": "urn:altinn:resource:app_ttd_soknad", "after": "0"})
    assert [e["source"] for e in theirs.json()] == [claim["source"]]


async def test_an_empty_id_or_resource_is_refused(client, database, publisher, job_settings):
    for field, code in (("id", "event_id_missing"), ("resource", "resource_missing")):
        for empty in ("", "  "):
            response = await client.post(EVENTS, json={**cloud_event(1), field: empty}, headers=publisher)
            assert response.status_code == 400, response.text
            assert response.json()["code"] == code and response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_subscription_id_beyond_the_id_column_is_refused_not_a_crash(client, database, subscriber, method):
    """Subscription ids are PostgreSQL integers (32 bits): a larger id failed there with a 500 before."""
    response = await client.request(method, f"{SUBSCRIPTIONS}/{2**31}", headers=subscriber)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"


async def fan_out_jobs(database) -> int:
    async with database.transaction() as session:
        return len(list(await session.scalars(select(Job).where(Job.kind == "events.fan_out"))))


async def test_a_publishing_transaction_queues_a_fan_out_only_while_a_validated_subscription_lives(
        client, database, subscriber, receiver, job_settings):
    """The insert itself tells whether any validated subscription exists: without one, nothing is queued (and no
    subscription is read); one made and validated later is seen by the very next publish, and one deleted is not."""
    async def publish(number: int) -> None:
        async with database.transaction() as session:
            await events.publish_many_in_transaction(session, [dict(
                source=f"https://skatt.example/api/v1/{number}", type="no.skatteetaten.skattemelding.levert",
                subject=f"/org/{SUBSCRIBER}", resource=RESOURCE)], publisher=f"/org/{PUBLISHER}")

    await publish(1)
    subscription = await subscribe(client, subscriber, receiver.hook("later"))
    await publish(2)
    assert await fan_out_jobs(database) == 0
    await run_jobs(database)  # the validation handshake
    await publish(3)
    assert await fan_out_jobs(database) == 1
    await run_jobs(database)
    assert [event["source"] for event in receiver.hooks["later"].received] == ["https://skatt.example/api/v1/3"]
    assert (await client.delete(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=subscriber)).status_code in (200, 204)
    await publish(4)
    assert await fan_out_jobs(database) == 1
