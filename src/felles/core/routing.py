"""Including component routers so that a request only tries the routes of the component it can belong to.

FastAPI 0.165 tries every included router in turn, and each one tries every route it holds, so a request for the
last component first pays for matching all the routes of the ones before it (and a 404 pays for all of them
twice, once more for the trailing-slash redirect). Every component's paths start with a few fixed first
segments (`/rest`, `/authorization`, `/maskinporten` ...), so an included router that knows them can say "no
match" from one set lookup; the routers a component includes are gated by the shapes of their paths (the app
API's parts, whose paths all start with `/{org}/{app}`, are told apart by the segments after).
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

# A route whose first segment is a path parameter can match anything, so its router has no first-segment gate.
_ANY_FIRST_SEGMENT = None
# A path's shape: its segments, None for each that holds a path parameter.
Shape = tuple[str | None, ...]


def _first_segment(path: str) -> str | None:
    segment = path.lstrip("/").split("/", 1)[0]
    return _ANY_FIRST_SEGMENT if segment.startswith("{") else segment


def _shapes_of(paths: list[str]) -> dict[int, list[Shape]] | None:
    """A router's paths by their number of segments, as shapes; None when a path parameter may span segments
    (`{name:path}`), as then no number of segments rules a path out."""
    shapes: dict[int, list[Shape]] = {}
    for path in paths:
        if ":path}" in path:
            return None
        shape = tuple(None if "{" in segment else segment for segment in path.lstrip("/").split("/"))
        shapes.setdefault(len(shape), []).append(shape)
    return shapes


_SEGMENTS = "felles.route_segments"


def _segments(scope: Scope) -> list[str]:
    """The request path's segments, split once per request however many gates look at them (kept in the scope
    with the path they are of: a trailing-slash retry matches a copy of the scope with another path)."""
    path = get_route_path(scope)
    held = scope.get(_SEGMENTS)
    if held is not None and held[0] == path:
        segments: list[str] = held[1]
        return segments
    segments = path.lstrip("/").split("/")
    scope[_SEGMENTS] = (path, segments)
    return segments


def _fits(segments: list[str], shapes: dict[int, list[Shape]]) -> bool:
    return any(all(fixed is None or fixed == segment for fixed, segment in zip(shape, segments, strict=True))
               for shape in shapes.get(len(segments), ()))


@dataclass
class _GatedRouter(_IncludedRouter):
    """An included router that declines at once a path none of its routes can match: one whose first segment
    none of them starts with (`first_segments`, for a component's router), or whose segments fit the shape of
    none of them (`shapes`, for the routers a component includes); its own included routers are gated so too.

    It stays an `_IncludedRouter`, so the OpenAPI document, `url_path_for` and dependency handling see it as
    FastAPI's own. The app routes all start with path parameters (`/{org}/{app}/...`), so the apps router has no
    first-segment gate, but a request tries the routes of only those of its parts (instances, data, process,
    metadata ...) that have a route of its shape.
    """

    first_segments: frozenset[str] | None = None
    shapes: dict[int, list[Shape]] | None = None
    _gated_version: int | None = None
    _gated_candidates: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, included: _IncludedRouter, *, nested: bool) -> _GatedRouter:
        paths = list(_paths(included.original_router, included.include_context))
        firsts = {_first_segment(path) for path in paths}
        return cls(original_router=included.original_router, include_context=included.include_context,
                   first_segments=None if nested or _ANY_FIRST_SEGMENT in firsts else frozenset(
                       segment for segment in firsts if segment is not None),
                   shapes=_shapes_of(paths) if nested else None)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and (self.first_segments is not None or self.shapes is not None):
            segments = _segments(scope)
            if self.first_segments is not None and segments[0] not in self.first_segments:
                return Match.NONE, {}
            if self.shapes is not None and not _fits(segments, self.shapes):
                return Match.NONE, {}
        return super().matches(scope)

    def effective_candidates(self) -> list[Any]:
        candidates = super().effective_candidates()
        if self._gated_version != self._effective_candidates_version:
            self._gated_candidates = [_GatedRouter.of(candidate, nested=True)
                                      if type(candidate) is _IncludedRouter else candidate
                                      for candidate in candidates]
            self._gated_version = self._effective_candidates_version
        return self._gated_candidates


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
    if isinstance(included, _IncludedRouter):
        app.router.routes[-1] = _GatedRouter.of(included, nested=False)


def build_every_route(app: FastAPI) -> None:
    """Build now how every route handles a request, which FastAPI otherwise does on a component's first request:
    a supervisor that forks its server processes from the built app does it once, for all of them."""
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for _context in route.effective_route_contexts():
                pass
