"""Self-service (selvbetjening): clients, their keys, scopes and who may use them, and delegations.

An organisation manages its own clients and scopes; what it changes is written to the change log (who, for
whom, what) in the same transaction, and kept 12 months. Nothing is deleted: a removed client, scope access or
delegation is deactivated, as in Digdir's self-service.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, job_handler
from felles.identity import schemas
from felles.identity.cache import clear_all, notify_change
from felles.identity.issuers import JWT_BEARER
from felles.identity.models import (
    ChangeLogEntry,
    Client,
    ClientKey,
    Scope,
    ScopeAccess,
    ScopeDelegation,
    ScopePrefix,
)

KEY_MAX_LIFETIME = timedelta(days=365)
SECRET_LIFETIME = timedelta(days=360)
CHANGE_LOG_RETENTION = timedelta(days=365)
OIDC_SCOPES = frozenset({"openid", "profile"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
# The fields of a client that an update may set to null (which removes them).
NULLABLE_FIELDS = frozenset({"frontchannel_logout_uri", "backchannel_logout_uri"})


async def _log(session: AsyncSession, actor: Actor, action: str, entity_type: str, entity_id: str,
               detail: dict[str, Any] | None = None) -> None:
    session.add(ChangeLogEntry(id=uuid7(), occurred_at=utcnow(), actor=actor.actor, on_behalf_of=actor.on_behalf_of,
                               action=action, entity_type=entity_type, entity_id=entity_id, detail=detail))


@contextlib.asynccontextmanager
async def _change(database: Database) -> AsyncIterator[AsyncSession]:
    """A self-service write: tells every process's identity cache (see `cache`) to forget what it read."""
    try:
        async with database.transaction() as session:
            yield session
            await notify_change(session)
    finally:
        clear_all()  # after the commit, so that no reader caches the old state again


def _client_public(client: Client, secret: str | None = None) -> schemas.ClientPublic:
    return schemas.ClientPublic(
        client_id=client.client_id, integration_type=client.integration_type,
        application_type=client.application_type, client_name=client.client_name, description=client.description,
        client_orgno=client.owner_orgno, token_endpoint_auth_method=client.token_endpoint_auth_method,
        grant_types=client.grant_types, scopes=client.scopes, redirect_uris=client.redirect_uris,
        post_logout_redirect_uris=client.post_logout_redirect_uris,
        frontchannel_logout_uri=client.frontchannel_logout_uri,
        frontchannel_logout_session_required=client.frontchannel_logout_session_required,
        backchannel_logout_uri=client.backchannel_logout_uri, code_challenge_method=client.code_challenge_method,
        sso_disabled=client.sso_disabled, access_token_lifetime=client.access_token_lifetime,
        refresh_token_lifetime=client.refresh_token_lifetime, authorization_lifetime=client.authorization_lifetime,
        active=client.active, created=client.created, last_updated=client.last_updated, client_secret=secret,
    )


def _check_uris(uris: list[str], *, allow_local_http: bool, what: str) -> None:
    for uri in uris:
        parts = urlsplit(uri)
        if parts.fragment or not parts.netloc:
            raise InvalidInput(f"{what} {uri!r} must be an absolute URI without a fragment.", code="invalid_uri")
        local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS | {"::1"}
        if parts.scheme != "https" and not (allow_local_http and local):
            raise InvalidInput(f"{what} {uri!r} must use https (http only for localhost in test).",
                               code="invalid_uri")


def _check_logout_uri(uri: str | None, redirect_uris: list[str], what: str, allow_local_http: bool) -> None:
    if uri is None:
        return
    _check_uris([uri], allow_local_http=allow_local_http, what=what)
    host = urlsplit(uri).hostname
    if host not in {urlsplit(r).hostname for r in redirect_uris}:
        raise InvalidInput(f"{what} must share its host with a registered redirect_uri.", code="invalid_uri")
    if what == "backchannel_logout_uri" and host:  # the platform calls it: refused early what the guard refuses
        outbound.refuse_non_public_host(host, loopback_allowed=allow_local_http)


async def _check_client_scopes(session: AsyncSession, integration_type: str, scopes: list[str]) -> None:
    wanted = [name for name in scopes if name not in OIDC_SCOPES]
    found = {s.name: s for s in await session.scalars(select(Scope).where(Scope.name.in_(wanted)))}
    for name in wanted:
        scope = found.get(name)
        if scope is None or not scope.active:
            raise InvalidInput(f"Scope {name} does not exist.", code="unknown_scope")
        if integration_type not in scope.allowed_integration_types:
            raise InvalidInput(f"Scope {name} is not available to {integration_type} clients.",
                               code="scope_not_allowed")
    if integration_type == "maskinporten" and OIDC_SCOPES & set(scopes):
        raise InvalidInput("Maskinporten clients cannot have openid or profile.", code="scope_not_allowed")


def _checked_registration(data: schemas.ClientCreate, *, allow_local_http: bool) -> list[str]:
    """The registration's grant types, once its metadata is consistent (else `InvalidInput`)."""
    machine = data.integration_type == "maskinporten"
    grant_types = list(data.grant_types) or ([JWT_BEARER] if machine else ["authorization_code"])
    if machine:
        if grant_types != [JWT_BEARER] or data.token_endpoint_auth_method != "private_key_jwt":  # noqa: S105
            raise InvalidInput("A Maskinporten client uses the jwt-bearer grant with private_key_jwt.",
                               code="invalid_client_metadata")
        if data.redirect_uris:
            raise InvalidInput("A Maskinporten client has no redirect_uris.", code="invalid_client_metadata")
    else:
        if JWT_BEARER in grant_types or "authorization_code" not in grant_types:
            raise InvalidInput("A login client uses authorization_code (and maybe refresh_token).",
                               code="invalid_client_metadata")
        if not data.redirect_uris:
            raise InvalidInput("A login client needs at least one redirect_uri.", code="invalid_client_metadata")
        if data.token_endpoint_auth_method == "none" and data.application_type == "web":  # noqa: S105
            raise InvalidInput("A public client (auth method none) is a browser or native application.",
                               code="invalid_client_metadata")
    _check_uris(data.redirect_uris + data.post_logout_redirect_uris, allow_local_http=allow_local_http,
                what="redirect_uri")
    _check_logout_uri(data.frontchannel_logout_uri, data.redirect_uris, "frontchannel_logout_uri", allow_local_http)
    _check_logout_uri(data.backchannel_logout_uri, data.redirect_uris, "backchannel_logout_uri", allow_local_http)
    return grant_types


def _registered_values(data: schemas.ClientCreate, grant_types: list[str]) -> dict[str, Any]:
    """The client's columns that a registration sets (everything but its id, owner, secret and history)."""
    return {
        "integration_type": data.integration_type, "application_type": data.application_type,
        "client_name": data.client_name, "description": data.description,
        "token_endpoint_auth_method": data.token_endpoint_auth_method, "grant_types": grant_types,
        "scopes": list(data.scopes), "redirect_uris": list(data.redirect_uris),
        "post_logout_redirect_uris": list(data.post_logout_redirect_uris),
        "frontchannel_logout_uri": data.frontchannel_logout_uri,
        "frontchannel_logout_session_required": data.frontchannel_logout_session_required,
        "backchannel_logout_uri": data.backchannel_logout_uri, "code_challenge_method": data.code_challenge_method,
        "sso_disabled": data.sso_disabled or data.integration_type == "ansattporten",
        "access_token_lifetime": data.access_token_lifetime, "refresh_token_lifetime": data.refresh_token_lifetime,
        "authorization_lifetime": data.authorization_lifetime,
    }


async def create_client(
    database: Database, actor: Actor, owner_orgno: str, data: schemas.ClientCreate, *, allow_local_http: bool,
    administrator: bool = False,
) -> schemas.ClientPublic:
    """Register a client; a client secret is generated (and shown once) for the secret methods."""
    orgno = data.client_orgno or owner_orgno
    if orgno != owner_orgno and not administrator:
        raise Forbidden("An organisation may only register clients for itself.", code="not_owner")
    grant_types = _checked_registration(data, allow_local_http=allow_local_http)
    now = utcnow()
    secret = None
    if data.token_endpoint_auth_method in ("client_secret_basic", "client_secret_post"):
        secret = secrets.token_urlsafe(32)
    client_id = data.client_id or str(uuid.uuid4())
    async with _change(database) as session:
        await _check_client_scopes(session, data.integration_type, data.scopes)
        if await session.get(Client, client_id) is not None:
            raise Conflict(f"Client {client_id} exists.", code="client_exists")
        client = Client(
            client_id=client_id, owner_orgno=orgno, **_registered_values(data, grant_types),
            client_secret_hash=hashlib.sha256(secret.encode()).hexdigest() if secret else None,
            client_secret_expires_at=now + SECRET_LIFETIME if secret else None,
            active=True, created=now, last_updated=now,
        )
        session.add(client)
        await _log(session, actor, "create", "client", client_id,
                   data.model_dump(mode="json", exclude={"client_id"}, exclude_none=True))
    return _client_public(client, secret)


async def ensure_platform_client(database: Database, actor: Actor, owner_orgno: str, data: schemas.ClientCreate,
                                 *, allow_local_http: bool) -> None:
    """A client the platform itself logs in with (the portal's): registered as `data` says if it is missing, and
    registered again so if it differs (an older version or a seed registered it otherwise: another auth method,
    another address). Redirect URIs registered before are kept, so that the platform still works at an address
    it was served at before. Public clients (auth method none) have no secret. Idempotent; writes only when
    something differs."""
    assert data.client_id is not None and data.token_endpoint_auth_method == "none"  # noqa: S105 - a method name
    grant_types = _checked_registration(data, allow_local_http=allow_local_http)
    async with database.transaction() as session:
        client = await session.get(Client, data.client_id)
        if client is not None:
            wanted = _registered_values(data, grant_types)
            wanted["redirect_uris"] = [*client.redirect_uris,
                                       *(uri for uri in data.redirect_uris if uri not in client.redirect_uris)]
            if client.active and client.owner_orgno == owner_orgno and client.client_secret_hash is None and all(
                    getattr(client, name) == value for name, value in wanted.items()):
                return
    if client is None:
        try:
            await create_client(database, actor, owner_orgno, data, allow_local_http=allow_local_http,
                                administrator=True)
        except Conflict:  # another process registered it at the same moment
            pass
        return
    async with _change(database) as session:
        await _check_client_scopes(session, data.integration_type, data.scopes)
        client = await _owned_client(session, None, data.client_id)
        for name, value in wanted.items():
            setattr(client, name, value)
        client.owner_orgno, client.active = owner_orgno, True
        client.client_secret_hash = client.client_secret_expires_at = None
        client.last_updated = utcnow()
        await _log(session, actor, "update", "client", data.client_id, {**data.model_dump(
            mode="json", exclude={"client_id"}, exclude_none=True), "redirect_uris": wanted["redirect_uris"]})


async def _owned_client(session: AsyncSession, owner_orgno: str | None, client_id: str) -> Client:
    client = await session.get(Client, client_id, with_for_update=True)
    if client is None or (owner_orgno is not None and client.owner_orgno != owner_orgno):
        raise NotFound(f"No client {client_id} of yours.", code="client_not_found")
    return client


async def get_client(database: Database, owner_orgno: str | None, client_id: str) -> schemas.ClientPublic:
    async with database.transaction() as session:
        return _client_public(await _owned_client(session, owner_orgno, client_id))


async def list_clients(database: Database, owner_orgno: str, *, inactive: bool = False) -> list[schemas.ClientPublic]:
    async with database.transaction() as session:
        query = select(Client).where(Client.owner_orgno == owner_orgno)
        if not inactive:
            query = query.where(Client.active.is_(True))
        return [_client_public(c) for c in await session.scalars(query.order_by(Client.created))]


async def update_client(database: Database, actor: Actor, owner_orgno: str | None, client_id: str,
                        data: schemas.ClientUpdate, *, allow_local_http: bool) -> schemas.ClientPublic:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("description", "") is None:  # null clears the description
        changes["description"] = ""
    cannot_be_null = sorted(name for name, value in changes.items() if value is None and name not in NULLABLE_FIELDS)
    if cannot_be_null:
        raise InvalidInput(f"{', '.join(cannot_be_null)} cannot be null; leave a field out to keep its value.",
                           code="invalid_client_metadata")
    async with _change(database) as session:
        client = await _owned_client(session, owner_orgno, client_id)
        if not client.active:
            raise Conflict("The client is deactivated.", code="client_inactive")
        if "scopes" in changes:
            await _check_client_scopes(session, client.integration_type, changes["scopes"])
        redirect_uris = changes.get("redirect_uris", client.redirect_uris)
        _check_uris(list(redirect_uris) + list(changes.get("post_logout_redirect_uris") or []),
                    allow_local_http=allow_local_http, what="redirect_uri")
        for name in ("frontchannel_logout_uri", "backchannel_logout_uri"):
            _check_logout_uri(changes.get(name, getattr(client, name)), redirect_uris, name, allow_local_http)
        if client.integration_type == "ansattporten":
            changes.pop("sso_disabled", None)
        for name, value in changes.items():
            setattr(client, name, value)
        client.last_updated = utcnow()
        await _log(session, actor, "update", "client", client_id, data.model_dump(mode="json", exclude_unset=True))
    return _client_public(client)


async def deactivate_client(database: Database, actor: Actor, owner_orgno: str | None, client_id: str) -> None:
    async with _change(database) as session:
        client = await _owned_client(session, owner_orgno, client_id)
        client.active = False
        client.last_updated = utcnow()
        await _log(session, actor, "deactivate", "client", client_id)


def _public_jwk(jwk: dict[str, Any], now: datetime) -> tuple[str, dict[str, Any], datetime]:
    if jwk.get("kty") != "RSA" or "d" in jwk or "p" in jwk:
        raise InvalidInput("Each key must be a public RSA JWK (no private parts).", code="invalid_jwk")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidInput("Each key needs a kid.", code="invalid_jwk")
    try:
        key = RSAKey.import_key(jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidInput(f"Key {kid} cannot be read: {exc}", code="invalid_jwk") from exc
    if key.public_key.key_size < 2048:
        raise InvalidInput(f"Key {kid} is shorter than 2048 bits.", code="invalid_jwk")
    expires = now + KEY_MAX_LIFETIME
    if isinstance(jwk.get("exp"), int):
        requested = datetime.fromtimestamp(jwk["exp"], tz=now.tzinfo)
        if requested <= now:
            raise InvalidInput(f"Key {kid} has already expired.", code="invalid_jwk")
        expires = min(expires, requested)
    public = {k: v for k, v in key.as_dict(private=False).items()}
    public.update({name: jwk[name] for name in ("use", "alg") if name in jwk})
    return kid, public, expires


async def set_client_keys(database: Database, actor: Actor, owner_orgno: str | None, client_id: str,
                          jwks: schemas.JwkSet) -> list[schemas.ClientKeyPublic]:
    """Replace the client's whole key set (as `POST /clients/{id}/jwks`); each key is valid at most one year."""
    now = utcnow()
    parsed = [_public_jwk(jwk, now) for jwk in jwks.keys]
    if len({kid for kid, _, _ in parsed}) != len(parsed):
        raise InvalidInput("Two keys have the same kid.", code="invalid_jwk")
    async with _change(database) as session:
        await _owned_client(session, owner_orgno, client_id)
        await session.execute(delete(ClientKey).where(ClientKey.client_id == client_id))
        rows = [ClientKey(client_id=client_id, kid=kid, jwk=jwk, created=now, expires_at=expires)
                for kid, jwk, expires in parsed]
        session.add_all(rows)
        await _log(session, actor, "set_keys", "client", client_id, {"kids": [kid for kid, _, _ in parsed]})
    return [schemas.ClientKeyPublic(kid=r.kid, jwk=r.jwk, created=r.created, expires_at=r.expires_at) for r in rows]


async def list_client_keys(database: Database, owner_orgno: str | None, client_id: str
                           ) -> list[schemas.ClientKeyPublic]:
    async with database.transaction() as session:
        await _owned_client(session, owner_orgno, client_id)
        rows = await session.scalars(select(ClientKey).where(ClientKey.client_id == client_id))
        return [schemas.ClientKeyPublic(kid=r.kid, jwk=r.jwk, created=r.created, expires_at=r.expires_at)
                for r in rows]


# --- scopes -------------------------------------------------------------------------------------------------
def _scope_public(scope: Scope) -> schemas.ScopePublic:
    return schemas.ScopePublic.model_validate(scope, from_attributes=True)


async def assign_prefix(database: Database, actor: Actor, prefix: str, owner_orgno: str) -> None:
    """Digdir gives a prefix to an API provider (an administrator's act)."""
    async with _change(database) as session:
        existing = await session.get(ScopePrefix, prefix)
        if existing is not None:
            if existing.owner_orgno != owner_orgno:
                raise Conflict(f"Prefix {prefix} belongs to {existing.owner_orgno}.", code="prefix_taken")
            return
        session.add(ScopePrefix(prefix=prefix, owner_orgno=owner_orgno, created=utcnow()))
        await _log(session, actor, "assign_prefix", "scope_prefix", prefix, {"owner_orgno": owner_orgno})


async def create_scope(database: Database, actor: Actor, owner_orgno: str, data: schemas.ScopeCreate
                       ) -> schemas.ScopePublic:
    name = f"{data.prefix}:{data.subscope}"
    now = utcnow()
    async with _change(database) as session:
        prefix = await session.get(ScopePrefix, data.prefix)
        if prefix is None or prefix.owner_orgno != owner_orgno:
            raise Forbidden(f"The prefix {data.prefix} is not yours.", code="not_prefix_owner")
        if await session.get(Scope, name) is not None:
            raise Conflict(f"Scope {name} exists (scopes are never deleted).", code="scope_exists")
        scope = Scope(name=name, owner_orgno=owner_orgno, active=True, created=now, last_updated=now,
                      **data.model_dump())
        session.add(scope)
        await _log(session, actor, "create", "scope", name, data.model_dump(mode="json", exclude_none=True))
    return _scope_public(scope)


async def list_scopes(database: Database, owner_orgno: str | None = None) -> list[schemas.ScopePublic]:
    async with database.transaction() as session:
        query = select(Scope).where(Scope.active.is_(True))
        if owner_orgno is not None:
            query = query.where(Scope.owner_orgno == owner_orgno)
        else:
            query = query.where(Scope.visibility == "PUBLIC")
        return [_scope_public(s) for s in await session.scalars(query.order_by(Scope.name))]


async def _owned_scope(session: AsyncSession, owner_orgno: str, name: str) -> Scope:
    scope = await session.get(Scope, name)
    if scope is None or scope.owner_orgno != owner_orgno:
        raise NotFound(f"No scope {name} of yours.", code="scope_not_found")
    return scope


async def set_scope_access(database: Database, actor: Actor, owner_orgno: str, scope_name: str,
                           consumer_orgno: str, *, approved: bool) -> schemas.ScopeAccessPublic:
    """The scope's owner grants (or withdraws) one consumer organisation's access."""
    now = utcnow()
    async with _change(database) as session:
        scope = await _owned_scope(session, owner_orgno, scope_name)
        access = await session.get(ScopeAccess, (scope_name, consumer_orgno), with_for_update=True)
        state = "APPROVED" if approved else "DENIED"
        if access is None:
            if not approved:
                raise NotFound(f"{consumer_orgno} has no access to {scope_name}.", code="access_not_found")
            access = ScopeAccess(scope=scope_name, consumer_orgno=consumer_orgno, state=state, created=now,
                                 last_updated=now)
            session.add(access)
        else:
            access.state, access.last_updated = state, now
        await _log(session, actor, "grant_access" if approved else "revoke_access", "scope_access",
                   f"{scope_name} {consumer_orgno}", {"state": state})
    return schemas.ScopeAccessPublic(scope=scope_name, state=state, consumer_orgno=consumer_orgno,
                                     owner_orgno=scope.owner_orgno, created=access.created, last_updated=now)


async def list_scope_access(database: Database, owner_orgno: str, scope_name: str
                            ) -> list[schemas.ScopeAccessPublic]:
    async with database.transaction() as session:
        scope = await _owned_scope(session, owner_orgno, scope_name)
        rows = await session.scalars(select(ScopeAccess).where(ScopeAccess.scope == scope_name)
                                     .order_by(ScopeAccess.consumer_orgno))
        return [schemas.ScopeAccessPublic(scope=r.scope, state=r.state, consumer_orgno=r.consumer_orgno,
                                          owner_orgno=scope.owner_orgno, created=r.created,
                                          last_updated=r.last_updated) for r in rows]


async def set_delegation(database: Database, actor: Actor, consumer_orgno: str, scope_name: str,
                         supplier_orgno: str, *, active: bool) -> schemas.DelegationPublic:
    """A consumer with access to a delegable scope lets a supplier ask for tokens on its behalf."""
    now = utcnow()
    async with _change(database) as session:
        scope = await session.get(Scope, scope_name)
        if scope is None or scope.delegation_source is None:
            raise InvalidInput(f"Scope {scope_name} cannot be delegated.", code="scope_not_delegable")
        access = await session.get(ScopeAccess, (scope_name, consumer_orgno))
        if active and not (scope.accessible_for_all or scope.owner_orgno == consumer_orgno or (
                access is not None and access.state == "APPROVED")):
            raise Forbidden(f"{consumer_orgno} has no access to {scope_name} to delegate.", code="no_access")
        row = await session.get(ScopeDelegation, (scope_name, consumer_orgno, supplier_orgno), with_for_update=True)
        if row is None:
            row = ScopeDelegation(scope=scope_name, consumer_orgno=consumer_orgno, supplier_orgno=supplier_orgno,
                                  active=active, created=now, last_updated=now)
            session.add(row)
        else:
            row.active, row.last_updated = active, now
        await _log(session, actor, "delegate" if active else "withdraw_delegation", "scope_delegation",
                   f"{scope_name} {consumer_orgno} {supplier_orgno}")
    return schemas.DelegationPublic(scope=scope_name, consumer_orgno=consumer_orgno, supplier_orgno=supplier_orgno,
                                    active=active, created=row.created)


async def changes_of(database: Database, entity_type: str, entity_id: str) -> list[schemas.ChangePublic]:
    async with database.transaction() as session:
        rows = await session.scalars(
            select(ChangeLogEntry).where(ChangeLogEntry.entity_type == entity_type,
                                         ChangeLogEntry.entity_id == entity_id)
            .order_by(ChangeLogEntry.occurred_at, ChangeLogEntry.id))
        return [schemas.ChangePublic.model_validate(r, from_attributes=True) for r in rows]


@job_handler("identity.purge_change_log", every=timedelta(days=1))
async def purge_change_log(payload: dict[str, Any], context: JobContext) -> None:
    """The self-service change log is kept 12 months (the terms of use, 1.6.1.1), then deleted."""
    await context.session.execute(
        delete(ChangeLogEntry).where(ChangeLogEntry.occurred_at < utcnow() - CHANGE_LOG_RETENTION))
