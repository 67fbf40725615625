"""Notification orders end to end: the order API, KRR and Enhetsregisteret lookup, e-mail to a real SMTP
server, reminders with condition endpoints, cancelling, the status feed and the events of each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from felles.core.clock import clock
from felles.core.config import get_settings
from felles.core.jobs import Worker
from felles.notifications.service import CREATE_SCOPE
from felles.notifications.service_delivery import CONDITION_ATTEMPTS, _next_daytime
from felles.registers import schemas as register_schemas
from felles.registers import service as registers
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS
from tests.conftest import bearer
from tests.notifications.conftest import AGENCY

KARI, OLA, REIDUN = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[8]
ORDERS = "/notifications/api/v1/future/orders"


async def run_jobs(database) -> int:
    return await Worker(database, concurrency=8).run_until_idle()


def email_settings(subject: str = "Svar på søknaden din", body: str = "Hei $recipientName$, du har fått svar.",
                   **extra):
    return {"subject": subject, "body": body, **extra}


def person_order(identifier: str, key: str, **extra):
    return {"idempotencyId": key, "sendersReference": f"ref-{key}",
            "recipient": {"recipientPerson": {"nationalIdentityNumber": identifier, "channelSchema": "EmailPreferred",
                                              "emailSettings": email_settings(),
                                              "smsSettings": {"body": "Du har fått svar i Altinn."}}}, **extra}


async def test_a_reminder_is_sent_after_n_days_when_the_condition_says_not_read(
    client, database, people, agency, job_settings, smtp_server, condition_endpoint
):
    mailbox, _ = smtp_server
    condition_endpoint.answers["unread"] = True  # "not read yet: send the reminder"
    order = person_order(KARI.identifier, "with-reminder", reminders=[{
        "delayDays": 3, "conditionEndpoint": condition_endpoint.url("unread"), "sendersReference": "reminder-1",
        "recipient": {"recipientPerson": {"nationalIdentityNumber": KARI.identifier, "channelSchema": "EmailOnly",
                                          "emailSettings": email_settings("Påminnelse", "Hei $recipientName$, "
                                                                          "du har ikke lest svaret.")}},
    }])
    response = await client.post(ORDERS, json=order, headers=agency)
    assert response.status_code == 201, response.text
    chain = response.json()
    await run_jobs(database)
    received = mailbox.to(KARI.email)
    assert [m["Subject"] for m in received] == ["Svar på søknaden din"]
    assert "Hei Kari Nordmann, du har fått svar." in received[0].get_content()
    assert condition_endpoint.calls == {}

    clock.advance(timedelta(days=2))
    await run_jobs(database)
    assert len(mailbox.to(KARI.email)) == 1, "not before delayDays have passed"
    clock.advance(timedelta(days=1, minutes=1))
    await run_jobs(database)
    assert [m["Subject"] for m in mailbox.to(KARI.email)] == ["Svar på søknaden din", "Påminnelse"]
    assert condition_endpoint.calls == {"unread": 1}

    details = (await client.get(f"{ORDERS}/{chain['notificationOrderId']}", headers=agency)).json()
    assert [(s["type"], s["status"]) for s in details["shipments"]] == [
        ("Notification", "Order_Completed"), ("Reminder", "Order_Completed")]
    assert details["shipments"][1]["recipients"] == [
        {"type": "Email", "destination": KARI.email, "status": "Email_Succeeded",
         "lastUpdate": details["shipments"][1]["recipients"][0]["lastUpdate"], "description": None}]


async def test_a_reminder_whose_condition_says_read_is_not_sent(
    client, database, people, agency, job_settings, smtp_server, condition_endpoint
):
    mailbox, _ = smtp_server
    condition_endpoint.answers["read"] = False  # the citizen has opened the answer
    order = person_order(KARI.identifier, "read-already", reminders=[
        {"delayDays": 7, "conditionEndpoint": condition_endpoint.url("read")}])
    chain = (await client.post(ORDERS, json=order, headers=agency)).json()
    await run_jobs(database)
    clock.advance(timedelta(days=7, minutes=1))
    await run_jobs(database)
    assert len(mailbox.to(KARI.email)) == 1
    reminder_id = chain["notification"]["reminders"][0]["shipmentId"]
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{reminder_id}", headers=agency)).json()
    assert manifest["status"] == "Order_SendConditionNotMet" and manifest["recipients"] == []


async def test_a_failing_condition_endpoint_is_asked_again_later(
    client, database, people, agency, job_settings, smtp_server, condition_endpoint
):
    mailbox, _ = smtp_server
    order = person_order(KARI.identifier, "flaky-condition", conditionEndpoint=condition_endpoint.url("later"))
    chain = (await client.post(ORDERS, json=order, headers=agency)).json()
    await run_jobs(database)  # the endpoint answers 500: the order waits
    assert condition_endpoint.calls == {"later": 1} and mailbox.messages == []
    condition_endpoint.answers["later"] = True
    clock.advance(timedelta(minutes=2))
    await run_jobs(database)
    assert len(mailbox.to(KARI.email)) == 1
    shipment = chain["notification"]["shipmentId"]
    assert (await client.get(f"/notifications/api/v1/future/shipment/{shipment}", headers=agency)).json()[
        "status"] == "Order_Completed"


async def test_a_condition_endpoint_that_never_answers_is_tried_again_then_the_notification_is_sent(
    client, database, people, agency, job_settings, smtp_server, condition_endpoint, monkeypatch
):
    mailbox, _ = smtp_server
    monkeypatch.setenv("FELLES_OUTBOUND_TIMEOUT_SECONDS", "0.3")
    get_settings.cache_clear()
    condition_endpoint.silent.add("silent")
    order = person_order(KARI.identifier, "silent-condition", conditionEndpoint=condition_endpoint.url("silent"))
    chain = (await client.post(ORDERS, json=order, headers=agency)).json()
    shipment = f"/notifications/api/v1/future/shipment/{chain['notification']['shipmentId']}"
    for attempt in range(1, CONDITION_ATTEMPTS):
        await run_jobs(database)  # times out: the order waits for the next attempt
        assert condition_endpoint.calls == {"silent": attempt} and mailbox.messages == []
        assert (await client.get(shipment, headers=agency)).json()["status"] == "Order_Registered"
        await run_jobs(database)
        assert condition_endpoint.calls == {"silent": attempt}, "not again before the backoff has passed"
        clock.advance(timedelta(minutes=5))
    await run_jobs(database)  # the last attempt times out too: the notification is sent
    assert condition_endpoint.calls == {"silent": CONDITION_ATTEMPTS}
    assert len(mailbox.to(KARI.email)) == 1
    assert (await client.get(shipment, headers=agency)).json()["status"] == "Order_Completed"


async def test_a_reserved_person_gets_no_email_and_the_result_says_so(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    chain = (await client.post(ORDERS, json=person_order(REIDUN.identifier, "reserved"), headers=agency)).json()
    await run_jobs(database)
    assert mailbox.messages == []
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{chain['notification']['shipmentId']}",
                                 headers=agency)).json()
    assert manifest["status"] == "Order_Completed"
    assert [(r["type"], r["destination"], r["status"]) for r in manifest["recipients"]] == [
        ("Email", None, "Email_Failed_RecipientReserved")]
    assert "reserved against digital communication" in manifest["recipients"][0]["description"]


async def test_ignore_reservation_reaches_a_reserved_person_with_contact_details(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    await registers.update_own_contact_information(
        database, REIDUN.identifier, register_schemas.ContactInformationUpdate(epostadresse="reidun@eksempel.no"))
    order = person_order(REIDUN.identifier, "vital")
    order["recipient"]["recipientPerson"]["ignoreReservation"] = True
    await client.post(ORDERS, json=order, headers=agency)
    await run_jobs(database)
    assert len(mailbox.to("reidun@eksempel.no")) == 1


async def test_an_organisation_is_reached_at_its_notification_address(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    order = {"idempotencyId": "org-1", "recipient": {"recipientOrganization": {
        "orgNumber": DEMO_COMPANY, "channelSchema": "EmailOnly",
        "emailSettings": email_settings("Ny melding", "Til $recipientName$ ($recipientNumber$)")}}}
    assert (await client.post(ORDERS, json=order, headers=agency)).status_code == 201
    await run_jobs(database)
    (message,) = mailbox.to(f"post@{DEMO_COMPANY}.eksempel.no")
    assert message.get_content().strip() == f"Til Fjordkraft Demo AS ({DEMO_COMPANY})"


async def test_an_unknown_organisation_is_recorded_as_not_identified(
    client, database, people, agency, job_settings, smtp_server
):
    order = {"idempotencyId": "org-unknown", "recipient": {"recipientOrganization": {
        "orgNumber": "999999999", "channelSchema": "EmailOnly", "emailSettings": email_settings()}}}
    chain = (await client.post(ORDERS, json=order, headers=agency)).json()
    await run_jobs(database)
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{chain['notification']['shipmentId']}",
                                 headers=agency)).json()
    assert [r["status"] for r in manifest["recipients"]] == ["Email_Failed_RecipientNotIdentified"]


async def test_the_krr_language_picks_the_text(client, database, people, agency, job_settings, smtp_server):
    mailbox, _ = smtp_server
    await registers.update_own_contact_information(
        database, OLA.identifier, register_schemas.ContactInformationUpdate(spraak="en"))
    order = person_order(OLA.identifier, "english")
    order["recipient"]["recipientPerson"]["emailSettings"]["translations"] = {
        "en": {"subject": "An answer to your application", "body": "Dear $recipientName$, you have an answer."},
        "nn": {"subject": "Svar på søknaden din", "body": "Hei $recipientName$, du har fått svar."}}
    await client.post(ORDERS, json=order, headers=agency)
    await client.post(ORDERS, json=person_order(KARI.identifier, "bokmaal"), headers=agency)
    await run_jobs(database)
    (english,) = mailbox.to(OLA.email)
    assert english["Subject"] == "An answer to your application"
    assert "Dear Ola Nordmann" in english.get_content()
    assert mailbox.to(KARI.email)[0]["Subject"] == "Svar på søknaden din"


async def test_sms_preferred_goes_to_the_development_outbox_page(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    order = person_order(KARI.identifier, "sms")
    order["recipient"]["recipientPerson"]["channelSchema"] = "SmsPreferred"
    order["recipient"]["recipientPerson"]["smsSettings"] = {"body": "Hei $recipientName$: svar i Altinn",
                                                            "sendingTimePolicy": "Anytime", "sender": "NAV"}
    chain = (await client.post(ORDERS, json=order, headers=agency)).json()
    await run_jobs(database)
    assert mailbox.messages == []
    page = await client.get("/notifications/sms-outbox?lang=en")
    assert page.status_code == 200 and "SMS outbox" in page.text
    assert KARI.mobile in page.text and "Hei Kari Nordmann: svar i Altinn" in page.text and "NAV" in page.text
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{chain['notification']['shipmentId']}",
                                 headers=agency)).json()
    assert [(r["type"], r["destination"], r["status"]) for r in manifest["recipients"]] == [
        ("SMS", KARI.mobile, "SMS_Accepted")]


async def test_email_and_sms_sends_on_both_channels(client, database, people, agency, job_settings, smtp_server):
    mailbox, _ = smtp_server
    order = person_order(KARI.identifier, "both")
    order["recipient"]["recipientPerson"]["channelSchema"] = "EmailAndSms"
    order["recipient"]["recipientPerson"]["smsSettings"]["sendingTimePolicy"] = "Anytime"
    await client.post(ORDERS, json=order, headers=agency)
    await run_jobs(database)
    assert len(mailbox.to(KARI.email)) == 1
    assert KARI.mobile in (await client.get("/notifications/sms-outbox")).text


def test_daytime_sms_waits_for_the_norwegian_working_day():
    evening = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 21:00 in Oslo
    assert _next_daytime(evening) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Oslo the next day
    noon = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert _next_daytime(noon) == noon
    early = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)  # 06:00 in Oslo (summer time)
    assert _next_daytime(early) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


async def test_a_repeated_idempotency_id_gives_the_first_answer(client, database, people, agency, job_settings):
    first = await client.post(ORDERS, json=person_order(KARI.identifier, "same"), headers=agency)
    again = await client.post(ORDERS, json=person_order(KARI.identifier, "same"), headers=agency)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


async def test_an_order_is_cancelled_before_sending_and_not_after(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    later = (clock.now() + timedelta(hours=2)).isoformat()
    chain = (await client.post(ORDERS, json=person_order(KARI.identifier, "cancel", requestedSendTime=later),
                               headers=agency)).json()
    cancel = f"/notifications/api/v1/orders/{chain['notificationOrderId']}/cancel"
    assert (await client.put(cancel, headers=agency)).status_code == 204
    again = await client.put(cancel, headers=agency)
    assert again.status_code == 409 and again.json()["code"] == "CancellationProhibited"
    clock.advance(timedelta(hours=3))
    await run_jobs(database)
    assert mailbox.messages == []

    sent = (await client.post(ORDERS, json=person_order(KARI.identifier, "sent"), headers=agency)).json()
    await run_jobs(database)
    refused = await client.put(f"/notifications/api/v1/orders/{sent['notification']['shipmentId']}/cancel",
                               headers=agency)
    assert refused.status_code == 409


async def test_orders_need_the_scope_and_are_visible_only_to_their_creator(
    client, database, people, agency, token, job_settings
):
    no_scope = bearer(token(scopes=["altinn:events.publish"], org=AGENCY))
    assert (await client.post(ORDERS, json=person_order(KARI.identifier, "x"), headers=no_scope)).status_code == 403
    chain = (await client.post(ORDERS, json=person_order(KARI.identifier, "mine"), headers=agency)).json()
    other = bearer(token(scopes=[CREATE_SCOPE], org="991825827"))
    response = await client.get(f"{ORDERS}/{chain['notificationOrderId']}", headers=other)
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


async def test_invalid_orders_are_refused_as_problems(client, database, agency, job_settings):
    bad_nin = person_order("12345678901", "bad")
    response = await client.post(ORDERS, json=bad_nin, headers=agency)
    assert response.status_code == 400 and response.json()["code"] == "invalid_identifier"
    no_sms_texts = person_order(KARI.identifier, "no-sms")
    del no_sms_texts["recipient"]["recipientPerson"]["smsSettings"]
    response = await client.post(ORDERS, json=no_sms_texts, headers=agency)
    assert response.json()["code"] == "sms_settings_missing"
    ssrf = person_order(KARI.identifier, "ssrf", conditionEndpoint="http://169.254.169.254/latest/meta-data")
    assert (await client.post(ORDERS, json=ssrf, headers=agency)).json()["code"] == "outbound_url_refused"
    two = person_order(KARI.identifier, "two")
    two["recipient"]["recipientEmail"] = {"emailAddress": "a@b.no", "emailSettings": email_settings()}
    assert (await client.post(ORDERS, json=two, headers=agency)).status_code == 422


async def test_the_status_feed_and_events_follow_every_status_change(
    client, database, people, agency, token, job_settings, smtp_server
):
    chain = (await client.post(ORDERS, json=person_order(KARI.identifier, "feed"), headers=agency)).json()
    await run_jobs(database)
    shipment = chain["notification"]["shipmentId"]
    feed = (await client.get("/notifications/api/v1/future/shipment/feed?seq=0", headers=agency)).json()
    assert [(e["orderStatus"]["shipmentId"], e["orderStatus"]["status"]) for e in feed] == [
        (shipment, f"Order_{s}") for s in ("Registered", "Processing", "Processed", "Completed")]
    sequence = [entry["sequenceNumber"] for entry in feed]
    assert sequence == sorted(sequence)
    rest = await client.get(f"/notifications/api/v1/future/shipment/feed?seq={sequence[1]}&pageSize=1",
                            headers=agency)
    assert [e["sequenceNumber"] for e in rest.json()] == [sequence[2]]

    reader = bearer(token(scopes=["altinn:events.subscribe"], org=AGENCY))
    events = (await client.get("/events/api/v1/events", headers=reader, params={
        "resource": "urn:altinn:resource:altinn-notifications", "after": "0"})).json()
    # Published through concurrent jobs, events may be stored in another order; their times tell the order.
    events.sort(key=lambda event: event["time"])
    assert [e["type"] for e in events] == [f"no.altinn.notifications.order.{s}" for s in (
        "registered", "processing", "processed", "completed")]
    assert {e["subject"] for e in events} == {f"/org/{AGENCY}"} and events[0]["data"]["shipmentId"] == shipment
    stranger = bearer(token(scopes=["altinn:events.subscribe"], org="991825827"))
    assert (await client.get("/events/api/v1/events", headers=stranger, params={
        "resource": "urn:altinn:resource:altinn-notifications", "after": "0"})).json() == []


async def test_a_v1_email_order_reaches_many_recipients_and_refused_ones_are_recorded(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    mailbox.refuse["nobody@eksempel.no"] = "550 5.1.1 No such user"
    recipients = [{"emailAddress": f"user{n}@eksempel.no"} for n in range(25)]
    recipients += [{"emailAddress": "nobody@eksempel.no"}, {"nationalIdentityNumber": KARI.identifier},
                   {"organizationNumber": DEMO_COMPANY}]
    response = await client.post("/notifications/api/v1/orders/email", headers=agency, json={
        "subject": "Driftsmelding", "body": "Altinn er nede i natt.", "recipients": recipients})
    assert response.status_code == 202
    await run_jobs(database)
    assert len(mailbox.messages) == 27
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{response.json()['orderId']}",
                                 headers=agency)).json()
    statuses = {r["destination"]: r["status"] for r in manifest["recipients"]}
    assert statuses["nobody@eksempel.no"] == "Email_Failed_RecipientNotIdentified"
    assert statuses[KARI.email] == statuses[f"post@{DEMO_COMPANY}.eksempel.no"] == "Email_Succeeded"
    assert manifest["status"] == "Order_Completed"


async def test_an_unreachable_smtp_server_is_retried_then_recorded(
    client, database, people, agency, job_settings, smtp_server, monkeypatch
):
    from felles.core.config import get_settings
    from tests.notifications.conftest import free_port

    monkeypatch.setenv("FELLES_SMTP_PORT", str(free_port()))  # nothing listens there
    get_settings.cache_clear()
    chain = (await client.post(ORDERS, json=person_order(KARI.identifier, "down"), headers=agency)).json()
    for _ in range(6):
        await run_jobs(database)
        clock.advance(timedelta(hours=1))
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{chain['notification']['shipmentId']}",
                                 headers=agency)).json()
    assert [r["status"] for r in manifest["recipients"]] == ["Email_Failed_TransientError"]
    assert manifest["status"] == "Order_Completed"
