"""Tables of the user profile (Altinn Profile, with Arbeidsflate's own saved searches): a person's settings,
party groups (favourites), saved searches, notification addresses per party, verified addresses and the
verification codes sent to confirm them. A person is keyed by fødselsnummer, as every Felles login names them;
Altinn's integer `userId` is the person's party id (`felles.authorization`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime


class ProfileSettings(Base):
    """A person's profile settings (Altinn's `ProfileSettingPreference`), written on the first change."""

    __tablename__ = "profile_settings"

    person: Mapped[str] = mapped_column(String(11), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(2))  # nb | nn | en; None: not chosen yet
    do_not_prompt_for_party: Mapped[bool] = mapped_column(Boolean, default=False)
    preselected_party_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    preselected_party_id: Mapped[int | None] = mapped_column(Integer)
    show_client_units: Mapped[bool] = mapped_column(Boolean, default=False)
    should_show_sub_entities: Mapped[bool] = mapped_column(Boolean, default=False)
    should_show_deleted_entities: Mapped[bool] = mapped_column(Boolean, default=False)
    # Altinn's username (a login name besides the fødselsnummer); unique across persons.
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A self-identified user's private phone number for notifications (`notificationsettings/private`).
    private_phone_number: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PartyGroup(Base):
    """A named group of parties a person made; the favourites are the group with `is_favorite`."""

    __tablename__ = "profile_party_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(String(11))
    name: Mapped[str] = mapped_column(String(100))
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("person", "name", name="uq_profile_party_groups_person_name"),)


class PartyGroupMember(Base):
    __tablename__ = "profile_party_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("profile_party_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    party_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SavedSearch(Base):
    """A search a person saved in the inbox (Arbeidsflate): its text, filters, parties and view."""

    __tablename__ = "profile_saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(String(11))
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # {searchString, fromView, urn, filters}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_profile_saved_searches_person", "person"),)


class PartyNotificationSetting(Base):
    """The e-mail address and mobile number a person wants notices for a party at (Altinn's personal
    notification address, `UserPartyContactInfo`), optionally only for some resources."""

    __tablename__ = "profile_party_notification_settings"

    person: Mapped[str] = mapped_column(String(11), primary_key=True)
    party_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # The party's organisation number or fødselsnummer, so Varsling finds the settings by the number it has.
    party: Mapped[str] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    resources: Mapped[list[str]] = mapped_column(JSONDocument)  # urn:altinn:resource:…; empty: every resource
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_profile_party_notification_settings_party", "party"),)


class VerifiedAddress(Base):
    """An e-mail address or mobile number the person proved to hold with a code."""

    __tablename__ = "profile_verified_addresses"

    person: Mapped[str] = mapped_column(String(11), primary_key=True)
    address_type: Mapped[str] = mapped_column(String(5), primary_key=True)  # Email | Sms
    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # trimmed, lower case
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VerificationCode(Base):
    """The one live code for a person's address: only its keyed hash is kept; it expires, allows a few wrong
    tries, and a new one replaces it (no sooner than the resend cooldown)."""

    __tablename__ = "profile_verification_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    person: Mapped[str] = mapped_column(String(11))
    address_type: Mapped[str] = mapped_column(String(5))
    address: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("person", "address_type", "address",
                                       name="uq_profile_verification_codes_address"),)
