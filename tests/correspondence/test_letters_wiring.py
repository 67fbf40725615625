"""The Correspondence API and digital post together: a published correspondence to a person becomes a letter
routed by KRR, a reserved person's goes on paper, and reading it in Altinn keeps it off paper."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from felles.correspondence.letters_models import Letter
from tests.correspondence.conftest import API, COMPANY, KARI, REIDUN, organization, person, run_jobs, send


async def letter_of(database, correspondence_id: str) -> Letter | None:
    async with database.transaction() as session:
        return await session.scalar(select(Letter).where(Letter.correspondence_id == uuid.UUID(correspondence_id)))


async def test_a_reserved_person_gets_the_correspondence_on_paper(
        client, database, resource, sender, job_settings):
    answer = await send(client, sender, person(REIDUN.identifier))
    await run_jobs(database)
    letter = await letter_of(database, answer["correspondences"][0]["correspondenceId"])
    assert letter is not None
    assert (letter.channel, letter.print_reason) == ("print", "reserved")


async def test_reading_in_altinn_keeps_a_persons_letter_off_paper_and_an_organisation_gets_none(
        client, database, resource, sender, reader, job_settings):
    answer = await send(client, sender, person(KARI.identifier), organization(COMPANY))
    await run_jobs(database)
    kari_id, company_id = (item["correspondenceId"] for item in answer["correspondences"])
    assert await letter_of(database, company_id) is None  # an organisation's post stays in Altinn
    letter = await letter_of(database, kari_id)
    assert letter is not None and letter.read_at is None and letter.print_reason is None
    read = await client.post(f"{API}/correspondence/{kari_id}/markasread", headers=reader(KARI.identifier))
    assert read.status_code == 200, read.text
    letter = await letter_of(database, kari_id)
    assert letter is not None and letter.read_at is not None and letter.printed_at is None
