"""Logging a person in to the portal's pages (access management, consent ...) through Felles's own ID-porten.

The portal is an ID-porten client of Felles like any service: a page without a session sends the browser through
`/idporten/authorize` (authorization code with PKCE, so an existing ID-porten SSO session logs in without a new
login), the callback redeems the code at ID-porten's token endpoint in process, and the ID-porten access token is
kept in an HttpOnly cookie for as long as it lives. One client and one session serve every portal page, so a
person logs in once. A logout from ID-porten revokes the token, which ends the portal session too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from felles.core.audit import Actor
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import Unauthorized
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import verify_access_token
from felles.identity import schemas as identity_schemas
from felles.identity import selfservice, service_clients, service_tokens
from felles.identity.issuers import IDPORTEN
from felles.identity.service_protocol import OAuthError
from felles.portal.shell import page_language, render_page

router = APIRouter(include_in_schema=False)

CALLBACK_PATH = "/portal/login/callback"
LOGIN_CLIENT_ID = "felles-portal"
SUBSTANTIAL_LEVEL_ACR, HIGH_LEVEL_ACR = "idporten-loa-substantial", "idporten-loa-high"  # ID-porten's levels 3 and 4
PORTAL_OWNER = "991825827"  # Digitaliseringsdirektoratet runs the portal
LOGIN_ACTOR = Actor("system:felles-portal")
SESSION_COOKIE = "felles_portal_session"
LOGIN_COOKIE = "felles_portal_login"
LOGIN_COOKIE_MAX_AGE = 1800
SESSION_LIFETIME = 1800


def _callback_url(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def _login_cookie_path(runtime: Runtime) -> str:
    """The callback's path as the browser sees it (under the platform's path prefix, if it has one)."""
    return urlsplit(_callback_url(runtime.settings)).path


async def ensure_login_client(database: Database, settings: Settings) -> None:
    """The portal's ID-porten client: a public client (PKCE, no secret: the code is redeemed in this process and
    never leaves it), with the callback at this platform's address. A client of that id registered otherwise
    (the demo seed of earlier versions registered it with a secret) is registered again as this one."""
    await selfservice.ensure_platform_client(database, LOGIN_ACTOR, PORTAL_OWNER, identity_schemas.ClientCreate(
        integration_type="idporten", client_name="Altinn", client_id=LOGIN_CLIENT_ID,
        application_type="browser", token_endpoint_auth_method="none",  # noqa: S106 - a method name
        grant_types=["authorization_code"], scopes=["openid"], redirect_uris=[_callback_url(settings)],
        access_token_lifetime=SESSION_LIFETIME,
    ), allow_local_http=not settings.is_production)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def local_path(path: str, **query: str) -> str:
    """A portal page to come back to after login, with the non-empty query values."""
    kept = {key: value for key, value in query.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def _is_local_path(path: str) -> bool:
    # Never another site: "//host" and "/\host" are taken by browsers as another host.
    return path.startswith("/") and not path.startswith(("//", "/\\")) and not urlsplit(path).netloc


async def start_login(request: Request, runtime: Runtime, return_to: str, *,
                      acr: str = SUBSTANTIAL_LEVEL_ACR) -> Response:
    """Send the browser to ID-porten to log in at `acr` (or higher); after login it comes back to `return_to` (a
    local path). A session at a lower level does not do: ID-porten asks for a new login."""
    await ensure_login_client(runtime.database, runtime.settings)
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
    query = urlencode({
        "client_id": LOGIN_CLIENT_ID, "redirect_uri": _callback_url(runtime.settings), "response_type": "code",
        "scope": "openid", "state": state, "nonce": secrets.token_urlsafe(24),
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256",
        "acr_values": acr, "ui_locales": page_language(request),
    })
    response = RedirectResponse(f"{request.scope.get('root_path', '')}{IDPORTEN.path}/authorize?{query}",
                                status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(LOGIN_COOKIE, f"{state} {verifier} {return_to}", max_age=LOGIN_COOKIE_MAX_AGE,
                        path=_login_cookie_path(runtime), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


async def signed_in_claims(request: Request, runtime: Runtime) -> dict[str, Any] | None:
    """The claims of this browser's portal session (`pid`, `acr` …), if it holds a live, unrevoked ID-porten
    token of the portal's client that names a person."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = await verify_access_token(runtime.keys, runtime.database, token, base_url=runtime.settings.base_url)
    except Unauthorized:
        return None
    if claims.get("iss") != IDPORTEN.issuer(runtime.settings.base_url) or claims.get("client_id") != LOGIN_CLIENT_ID:
        return None
    return claims if isinstance(claims.get("pid"), str) else None


async def signed_in_person(request: Request, runtime: Runtime) -> str | None:
    """The person of this browser's portal session (see `signed_in_claims`)."""
    claims = await signed_in_claims(request, runtime)
    return None if claims is None else str(claims["pid"])


def form_token(runtime: Runtime, request: Request, purpose: str) -> str:
    """Ties a posted form to this browser's session and to one kind of page (besides SameSite=Lax)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(runtime.settings.secret_key.encode(), f"{purpose}:{session}".encode(),
                    hashlib.sha256).hexdigest()


def form_token_is_valid(runtime: Runtime, request: Request, purpose: str, given: str) -> bool:
    return bool(request.cookies.get(SESSION_COOKIE)) and hmac.compare_digest(given,
                                                                             form_token(runtime, request, purpose))


def _login_failed(request: Request, reason: str, **detail: str) -> HTMLResponse:
    """The page that says the login was not completed; the log says why (the page tells the person nothing
    an attacker could use). The logger is looked up per failure, a rare event, so that it writes with the
    logging configured at that moment rather than the one of the first failure."""
    structlog.get_logger("felles.portal").warning("portal_login_failed", reason=reason, **detail)
    return render_page(request, "login_error.html", {}, status_code=400)


@router.get(CALLBACK_PATH, response_class=HTMLResponse, name="portal_login_callback", response_model=None)
async def login_callback(request: Request, runtime: RuntimeDep) -> Response:
    """ID-porten sends the browser back here with a code; it becomes the portal session."""
    state, _, rest = request.cookies.get(LOGIN_COOKIE, "").partition(" ")
    verifier, _, return_to = rest.partition(" ")
    given_state = request.query_params.get("state", "")
    if not state:
        return _login_failed(request, "no login under way in this browser (the login cookie is missing)")
    if not hmac.compare_digest(state, given_state):
        return _login_failed(request, "state differs from the one sent to ID-porten")
    if not _is_local_path(return_to):
        return _login_failed(request, "the page to return to is not a local path")
    if "code" not in request.query_params:
        return _login_failed(request, "ID-porten answered without a code",
                             error=request.query_params.get("error", ""),
                             error_description=request.query_params.get("error_description", ""))
    try:
        tokens = await service_tokens.exchange_token(
            runtime.database, runtime.settings, runtime.keys, IDPORTEN, service_clients.ClientCredentials(form={
                "grant_type": "authorization_code", "code": request.query_params["code"], "client_id": LOGIN_CLIENT_ID,
                "redirect_uri": _callback_url(runtime.settings), "code_verifier": verifier}))
    except OAuthError as exc:
        return _login_failed(request, "ID-porten did not redeem the code", error=exc.error,
                             error_description=exc.description)
    response = RedirectResponse(request.scope.get("root_path", "") + return_to, status_code=303,
                                headers={"Cache-Control": "no-store"})
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, tokens["access_token"], max_age=int(tokens["expires_in"]), path="/",
                        httponly=True, samesite="lax", secure=secure)
    response.delete_cookie(LOGIN_COOKIE, path=_login_cookie_path(runtime), httponly=True, samesite="lax",
                           secure=secure)
    return response
