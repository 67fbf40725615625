"""Use cases of ID-porten, Ansattporten and Maskinporten that other components call: Maskinporten's JWT grant and
Altinn's token exchange. The browser protocol lives in `service_logins` (authorization requests, logins, SSO, the
organisation chooser) and `service_tokens` (codes and tokens, userinfo, introspection, revocation, logout);
client authentication in `service_clients`; the shared errors in `service_protocol`. Every write happens in one
transaction per call."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.consent import service as consent_service
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.tokens import (
    PORTAL_END_USER_SCOPE,
    Issuer,
    PlatformKeys,
    issuer_url,
    token_issuer,
    verify_access_token,
)
from felles.core.usage import count_usage
from felles.identity.cache import cache_for
from felles.identity.issuers import (
    JWT_BEARER,
    maskinporten_issuer,
    organization,
    platform_audience,
)
from felles.identity.jose import signer_for
from felles.identity.models import (
    Client,
    Scope,
    ScopeAccess,
    ScopeDelegation,
)
from felles.identity.service_clients import (
    active_client,
    check_audience,
    check_times,
    detached,
    remember_assertion_once,
    unverified_parts,
    verify_client_jwt,
)
from felles.identity.service_protocol import ORGNO_PATTERN, OAuthError, b64url, epoch, resource_audience
from felles.identity.statistics import TOKENS_PER_CLIENT


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
    compact = unverified_parts(assertion)
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
        client = await active_client(session, client_id)
        if client is None or client.integration_type != "maskinporten":
            raise OAuthError("invalid_client", f"Unknown Maskinporten client {client_id!r}.", status=401)
        if JWT_BEARER not in client.grant_types:
            raise OAuthError("unauthorized_client", "The client is not registered for the jwt-bearer grant.")
        verified = await verify_client_jwt(session, client, compact, now, "invalid_grant")
        claims = verified.claims
        check_audience(claims.get("aud"), {issuer}, "invalid_grant")
        if claims.get("iss") != client_id:
            raise OAuthError("invalid_grant", "iss must be the client_id.")
        expires = check_times(claims, now, "invalid_grant", require_iat=True)
        requested = str(claims.get("scope") or "").split()
        if not requested:
            raise OAuthError("invalid_scope", "The grant asks for no scope.")
        consumer_org = claims.get("consumer_org")
        if consumer_org is not None and not (isinstance(consumer_org, str) and ORGNO_PATTERN.fullmatch(consumer_org)):
            raise OAuthError("invalid_request", "consumer_org must be a 9-digit organisation number.")
        consumer = consumer_org or client.owner_orgno
        scopes = await _machine_scopes(session, client, requested, consumer,
                                       supplier=client.owner_orgno if consumer_org else None)
        # A consent is read fresh, not from the cache: a revoked consent must stop at once.
        consents = await _consent_details(session, claims.get("authorization_details"), consumer)
    await remember_assertion_once(database, client_id, claims, assertion, expires, "invalid_grant")
    lifetime = min([client.access_token_lifetime, *(s.at_max_age for s in scopes if s.at_max_age)])
    moment = epoch(now)
    token: dict[str, Any] = {
        "iss": issuer, "client_amr": verified.client_amr, "token_type": "Bearer", "client_id": client_id,
        # RFC 9068 §2.2: a token of the client itself (no end user) has the client as its subject.
        "sub": client_id, "aud": platform_audience(base_url),
        "scope": " ".join(requested), "consumer": organization(consumer),
        "iat": moment, "exp": moment + lifetime, "jti": b64url(secrets.token_bytes(24)),
    }
    if consumer_org:
        token["supplier"] = organization(client.owner_orgno)
        token["delegation_source"] = next(s.delegation_source for s in scopes if s.delegation_source)
    resource = claims.get("resource")
    if resource is not None:
        token["aud"] = resource_audience(resource, "invalid_target")
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


async def _machine_scopes(
    session: AsyncSession, client: Client, requested: list[str], consumer: str, *, supplier: str | None
) -> list[Scope]:
    """Every scope asked for, or `invalid_scope` saying which one is not allowed and why."""

    async def read() -> tuple[dict[str, Scope], frozenset[str], frozenset[str]]:
        found = {s.name: detached(s) for s in await session.scalars(select(Scope).where(Scope.name.in_(requested)))}
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


def key_set_document(keys: PlatformKeys) -> dict[str, Any]:
    return keys.jwks()


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
    moment = epoch(utcnow())
    # The portal's scope is Altinn authentication's own, given at a login to the Altinn portal: no token from
    # elsewhere passes it on.
    scopes = [scope for scope in str(claims.get("scope", "")).split() if scope != PORTAL_END_USER_SCOPE]
    altinn: dict[str, Any] = {
        "iss": issuer_url(base_url, Issuer.ALTINN), "iat": moment,
        "exp": min(int(claims["exp"]), moment + ALTINN_TOKEN_LIFETIME), "jti": b64url(secrets.token_bytes(16)),
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
