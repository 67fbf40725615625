"""Delivery reports: a DSN (RFC 3464) piped from the MTA turns Email_Succeeded into Email_Delivered or
Email_Failed_Bounced; the HTTP SMS gateway's DLR callback turns SMS_Accepted into SMS_Delivered or SMS_Failed_*.
Both endpoints take only reports that carry their channel's shared secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from felles.core.config import get_settings
from felles.core.jobs import Worker
from tests.conftest import serve_app

ORDERS = "/notifications/api/v1/future/orders"
EMAIL_REPORTS = "/notifications/api/v1/delivery-reports/email"
SMS_REPORTS = "/notifications/api/v1/delivery-reports/sms"
EMAIL_SECRET, SMS_SECRET = "mta-shared-secret", "gateway-shared-secret"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"email_delivery_report_secret": EMAIL_SECRET,
                                       "sms_delivery_report_secret": SMS_SECRET})


@pytest.fixture
def sms_gateway(job_settings, monkeypatch) -> Iterator[list[dict]]:
    """An HTTP SMS gateway (LINK Mobility's JSON) that accepts every message; the job handlers send to it."""
    accepted: list[dict] = []

    async def send(request: Request) -> JSONResponse:
        accepted.append(await request.json())
        return JSONResponse({"messageId": str(len(accepted))}, status_code=202)

    with serve_app(Starlette(routes=[Route("/sms", send, methods=["POST"])])) as base_url:
        monkeypatch.setenv("FELLES_SMS_PROVIDER", "http")
        monkeypatch.setenv("FELLES_SMS_GATEWAY_URL", f"{base_url}/sms")
        get_settings.cache_clear()
        yield accepted


def dsn(notification_id: str, action: str, status: str) -> bytes:
    """A delivery status notification as an MTA writes it for a message sent with ENVID=<notification id>."""
    return (
        "From: MAILER-DAEMON@mx.eksempel.no\r\nTo: ikke-svar@felles.localhost\r\nSubject: Delivery status\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message was processed.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.eksempel.no\r\nOriginal-Envelope-Id: {notification_id}\r\n\r\n"
        f"Final-Recipient: rfc822; someone@eksempel.no\r\nAction: {action}\r\nStatus: {status}\r\n\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{notification_id}@felles.notifications>\r\nX-Felles-Notification-Id: {notification_id}\r\n"
        "--b1--\r\n"
    ).encode()


async def email_order(client, agency, key: str, address: str) -> str:
    response = await client.post(ORDERS, headers=agency, json={
        "idempotencyId": key, "recipient": {"recipientEmail": {
            "emailAddress": address, "emailSettings": {"subject": "Svar", "body": "Du har fått svar."}}}})
    assert response.status_code == 201, response.text
    return response.json()["notification"]["shipmentId"]


async def results(client, agency, shipment: str) -> list[str]:
    manifest = (await client.get(f"/notifications/api/v1/future/shipment/{shipment}", headers=agency)).json()
    return [recipient["status"] for recipient in manifest["recipients"]]


async def test_dsns_from_the_mta_record_delivered_and_bounced_e_mails(client, database, agency, job_settings,
                                                                      smtp_server):
    mailbox, _ = smtp_server
    delivered = await email_order(client, agency, "dsn-delivered", "kari@eksempel.no")
    bounced = await email_order(client, agency, "dsn-bounced", "ukjent@eksempel.no")
    await Worker(database).run_until_idle()
    assert await results(client, agency, delivered) == ["Email_Succeeded"]
    ids = {message["To"]: message["X-Felles-Notification-Id"] for message in mailbox.messages}
    secret = {"X-Delivery-Report-Secret": EMAIL_SECRET, "Content-Type": "message/rfc822"}
    for address, action, status in (("kari@eksempel.no", "delivered", "2.0.0"),
                                    ("ukjent@eksempel.no", "failed", "5.1.1")):
        response = await client.post(EMAIL_REPORTS, content=dsn(ids[address], action, status), headers=secret)
        assert response.status_code == 204, response.text
    assert await results(client, agency, delivered) == ["Email_Delivered"]
    assert await results(client, agency, bounced) == ["Email_Failed_Bounced"]
    # A later report of a final result changes nothing.
    late = await client.post(EMAIL_REPORTS, content=dsn(ids["ukjent@eksempel.no"], "delivered", "2.0.0"),
                             headers=secret)
    assert late.status_code == 204 and await results(client, agency, bounced) == ["Email_Failed_Bounced"]


async def test_e_mail_reports_need_the_secret_and_a_dsn(client, database, agency, job_settings, smtp_server):
    mailbox, _ = smtp_server
    shipment = await email_order(client, agency, "dsn-refused", "kari@eksempel.no")
    await Worker(database).run_until_idle()
    report = dsn(mailbox.messages[0]["X-Felles-Notification-Id"], "delivered", "2.0.0")
    for headers in ({}, {"X-Delivery-Report-Secret": "guessed"}, {"X-Delivery-Report-Secret": SMS_SECRET}):
        response = await client.post(EMAIL_REPORTS, content=report, headers=headers)
        assert response.status_code == 401 and response.json()["code"] == "invalid_report_secret"
    not_a_dsn = await client.post(EMAIL_REPORTS, content=b"Subject: hei\r\n\r\nhei\r\n",
                                  headers={"X-Delivery-Report-Secret": EMAIL_SECRET})
    assert not_a_dsn.status_code == 400 and not_a_dsn.json()["code"] == "invalid_delivery_report"
    assert await results(client, agency, shipment) == ["Email_Succeeded"]


async def test_the_sms_gateways_dlr_callback_records_delivered_and_failed_messages(
    client, database, agency, job_settings, smtp_server, sms_gateway
):
    shipments = {}
    for key, mobile in (("dlr-delivered", "+4799999991"), ("dlr-failed", "+4799999992")):
        response = await client.post(ORDERS, headers=agency, json={"idempotencyId": key, "recipient": {
            "recipientSms": {"phoneNumber": mobile, "smsSettings": {"body": "Hei", "sendingTimePolicy": "Anytime"}}}})
        assert response.status_code == 201, response.text
        shipments[mobile] = response.json()["notification"]["shipmentId"]
    await Worker(database).run_until_idle()
    assert await results(client, agency, shipments["+4799999991"]) == ["SMS_Accepted"]
    references = {message["destination"]: message["refId"] for message in sms_gateway}
    secret = {"X-Delivery-Report-Secret": SMS_SECRET}
    for mobile, status in (("+4799999991", "Delivered"), ("+4799999992", "Failed_InvalidRecipient")):
        response = await client.post(SMS_REPORTS, headers=secret, json={"refId": references[mobile], "status": status})
        assert response.status_code == 204, response.text
    assert await results(client, agency, shipments["+4799999991"]) == ["SMS_Delivered"]
    assert await results(client, agency, shipments["+4799999992"]) == ["SMS_Failed_InvalidRecipient"]
    refused = await client.post(SMS_REPORTS, headers={"X-Delivery-Report-Secret": EMAIL_SECRET},
                                json={"refId": references["+4799999991"], "status": "Failed"})
    assert refused.status_code == 401
    unknown = await client.post(SMS_REPORTS, headers=secret, json={"refId": references["+4799999991"],
                                                                   "status": "Teleported"})
    assert unknown.status_code == 400
    assert await results(client, agency, shipments["+4799999991"]) == ["SMS_Delivered"]
