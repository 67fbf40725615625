"""Errors as RFC 9457 `application/problem+json`.

The hierarchy, written down once:

- `Problem` — any error a client may see. Carries an HTTP status, a machine-readable `code`, a title and a
  detail. Raised by service functions; turned into a problem document by the handlers installed here.
  - `NotFound` (404), `Conflict` (409), `Forbidden` (403), `Unauthorized` (401),
    `InvalidInput` (400 — a value breaks a domain rule, e.g. a fødselsnummer checksum),
    `PreconditionFailed` (412 — an `If-Match` that no longer matches), `Gone` (410).
- Request validation errors (422) and unknown routes (404) from FastAPI/Starlette are rendered the same way.
- Anything else is a bug: logged with its stack trace and the request id, answered with a bare 500 problem.

A browser (an `Accept` that prefers `text/html` to JSON) gets the same problem as an HTML page instead, from the
renderer the page shell registers with `register_html_problem_renderer` (core knows no templates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
# SQLSTATEs with which PostgreSQL refuses text it cannot hold (a NUL character, or a character the encoding lacks):
# the client sent the value, so it is the client's error, not a bug. SQLite stores such text as it is.
_UNSTORABLE_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


# Codes of the HTTP errors that Starlette and the middleware raise themselves, by status.
_HTTP_ERROR_CODES = {
    401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "content_too_large",
}


def nul_character_problem(request: Request) -> Response:
    return problem_response(
        request, status=400, code="invalid_character", title="Invalid character",
        detail="A value in the request contains a NUL character (or another character that cannot be stored).",
    )


class Problem(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.extra = extra or {}
        self.headers = headers or {}


class InvalidInput(Problem):
    status = 400
    code = "invalid_input"
    title = "Invalid input"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(Problem):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    code = "conflict"
    title = "Conflict"


class Gone(Problem):
    status = 410
    code = "gone"
    title = "Gone"


class PreconditionFailed(Problem):
    status = 412
    code = "precondition_failed"
    title = "Precondition failed"


@dataclass(frozen=True)
class ProblemPage:
    """What an HTML error page shows: the problem, less the machine-only fields."""

    status: int
    code: str
    title: str
    detail: str
    request_id: str | None


HtmlProblemRenderer = Callable[[Request, ProblemPage], Response]
# An API that mirrors a real one answers its problems in that API's own format, for the paths under a prefix.
ProblemFormat = Callable[[Request, int, str, str, str, dict[str, Any], dict[str, str] | None], Response]
_problem_formats: dict[str, ProblemFormat] = {}
_problem_schemas: dict[str, tuple[str, dict[str, Any]]] = {}


def register_problem_format(path_prefix: str, render: ProblemFormat, schema_name: str,
                            schema: dict[str, Any]) -> None:
    """Answer every problem under `path_prefix` (the handlers' and the middleware's) with `render(request,
    status, code, title, detail, extra, headers)` instead of Felles's own document; the OpenAPI document
    describes those error responses with `schema` (as `schema_name`)."""
    _problem_formats[path_prefix] = render
    _problem_schemas[path_prefix] = (schema_name, schema)


def register_html_problem_renderer(app: FastAPI, renderer: HtmlProblemRenderer) -> None:
    """Let browsers see problems as pages: `renderer` makes the HTML response for one problem."""
    app.state.html_problem_renderer = renderer


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def prefers_html(accept: str | None) -> bool:
    """Whether an `Accept` header ranks `text/html` above every JSON type (a browser, not an API client).

    A wildcard does not count for HTML: `*/*` alone (curl, most HTTP libraries) gets JSON.
    """
    html = json = 0.0
    for item in (accept or "").split(","):
        media_type, _, parameters = item.partition(";")
        media_type = media_type.strip().lower()
        quality = _quality(parameters)
        if media_type in ("text/html", "application/xhtml+xml"):
            html = max(html, quality)
        elif media_type in ("application/json", PROBLEM_MEDIA_TYPE) or media_type.endswith("+json"):
            json = max(json, quality)
    return html > json


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    request_id = getattr(request.state, "request_id", None)
    app = request.scope.get("app")
    renderer: HtmlProblemRenderer | None = getattr(app.state, "html_problem_renderer", None) if app else None
    if renderer is not None and prefers_html(request.headers.get("accept")):
        page = renderer(request, ProblemPage(status=status, code=code, title=title, detail=detail,
                                             request_id=request_id))
        page.headers.update(headers or {})
        page.headers.add_vary_header("Accept")
        return page
    for prefix, render in _problem_formats.items():
        if request.url.path.startswith(prefix):
            return render(request, status, code, title, detail, extra or {}, headers)
    body: dict[str, Any] = {
        "type": f"urn:felles:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    if request_id:
        body["requestId"] = request_id
    if extra:
        body.update(extra)
    response = JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)
    response.headers.add_vary_header("Accept")
    return response


def unexpected_error_response(request: Request, exc: BaseException) -> Response:
    """A bug: logged with its stack trace and the request id (also when the log context is gone), answered 500."""
    # A logger fetched now, not one cached at import, follows the logging configuration of the moment (tests
    # capture what it writes).
    structlog.get_logger("felles.errors").error(
        "unhandled_error", path=request.url.path, request_id=getattr(request.state, "request_id", None), exc_info=exc
    )
    return problem_response(
        request, status=500, code="internal_error", title="Internal error",
        detail="An unexpected error occurred; it has been logged with this request id.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(
            request, status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
            extra=exc.extra, headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"location": list(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return problem_response(
            request, status=422, code="validation_failed", title="The request is not valid",
            detail="; ".join(f"{'.'.join(map(str, e['location']))}: {e['message']}" for e in errors),
            extra={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(
            request, status=exc.status_code, code=code, title=detail, detail=detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        if getattr(exc.orig, "sqlstate", None) in _UNSTORABLE_TEXT_SQLSTATES:
            return nul_character_problem(request)
        return unexpected_error_response(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_error_response(request, exc)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is machine-readable and stable.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "requestId": {"type": "string"},
        # A list of failures, or (Dialogporten's ProblemDetails, which its clients read) messages by field.
        "errors": {"anyOf": [
            {"type": "array", "items": {"type": "object"}},
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}]},
    },
    "additionalProperties": True,
}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Describe every error response as what it is: `application/problem+json` with the Problem schema
    (FastAPI would otherwise document its own JSON shapes for 422 and declared errors)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in openapi.get("paths", {}).items():
        name = "Problem"
        for prefix, (schema_name, schema) in _problem_schemas.items():
            if path.startswith(prefix):
                name, schemas[schema_name] = schema_name, schema
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45" or status == "default":
                    response["content"] = {
                        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    }
    return openapi


def install_problem_documentation(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
