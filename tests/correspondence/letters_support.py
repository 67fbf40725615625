"""What the letter tests share: the demo personas (Kari gets a Digipost mailbox in KRR, Reidun is reserved, the
children have no KRR entry), the sender (onboarded to the next-move API by `nextmove_sender`), and helpers that
run the job queue and read a letter's state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from felles.core.audit import Actor
from felles.core.db import Database
from felles.core.jobs import Worker
from felles.correspondence.demo import seed_eformidling_sender
from felles.correspondence.letters_models import Letter, LetterStatus
from felles.registers import service as registers
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas

KARI, OLA, SOFIE = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[2]
REIDUN = DEMO_PERSONS[8]  # reserved against digital post
SENDER = DEMO_COMPANY  # Fjordkraft Demo AS, with a business address for the return address
DIGIPOST = "984661185"


@dataclass(frozen=True)
class LetterState:
    status: str
    channel: str
    print_reason: str | None
    printed_at: object
    opened_at: object
    print_batch_id: uuid.UUID | None
    history: list[str]


@pytest.fixture
async def personas(database: Database, job_settings) -> Database:
    """The demo personas and company in the registers; Kari with a Digipost mailbox."""
    await seed_demo_personas(database)
    await registers.register_digital_mailbox(database, Actor("organization:" + DIGIPOST), KARI.identifier,
                                             provider=DIGIPOST, address="kari.nordmann#1234")
    return database


@pytest.fixture
async def nextmove_sender(database: Database) -> str:
    """The sender on Digdir's access list of next-move senders, which the eFormidling resources' policies let
    send."""
    await seed_eformidling_sender(database, SENDER)
    return SENDER


async def run_jobs(database: Database) -> int:
    return await Worker(database).run_until_idle()


async def letter_state(database: Database, letter_id: uuid.UUID) -> LetterState:
    async with database.transaction() as session:
        letter = await session.get(Letter, letter_id)
        assert letter is not None
        history = list((await session.scalars(
            LetterStatus.__table__.select().with_only_columns(LetterStatus.status)
            .where(LetterStatus.letter_id == letter_id).order_by(LetterStatus.id))).all())
        return LetterState(letter.status, letter.channel, letter.print_reason, letter.printed_at, letter.opened_at,
                           letter.print_batch_id, history)
