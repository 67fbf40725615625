"""Including component routers so that a request only tries the routes of the component it can belong to.

FastAPI 0.165 tries every included router in turn, and each one tries every route it holds, so a request for the
last component first pays for matching all the routes of the ones before it (and a 404 pays for all of them
twice, once more for the trailing-slash redirect). Every component's paths start with a few fixed first
segments (`/rest`, `/authorization`, `/maskinporten` ...), so an included router that knows them can say "no
match" from one set lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from felles.core.tokens import AuthenticatedRoute, authenticated_routes

# A route whose first segment is a path parameter can match anything, so its router is never skipped.
_ANY_FIRST_SEGMENT = None


def _first_segment(path: str) -> str | None:
    segment = path.lstrip("/").split("/", 1)[0]
    return _ANY_FIRST_SEGMENT if segment.startswith("{") else segment


@dataclass
class _FirstSegmentGatedRouter(_IncludedRouter):
    """An included router that declines at once a path whose first segment none of its routes starts with.

    It stays an `_IncludedRouter`, so the OpenAPI document, `url_path_for` and dependency handling see it as
    FastAPI's own.
    """

    first_segments: frozenset[str] = field(default_factory=frozenset)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and _first_segment(get_route_path(scope)) not in self.first_segments:
            return Match.NONE, {}
        return super().matches(scope)


def _all_routes(router: APIRouter) -> Iterator[BaseRoute]:
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            yield from _all_routes(route.original_router)
        else:
            yield route


def _paths(router: APIRouter, context: Any) -> Iterator[str]:
    """Every path a router included with `context` (FastAPI's include context) serves, read from its routes without
    building how each handles a request (FastAPI builds that on first use, and the gate lets it happen only for
    the component a request reaches)."""
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            yield from _paths(route.original_router, context.combine(route.include_context))
        else:
            # The include prefix before the route's own path, as FastAPI joins them (`_RouterIncludeContext.path_for`).
            path = getattr(route, "path", None)
            yield context.prefix + path if isinstance(path, str) else "{any}"


def include_component_router(app: FastAPI, router: APIRouter) -> None:
    unguarded = [route.path for route in authenticated_routes(_all_routes(router))
                 if not isinstance(route, AuthenticatedRoute)]
    if unguarded:  # they would read a request's body before checking its token
        raise TypeError(f"Routes needing a token must be AuthenticatedRoute (APIRouter(route_class=...)): "
                        f"{', '.join(unguarded)}")
    app.include_router(router)
    included = app.router.routes[-1]
    if not isinstance(included, _IncludedRouter):
        return
    segments = {_first_segment(path) for path in _paths(included.original_router, included.include_context)}
    if _ANY_FIRST_SEGMENT in segments:
        return
    app.router.routes[-1] = _FirstSegmentGatedRouter(
        original_router=included.original_router,
        include_context=included.include_context,
        first_segments=frozenset(segment for segment in segments if segment is not None),
    )


def build_every_route(app: FastAPI) -> None:
    """Build now how every route handles a request, which FastAPI otherwise does on a component's first request:
    a supervisor that forks its server processes from the built app does it once, for all of them."""
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for _context in route.effective_route_contexts():
                pass
