"""The inbox's own GraphQL endpoint (`POST /inbox/api/graphql`): Arbeidsflate's back end for the person's
profile, favourites, saved searches and notification addresses (Dialogporten's queries go to Dialogporten).

Who asks: the person of the portal's login session (the cookie Arbeidsflate's pages carry), or a person's Altinn
end-user token with the portal's scope. A cookie-borne call must be a JSON POST: a page on another site can send
the cookie only with a form or a simple request, never `application/json` (that needs a CORS preflight, which
this platform does not grant), and the session cookie is SameSite=Lax besides.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from typing import Any

import structlog
from ariadne import graphql
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, TypeInfo, parse, validate

from felles.core.errors import InvalidInput, Problem, Unauthorized
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import (
    ALTINN_END_USER_ISSUERS,
    PORTAL_END_USER_SCOPE,
    AcceptedTokens,
    ScopeRequirement,
    authenticate,
)
from felles.inbox.resolvers import Context, build_schema
from felles.portal import login

router = APIRouter(tags=["inbox"])
log = structlog.get_logger("felles.inbox")

GRAPHQL_PATH = "/inbox/api/graphql"
INBOX_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/inbox",))
_person_token = ScopeRequirement(INBOX_TOKENS, PORTAL_END_USER_SCOPE, person=True)
MAX_QUERY_CHARACTERS = 20_000
SCHEMA = build_schema()
# Arbeidsflate sends the same few documents over and over: each is parsed and validated once per process (the
# validation costs more than answering the profile query). Bounded, so varied documents only churn the cache.
DOCUMENT_CACHE_SIZE = 256


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _parsed(query: str) -> DocumentNode:
    return parse(query)


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _validation_errors(query: str) -> tuple[GraphQLError, ...]:
    return tuple(validate(SCHEMA, _parsed(query)))


def _parse(_context: Any, data: dict[str, Any]) -> DocumentNode:
    return _parsed(data["query"])


def _validate(schema: GraphQLSchema, document_ast: DocumentNode,
              rules: Collection[type[ASTValidationRule]] | None = None, max_errors: int | None = None,
              type_info: TypeInfo | None = None) -> list[GraphQLError]:
    """The spec's rules (ariadne passes those, as no others are configured), remembered per document text."""
    assert schema is SCHEMA and document_ast.loc is not None
    return list(_validation_errors(document_ast.loc.source.body))


async def _person(request: Request, runtime: Runtime) -> str:
    """The person asking: from a Bearer token if one is sent, else from the portal session."""
    if "authorization" in request.headers:
        principal = await _person_token(request, await authenticate(request, None))
        assert principal.person_identifier is not None  # a person's token (ScopeRequirement)
        return principal.person_identifier
    person = await login.signed_in_person(request, runtime)
    if person is None:
        raise Unauthorized("Log in to the portal, or send a person's Altinn token.", code="missing_token",
                           headers={"WWW-Authenticate": "Bearer"})
    return person


def _error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """A resolver's problem keeps its code and text; anything else is logged and told as an internal error."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if isinstance(original, Problem):
        formatted["message"] = original.detail
        formatted["extensions"] = {"code": original.code, "status": original.status}
    elif original is not None:
        log.error("inbox_graphql_resolver_failed", error=repr(original), path=formatted.get("path"))
        formatted["message"] = "Internal server error"
        formatted["extensions"] = {"code": "internal_error", "status": 500}
    return formatted


async def _body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise InvalidInput("Send the GraphQL request as application/json.", code="unsupported_media_type",
                           status=415, title="Unsupported media type")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise InvalidInput("The body is not JSON.", code="invalid_json") from None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise InvalidInput("A GraphQL request is an object with a query.", code="invalid_graphql_request")
    if len(body["query"]) > MAX_QUERY_CHARACTERS:
        raise InvalidInput(f"The query is longer than {MAX_QUERY_CHARACTERS} characters.", code="query_too_long")
    if body.get("variables") is not None and not isinstance(body["variables"], dict):
        raise InvalidInput("variables is an object.", code="invalid_graphql_request")
    return body


@router.post(GRAPHQL_PATH, operation_id="inbox_graphql", response_model=None,
             responses={200: {"description": "The GraphQL result (data and errors)"},
                        400: {"description": "A query that does not parse or validate"}})
async def graphql_endpoint(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Run one GraphQL query or mutation of the inbox's schema (`felles/inbox/schema.graphql`) as the person."""
    person = await _person(request, runtime)
    body = await _body(request)
    ok, result = await graphql(SCHEMA, body, context_value=Context(runtime.database, runtime.settings, person),
                               error_formatter=_error, debug=False, query_parser=_parse, query_validator=_validate)
    return JSONResponse(result, status_code=200 if ok else 400, headers={"Cache-Control": "no-store"})
