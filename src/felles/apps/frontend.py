"""Altinn's own frontend, app-frontend-react, served over Felles's app API (`FELLES_APP_FRONTEND_DIR`).

An Altinn app serves one HTML page at `/{org}/{app}/` (and at the frontend's own routes under it) that loads
`altinn-app-frontend.js` and `.css` and hands them, in `window.altinnAppGlobalData`, what the frontend needs before
its first call: the app's metadata, its UI folders and settings, its texts and languages, the user's profile and
the selected party (app-lib's `HomeController` and `IndexPageGenerator`). The frontend then calls the app API at
app-lib's paths with the person's Altinn token in the `AltinnStudioRuntime` cookie, and sends the `XSRF-TOKEN`
cookie back as the `X-XSRF-TOKEN` header (`felles.core.tokens`).

Here the person logs in through the portal's ID-porten login; the page exchanges the portal session for an Altinn
token, as Altinn authentication does after an ID-porten login, and sets both cookies. The frontend's build is not
part of Felles: see docs/app-frontend.md for how to make one.
"""

from __future__ import annotations

import json
import secrets
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from felles.apps import access, metadata, parties
from felles.apps.dependencies import AppDep
from felles.apps.deployment import RunningApp
from felles.apps.lenient_json import load_json_file
from felles.core.audit import Actor
from felles.core.errors import NotFound, Unauthorized
from felles.core.middleware import content_security_policy
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import RUNTIME_COOKIE, XSRF_COOKIE, Issuer, Principal, xsrf_token
from felles.identity import service as identity_service
from felles.portal import login

router = APIRouter(include_in_schema=False)

ASSETS = frozenset({"altinn-app-frontend.js", "altinn-app-frontend.css"})
# The frontend sets inline styles and loads its images as data: URLs; its scripts come from this host only, the
# one inline script (the global data) carries the page's nonce, and its validation (ajv) compiles the data model's
# JSON schema into functions, which needs 'unsafe-eval'.
_POLICY_DIRECTIVES = {"style_src": "'self' 'unsafe-inline'", "img_src": "'self' data: blob:"}


def _frontend_dir(runtime: RuntimeDep) -> Path:
    folder = runtime.settings.app_frontend_dir
    if folder is None:  # the router is only included when the setting is made
        raise NotFound("No build of Altinn's frontend is configured.", code="no_app_frontend")
    return folder


FrontendDir = Annotated[Path, Depends(_frontend_dir)]


@router.get("/{org}/{app}/altinn-app-frontend/{asset}")
async def frontend_asset(asset: str, app: AppDep, folder: FrontendDir) -> FileResponse:
    """The frontend's script and style sheet, from the build folder."""
    if asset not in ASSETS or not (folder / asset).is_file():
        raise NotFound(f"The frontend has no {asset}.", code="no_such_asset")
    return FileResponse(folder / asset, headers={"Cache-Control": "no-cache"})


@router.get("/{org}/{app}/")
@router.get("/{org}/{app}/instance-selection")
@router.get("/{org}/{app}/party-selection")
@router.get("/{org}/{app}/party-selection/{error_code}")
@router.get("/{org}/{app}/instance/{party_id}/{instance_guid}")
@router.get("/{org}/{app}/instance/{party_id}/{instance_guid}/{rest:path}")
async def frontend_page(request: Request, app: AppDep, runtime: RuntimeDep, folder: FrontendDir) -> Response:
    """The page that runs Altinn's frontend for a logged-in person; others go through the portal's login."""
    person = await login.signed_in_person(request, runtime)
    if person is None:
        return_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return await login.start_login(request, runtime, return_to.removeprefix(request.scope.get("root_path", "")))
    altinn_token = await _altinn_token(request, runtime)
    nonce = secrets.token_urlsafe(16)
    global_data = await _global_data(request, runtime, app, altinn_token)
    response = HTMLResponse(_page(app.org, app.name, global_data, nonce), headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": content_security_policy(script_src=f"'self' 'nonce-{nonce}' 'unsafe-eval'",
                                                           **_POLICY_DIRECTIVES)})
    _set_runtime_cookies(response, request, runtime, altinn_token)
    return response


@router.get("/{org}/{app}/api/authentication/keepAlive")
async def keep_alive(request: Request, app: AppDep, runtime: RuntimeDep) -> Response:
    """app-lib's keepAlive, which the frontend calls while a person works: a fresh Altinn token in the runtime
    cookie for as long as the portal session lives."""
    if await login.signed_in_person(request, runtime) is None:
        raise Unauthorized("The login has ended; log in again.", code="login_ended")
    response = Response(status_code=200, headers={"Cache-Control": "no-store"})
    _set_runtime_cookies(response, request, runtime, await _altinn_token(request, runtime))
    return response


@router.put("/{org}/{app}/api/authentication/invalidatecookie")
async def invalidate_cookie(request: Request, app: AppDep, runtime: RuntimeDep) -> Response:
    """app-lib's invalidatecookie, which the frontend calls as the person leaves: the runtime cookie (and its XSRF
    token) go. It takes the runtime cookie's own token as the caller's authentication."""
    token = request.cookies.get(RUNTIME_COOKIE)
    if not token:
        raise Unauthorized("No runtime cookie to invalidate.", code="no_runtime_cookie")
    runtime.keys.verify(token)
    response = Response(status_code=200, headers={"Cache-Control": "no-store"})
    secure = request.url.scheme == "https"
    for cookie in (RUNTIME_COOKIE, XSRF_COOKIE):
        response.delete_cookie(cookie, path="/", secure=secure, samesite="lax")
    return response


async def _altinn_token(request: Request, runtime: Runtime) -> str:
    """The portal session's person as an Altinn token, as Altinn authentication exchanges an ID-porten login."""
    return await identity_service.exchange_for_altinn(
        runtime.database, runtime.keys, runtime.settings.base_url, "idporten", request.cookies[login.SESSION_COOKIE])


def _set_runtime_cookies(response: Response, request: Request, runtime: Runtime, altinn_token: str) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(RUNTIME_COOKIE, altinn_token, path="/", httponly=True, samesite="lax", secure=secure,
                        max_age=identity_service.ALTINN_TOKEN_LIFETIME)
    # Readable by the frontend, which sends it back as the X-XSRF-TOKEN header (axios does so by default).
    response.set_cookie(XSRF_COOKIE, xsrf_token(runtime.settings.secret_key, altinn_token), path="/",
                        samesite="lax", secure=secure, max_age=identity_service.ALTINN_TOKEN_LIFETIME)


def _page(org: str, app: str, global_data: dict[str, Any], nonce: str) -> str:
    assets = f"/{org}/{app}/altinn-app-frontend"
    # `</` never appears inside the script: a text could otherwise end it.
    data = json.dumps(global_data, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="no">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1, shrink-to-fit=no">
  <title>{escape(org)} - {escape(app)}</title>
  <link rel="stylesheet" type="text/css" href="{assets}/altinn-app-frontend.css">
</head>
<body>
  <div id="root"></div>
  <script nonce="{nonce}">
    window.org = {json.dumps(org)};
    window.app = {json.dumps(app)};
    window.featureToggles = {{}};
    window.altinnAppGlobalData = {data};
  </script>
  <script src="{assets}/altinn-app-frontend.js"></script>
</body>
</html>
"""


async def _global_data(request: Request, runtime: Runtime, app: RunningApp, altinn_token: str) -> dict[str, Any]:
    """app-lib's `BootstrapGlobalResponse`: what the frontend reads before its first call, shaped as the app API
    answers the same questions (`felles.apps.metadata`, `felles.apps.parties`)."""
    definition = app.definition
    languages = metadata.application_languages(definition)
    wanted = request.query_params.get("lang") or metadata.DEFAULT_LANGUAGE
    caller = await access.caller_of(runtime.database, Principal.from_claims(runtime.keys.verify(altinn_token),
                                                                            Issuer.ALTINN))
    found = await parties.caller_parties(runtime.database, caller, definition)
    chosen = parties.selected_party_id(found, request.cookies.get(parties.PARTY_COOKIE))
    selected = found.own if chosen == found.own["partyId"] else await parties.party_document(
        runtime.database, Actor(caller.actor), chosen)
    profile = await parties.user_profile(runtime.database, caller, found.own)
    global_settings = _optional_json(definition.root / "ui" / "Settings.json")
    return {
        "applicationMetadata": metadata.application_metadata(app),
        "footer": metadata.footer(definition),
        "ui": {"folders": {set_id: metadata.layout_settings(definition, set_id) for set_id in definition.layout_sets},
               "settings": global_settings if isinstance(global_settings, dict) else {}},
        "frontendSettings": metadata.application_settings(definition),
        "availableLanguages": languages,
        "textResources": metadata.texts(app, wanted if len(wanted) == 2 else metadata.DEFAULT_LANGUAGE)
        if languages else None,
        "userProfile": {**profile, "party": parties.masked(profile["party"])},
        "selectedParty": parties.masked(selected),
        # The frontend recolours the logo's SVG (Altinn's, from its CDN): Felles's own mark, from this host.
        "platformFrontendSettings": {"altinnLogoUrl": f"{request.scope.get('root_path', '')}/static/favicon.svg",
                                     "helpCircleIllustrationUrl": "", "postalCodesUrl": ""},
    }


def _optional_json(path: Path) -> Any:
    return load_json_file(path) if path.is_file() else None
