"""The token endpoint (codes, refresh tokens), userinfo, introspection and revocation, the opaque access tokens
other APIs resolve, and logout (front- and back-channel) with the purge of expired protocol state."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.revocations import revoke_tokens
from felles.core.tokens import (
    PlatformKeys,
    register_opaque_token_resolver,
)
from felles.identity.issuers import (
    OidcIssuer,
    organization,
    platform_audience,
)
from felles.identity.jose import signer_for
from felles.identity.models import (
    AuthorizationRequest,
    Client,
    Grant,
    IssuedAccessToken,
    OrganizationChoice,
    RefreshToken,
    Scope,
    SsoSession,
    UsedAssertion,
)
from felles.identity.service_clients import ClientCredentials, active_client, authenticate_client
from felles.identity.service_protocol import (
    BACKCHANNEL_LOGOUT_EVENT,
    BACKCHANNEL_LOGOUT_TIMEOUT,
    CODE_VERIFIER_PATTERN,
    ID_TOKEN_LIFETIME,
    INTROSPECTION_SCOPE,
    LOGOUT_TOKEN_LIFETIME,
    OIDC_SCOPES,
    AuthorizationPageError,
    OAuthError,
    b64url,
    epoch,
    log,
    pairwise_subject,
    sha256_hex,
)


# --- tokens ---------------------------------------------------------------------------------------------------
async def _tokens_for_grant(
    session: AsyncSession, settings: Settings, keys: PlatformKeys, issuer: OidcIssuer, client: Client,
    grant: Grant, client_amr: str, now: datetime, *, with_id_token: bool, with_refresh_token: bool,
) -> dict[str, Any]:
    issuer_url = issuer.issuer(settings.base_url)
    moment = epoch(now)
    scopes = grant.scope.split()
    sub = pairwise_subject(settings, client.client_id, grant.pid)
    lifetime = max(1, min(client.access_token_lifetime, epoch(grant.expires_at) - moment))
    jti = b64url(secrets.token_bytes(18))
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
        access_token = b64url(secrets.token_bytes(32))
        session.add(IssuedAccessToken(jti=jti, grant_id=grant.id, opaque_hash=sha256_hex(access_token), claims=claims,
                                      expires_at=now + timedelta(seconds=lifetime)))
    else:
        access_token = signer_for(keys).sign(claims)
        session.add(IssuedAccessToken(jti=jti, grant_id=grant.id, expires_at=now + timedelta(seconds=lifetime)))
    response["access_token"] = access_token
    if with_id_token and "openid" in scopes:
        id_claims: dict[str, Any] = {
            "iss": issuer_url, "aud": client.client_id, "sub": sub, "iat": moment,
            "exp": moment + int(ID_TOKEN_LIFETIME.total_seconds()), "jti": b64url(secrets.token_bytes(9)),
            "acr": grant.acr, "amr": grant.amr, "auth_time": epoch(grant.auth_time), "locale": grant.locale,
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
        refresh = b64url(secrets.token_bytes(32))
        refresh_expires = min(now + timedelta(seconds=client.refresh_token_lifetime), grant.expires_at)
        session.add(RefreshToken(token_hash=sha256_hex(refresh), grant_id=grant.id, expires_at=refresh_expires))
        response["refresh_token"] = refresh
        response["refresh_token_expires_in"] = max(0, epoch(refresh_expires) - moment)
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
        client, method = await authenticate_client(session, credentials, _oidc_audiences(issuer_url), now,
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
    code_hash = sha256_hex(form.get("code", ""))
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
        if not CODE_VERIFIER_PATTERN.fullmatch(verifier) or not hmac.compare_digest(
            b64url(hashlib.sha256(verifier.encode()).digest()), grant.code_challenge
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
    stored = await session.get(RefreshToken, sha256_hex(form.get("refresh_token", "")), with_for_update=True)
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
        stored = await session.scalar(
            select(IssuedAccessToken).where(IssuedAccessToken.opaque_hash == sha256_hex(token)))
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
        stored = await session.scalar(
            select(IssuedAccessToken).where(IssuedAccessToken.opaque_hash == sha256_hex(token)))
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
        client, _ = await authenticate_client(session, credentials, _oidc_audiences(issuer_url), now,
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
        client, _ = await authenticate_client(session, credentials, _oidc_audiences(issuer_url), now,
                                               issuer=issuer)
        refresh = await session.get(RefreshToken, sha256_hex(token))
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
        client = await active_client(session, client_id) if client_id else None
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
                    moment = epoch(now)
                    logout_token = jwt.encode(
                        {"alg": "RS256", "kid": keys.signing_key.kid, "typ": "logout+jwt"},
                        {"iss": issuer_url, "aud": participant.client_id, "iat": moment,
                         "exp": moment + LOGOUT_TOKEN_LIFETIME, "jti": b64url(secrets.token_bytes(16)),
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
