"""Traces across a request and the jobs it causes (W3C Trace Context), exported with OTLP when configured.

The request middleware continues the caller's `traceparent` (or starts a trace) and opens a server span; a job
enqueued while it runs carries the span's `traceparent` in its row, and the worker runs the job in a child span,
so a submission, the jobs it queues and the jobs those queue are one trace, across processes.

With OTEL_EXPORTER_OTLP_ENDPOINT set (e.g. http://collector:4318), finished spans are posted in batches as
OTLP/HTTP JSON to `<endpoint>/v1/traces` from a background thread (OTEL_SERVICE_NAME names the service, default
"felles"). Without it nothing is recorded or sent; the trace ids still travel on requests' logs and jobs.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

log = structlog.get_logger("felles.tracing")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
EXPORT_EVERY_SECONDS = 2.0
MAX_BUFFERED_SPANS = 10_000


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int  # OTLP: 2 server, 5 consumer
    start_ns: int = field(default_factory=time.time_ns)
    end_ns: int = 0
    attributes: dict[str, str | int] = field(default_factory=dict)
    error: bool = False

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


_current: contextvars.ContextVar[Span | None] = contextvars.ContextVar("felles_span", default=None)


def current_traceparent() -> str | None:
    """The `traceparent` of the span this code runs in (what a job enqueued now carries), if any."""
    span = _current.get()
    return span.traceparent if span is not None else None


def current_trace_id() -> str | None:
    span = _current.get()
    return span.trace_id if span is not None else None


SERVER, CONSUMER = 2, 5  # OTLP span kinds


def start_span(name: str, *, parent: str | None, kind: int, attributes: dict[str, str | int] | None = None
               ) -> tuple[Span, contextvars.Token[Span | None]]:
    """Start a span, child of the `traceparent` given (a new trace when there is none or it is not a valid one),
    as the current span; end it with `finish_span`."""
    matched = _TRACEPARENT.match(parent or "")
    trace_id, parent_id = (matched.group(1), matched.group(2)) if matched else (secrets.token_hex(16), None)
    started = Span(trace_id, secrets.token_hex(8), parent_id, name, kind, attributes=dict(attributes or {}))
    return started, _current.set(started)


def finish_span(finished: Span, token: contextvars.Token[Span | None], *, name: str | None = None,
                error: bool = False, attributes: dict[str, str | int] | None = None) -> None:
    """End a span (no longer current); it is exported if an exporter is configured."""
    _current.reset(token)
    finished.end_ns = time.time_ns()
    finished.name = name or finished.name
    finished.error = finished.error or error
    finished.attributes.update(attributes or {})
    exporter = configured_exporter()
    if exporter is not None:
        exporter.add(finished)


@contextmanager
def span(name: str, *, parent: str | None, kind: int,
         attributes: dict[str, str | int] | None = None) -> Iterator[Span]:
    """Run the block in a new span (see `start_span`); an exception marks it failed."""
    current, token = start_span(name, parent=parent, kind=kind, attributes=attributes)
    failed = False
    try:
        yield current
    except BaseException:
        failed = True
        raise
    finally:
        finish_span(current, token, error=failed)


class OtlpExporter:
    """Posts finished spans as OTLP/HTTP JSON, at most every two seconds, from a daemon thread."""

    def __init__(self, endpoint: str, service_name: str) -> None:
        self.url = endpoint.rstrip("/") + "/v1/traces"
        self.service_name = service_name
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        threading.Thread(target=self._run, name="otlp-exporter", daemon=True).start()

    def add(self, finished: Span) -> None:
        with self._lock:
            if len(self._spans) < MAX_BUFFERED_SPANS:  # a collector that is down must not fill the memory
                self._spans.append(finished)

    def _run(self) -> None:
        while True:
            self._wakeup.wait(EXPORT_EVERY_SECONDS)
            self._wakeup.clear()
            self.flush()

    def flush(self) -> int:
        """Post what is buffered now; returns how many spans were sent."""
        with self._lock:
            spans, self._spans = self._spans, []
        if not spans:
            return 0
        try:
            response = httpx.post(self.url, json=self.document(spans), timeout=5)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("traces_not_exported", spans=len(spans), error=repr(exc))
            return 0
        return len(spans)

    def document(self, spans: list[Span]) -> dict[str, Any]:
        return {"resourceSpans": [{
            "resource": {"attributes": [_attribute("service.name", self.service_name)]},
            "scopeSpans": [{"scope": {"name": "felles"}, "spans": [{
                "traceId": each.trace_id, "spanId": each.span_id, "parentSpanId": each.parent_span_id or "",
                "name": each.name, "kind": each.kind, "startTimeUnixNano": str(each.start_ns),
                "endTimeUnixNano": str(each.end_ns),
                "attributes": [_attribute(key, value) for key, value in each.attributes.items()],
                "status": {"code": 2 if each.error else 1},
            } for each in spans]}],
        }]}


def _attribute(key: str, value: str | int) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}


_exporter: tuple[str, OtlpExporter | None] | None = None
_exporter_lock = threading.Lock()


def configured_exporter() -> OtlpExporter | None:
    """The exporter OTEL_EXPORTER_OTLP_ENDPOINT configures (one per process), or None."""
    global _exporter
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if _exporter is not None and _exporter[0] == endpoint:
        return _exporter[1]
    with _exporter_lock:
        if _exporter is None or _exporter[0] != endpoint:
            service = os.environ.get("OTEL_SERVICE_NAME", "felles")
            _exporter = (endpoint, OtlpExporter(endpoint, service) if endpoint else None)
        return _exporter[1]
