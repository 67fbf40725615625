"""The demo's digital post: Kari's letter in her Digipost mailbox, Reidun's on paper; seeding twice adds nothing."""

from __future__ import annotations

from felles.correspondence import digitalpost
from felles.correspondence.letters import Channel, PrintReason
from felles.correspondence.letters_demo import seed_demo_letters
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.correspondence.letters_support import run_jobs


async def test_the_demo_letters_take_their_routes_once(database, job_settings) -> None:
    await seed_demo_personas(database)
    kari, reidun = await seed_demo_letters(database)
    assert (kari.channel, reidun.channel, reidun.print_reason) == (
        Channel.DIGITAL_POST, Channel.PRINT, PrintReason.RESERVED)
    assert await seed_demo_letters(database) == []
    await run_jobs(database)
    (letter,) = await digitalpost.development_mailbox(database, DEMO_PERSONS[0].identifier)
    assert letter.letter_id == kari.letter_id and letter.mailbox_provider == "Digipost"
