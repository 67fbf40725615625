"""Tables of Altinn Autorisasjon: the resource registry (resources, their XACML policy, access lists), the
access-package catalogue (areas, packages, roles and how roles give packages), parties (Altinn's party and
user ids), delegations (rights and packages given from one party to another, client delegations among
them), the agents firms pass client packages on to, access requests, and the digitalt dødsbo roles of
estates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY.
PartyNumber = BigInteger().with_variant(Integer(), "sqlite")
# New party ids start above Altinn's own (5 000 000 - 51 999 999) so imported ids never collide.
FIRST_PARTY_ID = 60_000_000


# --- Resource registry ----------------------------------------------------------------------------------------
class ServiceOwner(Base):
    """Tjenesteeier: an organisation that may own resources, under its code (Altinn's orgs list). A resource's
    competent authority and an access list's owner are taken from here, never from a request."""

    __tablename__ = "authz_service_owners"

    orgcode: Mapped[str] = mapped_column(String(20), primary_key=True)  # lower case, e.g. "skd"
    organization_number: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(JSONDocument)  # nb, nn, en


class Resource(Base):
    """A ServiceResource of the resource registry, with its one XACML policy."""

    __tablename__ = "authz_resources"

    identifier: Mapped[str] = mapped_column(String(100), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    owner_organization_number: Mapped[str | None] = mapped_column(String(9))
    owner_code: Mapped[str | None] = mapped_column(String(20))  # hasCompetentAuthority.orgcode, e.g. "skd"
    # The whole ServiceResource as the API shows it (title, description, references, contact points ...).
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    delegable: Mapped[bool] = mapped_column(Boolean, default=True)
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    access_list_mode: Mapped[str] = mapped_column(String(10), default="Disabled")
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    policy_xml: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_authz_resources_owner_code", "owner_code"),)


class AccessList(Base):
    """Tilgangsliste: organisations a service owner lets use some of its resources."""

    __tablename__ = "authz_access_lists"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner: Mapped[str] = mapped_column(String(20))  # the service owner's org code
    identifier: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("owner", "identifier", name="uq_authz_access_lists_owner_identifier"),)


class AccessListMember(Base):
    __tablename__ = "authz_access_list_members"

    access_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("authz_access_lists.id", ondelete="CASCADE"), primary_key=True)
    organization_number: Mapped[str] = mapped_column(String(9), primary_key=True)

    __table_args__ = (Index("ix_authz_access_list_members_organization_number", "organization_number"),)


class AccessListResource(Base):
    """A resource connected to an access list, optionally only for some actions (the action filter)."""

    __tablename__ = "authz_access_list_resources"

    access_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("authz_access_lists.id", ondelete="CASCADE"), primary_key=True)
    resource_identifier: Mapped[str] = mapped_column(
        ForeignKey("authz_resources.identifier", ondelete="CASCADE"), primary_key=True)
    actions: Mapped[list[str] | None] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_authz_access_list_resources_resource_identifier", "resource_identifier"),)


# --- Access-package catalogue ---------------------------------------------------------------------------------
class AccessPackageArea(Base):
    """Fullmaktsområde."""

    __tablename__ = "authz_package_areas"

    urn: Mapped[str] = mapped_column(String(120), primary_key=True)
    code: Mapped[str] = mapped_column(String(80))
    group: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    description: Mapped[dict[str, str]] = mapped_column(JSONDocument)


class AccessPackage(Base):
    """Tilgangspakke."""

    __tablename__ = "authz_access_packages"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)  # urn:altinn:accesspackage:<code>
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    area_urn: Mapped[str] = mapped_column(ForeignKey("authz_package_areas.urn"))
    name: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    description: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    entity_type: Mapped[str] = mapped_column(String(20))  # Organisasjon | Person
    provider: Mapped[str] = mapped_column(String(40))
    is_delegable: Mapped[bool] = mapped_column(Boolean)
    is_assignable: Mapped[bool] = mapped_column(Boolean)
    is_available_for_service_owners: Mapped[bool] = mapped_column(Boolean)


class AuthorizationRole(Base):
    """A role: Enhetsregisteret's (ccr), guardianship (cra), Altinn 2 and Altinn 3 roles."""

    __tablename__ = "authz_roles"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. daglig-leder
    legacy_code: Mapped[str | None] = mapped_column(String(20))  # e.g. dagl
    urn: Mapped[str] = mapped_column(String(150))
    name: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    provider: Mapped[str] = mapped_column(String(40))
    is_key_role: Mapped[bool] = mapped_column(Boolean)


class RolePackage(Base):
    """A role that gives a package (HasAccess) and/or lets its holder give it to others (CanDelegate)."""

    __tablename__ = "authz_role_packages"

    role_code: Mapped[str] = mapped_column(ForeignKey("authz_roles.code"), primary_key=True)
    package_code: Mapped[str] = mapped_column(ForeignKey("authz_access_packages.code"), primary_key=True)
    # Only for organisations of this form (e.g. NUF); "" for every form.
    organization_form: Mapped[str] = mapped_column(String(10), primary_key=True, default="")
    has_access: Mapped[bool] = mapped_column(Boolean)
    can_delegate: Mapped[bool] = mapped_column(Boolean)


class RoleMap(Base):
    """A holder of ``role_code`` implicitly holds the Altinn 2 role ``gets_role`` (IngestRoleMap)."""

    __tablename__ = "authz_role_map"

    role_code: Mapped[str] = mapped_column(ForeignKey("authz_roles.code"), primary_key=True)
    gets_role: Mapped[str] = mapped_column(String(20), primary_key=True)


# --- Parties --------------------------------------------------------------------------------------------------
class Party(Base):
    """Altinn's numeric party id, party UUID and (for persons) user id of a person, organisation or system user.

    Given out the first time a party is met, so PEPs and policies that speak ``urn:altinn:partyid`` and
    ``urn:altinn:userid`` keep working."""

    __tablename__ = "authz_parties"

    party_id: Mapped[int] = mapped_column(PartyNumber, Identity(start=FIRST_PARTY_ID), primary_key=True)
    party_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # person | organization | systemuser
    # fødselsnummer, organisasjonsnummer or the system user's UUID
    identifier: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # A system user belongs to the organisation it acts for.
    owner_identifier: Mapped[str | None] = mapped_column(String(9))
    # Names, forms, main units and deaths are read from the registers (parties.party_details), never copied here.


# --- Delegations ----------------------------------------------------------------------------------------------
class Delegation(Base):
    """Fullmakt: a package, or one right (resource + action), given by ``from_party`` to ``to_party``."""

    __tablename__ = "authz_delegations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    from_party: Mapped[str] = mapped_column(String(40))  # orgnr or fnr of the party giving access
    to_party: Mapped[str] = mapped_column(String(40))  # fnr, orgnr or system user UUID
    to_kind: Mapped[str] = mapped_column(String(12))
    package_code: Mapped[str | None] = mapped_column(ForeignKey("authz_access_packages.code"))
    resource_identifier: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(50))
    # "package:<code>" or "resource:<id>:<action>": one delegation of a thing from one party to another.
    right_key: Mapped[str] = mapped_column(String(200))
    delegated_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Klientdelegering: the accountant, auditor or business manager organisation that passed its client's
    # package on to one of its employees, and the Enhetsregisteret role (regnskapsforer, revisor,
    # forretningsforer) it holds for the client. The delegation counts only while it still holds that role.
    facilitator: Mapped[str | None] = mapped_column(String(9))
    facilitator_role: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("to_party", "from_party", "right_key", name="uq_authz_delegations_to_from_right"),
        Index("ix_authz_delegations_from_party", "from_party"),
        Index("ix_authz_delegations_facilitator", "facilitator"),
    )


class ClientAgent(Base):
    """Agent (medarbeider): a person an accountant, auditor or business manager organisation has registered to
    receive its clients' packages — Altinn's assignment of the role ``urn:altinn:role:agent`` from the firm to
    the person. The firm passes client packages on only to its agents; removing an agent removes them."""

    __tablename__ = "authz_client_agents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    firm: Mapped[str] = mapped_column(String(9))  # organisasjonsnummer
    person: Mapped[str] = mapped_column(String(11))  # fødselsnummer or D-nummer
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("firm", "person", name="uq_authz_client_agents_firm_person"),)


class AccessRequest(Base):
    """Forespørsel om tilgang: a person asks a party for an access package or one right (resource + action).

    Draft → Pending (the requester submits) → Approved (creating the delegation) or Rejected by the party's
    administrators; the requester may withdraw a Draft or Pending request."""

    __tablename__ = "authz_access_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    party: Mapped[str] = mapped_column(String(40))  # orgnr or fnr of the party asked to give access
    requester: Mapped[str] = mapped_column(String(11))  # fnr of the person asking (and receiving)
    package_code: Mapped[str | None] = mapped_column(ForeignKey("authz_access_packages.code"))
    resource_identifier: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10))
    message: Mapped[str | None] = mapped_column(String(500))
    handled_by: Mapped[str | None] = mapped_column(String(100))
    delegation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_authz_access_requests_party_status", "party", "status"),
        Index("ix_authz_access_requests_requester", "requester"),
    )


class Estate(Base):
    """A deceased's estate as Digitalt dødsbo last told of it: the time of the newest event applied, so that
    an older event arriving late (events may come out of order) changes nothing, even once no role is left."""

    __tablename__ = "authz_estates"

    estate: Mapped[str] = mapped_column(String(11), primary_key=True)  # the deceased's fødselsnummer
    case_id: Mapped[str] = mapped_column(String(200))
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EstateRole(Base):
    """A digitalt dødsbo (OED) role: what the probate court has given a person (``recipient``) in the estate of
    a deceased person (``estate``), such as ``urn:domstolene:digitaltdodsbo:formuesfullmakt``. The decision
    point gives it as ``urn:digitaltdodsbo:rolecode`` when the recipient acts for the estate."""

    __tablename__ = "authz_estate_roles"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    estate: Mapped[str] = mapped_column(String(11))  # the deceased's fødselsnummer or D-nummer
    recipient: Mapped[str] = mapped_column(String(11))
    role_code: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the time of the court's event that gave it

    __table_args__ = (UniqueConstraint("estate", "recipient", "role_code", name="uq_authz_estate_roles"),
                      Index("ix_authz_estate_roles_recipient", "recipient"))
