"""Each operation's OpenAPI security requirement, derived from the token dependencies of its route.

A route that needs a token depends, directly or through other dependencies, on `authenticate`, whose bearer scheme
FastAPI documents as `[{"HTTPBearer": []}]`. A route whose token must also carry a scope depends on a
`ScopeRequirement`, and any one of its scopes suffices; OpenAPI says "any one of" with one requirement per scope,
`[{"HTTPBearer": ["a"]}, {"HTTPBearer": ["b"]}]` (OpenAPI 3.1 lets any scheme, not only OAuth2, name what an
operation needs). Swagger UI shows a requirement's scopes only for OAuth2 schemes, so the operation's description
names them too. Nothing is declared twice: the dependency that checks the scopes is the one documented.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from felles.core.tokens import ScopeRequirement


def scope_requirements(dependant: Dependant) -> Iterator[tuple[str, ...]]:
    """The scope alternatives of every `ScopeRequirement` a route (or dependency) depends on, at any depth."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, ScopeRequirement) and dependency.call.any_of:
            yield dependency.call.any_of
        yield from scope_requirements(dependency)


def document_security(app: FastAPI, openapi: dict[str, Any]) -> dict[str, Any]:
    """Name the scopes each operation of `app` needs in its security requirement and its description."""
    # The routes as FastAPI's own OpenAPI generation sees them (included routers flattened, their dependencies added).
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        required = sorted(set(scope_requirements(route.dependant)))
        if not required:
            continue
        for method in route.methods or ():
            operation = openapi["paths"][route.path_format][method.lower()]
            schemes = [name for requirement in operation["security"] for name in requirement]
            # Every ScopeRequirement must be met, each by any one of its scopes.
            alternatives = sorted({tuple(sorted(set(choice))) for choice in itertools.product(*required)})
            operation["security"] = [
                {scheme: list(scopes)} for scopes in alternatives for scheme in schemes
            ]
            operation["description"] = "\n\n".join(
                part for part in (operation.get("description"), _scopes_sentence(required)) if part
            )
    return openapi


def _scopes_sentence(required: list[tuple[str, ...]]) -> str:
    clauses = [
        f"the scope `{any_of[0]}`" if len(any_of) == 1
        else "one of the scopes " + ", ".join(f"`{scope}`" for scope in any_of)
        for any_of in required
    ]
    return "**Token:** needs " + " and ".join(clauses) + "."


def install_security_documentation(app: FastAPI) -> None:
    """Let `app.openapi()` (and so /docs) name the scopes each operation needs."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_security(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
