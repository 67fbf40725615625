"""Clients of ID-porten, Ansattporten and Maskinporten, and how they authenticate at the token endpoint:
client_secret_basic/post and private_key_jwt (a JWT signed with a registered key or an x5c certificate chain),
each assertion accepted once."""

from __future__ import annotations

import base64
import copy
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.db import Database, insert_for
from felles.identity.cache import cache_for
from felles.identity.certificates import CertificateRejected, public_key_pem, trust_anchors
from felles.identity.issuers import (
    ASSERTION_ALGORITHMS,
    CLIENT_ASSERTION_TYPE,
    OidcIssuer,
)
from felles.identity.jose import CompactJws, JwsError, public_key_of
from felles.identity.models import (
    Client,
    ClientKey,
    UsedAssertion,
)
from felles.identity.replay import replay_guard_for
from felles.identity.service_protocol import GRANT_CLOCK_SKEW, GRANT_MAX_LIFETIME, OAuthError, epoch, sha256_hex


# --- clients and their authentication -----------------------------------------------------------------------
def detached(row: Any) -> Any:
    """A copy of a row that belongs to no session: safe to share between requests (read it, never change it)."""
    mapper = sa_inspect(type(row))
    return type(row)(**{column.key: copy.copy(getattr(row, column.key)) for column in mapper.column_attrs})


async def client_row(session: AsyncSession, client_id: str) -> Client | None:
    """The client, active or not, from the process cache (see `cache`) or the database."""

    async def read() -> Client | None:
        row = await session.get(Client, client_id)
        return detached(row) if row is not None else None

    return await cache_for(session).load(("client", client_id), read)  # type: ignore[no-any-return]


async def active_client(session: AsyncSession, client_id: str) -> Client | None:
    client = await client_row(session, client_id)
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


def unverified_parts(token: str) -> CompactJws:
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


async def verify_client_jwt(
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
    key = f"{client_id} {jti}" if isinstance(jti, str) and jti else f"{client_id} #{sha256_hex(token)}"
    return key[:300]


async def remember_assertion_once(database: Database, client_id: str, claims: dict[str, Any], token: str,
                                   expires_at: datetime, error: str) -> None:
    """`_remember_assertion` for a request that writes nothing else: committed before the request is answered,
    batched with the other requests of the moment (see `replay`)."""
    if not await replay_guard_for(database).first_use(_assertion_key(client_id, claims, token), expires_at):
        raise OAuthError(error, "This JWT has been used before (jti replay).")


def check_audience(value: Any, accepted: set[str], error: str) -> None:
    audiences = value if isinstance(value, list) else [value]
    if not any(isinstance(aud, str) and aud in accepted for aud in audiences):
        raise OAuthError(error, f"aud must be one of {', '.join(sorted(accepted))}.")


def check_times(claims: dict[str, Any], now: datetime, error: str, *, require_iat: bool) -> datetime:
    moment = epoch(now)
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


async def authenticate_client(
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
        assertion = unverified_parts(form.get("client_assertion", ""))
        client_id = str(form.get("client_id") or assertion.payload.get("iss") or "")
    elif form.get("client_secret") is not None:
        method, client_id = "client_secret_post", form.get("client_id", "")
    else:
        method, client_id = "none", form.get("client_id", "")
    if not client_id:
        raise OAuthError("invalid_client", "The request does not name its client.", status=401)
    client = await active_client(session, client_id)
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
            sha256_hex(secret), client.client_secret_hash
        ):
            raise OAuthError("invalid_client", "The client secret is wrong or has expired.", status=401)
    elif method == "private_key_jwt":
        verified = await verify_client_jwt(session, client, assertion, now, "invalid_client")
        claims = verified.claims
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise OAuthError("invalid_client", "The client assertion's iss and sub must both be the client_id.",
                             status=401)
        check_audience(claims.get("aud"), audiences, "invalid_client")
        expires = check_times(claims, now, "invalid_client", require_iat=False)
        await _remember_assertion(session, client_id, claims, form["client_assertion"], expires, "invalid_client")
    return client, method




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
