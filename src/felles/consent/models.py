"""Tables of consent: the requests (with the rights asked for and their status) and each request's history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime


class ConsentRequest(Base):
    """Samtykkeforespørsel: what a data consumer (`to`) asks a party (`from`: a person or an organisation) to
    consent to, and its status. Once accepted, the same row is the consent itself."""

    __tablename__ = "consent_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # chosen by the consumer, as in Altinn
    # The party that consents: fødselsnummer/D-nummer or organisasjonsnummer. The column kept its first name
    # (from_person, when only persons could consent) so that no migration renames it under running code.
    from_party: Mapped[str] = mapped_column("from_person", String(11))
    # The one person who may answer (Altinn's requiredDelegator), when the consumer names one.
    required_delegator: Mapped[str | None] = mapped_column(String(11))
    to_organization: Mapped[str] = mapped_column(String(9))  # the data consumer
    created_by: Mapped[str] = mapped_column(String(100))  # audit actor: the consumer or its supplier
    valid_to: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{"action": [...], "resource": [{"type", "value", "version"?}], "metadata": {...}?}], as the API shows it
    consent_rights: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    request_message: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)
    redirect_url: Mapped[str] = mapped_column(String(2000))
    template_id: Mapped[str | None] = mapped_column(String(100))
    portal_view_mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))  # Created | Accepted | Rejected | Revoked | Deleted | Expired
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_consent_requests_from_person", "from_person"),
        Index("ix_consent_requests_to_organization", "to_organization"),
        # The expiry job's scan: open requests and consents whose validTo has passed.
        Index("ix_consent_requests_status_valid_to", "status", "valid_to"),
    )


class ConsentRequestEvent(Base):
    """One step in a request's life (Altinn's `ConsentRequestEvent`): created, accepted, revoked ..."""

    __tablename__ = "consent_request_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    consent_request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_requests.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(10))
    performed_by: Mapped[str] = mapped_column(String(100))  # a party urn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_consent_request_events_consent_request_id", "consent_request_id"),)
