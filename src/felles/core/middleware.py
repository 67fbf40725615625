"""Request ids and request metrics, as pure ASGI middleware (no per-request task overhead)."""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from felles.core.errors import nul_character_problem
from felles.core.ids import uuid7
from felles.core.logging import set_request_id
from felles.core.metrics import HTTP_LATENCY, HTTP_REQUESTS

REQUEST_ID_HEADER = b"x-request-id"
# A client may pass its own id for tracing across systems, if it is a sane token.
_ACCEPTABLE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
# No parameter has a use for a NUL character and PostgreSQL cannot store one: refused here, alike on both databases.
_NUL_IN_QUERY = re.compile(rb"%00|\x00")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = incoming.decode() if _ACCEPTABLE_REQUEST_ID.match(incoming) else uuid7().hex
        scope.setdefault("state", {})["request_id"] = request_id
        set_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            if "\x00" in scope["path"] or _NUL_IN_QUERY.search(scope["query_string"]):
                await nul_character_problem(Request(scope))(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)
            set_request_id(None)
