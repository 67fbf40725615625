"""The next-move message API (eFormidling 2's integrasjonspunkt) for case systems: a sak/arkiv system sends a
StandardBusinessDocument and its files, and Felles takes the letter to its recipient on the channel that reaches
them; the system follows it through its conversation and the status feed, and asks a receiver's capabilities.

Two ways to send, as eFormidling's: in steps (create the message, upload each file, send) or in one multipart
request. A `digital` message to a person goes to the digital mailbox KRR names, or on paper when the person is
reserved or has no mailbox (the sender need not know which); a `print` message goes on paper to the address it
gives. `digital_dpv` and `arkivmelding` (to Altinn, DPV) are accepted in the capabilities only when the
correspondence API can take them (see `dpv_available`).

Every message belongs to its sender (the token's organisation): a sender sees and changes only its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from typing import Any

from sqlalchemy import Select, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.audit import Actor
from felles.core.blobs import BlobStore
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from felles.core.ids import uuid7
from felles.core.tokens import Principal
from felles.core.virusscan import Infected, ScanFailed, VirusScanner
from felles.correspondence import digitalpost, printing
from felles.correspondence import nextmove_schemas as schemas
from felles.correspondence.letters import (
    DIGITAL_POST_DECISION_PROCESS,
    DIGITAL_POST_INFO_PROCESS,
    Channel,
    MessageStatus,
    PrintReason,
    new_letter,
    record_status,
)
from felles.correspondence.letters_models import Letter, LetterStatus
from felles.registers import service as registers
from felles.registers.identifiers import InvalidIdentifier, parse_organization_number, parse_person_identifier

ARKIVMELDING_PROCESS = "urn:no:difi:profile:arkivmelding:administrasjon:ver1.0"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000
# The largest id the feed's column holds (a signed 64-bit integer on both databases).
MAX_STATUS_ID = 2**63 - 1
MAX_FILES = 100
# One file of a message (eFormidling takes large files in the multi-step strategy).
MAX_FILE_BYTES = 100_000_000
FINISHED = frozenset({MessageStatus.LEST, MessageStatus.FEIL})
# The person's document types: Felles reaches a person on the channel that works, so both are always offered.
PERSON_DOCUMENT_TYPES = [schemas.DocumentType(type=name, standard=schemas.STANDARDS[name])
                         for name in ("digital", "print")]


def dpv_available() -> bool:
    """Whether `digital_dpv` and `arkivmelding` can be sent on (to Altinn correspondence): not yet."""
    return False


# --- parties ------------------------------------------------------------------------------------------------
def _sender_of(principal: Principal) -> str:
    if principal.kind != "organization" or principal.organization_number is None:
        raise Forbidden("Only an organisation (a Maskinporten token) sends through the message API.",
                        code="organization_required")
    return principal.organization_number


def parse_party(value: str) -> str:
    """An eFormidling identifier as a Felles party: `0192:` + organisasjonsnummer, or a fødselsnummer."""
    bare = value.removeprefix(schemas.ORGANIZATION_PREFIX)
    try:
        return parse_person_identifier(bare).value if len(bare) == 11 else parse_organization_number(bare)
    except InvalidIdentifier as exc:
        raise InvalidInput(f"{value!r} is neither an organisation number nor a fødselsnummer: {exc.detail}",
                           code="invalid_identifier") from exc


def _identifier(party: str) -> str:
    return party if len(party) == 11 else schemas.ORGANIZATION_PREFIX + party


# --- sending ------------------------------------------------------------------------------------------------
def _letter_text(document: schemas.StandardBusinessDocument) -> tuple[str, str]:
    message = document.business_message
    if isinstance(message, schemas.DigitalMessage):
        return message.tittel, ""
    if isinstance(message, schemas.DigitalDpvMessage):
        return message.tittel, message.innhold
    if isinstance(message, schemas.PrintMessage):
        return message.hoveddokument, ""
    return "Arkivmelding", ""


async def _create(session: AsyncSession, sender: str, document: schemas.StandardBusinessDocument) -> Letter:
    header = document.standardBusinessDocumentHeader
    claimed_sender = parse_party(header.sender[0].identifier.value)
    if claimed_sender != sender:
        raise Forbidden("The message's sender is not the organisation of the token.", code="sender_not_caller")
    receiver = parse_party(header.receiver[0].identifier.value)
    kind = document.message_type
    if kind in ("digital", "print") and len(receiver) != 11:
        raise InvalidInput(f"A {kind!r} message goes to a person (a fødselsnummer).", code="receiver_not_person")
    if kind in ("digital_dpv", "arkivmelding") and not dpv_available():
        raise InvalidInput(f"Felles does not send {kind!r} messages yet; ask the receiver's capabilities.",
                           code="message_type_not_available")
    identification = header.documentIdentification
    message_id = identification.instanceIdentifier or str(uuid7())
    if await session.scalar(select(Letter.id).where(Letter.message_id == message_id)) is not None:
        raise Conflict(f"A message with messageId {message_id} exists.", code="message_exists")
    scope = document.conversation_scope
    if scope is None:
        scope = schemas.Scope(type="ConversationId", identifier=DIGITAL_POST_INFO_PROCESS)
        header.businessScope.scope.append(scope)
    scope.instanceIdentifier = scope.instanceIdentifier or str(uuid7())
    scope.identifier = scope.identifier or DIGITAL_POST_INFO_PROCESS
    identification.instanceIdentifier = message_id
    title, body = _letter_text(document)
    letter = new_letter(sender=sender, recipient=receiver, title=title, body_markdown=body, channel=Channel.UNSENT,
                        document_type=kind, process_identifier=scope.identifier, message_id=message_id,
                        conversation_id=scope.instanceIdentifier)
    if isinstance(document.print_, schemas.PrintMessage):
        letter.print_address = document.print_.mottaker.model_dump(exclude_none=True)
        letter.return_address = document.print_.retur.mottaker.model_dump(exclude_none=True)
    letter.business_document = dump(document)
    session.add(letter)
    record_status(session, letter, MessageStatus.OPPRETTET)
    return letter


def dump(document: schemas.StandardBusinessDocument) -> dict[str, Any]:
    dumped: dict[str, Any] = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


async def create_message(database: Database, principal: Principal,
                         document: schemas.StandardBusinessDocument) -> dict[str, Any]:
    """Create a message (multi-step strategy): it waits for its files, then `send_message`. Answers the document
    with its messageId and conversationId filled in."""
    sender = _sender_of(principal)
    async with database.transaction() as session:
        letter = await _create(session, sender, document)
        assert letter.business_document is not None
        return letter.business_document


async def _own_letter(session: AsyncSession, sender: str, message_id: str, *, lock: bool = False) -> Letter:
    query = select(Letter).where(Letter.message_id == message_id, Letter.sender == sender)
    letter = await session.scalar(query.with_for_update() if lock else query)
    if letter is None:
        raise NotFound(f"No message {message_id} of yours.", code="message_not_found")
    return letter


def _unsent(letter: Letter) -> None:
    if letter.channel != Channel.UNSENT:
        raise Conflict("The message is sent; it can no longer change.", code="message_sent")


async def store_file(blobs: BlobStore, scanner: VirusScanner, chunks: AsyncIterable[bytes]) -> tuple[str, int]:
    """A file's bytes into the blob store (before the transaction that names it), scanned for viruses as they
    are read back: a file too large, infected, or that the scanner could not judge is refused and removed."""

    async def limited() -> AsyncIterable[bytes]:
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise InvalidInput(f"A file may hold at most {MAX_FILE_BYTES} bytes.", code="file_too_large")
            yield chunk

    key = f"letters/{uuid7()}"
    stored = await blobs.put(key, limited())
    verdict = await scanner.scan(await blobs.get(key))
    if isinstance(verdict, Infected | ScanFailed):
        await blobs.delete(key)
        if isinstance(verdict, Infected):
            raise InvalidInput(f"The file is infected ({verdict.signature}).", code="file_infected")
        raise Problem("The virus scan could not judge the file; send it again later.", code="scan_failed",
                      status=503, title="Service unavailable")
    return key, stored.size


def _add_file(letter: Letter, *, name: str, content_type: str, title: str | None, key: str, size: int) -> None:
    documents = [document for document in letter.documents if document["name"] != name]
    if len(documents) >= MAX_FILES:
        raise InvalidInput(f"A message holds at most {MAX_FILES} files.", code="too_many_files")
    documents.append({"name": name, "contentType": content_type, "title": title or name, "blobKey": key,
                      "size": size})
    letter.documents = documents


async def upload_file(database: Database, blobs: BlobStore, scanner: VirusScanner, principal: Principal,
                      message_id: str, *, name: str, content_type: str, title: str | None,
                      chunks: AsyncIterable[bytes]) -> None:
    """Add a file to a message not sent yet (a file of the same name is replaced)."""
    sender = _sender_of(principal)
    async with database.transaction() as session:
        _unsent(await _own_letter(session, sender, message_id))
    key, size = await store_file(blobs, scanner, chunks)
    async with database.transaction() as session:
        letter = await _own_letter(session, sender, message_id, lock=True)
        _unsent(letter)
        _add_file(letter, name=name, content_type=content_type, title=title, key=key, size=size)


async def _send(session: AsyncSession, letter: Letter) -> None:
    document = schemas.StandardBusinessDocument.model_validate(letter.business_document)
    main = getattr(document.business_message, "hoveddokument", None)
    if main is not None and main not in {file["name"] for file in letter.documents}:
        raise InvalidInput(f"The main document {main!r} is not uploaded.", code="main_document_missing")
    if document.message_type == "print":
        letter.channel = Channel.PRINT
        await printing.queue_for_print_in_transaction(session, letter, PrintReason.REQUESTED)
        return
    await digitalpost.send_person_letter_in_transaction(session, letter, unread_days=None)


async def send_message(database: Database, principal: Principal, message_id: str) -> None:
    """Send a message created before, with its files uploaded."""
    sender = _sender_of(principal)
    async with database.transaction() as session:
        letter = await _own_letter(session, sender, message_id, lock=True)
        _unsent(letter)
        await _send(session, letter)


async def create_and_send(database: Database, blobs: BlobStore, scanner: VirusScanner, principal: Principal,
                          document: schemas.StandardBusinessDocument,
                          files: list[tuple[str, str, AsyncIterable[bytes]]]) -> dict[str, Any]:
    """The one-step strategy: the document and its files (name, content type, bytes) in one request; nothing
    is created unless all of it is right."""
    sender = _sender_of(principal)
    if len(files) > MAX_FILES:
        raise InvalidInput(f"A message holds at most {MAX_FILES} files.", code="too_many_files")
    stored: list[tuple[str, str, str, int]] = []
    try:
        for name, content_type, chunks in files:
            stored.append((name, content_type, *await store_file(blobs, scanner, chunks)))
        async with database.transaction() as session:
            letter = await _create(session, sender, document)
            for name, content_type, key, size in stored:
                _add_file(letter, name=name, content_type=content_type, title=None, key=key, size=size)
            await _send(session, letter)
    except BaseException:
        for _, _, key, _ in stored:  # nothing was created: the bytes go too
            await blobs.delete(key)
        raise
    assert letter.business_document is not None
    return letter.business_document


async def get_message(database: Database, principal: Principal, message_id: str) -> dict[str, Any]:
    async with database.transaction() as session:
        letter = await _own_letter(session, _sender_of(principal), message_id)
    if letter.business_document is None:
        raise NotFound(f"Message {message_id} was not sent through the message API.", code="message_not_found")
    return letter.business_document


async def list_messages(database: Database, principal: Principal, *, page: int, size: int) -> schemas.Page:
    """The sender's next-move messages, newest first."""
    query = select(Letter).where(Letter.sender == _sender_of(principal), Letter.business_document.is_not(None))
    async with database.transaction() as session:
        letters, total = await _page(session, query.order_by(Letter.created_at.desc(), Letter.id.desc()),
                                     page, size)
    return schemas.Page.of([letter.business_document for letter in letters], page=page, size=size, total=total)


async def delete_message(database: Database, principal: Principal, message_id: str) -> None:
    """Delete a message not sent yet."""
    async with database.transaction() as session:
        letter = await _own_letter(session, _sender_of(principal), message_id, lock=True)
        _unsent(letter)
        await session.delete(letter)


# --- capabilities -------------------------------------------------------------------------------------------
def _postal(facts: registers.PostalAddressFacts | None) -> schemas.PostalAddress:
    if facts is None:
        return schemas.PostalAddress()
    return schemas.PostalAddress(name=facts.name, street=facts.street_address or "",
                                 postalCode=facts.postal_code or "", postalArea=facts.postal_place or "",
                                 country="NORGE")


async def capabilities(database: Database, principal: Principal, receiver_identifier: str, *,
                       process: str | None, security_level: int | None) -> schemas.Capabilities:
    """How Felles reaches the receiver: for a person, DPI (digital and print, with the mailbox KRR names and the
    address in Folkeregisteret); for an organisation, DPV where it is available."""
    sender = _sender_of(principal)
    receiver = parse_party(receiver_identifier)
    actor = Actor(f"organization:{sender}")
    found: list[schemas.Capability] = []
    async with database.transaction() as session:
        addresses = await registers.postal_addresses_in_transaction(session, actor, [receiver, sender])
        if receiver not in addresses:
            raise NotFound(f"{receiver_identifier} is not in Folkeregisteret or Enhetsregisteret.",
                           code="receiver_not_found")
        if len(receiver) == 11:
            krr = (await registers.digital_post_channels_in_transaction(session, actor, [receiver]))[receiver]
            mailbox = (schemas.DigitalPostAddress(supplier=krr.mailbox_provider, address=krr.mailbox_address or "")
                       if krr.mailbox_provider and not krr.reserved else None)
            found = [schemas.Capability(
                process=name, serviceIdentifier="DPI", postAddress=_postal(addresses.get(receiver)),
                returnAddress=_postal(addresses.get(sender)), documentTypes=PERSON_DOCUMENT_TYPES,
                digitalPostAddress=mailbox,
            ) for name in (DIGITAL_POST_INFO_PROCESS, DIGITAL_POST_DECISION_PROCESS)]
        elif dpv_available():
            found = [schemas.Capability(process=ARKIVMELDING_PROCESS, serviceIdentifier="DPV", documentTypes=[
                schemas.DocumentType(type="arkivmelding", standard=schemas.STANDARDS["arkivmelding"])])]
    del security_level  # every channel Felles offers takes level 3 and 4
    return schemas.Capabilities(capabilities=[item for item in found if process in (None, item.process)])


# --- conversations and the status feed ---------------------------------------------------------------------
def _page_bounds(page: int, size: int) -> None:
    if not 0 <= page <= MAX_PAGE or not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page is from 0 to {MAX_PAGE}, size from 1 to {MAX_PAGE_SIZE}.", code="invalid_page")


async def _page(session: AsyncSession, query: Select[Any], page: int, size: int) -> tuple[list[Any], int]:
    _page_bounds(page, size)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(await session.scalars(query.offset(page * size).limit(size)))
    return rows, int(total or 0)


DPV_DOCUMENT_TYPES = ("digital_dpv", "arkivmelding")
# The same rules in SQL, for the conversations' filters.
_IS_DPV = or_(Letter.channel == Channel.ALTINN, Letter.document_type.in_(DPV_DOCUMENT_TYPES))
_IS_FINISHED = or_(Letter.status.in_(list(FINISHED)), Letter.printed_at.is_not(None))


def _service_identifier(letter: Letter) -> str:
    return "DPV" if letter.channel == Channel.ALTINN or letter.document_type in DPV_DOCUMENT_TYPES else "DPI"


def _conversation(letter: Letter, statuses: list[LetterStatus]) -> schemas.Conversation:
    return schemas.Conversation(
        id=str(letter.id), conversationId=letter.conversation_id, messageId=letter.message_id,
        sender=_identifier(letter.sender), senderIdentifier=letter.sender, receiver=_identifier(letter.recipient),
        receiverIdentifier=letter.recipient, processIdentifier=letter.process_identifier,
        documentIdentifier=schemas.STANDARDS.get(letter.document_type, letter.document_type),
        messageReference=letter.conversation_id, messageTitle=letter.title, lastUpdate=letter.updated_at,
        finished=letter.status in FINISHED or letter.printed_at is not None,
        serviceIdentifier=_service_identifier(letter),  # type: ignore[arg-type]
        messageStatuses=[schemas.ConversationStatus(id=status.id, lastUpdate=status.occurred_at,
                                                    status=status.status, description=status.description)
                         for status in statuses],
    )


async def _conversations(session: AsyncSession, letters: list[Letter]) -> list[schemas.Conversation]:
    statuses: dict[uuid.UUID, list[LetterStatus]] = {letter.id: [] for letter in letters}
    for status in await session.scalars(select(LetterStatus).where(LetterStatus.letter_id.in_(list(statuses)))
                                        .order_by(LetterStatus.id)):
        statuses[status.letter_id].append(status)
    return [_conversation(letter, statuses[letter.id]) for letter in letters]


async def conversations(database: Database, principal: Principal, *, page: int, size: int,
                        filters: dict[str, Any]) -> schemas.ConversationPage:
    """The sender's conversations, the last updated first, filtered as eFormidling's ConversationQueryInput."""
    columns = {"messageId": Letter.message_id, "conversationId": Letter.conversation_id,
               "receiverIdentifier": Letter.recipient, "messageReference": Letter.conversation_id,
               "messageTitle": Letter.title}
    query = select(Letter).where(Letter.sender == _sender_of(principal), Letter.channel != Channel.UNSENT)
    for name, value in filters.items():
        if value is not None and name in columns:
            query = query.where(columns[name] == value)
    if filters.get("serviceIdentifier") is not None:
        query = query.where(_IS_DPV if filters["serviceIdentifier"] == "DPV" else not_(_IS_DPV)
                            if filters["serviceIdentifier"] == "DPI" else false())
    if filters.get("finished") is not None:
        query = query.where(_IS_FINISHED if filters["finished"] else not_(_IS_FINISHED))
    async with database.transaction() as session:
        letters, total = await _page(session, query.order_by(Letter.updated_at.desc(), Letter.id.desc()), page,
                                     size)
        content = await _conversations(session, letters)
    return schemas.ConversationPage.of(content, page=page, size=size, total=total)  # type: ignore[return-value]


async def conversation(database: Database, principal: Principal, *, conversation_id: str | None = None,
                       message_id: str | None = None) -> schemas.Conversation:
    """One conversation by its id, or by its message's messageId."""
    query = select(Letter).where(Letter.sender == _sender_of(principal))
    if conversation_id is not None:
        try:
            query = query.where(Letter.id == uuid.UUID(conversation_id))
        except ValueError:
            raise NotFound(f"No conversation {conversation_id}.", code="conversation_not_found") from None
    else:
        query = query.where(Letter.message_id == message_id)
    async with database.transaction() as session:
        letter = await session.scalar(query)
        if letter is None:
            raise NotFound("No such conversation of yours.", code="conversation_not_found")
        return (await _conversations(session, [letter]))[0]


async def statuses(database: Database, principal: Principal, *, page: int, size: int, message_id: str | None = None,
                   conversation_id: str | None = None, status: str | None = None,
                   from_id: int | None = None) -> schemas.MessageStatusPage:
    """The status feed of the sender's messages, oldest first (by id): `fromId` continues after the last seen."""
    query = (select(LetterStatus, Letter.message_id, Letter.conversation_id)
             .join(Letter, Letter.id == LetterStatus.letter_id)
             .where(Letter.sender == _sender_of(principal)))
    if message_id is not None:
        query = query.where(Letter.message_id == message_id)
    if conversation_id is not None:
        query = query.where(Letter.conversation_id == conversation_id)
    if status is not None:
        query = query.where(LetterStatus.status == status)
    if from_id is not None:
        query = query.where(LetterStatus.id >= from_id)
    _page_bounds(page, size)
    async with database.transaction() as session:
        total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = (await session.execute(query.order_by(LetterStatus.id).offset(page * size).limit(size))).all()
    content = [schemas.MessageStatus(id=row.id, lastUpdate=row.occurred_at, status=row.status,
                                     description=row.description, convId=str(row.letter_id), messageId=message,
                                     conversationId=conversation)
               for row, message, conversation in rows]
    return schemas.MessageStatusPage.of(content, page=page, size=size, total=total)  # type: ignore[return-value]


async def peek_status(database: Database, principal: Principal) -> schemas.MessageStatus | None:
    """The oldest status of the caller's messages not taken off its queue yet (None: the queue is empty)."""
    async with database.transaction() as session:
        row = (await session.execute(
            select(LetterStatus, Letter.message_id, Letter.conversation_id)
            .join(Letter, Letter.id == LetterStatus.letter_id)
            .where(Letter.sender == _sender_of(principal), LetterStatus.taken_at.is_(None))
            .order_by(LetterStatus.id).limit(1))).first()
    if row is None:
        return None
    status, message, conversation = row
    return schemas.MessageStatus(id=status.id, lastUpdate=status.occurred_at, status=status.status,
                                 description=status.description, convId=str(status.letter_id), messageId=message,
                                 conversationId=conversation)


async def take_status(database: Database, principal: Principal, status_id: int) -> None:
    """Take a status off the caller's queue (after `peek_status`); NotFound if it is not the caller's."""
    sender = _sender_of(principal)
    async with database.transaction() as session:
        status = await session.scalar(
            select(LetterStatus).join(Letter, Letter.id == LetterStatus.letter_id)
            .where(LetterStatus.id == status_id, Letter.sender == sender).with_for_update())
        if status is None or status.taken_at is not None:
            raise NotFound(f"No status {status_id} on your queue.", code="status_not_found")
        status.taken_at = utcnow()
