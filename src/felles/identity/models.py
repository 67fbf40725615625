"""Tables of ID-porten, Ansattporten and Maskinporten: clients and their keys, scopes and who may use them,
pending authorization requests, SSO sessions, grants with their codes and tokens, used grant identifiers and
the self-service change log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, JSONDocument, UTCDateTime


class Client(Base):
    """An integration (klient) registered in self-service: an OIDC client or a Maskinporten client."""

    __tablename__ = "identity_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # idporten | ansattporten | api_klient | maskinporten; fixed when the client is created.
    integration_type: Mapped[str] = mapped_column(String(20))
    application_type: Mapped[str] = mapped_column(String(10))  # web | browser | native
    client_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    owner_orgno: Mapped[str] = mapped_column(String(9))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(30))
    # SHA-256 of the secret: secrets are long random strings, so a fast hash is enough to keep them unreadable.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    client_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grant_types: Mapped[list[str]] = mapped_column(JSONDocument)
    scopes: Mapped[list[str]] = mapped_column(JSONDocument)
    redirect_uris: Mapped[list[str]] = mapped_column(JSONDocument)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSONDocument)
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    frontchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    # "S256", or "none" for a client downgraded in self-service.
    code_challenge_method: Mapped[str] = mapped_column(String(10), default="S256")
    # An isolated SSO session (ID-porten's sso_disabled); always on for Ansattporten.
    sso_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    access_token_lifetime: Mapped[int] = mapped_column(Integer, default=120)
    refresh_token_lifetime: Mapped[int] = mapped_column(Integer, default=600)
    authorization_lifetime: Mapped[int] = mapped_column(Integer, default=7200)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_identity_clients_owner_orgno", "owner_orgno"),)


class ClientKey(Base):
    """A public key (JWK) a client signs its grants and client assertions with; valid at most one year."""

    __tablename__ = "identity_client_keys"

    client_id: Mapped[str] = mapped_column(ForeignKey("identity_clients.client_id"), primary_key=True)
    kid: Mapped[str] = mapped_column(String(200), primary_key=True)
    jwk: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScopePrefix(Base):
    """A scope prefix Digdir has given an API provider (e.g. `skatteetaten`); the provider owns its scopes."""

    __tablename__ = "identity_scope_prefixes"

    prefix: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner_orgno: Mapped[str] = mapped_column(String(9))
    created: Mapped[datetime] = mapped_column(UTCDateTime)


class Scope(Base):
    """An API scope `prefix:subscope`; the subscope is immutable once created."""

    __tablename__ = "identity_scopes"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    prefix: Mapped[str] = mapped_column(ForeignKey("identity_scope_prefixes.prefix"))
    subscope: Mapped[str] = mapped_column(String(200))
    owner_orgno: Mapped[str] = mapped_column(String(9))
    description: Mapped[str] = mapped_column(String(500))
    long_description: Mapped[str | None] = mapped_column(Text)
    # idporten | maskinporten | api_klient | ansattporten
    allowed_integration_types: Mapped[list[str]] = mapped_column(JSONDocument)
    accessible_for_all: Mapped[bool] = mapped_column(Boolean, default=False)
    # SELF_CONTAINED (JWT) or OPAQUE (by reference, introspected)
    token_type: Mapped[str] = mapped_column(String(20), default="SELF_CONTAINED")
    at_max_age: Mapped[int | None] = mapped_column(Integer)
    requires_pseudonymous_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when consumers may delegate the scope to a supplier (Altinn delegation in the real platform).
    delegation_source: Mapped[str | None] = mapped_column(String(200))
    visibility: Mapped[str] = mapped_column(String(10), default="PUBLIC")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime)


class ScopeAccess(Base):
    """A provider's grant of one scope to one consumer organisation."""

    __tablename__ = "identity_scope_access"

    scope: Mapped[str] = mapped_column(ForeignKey("identity_scopes.name"), primary_key=True)
    consumer_orgno: Mapped[str] = mapped_column(String(9), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))  # APPROVED | DENIED (revoked)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime)


class ScopeDelegation(Base):
    """A consumer's delegation of a scope to a supplier, who then asks with `consumer_org`."""

    __tablename__ = "identity_scope_delegations"

    scope: Mapped[str] = mapped_column(ForeignKey("identity_scopes.name"), primary_key=True)
    consumer_orgno: Mapped[str] = mapped_column(String(9), primary_key=True)
    supplier_orgno: Mapped[str] = mapped_column(String(9), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime)


class UsedAssertion(Base):
    """A grant or client-assertion JWT already used; kept until it expires so it can never be replayed."""

    __tablename__ = "identity_used_assertions"

    # "<client_id> <jti>" (or the SHA-256 of the JWT when it has no jti)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuthorizationRequest(Base):
    """An /authorize request (pushed or not) waiting for the person to log in; valid a short while, used once."""

    __tablename__ = "identity_authorization_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(20))  # idporten | ansattporten
    client_id: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    pushed: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrganizationChoice(Base):
    """Ansattporten's organisation chooser (organisasjonsvelger) waiting for a person who has just logged in:
    the authorization request it answers and the SSO session of the login; valid a short while, used once."""

    __tablename__ = "identity_organization_choices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    sid: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SsoSession(Base):
    """An SSO session in one browser: shared by every client, or isolated to one (`isolation` = its client_id)."""

    __tablename__ = "identity_sessions"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_id: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(20))
    isolation: Mapped[str] = mapped_column(String(100))  # "" for the shared session
    pid: Mapped[str] = mapped_column(String(11))
    acr: Mapped[str] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(JSONDocument)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every client that got a login from this session: front- and back-channel logout reach them all.
    clients: Mapped[list[str]] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_identity_sessions_browser_id", "browser_id", "issuer"),)


class Grant(Base):
    """One authorization: the code, and every token issued from it (revoked together)."""

    __tablename__ = "identity_grants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str] = mapped_column(String(100))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    sid: Mapped[str] = mapped_column(String(64), index=True)
    pid: Mapped[str] = mapped_column(String(11))
    scope: Mapped[str] = mapped_column(String(1000))
    acr: Mapped[str] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(JSONDocument)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    nonce: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(2))
    resource: Mapped[list[str] | None] = mapped_column(JSONDocument)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    pseudonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    client_amr: Mapped[str | None] = mapped_column(String(30))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """A refresh token (stored hashed); each is used once and replaced, and a reused one revokes its grant."""

    __tablename__ = "identity_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_grants.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IssuedAccessToken(Base):
    """An access token issued from a grant: a JWT (by its jti) or an opaque token (by its hash, with claims)."""

    __tablename__ = "identity_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_grants.id"), index=True)
    opaque_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChangeLogEntry(Base):
    """Who changed which client, key, scope or scope access in self-service, and how; kept 12 months."""

    __tablename__ = "identity_change_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_identity_change_log_entity", "entity_type", "entity_id"),)
