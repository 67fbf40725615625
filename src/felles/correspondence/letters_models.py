"""Tables of letters: digital post to citizens (DPI), paper letters and their print batches, and each letter's
status history, which is also the eFormidling-style status feed (`/api/statuses`).

A letter is its own entity: it carries an Altinn correspondence to a person (its digital-post or paper copy),
or a message a case system sent through the next-move API without any correspondence.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a feed that keeps growing.
FeedSequence = BigInteger().with_variant(Integer(), "sqlite")


class PrintBatch(Base):
    """Utskriftsbatch: paper letters handed to the print provider together, once."""

    __tablename__ = "letter_print_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    letter_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the provider took the whole batch; until then the submit job tries again (the provider takes a
    # batch again by its id without printing it twice).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Letter(Base):
    """Brev: one letter to one person or organisation, on its way through a digital mailbox, Altinn or paper."""

    __tablename__ = "letters"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # eFormidling's messageId and conversationId (the sender's own, or the letter's id as text).
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(36))
    # The Altinn correspondence this letter carries, when it carries one.
    correspondence_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    sender: Mapped[str] = mapped_column(String(9))  # organisasjonsnummer
    recipient: Mapped[str] = mapped_column(String(11))  # fødselsnummer/D-nummer, or organisasjonsnummer
    title: Mapped[str] = mapped_column(String(255))
    body_markdown: Mapped[str] = mapped_column(Text)
    # Enclosed files (next-move uploads): [{"name", "contentType", "title", "blobKey", "size"}]
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    process_identifier: Mapped[str] = mapped_column(String(100))
    document_type: Mapped[str] = mapped_column(String(20))  # digital | print | digital_dpv | arkivmelding
    # How the letter reaches the recipient: digitalpost (Digipost/e-Boks), altinn (read in Altinn) or print.
    # (unsent: a next-move message created and not sent yet.)
    channel: Mapped[str] = mapped_column(String(12))
    mailbox_provider: Mapped[str | None] = mapped_column(String(9))  # postkasseleverandør's organisasjonsnummer
    mailbox_address: Mapped[str | None] = mapped_column(String(100))
    # eFormidling's status of the message: OPPRETTET, SENDT, MOTTATT, LEVERT, LEST, FEIL, LEVETID_UTLOPT ...
    status: Mapped[str] = mapped_column(String(20))
    unread_days: Mapped[int | None] = mapped_column(Integer)
    paper_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # in the digital mailbox
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # in Altinn
    # Paper: why (reserved | no_digital_channel | unread | requested), when it was queued, its batch, and when
    # the print provider took it.
    print_reason: Mapped[str | None] = mapped_column(String(20))
    print_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    print_batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("letter_print_batches.id"))
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A next-move print message names the address and the return address itself ({"navn", "adresselinje1" ...}).
    print_address: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    return_address: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # An arkivmelding on the receiver's incoming queue: locked (peeked) by its case system until then.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A next-move message's lifetime (its SBD's expectedResponseDateTime): not delivered by then, it expires
    # (LEVETID_UTLOPT). Only for the messages whose delivery waits on the receiver (arkivmelding, digital_dpv).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The StandardBusinessDocument a case system sent through the next-move API, handed back as sent.
    business_document: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_letters_recipient", "recipient"),
        Index("ix_letters_sender_updated_at", "sender", "updated_at"),
        # The print queue: letters asked for on paper that no batch holds yet.
        Index("ix_letters_print_batch_id_print_requested_at", "print_batch_id", "print_requested_at"),
        # The paper sweep: letters whose days to be opened or read have run out.
        Index("ix_letters_paper_due_at", "paper_due_at"),
    )


class LetterStatus(Base):
    """One status a letter reached (eFormidling's MessageStatus); the ids order the status feed."""

    __tablename__ = "letter_statuses"

    id: Mapped[int] = mapped_column(FeedSequence, primary_key=True, autoincrement=True)
    letter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the sender took it off its status queue (eFormidling's `DELETE /api/statuses/{id}` after a peek).
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_letter_statuses_letter_id", "letter_id"),)
