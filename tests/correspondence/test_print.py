"""Paper letters: the A4 PDF with its window-envelope address block, print batches, and printing exactly once
when a submission is repeated or collectors race."""

from __future__ import annotations

import asyncio
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from felles.core.ids import uuid7
from felles.core.jobs import JobContext
from felles.correspondence import printing
from felles.correspondence.letters import Channel, MessageStatus, PrintReason, new_letter, record_status
from felles.correspondence.letters_models import Letter, PrintBatch
from felles.registers.population import DEMO_ACCOUNTING_FIRM
from tests.correspondence.letters_support import (  # noqa: F401 - personas is a fixture
    REIDUN,
    SENDER,
    letter_state,
    personas,
    run_jobs,
)

pytestmark = pytest.mark.usefixtures("personas")
A4_POINTS = (595, 842)


async def queue_letters(database, recipient: str, count: int = 1, **overrides) -> list[Letter]:
    async with database.transaction() as session:
        letters = []
        for number in range(count):
            letter = new_letter(sender=SENDER, recipient=recipient, title=f"Brev nummer {number + 1}",
                                body_markdown="Se vedlagte **vedtak**.", channel=Channel.PRINT,
                                document_type="print", **overrides)
            session.add(letter)
            record_status(session, letter, MessageStatus.OPPRETTET)
            await printing.queue_for_print_in_transaction(session, letter, PrintReason.REQUESTED)
            letters.append(letter)
        return letters


async def collect(database) -> None:
    async with database.transaction() as session:
        await printing.collect_print_batches({}, JobContext(uuid7(), 1, session, database))


def pdf_of(settings, letter: Letter, batch_id) -> PdfReader:
    return PdfReader(BytesIO(printing.print_outbox_file(settings, batch_id, letter.id).read_bytes()))


async def test_a_paper_letter_is_a4_with_the_address_from_folkeregisteret_and_the_return_address(
        database, job_settings) -> None:
    (letter,) = await queue_letters(database, REIDUN.identifier)
    await run_jobs(database)
    state = await letter_state(database, letter.id)
    assert state.status == MessageStatus.LEVERT and state.history == ["OPPRETTET", "SENDT", "LEVERT"]
    reader = pdf_of(job_settings, letter, state.print_batch_id)
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4_POINTS
    text = page.extract_text()
    for line in ("Reidun Reservert", "Fjordveien 12", "5003 BERGEN", "Brev nummer 1", "Se vedlagte vedtak."):
        assert line in text
    assert "Fjordkraft Demo AS, Storgata 1, 0150 OSLO" in text  # the return address above the window


async def test_an_organisation_gets_paper_at_its_address_in_enhetsregisteret(database, job_settings) -> None:
    (letter,) = await queue_letters(database, DEMO_ACCOUNTING_FIRM)
    await run_jobs(database)
    state = await letter_state(database, letter.id)
    text = pdf_of(job_settings, letter, state.print_batch_id).pages[0].extract_text()
    assert "Regnskap Demo AS" in text and "Storgata 1" in text and "0150 OSLO" in text


async def test_a_given_address_is_printed_instead_of_the_registered_one(database, job_settings) -> None:
    (letter,) = await queue_letters(database, REIDUN.identifier)
    async with database.transaction() as session:
        stored = await session.get(Letter, letter.id)
        assert stored is not None
        stored.print_address = {"navn": "Reidun Reservert", "adresselinje1": "c/o Sykehjemmet",
                                "adresselinje2": "Bakkeveien 3", "postnummer": "6800", "poststed": "FØRDE",
                                "land": "Norge"}
    await run_jobs(database)
    state = await letter_state(database, letter.id)
    text = pdf_of(job_settings, letter, state.print_batch_id).pages[0].extract_text()
    assert "c/o Sykehjemmet" in text and "6800 FØRDE" in text and "Fjordveien" not in text


async def test_a_recipient_without_a_postal_address_is_not_printed(database, job_settings) -> None:
    (letter,) = await queue_letters(database, "01017012345")  # not in Folkeregisteret
    await run_jobs(database)
    state = await letter_state(database, letter.id)
    assert state.status == MessageStatus.FEIL and state.printed_at is None


async def test_a_submission_repeated_after_the_provider_took_the_batch_prints_nothing_twice(
        database, job_settings) -> None:
    (letter,) = await queue_letters(database, REIDUN.identifier)
    await collect(database)
    state = await letter_state(database, letter.id)
    assert state.print_batch_id is not None and state.printed_at is None
    # The provider took the batch, and the worker died before it could record so.
    folder = job_settings.data_dir / printing.OUTBOX_FOLDER / str(state.print_batch_id)
    folder.mkdir(parents=True)
    (folder / "taken-before-the-crash").write_text("printed")

    await run_jobs(database)

    state = await letter_state(database, letter.id)
    assert state.printed_at is not None and state.status == MessageStatus.LEVERT
    assert [path.name for path in folder.iterdir()] == ["taken-before-the-crash"]


async def test_racing_collectors_put_each_letter_in_exactly_one_batch(database, job_settings) -> None:
    letters = await queue_letters(database, REIDUN.identifier, count=40)
    await asyncio.gather(collect(database), collect(database), collect(database))
    await collect(database)  # nothing left
    async with database.transaction() as session:
        batches = list(await session.scalars(select(PrintBatch)))
        assigned = list(await session.scalars(select(Letter.print_batch_id).where(
            Letter.id.in_([letter.id for letter in letters]))))
    assert sum(batch.letter_count for batch in batches) == 40
    assert None not in assigned and {batch.id for batch in batches} == set(assigned)
    await run_jobs(database)
    ours = {str(letter.id) for letter in letters}
    printed = [path.stem for path in (job_settings.data_dir / printing.OUTBOX_FOLDER).glob("*/*.pdf")
               if path.stem in ours]  # the data folder is the test session's: other tests printed there too
    assert sorted(printed) == sorted(ours)


async def test_a_large_queue_is_split_into_batches_of_the_limit(database, job_settings, monkeypatch) -> None:
    monkeypatch.setattr(printing, "BATCH_LIMIT", 4)
    await queue_letters(database, REIDUN.identifier, count=10)
    await collect(database)
    async with database.transaction() as session:
        counts = sorted(batch.letter_count for batch in await session.scalars(select(PrintBatch)))
    assert counts == [2, 4, 4]


async def test_the_print_outbox_lists_what_went_to_print(database, job_settings) -> None:
    (letter,) = await queue_letters(database, REIDUN.identifier)
    await run_jobs(database)
    (listed,) = await printing.print_outbox(database)
    assert (listed.letter_id, listed.title, listed.reason) == (letter.id, "Brev nummer 1", "requested")
    assert listed.printed_at is not None and listed.status == MessageStatus.LEVERT
