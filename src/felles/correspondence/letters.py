"""What every letter shares, whichever way it goes (`digitalpost`, `printing`, `nextmove`): its creation, its
eFormidling status history, and its text as a PDF document.

A letter's status is eFormidling's message status (OPPRETTET, SENDT, MOTTATT, LEVERT, LEST, FEIL); each status
reached is a row of `letter_statuses`, whose ids order the status feed a case system reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from markdown_it import MarkdownIt
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import pdf
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.ids import uuid7
from felles.correspondence.letters_models import Letter, LetterStatus

# eFormidling's processes for letters to citizens (information and decisions), and for archive messages
# between organisations' case systems.
DIGITAL_POST_INFO_PROCESS = "urn:no:difi:profile:digitalpost:info:ver1.0"
DIGITAL_POST_DECISION_PROCESS = "urn:no:difi:profile:digitalpost:vedtak:ver1.0"
ARKIVMELDING_PROCESS = "urn:no:difi:profile:arkivmelding:administrasjon:ver1.0"


class MessageStatus(StrEnum):
    """eFormidling's ReceiptStatus, the status of a message and of each step in its history."""

    OPPRETTET = "OPPRETTET"  # created
    SENDT = "SENDT"  # handed to the mailbox or print provider
    MOTTATT = "MOTTATT"  # the provider received it
    LEVERT = "LEVERT"  # in the mailbox, in Altinn, or printed and posted
    LEST = "LEST"  # opened in the mailbox or read in Altinn
    FEIL = "FEIL"  # could not be delivered
    LEVETID_UTLOPT = "LEVETID_UTLOPT"  # its lifetime (expectedResponseDateTime) ended before it was delivered
    ANNET = "ANNET"


class Channel(StrEnum):
    """How a letter reaches its recipient."""

    DIGITAL_POST = "digitalpost"  # the digital mailbox KRR names (Digipost, e-Boks)
    ALTINN = "altinn"  # read in Altinn (a correspondence), on paper if unread
    PRINT = "print"  # on paper only
    # To an organisation's incoming queue, fetched by its case system (eFormidling's DPO, an arkivmelding).
    ORGANIZATION_QUEUE = "dpo"
    UNSENT = "unsent"  # a next-move message created, its files being uploaded, not sent yet


class PrintReason(StrEnum):
    RESERVED = "reserved"  # the recipient is reserved against digital post in KRR
    NO_DIGITAL_CHANNEL = "no_digital_channel"  # no mailbox, and nothing that would tell them to read in Altinn
    UNREAD = "unread"  # not opened within the days the sender set
    REQUESTED = "requested"  # the sender asked for paper (a next-move print message)


Provider = TypeVar("Provider")


class ProviderRegistry(Generic[Provider]):
    """The plugins of one kind (mailbox providers, print providers), registered by name
    (`@registry.register("name")`) and chosen by a setting (`FELLES_MAILBOX_PROVIDER`, `FELLES_PRINT_PROVIDER`)."""

    def __init__(self, kind: str, setting: str) -> None:
        self.kind, self.setting = kind, setting
        self._factories: dict[str, Callable[[Settings], Provider]] = {}

    def register(self, name: str) -> Callable[[Callable[[Settings], Provider]], Callable[[Settings], Provider]]:
        def register(factory: Callable[[Settings], Provider]) -> Callable[[Settings], Provider]:
            self._factories[name] = factory
            return factory

        return register

    def configured(self, settings: Settings) -> Provider:
        """The provider the settings choose; LookupError when none is registered by that name."""
        name = getattr(settings, self.setting)
        factory = self._factories.get(name)
        if factory is None:
            known = ", ".join(sorted(self._factories))
            raise LookupError(f"no {self.kind} provider is registered as {name!r}; known: {known}")
        return factory(settings)


def new_letter(
    *, sender: str, recipient: str, title: str, body_markdown: str, channel: Channel, document_type: str,
    process_identifier: str = DIGITAL_POST_INFO_PROCESS, correspondence_id: uuid.UUID | None = None,
    message_id: str | None = None, conversation_id: str | None = None,
    documents: list[dict[str, Any]] | None = None,
) -> Letter:
    """A letter in status OPPRETTET (add it to the session, then `record_status` its first status)."""
    now = utcnow()
    letter_id = uuid7()
    message = message_id or str(letter_id)
    return Letter(
        id=letter_id, message_id=message, conversation_id=conversation_id or message,
        correspondence_id=correspondence_id, sender=sender, recipient=recipient, title=title[:255],
        body_markdown=body_markdown, documents=documents or [], process_identifier=process_identifier,
        document_type=document_type, channel=channel, status=MessageStatus.OPPRETTET, created_at=now,
        updated_at=now,
    )


def record_status(session: AsyncSession, letter: Letter, status: MessageStatus, description: str | None = None,
                  *, at: datetime | None = None) -> None:
    """The letter reached `status`: it becomes the letter's status and a step in its history (and the feed)."""
    moment = at or utcnow()
    letter.status = status
    letter.updated_at = moment
    session.add(LetterStatus(letter_id=letter.id, status=status, description=description and description[:500],
                             occurred_at=moment))


# --- the letter's text as a document ------------------------------------------------------------------------
# The letter's Markdown gives headings, paragraphs and lists; no HTML, links are shown as their text.
_markdown = MarkdownIt("commonmark").disable(["html_block", "html_inline", "image"])


def document_blocks(body_markdown: str) -> list[pdf.Block]:
    """The Markdown body as the PDF renderer's blocks: headings, paragraphs, and list items as bulleted
    paragraphs."""
    blocks: list[pdf.Block] = []
    tokens = _markdown.parse(body_markdown)
    in_item = False
    for index, token in enumerate(tokens):
        if token.type == "list_item_open":
            in_item = True
        elif token.type == "list_item_close":
            in_item = False
        elif token.type == "inline":
            text = "".join(child.content for child in token.children or [] if child.type in ("text", "code_inline"))
            text = text or token.content
            opening = tokens[index - 1].type if index else ""
            if opening == "heading_open":
                blocks.append(pdf.Heading(text))
            elif text.strip():
                blocks.append(pdf.Paragraph(f"• {text}" if in_item else text))
    return blocks


def letter_document(letter: Letter, *, sender_name: str, language: pdf.Language = "nb") -> pdf.Document:
    """The letter as a document: its title and body, from its sender."""
    return pdf.Document(title=letter.title, sections=[pdf.Section(None, document_blocks(letter.body_markdown))],
                        language=language, author=sender_name, created_at=letter.created_at)
