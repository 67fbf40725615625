"""The web shell every page renders in: the templates, the page's language and the static assets.

A page handler calls `render_page(request, "x.html", {...})`; the template extends `base.html` and gets
`t("portal.key")` (translate into the page's language), `language`, `language_links` and `url("/path")`
(a path under the app's root path), and the filter `norwegian_time` for a stored time.

The language is chosen with `?lang=nb|nn|en` on any page (remembered in a cookie), else the cookie, else the
browser's `Accept-Language`, else Bokmål.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from felles import __version__
from felles.core.i18n import (
    LANGUAGE_AUTONYMS,
    SUPPORTED_LANGUAGES,
    Language,
    is_supported,
    negotiate_language,
    translate,
)

PORTAL_DIR = Path(__file__).parent
STATIC_DIR = PORTAL_DIR / "static"
LANGUAGE_QUERY_PARAMETER = "lang"
LANGUAGE_COOKIE = "felles_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 60 * 60

templates = Jinja2Templates(directory=PORTAL_DIR / "templates")
NORWEGIAN_TIME = ZoneInfo("Europe/Oslo")


def norwegian_time(moment: datetime) -> str:
    """A stored (UTC) time as a Norwegian reader's clock shows it: `{{ created_at | norwegian_time }}`."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(NORWEGIAN_TIME).strftime("%d.%m.%Y %H:%M:%S")


templates.env.filters["norwegian_time"] = norwegian_time


def _requested_language(request: Request) -> Language | None:
    """The language chosen in this request's `?lang=`, if it is one we speak."""
    value = request.query_params.get(LANGUAGE_QUERY_PARAMETER, "").strip().lower()
    return value if is_supported(value) else None


def _remembered_language(request: Request) -> Language:
    """The language chosen earlier (cookie), else the browser's preference, else Bokmål."""
    return negotiate_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def page_language(request: Request) -> Language:
    return _requested_language(request) or _remembered_language(request)


@dataclass(frozen=True)
class LanguageLink:
    """One choice in the language switch: this same page in another language."""

    language: Language
    name: str
    href: str
    current: bool


def _language_links(request: Request, current: Language) -> list[LanguageLink]:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != LANGUAGE_QUERY_PARAMETER]
    return [
        LanguageLink(
            language=language,
            name=LANGUAGE_AUTONYMS[language],
            # Query-only: the same page (whatever the path prefix), its other parameters kept.
            href="?" + urlencode([*kept, (LANGUAGE_QUERY_PARAMETER, language)]),
            current=language == current,
        )
        for language in SUPPORTED_LANGUAGES
    ]


def render_page(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A page in the shell, in the user's language; remembers a language chosen with `?lang=`."""
    chosen = _requested_language(request)
    language = chosen or _remembered_language(request)
    root_path = request.scope.get("root_path", "")
    response = templates.TemplateResponse(
        request,
        template,
        {
            **(context or {}),
            "language": language,
            "t": lambda key, **params: translate(key, language, **params),
            "language_links": _language_links(request, language),
            "url": lambda path: f"{root_path}{path}",
            "version": __version__,
        },
        status_code=status_code,
    )
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
    response.headers["Content-Language"] = language
    response.headers.add_vary_header("Accept-Language")
    response.headers.add_vary_header("Cookie")
    return response
