"""Authorization requests (plain and pushed, RFC 9126), logins and SSO sessions, and Ansattporten's organisation
chooser: what happens between a client sending the browser to /authorize and the code it gets back."""

from __future__ import annotations

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

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.core.usage import count_usage
from felles.identity import ansattporten
from felles.identity.cache import IdentityCache
from felles.identity.issuers import (
    UI_LOCALES,
    OidcIssuer,
)
from felles.identity.models import (
    AuthorizationRequest,
    Client,
    Grant,
    OrganizationChoice,
    Scope,
    SsoSession,
)
from felles.identity.service_clients import ClientCredentials, active_client, authenticate_client, client_row
from felles.identity.service_protocol import (
    CODE_LIFETIME,
    LOGIN_LIFETIME,
    OIDC_SCOPES,
    ORGANIZATION_CHOICE_LIFETIME,
    PAR_LIFETIME,
    PAR_URN_PREFIX,
    SSO_INACTIVITY,
    SSO_MAX,
    AuthorizationPageError,
    OAuthError,
    b64url,
    new_browser_id,
    resource_audience,
    sha256_hex,
)
from felles.identity.statistics import LOGINS_PER_EID


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
        resource = resource_audience(resource, "invalid_target")
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
        client, _ = await authenticate_client(session, credentials, {issuer_url, f"{issuer_url}/par",
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
        client = await active_client(session, client_id) if client_id else None
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
            client = await client_row(session, login.client_id)
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
        client = await active_client(session, client_id)
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
            sid=b64url(secrets.token_bytes(32)), browser_id=browser_id, issuer=issuer.name, isolation=isolation,
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
    code = b64url(secrets.token_bytes(32))
    if client.client_id not in sso.clients:
        sso.clients = [*sso.clients, client.client_id]
    session.add(Grant(
        id=uuid7(), issuer=issuer.name, client_id=client.client_id, code_hash=sha256_hex(code),
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
        client = await active_client(session, choice.client_id) if choice is not None else None
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
