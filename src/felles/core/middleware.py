"""Request ids, security headers and request metrics, as pure ASGI middleware (no per-request task overhead)."""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from felles.core import tracing
from felles.core.errors import nul_character_problem, unexpected_error_response
from felles.core.ids import uuid7
from felles.core.logging import set_request_id
from felles.core.metrics import HTTP_LATENCY, HTTP_REQUESTS, RESPONSE_TIMES, component_of_route

REQUEST_ID_HEADER = b"x-request-id"
# A client may pass its own id for tracing across systems, if it is a sane token.
_ACCEPTABLE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
# No parameter has a use for a NUL character and PostgreSQL cannot store one: refused here, alike on both databases.
_NUL_IN_QUERY = re.compile(rb"%00|\x00")
# Pages load scripts, styles, images and fonts from this host only (no inline script), and no other site may
# frame them. A response that needs more (the API documentation, front-channel logout frames) sets its own.
_PAGE_POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self'", "object-src": "'none'", "base-uri": "'self'", "frame-ancestors": "'none'",
}


def content_security_policy(**directives: str) -> str:
    """The pages' Content-Security-Policy with some directives set otherwise (`style_src=` sets `style-src`)."""
    policy = {**_PAGE_POLICY, **{name.replace("_", "-"): sources for name, sources in directives.items()}}
    return "; ".join(f"{name} {sources}" for name, sources in policy.items())


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)


def _with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    return [*headers, *((name, value) for name, value in SECURITY_HEADERS if name not in present)]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(REQUEST_ID_HEADER, b"")
        request_id = incoming.decode() if _ACCEPTABLE_REQUEST_ID.match(incoming) else uuid7().hex
        scope.setdefault("state", {})["request_id"] = request_id
        set_request_id(request_id)
        started = time.perf_counter()
        # The caller's trace continues here (W3C traceparent); jobs enqueued by this request carry it on.
        server_span, span_token = tracing.start_span(
            "HTTP", parent=headers.get(b"traceparent", b"").decode("latin-1"), kind=tracing.SERVER,
            attributes={"http.request.method": scope["method"], "felles.request_id": request_id})
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *_with_security_headers(list(message.get("headers", []))), (REQUEST_ID_HEADER, request_id.encode())
                ]
            await send(message)

        try:
            if "\x00" in scope["path"] or _NUL_IN_QUERY.search(scope["query_string"]):
                await nul_character_problem(Request(scope))(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Answered here rather than by Starlette's outermost handler, so that the log line still has the
            # request id and the 500 has the same headers as any other answer.
            if response_started:
                raise
            await unexpected_error_response(Request(scope), exc)(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            component, seconds = component_of_route(template), time.perf_counter() - started
            HTTP_REQUESTS.labels(component, scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(component, scope["method"], template).observe(seconds)
            RESPONSE_TIMES.observe(component, seconds, error=status >= 500)
            tracing.finish_span(server_span, span_token, name=f"{scope['method']} {template}", error=status >= 500,
                                attributes={"http.route": template, "http.response.status_code": status,
                                            "felles.component": component})
            set_request_id(None)
