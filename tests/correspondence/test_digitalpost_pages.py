"""The development mailbox page per person and the print outbox page, over HTTP: the person logs in with TestID,
sees only their own letters, opens one (the opening receipt), reads its body rendered safely from Markdown and
downloads its PDF; the print outbox lists the paper letters with their PDF."""

from __future__ import annotations

import pytest

from felles.core.ids import uuid7
from felles.correspondence import digitalpost
from tests.correspondence.letters_support import (  # noqa: F401 - personas is a fixture
    KARI,
    OLA,
    REIDUN,
    SENDER,
    letter_state,
    personas,
    run_jobs,
)
from tests.portal.login import log_in

pytestmark = pytest.mark.usefixtures("personas")
MAILBOX = "/digitalpost/postkasse"
BODY = "Du har fått **innvilget** søknaden.\n\n<script>alert('x')</script>\n\n![bilde](https://example.com/x.png)"


async def send(database, person: str) -> digitalpost.LetterRoute:
    async with database.transaction() as session:
        return await digitalpost.route_person_correspondence_in_transaction(
            session, correspondence_id=uuid7(), recipient_ssn=person, sender_org=SENDER, title="Svar på søknad",
            body_markdown=BODY)


async def test_the_person_opens_a_letter_in_the_mailbox_page(client, database, job_settings) -> None:
    taken = await send(database, KARI.identifier)
    await run_jobs(database)
    listing = await log_in(client, MAILBOX, KARI.identifier)
    assert listing.status_code == 200
    assert f'data-letter="{taken.letter_id}" data-opened="false"' in listing.text
    assert "Svar på søknad" in listing.text and "Fjordkraft Demo AS" in listing.text

    opened = await client.get(f"{MAILBOX}/{taken.letter_id}")
    assert opened.status_code == 200
    assert "<strong>innvilget</strong>" in opened.text
    assert "<script>alert" not in opened.text and "&lt;script&gt;" in opened.text
    assert "<img" not in opened.text  # nothing is loaded from another host (an image stays a link)
    assert (await letter_state(database, taken.letter_id)).history[-1] == "LEST"
    listing = await client.get(MAILBOX)
    assert f'data-letter="{taken.letter_id}" data-opened="true"' in listing.text

    pdf = await client.get(f"{MAILBOX}/{taken.letter_id}/brev.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


async def test_another_person_neither_sees_nor_opens_the_letter(client, database, job_settings) -> None:
    taken = await send(database, KARI.identifier)
    await run_jobs(database)
    listing = await log_in(client, MAILBOX, OLA.identifier)
    assert str(taken.letter_id) not in listing.text and 'id="mailbox-empty"' in listing.text
    assert (await client.get(f"{MAILBOX}/{taken.letter_id}")).status_code == 404
    assert (await client.get(f"{MAILBOX}/{taken.letter_id}/brev.pdf")).status_code == 404
    assert (await client.get(f"{MAILBOX}/not-a-letter")).status_code == 404
    assert (await letter_state(database, taken.letter_id)).opened_at is None


async def test_the_mailbox_asks_for_a_login_first(client) -> None:
    response = await client.get(MAILBOX)
    assert response.status_code == 303 and response.headers["location"].startswith("/idporten/authorize?")


async def test_the_print_outbox_lists_the_paper_letters_with_their_pdf(client, database, job_settings) -> None:
    taken = await send(database, REIDUN.identifier)
    await run_jobs(database)
    page = await client.get("/print/outbox", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert f'data-letter="{taken.letter_id}" data-status="LEVERT"' in page.text
    assert "Reserved against digital post" in page.text
    state = await letter_state(database, taken.letter_id)
    pdf = await client.get(f"/print/outbox/{state.print_batch_id}/{taken.letter_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get(f"/print/outbox/{state.print_batch_id}/{uuid7()}.pdf")).status_code == 404
