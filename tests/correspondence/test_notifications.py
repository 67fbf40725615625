"""Notifications of a correspondence end to end: the order placed when it is published (Altinn's standard
notice with the recipient's name), sent by e-mail to a real SMTP server after the condition check asks the
served platform, and the reminder a day later only while the correspondence is unread."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from felles.app import create_app
from felles.core import outbound
from felles.core.clock import clock
from felles.core.config import Environment, Settings, get_settings
from felles.correspondence.models import CorrespondenceNotification
from felles.notifications import channels
from felles.notifications.models import NotificationOrder
from tests.conftest import free_listener, serve_app
from tests.correspondence.conftest import API, KARI, request_body, run_jobs
from tests.notifications.conftest import smtp_server  # noqa: F401 - the real SMTP server fixture


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    listener = free_listener()
    yield listener
    listener.close()


@pytest.fixture
def settings(data_dir, database_url, listener) -> Settings:
    """The test settings with the served platform's URL as the base URL, which its tokens and condition
    endpoints name."""
    return Settings(environment=Environment.TEST, data_dir=data_dir, database_url=database_url,
                    secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING",
                    base_url=f"http://127.0.0.1:{listener.getsockname()[1]}")


@pytest.fixture
def served(settings, listener, smtp_server, monkeypatch) -> Iterator[str]:  # noqa: F811 - smtp_server is a fixture
    """The platform served on its base URL, and the job handlers' settings pointed at it and the SMTP server."""
    for name, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir),
                        "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key,
                        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_server[1]), "SMS_PROVIDER": "outbox",
                        "EMAIL_RATE_PER_SECOND": "0", "BASE_URL": settings.base_url}.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    with serve_app(create_app(get_settings(), run_worker=False), listener) as url:
        yield url
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
async def _close_pooled_connections() -> AsyncIterator[None]:
    yield
    await outbound.close_pooled_clients()
    await channels.close_smtp_connections()


async def test_the_notice_goes_with_the_recipients_name_and_the_reminder_only_while_unread(
        database, resource, sender, reader, served, smtp_server):  # noqa: F811
    mailbox, _ = smtp_server
    body = request_body(messageSender="Skatteetaten", notification={
        "notificationTemplate": "GenericAltinnMessage", "notificationChannel": "Email", "sendReminder": True})
    async with httpx.AsyncClient(base_url=served) as client:
        sent = await client.post(f"{API}/correspondence", json=body, headers=sender)
        assert sent.status_code == 200, sent.text
        identifier = sent.json()["correspondences"][0]["correspondenceId"]
        await run_jobs(database)
        (notice,) = mailbox.to(KARI.email)
        assert notice["Subject"] == "Du har mottatt en melding fra Skatteetaten"
        assert "Hei Kari Nordmann" in notice.get_content()
        details = (await client.get(f"{API}/correspondence/{identifier}/details", headers=sender)).json()
        assert len(details["notifications"]) == 1 and details["notifications"][0]["reminderShipmentId"]

        assert (await client.post(f"{API}/correspondence/{identifier}/markasread",
                                  headers=reader(KARI.identifier))).status_code == 200
        clock.advance(timedelta(days=1, hours=1))
        await run_jobs(database)
    assert len(mailbox.to(KARI.email)) == 1  # read: no reminder
    async with database.transaction() as session:
        statuses = sorted(await session.scalars(select(NotificationOrder.status)))
        assert statuses == ["Completed", "SendConditionNotMet"]
        assert await session.scalar(select(func.count()).select_from(CorrespondenceNotification)) == 1


async def test_the_condition_endpoint_needs_the_platforms_mac(client, database, resource, sender, job_settings):
    sent = await client.post(f"{API}/correspondence", json=request_body(), headers=sender)
    identifier = sent.json()["correspondences"][0]["correspondenceId"]
    forged = await client.get(f"{API}/correspondence/{identifier}/notification/check", params={"mac": "0" * 64})
    assert forged.status_code == 403
    await run_jobs(database)
