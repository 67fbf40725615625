"""Request bodies: a size limit per route, and JSON refused early when no component could use it.

Every body is limited: `DEFAULT_MAX_BODY_BYTES` unless a route declares more with `declare_body_limit(prefix, n)`
(the longest declared path prefix wins), so that an upload route can take large files while a JSON API cannot be
made to buffer them. A declared `Content-Length` over the limit is answered 413 before a byte is read; a body
sent without one (chunked) is counted as it streams, and reading stops at the limit.

JSON bodies (and form posts) are read here in full, within the limit (and `MAX_BUFFERED_BODY_BYTES`), and refused
with a 400 problem when they hold a NUL character (PostgreSQL cannot store one, SQLite would: refused alike on
both) or nest deeper than `MAX_JSON_DEPTH` (the parser would run out of stack). The body is then handed on
unchanged.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from felles.core.errors import nul_character_problem, problem_response

DEFAULT_MAX_BODY_BYTES = 1_000_000
# Deeper than any document the platform takes (XACML requests, forms) and far from the parser's stack limit.
MAX_JSON_DEPTH = 100
# JSON and form bodies are read into memory: at most this much, also on routes that take large uploads.
MAX_BUFFERED_BODY_BYTES = 16_000_000
_declared_limits: dict[str, int] = {}

# A JSON string (escapes skipped whole), or a bracket outside one.
_JSON_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
# The escape \u0000 itself, not an escaped backslash followed by "u0000".
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00|\x00")
_OPENING = frozenset(b"[{")


def declare_body_limit(path_prefix: str, max_bytes: int) -> None:
    """Let the routes under `path_prefix` take bodies up to `max_bytes` (uploads; the default suits JSON).

    A `*` segment in the prefix stands for any one path segment (`/*/*/instances/*/*/data`: an app's data
    elements, whose paths begin with parameters); such a prefix matches whole segments."""
    _declared_limits[path_prefix] = max_bytes


def _under(path: str, prefix: str) -> bool:
    if "*" not in prefix:
        return path.startswith(prefix)
    wanted, segments = prefix.split("/"), path.split("/")
    return len(segments) >= len(wanted) and all(
        segment == expected or (expected == "*" and segment != "")
        for segment, expected in zip(segments, wanted, strict=False))


def body_limit_for(path: str) -> int:
    prefixes = [prefix for prefix in _declared_limits if _under(path, prefix)]
    return _declared_limits[max(prefixes, key=len)] if prefixes else DEFAULT_MAX_BODY_BYTES


def json_nesting_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `max_depth` (brackets inside strings not counted)."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    depth = 0
    for token in _JSON_STRING_OR_BRACKET.finditer(body):
        first = token.group()[0]
        if first in _OPENING:
            depth += 1
            if depth > max_depth:
                return True
        elif first != ord('"'):
            depth -= 1
    return False


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit (FastAPI lets an HTTPException through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the {limit} bytes this endpoint takes.")


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and
                                                media_type.endswith("+json"))


class RequestBodyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["path"])
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse_too_large(scope, receive, send, limit)
            return
        media_type = _media_type(headers)
        if _is_json(media_type) or media_type == "application/x-www-form-urlencoded":
            # Read whole: never more than MAX_BUFFERED_BODY_BYTES, whatever an upload route may take.
            limit = min(limit, MAX_BUFFERED_BODY_BYTES)
            if declared.isdigit() and int(declared) > limit:
                await self._refuse_too_large(scope, receive, send, limit)
                return
            body = await self._read_within(receive, limit)
            if body is None:
                await self._refuse_too_large(scope, receive, send, limit)
                return
            refusal = self._refusal(scope, body, json=_is_json(media_type))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            await self.app(scope, _replaying(body, receive), send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, limit), send_noting_start)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse_too_large(scope, receive, send, limit)

    @staticmethod
    async def _read_within(receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None as soon as it passes `limit` (the rest is not read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _refusal(scope: Scope, body: bytes, *, json: bool) -> ASGIApp | None:
        request = Request(scope)
        if json:
            if b"\\u0000" in body and _JSON_NUL_ESCAPE.search(body):
                return nul_character_problem(request)
            if json_nesting_exceeds(body, MAX_JSON_DEPTH):
                return problem_response(
                    request, status=400, code="json_too_deep", title="JSON nested too deeply",
                    detail=f"Arrays and objects in the request body nest deeper than {MAX_JSON_DEPTH} levels.",
                )
        elif _FORM_NUL.search(body):
            return nul_character_problem(request)
        return None

    @staticmethod
    async def _refuse_too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = BodyTooLarge(limit)
        response = problem_response(Request(scope), status=413, code="content_too_large", title="Content too large",
                                    detail=error.detail, headers={"Connection": "close"})
        await response(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever the client sends next (a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
