"""Digital post to citizens (DPI): how a letter to a person is routed, delivered to the digital mailbox KRR
names, and put on paper when it is not read.

Routing (`route_person_correspondence_in_transaction`, called by the correspondence service when it publishes a
correspondence to a person, in that transaction) asks KRR:

- a digital mailbox (Digipost or e-Boks)   → a delivery job to the mailbox provider, paper after N days unopened;
- reserved against digital post            → paper now;
- no mailbox and nothing that would tell them to read in Altinn (no current e-mail or mobile in KRR) → paper now;
- otherwise                                → read in Altinn, paper after N days unread.

"After N days" is a job due then, written in the same transaction; it does nothing if the letter was opened in
the mailbox (the provider's opening receipt) or read in Altinn (`correspondence_read_in_altinn_in_transaction`)
by then, so opening or reading is what cancels it. The job is a sweep over the letters due (one per minute of
due times, and every minute while a worker runs), so a fan-out to many persons writes one job, not one each.

Mailbox providers are plugins registered by name (`@mailbox_providers.register("name")`) and chosen with
`FELLES_MAILBOX_PROVIDER`. The built-in `development` provider keeps the letters for a page per person
(`/digitalpost/postkasse`), where the person logged in opens them; opening sends the opening receipt. A real
provider delivers the PDF with its metadata and reports receipts through `record_mailbox_receipt`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import Environment, Settings, get_settings
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.core.health import CheckResult, component_check
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.pdf import open_pdf_renderer
from felles.correspondence import printing
from felles.correspondence.letters import (
    Channel,
    MessageStatus,
    PrintReason,
    ProviderRegistry,
    letter_document,
    new_letter,
    record_status,
)
from felles.correspondence.letters_models import Letter
from felles.registers import service as registers

log = structlog.get_logger("felles.correspondence.digitalpost")

DELIVER_JOB = "letters.deliver_to_mailbox"
PAPER_WHEN_DUE_JOB = "letters.paper_when_due"
# The seeds' scenario: a letter still unopened after 10 days goes on paper.
DEFAULT_UNREAD_DAYS = 10
ROUTING_ACTOR = Actor("system:correspondence.digitalpost")
# The postkasseleverandører KRR names by organisation number.
MAILBOX_PROVIDER_NAMES = {"984661185": "Digipost", "996460320": "e-Boks", "922020175": "e-Boks"}


@dataclass(frozen=True)
class LetterRoute:
    """Where a letter went: its channel, when it goes on paper if still unread, or why it went on paper."""

    letter_id: uuid.UUID
    channel: Channel
    paper_due_at: datetime | None
    print_reason: PrintReason | None


def _route_of(letter: Letter) -> LetterRoute:
    return LetterRoute(letter.id, Channel(letter.channel), letter.paper_due_at,
                       PrintReason(letter.print_reason) if letter.print_reason else None)


@dataclass(frozen=True)
class PersonLetter:
    """One correspondence to one person, to route (`route_person_correspondences_in_transaction`)."""

    correspondence_id: uuid.UUID
    recipient_ssn: str
    sender_org: str
    title: str
    body_markdown: str
    unread_days: int | None = DEFAULT_UNREAD_DAYS
    ignore_reservation: bool = False


async def route_person_correspondence_in_transaction(
    session: AsyncSession,
    *,
    correspondence_id: uuid.UUID,
    recipient_ssn: str,
    sender_org: str,
    title: str,
    body_markdown: str,
    unread_days: int | None = DEFAULT_UNREAD_DAYS,
    ignore_reservation: bool = False,
) -> LetterRoute:
    """Route the letter that carries correspondence `correspondence_id` to the person `recipient_ssn`
    (fødselsnummer or D-nummer), in the caller's transaction, and say where it went.

    KRR decides (see the module docstring). `unread_days`: the days the sender gives the person to open or read
    it before it goes on paper (None: never on paper for being unread). `ignore_reservation` (Altinn's, for the
    senders allowed it): a reserved person's letter is published in Altinn all the same, with the paper
    fallback. Called again for the same correspondence (a retried publish), it answers the route taken the
    first time and changes nothing. For many recipients at once, `route_person_correspondences_in_transaction`
    does the same in a few statements."""
    (route,) = await route_person_correspondences_in_transaction(session, [PersonLetter(
        correspondence_id, recipient_ssn, sender_org, title, body_markdown, unread_days, ignore_reservation)])
    return route


async def route_person_correspondences_in_transaction(session: AsyncSession,
                                                      letters: Sequence[PersonLetter]) -> list[LetterRoute]:
    """`route_person_correspondence_in_transaction` for many correspondences (a fan-out to many persons), with
    one KRR read, one delivery job and one paper sweep for all of them; the routes in the order given."""
    if any(item.unread_days is not None and item.unread_days < 0 for item in letters):
        raise InvalidInput("The days before paper cannot be negative.", code="invalid_unread_days")
    wanted = [item.correspondence_id for item in letters]
    routed = {letter.correspondence_id: letter for letter in await session.scalars(
        select(Letter).where(Letter.correspondence_id.in_(wanted)))} if wanted else {}
    new = [item for item in {item.correspondence_id: item for item in letters}.values()
           if item.correspondence_id not in routed]
    channels = await registers.digital_post_channels_in_transaction(
        session, ROUTING_ACTOR, list(dict.fromkeys(item.recipient_ssn for item in new))) if new else {}
    now = utcnow()
    to_deliver: list[Letter] = []
    dues: set[datetime] = set()
    printed = False
    for item in new:
        krr = channels[item.recipient_ssn]
        if krr.reserved and not item.ignore_reservation:
            channel, reason = Channel.PRINT, PrintReason.RESERVED
        elif krr.mailbox_provider is not None and not krr.reserved:
            channel, reason = Channel.DIGITAL_POST, None
        elif not krr.notifiable and not krr.reserved:
            channel, reason = Channel.PRINT, PrintReason.NO_DIGITAL_CHANNEL
        else:
            channel, reason = Channel.ALTINN, None
        letter = new_letter(sender=item.sender_org, recipient=item.recipient_ssn, title=item.title,
                            body_markdown=item.body_markdown, channel=channel, document_type="digital",
                            correspondence_id=item.correspondence_id)
        session.add(letter)
        record_status(session, letter, MessageStatus.OPPRETTET, at=now)
        routed[item.correspondence_id] = letter
        if channel is Channel.DIGITAL_POST:
            letter.mailbox_provider, letter.mailbox_address = krr.mailbox_provider, krr.mailbox_address
            to_deliver.append(letter)
        if reason is not None:
            # A new letter: nothing can have read or queued it, so it is queued without the guarded update.
            letter.print_reason, letter.print_requested_at = reason, now
            printed = True
            continue
        if channel is Channel.ALTINN:
            record_status(session, letter, MessageStatus.LEVERT, "Publisert i Altinn", at=now)
            letter.delivered_at = now
        if item.unread_days is not None:
            letter.unread_days = item.unread_days
            letter.paper_due_at = now + timedelta(days=item.unread_days)
            dues.add(letter.paper_due_at)
    if to_deliver:
        await enqueue(session, DELIVER_JOB, {"letterIds": [str(letter.id) for letter in to_deliver]})
    if printed:
        await printing.trigger_print_batches_in_transaction(session)
    for due in dues:
        await _sweep_when_due(session, due)
    return [_route_of(routed[item.correspondence_id]) for item in letters]


class PublishedCorrespondence(Protocol):
    """What routing reads of a published correspondence (the correspondence model's columns)."""

    id: uuid.UUID
    sender: str
    recipient: str
    message_title: str
    message_body: str
    ignore_reservation: bool


async def route_published_in_transaction(session: AsyncSession, published: Sequence[PublishedCorrespondence], *,
                                         unread_days: int | None = DEFAULT_UNREAD_DAYS) -> list[LetterRoute]:
    """Route the letters of the correspondences just published, in the publishing transaction: those to
    persons (an organisation's post stays in Altinn, where a next-move DPV message is thereby LEVERT). The one
    call the correspondence service's publish makes."""
    await delivered_in_altinn_in_transaction(session, [row.id for row in published if len(row.recipient) == 9])
    return await route_person_correspondences_in_transaction(session, [
        PersonLetter(row.id, row.recipient, row.sender, row.message_title, row.message_body, unread_days,
                     row.ignore_reservation)
        for row in published if len(row.recipient) == 11])


async def delivered_in_altinn_in_transaction(session: AsyncSession, correspondence_ids: Sequence[uuid.UUID]) -> None:
    """The correspondences are published to their organisations: the letters that carry them (next-move DPV
    messages) are LEVERT."""
    if not correspondence_ids:
        return
    for letter in await session.scalars(select(Letter).where(
            Letter.correspondence_id.in_(list(correspondence_ids)), Letter.status == MessageStatus.SENDT)
            .with_for_update()):
        letter.delivered_at = utcnow()
        record_status(session, letter, MessageStatus.LEVERT, "Publisert i Altinn")


async def send_person_letter_in_transaction(session: AsyncSession, letter: Letter, *,
                                            unread_days: int | None) -> LetterRoute:
    """Send a letter that carries no Altinn correspondence (a next-move message, the demo's) to its person:
    to the digital mailbox KRR names (on paper if unopened after `unread_days`), else on paper now, as there
    is nothing to read in Altinn."""
    actor = Actor(f"organization:{letter.sender}")
    krr = (await registers.digital_post_channels_in_transaction(session, actor, [letter.recipient]))[letter.recipient]
    if krr.mailbox_provider is not None and not krr.reserved:
        await send_to_mailbox_in_transaction(session, letter, krr.mailbox_provider, krr.mailbox_address)
        await schedule_paper_if_unread_in_transaction(session, letter, unread_days)
    else:
        letter.channel = Channel.PRINT
        reason = PrintReason.RESERVED if krr.reserved else PrintReason.NO_DIGITAL_CHANNEL
        await printing.queue_for_print_in_transaction(session, letter, reason)
    return _route_of(letter)


async def send_to_mailbox_in_transaction(
    session: AsyncSession, letter: Letter, mailbox_provider: str | None, mailbox_address: str | None
) -> None:
    """Deliver the letter to the person's digital mailbox once the transaction commits."""
    letter.channel = Channel.DIGITAL_POST
    letter.mailbox_provider, letter.mailbox_address = mailbox_provider, mailbox_address
    await enqueue(session, DELIVER_JOB, {"letterIds": [str(letter.id)]})


async def schedule_paper_if_unread_in_transaction(session: AsyncSession, letter: Letter,
                                                  unread_days: int | None) -> None:
    """Put the letter on paper `unread_days` from now unless it has been opened or read by then."""
    if unread_days is None:
        return
    if unread_days < 0:
        raise InvalidInput("The days before paper cannot be negative.", code="invalid_unread_days")
    letter.unread_days = unread_days
    letter.paper_due_at = utcnow() + timedelta(days=unread_days)
    await _sweep_when_due(session, letter.paper_due_at)


async def _sweep_when_due(session: AsyncSession, due: datetime) -> None:
    """Have the paper sweep run when `due` has passed: one job per minute of due times (the letters of one
    fan-out share it), besides the sweep every minute that a running worker schedules."""
    minute = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    await enqueue(session, PAPER_WHEN_DUE_JOB, {}, run_at=minute,
                  dedupe_key=f"{PAPER_WHEN_DUE_JOB}:{minute:%Y%m%d%H%M}")


async def correspondence_read_in_altinn_in_transaction(session: AsyncSession, *,
                                                       correspondence_id: uuid.UUID) -> bool:
    """The recipient read the correspondence in Altinn: its letter is read (LEST), so it does not go on paper.
    Call it in the transaction that records the reading. False when no letter carries the correspondence
    (an organisation's, or one published before letters existed); reading twice changes nothing."""
    letter = await session.scalar(
        select(Letter).where(Letter.correspondence_id == correspondence_id).with_for_update())
    if letter is None:
        return False
    if letter.read_at is None:
        letter.read_at = utcnow()
        if letter.status != MessageStatus.LEST and letter.print_requested_at is None:
            record_status(session, letter, MessageStatus.LEST, "Lest i Altinn", at=letter.read_at)
    return True


@job_handler(PAPER_WHEN_DUE_JOB, every=timedelta(minutes=1), max_attempts=20, backoff_base=timedelta(seconds=30))
async def paper_when_due(payload: dict[str, Any], context: JobContext) -> None:
    """Every letter whose days to be opened or read have run out, unopened and unread, goes on paper."""
    await printing.queue_due_for_print_in_transaction(context.session, utcnow(), PrintReason.UNREAD)


# --- mailbox providers --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MailboxDelivery:
    """One letter for one digital mailbox, with the metadata the provider files it by."""

    letter_id: uuid.UUID
    message_id: str
    sender: str
    recipient: str
    mailbox_provider: str | None
    mailbox_address: str | None
    title: str
    documents: list[dict[str, Any]]


# The letter as a PDF, rendered only when a provider asks for it.
DocumentSource = Callable[[], Awaitable[bytes]]


class MailboxProvider(Protocol):
    name: str

    async def deliver(self, session: AsyncSession, delivery: MailboxDelivery, document: DocumentSource) -> None:
        """Deliver one letter; raise to have the job try again. Must be idempotent by letter id (a delivery
        whose receipt was lost is repeated). Runs in the delivery job's transaction."""
        ...

    async def check(self) -> tuple[bool, str]: ...


mailbox_providers: ProviderRegistry[MailboxProvider] = ProviderRegistry("mailbox", "mailbox_provider")


@mailbox_providers.register("development")
class DevelopmentMailboxProvider:
    """Development: the letter is "delivered" at once (the delivery receipt comes in the same transaction) and
    shown to its recipient at /digitalpost/postkasse, where opening it sends the opening receipt."""

    name = "development"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def deliver(self, session: AsyncSession, delivery: MailboxDelivery, document: DocumentSource) -> None:
        letter = await session.get(Letter, delivery.letter_id)
        if letter is not None:
            await receive_receipt_in_transaction(session, letter, "delivered")

    async def check(self) -> tuple[bool, str]:
        if self.settings.environment is Environment.PRODUCTION:
            return False, "the development mailbox delivers nothing: choose a real mailbox provider in production"
        return True, f"development mailbox at {self.settings.base_url.rstrip('/')}/digitalpost/postkasse"


async def render_mailbox_document(session: AsyncSession, settings: Settings, letter: Letter) -> bytes:
    """The letter as the PDF a digital mailbox shows (no address block: it is not folded into an envelope)."""
    senders = await registers.postal_addresses_in_transaction(session, ROUTING_ACTOR, [letter.sender])
    sender = senders[letter.sender].name if letter.sender in senders else letter.sender
    return await open_pdf_renderer(settings).document(letter_document(letter, sender_name=sender))


@job_handler(DELIVER_JOB, max_attempts=20, backoff_base=timedelta(seconds=30), lease=timedelta(minutes=5))
async def deliver_to_mailbox(payload: dict[str, Any], context: JobContext) -> None:
    """Deliver the letters of one routing to their mailboxes; a retry skips those delivered before."""
    settings = get_settings()
    provider = mailbox_providers.configured(settings)
    ids = [uuid.UUID(value) for value in payload["letterIds"]]
    letters = await context.session.scalars(
        select(Letter).where(Letter.id.in_(ids)).order_by(Letter.id).with_for_update())
    now = utcnow()
    for letter in letters:
        if letter.delivered_at is not None or letter.print_requested_at is not None:
            continue
        if letter.expires_at is not None and letter.expires_at <= now:
            continue  # a next-move message whose lifetime ended is not delivered (`nextmove.expire`)
        delivery = MailboxDelivery(letter.id, letter.message_id, letter.sender, letter.recipient,
                                   letter.mailbox_provider, letter.mailbox_address, letter.title, letter.documents)
        if letter.status == MessageStatus.OPPRETTET:
            record_status(context.session, letter, MessageStatus.SENDT,
                          f"Sendt til {MAILBOX_PROVIDER_NAMES.get(letter.mailbox_provider or '', 'postkassen')}")
        await provider.deliver(context.session, delivery,
                               partial(render_mailbox_document, context.session, settings, letter))


# --- receipts -----------------------------------------------------------------------------------------------
RECEIPTS = {"delivered": (MessageStatus.LEVERT, "Levert i postkassen"),
            "opened": (MessageStatus.LEST, "Åpnet i postkassen"),
            "failed": (MessageStatus.FEIL, "Postkassen kunne ikke ta imot brevet")}


async def receive_receipt_in_transaction(session: AsyncSession, letter: Letter, receipt: str) -> None:
    """A mailbox provider's receipt, in the caller's transaction: "delivered" (leveringskvittering), "opened"
    (åpningskvittering: the letter will not go on paper) or "failed" (the mailbox refused it: it goes on paper
    now). A receipt repeated changes nothing."""
    status, description = RECEIPTS[receipt]
    now = utcnow()
    if receipt == "delivered":
        if letter.delivered_at is not None:
            return
        letter.delivered_at = now
    elif receipt == "opened":
        if letter.opened_at is not None:
            return
        letter.opened_at = now
        letter.delivered_at = letter.delivered_at or now
    elif letter.status == MessageStatus.FEIL:
        return
    record_status(session, letter, status, description, at=now)
    if receipt == "failed" and letter.print_requested_at is None:
        await printing.queue_for_print_in_transaction(session, letter, PrintReason.NO_DIGITAL_CHANNEL)


async def record_mailbox_receipt(database: Database, message_id: str, receipt: str) -> None:
    """A receipt a mailbox provider reports for the letter with eFormidling message id `message_id`."""
    if receipt not in RECEIPTS:
        raise InvalidInput(f"Unknown receipt {receipt!r}; one of {', '.join(RECEIPTS)}.", code="unknown_receipt")
    async with database.transaction() as session:
        letter = await session.scalar(select(Letter).where(Letter.message_id == message_id).with_for_update())
        if letter is None or letter.channel != Channel.DIGITAL_POST:
            raise NotFound("No letter to a digital mailbox has this message id.", code="letter_not_found")
        await receive_receipt_in_transaction(session, letter, receipt)


# --- the development mailbox --------------------------------------------------------------------------------
@dataclass(frozen=True)
class MailboxLetter:
    """A letter as the person's mailbox lists it."""

    letter_id: uuid.UUID
    sender: str
    sender_name: str
    title: str
    body_markdown: str
    mailbox_provider: str
    delivered_at: datetime
    opened_at: datetime | None
    documents: list[dict[str, Any]]  # the files it encloses: name, contentType, title, size


async def _mailbox_letters(session: AsyncSession, person: str, letter_id: uuid.UUID | None) -> list[Letter]:
    query = select(Letter).where(Letter.recipient == person, Letter.channel == Channel.DIGITAL_POST,
                                 Letter.delivered_at.is_not(None))
    if letter_id is not None:
        query = query.where(Letter.id == letter_id).with_for_update()
    return list(await session.scalars(query.order_by(Letter.delivered_at.desc(), Letter.id.desc()).limit(200)))


async def _as_mailbox_letters(session: AsyncSession, letters: list[Letter]) -> list[MailboxLetter]:
    senders = await registers.postal_addresses_in_transaction(session, ROUTING_ACTOR,
                                                              [letter.sender for letter in letters])
    return [MailboxLetter(
        letter.id, letter.sender, senders[letter.sender].name if letter.sender in senders else letter.sender,
        letter.title, letter.body_markdown, MAILBOX_PROVIDER_NAMES.get(letter.mailbox_provider or "", "Digipost"),
        letter.delivered_at or letter.created_at, letter.opened_at, letter.documents,
    ) for letter in letters]


async def development_mailbox(database: Database, person: str) -> list[MailboxLetter]:
    """The letters delivered to the person's digital mailbox, newest first (the development provider's page)."""
    async with database.transaction() as session:
        return await _as_mailbox_letters(session, await _mailbox_letters(session, person, None))


async def open_in_development_mailbox(database: Database, person: str, letter_id: uuid.UUID) -> MailboxLetter:
    """The person opens one of their letters: the opening receipt is recorded, so it never goes on paper.
    NotFound for a letter that is not in this person's mailbox."""
    async with database.transaction() as session:
        letters = await _mailbox_letters(session, person, letter_id)
        if not letters:
            raise NotFound("No such letter in your mailbox.", code="letter_not_found")
        await receive_receipt_in_transaction(session, letters[0], "opened")
        return (await _as_mailbox_letters(session, letters))[0]


async def development_mailbox_document(database: Database, settings: Settings, person: str,
                                       letter_id: uuid.UUID) -> bytes:
    """The PDF of one of the person's letters, as the mailbox shows it."""
    async with database.transaction() as session:
        letters = await _mailbox_letters(session, person, letter_id)
        if not letters:
            raise NotFound("No such letter in your mailbox.", code="letter_not_found")
        return await render_mailbox_document(session, settings, letters[0])


async def development_mailbox_enclosure(database: Database, person: str, letter_id: uuid.UUID,
                                        number: int) -> dict[str, Any]:
    """The `number`th file (from 0) one of the person's letters encloses: its name, type and blob key."""
    async with database.transaction() as session:
        letters = await _mailbox_letters(session, person, letter_id)
    if not letters or not 0 <= number < len(letters[0].documents):
        raise NotFound("No such document in your mailbox.", code="document_not_found")
    document: dict[str, Any] = letters[0].documents[number]
    return document


@component_check("digital post and print")
async def provider_health(settings: Settings) -> list[CheckResult]:
    """Self-checks of the mailbox and print providers, for `felles check`."""
    results = []
    registries: tuple[tuple[str, ProviderRegistry[Any]], ...] = (
        ("mailbox", mailbox_providers), ("print", printing.print_providers))
    for kind, registry in registries:
        try:
            ok, detail = await registry.configured(settings).check()
        except LookupError as exc:
            ok, detail = False, str(exc)
        results.append(CheckResult(f"{kind} provider", ok, detail))
    return results
