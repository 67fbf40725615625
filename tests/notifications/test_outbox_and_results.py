"""The development e-mail outbox (the default e-mail provider in development) and its page, the SMS outbox in
Norwegian time, why a failing notification failed (in the log and in the order's status), the v1 order
GETs, and the read scope."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from structlog.testing import capture_logs

from felles.core.clock import clock
from felles.core.config import Environment, Settings, get_settings
from felles.notifications.models import EmailOutboxMessage, SmsOutboxMessage
from felles.notifications.service import CREATE_SCOPE, READ_SCOPE, channel_health, delivery_destinations
from tests.conftest import bearer
from tests.notifications.conftest import AGENCY, free_port
from tests.notifications.test_orders import KARI, ORDERS, person_order, run_jobs

V1_ORDERS = "/notifications/api/v1/orders"
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def outbox_settings(job_settings, monkeypatch):
    monkeypatch.setenv("FELLES_EMAIL_PROVIDER", "outbox")
    get_settings.cache_clear()
    return get_settings()


def oslo(moment) -> str:
    return moment.astimezone(OSLO).strftime("%d.%m.%Y %H:%M:%S")


def test_development_keeps_e_mail_in_the_outbox_and_production_sends_it(tmp_path):
    development = Settings(environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    assert development.email_provider == "outbox"
    assert delivery_destinations(development)["E-mail"] == (
        "outbox at http://localhost:8000/notifications/email-outbox")
    production = Settings(environment=Environment.PRODUCTION, database_url="postgresql+asyncpg://db/felles",
                          secret_key="x" * 40, smtp_host="smtp.example.no", smtp_port=587)
    assert production.email_provider == "smtp"
    assert delivery_destinations(production)["E-mail"] == "SMTP server smtp.example.no:587"
    with pytest.raises(ValidationError, match="FELLES_EMAIL_PROVIDER=outbox"):
        Settings(environment=Environment.PRODUCTION, database_url="postgresql+asyncpg://db/felles",
                 secret_key="x" * 40, email_provider="outbox")


async def test_felles_check_asks_the_configured_e_mail_provider(tmp_path):
    outbox = Settings(environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    email, sms = await channel_health(outbox)
    assert (email.name, email.ok, sms.name, sms.ok) == ("email (outbox)", True, "sms (outbox)", True)
    unreachable = Settings(environment=Environment.TEST, data_dir=tmp_path, smtp_port=free_port())
    email, _ = await channel_health(unreachable)
    assert email.name == "email (smtp)" and not email.ok and str(unreachable.smtp_port) in email.detail


async def test_e_mail_goes_to_the_outbox_page_newest_first_in_norwegian_time_and_escaped(
    client, database, people, agency, outbox_settings, smtp_server
):
    mailbox, _ = smtp_server
    first = await client.post(f"{V1_ORDERS}/email", headers=agency, json={
        "subject": "Første", "body": "<b>Hei</b><script>alert(1)</script>", "contentType": "Html",
        "recipients": [{"emailAddress": "a@eksempel.no"}]})
    assert first.status_code == 202
    await run_jobs(database)
    clock.advance(timedelta(minutes=5))
    await client.post(f"{V1_ORDERS}/email", headers=agency, json={
        "subject": "Andre", "body": "Vanlig tekst", "recipients": [{"emailAddress": "b@eksempel.no"}]})
    await run_jobs(database)

    assert mailbox.messages == []  # nothing left the machine
    async with database.transaction() as session:
        rows = list(await session.scalars(select(EmailOutboxMessage)))
    assert {row.destination for row in rows} == {"a@eksempel.no", "b@eksempel.no"}
    page = await client.get("/notifications/email-outbox?lang=en")
    assert page.status_code == 200 and "E-mail outbox" in page.text
    assert page.text.index("Andre") < page.text.index("Første")  # newest first
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    for row in rows:
        assert oslo(row.created_at) in page.text
    assert "E-postutboks" in (await client.get("/notifications/email-outbox?lang=nb")).text
    assert "Ingen av dei har forlate" in (await client.get("/notifications/email-outbox?lang=nn")).text

    order = first.json()["orderId"]
    results = (await client.get(f"{V1_ORDERS}/{order}/notifications/email", headers=agency)).json()
    assert [n["sendStatus"]["status"] for n in results["notifications"]] == ["Succeeded"]


async def test_the_sms_outbox_shows_norwegian_time(client, database, people, agency, job_settings):
    order = person_order(KARI.identifier, "sms-time")
    order["recipient"]["recipientPerson"]["channelSchema"] = "SmsOnly"
    order["recipient"]["recipientPerson"]["smsSettings"]["sendingTimePolicy"] = "Anytime"
    await client.post(ORDERS, json=order, headers=agency)
    await run_jobs(database)
    async with database.transaction() as session:
        (message,) = await session.scalars(select(SmsOutboxMessage))
    page = (await client.get("/notifications/sms-outbox")).text
    assert oslo(message.created_at) in page
    assert message.created_at.strftime("%Y-%m-%d %H:%M:%S") not in page  # not UTC


async def test_a_refused_e_mail_fails_with_its_reason_in_the_log_and_the_status(
    client, database, people, agency, job_settings, smtp_server
):
    mailbox, _ = smtp_server
    mailbox.refuse["nobody@eksempel.no"] = "550 5.1.1 No such user"
    created = (await client.post(f"{V1_ORDERS}/email", headers=agency, json={
        "subject": "Hei", "body": "Tekst", "recipients": [{"emailAddress": "nobody@eksempel.no"}]})).json()
    with capture_logs() as logs:
        await run_jobs(database)
    (failure,) = [entry for entry in logs if entry["event"] == "notification_send_failed"]
    assert failure["log_level"] == "warning" and failure["order"] == created["orderId"]
    assert "550" in failure["error"] and "No such user" in failure["error"]

    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{created['orderId']}",
                                 headers=agency)).json()
    (recipient,) = manifest["recipients"]
    assert recipient["status"] == "Email_Failed_RecipientNotIdentified"
    assert "No such user" in recipient["description"]
    notification = (await client.get(f"{V1_ORDERS}/{created['orderId']}/notifications/email",
                                     headers=agency)).json()["notifications"][0]
    assert failure["notification"] == notification["id"]
    assert notification["sendStatus"]["status"] == "Failed_RecipientNotIdentified"
    assert "No such user" in notification["sendStatus"]["description"]


async def test_an_unreachable_smtp_server_shows_its_reason_while_the_e_mail_waits_to_be_retried(
    client, database, people, agency, job_settings, monkeypatch
):
    monkeypatch.setenv("FELLES_SMTP_PORT", str(free_port()))  # nothing listens there
    get_settings.cache_clear()
    chain = (await client.post(ORDERS, json=person_order(KARI.identifier, "down-reason"), headers=agency)).json()
    with capture_logs() as logs:
        await run_jobs(database)
    (failure,) = [entry for entry in logs if entry["event"] == "notification_send_failed"]
    assert failure["retried"] and "Connect call failed" in failure["error"]
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{chain['notification']['shipmentId']}",
                                 headers=agency)).json()
    (recipient,) = manifest["recipients"]
    assert recipient["status"] == "Email_New" and recipient["description"]
    assert manifest["status"] == "Order_Processed"


async def test_a_v1_email_order_can_be_read_by_its_creator_only(
    client, database, people, agency, token, settings, job_settings, smtp_server
):
    created = await client.post(f"{V1_ORDERS}/email", headers=agency, json={
        "subject": "Driftsmelding", "body": "Altinn er nede i natt.", "sendersReference": "drift-1",
        "recipients": [{"emailAddress": "user@eksempel.no"}, {"nationalIdentityNumber": KARI.identifier}]})
    order_id = created.json()["orderId"]

    order = await client.get(f"{V1_ORDERS}/{order_id}", headers=agency)
    assert order.status_code == 200
    assert order.json()["sendersReference"] == "drift-1" and order.json()["notificationChannel"] == "Email"
    assert order.json()["emailTemplate"]["subject"] == "Driftsmelding"
    assert order.json()["recipients"][1]["nationalIdentityNumber"] == KARI.identifier
    assert order.json()["links"]["status"] == f"{settings.base_url}{V1_ORDERS}/{order_id}/status"

    status = (await client.get(f"{V1_ORDERS}/{order_id}/status", headers=agency)).json()
    assert status["processingStatus"]["status"] == "Registered"
    await run_jobs(database)
    status = (await client.get(f"{V1_ORDERS}/{order_id}/status", headers=agency)).json()
    assert status["processingStatus"]["status"] == "Completed"
    assert status["notificationsStatusSummary"]["email"]["generated"] == 2
    assert status["notificationsStatusSummary"]["email"]["succeeded"] == 2

    results = (await client.get(f"{V1_ORDERS}/{order_id}/notifications/email", headers=agency)).json()
    assert results["generated"] == results["succeeded"] == 2
    assert {n["recipient"]["emailAddress"] for n in results["notifications"]} == {"user@eksempel.no", KARI.email}
    assert {n["recipient"].get("nationalIdentityNumber") for n in results["notifications"]} == {None, KARI.identifier}

    other = bearer(token(scopes=[CREATE_SCOPE], org="991825827"))
    for path in ("", "/status", "/notifications/email"):
        response = await client.get(f"{V1_ORDERS}/{order_id}{path}", headers=other)
        assert response.status_code == 404 and response.json()["code"] == "OrderNotFound"


async def test_reading_takes_the_read_scope_and_creating_still_needs_the_create_scope(
    client, database, people, agency, token, job_settings
):
    reader = bearer(token(scopes=[READ_SCOPE], org=AGENCY))
    chain = (await client.post(ORDERS, json=person_order(KARI.identifier, "read-scope"), headers=agency)).json()
    shipment = chain["notification"]["shipmentId"]
    for path in (f"/notifications/api/v1/future/shipment/{shipment}",
                 f"/notifications/api/v1/future/orders/{chain['notificationOrderId']}",
                 "/notifications/api/v1/future/shipment/feed", f"{V1_ORDERS}/{shipment}/status"):
        assert (await client.get(path, headers=reader)).status_code == 200, path
    refused = await client.post(ORDERS, json=person_order(KARI.identifier, "read-only"), headers=reader)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
