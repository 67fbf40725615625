"""Self-service (selvbetjening) API models, with the field names of Digdir's self-service API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

IntegrationType = Literal["idporten", "api_klient", "ansattporten", "maskinporten"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
GrantType = Literal["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"]


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration_type: IntegrationType
    client_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=500)
    application_type: Literal["web", "browser", "native"] = "web"
    token_endpoint_auth_method: AuthMethod = "private_key_jwt"  # noqa: S105 - a method name
    grant_types: list[GrantType] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = False
    backchannel_logout_uri: str | None = None
    code_challenge_method: Literal["S256", "none"] = "S256"
    sso_disabled: bool = False
    access_token_lifetime: int = Field(default=120, ge=1, le=86400)
    refresh_token_lifetime: int = Field(default=600, ge=1, le=31536000)
    authorization_lifetime: int = Field(default=7200, ge=1, le=31536000)
    # Only an administrator (Digdir) may register a client for another organisation.
    client_orgno: str | None = Field(default=None, pattern=r"^\d{9}$")
    # Fixed client id (development seeds and the CLI); self-service normally assigns a UUID.
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:\-]{3,100}$")


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    scopes: list[str] | None = None
    redirect_uris: list[str] | None = None
    post_logout_redirect_uris: list[str] | None = None
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool | None = None
    backchannel_logout_uri: str | None = None
    sso_disabled: bool | None = None
    access_token_lifetime: int | None = Field(default=None, ge=1, le=86400)


class ClientPublic(BaseModel):
    client_id: str
    integration_type: str
    application_type: str
    client_name: str
    description: str
    client_orgno: str
    token_endpoint_auth_method: str
    grant_types: list[str]
    scopes: list[str]
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    frontchannel_logout_uri: str | None
    frontchannel_logout_session_required: bool
    backchannel_logout_uri: str | None
    code_challenge_method: str
    sso_disabled: bool
    access_token_lifetime: int
    refresh_token_lifetime: int
    authorization_lifetime: int
    active: bool
    created: datetime
    last_updated: datetime
    # Only in the answer that creates the client or rotates its secret.
    client_secret: str | None = None


class JwkSet(BaseModel):
    keys: list[dict[str, Any]] = Field(max_length=5)


class ClientKeyPublic(BaseModel):
    kid: str
    jwk: dict[str, Any]
    created: datetime
    expires_at: datetime


class ScopeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefix: str = Field(pattern=r"^[a-z0-9]+$", max_length=100)
    subscope: str = Field(pattern=r"^[A-Za-z0-9._/:\-]+$", max_length=200)  # "dd:internal" has a colon
    description: str = Field(min_length=1, max_length=500)
    long_description: str | None = None
    allowed_integration_types: list[IntegrationType] = Field(default_factory=lambda: ["maskinporten"])
    accessible_for_all: bool = False
    token_type: Literal["SELF_CONTAINED", "OPAQUE"] = "SELF_CONTAINED"  # noqa: S105 - a format
    at_max_age: int | None = Field(default=None, ge=1, le=86400)
    requires_pseudonymous_tokens: bool = False
    delegation_source: str | None = None
    visibility: Literal["PUBLIC", "PRIVATE", "INTERNAL"] = "PUBLIC"


class ScopePublic(BaseModel):
    name: str
    prefix: str
    subscope: str
    description: str
    long_description: str | None
    owner_orgno: str
    allowed_integration_types: list[str]
    accessible_for_all: bool
    token_type: str
    at_max_age: int | None
    requires_pseudonymous_tokens: bool
    delegation_source: str | None
    visibility: str
    active: bool
    created: datetime
    last_updated: datetime


class ScopeAccessPublic(BaseModel):
    scope: str
    state: str
    consumer_orgno: str
    owner_orgno: str
    created: datetime
    last_updated: datetime


class DelegationPublic(BaseModel):
    scope: str
    consumer_orgno: str
    supplier_orgno: str
    active: bool
    created: datetime


class ChangePublic(BaseModel):
    occurred_at: datetime
    actor: str
    on_behalf_of: str | None
    action: str
    entity_type: str
    entity_id: str
    detail: dict[str, Any] | None
