"""The next-move message API (eFormidling 2's integrasjonspunkt) for case systems: a sak/arkiv system sends a
StandardBusinessDocument and its files, and Felles takes the letter to its recipient on the channel that reaches
them; the system follows it through its conversation and the status feed, and asks a receiver's capabilities.

Two ways to send, as eFormidling's: in steps (create the message, upload each file, send) or in one multipart
request. A `digital` message to a person goes to the digital mailbox KRR names, or on paper when the person is
reserved or has no mailbox (the sender need not know which); a `print` message goes on paper to the address it
gives. An `arkivmelding` (a Noark 5 `arkivmelding.xml` and the documents it names) goes to an organisation: it
waits on the receiver's incoming queue (`/api/messages/in`, as the receiver's own integrasjonspunkt would hold it,
eFormidling's DPO) until the receiver's case system peeks (locks), pops (downloads) and deletes it (archived).
Its sender follows it: OPPRETTET, SENDT, MOTTATT (on the receiver's queue), LEVERT (taken by the case system).
A `digital_dpv` message to an organisation becomes an Altinn correspondence (DPV, `nextmove_dpv`): SENDT, LEVERT
when published in Altinn, LEST when read there, FEIL if it cannot be or its correspondence fails.

Every message has a lifetime, as eFormidling's: until the SBD's expectedResponseDateTime, or `DEFAULT_LIFETIME`
from its creation (then written into the SBD). Sending it writes `EXPIRY_JOB`, due when the lifetime ends; a
message not delivered by then gets LEVETID_UTLOPT: it leaves the receiver's incoming queue, is not delivered to the
mailbox nor joins a print batch, and its DPV correspondence is not published.

Every message belongs to its sender (the token's organisation): a sender sees and changes only its own; an
incoming message is seen only by its receiver. Besides its message type's scope, a sender needs the resource
registry and the PDP to let it send through the message's service resource (Digdir's resource of its channel, or
the one its channel settings name), as its owner or an allowed sender; that is decided when the message is
created and again when it is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import Select, and_, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.core.blobs import BlobStore
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.tokens import Principal
from felles.core.virusscan import Infected, ScanFailed, VirusScanner
from felles.correspondence import digitalpost, printing, service_access
from felles.correspondence import nextmove_schemas as schemas
from felles.correspondence import service as correspondence_service
from felles.correspondence.letters import (
    ARKIVMELDING_PROCESS,
    DIGITAL_POST_DECISION_PROCESS,
    DIGITAL_POST_INFO_PROCESS,
    Channel,
    MessageStatus,
    PrintReason,
    new_letter,
    record_status,
)
from felles.correspondence.letters_models import Letter, LetterStatus
from felles.correspondence.nextmove_dpv import DPV_JOB, LIFETIME_ENDED
from felles.correspondence.service_reading import zipped_blobs
from felles.registers import service as registers
from felles.registers.identifiers import InvalidIdentifier, parse_organization_number, parse_person_identifier

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000
# The largest id the feed's column holds (a signed 64-bit integer on both databases).
MAX_STATUS_ID = 2**63 - 1
MAX_FILES = 100
# One file of a message (eFormidling takes large files in the multi-step strategy).
MAX_FILE_BYTES = 100_000_000
FINISHED = frozenset({MessageStatus.LEST, MessageStatus.FEIL, MessageStatus.LEVETID_UTLOPT})
# The person's document types: Felles reaches a person on the channel that works, so both are always offered.
PERSON_DOCUMENT_TYPES = [schemas.DocumentType(type=name, standard=schemas.STANDARDS[name])
                         for name in ("digital", "print")]
# The Noark 5 archive message: the file every arkivmelding holds, its XML namespace, and how large it may be.
ARKIVMELDING_FILE = "arkivmelding.xml"
ARKIVMELDING_NAMESPACE = "http://www.arkivverket.no/standarder/noark5/arkivmelding"
MAX_ARKIVMELDING_BYTES = 10_000_000
# No entities expanded, nothing fetched: the file comes from outside.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
# How long a peek locks an incoming message for the receiver's case system (eFormidling's default lock).
LOCK_DURATION = timedelta(minutes=5)
ASIC_CONTENT_TYPE = "application/vnd.etsi.asic-e+zip"
# The scope each message type needs besides the API's own (DPI's for letters to persons, eFormidling's
# scopes for DPO and DPV, in Maskinporten's prefix:subscope form).
DPI_SCOPE = "digitalpostinnbygger:send"
DPO_SCOPE = "eformidling:dpo"
DPV_SCOPE = "eformidling:dpv"
# The message types to organisations.
ORGANIZATION_TYPES = ("digital_dpv", "arkivmelding")
SCOPE_OF_TYPE = {"digital": DPI_SCOPE, "print": DPI_SCOPE, "arkivmelding": DPO_SCOPE, "digital_dpv": DPV_SCOPE}
# A message's lifetime when its SBD gives no expectedResponseDateTime: the integrasjonspunkt's default
# (`difi.move.nextmove.default-ttl-hours`, 24 hours, in eFormidling's configuration documentation).
DEFAULT_LIFETIME = timedelta(hours=24)
EXPIRY_JOB = "nextmove.expire"
# The statuses of a sent message on its way: its lifetime may still end (OPPRETTET: a letter whose delivery to the
# mailbox or collection into a print batch has not happened yet).
WAITING = frozenset({MessageStatus.OPPRETTET, MessageStatus.SENDT, MessageStatus.MOTTATT})


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
    if kind in ORGANIZATION_TYPES and len(receiver) != 9:
        raise InvalidInput(f"A {kind!r} message goes to an organisation (0192: and its organisasjonsnummer).",
                           code="receiver_not_organization")
    identification = header.documentIdentification
    message_id = identification.instanceIdentifier or str(uuid7())
    if await session.scalar(select(Letter.id).where(Letter.message_id == message_id)) is not None:
        raise Conflict(f"A message with messageId {message_id} exists.", code="message_exists")
    default_process = ARKIVMELDING_PROCESS if kind == "arkivmelding" else DIGITAL_POST_INFO_PROCESS
    scope = document.conversation_scope
    if scope is None:
        scope = schemas.Scope(type="ConversationId", identifier=default_process)
        header.businessScope.scope.append(scope)
    scope.instanceIdentifier = scope.instanceIdentifier or str(uuid7())
    scope.identifier = scope.identifier or default_process
    identification.instanceIdentifier = message_id
    expires_at = _expected_response(document)
    if expires_at is None:
        expires_at = (utcnow() + DEFAULT_LIFETIME).replace(microsecond=0)
        scope.scopeInformation.append(schemas.ScopeInformation(expectedResponseDateTime=expires_at.isoformat()))
    title, body = _letter_text(document)
    letter = new_letter(sender=sender, recipient=receiver, title=title, body_markdown=body, channel=Channel.UNSENT,
                        document_type=kind, process_identifier=scope.identifier, message_id=message_id,
                        conversation_id=scope.instanceIdentifier)
    if isinstance(document.print_, schemas.PrintMessage):
        letter.print_address = document.print_.mottaker.model_dump(exclude_none=True)
        letter.return_address = document.print_.retur.mottaker.model_dump(exclude_none=True)
    letter.expires_at = expires_at
    letter.business_document = dump(document)
    session.add(letter)
    record_status(session, letter, MessageStatus.OPPRETTET)
    return letter


def _moment(value: str) -> datetime:
    """An expectedResponseDateTime as a moment in UTC; refused unless an ISO 8601 date and time with its offset."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise InvalidInput(f"expectedResponseDateTime {value!r} is not an ISO 8601 date and time with its UTC offset "
                       "(as 2026-12-31T12:00:00+01:00).", code="invalid_expected_response")


def _expected_response(document: schemas.StandardBusinessDocument) -> datetime | None:
    """When the message's lifetime ends by its SBD (the earliest expectedResponseDateTime of its scopes), or None.
    A moment that has passed is refused."""
    given = [_moment(information.expectedResponseDateTime)
             for scope in document.standardBusinessDocumentHeader.businessScope.scope
             for information in scope.scopeInformation if information.expectedResponseDateTime is not None]
    expected = min(given, default=None)
    if expected is not None and expected <= utcnow():
        raise InvalidInput(f"expectedResponseDateTime {expected.isoformat()} has passed: the message's lifetime "
                           "must end in the future.", code="expected_response_passed")
    return expected


def dump(document: schemas.StandardBusinessDocument) -> dict[str, Any]:
    dumped: dict[str, Any] = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


async def _authorize(database: Database, principal: Principal, document: schemas.StandardBusinessDocument) -> str:
    """The sender (the token's organisation), once its token has the scope the message type needs and the
    resource registry and the PDP let it send through the message's service resource (as its owner or an allowed
    sender), as a correspondence's sender is decided."""
    sender = _sender_of(principal)
    kind = document.message_type
    if SCOPE_OF_TYPE[kind] not in principal.scopes:
        raise Forbidden(f"A {kind!r} message needs the scope {SCOPE_OF_TYPE[kind]}.", code="insufficient_scope")
    receiver = parse_party(document.standardBusinessDocumentHeader.receiver[0].identifier.value)
    if kind in ORGANIZATION_TYPES and len(receiver) == 9 and not await _organization_known(database, sender,
                                                                                          receiver):
        raise InvalidInput(f"Organisation {receiver} is neither in Enhetsregisteret nor a service owner.",
                           code="receiver_not_found")
    await service_access.permitted_sending(database, sender, document.service_resource)
    return sender


async def _organization_known(database: Database, sender: str, organization: str) -> bool:
    """In Enhetsregisteret, or a service owner of the platform (a municipality receiving in its own archive)."""
    async with database.transaction() as session:
        if await registers.postal_addresses_in_transaction(session, Actor(f"organization:{sender}"), [organization]):
            return True
    return organization in {owner.organization for owner in await authorization_service.list_service_owners(database)}


async def create_message(database: Database, principal: Principal,
                         document: schemas.StandardBusinessDocument) -> dict[str, Any]:
    """Create a message (multi-step strategy): it waits for its files, then `send_message`. Answers the document
    with its messageId and conversationId filled in."""
    sender = await _authorize(database, principal, document)
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


async def _references(blobs: BlobStore, name: str, key: str, size: int) -> list[str] | None:
    """For `arkivmelding.xml`: the files it names (each dokumentobjekt's referanseDokumentfil), once it is read as
    a Noark 5 arkivmelding; None for any other file. A file that is no arkivmelding is refused."""
    if name != ARKIVMELDING_FILE:
        return None
    if size > MAX_ARKIVMELDING_BYTES:
        raise InvalidInput(f"{ARKIVMELDING_FILE} may hold at most {MAX_ARKIVMELDING_BYTES} bytes.",
                           code="invalid_arkivmelding")
    content = b"".join([chunk async for chunk in await blobs.get(key)])
    try:
        root = etree.fromstring(content, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"{ARKIVMELDING_FILE} is not well-formed XML: {exc}", code="invalid_arkivmelding") from exc
    if root.tag != f"{{{ARKIVMELDING_NAMESPACE}}}arkivmelding":
        raise InvalidInput(f"{ARKIVMELDING_FILE} must be a Noark 5 arkivmelding (root element arkivmelding in "
                           f"{ARKIVMELDING_NAMESPACE}).", code="invalid_arkivmelding")
    found = [(element.text or "").strip() for element in root.iter(f"{{{ARKIVMELDING_NAMESPACE}}}referanseDokumentfil")]
    return list(dict.fromkeys(name for name in found if name))


def _add_file(letter: Letter, *, name: str, content_type: str, title: str | None, key: str, size: int,
              references: list[str] | None = None) -> None:
    documents = [document for document in letter.documents if document["name"] != name]
    if len(documents) >= MAX_FILES:
        raise InvalidInput(f"A message holds at most {MAX_FILES} files.", code="too_many_files")
    document: dict[str, Any] = {"name": name, "contentType": content_type, "title": title or name, "blobKey": key,
                                "size": size}
    if references is not None:
        document["references"] = references
    documents.append(document)
    letter.documents = documents


async def upload_file(database: Database, blobs: BlobStore, scanner: VirusScanner, principal: Principal,
                      message_id: str, *, name: str, content_type: str, title: str | None,
                      chunks: AsyncIterable[bytes]) -> None:
    """Add a file to a message not sent yet (a file of the same name is replaced)."""
    sender = _sender_of(principal)
    async with database.transaction() as session:
        _unsent(await _own_letter(session, sender, message_id))
    key, size = await store_file(blobs, scanner, chunks)
    try:
        references = await _references(blobs, name, key, size)
        async with database.transaction() as session:
            letter = await _own_letter(session, sender, message_id, lock=True)
            _unsent(letter)
            replaced = [file["blobKey"] for file in letter.documents if file["name"] == name]
            _add_file(letter, name=name, content_type=content_type, title=title, key=key, size=size,
                      references=references)
    except BaseException:
        await blobs.delete(key)
        raise
    for old_key in replaced:  # the file it replaced
        await blobs.delete(old_key)


async def _send(session: AsyncSession, letter: Letter) -> None:
    document = schemas.StandardBusinessDocument.model_validate(letter.business_document)
    main = getattr(document.business_message, "hoveddokument", None)
    if main is not None and main not in {file["name"] for file in letter.documents}:
        raise InvalidInput(f"The main document {main!r} is not uploaded.", code="main_document_missing")
    if document.message_type == "arkivmelding":
        _check_arkivmelding_files(letter)
    await _expire_when_due(session, letter)
    if document.message_type == "print":
        letter.channel = Channel.PRINT
        await printing.queue_for_print_in_transaction(session, letter, PrintReason.REQUESTED)
        return
    if document.message_type == "arkivmelding":
        letter.channel = Channel.ORGANIZATION_QUEUE
        record_status(session, letter, MessageStatus.SENDT)
        record_status(session, letter, MessageStatus.MOTTATT, "On the receiver's incoming queue")
        return
    if document.message_type == "digital_dpv":
        letter.channel = Channel.ALTINN
        record_status(session, letter, MessageStatus.SENDT)
        await enqueue(session, DPV_JOB, {"letterId": str(letter.id)})
        return
    await digitalpost.send_person_letter_in_transaction(session, letter, unread_days=None)


async def _expire_when_due(session: AsyncSession, letter: Letter) -> None:
    """The message's lifetime ends at its time (`expire`); one that ended before it was sent is refused."""
    # A message created before messages had lifetimes gets the default from now.
    letter.expires_at = letter.expires_at or (utcnow() + DEFAULT_LIFETIME)
    if letter.expires_at <= utcnow():
        raise InvalidInput(f"The message's lifetime ended at {letter.expires_at.isoformat()} (its "
                           "expectedResponseDateTime) before it was sent: delete it and create it again.",
                           code="message_expired")
    await enqueue(session, EXPIRY_JOB, {"letterId": str(letter.id)}, run_at=letter.expires_at)


def _check_arkivmelding_files(letter: Letter) -> None:
    names = {file["name"] for file in letter.documents}
    manifest = next((file for file in letter.documents if file["name"] == ARKIVMELDING_FILE), None)
    if manifest is None:
        raise InvalidInput(f"An arkivmelding holds the file {ARKIVMELDING_FILE}; it is not uploaded.",
                           code="arkivmelding_missing")
    missing = [name for name in manifest.get("references", []) if name not in names]
    if missing:
        raise InvalidInput(f"{ARKIVMELDING_FILE} names files not uploaded: {', '.join(missing)}.",
                           code="document_missing", extra={"missing": missing})


async def send_message(database: Database, principal: Principal, message_id: str) -> None:
    """Send a message created before, with its files uploaded. The sender is decided again: its right to send
    through the message's resource may have gone since it created the message."""
    sender = _sender_of(principal)
    async with database.transaction() as session:
        letter = await _own_letter(session, sender, message_id)
        _unsent(letter)
    await _authorize(database, principal, schemas.StandardBusinessDocument.model_validate(letter.business_document))
    async with database.transaction() as session:
        letter = await _own_letter(session, sender, message_id, lock=True)
        _unsent(letter)
        await _send(session, letter)


async def create_and_send(database: Database, blobs: BlobStore, scanner: VirusScanner, principal: Principal,
                          document: schemas.StandardBusinessDocument,
                          files: list[tuple[str, str, AsyncIterable[bytes]]]) -> dict[str, Any]:
    """The one-step strategy: the document and its files (name, content type, bytes) in one request; nothing
    is created unless all of it is right."""
    sender = await _authorize(database, principal, document)
    if len(files) > MAX_FILES:
        raise InvalidInput(f"A message holds at most {MAX_FILES} files.", code="too_many_files")
    stored: list[tuple[str, str, str, int, list[str] | None]] = []
    keys: list[str] = []
    try:
        for name, content_type, chunks in files:
            key, size = await store_file(blobs, scanner, chunks)
            keys.append(key)
            stored.append((name, content_type, key, size, await _references(blobs, name, key, size)))
        async with database.transaction() as session:
            letter = await _create(session, sender, document)
            for name, content_type, key, size, references in stored:
                _add_file(letter, name=name, content_type=content_type, title=None, key=key, size=size,
                          references=references)
            await _send(session, letter)
    except BaseException:
        for key in keys:  # nothing was created: the bytes go too
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
    address in Folkeregisteret); for an organisation, DPO (an arkivmelding to its incoming queue) and DPV
    (a `digital_dpv` message read in Altinn)."""
    sender = _sender_of(principal)
    receiver = parse_party(receiver_identifier)
    actor = Actor(f"organization:{sender}")
    found: list[schemas.Capability] = []
    known = len(receiver) == 9 and await _organization_known(database, sender, receiver)
    async with database.transaction() as session:
        addresses = await registers.postal_addresses_in_transaction(session, actor, [receiver, sender])
        if receiver not in addresses and (len(receiver) == 11 or not known):
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
        else:
            found = [schemas.Capability(
                process=name, serviceIdentifier=service, postAddress=_postal(addresses.get(receiver)),
                documentTypes=[schemas.DocumentType(type=kind, standard=schemas.STANDARDS[kind])])
                for name, service, kind in ((ARKIVMELDING_PROCESS, "DPO", "arkivmelding"),
                                            (DIGITAL_POST_INFO_PROCESS, "DPV", "digital_dpv"),
                                            (DIGITAL_POST_DECISION_PROCESS, "DPV", "digital_dpv"))]
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


# The same rules in SQL, for the conversations' filters.
_IS_DPO = Letter.channel == Channel.ORGANIZATION_QUEUE
_IS_DPV = or_(Letter.channel == Channel.ALTINN, Letter.document_type == "digital_dpv")
_IS_FINISHED = or_(Letter.status.in_(list(FINISHED)), Letter.printed_at.is_not(None),
                   and_(_IS_DPO, Letter.status == MessageStatus.LEVERT))
_SERVICE_FILTERS = {"DPO": _IS_DPO, "DPV": _IS_DPV, "DPI": and_(not_(_IS_DPO), not_(_IS_DPV))}


def _service_identifier(letter: Letter) -> schemas.ServiceIdentifier:
    if letter.channel == Channel.ORGANIZATION_QUEUE:
        return "DPO"
    return "DPV" if letter.channel == Channel.ALTINN or letter.document_type == "digital_dpv" else "DPI"


def _finished(letter: Letter) -> bool:
    """Read, failed or printed; an arkivmelding once the receiver's case system took it."""
    return letter.status in FINISHED or letter.printed_at is not None or (
        letter.channel == Channel.ORGANIZATION_QUEUE and letter.status == MessageStatus.LEVERT)


def _conversation(letter: Letter, statuses: list[LetterStatus]) -> schemas.Conversation:
    return schemas.Conversation(
        id=str(letter.id), conversationId=letter.conversation_id, messageId=letter.message_id,
        sender=_identifier(letter.sender), senderIdentifier=letter.sender, receiver=_identifier(letter.recipient),
        receiverIdentifier=letter.recipient, processIdentifier=letter.process_identifier,
        documentIdentifier=schemas.STANDARDS.get(letter.document_type, letter.document_type),
        messageReference=letter.conversation_id, messageTitle=letter.title, lastUpdate=letter.updated_at,
        finished=_finished(letter), expiry=letter.expires_at,
        serviceIdentifier=_service_identifier(letter),
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
        query = query.where(_SERVICE_FILTERS.get(filters["serviceIdentifier"], false()))
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


# --- the receiver's incoming queue (arkivmelding) ------------------------------------------------------------
def _receiver_of(principal: Principal) -> str:
    if principal.kind != "organization" or principal.organization_number is None:
        raise Forbidden("Only an organisation (a Maskinporten token) receives through the message API.",
                        code="organization_required")
    if DPO_SCOPE not in principal.scopes:
        raise Forbidden(f"Receiving arkivmeldinger needs the scope {DPO_SCOPE}.", code="insufficient_scope")
    return principal.organization_number


def _incoming(receiver: str) -> Select[Any]:
    """The receiver's messages waiting on its queue, oldest first."""
    return (select(Letter).where(Letter.recipient == receiver, Letter.channel == Channel.ORGANIZATION_QUEUE,
                                 Letter.status == MessageStatus.MOTTATT)
            .order_by(Letter.created_at, Letter.id))


def _incoming_filters(query: Select[Any], *, process: str | None, conversation_id: str | None,
                      service_identifier: str | None) -> Select[Any]:
    if service_identifier not in (None, "DPO"):
        return query.where(false())
    if process is not None:
        query = query.where(Letter.process_identifier == process)
    if conversation_id is not None:
        query = query.where(Letter.conversation_id == conversation_id)
    return query


async def incoming_messages(database: Database, principal: Principal, *, page: int, size: int,
                            process: str | None = None, conversation_id: str | None = None,
                            service_identifier: str | None = None) -> schemas.Page:
    """The messages on the caller's incoming queue (locked or not), oldest first, as their senders sent them."""
    query = _incoming_filters(_incoming(_receiver_of(principal)), process=process, conversation_id=conversation_id,
                              service_identifier=service_identifier)
    async with database.transaction() as session:
        letters, total = await _page(session, query, page, size)
    return schemas.Page.of([letter.business_document for letter in letters], page=page, size=size, total=total)


async def peek_incoming(database: Database, principal: Principal, *, process: str | None = None,
                        conversation_id: str | None = None,
                        service_identifier: str | None = None) -> dict[str, Any] | None:
    """Lock the oldest message on the caller's queue that no one holds locked, for `LOCK_DURATION`, and answer its
    StandardBusinessDocument (None: nothing waits). While locked, no other peek takes it; pop and delete it then."""
    receiver = _receiver_of(principal)
    now = utcnow()
    query = _incoming_filters(_incoming(receiver), process=process, conversation_id=conversation_id,
                              service_identifier=service_identifier)
    query = query.where(or_(Letter.locked_until.is_(None), Letter.locked_until <= now))
    async with database.transaction() as session:
        letter: Letter | None = await session.scalar(query.limit(1).with_for_update(skip_locked=True))
        if letter is None:
            return None
        letter.locked_until = now + LOCK_DURATION
        return letter.business_document


async def _locked_incoming(session: AsyncSession, receiver: str, message_id: str, *,
                           lock: bool = False) -> Letter:
    query = _incoming(receiver).where(Letter.message_id == message_id)
    letter: Letter | None = await session.scalar(query.with_for_update() if lock else query)
    if letter is None:
        raise NotFound(f"No message {message_id} on your incoming queue.", code="message_not_found")
    if letter.locked_until is None or letter.locked_until <= utcnow():
        raise Conflict(f"Message {message_id} is not locked: peek it first.", code="message_not_locked")
    return letter


async def pop_incoming(database: Database, blobs: BlobStore, principal: Principal,
                       message_id: str) -> AsyncIterator[bytes]:
    """The files of a locked message on the caller's queue (the arkivmelding.xml and its documents), as a zip
    archive streamed from the blob store (the layout of eFormidling's ASiC-E, without its signature)."""
    receiver = _receiver_of(principal)
    async with database.transaction() as session:
        letter = await _locked_incoming(session, receiver, message_id)
    return zipped_blobs(blobs, [(file["name"], file["blobKey"], letter.created_at) for file in letter.documents])


@job_handler(EXPIRY_JOB, max_attempts=20, backoff_base=timedelta(seconds=30))
async def expire(payload: dict[str, Any], context: JobContext) -> None:
    """The message's lifetime ended (`_expire_when_due` wrote this job for then): still on its way, it gets
    LEVETID_UTLOPT and leaves the receiver's incoming queue (peek, pop and delete no longer find it); a letter's
    delivery to the mailbox and its print collection pass it by (they read the lifetime themselves). A message
    delivered, failed or expired meanwhile is left as it is, and so is a letter already in a print batch (at the
    printer, past stopping); the job may run twice. A DPV message's correspondence not published yet fails, and is
    never published."""
    session = context.session
    letter = await session.get(Letter, uuid.UUID(payload["letterId"]))
    if letter is None or letter.channel == Channel.UNSENT or letter.expires_at is None or letter.expires_at > utcnow():
        return
    linked = letter.correspondence_id
    if linked is not None:
        # A DPV message's correspondence not published yet is stopped, so it never goes out. Locked before the
        # letter, as publishing locks them: a publish under way finishes first, and its letter is LEVERT.
        await correspondence_service.fail_unpublished_in_transaction(session, linked, LIFETIME_ENDED)
    await session.refresh(letter, with_for_update=True)
    if letter.correspondence_id != linked:
        raise RuntimeError("the DPV message was linked to its correspondence meanwhile; its expiry is tried again")
    if letter.status not in WAITING or letter.print_batch_id is not None:
        return
    letter.locked_until = None
    record_status(session, letter, MessageStatus.LEVETID_UTLOPT,
                  "Levetiden for meldingen er utgått før den ble levert; send den på nytt")


async def delete_incoming(database: Database, principal: Principal, message_id: str) -> dict[str, Any]:
    """The receiver's case system took the locked message (archived it): off the queue, and LEVERT for its
    sender. Answers the StandardBusinessDocument."""
    receiver = _receiver_of(principal)
    async with database.transaction() as session:
        letter = await _locked_incoming(session, receiver, message_id, lock=True)
        letter.locked_until = None
        letter.delivered_at = utcnow()
        record_status(session, letter, MessageStatus.LEVERT, "Taken by the receiver's case system")
        assert letter.business_document is not None
        return letter.business_document
