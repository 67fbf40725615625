"""Tables of Folkeregisteret (persons, family relations, guardianships), Enhetsregisteret (organisations,
roles) and KRR (contact information and reservations), plus the change feed shared by all three."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a national-scale feed.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")


class Person(Base):
    """En person i Folkeregisteret."""

    __tablename__ = "persons"

    national_identity_number: Mapped[str] = mapped_column(String(11), primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(6))  # "mann" | "kvinne", as FREG's kjoenn
    # FREG's folkeregisterpersonstatus: bosatt, doed, utflyttet, forsvunnet, ikkeBosatt, inaktiv, opphoert
    status: Mapped[str] = mapped_column(String(12))
    date_of_death: Mapped[date | None] = mapped_column(Date)
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(4))
    postal_place: Mapped[str | None] = mapped_column(String(100))
    municipality_number: Mapped[str | None] = mapped_column(String(4))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_persons_family_name_given_name", "family_name", "given_name"),)


class ParentChild(Base):
    """Familierelasjon forelder–barn."""

    __tablename__ = "parent_child"

    parent: Mapped[str] = mapped_column(ForeignKey("persons.national_identity_number"), primary_key=True)
    child: Mapped[str] = mapped_column(ForeignKey("persons.national_identity_number"), primary_key=True)
    parent_role: Mapped[str] = mapped_column(String(8))  # far | mor | medmor

    __table_args__ = (Index("ix_parent_child_child", "child"),)


class Guardianship(Base):
    """Vergemål eller fremtidsfullmakt: a guardian (verge) acting for a ward within a scope."""

    __tablename__ = "guardianships"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ward: Mapped[str] = mapped_column(ForeignKey("persons.national_identity_number"))
    guardian: Mapped[str] = mapped_column(ForeignKey("persons.national_identity_number"))
    guardianship_type: Mapped[str] = mapped_column(String(40))  # vergemaaltype
    scope: Mapped[str] = mapped_column(String(60))  # omfang
    # tjenesteomraade (since Nov 2023): [{"tjenesteoppgave": ..., "tjenestevirksomhet": ...}]
    service_areas: Mapped[list[dict[str, str]] | None] = mapped_column(JSONDocument)
    appointed_by: Mapped[str] = mapped_column(String(100))  # embete, the statsforvalter
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_guardianships_ward", "ward"), Index("ix_guardianships_guardian", "guardian"))


class Organization(Base):
    """En enhet (or underenhet) i Enhetsregisteret."""

    __tablename__ = "organizations"

    organization_number: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_form: Mapped[str] = mapped_column(String(8))  # AS, ENK, ASA, ANS, DA, NUF, BEDR, STAT ...
    parent_organization_number: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.organization_number")
    )
    street_address: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(4))
    postal_place: Mapped[str | None] = mapped_column(String(100))
    municipality_number: Mapped[str | None] = mapped_column(String(4))
    industry_code: Mapped[str | None] = mapped_column(String(6))  # naeringskode1
    employees: Mapped[int | None] = mapped_column(Integer)
    # Altinn's "varslingsadresser": where notifications to the organisation go.
    notification_email: Mapped[str | None] = mapped_column(String(200))
    notification_mobile: Mapped[str | None] = mapped_column(String(20))
    registered_on: Mapped[date] = mapped_column(Date)
    deleted_on: Mapped[date | None] = mapped_column(Date)
    bankrupt: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_organizations_parent", "parent_organization_number"),
        Index("ix_organizations_name", "name"),
    )


class Role(Base):
    """A role (DAGL, LEDE, REGN ...) tying a person or an organisation to an organisation."""

    __tablename__ = "roles"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organization_number: Mapped[str] = mapped_column(ForeignKey("organizations.organization_number"))
    role_code: Mapped[str] = mapped_column(String(5))
    person: Mapped[str | None] = mapped_column(ForeignKey("persons.national_identity_number"))
    holder_organization_number: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.organization_number")
    )
    # Order within the role group, as brreg's rekkefolge.
    position: Mapped[int] = mapped_column(Integer, default=0)
    registered_on: Mapped[date] = mapped_column(Date)
    resigned: Mapped[bool] = mapped_column(Boolean, default=False)  # fratraadt

    __table_args__ = (
        Index("ix_roles_organization_number", "organization_number"),
        Index("ix_roles_person", "person"),
        Index("ix_roles_holder_organization_number", "holder_organization_number"),
    )


class ContactInformation(Base):
    """Kontakt- og reservasjonsregisteret: one person's digital contact details and reservation."""

    __tablename__ = "contact_information"

    national_identity_number: Mapped[str] = mapped_column(String(11), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # AKTIV | SLETTET
    reserved: Mapped[bool] = mapped_column(Boolean)
    reserved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reservation_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email: Mapped[str | None] = mapped_column(String(200))
    email_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mobile: Mapped[str | None] = mapped_column(String(20))
    mobile_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mobile_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(2))  # nb, nn, en, se
    language_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailbox_address: Mapped[str | None] = mapped_column(String(100))  # digital_post.postkasseadresse
    mailbox_provider: Mapped[str | None] = mapped_column(String(9))  # postkasseleverandoeradresse


class RegisterChange(Base):
    """One entry of the change feed (hendelser): births, deaths, moves, guardianship and KRR changes."""

    __tablename__ = "register_changes"

    sequence: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    register: Mapped[str] = mapped_column(String(20))  # folkeregisteret | enhetsregisteret | krr
    change_type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(11))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_register_changes_register_sequence", "register", "sequence"),)
