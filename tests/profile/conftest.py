"""The demo personas and their company in the registers, Altinn end-user tokens for them, and what the profile
tests share: reading a verification code from the notification that carried it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.jobs import Worker
from felles.notifications.models import Notification
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer

KARI, OLA, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4]
COMPANY = DEMO_COMPANY  # Fjordkraft Demo AS: Ingrid is its daglig leder
CURRENT = "/profile/api/v1/users/current"
SETTINGS = CURRENT + "/notificationsettings/parties"
VERIFICATION = CURRENT + "/verification"


@pytest.fixture
async def people(database: Database) -> None:
    await seed_demo_personas(database)


@pytest.fixture
def as_person(token) -> Callable[[str], dict[str, str]]:
    """An Altinn end-user token (the portal's scope) for a person."""
    return lambda pid: bearer(token(scopes=[], person=pid))


async def run_jobs(database: Database) -> None:
    """Run the due jobs to the end (the verification code's Varsling order, then its sending)."""
    await Worker(database).run_until_idle()


async def code_sent_to(database: Database, address: str) -> str:
    """The last verification code Varsling wrote to `address` (an e-mail address or a phone number)."""
    await run_jobs(database)
    async with database.transaction() as session:
        bodies = list(await session.scalars(select(Notification.body).where(Notification.destination == address)
                                            .order_by(Notification.status_at)))
    assert bodies, f"no notification to {address}"
    match = re.search(r"\b(\d{6})\b", bodies[-1] or "")
    assert match, bodies[-1]
    return match.group(1)


@pytest.fixture
def varsling_outbox(job_settings, monkeypatch):
    """The job handlers' settings, with e-mail kept in Varsling's development outbox (no SMTP server needed)."""
    monkeypatch.setenv("FELLES_EMAIL_PROVIDER", "outbox")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
