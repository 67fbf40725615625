"""The login pages of ID-porten and Ansattporten: the eID chooser, each eID's own page, error and logout pages.

They render in the portal's shell (`base.html`, Designsystemet, nb/nn/en). Messages of these pages live in
`identity/locales/<language>.json`; anything else falls back to the portal's catalogue.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from felles import __version__
from felles.core.errors import InvalidInput, NotFound
from felles.core.i18n import LANGUAGE_AUTONYMS, SUPPORTED_LANGUAGES, translate
from felles.core.middleware import content_security_policy
from felles.core.runtime import Runtime
from felles.identity import service_logins
from felles.identity.eid import LoginPageContext, eid_methods, offered_methods
from felles.identity.issuers import ANSATTPORTEN, OidcIssuer
from felles.identity.service_logins import AuthorizationOutcome, OrganizationChoicePage
from felles.identity.service_protocol import AuthorizationPageError
from felles.portal.shell import LANGUAGE_QUERY_PARAMETER, PORTAL_DIR, page_language

IDENTITY_DIR = Path(__file__).parent
# One cookie names the browser; its SSO sessions (shared and isolated) hang off it.
BROWSER_COOKIE = "felles_sso"
# Ansattporten's organisation chooser, under the issuer's path.
ORGANIZATION_CHOOSER_PATH = "/organizations"
templates = Jinja2Templates(directory=IDENTITY_DIR / "templates")
# Our templates first, then the portal's, so ours can extend its base.html.
templates.env.loader = ChoiceLoader([FileSystemLoader(IDENTITY_DIR / "templates"),
                                     FileSystemLoader(PORTAL_DIR / "templates")])
# Compiled templates are reused without a look at their files on every render (a stat per template and render
# otherwise): an edited template shows after a restart, as an edited module does.
templates.env.auto_reload = False


async def _current_runtime(request: Request) -> Runtime:
    """The process's runtime. An async dependency: FastAPI runs a plain `def` one in its thread pool, a thread
    hop on every request of the token endpoints and login pages."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_current_runtime)]


@cache
def _messages(language: str) -> dict[str, str]:
    path = IDENTITY_DIR / "locales" / f"{language}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _translate(key: str, language: str, **params: object) -> str:
    message = _messages(language).get(key) or _messages("nb").get(key)
    if message is None:
        return translate(key, language, **params)
    return message.format_map(params) if params else message


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
           language: str | None = None) -> HTMLResponse:
    chosen = language if language in SUPPORTED_LANGUAGES else page_language(request)
    root_path = request.scope.get("root_path", "")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != LANGUAGE_QUERY_PARAMETER]
    links = [{"language": code, "name": LANGUAGE_AUTONYMS[code], "current": code == chosen,
              "href": "?" + urlencode([*kept, (LANGUAGE_QUERY_PARAMETER, code)])} for code in SUPPORTED_LANGUAGES]
    response = templates.TemplateResponse(request, template, {
        **context, "language": chosen, "t": lambda key, **params: _translate(key, chosen, **params),
        "language_links": links, "url": lambda path: f"{root_path}{path}", "version": __version__,
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    # The login pages must not be framed by others (clickjacking of the login).
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Language"] = chosen
    return response


def _login_language(request: Request, locale: str) -> str | None:
    """A language picked on the page wins; else the client's ui_locales (se shows as Bokmål)."""
    if request.query_params.get(LANGUAGE_QUERY_PARAMETER):
        return None
    return locale if locale in SUPPORTED_LANGUAGES else "nb"


def error_page(request: Request, detail: str, *, status_code: int = 400) -> HTMLResponse:
    return render(request, "identity/error.html", {"detail": detail}, status_code=status_code)


def form_post(request: Request, action: str, values: dict[str, str]) -> HTMLResponse:
    """response_mode=form_post: a form that posts itself to the client."""
    root_path = request.scope.get("root_path", "")
    return templates.TemplateResponse(request, "identity/form_post.html", {
        "action": action, "values": values, "url": lambda path: f"{root_path}{path}",
    }, headers={"Cache-Control": "no-store"})


def logged_out(request: Request, frontchannel_urls: list[str], redirect_to: str | None) -> HTMLResponse:
    response = render(request, "identity/logged_out.html",
                      {"frontchannel_urls": frontchannel_urls, "redirect_to": redirect_to})
    # The services taking part in the session are told in frames: this page may frame those origins (only).
    origins = sorted({_origin(url) for url in frontchannel_urls})
    response.headers["Content-Security-Policy"] = content_security_policy(frame_src=" ".join(["'self'", *origins]))
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def browser_response(request: Request, outcome: AuthorizationOutcome) -> Response:
    """Send the browser back to the client (query redirect or auto-posted form), or first to Ansattporten's
    organisation chooser, keeping its SSO cookie."""
    if outcome.organization_choice_id is not None:
        response: Response = RedirectResponse(
            f"{request.scope.get('root_path', '')}{ANSATTPORTEN.path}{ORGANIZATION_CHOOSER_PATH}/"
            f"{outcome.organization_choice_id}", status_code=303)
    else:
        assert outcome.redirect_to is not None
        response = RedirectResponse(outcome.redirect_to, status_code=303) if outcome.form_post is None else \
            form_post(request, outcome.redirect_to, outcome.form_post)
    if outcome.browser_id is not None:
        set_browser_cookie(request, response, outcome.browser_id)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_browser_cookie(request: Request, response: Response, browser_id: str) -> None:
    response.set_cookie(BROWSER_COOKIE, browser_id, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")



def login_routes(issuer: OidcIssuer) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    async def _login(runtime: RuntimeDep, login_id: str) -> service_logins.PendingLogin:
        login = await service_logins.pending_login(runtime.database, issuer, login_id)
        if login is None or login.expired:
            raise AuthorizationPageError("This login has expired or is finished; start again from the service.")
        return login

    @routes.get("/login/{login_id}", response_model=None)
    async def chooser(request: Request, runtime: RuntimeDep, login_id: str) -> Response:
        """Velg elektronisk ID: the eIDs that reach the level the service asks for."""
        try:
            login = await _login(runtime, login_id)
        except AuthorizationPageError as exc:
            return error_page(request, exc.description)
        return render(request, "identity/chooser.html", {
            "login": login, "methods": offered_methods(login.level), "issuer": issuer,
        }, language=_login_language(request, login.locale))

    @routes.api_route("/login/{login_id}/{method_name}", methods=["GET", "POST"], response_model=None)
    async def method_page(request: Request, runtime: RuntimeDep, login_id: str, method_name: str) -> Response:
        try:
            login = await _login(runtime, login_id)
        except AuthorizationPageError as exc:
            return error_page(request, exc.description)
        method = eid_methods().get(method_name)
        if method is None or not method.offers(login.level):
            return error_page(request, "This eID cannot be used for this login.", status_code=404)
        context = LoginPageContext(login=login, database=runtime.database, issuer_path=issuer.path,
                                   render=lambda req, template, ctx: render(
                                       req, template, ctx, language=_login_language(req, login.locale)))
        if request.method == "GET":
            return await method.page(request, context)
        try:
            person = await method.authenticate(request, context)
            outcome = await service_logins.complete_login(runtime.database, runtime.settings, issuer, login_id, person,
                                                   request.cookies.get(BROWSER_COOKIE))
        except (InvalidInput, NotFound) as exc:
            return error_page(request, exc.detail)
        except AuthorizationPageError as exc:
            return error_page(request, exc.description)
        return browser_response(request, outcome)

    @routes.get("/login", response_model=None)
    async def no_login() -> Response:
        return RedirectResponse("/", status_code=303)

    if issuer.name == ANSATTPORTEN.name:
        routes.include_router(organization_chooser_routes(issuer))
    return routes


def _chooser_page(request: Request, page: OrganizationChoicePage) -> HTMLResponse:
    return render(request, "identity/organizations.html", {"choice": page},
                  status_code=400 if page.problem else 200, language=_login_language(request, page.locale))


def organization_chooser_routes(issuer: OidcIssuer) -> APIRouter:
    """Velg virksomhet: after the login, the organisations the person may represent for the service."""
    routes = APIRouter(prefix=ORGANIZATION_CHOOSER_PATH, include_in_schema=False)

    @routes.get("/{choice_id}", response_model=None)
    async def organization_chooser(request: Request, runtime: RuntimeDep, choice_id: str) -> Response:
        try:
            step = await service_logins.organization_choice(runtime.database, runtime.settings, issuer, choice_id,
                                                     request.cookies.get(BROWSER_COOKIE))
        except AuthorizationPageError as exc:
            return error_page(request, exc.description)
        if isinstance(step, AuthorizationOutcome):
            return browser_response(request, step)
        return _chooser_page(request, step)

    @routes.post("/{choice_id}", response_model=None)
    async def choose_organizations(request: Request, runtime: RuntimeDep, choice_id: str) -> Response:
        form = await request.form()
        try:
            step = await service_logins.choose_organizations(
                runtime.database, runtime.settings, issuer, choice_id, request.cookies.get(BROWSER_COOKIE),
                action=str(form.get("action", "choose")),
                chosen=[value for value in form.getlist("orgno") if isinstance(value, str)])
        except AuthorizationPageError as exc:
            return error_page(request, exc.description)
        if isinstance(step, AuthorizationOutcome):
            return browser_response(request, step)
        return _chooser_page(request, step)

    return routes
