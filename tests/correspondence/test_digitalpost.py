"""The routes a letter to a person takes (issue #14's three, and the rest): KRR decides between the digital
mailbox, Altinn and paper; opening in the mailbox or reading in Altinn keeps it off paper; unread for the days
the sender set, it is printed exactly once. Real job queue, real development providers, a moved clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from felles.core.clock import clock
from felles.core.config import Environment
from felles.core.errors import InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.correspondence import digitalpost
from felles.correspondence.letters import Channel, MessageStatus, PrintReason
from felles.correspondence.printing import OUTBOX_FOLDER
from felles.registers.population import DEMO_ACCOUNTING_FIRM
from tests.correspondence.letters_support import (  # noqa: F401 - personas is a fixture
    KARI,
    OLA,
    REIDUN,
    SENDER,
    SOFIE,
    letter_state,
    personas,
    run_jobs,
)

pytestmark = pytest.mark.usefixtures("personas")
BODY = "# Vedtak\n\nDu har fått **innvilget** parkeringstillatelse.\n\n- Gyldig i ett år\n- Gjelder sone A"


async def route(database, person: str, *, unread_days: int | None = 10, correspondence_id=None,
                ignore_reservation: bool = False) -> digitalpost.LetterRoute:
    async with database.transaction() as session:
        return await digitalpost.route_person_correspondence_in_transaction(
            session, correspondence_id=correspondence_id or uuid7(), recipient_ssn=person, sender_org=SENDER,
            title="Vedtak om parkeringstillatelse", body_markdown=BODY, unread_days=unread_days,
            ignore_reservation=ignore_reservation)


def printed_files(settings, letter_id) -> list:
    return sorted((settings.data_dir / OUTBOX_FOLDER).glob(f"*/{letter_id}.pdf"))


async def test_a_reserved_person_gets_paper(database, job_settings) -> None:
    taken = await route(database, REIDUN.identifier)
    assert (taken.channel, taken.print_reason, taken.paper_due_at) == (Channel.PRINT, PrintReason.RESERVED, None)

    await run_jobs(database)

    state = await letter_state(database, taken.letter_id)
    assert state.status == MessageStatus.LEVERT and state.printed_at is not None
    assert state.history == ["OPPRETTET", "SENDT", "LEVERT"]
    (printed,) = printed_files(job_settings, taken.letter_id)
    assert printed.read_bytes().startswith(b"%PDF")


async def test_a_person_with_digipost_gets_it_there_opens_it_and_no_paper_follows(database, job_settings) -> None:
    taken = await route(database, KARI.identifier)
    assert taken.channel == Channel.DIGITAL_POST and taken.print_reason is None
    await run_jobs(database)
    (delivered,) = await digitalpost.development_mailbox(database, KARI.identifier)
    assert delivered.title == "Vedtak om parkeringstillatelse" and delivered.mailbox_provider == "Digipost"
    assert delivered.opened_at is None and delivered.sender_name == "Fjordkraft Demo AS"
    assert await digitalpost.development_mailbox(database, OLA.identifier) == []

    opened = await digitalpost.open_in_development_mailbox(database, KARI.identifier, taken.letter_id)
    assert opened.opened_at is not None
    clock.advance(timedelta(days=30))
    await run_jobs(database)

    state = await letter_state(database, taken.letter_id)
    assert state.status == MessageStatus.LEST and state.print_reason is None and state.printed_at is None
    assert state.history == ["OPPRETTET", "SENDT", "LEVERT", "LEST"]
    assert printed_files(job_settings, taken.letter_id) == []


async def test_a_letter_unopened_for_10_days_is_printed_exactly_once(database, job_settings) -> None:
    taken = await route(database, KARI.identifier)
    await run_jobs(database)
    clock.advance(timedelta(days=9, hours=23))
    await run_jobs(database)
    assert (await letter_state(database, taken.letter_id)).printed_at is None

    clock.advance(timedelta(hours=2))
    await run_jobs(database)
    state = await letter_state(database, taken.letter_id)
    assert state.print_reason == PrintReason.UNREAD and state.printed_at is not None
    printed_at = state.printed_at

    # Later sweeps, a late opening and more time change nothing: one batch, one file, printed once.
    clock.advance(timedelta(days=5))
    await run_jobs(database)
    state = await letter_state(database, taken.letter_id)
    assert state.printed_at == printed_at
    assert state.history == ["OPPRETTET", "SENDT", "LEVERT", "SENDT", "LEVERT"]
    assert len(printed_files(job_settings, taken.letter_id)) == 1


async def test_reading_in_altinn_keeps_the_letter_off_paper(database, job_settings) -> None:
    correspondence = uuid7()
    taken = await route(database, OLA.identifier, correspondence_id=correspondence)
    assert taken.channel == Channel.ALTINN and taken.paper_due_at is not None
    clock.advance(timedelta(days=3))
    async with database.transaction() as session:
        assert await digitalpost.correspondence_read_in_altinn_in_transaction(
            session, correspondence_id=correspondence)
        assert not await digitalpost.correspondence_read_in_altinn_in_transaction(
            session, correspondence_id=uuid7())
    clock.advance(timedelta(days=10))
    await run_jobs(database)
    state = await letter_state(database, taken.letter_id)
    assert state.status == MessageStatus.LEST and state.printed_at is None
    assert printed_files(job_settings, taken.letter_id) == []


async def test_unread_in_altinn_for_the_days_set_goes_on_paper(database, job_settings) -> None:
    taken = await route(database, OLA.identifier, unread_days=3)
    clock.advance(timedelta(days=3, minutes=1))
    await run_jobs(database)
    state = await letter_state(database, taken.letter_id)
    assert state.channel == Channel.ALTINN and state.print_reason == PrintReason.UNREAD
    assert state.printed_at is not None


async def test_no_mailbox_and_nothing_to_tell_them_means_paper_now(database, job_settings) -> None:
    taken = await route(database, SOFIE.identifier)  # a child: not in KRR
    assert (taken.channel, taken.print_reason) == (Channel.PRINT, PrintReason.NO_DIGITAL_CHANNEL)
    await run_jobs(database)
    assert (await letter_state(database, taken.letter_id)).printed_at is not None


async def test_ignore_reservation_publishes_in_altinn_with_the_paper_fallback(database, job_settings) -> None:
    taken = await route(database, REIDUN.identifier, ignore_reservation=True)
    assert taken.channel == Channel.ALTINN and taken.paper_due_at is not None


async def test_no_unread_days_means_no_paper_for_being_unread(database, job_settings) -> None:
    taken = await route(database, OLA.identifier, unread_days=None)
    clock.advance(timedelta(days=100))
    await run_jobs(database)
    assert (await letter_state(database, taken.letter_id)).printed_at is None


async def test_routing_the_same_correspondence_again_changes_nothing(database, job_settings) -> None:
    correspondence = uuid7()
    first = await route(database, REIDUN.identifier, correspondence_id=correspondence)
    again = await route(database, REIDUN.identifier, correspondence_id=correspondence)
    assert again == first
    await run_jobs(database)
    assert len(printed_files(job_settings, first.letter_id)) == 1


async def test_a_letter_not_in_the_persons_mailbox_is_not_found(database, job_settings) -> None:
    taken = await route(database, KARI.identifier)
    await run_jobs(database)
    with pytest.raises(NotFound):
        await digitalpost.open_in_development_mailbox(database, OLA.identifier, taken.letter_id)
    assert (await letter_state(database, taken.letter_id)).opened_at is None


async def test_a_failed_mailbox_delivery_goes_on_paper(database, job_settings) -> None:
    taken = await route(database, KARI.identifier)
    await run_jobs(database)
    # The letter's eFormidling message id is its own id when the sender gave none.
    await digitalpost.record_mailbox_receipt(database, str(taken.letter_id), "failed")
    await run_jobs(database)
    state = await letter_state(database, taken.letter_id)
    assert state.print_reason == PrintReason.NO_DIGITAL_CHANNEL and state.printed_at is not None
    assert "FEIL" in state.history


async def test_the_providers_check_themselves(job_settings) -> None:
    checks = await digitalpost.provider_health(job_settings)
    assert [(check.name, check.ok) for check in checks] == [("mailbox provider", True), ("print provider", True)]
    production = job_settings.model_copy(update={"environment": Environment.PRODUCTION})
    assert not any(check.ok for check in await digitalpost.provider_health(production))
    unknown = job_settings.model_copy(update={"print_provider": "nowhere"})
    assert "no print provider is registered as 'nowhere'" in (await digitalpost.provider_health(unknown))[1].detail


async def test_a_fan_out_routes_each_person_as_one_by_one_would(database, job_settings) -> None:
    earlier = uuid7()
    first = await route(database, OLA.identifier, correspondence_id=earlier)
    wanted = [digitalpost.PersonLetter(uuid7(), person, SENDER, "Vedtak", BODY)
              for person in (KARI.identifier, REIDUN.identifier, SOFIE.identifier, OLA.identifier)]
    wanted.append(digitalpost.PersonLetter(earlier, OLA.identifier, SENDER, "Vedtak", BODY))  # routed before
    async with database.transaction() as session:
        routes = await digitalpost.route_person_correspondences_in_transaction(session, wanted)
    assert [(taken.channel, taken.print_reason) for taken in routes] == [
        (Channel.DIGITAL_POST, None), (Channel.PRINT, PrintReason.RESERVED),
        (Channel.PRINT, PrintReason.NO_DIGITAL_CHANNEL), (Channel.ALTINN, None), (Channel.ALTINN, None)]
    assert routes[-1] == first
    clock.advance(timedelta(days=11))
    await run_jobs(database)
    states = [await letter_state(database, taken.letter_id) for taken in routes]
    # Kari's unopened and Ola's unread letters went on paper after 10 days, each once.
    assert [state.print_reason for state in states] == [
        PrintReason.UNREAD, PrintReason.RESERVED, PrintReason.NO_DIGITAL_CHANNEL, PrintReason.UNREAD,
        PrintReason.UNREAD]
    assert all(state.printed_at is not None for state in states)
    assert sum(len(printed_files(job_settings, taken.letter_id)) for taken in routes[:4]) == 4


async def test_negative_days_before_paper_are_refused(database, job_settings) -> None:
    with pytest.raises(InvalidInput):
        await route(database, OLA.identifier, unread_days=-1)


async def test_published_correspondences_to_persons_are_routed_and_organisations_left_in_altinn(
        database, job_settings) -> None:
    @dataclass
    class Published:  # the correspondence model's columns routing reads
        id: uuid.UUID
        sender: str
        recipient: str
        message_title: str
        message_body: str
        ignore_reservation: bool = False

    rows = [Published(uuid7(), SENDER, REIDUN.identifier, "Vedtak", BODY),
            Published(uuid7(), SENDER, DEMO_ACCOUNTING_FIRM, "Vedtak", BODY)]
    async with database.transaction() as session:
        (routed,) = await digitalpost.route_published_in_transaction(session, rows)
    assert (routed.channel, routed.print_reason) == (Channel.PRINT, PrintReason.RESERVED)
