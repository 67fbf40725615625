"""The demo's digital post: Kari Nordmann has a Digipost mailbox and a letter in it; Reidun Reservert, reserved
against digital post in KRR, gets hers on paper (`felles seed --demo`)."""

from __future__ import annotations

from sqlalchemy import select

from felles.core.audit import Actor
from felles.core.db import Database
from felles.correspondence.digitalpost import DEFAULT_UNREAD_DAYS, LetterRoute, send_person_letter_in_transaction
from felles.correspondence.letters import Channel, MessageStatus, new_letter, record_status
from felles.correspondence.letters_models import Letter
from felles.registers import service as registers
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS

DIGIPOST = "984661185"

DEMO_LETTERS = (
    (0, "Strømavtalen din er fornyet",
     "# Strømavtalen din er fornyet\n\nHei Kari,\n\nAvtalen din om **fastpris** gjelder nå til 31. desember "
     "2027.\n\n- Pris: 1,20 kr per kWh\n- Ingen oppsigelsestid\n\nVennlig hilsen Fjordkraft Demo AS"),
    (8, "Strømavtalen din er fornyet",
     "# Strømavtalen din er fornyet\n\nHei Reidun,\n\nAvtalen din om **fastpris** gjelder nå til 31. "
     "desember 2027.\n\nVennlig hilsen Fjordkraft Demo AS"),
)


async def seed_demo_letters(database: Database) -> list[LetterRoute]:
    """The demo's digital post (idempotent: nothing when the demo company has sent letters before): Kari gets a
    Digipost mailbox in KRR and a letter there; Reidun, reserved against digital post, gets hers on paper."""
    kari = DEMO_PERSONS[0]
    async with database.transaction() as session:
        if await session.scalar(select(Letter.id).where(Letter.sender == DEMO_COMPANY).limit(1)) is not None:
            return []
    await registers.register_digital_mailbox(database, Actor(f"organization:{DIGIPOST}"), kari.identifier,
                                             provider=DIGIPOST, address=f"kari.nordmann#{kari.identifier[-4:]}")
    routes = []
    async with database.transaction() as session:
        for persona, title, body in DEMO_LETTERS:
            letter = new_letter(sender=DEMO_COMPANY, recipient=DEMO_PERSONS[persona].identifier, title=title,
                                body_markdown=body, channel=Channel.DIGITAL_POST, document_type="digital")
            session.add(letter)
            record_status(session, letter, MessageStatus.OPPRETTET)
            routes.append(await send_person_letter_in_transaction(session, letter, unread_days=DEFAULT_UNREAD_DAYS))
    return routes
