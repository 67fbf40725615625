"""Seed 003's whole journey on a served platform: `run_journey` (what `felles demo journey` runs) applies as
Heidi for Line and Isak, the reference case system imports, confirms, decides (by the rules, and by the case
worker) and answers with letters and notices; then, on a clock moved 11 days, the unread letters go on paper."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from felles.app import create_app
from felles.casesystem.rules import Outcome
from felles.casesystem.store import CaseState
from felles.core.clock import clock
from felles.core.config import get_settings
from felles.core.jobs import Worker
from felles.core.outbound import close_pooled_clients
from felles.core.tokens import PlatformKeys, mint_development_token, required_scopes
from felles.correspondence.letters_models import Letter
from felles.correspondence.nextmove import DPO_SCOPE
from felles.identity.cli import seed_platform_scopes
from felles.journey.demo import KINDERGARTEN_APP, LEAVE_APP, OWNER, seed_skedsmo
from felles.journey.run import run_journey
from felles.notifications.models import Notification
from felles.registers.population import JOURNEY_FAMILY, SKEDSMO
from tests.conftest import bearer, free_listener, serve_app

SENT = ("Email_Succeeded", "Email_Delivered", "SMS_Accepted", "SMS_Delivered")


@pytest.fixture
def platform(settings, database, monkeypatch):
    """The platform served on a loopback port, with its in-process job worker, at the base URL its tokens and
    events name; the settings it runs with."""
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    served = settings.model_copy(update={"base_url": base, "email_provider": "outbox"})
    for name, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir), "BASE_URL": base,
                        "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key,
                        "WORKER_POLL_SECONDS": "0.1", "EMAIL_PROVIDER": "outbox"}.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    with serve_app(create_app(served, run_worker=False), listener):
        yield served
    get_settings.cache_clear()


@pytest.fixture
async def worker(platform, database):
    """The platform's job worker, in the test's event loop (its webhook calls' pooled connections closed at the
    end)."""
    running = asyncio.create_task(Worker(database, poll_seconds=0.1).run())
    yield
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await close_pooled_clients()


async def _eventually(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"waited {seconds} s for {what}"
        await asyncio.sleep(0.2)
    return found


async def test_the_whole_journey_from_application_to_answer_and_paper(platform, database, worker) -> None:
    await seed_platform_scopes(database, required_scopes(), [])
    await seed_skedsmo(database, platform)
    said: list[str] = []

    result = await run_journey(platform, platform.base_url, said.append)

    assert [step.name for step in result.steps] == [
        "Case system", "Leave from school", "Kindergarten place", "Imported and decided by the rules",
        "With a case worker", "Decided by the case worker", "Answers sent", "Paper after 10 days"]
    assert "Kjellerveien 24, 2007 KJELLER" in said[1] and "heidi.kjeller@eksempel.no" in said[1]
    leave, place = result.cases[LEAVE_APP], result.cases[KINDERGARTEN_APP]
    # Prefilled from Folkeregisteret (the child the parent acted for) and the applicant's own party.
    assert (leave.child_id, leave.child_name) == (JOURNEY_FAMILY.line.identifier, "Line Kjeller")
    assert (place.child_id, place.kind) == (JOURNEY_FAMILY.isak.identifier, "kindergarten")
    assert leave.applicant_id == place.applicant_id == JOURNEY_FAMILY.heidi.identifier
    assert (leave.state, leave.outcome, leave.decided_by) == (CaseState.ANSWERED, Outcome.GRANTED, "regelmotor")
    assert leave.details["schoolDays"] == 8
    assert (place.state, place.outcome, place.decided_by) == (CaseState.ANSWERED, Outcome.GRANTED, "saksbehandler")

    # The platform's side: each instance ended, archived and confirmed complete by Skedsmo kommune.
    async with httpx.AsyncClient(base_url=platform.base_url) as http:
        keys = PlatformKeys.load(platform)

        def token(*scopes: str) -> dict[str, str]:
            return bearer(mint_development_token(keys, platform, organization_number=SKEDSMO, scopes=list(scopes)))
        owner = token("altinn:serviceowner/instances.read")
        for instance_id in result.instances.values():
            instance = (await http.get(f"/storage/api/v1/instances/{instance_id}", headers=owner)).json()
            assert instance["status"]["isArchived"] is True
            assert [c["stakeholderId"] for c in instance["completeConfirmations"]] == [OWNER]

        # Each answer is a published correspondence to Heidi with the decision letter as a PDF.
        sender = token("altinn:correspondence.write", "altinn:serviceowner")
        for case in (leave, place):
            details = (await http.get(f"/correspondence/api/v1/correspondence/{case.correspondence_id}/details",
                                      headers=sender)).json()
            assert details["recipient"].endswith(JOURNEY_FAMILY.heidi.identifier)
            assert details["content"]["attachments"][0]["fileName"] == f"vedtak-{case.number}.pdf"

        # Each case is in Skedsmo's archive as a Noark 5 arkivmelding, received through the next-move API.
        archive = token(DPO_SCOPE)
        for case in (leave, place):
            assert case.archive_message_id is not None
            feed = (await http.get(f"/api/statuses/{case.archive_message_id}", headers=archive)).json()
            assert [status["status"] for status in feed["content"]] == ["OPPRETTET", "SENDT", "MOTTATT"]

    # The notices: e-mails to Heidi's KRR address at once, SMS to her mobile (held until daytime, as Altinn's are).
    async def notices() -> list[tuple[str, str, str]]:
        async with database.transaction() as session:
            rows = await session.scalars(select(Notification))
            return sorted((row.channel, row.destination or "", "sent" if row.status in SENT else row.status)
                          for row in rows)
    heidi = JOURNEY_FAMILY.heidi
    emailed = [("email", heidi.email or "", "sent")] * 2
    texted = [("sms", heidi.mobile or "", "sent")] * 2

    async def emailed_and_texts_ordered() -> bool:
        found = await notices()
        return [n for n in found if n[0] == "email"] == emailed and \
            [n[:2] for n in found if n[0] == "sms"] == [t[:2] for t in texted]
    await _eventually(emailed_and_texts_ordered, "the e-mails sent and the SMS ordered")

    # Heidi does not open her answers: after 10 days they go on paper.
    async def letters() -> list[Letter]:
        async with database.transaction() as session:
            return list(await session.scalars(select(Letter).where(Letter.correspondence_id.in_(
                [uuid.UUID(case.correspondence_id or "") for case in (leave, place)]))))
    before = await _eventually(lambda: _count(letters, 2), "the letters routed")
    assert all(letter.print_reason is None and letter.paper_due_at is not None for letter in before)
    clock.advance(timedelta(days=11))

    async def printed() -> list[Letter]:
        return [letter for letter in await letters() if letter.print_reason == "unread" and letter.printed_at]
    await _eventually(lambda: _count(printed, 2), "the unread letters printed")
    await _eventually(lambda: _matching(notices, [*emailed, *texted]), "the SMS sent (in the daytime)")


async def _matching(rows: Callable[[], Any], wanted: list[Any]) -> bool:
    return sorted(await rows()) == sorted(wanted)


async def _count(rows: Callable[[], Any], wanted: int) -> Any:
    found = await rows()
    return found if len(found) == wanted else None
