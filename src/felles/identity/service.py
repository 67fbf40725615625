"""Use cases of ID-porten, Ansattporten and Maskinporten: authorization requests (plain and pushed), logins and
SSO sessions, codes and tokens, userinfo, introspection, revocation, logout and Maskinporten's JWT grant.

Errors a client sees at the OAuth endpoints are `OAuthError`s (RFC 6749 `error` + `error_description`);
errors a browser must never be redirected with (unknown client, unregistered redirect_uri) are
`AuthorizationPageError`s. Every write happens in one transaction per call.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import structlog
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.consent import service as consent_service
from felles.core import outbound
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database, insert_for
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.revocations import revoke_tokens
from felles.core.tokens import (
    PORTAL_END_USER_SCOPE,
    Issuer,
    PlatformKeys,
    issuer_url,
    register_opaque_token_resolver,
    token_issuer,
    verify_access_token,
)
from felles.core.usage import count_usage
from felles.identity import ansattporten
from felles.identity.cache import IdentityCache, cache_for
from felles.identity.certificates import CertificateRejected, public_key_pem, trust_anchors
from felles.identity.issuers import (
    ASSERTION_ALGORITHMS,
    CLIENT_ASSERTION_TYPE,
    JWT_BEARER,
    UI_LOCALES,
    OidcIssuer,
    maskinporten_issuer,
    organization,
    platform_audience,
)
from felles.identity.jose import CompactJws, JwsError, public_key_of, signer_for
from felles.identity.models import (
    AuthorizationRequest,
    Client,
    ClientKey,
    Grant,
    IssuedAccessToken,
    OrganizationChoice,
    RefreshToken,
    Scope,
    ScopeAccess,
    ScopeDelegation,
    SsoSession,
    UsedAssertion,
)
from felles.identity.replay import replay_guard_for
from felles.identity.statistics import LOGINS_PER_EID, TOKENS_PER_CLIENT

PAR_LIFETIME = timedelta(seconds=120)
LOGIN_LIFETIME = timedelta(minutes=30)
ORGANIZATION_CHOICE_LIFETIME = timedelta(minutes=10)
CODE_LIFETIME = timedelta(seconds=60)
ID_TOKEN_LIFETIME = timedelta(seconds=120)
SSO_INACTIVITY = timedelta(minutes=30)
SSO_MAX = timedelta(minutes=120)
GRANT_CLOCK_SKEW = 10  # seconds, both ways, as Maskinporten allows
GRANT_MAX_LIFETIME = 120
LOGOUT_TOKEN_LIFETIME = 300
BACKCHANNEL_LOGOUT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
OIDC_SCOPES = frozenset({"openid", "profile"})
INTROSPECTION_SCOPE = "idporten:token.introspection"
PAR_URN_PREFIX = "urn:felles:par:"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_ORGNO = re.compile(r"\d{9}")

log = structlog.get_logger("felles.identity")


class OAuthError(Exception):
    """An RFC 6749 error answered as `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class AuthorizationPageError(Exception):
    """An /authorize request that cannot be sent back to the client (its redirect_uri is not trusted)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def pairwise_subject(settings: Settings, client_id: str, pid: str) -> str:
    """The same person gives the same `sub` to one client and unlinkable values across clients."""
    return _b64(hmac.new(settings.secret_key.encode(), f"{client_id}\x00{pid}".encode(), hashlib.sha256).digest())


# --- clients and their authentication -----------------------------------------------------------------------
def _detached(row: Any) -> Any:
    """A copy of a row that belongs to no session: safe to share between requests (read it, never change it)."""
    mapper = sa_inspect(type(row))
    return type(row)(**{column.key: copy.copy(getattr(row, column.key)) for column in mapper.column_attrs})


async def _client(session: AsyncSession, client_id: str) -> Client | None:
    """The client, active or not, from the process cache (see `cache`) or the database."""

    async def read() -> Client | None:
        row = await session.get(Client, client_id)
        return _detached(row) if row is not None else None

    return await cache_for(session).load(("client", client_id), read)  # type: ignore[no-any-return]


async def _active_client(session: AsyncSession, client_id: str) -> Client | None:
    client = await _client(session, client_id)
    return client if client is not None and client.active else None


@dataclass(frozen=True)
class _ClientKey:
    public_key: Any  # cryptography's RSAPublicKey, parsed once
    expires_at: datetime


async def _client_key_set(session: AsyncSession, client_id: str, now: datetime) -> dict[str, Any]:
    """The client's unexpired keys by kid, as parsed public keys (expiry is checked on every call)."""

    async def read() -> dict[str, _ClientKey]:
        rows = await session.scalars(select(ClientKey).where(ClientKey.client_id == client_id))
        parsed = {}
        for row in rows:
            try:
                parsed[row.kid] = _ClientKey(public_key_of(RSAKey.import_key(row.jwk)), row.expires_at)
            except (JoseError, JwsError, ValueError, TypeError):  # pragma: no cover - self-service checked it
                continue
        return parsed

    keys: dict[str, _ClientKey] = await cache_for(session).load(("keys", client_id), read)
    return {kid: key.public_key for kid, key in keys.items() if key.expires_at > now}


def _unverified_parts(token: str) -> CompactJws:
    try:
        compact = CompactJws(token)
    except JwsError as exc:
        raise OAuthError("invalid_grant", f"The JWT cannot be read: {exc}") from exc
    if not isinstance(compact.payload, dict):
        raise OAuthError("invalid_grant", "The JWT's payload is not a JSON object.")
    return compact


@dataclass
class VerifiedJwt:
    claims: dict[str, Any]
    # How the client proved itself: private_key_jwt (a registered key) or virksomhetssertifikat (x5c).
    client_amr: str


async def _verify_client_jwt(
    session: AsyncSession, client: Client, compact: CompactJws, now: datetime, error: str
) -> VerifiedJwt:
    """The signature of a grant or client assertion, by the client's registered key or a trusted certificate."""
    header = compact.header
    algorithm = header.get("alg")
    if algorithm not in ASSERTION_ALGORITHMS:
        accepted = ", ".join(ASSERTION_ALGORITHMS)
        raise OAuthError(error, f"alg {algorithm!r} is not accepted; sign with one of {accepted}.")
    has_kid, has_x5c = "kid" in header, "x5c" in header
    if has_kid == has_x5c:
        raise OAuthError(error, "The JWT header must carry exactly one of kid and x5c.")
    keys = await _client_key_set(session, client.client_id, now)
    if has_kid:
        key = keys.get(str(header["kid"]))
        if key is None:
            raise OAuthError(error, f"kid {header['kid']!r} is not a registered, unexpired key of this client.")
        amr = "private_key_jwt"
    else:
        if keys:
            raise OAuthError(error, "This client has registered keys, so it must sign with kid, not x5c.")
        try:
            certificate, orgno = trust_anchors.verify(header["x5c"], now)
        except CertificateRejected as exc:
            raise OAuthError(error, f"The x5c certificate is refused: {exc}.") from exc
        if orgno != client.owner_orgno:
            raise OAuthError(error, "The certificate belongs to another organisation than the client.")
        try:
            key = public_key_of(RSAKey.import_key(public_key_pem(certificate)))
        except (JoseError, JwsError, ValueError) as exc:
            raise OAuthError(error, f"The x5c certificate is refused: {exc}.") from exc
        amr = "virksomhetssertifikat"
    try:
        claims = compact.verify(key, ASSERTION_ALGORITHMS)
    except JwsError as exc:
        raise OAuthError(error, f"The JWT signature is not valid: {exc}") from exc
    return VerifiedJwt(dict(claims), amr)


async def _remember_assertion(session: AsyncSession, client_id: str, claims: dict[str, Any], token: str,
                              expires_at: datetime, error: str) -> None:
    """Refuse a JWT seen before (by jti, or by its whole text when it has none); keep it until it expires."""
    result = await session.execute(
        insert_for(session, UsedAssertion).values(key=_assertion_key(client_id, claims, token), expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if result.rowcount == 0:
        raise OAuthError(error, "This JWT has been used before (jti replay).")


def _assertion_key(client_id: str, claims: dict[str, Any], token: str) -> str:
    jti = claims.get("jti")
    key = f"{client_id} {jti}" if isinstance(jti, str) and jti else f"{client_id} #{_hash(token)}"
    return key[:300]


async def _remember_assertion_once(database: Database, client_id: str, claims: dict[str, Any], token: str,
                                   expires_at: datetime, error: str) -> None:
    """`_remember_assertion` for a request that writes nothing else: committed before the request is answered,
    batched with the other requests of the moment (see `replay`)."""
    if not await replay_guard_for(database).first_use(_assertion_key(client_id, claims, token), expires_at):
        raise OAuthError(error, "This JWT has been used before (jti replay).")


def _check_audience(value: Any, accepted: set[str], error: str) -> None:
    audiences = value if isinstance(value, list) else [value]
    if not any(isinstance(aud, str) and aud in accepted for aud in audiences):
        raise OAuthError(error, f"aud must be one of {', '.join(sorted(accepted))}.")


def _check_times(claims: dict[str, Any], now: datetime, error: str, *, require_iat: bool) -> datetime:
    moment = _epoch(now)
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(exp, int):
        raise OAuthError(error, "exp is required (seconds since the epoch).")
    if require_iat and not isinstance(iat, int):
        raise OAuthError(error, "iat is required (seconds since the epoch).")
    if isinstance(iat, int):
        if iat > moment + GRANT_CLOCK_SKEW:
            raise OAuthError(error, f"iat lies in the future (more than {GRANT_CLOCK_SKEW} s ahead of our clock).")
        if require_iat and iat < moment - GRANT_CLOCK_SKEW:
            raise OAuthError(error, f"iat is more than {GRANT_CLOCK_SKEW} s old; make a fresh JWT for each request.")
        if exp - iat > GRANT_MAX_LIFETIME:
            raise OAuthError(error, f"exp - iat must be at most {GRANT_MAX_LIFETIME} s.")
    if exp <= moment - GRANT_CLOCK_SKEW:
        raise OAuthError(error, "The JWT has expired.")
    return datetime.fromtimestamp(exp + GRANT_CLOCK_SKEW, tz=now.tzinfo)


@dataclass(frozen=True)
class ClientCredentials:
    """What a request to /token, /par, /introspect or /revoke carried to authenticate its client."""

    form: dict[str, str]
    basic: tuple[str, str] | None = None


async def _authenticate_client(
    session: AsyncSession, credentials: ClientCredentials, audiences: set[str], now: datetime,
    *, issuer: OidcIssuer | None = None,
) -> tuple[Client, str]:
    """The client and the method it authenticated with; it must be the method registered on the client."""
    form = credentials.form
    if credentials.basic is not None:
        method, client_id = "client_secret_basic", credentials.basic[0]
        if form.get("client_id") not in (None, client_id):
            raise OAuthError("invalid_request", "client_id in the body differs from the one in Authorization.")
    elif form.get("client_assertion_type") or form.get("client_assertion"):
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError("invalid_client", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.",
                             status=401)
        method = "private_key_jwt"
        assertion = _unverified_parts(form.get("client_assertion", ""))
        client_id = str(form.get("client_id") or assertion.payload.get("iss") or "")
    elif form.get("client_secret") is not None:
        method, client_id = "client_secret_post", form.get("client_id", "")
    else:
        method, client_id = "none", form.get("client_id", "")
    if not client_id:
        raise OAuthError("invalid_client", "The request does not name its client.", status=401)
    client = await _active_client(session, client_id)
    if client is None or (issuer is not None and client.integration_type not in issuer.integration_types):
        raise OAuthError("invalid_client", f"Unknown client {client_id!r}.", status=401)
    if client.token_endpoint_auth_method != method:
        raise OAuthError("invalid_client",
                         f"The client is registered with {client.token_endpoint_auth_method}, not {method}.",
                         status=401)
    if method in ("client_secret_basic", "client_secret_post"):
        secret = credentials.basic[1] if credentials.basic is not None else form.get("client_secret", "")
        expired = client.client_secret_expires_at is not None and client.client_secret_expires_at <= now
        if client.client_secret_hash is None or expired or not hmac.compare_digest(
            _hash(secret), client.client_secret_hash
        ):
            raise OAuthError("invalid_client", "The client secret is wrong or has expired.", status=401)
    elif method == "private_key_jwt":
        verified = await _verify_client_jwt(session, client, assertion, now, "invalid_client")
        claims = verified.claims
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise OAuthError("invalid_client", "The client assertion's iss and sub must both be the client_id.",
                             status=401)
        _check_audience(claims.get("aud"), audiences, "invalid_client")
        expires = _check_times(claims, now, "invalid_client", require_iat=False)
        await _remember_assertion(session, client_id, claims, form["client_assertion"], expires, "invalid_client")
    return client, method


# --- Maskinporten -------------------------------------------------------------------------------------------
async def issue_machine_token(
    database: Database, keys: PlatformKeys, base_url: str, form: dict[str, str]
) -> dict[str, Any]:
    """Maskinporten's JWT-bearer grant: check the grant, the client's scopes and delegations; sign a token."""
    if form.get("grant_type") != JWT_BEARER:
        raise OAuthError("unsupported_grant_type", f"Maskinporten only answers grant_type={JWT_BEARER}.")
    assertion = form.get("assertion", "")
    if not assertion:
        raise OAuthError("invalid_request", "The grant JWT (assertion) is missing.")
    compact = _unverified_parts(assertion)
    client_id = compact.payload.get("iss")
    if not isinstance(client_id, str) or not client_id:
        raise OAuthError("invalid_grant", "iss (the client_id) is missing from the grant.")
    issuer = maskinporten_issuer(base_url)
    now = utcnow()
    # Every read below is served by the process cache while it is warm (see `cache`); the one write, the jti,
    # is committed (batched with concurrent requests, see `replay`) before the token is answered, so a grant is
    # accepted at most once across every process. Nothing else is stored: a Maskinporten access token is
    # self-contained and not revocable.
    async with database.sessionmaker() as session:
        client = await _active_client(session, client_id)
        if client is None or client.integration_type != "maskinporten":
            raise OAuthError("invalid_client", f"Unknown Maskinporten client {client_id!r}.", status=401)
        if JWT_BEARER not in client.grant_types:
            raise OAuthError("unauthorized_client", "The client is not registered for the jwt-bearer grant.")
        verified = await _verify_client_jwt(session, client, compact, now, "invalid_grant")
        claims = verified.claims
        _check_audience(claims.get("aud"), {issuer}, "invalid_grant")
        if claims.get("iss") != client_id:
            raise OAuthError("invalid_grant", "iss must be the client_id.")
        expires = _check_times(claims, now, "invalid_grant", require_iat=True)
        requested = str(claims.get("scope") or "").split()
        if not requested:
            raise OAuthError("invalid_scope", "The grant asks for no scope.")
        consumer_org = claims.get("consumer_org")
        if consumer_org is not None and (not isinstance(consumer_org, str) or not _ORGNO.fullmatch(consumer_org)):
            raise OAuthError("invalid_request", "consumer_org must be a 9-digit organisation number.")
        consumer = consumer_org or client.owner_orgno
        scopes = await _machine_scopes(session, client, requested, consumer,
                                       supplier=client.owner_orgno if consumer_org else None)
        # A consent is read fresh, not from the cache: a revoked consent must stop at once.
        consents = await _consent_details(session, claims.get("authorization_details"), consumer)
    await _remember_assertion_once(database, client_id, claims, assertion, expires, "invalid_grant")
    lifetime = min([client.access_token_lifetime, *(s.at_max_age for s in scopes if s.at_max_age)])
    moment = _epoch(now)
    token: dict[str, Any] = {
        "iss": issuer, "client_amr": verified.client_amr, "token_type": "Bearer", "client_id": client_id,
        # RFC 9068 §2.2: a token of the client itself (no end user) has the client as its subject.
        "sub": client_id, "aud": platform_audience(base_url),
        "scope": " ".join(requested), "consumer": organization(consumer),
        "iat": moment, "exp": moment + lifetime, "jti": _b64(secrets.token_bytes(24)),
    }
    if consumer_org:
        token["supplier"] = organization(client.owner_orgno)
        token["delegation_source"] = next(s.delegation_source for s in scopes if s.delegation_source)
    resource = claims.get("resource")
    if resource is not None:
        token["aud"] = _resource_audience(resource, "invalid_target")
    if consents is not None:
        token["authorization_details"] = consents
    count_usage("identity", TOKENS_PER_CLIENT, client_id)
    return {"access_token": signer_for(keys).sign(token), "token_type": "Bearer", "expires_in": lifetime,
            "scope": token["scope"]}


async def _consent_details(session: AsyncSession, value: Any, consumer: str) -> list[dict[str, Any]] | None:
    """A consent token (RAR type urn:altinn:consent): Altinn's consent says whether each consent named is
    accepted, valid and given to the consumer, and what the token tells about it."""
    if value is None:
        return None
    try:
        return await consent_service.token_authorization_details(session, value, consumer)
    except consent_service.ConsentTokenError as exc:
        raise OAuthError(exc.error, exc.description) from exc


def _resource_audience(resource: Any, error: str) -> str | list[str]:
    values = resource if isinstance(resource, list) else [resource]
    if not values or not all(isinstance(v, str) and urlsplit(v).scheme for v in values):
        raise OAuthError(error, "resource must be one or more absolute URIs.")
    return values[0] if len(values) == 1 else values


async def _machine_scopes(
    session: AsyncSession, client: Client, requested: list[str], consumer: str, *, supplier: str | None
) -> list[Scope]:
    """Every scope asked for, or `invalid_scope` saying which one is not allowed and why."""

    async def read() -> tuple[dict[str, Scope], frozenset[str], frozenset[str]]:
        found = {s.name: _detached(s) for s in await session.scalars(select(Scope).where(Scope.name.in_(requested)))}
        access = frozenset(await session.scalars(
            select(ScopeAccess.scope).where(ScopeAccess.scope.in_(requested), ScopeAccess.consumer_orgno == consumer,
                                            ScopeAccess.state == "APPROVED")
        ))
        delegated: frozenset[str] = frozenset()
        if supplier is not None:
            delegated = frozenset(await session.scalars(
                select(ScopeDelegation.scope).where(
                    ScopeDelegation.scope.in_(requested), ScopeDelegation.consumer_orgno == consumer,
                    ScopeDelegation.supplier_orgno == supplier, ScopeDelegation.active.is_(True))
            ))
        return found, access, delegated

    found, access, delegated = await cache_for(session).load(
        ("machine_scopes", tuple(requested), consumer, supplier), read)
    scopes = []
    for name in requested:
        scope = found.get(name)
        if scope is None or not scope.active:
            raise OAuthError("invalid_scope", f"Scope {name} does not exist.")
        if "maskinporten" not in scope.allowed_integration_types:
            raise OAuthError("invalid_scope", f"Scope {name} is not available to Maskinporten clients.")
        if name not in client.scopes:
            raise OAuthError("invalid_scope", f"The client is not registered with scope {name}.")
        if not (scope.accessible_for_all or scope.owner_orgno == consumer or name in access):
            raise OAuthError("invalid_scope",
                             f"Organisation {consumer} has not been granted access to scope {name} by its owner.")
        if supplier is not None:
            if scope.delegation_source is None:
                raise OAuthError("invalid_scope", f"Scope {name} cannot be delegated to a supplier.")
            if name not in delegated:
                raise OAuthError("invalid_scope",
                                 f"Organisation {consumer} has not delegated scope {name} to {supplier}.")
        scopes.append(scope)
    return scopes


# --- authorization requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuthorizationOutcome:
    """Where the browser goes next: back to the client (with a code or an error), or to the login page."""

    redirect_to: str | None = None
    login_id: str | None = None
    # Ansattporten: the person chooses the organisations to represent before the code goes back.
    organization_choice_id: str | None = None
    form_post: dict[str, str] | None = None
    browser_id: str | None = None


def _client_redirect(
    issuer_url: str, redirect_uri: str, response_mode: str, values: dict[str, str]
) -> AuthorizationOutcome:
    values = {**values, "iss": issuer_url}
    if response_mode == "form_post":
        return AuthorizationOutcome(redirect_to=redirect_uri, form_post=values)
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return AuthorizationOutcome(redirect_to=redirect_uri + separator + urlencode(values))


def _single(parameters: dict[str, Any], name: str) -> str | None:
    value = parameters.get(name)
    return value if isinstance(value, str) and value != "" else None


def _requested_level(issuer: OidcIssuer, acr_values: str | None) -> int:
    if not acr_values:
        return issuer.acr_levels[issuer.default_acr]
    levels = [issuer.acr_levels[value] for value in acr_values.split() if value in issuer.acr_levels]
    if not levels:
        raise OAuthError("invalid_request",
                         f"acr_values must be one of {', '.join(issuer.acr_levels)}.")
    return min(levels)


async def _validated_request(
    database: Database, session: AsyncSession, issuer: OidcIssuer, client: Client, parameters: dict[str, Any]
) -> dict[str, Any]:
    """The request's parameters, checked and normalised; `OAuthError` for what may be sent back to the client."""
    if _single(parameters, "response_type") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    response_mode = _single(parameters, "response_mode") or "query"
    if response_mode not in ("query", "form_post"):
        raise OAuthError("invalid_request", "response_mode must be query or form_post.")
    scope = (_single(parameters, "scope") or "").split()
    if not scope:
        raise OAuthError("invalid_scope", "scope is required.")
    for name in scope:
        if name not in OIDC_SCOPES and name not in client.scopes:
            raise OAuthError("invalid_scope", f"The client is not registered with scope {name}.")
    extra = [name for name in scope if name not in OIDC_SCOPES]
    scope_rows = list(await session.scalars(select(Scope).where(Scope.name.in_(extra)))) if extra else []
    for row in scope_rows:
        if not row.active or (issuer.integration_types[0] not in row.allowed_integration_types and \
                "api_klient" not in row.allowed_integration_types):
            raise OAuthError("invalid_scope", f"Scope {row.name} cannot be used in a login.")
    if len(scope_rows) != len(extra):
        raise OAuthError("invalid_scope", "The request asks for a scope that does not exist.")
    state = _single(parameters, "state")
    if state is None:
        raise OAuthError("invalid_request", "state is required (unique per request).")
    nonce = _single(parameters, "nonce")
    if "openid" in scope and nonce is None:
        raise OAuthError("invalid_request", "nonce is required (unique per request).")
    challenge = _single(parameters, "code_challenge")
    method = _single(parameters, "code_challenge_method")
    if client.code_challenge_method != "none" or challenge is not None:
        if challenge is None:
            raise OAuthError("invalid_request", "PKCE is required: send code_challenge with method S256.")
        if method != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        if not re.fullmatch(r"[A-Za-z0-9\-_]{43}", challenge):
            raise OAuthError("invalid_request", "code_challenge must be a base64url SHA-256 value without padding.")
    prompt = _single(parameters, "prompt")
    if prompt not in (None, "login", "none"):
        raise OAuthError("invalid_request", "prompt may only be login (or none).")
    level = _requested_level(issuer, _single(parameters, "acr_values"))
    locales = [value for value in (_single(parameters, "ui_locales") or "").split() if value in UI_LOCALES]
    resource = parameters.get("resource")
    if resource is not None:
        resource = _resource_audience(resource, "invalid_target")
        resource = resource if isinstance(resource, list) else [resource]
    details = await _authorization_details(database, issuer, parameters.get("authorization_details"))
    return {
        "client_id": client.client_id, "redirect_uri": parameters["redirect_uri"], "scope": " ".join(scope),
        "state": state, "nonce": nonce, "code_challenge": challenge, "response_mode": response_mode,
        "prompt": prompt, "level": level, "locale": locales[0] if locales else "nb", "resource": resource,
        "authorization_details": details,
        "pseudonymous": any(row.requires_pseudonymous_tokens for row in scope_rows),
        "opaque": any(row.token_type == "OPAQUE" for row in scope_rows),  # noqa: S105 - a token format
    }


async def _authorization_details(database: Database, issuer: OidcIssuer, value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise OAuthError("invalid_authorization_details", "authorization_details is not JSON.") from exc
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise OAuthError("invalid_authorization_details", "authorization_details must be a JSON array of objects.")
    types = {item.get("type") for item in value}
    if not types <= set(issuer.authorization_details_types):
        raise OAuthError("invalid_authorization_details",
                         f"Supported authorization_details types: {', '.join(issuer.authorization_details_types)}.")
    if len(types) > 1:
        raise OAuthError("invalid_authorization_details", "Different authorization_details types cannot be mixed.")
    try:
        await ansattporten.check_authorization_details(database, value)
    except ansattporten.InvalidAuthorizationDetails as exc:
        raise OAuthError("invalid_authorization_details", exc.description) from exc
    return value


async def push_authorization_request(
    database: Database, issuer: OidcIssuer, issuer_url: str, credentials: ClientCredentials,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """PAR (RFC 9126): the client posts the request first and gets a `request_uri` valid 120 s."""
    now = utcnow()
    if "request_uri" in parameters:
        raise OAuthError("invalid_request", "request_uri cannot be pushed.")
    async with database.transaction() as session:
        client, _ = await _authenticate_client(session, credentials, {issuer_url, f"{issuer_url}/par",
                                                                      f"{issuer_url}/token"}, now, issuer=issuer)
        redirect_uri = _single(parameters, "redirect_uri")
        if redirect_uri is None or redirect_uri not in client.redirect_uris:
            raise OAuthError("invalid_request", "redirect_uri is missing or not registered on the client.")
        validated = await _validated_request(database, session, issuer, client, parameters)
        request_id = secrets.token_urlsafe(32)
        session.add(AuthorizationRequest(id=request_id, issuer=issuer.name, client_id=client.client_id,
                                         parameters=validated, pushed=True, expires_at=now + PAR_LIFETIME))
    return {"request_uri": PAR_URN_PREFIX + request_id, "expires_in": int(PAR_LIFETIME.total_seconds())}


async def begin_authorization(
    database: Database, settings: Settings, issuer: OidcIssuer, parameters: dict[str, Any], browser_id: str | None
) -> AuthorizationOutcome:
    """/authorize: check the request; log in by SSO when a session serves it, else send the person to login."""
    issuer_url = issuer.issuer(settings.base_url)
    now = utcnow()
    client_id = _single(parameters, "client_id")
    async with database.transaction() as session:
        client = await _active_client(session, client_id) if client_id else None
        if client is None or client.integration_type not in issuer.integration_types:
            raise AuthorizationPageError(f"Unknown client {client_id!r}.")
        request_uri = _single(parameters, "request_uri")
        if request_uri is not None:
            pushed = await session.get(AuthorizationRequest, request_uri.removeprefix(PAR_URN_PREFIX),
                                       with_for_update=True)
            if (pushed is None or not pushed.pushed or pushed.client_id != client.client_id
                    or not request_uri.startswith(PAR_URN_PREFIX)):
                raise AuthorizationPageError("The request_uri is unknown or belongs to another client.")
            validated = pushed.parameters
            if validated["redirect_uri"] not in client.redirect_uris:
                raise AuthorizationPageError("The redirect_uri is no longer registered on the client.")
            if pushed.consumed_at is not None or pushed.expires_at <= now:
                return _client_redirect(issuer_url, validated["redirect_uri"], validated["response_mode"], {
                    "error": "invalid_request_uri", "error_description": "The request_uri has expired or been used.",
                    "state": validated["state"]})
            pushed.consumed_at = now
        else:
            redirect_uri = _single(parameters, "redirect_uri")
            if redirect_uri is None or redirect_uri not in client.redirect_uris:
                raise AuthorizationPageError("The redirect_uri is missing or not registered on the client.")
            try:
                validated = await _validated_request(database, session, issuer, client, parameters)
            except OAuthError as exc:
                return _client_redirect(issuer_url, redirect_uri, _single(parameters, "response_mode") or "query", {
                    "error": exc.error, "error_description": exc.description,
                    **({"state": state} if (state := _single(parameters, "state")) else {})})
        isolation = client.client_id if (client.sso_disabled or issuer.always_isolated) else ""
        sso = None if validated["prompt"] == "login" or browser_id is None else await _live_session(
            session, browser_id, issuer.name, isolation, now)
        if sso is not None and issuer.acr_levels[sso.acr] >= validated["level"]:
            sso.last_active_at = now
            return await _after_login(session, settings, issuer, client, validated, sso, now)
        if validated["prompt"] == "none":
            return _client_redirect(issuer_url, validated["redirect_uri"], validated["response_mode"], {
                "error": "login_required", "error_description": "There is no SSO session to use.",
                "state": validated["state"]})
        login_id = secrets.token_urlsafe(32)
        session.add(AuthorizationRequest(id=login_id, issuer=issuer.name, client_id=client.client_id,
                                         parameters=validated, pushed=False, expires_at=now + LOGIN_LIFETIME))
    _remember_login_view(database, PendingLogin(
        id=login_id, issuer=issuer.name, client_id=client.client_id, client_name=client.client_name,
        level=validated["level"], locale=validated["locale"], expired=False), now + LOGIN_LIFETIME)
    return AuthorizationOutcome(login_id=login_id)


async def _live_session(
    session: AsyncSession, browser_id: str, issuer: str, isolation: str, now: datetime
) -> SsoSession | None:
    sso = await session.scalar(
        select(SsoSession).where(SsoSession.browser_id == browser_id, SsoSession.issuer == issuer,
                                 SsoSession.isolation == isolation, SsoSession.ended_at.is_(None))
        .order_by(SsoSession.auth_time.desc()).limit(1)
    )
    if sso is None or sso.expires_at <= now or sso.last_active_at + SSO_INACTIVITY <= now:
        return None
    return sso


@dataclass(frozen=True)
class PendingLogin:
    """What the login pages need to know about the request a person is logging in for."""

    id: str
    issuer: str
    client_id: str
    client_name: str
    level: int
    locale: str
    expired: bool


# The login pages' view of the logins this process started or showed in the last few seconds: the browser asks
# for the chooser and the eID page right after /authorize, usually over the same connection, and they then need
# no database read. Whether a login may be completed is never decided from a view: `complete_login` consumes the
# login in the database, so a view gone stale (the login finished in another process) shows at most a page whose
# form then says so.
_login_views: weakref.WeakKeyDictionary[Database, IdentityCache] = weakref.WeakKeyDictionary()


def _login_views_of(database: Database) -> IdentityCache:
    views = _login_views.get(database)
    if views is None:
        views = _login_views[database] = IdentityCache()
    return views


def _remember_login_view(database: Database, login: PendingLogin, expires_at: datetime) -> None:
    views = _login_views_of(database)
    views.put(("login", login.id), (login, expires_at), views.generation)


def _forget_login_view(database: Database, login_id: str) -> None:
    views = _login_views_of(database)
    viewed = views.get(("login", login_id))
    if isinstance(viewed, tuple):  # the login is finished: its pages say so from now on
        views.put(("login", login_id), (replace(viewed[0], expired=True), viewed[1]), views.generation)


async def pending_login(database: Database, issuer: OidcIssuer, login_id: str) -> PendingLogin | None:
    views = _login_views_of(database)
    viewed = views.get(("login", login_id))
    view: PendingLogin
    expires_at: datetime
    if isinstance(viewed, tuple):
        view, expires_at = viewed
    else:
        async with database.sessionmaker() as session:
            login = await session.get(AuthorizationRequest, login_id)
            if login is None or login.pushed:
                return None
            client = await _client(session, login.client_id)
        view = PendingLogin(
            id=login.id, issuer=login.issuer, client_id=login.client_id,
            client_name=client.client_name if client else login.client_id, level=login.parameters["level"],
            locale=login.parameters["locale"], expired=login.consumed_at is not None)
        expires_at = login.expires_at
        _remember_login_view(database, view, expires_at)
    if view.issuer != issuer.name:
        return None
    return replace(view, expired=True) if not view.expired and expires_at <= utcnow() else view


@dataclass(frozen=True)
class AuthenticatedPerson:
    """What an eID vouched for: who, at which level, with which method (amr).

    `confirm`, when set, is a check the eID makes in the login's own transaction (TestID: the person is in
    Folkeregisteret, with the register read audited); if it raises, the login is not completed.
    """

    pid: str
    level: int
    amr: list[str] = field(default_factory=list)
    confirm: Callable[[AsyncSession], Awaitable[object]] | None = None


async def complete_login(
    database: Database, settings: Settings, issuer: OidcIssuer, login_id: str, person: AuthenticatedPerson,
    browser_id: str | None,
) -> AuthorizationOutcome:
    """The person has logged in: start an SSO session and send the browser back to the client with a code."""
    now = utcnow()
    async with database.transaction() as session:
        if person.confirm is not None:
            await person.confirm(session)
        # Consumed by one conditional UPDATE: of two concurrent completions, exactly one gets the row back.
        consumed = await session.execute(
            update(AuthorizationRequest)
            .where(AuthorizationRequest.id == login_id, AuthorizationRequest.pushed.is_(False),
                   AuthorizationRequest.issuer == issuer.name, AuthorizationRequest.consumed_at.is_(None),
                   AuthorizationRequest.expires_at > now)
            .values(consumed_at=now)
            .returning(AuthorizationRequest.client_id, AuthorizationRequest.parameters)
            .execution_options(synchronize_session=False)
        )
        row = consumed.one_or_none()
        if row is None:
            login = await session.get(AuthorizationRequest, login_id)
            if login is None or login.pushed or login.issuer != issuer.name:
                raise AuthorizationPageError("This login is unknown.")
            raise AuthorizationPageError("This login has expired or is finished; start again from the service.")
        client_id, validated = row
        if person.level < validated["level"]:
            raise AuthorizationPageError("The eID's level is below what the service asks for.")
        client = await _active_client(session, client_id)
        if client is None:
            raise AuthorizationPageError("The client is no longer active.")
        isolation = client.client_id if (client.sso_disabled or issuer.always_isolated) else ""
        if browser_id is None:
            browser_id = new_browser_id()  # a browser without our cookie has no session to replace
        else:
            # A new login replaces the browser's earlier session in the same circle (prompt=login included).
            await session.execute(
                update(SsoSession).where(SsoSession.browser_id == browser_id, SsoSession.issuer == issuer.name,
                                         SsoSession.isolation == isolation, SsoSession.ended_at.is_(None))
                .values(ended_at=now).execution_options(synchronize_session=False)
            )
        sso = SsoSession(
            sid=_b64(secrets.token_bytes(32)), browser_id=browser_id, issuer=issuer.name, isolation=isolation,
            pid=person.pid, acr=issuer.acr_for_level(person.level), amr=person.amr, auth_time=now,
            last_active_at=now, expires_at=now + SSO_MAX, clients=[],
        )
        session.add(sso)
        count_usage("identity", LOGINS_PER_EID, f"{issuer.name} {person.amr[0] if person.amr else '-'}")
        outcome = await _after_login(session, settings, issuer, client, validated, sso, now)
    _forget_login_view(database, login_id)
    return replace(outcome, browser_id=browser_id)


async def _after_login(
    session: AsyncSession, settings: Settings, issuer: OidcIssuer, client: Client, validated: dict[str, Any],
    sso: SsoSession, now: datetime,
) -> AuthorizationOutcome:
    """Back to the client with a code; first through Ansattporten's organisation chooser when the client asks
    which organisations the person may represent."""
    details = validated["authorization_details"]
    if ansattporten.asks_for_representation(details):
        choice_id = secrets.token_urlsafe(32)
        session.add(OrganizationChoice(id=choice_id, client_id=client.client_id, sid=sso.sid, parameters=validated,
                                       expires_at=now + ORGANIZATION_CHOICE_LIFETIME))
        return AuthorizationOutcome(organization_choice_id=choice_id)
    answered = ansattporten.answer(details, [], {}) if details else None
    values = await _issue_code(session, issuer, client, validated, sso, now, answered)
    return _client_redirect(issuer.issuer(settings.base_url), validated["redirect_uri"], validated["response_mode"],
                            values)


async def _issue_code(
    session: AsyncSession, issuer: OidcIssuer, client: Client, validated: dict[str, Any], sso: SsoSession,
    now: datetime, authorization_details: list[dict[str, Any]] | None,
) -> dict[str, str]:
    code = _b64(secrets.token_bytes(32))
    if client.client_id not in sso.clients:
        sso.clients = [*sso.clients, client.client_id]
    session.add(Grant(
        id=uuid7(), issuer=issuer.name, client_id=client.client_id, code_hash=_hash(code),
        code_expires_at=now + CODE_LIFETIME, redirect_uri=validated["redirect_uri"],
        code_challenge=validated["code_challenge"], sid=sso.sid, pid=sso.pid, scope=validated["scope"],
        acr=sso.acr, amr=sso.amr, auth_time=sso.auth_time, nonce=validated["nonce"], locale=validated["locale"],
        resource=validated["resource"], authorization_details=authorization_details,
        pseudonymous=validated["pseudonymous"],
        expires_at=now + timedelta(seconds=client.authorization_lifetime),
    ))
    return {"code": code, "state": validated["state"]}


# --- Ansattporten's organisation chooser (organisasjonsvelger) ---------------------------------------------------
@dataclass(frozen=True)
class OrganizationChoicePage:
    """What the organisation chooser shows: the organisations the person may represent for the service."""

    id: str
    client_name: str
    locale: str
    parties: list[ansattporten.RepresentableParty]
    options: ansattporten.RepresentationOptions
    problem: str | None = None  # a message key: what was wrong with the choice posted


@dataclass(frozen=True)
class _PendingChoice:
    id: str
    client: Client
    pid: str
    validated: dict[str, Any]


async def _pending_choice(database: Database, choice_id: str, browser_id: str | None) -> _PendingChoice:
    """The choice waiting in this browser (the one that logged in), or `AuthorizationPageError`."""
    async with database.sessionmaker() as session:
        choice = await session.get(OrganizationChoice, choice_id)
        sso = await session.get(SsoSession, choice.sid) if choice is not None else None
        client = await _active_client(session, choice.client_id) if choice is not None else None
    if choice is None or sso is None or browser_id is None or not hmac.compare_digest(sso.browser_id, browser_id):
        raise AuthorizationPageError("This login is unknown.")
    if choice.consumed_at is not None or choice.expires_at <= utcnow() or sso.ended_at is not None:
        raise AuthorizationPageError("This login has expired or is finished; start again from the service.")
    if client is None:
        raise AuthorizationPageError("The client is no longer active.")
    return _PendingChoice(id=choice.id, client=client, pid=sso.pid, validated=choice.parameters)


async def organization_choice(
    database: Database, settings: Settings, issuer: OidcIssuer, choice_id: str, browser_id: str | None,
) -> OrganizationChoicePage | AuthorizationOutcome:
    """The chooser's page; straight back to the client when there is nothing to choose (no organisation and
    none required: the person represents themselves; one organisation and representation required: that one)."""
    pending = await _pending_choice(database, choice_id, browser_id)
    details = pending.validated["authorization_details"]
    options = ansattporten.options_of(details)
    parties = await ansattporten.representable_parties(database, pending.pid, details)
    if not parties and not options.required:
        return await _finish_choice(database, settings, issuer, pending, [])
    if len(parties) == 1 and options.required:
        return await _finish_choice(database, settings, issuer, pending, parties)
    return OrganizationChoicePage(id=pending.id, client_name=pending.client.client_name,
                                  locale=pending.validated["locale"], parties=parties, options=options)


async def choose_organizations(
    database: Database, settings: Settings, issuer: OidcIssuer, choice_id: str, browser_id: str | None, *,
    action: str, chosen: list[str],
) -> OrganizationChoicePage | AuthorizationOutcome:
    """The person's answer: `choose` the organisations in `chosen`, represent only themselves (`self`), or `cancel`
    (the client gets access_denied). The organisations are decided again; a posted one that the person may not
    represent is not accepted."""
    pending = await _pending_choice(database, choice_id, browser_id)
    details = pending.validated["authorization_details"]
    options = ansattporten.options_of(details)
    parties = await ansattporten.representable_parties(database, pending.pid, details)
    page = OrganizationChoicePage(id=pending.id, client_name=pending.client.client_name,
                                  locale=pending.validated["locale"], parties=parties, options=options)
    if action == "cancel":
        reason = ("The person may represent no organisation for the resource asked for, and "
                  "representation_is_required is set." if options.required and not parties
                  else "The person cancelled the choice of organisation.")
        return await _finish_choice(database, settings, issuer, pending, [], denied=reason)
    if action == "self":
        if options.required:
            return replace(page, problem="organizations.problem_required")
        return await _finish_choice(database, settings, issuer, pending, [])
    picked = [party for party in parties if party.orgno in set(chosen)]
    if not picked or len(picked) != len(set(chosen)):
        return replace(page, problem="organizations.problem_none")
    if len(picked) > 1 and not options.allow_multiple:
        return replace(page, problem="organizations.problem_one")
    return await _finish_choice(database, settings, issuer, pending, picked)


async def _finish_choice(
    database: Database, settings: Settings, issuer: OidcIssuer, pending: _PendingChoice,
    chosen: list[ansattporten.RepresentableParty], *, denied: str | None = None,
) -> AuthorizationOutcome:
    validated = pending.validated
    details = validated["authorization_details"]
    names = await ansattporten.resource_names(database, details) if denied is None else {}
    now = utcnow()
    async with database.transaction() as session:
        # Consumed by one conditional UPDATE: of two concurrent answers, exactly one gets the row back.
        consumed = await session.execute(
            update(OrganizationChoice)
            .where(OrganizationChoice.id == pending.id, OrganizationChoice.consumed_at.is_(None),
                   OrganizationChoice.expires_at > now)
            .values(consumed_at=now).returning(OrganizationChoice.sid)
            .execution_options(synchronize_session=False))
        sid = consumed.scalar_one_or_none()
        sso = await session.get(SsoSession, sid) if sid is not None else None
        if sso is None or sso.ended_at is not None:
            raise AuthorizationPageError("This login has expired or is finished; start again from the service.")
        if denied is not None:
            values = {"error": "access_denied", "error_description": denied, "state": validated["state"]}
        else:
            values = await _issue_code(session, issuer, pending.client, validated, sso, now,
                                       ansattporten.answer(details, chosen, names))
    return _client_redirect(issuer.issuer(settings.base_url), validated["redirect_uri"], validated["response_mode"],
                            values)


# --- tokens ---------------------------------------------------------------------------------------------------
async def _tokens_for_grant(
    session: AsyncSession, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer, client: Client,
    grant: Grant, client_amr: str, now: datetime, *, with_id_token: bool, with_refresh_token: bool,
) -> dict[str, Any]:
    issuer_url = issuer.issuer(settings.base_url)
    moment = _epoch(now)
    scopes = grant.scope.split()
    sub = pairwise_subject(settings, client.client_id, grant.pid)
    lifetime = max(1, min(client.access_token_lifetime, _epoch(grant.expires_at) - moment))
    jti = _b64(secrets.token_bytes(18))
    claims: dict[str, Any] = {
        "iss": issuer_url, "client_amr": client_amr, "token_type": "Bearer", "client_id": client.client_id,
        "sub": sub, "acr": grant.acr, "scope": grant.scope, "consumer": organization(client.owner_orgno),
        "aud": (grant.resource[0] if len(grant.resource) == 1 else grant.resource) if grant.resource
        else platform_audience(settings.base_url),
        "iat": moment, "exp": moment + lifetime, "jti": jti,
    }
    if not grant.pseudonymous:
        claims["pid"] = grant.pid
    if grant.authorization_details:
        claims["authorization_details"] = grant.authorization_details
    opaque = await _wants_opaque(session, scopes)
    response: dict[str, Any] = {"token_type": "Bearer", "expires_in": lifetime, "scope": grant.scope}
    if opaque:
        access_token = _b64(secrets.token_bytes(32))
        session.add(IssuedAccessToken(jti=jti, grant_id=grant.id, opaque_hash=_hash(access_token), claims=claims,
                                      expires_at=now + timedelta(seconds=lifetime)))
    else:
        access_token = signer_for(keys).sign(claims)
        session.add(IssuedAccessToken(jti=jti, grant_id=grant.id, expires_at=now + timedelta(seconds=lifetime)))
    response["access_token"] = access_token
    if with_id_token and "openid" in scopes:
        id_claims: dict[str, Any] = {
            "iss": issuer_url, "aud": client.client_id, "sub": sub, "iat": moment,
            "exp": moment + int(ID_TOKEN_LIFETIME.total_seconds()), "jti": _b64(secrets.token_bytes(9)),
            "acr": grant.acr, "amr": grant.amr, "auth_time": _epoch(grant.auth_time), "locale": grant.locale,
        }
        if grant.nonce:
            id_claims["nonce"] = grant.nonce
        if not grant.pseudonymous:
            id_claims["pid"] = grant.pid
        if client.frontchannel_logout_session_required or client.backchannel_logout_uri:
            id_claims["sid"] = grant.sid
        if grant.authorization_details:
            id_claims["authorization_details"] = grant.authorization_details
        response["id_token"] = signer_for(keys).sign(id_claims, typ="JWT")
    if grant.authorization_details:  # RFC 9396 §7: the token response says what was granted, too
        response["authorization_details"] = grant.authorization_details
    if with_refresh_token:
        refresh = _b64(secrets.token_bytes(32))
        refresh_expires = min(now + timedelta(seconds=client.refresh_token_lifetime), grant.expires_at)
        session.add(RefreshToken(token_hash=_hash(refresh), grant_id=grant.id, expires_at=refresh_expires))
        response["refresh_token"] = refresh
        response["refresh_token_expires_in"] = max(0, _epoch(refresh_expires) - moment)
    return response


async def _wants_opaque(session: AsyncSession, scopes: list[str]) -> bool:
    extra = [name for name in scopes if name not in OIDC_SCOPES]
    if not extra:
        return False
    token_types = set(await session.scalars(select(Scope.token_type).where(Scope.name.in_(extra))))
    return "OPAQUE" in token_types


async def _revoke_grant(session: AsyncSession, grant: Grant, now: datetime) -> None:
    grant.revoked_at = now
    await session.execute(update(RefreshToken).where(RefreshToken.grant_id == grant.id, RefreshToken.used_at.is_(None))
                          .values(used_at=now))
    revoked = await session.execute(update(IssuedAccessToken).where(IssuedAccessToken.grant_id == grant.id,
                                                                    IssuedAccessToken.revoked_at.is_(None))
                                    .values(revoked_at=now)
                                    .returning(IssuedAccessToken.jti, IssuedAccessToken.expires_at))
    await revoke_tokens(session, revoked.all())  # platform-wide: no Felles API accepts them any more


def _oidc_audiences(issuer_url: str) -> set[str]:
    return {issuer_url, f"{issuer_url}/token", f"{issuer_url}/par", f"{issuer_url}/token/introspect",
            f"{issuer_url}/token/revoke"}


async def exchange_token(
    database: Database, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer, credentials: ClientCredentials,
) -> dict[str, Any]:
    """/token for authorization_code and refresh_token."""
    form = credentials.form
    grant_type = form.get("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
    issuer_url = issuer.issuer(settings.base_url)
    now = utcnow()
    failure: OAuthError | None = None
    async with database.transaction() as session:
        client, method = await _authenticate_client(session, credentials, _oidc_audiences(issuer_url), now,
                                                    issuer=issuer)
        if grant_type == "authorization_code":
            result = await _redeem_code(session, settings, keys, issuer, client, method, form, now)
        else:
            result = await _refresh(session, settings, keys, issuer, client, method, form, now)
        if isinstance(result, OAuthError):
            # The revocation of a reused code's tokens must be committed before the error is answered.
            failure = result
    if failure is not None:
        raise failure
    assert not isinstance(result, OAuthError)
    return result


async def _redeem_code(
    session: AsyncSession, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer, client: Client,
    method: str, form: dict[str, str], now: datetime,
) -> dict[str, Any] | OAuthError:
    code_hash = _hash(form.get("code", ""))
    # The code is marked used by one conditional UPDATE: of two concurrent redemptions, exactly one gets the grant
    # back. Any check below that fails rolls the marking back with the rest of the transaction.
    grant = await session.scalar(
        update(Grant).where(Grant.code_hash == code_hash, Grant.code_used_at.is_(None))
        .values(code_used_at=now, client_amr=method).returning(Grant)
        .execution_options(synchronize_session=False))
    used_before = grant is None
    if used_before:  # or unknown
        grant = await session.scalar(select(Grant).where(Grant.code_hash == code_hash).with_for_update())
    if grant is None or grant.issuer != issuer.name:
        raise OAuthError("invalid_grant", "The code is not valid.")
    if grant.client_id != client.client_id:
        raise OAuthError("invalid_grant", "The code was issued to another client.")
    if used_before:
        await _revoke_grant(session, grant, now)
        return OAuthError("invalid_grant", "The code has been used before; the tokens issued from it are revoked.")
    if grant.code_expires_at <= now or grant.revoked_at is not None:
        raise OAuthError("invalid_grant", "The code has expired.")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the one in the authorization request.")
    verifier = form.get("code_verifier")
    if grant.code_challenge is not None:
        if verifier is None:
            raise OAuthError("invalid_grant", "code_verifier is required (PKCE).")
        if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
            _b64(hashlib.sha256(verifier.encode()).digest()), grant.code_challenge
        ):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")
    refresh = "refresh_token" in client.grant_types and method != "none"
    return await _tokens_for_grant(session, settings, keys, issuer, client, grant, method, now,
                                   with_id_token=True, with_refresh_token=refresh)


async def _refresh(
    session: AsyncSession, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer, client: Client,
    method: str, form: dict[str, str], now: datetime,
) -> dict[str, Any] | OAuthError:
    if method == "none" or "refresh_token" not in client.grant_types:
        raise OAuthError("unauthorized_client", "The client may not use refresh tokens.")
    stored = await session.get(RefreshToken, _hash(form.get("refresh_token", "")), with_for_update=True)
    grant = await session.get(Grant, stored.grant_id) if stored is not None else None
    if stored is None or grant is None or grant.client_id != client.client_id or grant.issuer != issuer.name:
        raise OAuthError("invalid_grant", "The refresh token is not valid.")
    if stored.used_at is not None:
        if grant.revoked_at is None:
            await _revoke_grant(session, grant, now)
            return OAuthError("invalid_grant", "The refresh token has been used before; the grant is revoked.")
        raise OAuthError("invalid_grant", "The refresh token has been revoked.")
    if stored.expires_at <= now or grant.expires_at <= now or grant.revoked_at is not None:
        raise OAuthError("invalid_grant", "The refresh token has expired.")
    requested = form.get("scope")
    if requested and not set(requested.split()) <= set(grant.scope.split()):
        raise OAuthError("invalid_scope", "A refresh cannot widen the scope.")
    stored.used_at = now
    return await _tokens_for_grant(session, settings, keys, issuer, client, grant, method, now,
                                   with_id_token=False, with_refresh_token=True)


async def _resolve_access_token(
    session: AsyncSession, keys: PlatformKeys, issuer_url: str, token: str, now: datetime
) -> dict[str, Any] | None:
    """The claims of an active access token from this issuer (JWT or opaque), or None."""
    if token.count(".") == 2:
        try:
            claims = keys.verify(token)
        except Exception:  # noqa: BLE001 - any verification failure means "not active"
            return None
    else:
        stored = await session.scalar(select(IssuedAccessToken).where(IssuedAccessToken.opaque_hash == _hash(token)))
        if stored is None or stored.claims is None or stored.expires_at <= now:
            return None
        claims = dict(stored.claims)
    if claims.get("iss") != issuer_url:
        return None
    issued = await session.get(IssuedAccessToken, str(claims.get("jti", "")))
    if issued is None or issued.revoked_at is not None:
        return None
    return claims


# Core's token check (every Felles API) resolves opaque access tokens here; revocation by jti is core's check.
async def opaque_access_token_claims(database: Database, token: str) -> dict[str, Any] | None:
    """The claims of an unexpired, unrevoked opaque access token, or None."""
    async with database.sessionmaker() as session:
        stored = await session.scalar(select(IssuedAccessToken).where(IssuedAccessToken.opaque_hash == _hash(token)))
    if stored is None or stored.claims is None or stored.revoked_at is not None or stored.expires_at <= utcnow():
        return None
    return dict(stored.claims)


register_opaque_token_resolver(opaque_access_token_claims)


async def userinfo(database: Database, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer,
                   token: str) -> dict[str, Any]:
    async with database.transaction() as session:
        claims = await _resolve_access_token(session, keys, issuer.issuer(settings.base_url), token, utcnow())
        grant = None
        if claims is not None:
            issued = await session.get(IssuedAccessToken, claims["jti"])
            grant = await session.get(Grant, issued.grant_id) if issued else None
    if claims is None or grant is None:
        raise OAuthError("invalid_token", "The access token is not valid.", status=401)
    scopes = str(claims.get("scope", "")).split()
    if "openid" not in scopes:
        raise OAuthError("insufficient_scope", "userinfo needs a token with scope openid.", status=403)
    info: dict[str, Any] = {"sub": claims["sub"]}
    if "pid" in claims:
        info["pid"] = claims["pid"]
    if "profile" in scopes:
        info["locale"] = grant.locale
    return info


async def introspect(database: Database, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer,
                     credentials: ClientCredentials) -> dict[str, Any]:
    """RFC 7662: the token's claims when the caller may see them (its own tokens, or with the introspection
    scope), else just `{"active": false}`."""
    issuer_url = issuer.issuer(settings.base_url)
    now = utcnow()
    async with database.transaction() as session:
        client, _ = await _authenticate_client(session, credentials, _oidc_audiences(issuer_url), now,
                                               issuer=issuer)
        claims = await _resolve_access_token(session, keys, issuer_url, credentials.form.get("token", ""), now)
    if claims is None or (claims.get("client_id") != client.client_id and INTROSPECTION_SCOPE not in client.scopes):
        return {"active": False}
    return {"active": True, **claims}


async def revoke(database: Database, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer,
                 credentials: ClientCredentials) -> None:
    """RFC 7009: a refresh token revokes its whole grant; an access token only itself."""
    issuer_url = issuer.issuer(settings.base_url)
    now = utcnow()
    token = credentials.form.get("token", "")
    async with database.transaction() as session:
        client, _ = await _authenticate_client(session, credentials, _oidc_audiences(issuer_url), now,
                                               issuer=issuer)
        refresh = await session.get(RefreshToken, _hash(token))
        if refresh is not None:
            grant = await session.get(Grant, refresh.grant_id)
            if grant is not None and grant.client_id == client.client_id:
                await _revoke_grant(session, grant, now)
            return
        claims = await _resolve_access_token(session, keys, issuer_url, token, now)
        if claims is not None and claims.get("client_id") == client.client_id:
            revoked = await session.execute(update(IssuedAccessToken).where(IssuedAccessToken.jti == claims["jti"])
                                            .values(revoked_at=now)
                                            .returning(IssuedAccessToken.jti, IssuedAccessToken.expires_at))
            await revoke_tokens(session, revoked.all())  # platform-wide: no Felles API accepts it any more


# --- logout ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogoutOutcome:
    """The front-channel logout URLs to load in iframes, then where to send the browser."""

    frontchannel_urls: list[str]
    redirect_to: str | None


async def logout(
    database: Database, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer, parameters: dict[str, str],
    browser_id: str | None,
) -> LogoutOutcome:
    """RP-initiated logout: end every session of this browser, invalidate login-only tokens, tell every client
    that took part (front-channel iframes, back-channel logout tokens) and go back to the client."""
    issuer_url = issuer.issuer(settings.base_url)
    now = utcnow()
    client_id = parameters.get("client_id")
    hint = parameters.get("id_token_hint")
    if hint:
        try:
            # An expired id_token is still a fine hint of who logs out; only our signature matters.
            decoded = jwt.decode(hint, keys.public_set, algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise AuthorizationPageError(f"id_token_hint is not an id_token from us: {exc}") from exc
        if decoded.claims.get("iss") != issuer_url:
            raise AuthorizationPageError("id_token_hint was issued by another issuer.")
        hinted = decoded.claims.get("aud")
        if client_id and client_id != hinted:
            raise AuthorizationPageError("client_id differs from the id_token_hint's audience.")
        client_id = str(hinted)
    front: list[str] = []
    async with database.transaction() as session:
        client = await _active_client(session, client_id) if client_id else None
        if client_id and client is None:
            raise AuthorizationPageError(f"Unknown client {client_id!r}.")
        redirect = parameters.get("post_logout_redirect_uri")
        if redirect is not None and (client is None or redirect not in client.post_logout_redirect_uris):
            raise AuthorizationPageError("post_logout_redirect_uri is not registered on the client.")
        ended = [] if browser_id is None else list(await session.scalars(
            select(SsoSession).where(SsoSession.browser_id == browser_id, SsoSession.issuer == issuer.name,
                                     SsoSession.ended_at.is_(None))))
        for sso in ended:
            sso.ended_at = now
            grants = await session.scalars(select(Grant).where(Grant.sid == sso.sid, Grant.revoked_at.is_(None)))
            for grant in grants:
                if set(grant.scope.split()) <= OIDC_SCOPES:
                    await _revoke_grant(session, grant, now)
            for participant_id in sso.clients:
                participant = await session.get(Client, participant_id)
                if participant is None:
                    continue
                sub = pairwise_subject(settings, participant.client_id, sso.pid)
                if participant.frontchannel_logout_uri:
                    with_session = participant.frontchannel_logout_session_required
                    query = {"iss": issuer_url, "sid": sso.sid} if with_session else {}
                    separator = "&" if urlsplit(participant.frontchannel_logout_uri).query else "?"
                    front.append(participant.frontchannel_logout_uri + (separator + urlencode(query) if query else ""))
                if participant.backchannel_logout_uri:
                    moment = _epoch(now)
                    logout_token = jwt.encode(
                        {"alg": "RS256", "kid": keys.signing_key.kid, "typ": "logout+jwt"},
                        {"iss": issuer_url, "aud": participant.client_id, "iat": moment,
                         "exp": moment + LOGOUT_TOKEN_LIFETIME, "jti": _b64(secrets.token_bytes(16)),
                         "events": {BACKCHANNEL_LOGOUT_EVENT: {}}, "sid": sso.sid, "sub": sub},
                        keys.signing_key, algorithms=["RS256"])
                    await enqueue(session, "identity.backchannel_logout",
                                  {"uri": participant.backchannel_logout_uri, "logout_token": logout_token})
    target = None
    if redirect is not None:
        state = parameters.get("state")
        if state is not None and not re.fullmatch(r"[\x20-\x7E]+", state):
            raise AuthorizationPageError("state may only hold printable ASCII.")
        separator = "&" if urlsplit(redirect).query else "?"
        target = redirect + (separator + urlencode({"state": state}) if state else "")
    return LogoutOutcome(frontchannel_urls=front, redirect_to=target)


@job_handler("identity.backchannel_logout", max_attempts=1)
async def deliver_backchannel_logout(payload: dict[str, Any], context: JobContext) -> None:
    """One attempt, as ID-porten makes: 2 s to connect, 5 s to answer; any 2xx is accepted. The call goes
    through the SSRF guard: a URI that now leads to a non-public address is not called, only logged (a
    registered client's URI, so the outbound allow-list, which is for addresses API consumers give, does not
    apply)."""
    try:
        response = await outbound.request(
            get_settings(), "POST", payload["uri"], data={"logout_token": payload["logout_token"]},
            allow_list=False, timeouts=BACKCHANNEL_LOGOUT_TIMEOUT)
    except outbound.OutboundRefused as refused:
        log.warning("backchannel_logout_refused", uri=payload["uri"], reason=refused.detail)
        return
    response.raise_for_status()


@job_handler("identity.purge_used_assertions", every=timedelta(hours=1))
async def purge_expired_protocol_state(payload: dict[str, Any], context: JobContext) -> None:
    """Used jtis, finished authorization requests and expired tokens are only kept while they matter."""
    from sqlalchemy import delete

    now = utcnow()
    await context.session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at <= now))
    await context.session.execute(delete(AuthorizationRequest).where(AuthorizationRequest.expires_at <= now))
    await context.session.execute(delete(OrganizationChoice).where(OrganizationChoice.expires_at <= now))
    await context.session.execute(
        delete(IssuedAccessToken).where(IssuedAccessToken.expires_at <= now - timedelta(days=1)))


def client_credentials(form: dict[str, str], authorization: str | None) -> ClientCredentials:
    """The form and the Basic credentials of a request (RFC 6749 §2.3.1: both parts are form-urlencoded)."""
    from urllib.parse import unquote_plus

    basic = None
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except ValueError as exc:
            raise OAuthError("invalid_client", "The Basic credentials cannot be read.", status=401) from exc
        user, colon, password = decoded.partition(":")
        if not colon:
            raise OAuthError("invalid_client", "The Basic credentials cannot be read.", status=401)
        basic = (unquote_plus(user), unquote_plus(password))
    return ClientCredentials(form=form, basic=basic)


def key_set_document(keys: PlatformKeys) -> dict[str, Any]:
    return keys.jwks()


def new_browser_id() -> str:
    return secrets.token_urlsafe(32)



ALTINN_TOKEN_LIFETIME = 1800
EXCHANGED_ISSUERS = {"idporten": Issuer.IDPORTEN, "maskinporten": Issuer.MASKINPORTEN}


async def exchange_for_altinn(database: Database, keys: PlatformKeys, base_url: str, provider: str, token: str) -> str:
    """Altinn's /authentication/api/v1/exchange: the same person or organisation, as an Altinn token."""
    from felles.core.errors import InvalidInput, Unauthorized
    from felles.core.tokens import ACR_LEVELS

    if provider not in EXCHANGED_ISSUERS:
        raise InvalidInput("Exchange a token from idporten or maskinporten.", code="unknown_token_provider")
    # a revoked token is not exchanged
    claims = await verify_access_token(keys, database, token, base_url=base_url)
    if token_issuer(claims, base_url) is not EXCHANGED_ISSUERS[provider]:
        raise Unauthorized(f"The token was not issued by {provider}.", code="invalid_token")
    moment = _epoch(utcnow())
    # The portal's scope is Altinn authentication's own, given at a login to the Altinn portal: no token from
    # elsewhere passes it on.
    scopes = [scope for scope in str(claims.get("scope", "")).split() if scope != PORTAL_END_USER_SCOPE]
    altinn: dict[str, Any] = {
        "iss": issuer_url(base_url, Issuer.ALTINN), "iat": moment,
        "exp": min(int(claims["exp"]), moment + ALTINN_TOKEN_LIFETIME), "jti": _b64(secrets.token_bytes(16)),
        "scope": " ".join(scopes), "client_id": claims.get("client_id"),
        "aud": platform_audience(base_url), "sub": claims.get("sub") or claims.get("client_id"),
    }
    if "pid" in claims:
        altinn.update(pid=claims["pid"], acr=claims.get("acr"),
                      **{"urn:altinn:authlevel": ACR_LEVELS.get(str(claims.get("acr")), 0),
                         "urn:altinn:authenticatemethod": "IdportenNivaa"})
    if "consumer" in claims:
        altinn["consumer"] = claims["consumer"]
        altinn["urn:altinn:orgNumber"] = str(claims["consumer"]["ID"]).removeprefix("0192:")
        altinn["urn:altinn:authlevel"] = 3
        if "supplier" in claims:
            altinn["supplier"] = claims["supplier"]
    return keys.sign(altinn)

