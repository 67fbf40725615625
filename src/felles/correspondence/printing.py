"""Paper letters: the print queue, print batches and the print-provider plugins.

A letter goes on paper (`queue_for_print_in_transaction`) when its recipient is reserved, has no digital
channel, has not opened or read it in the days the sender set, or the sender asked for paper. Queued letters
are collected into print batches by a job (triggered by the queueing, and every minute as a sweep); a letter
joins exactly one batch, under a row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL), in the transaction that
creates the batch and enqueues its submission. The submission renders each letter as an A4 PDF with the
window-envelope address block (the recipient's address from Folkeregisteret, or Enhetsregisteret's for an
organisation; the sender's as the return address) and hands the batch to the print provider, which takes a
batch by its id once: a submission repeated after a crash prints nothing twice. The letter's status then says
when it was printed (LEVERT, with `printed_at`).

Print providers are plugins registered by name (`@print_providers.register("name")`, `FELLES_PRINT_PROVIDER`).
The built-in `outbox` provider writes each batch as a folder of PDFs (and a `batch.json`) under the data
folder's `print-outbox`, listed at /print/outbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from felles.core import pdf
from felles.core.audit import Actor
from felles.core.blobs import open_blob_store
from felles.core.clock import utcnow
from felles.core.config import Environment, Settings, get_settings
from felles.core.db import Database
from felles.core.errors import NotFound
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.correspondence.letters import MessageStatus, PrintReason, ProviderRegistry, letter_document, record_status
from felles.correspondence.letters_models import Letter, PrintBatch
from felles.registers import service as registers

log = structlog.get_logger("felles.correspondence.printing")

COLLECT_JOB = "letters.collect_print_batches"
SUBMIT_JOB = "letters.submit_print_batch"
# The most letters one batch holds; more queued make more batches.
BATCH_LIMIT = 500
PRINT_ACTOR = Actor("system:correspondence.printing")
OUTBOX_FOLDER = "print-outbox"


async def queue_for_print_in_transaction(session: AsyncSession, letter: Letter, reason: PrintReason) -> bool:
    """Put the letter on paper, once: it joins the next print batch after the transaction commits. True when
    this call queued it.

    The check and the change are one guarded UPDATE, so another queueing committed meanwhile by another
    process wins cleanly on SQLite as on PostgreSQL."""
    now = utcnow()
    queued = await session.execute(
        update(Letter).where(Letter.id == letter.id, Letter.print_requested_at.is_(None))
        .values(print_reason=reason, print_requested_at=now).execution_options(synchronize_session=False))
    if queued.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(letter, "print_reason", reason)
    set_committed_value(letter, "print_requested_at", now)
    await trigger_print_batches_in_transaction(session)
    return True


async def queue_due_for_print_in_transaction(session: AsyncSession, now: datetime, reason: PrintReason) -> int:
    """Put on paper every letter due by `now` (`paper_due_at`) not opened, read or queued yet; how many.

    The same guards are in the UPDATE itself, so an opening or a reading committed meanwhile wins."""
    unread = (Letter.paper_due_at <= now, Letter.print_requested_at.is_(None), Letter.opened_at.is_(None),
              Letter.read_at.is_(None))
    total = 0
    while True:
        due = list(await session.scalars(
            select(Letter.id).where(*unread).order_by(Letter.paper_due_at).limit(BATCH_LIMIT)))
        if not due:
            break
        queued = await session.execute(
            update(Letter).where(Letter.id.in_(due), *unread).values(print_reason=reason, print_requested_at=now)
            .execution_options(synchronize_session=False))
        total += queued.rowcount  # type: ignore[attr-defined]
        if len(due) < BATCH_LIMIT:
            break
    if total:
        await trigger_print_batches_in_transaction(session)
    return total


async def trigger_print_batches_in_transaction(session: AsyncSession) -> None:
    """Collect the queued letters into batches once the transaction commits.

    One collection per queueing transaction, not one pending at most: a collection already running when this
    transaction commits would not see its letters, and a deduplicated trigger would then be lost until the
    minute's sweep. A collection that finds nothing left costs one query."""
    await enqueue(session, COLLECT_JOB, {})


@job_handler(COLLECT_JOB, every=timedelta(minutes=1))
async def collect_print_batches(payload: dict[str, Any], context: JobContext) -> None:
    """Every queued letter into a batch of up to BATCH_LIMIT letters, each batch's submission enqueued with it.

    A letter joins a batch by a guarded UPDATE (no batch yet), so collectors racing each other (two workers,
    the sweep and a trigger) never put one letter in two batches."""
    session = context.session
    provider = get_settings().print_provider
    # A next-move message whose lifetime ended is not printed (`nextmove.expire`).
    alive = or_(Letter.expires_at.is_(None), Letter.expires_at > utcnow())
    while True:
        candidates = list(await session.scalars(
            select(Letter.id)
            .where(Letter.print_batch_id.is_(None), Letter.print_requested_at.is_not(None), alive)
            .order_by(Letter.print_requested_at, Letter.id)
            .limit(BATCH_LIMIT)
            .with_for_update(skip_locked=True)
        ))
        if not candidates:
            return
        batch = PrintBatch(id=uuid7(), provider=provider, letter_count=0, created_at=utcnow())
        session.add(batch)
        await session.flush()
        claimed = list(await session.scalars(
            update(Letter).where(Letter.id.in_(candidates), Letter.print_batch_id.is_(None))
            .values(print_batch_id=batch.id).returning(Letter.id)
            .execution_options(synchronize_session=False)))
        if not claimed:  # another collector took them all meanwhile
            await session.delete(batch)
            continue
        batch.letter_count = len(claimed)
        for letter in await session.scalars(select(Letter).where(Letter.id.in_(claimed))):
            record_status(session, letter, MessageStatus.SENDT, "Sendt til utskrift")
        await enqueue(session, SUBMIT_JOB, {"batchId": str(batch.id)})
        if len(candidates) < BATCH_LIMIT:
            return


# --- print providers ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrintedLetter:
    """One letter of a batch: the A4 PDF with its address block, then the files it encloses, printed after it."""

    letter_id: uuid.UUID
    message_id: str
    recipient: pdf.PostalAddress
    document: bytes
    enclosures: list[tuple[str, bytes]]


@dataclass(frozen=True)
class PrintOrder:
    batch_id: uuid.UUID
    letters: list[PrintedLetter]


class PrintProvider(Protocol):
    name: str

    async def submit(self, order: PrintOrder) -> None:
        """Hand the batch to the printer; raise to have the job try again. A batch id the provider took before
        must not be printed again (the submission is repeated when its receipt was lost)."""
        ...

    async def check(self) -> tuple[bool, str]: ...


print_providers: ProviderRegistry[PrintProvider] = ProviderRegistry("print", "print_provider")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@print_providers.register("outbox")
class OutboxPrintProvider:
    """Development: each batch becomes a folder `print-outbox/<batch id>` under the data folder, written whole
    or not at all; a folder that exists is a batch printed already."""

    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.data_dir / OUTBOX_FOLDER

    async def submit(self, order: PrintOrder) -> None:
        await asyncio.to_thread(self._write, order)

    def _write(self, order: PrintOrder) -> None:
        final = self.folder / str(order.batch_id)
        if final.exists():
            return
        temporary = self.folder / f".{order.batch_id}.{uuid.uuid4().hex}"
        temporary.mkdir(parents=True)
        manifest = []
        for letter in order.letters:
            name = outbox_file_name(letter.letter_id)
            (temporary / name).write_bytes(letter.document)
            enclosed = []
            for index, (enclosure_name, content) in enumerate(letter.enclosures, start=1):
                file_name = f"{name.removesuffix('.pdf')}-{index}-{_SAFE_NAME.sub('_', enclosure_name)}"
                (temporary / file_name).write_bytes(content)
                enclosed.append(file_name)
            manifest.append({"letterId": str(letter.letter_id), "messageId": letter.message_id, "file": name,
                             "enclosures": enclosed, "address": letter.recipient.as_lines()})
        (temporary / "batch.json").write_text(json.dumps({"batchId": str(order.batch_id), "letters": manifest},
                                                         ensure_ascii=False, indent=2), encoding="utf-8")
        try:
            os.rename(temporary, final)
        except OSError:  # another submission of the batch got there first
            shutil.rmtree(temporary, ignore_errors=True)

    async def check(self) -> tuple[bool, str]:
        if self.settings.environment is Environment.PRODUCTION:
            return False, "the development print outbox prints nothing: choose a real print provider in production"
        return True, f"development print outbox in {self.folder}"


def outbox_file_name(letter_id: uuid.UUID) -> str:
    return f"{letter_id}.pdf"


# --- submitting a batch -------------------------------------------------------------------------------------
def _address(name: str, street: str | None, postal_code: str | None, place: str | None,
             country: str | None = None) -> pdf.PostalAddress | None:
    if not street or not postal_code:
        return None
    return pdf.PostalAddress(name=name, lines=[street], postal_code=postal_code, city=place or "",
                             country=country if country and country.upper() not in ("NO", "NORGE") else None)


def _given_address(address: dict[str, Any]) -> pdf.PostalAddress | None:
    """A next-move message's own address (eFormidling's PostAddress: navn, adresselinje1-4, postnummer ...)."""
    lines = [address[key] for key in ("adresselinje1", "adresselinje2", "adresselinje3", "adresselinje4")
             if address.get(key)]
    if not address.get("navn") or not lines or not address.get("postnummer"):
        return None
    return pdf.PostalAddress(name=address["navn"], lines=lines, postal_code=address["postnummer"],
                             city=address.get("poststed") or "",
                             country=None if (address.get("land") or "NO").upper() in ("NO", "NORGE")
                             else address["land"])


async def _enclosures(settings: Settings, letter: Letter) -> list[tuple[str, bytes]]:
    blobs = open_blob_store(settings)
    files = []
    for document in letter.documents:
        content = b"".join([chunk async for chunk in await blobs.get(document["blobKey"])])
        files.append((document["name"], content))
    return files


@job_handler(SUBMIT_JOB, max_attempts=20, backoff_base=timedelta(seconds=30), lease=timedelta(minutes=15))
async def submit_print_batch(payload: dict[str, Any], context: JobContext) -> None:
    """Render the batch's letters and hand them to the print provider, then record them printed.

    Rendering takes long (tens of milliseconds a letter): it happens between two short transactions, the first
    reading the letters and their addresses, the job's own recording the result, so that no write lock (SQLite
    has one for the whole database) is held while PDFs are made."""
    batch_id = uuid.UUID(payload["batchId"])
    settings = get_settings()
    async with context.database.transaction() as reading:
        batch = await reading.get(PrintBatch, batch_id)
        if batch is None or batch.submitted_at is not None:
            return
        letters = list(await reading.scalars(
            select(Letter).where(Letter.print_batch_id == batch_id).order_by(Letter.print_requested_at, Letter.id)))
        wanted = [letter.sender for letter in letters]
        wanted += [letter.recipient for letter in letters if letter.print_address is None]
        registered = await registers.postal_addresses_in_transaction(reading, PRINT_ACTOR, wanted)
    renderer = pdf.open_pdf_renderer(settings)
    printed: list[PrintedLetter] = []
    unaddressed: list[uuid.UUID] = []
    for letter in letters:
        if letter.print_address is not None:
            recipient = _given_address(letter.print_address)
        else:
            found = registered.get(letter.recipient)
            recipient = _address(*found) if found else None
        if recipient is None:
            unaddressed.append(letter.id)
            continue
        sender_facts = registered.get(letter.sender)
        sender_name = sender_facts.name if sender_facts else letter.sender
        sender = (_given_address(letter.return_address) if letter.return_address else None) or (
            _address(*sender_facts) if sender_facts else None) or pdf.PostalAddress(sender_name, [], "", "")
        document = await renderer.letter(pdf.Letter(
            sender=sender, recipient=recipient, document=letter_document(letter, sender_name=sender_name),
            dated=letter.created_at.date(), reference=letter.message_id))
        printed.append(PrintedLetter(letter.id, letter.message_id, recipient, document,
                                     await _enclosures(settings, letter)))
    if printed:
        await print_providers.configured(settings).submit(PrintOrder(batch_id, printed))
    session = context.session
    batch = await session.get(PrintBatch, batch_id, with_for_update=True)
    if batch is None or batch.submitted_at is not None:
        return
    now = utcnow()
    batch.submitted_at = now
    outcome = {item.letter_id: True for item in printed} | {letter_id: False for letter_id in unaddressed}
    for letter in await session.scalars(select(Letter).where(Letter.id.in_(list(outcome)))):
        if outcome[letter.id]:
            letter.printed_at = now
            record_status(session, letter, MessageStatus.LEVERT, "Skrevet ut og lagt i posten", at=now)
        else:
            record_status(session, letter, MessageStatus.FEIL,
                          "Mottakeren har ingen postadresse i Folkeregisteret eller Enhetsregisteret", at=now)
    log.info("print_batch_submitted", batch_id=str(batch_id), letters=len(printed), failed=len(unaddressed))


# --- the development outbox ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboxLetter:
    letter_id: uuid.UUID
    batch_id: uuid.UUID
    title: str
    sender: str
    recipient: str
    reason: str | None
    requested_at: datetime
    printed_at: datetime | None
    status: str


async def print_outbox(database: Database, *, limit: int = 200) -> list[OutboxLetter]:
    """The letters sent to print, newest first."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(Letter.id, Letter.print_batch_id, Letter.title, Letter.sender, Letter.recipient,
                   Letter.print_reason, Letter.print_requested_at, Letter.printed_at, Letter.status)
            .where(Letter.print_batch_id.is_not(None))
            .order_by(Letter.print_requested_at.desc(), Letter.id.desc())
            .limit(limit))
        return [OutboxLetter(*row) for row in rows]


def print_outbox_file(settings: Settings, batch_id: uuid.UUID, letter_id: uuid.UUID) -> Path:
    """The PDF the outbox provider wrote for a letter; NotFound until its batch is written."""
    path = settings.data_dir / OUTBOX_FOLDER / str(batch_id) / outbox_file_name(letter_id)
    if not path.is_file():
        raise NotFound("The letter is not printed yet.", code="letter_not_printed")
    return path
