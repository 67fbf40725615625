"""One trace across a request and the job it enqueues: the caller's traceparent is continued by the request's
server span, the job row carries that span, the worker's job span is its child; with OTEL_EXPORTER_OTLP_ENDPOINT
the spans reach an OTLP/HTTP receiver, without it nothing is exported."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from felles.core import tracing
from felles.core.jobs import Job, Worker, enqueue
from felles.core.middleware import RequestContextMiddleware
from tests.operations.job_handlers_for_supervisor import PLUGIN_MODULE

CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
assert PLUGIN_MODULE  # the module registers the job kind used here


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[dict]]]:
    """A local OTLP/HTTP receiver: the JSON documents posted to /v1/traces."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def submitting_app(database, tmp_path) -> FastAPI:
    """An app with the platform's request middleware and one route that enqueues a job, as a submission does."""
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.post("/submit")
    async def submit() -> dict[str, str]:
        async with database.transaction() as session:
            await enqueue(session, "ops_test.append_line", {"file": str(tmp_path / "out"), "n": 1, "delay": 0})
        return {"ok": "yes"}

    return app


def spans_of(documents: list[dict]) -> list[dict]:
    return [span for document in documents for resource in document["resourceSpans"]
            for scope in resource["scopeSpans"] for span in scope["spans"]]


async def test_a_request_and_the_job_it_enqueues_are_one_exported_trace(database, tmp_path, otlp_receiver,
                                                                        monkeypatch):
    endpoint, received = otlp_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    transport = httpx.ASGITransport(app=submitting_app(database, tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as client:
        response = await client.post("/submit", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert response.status_code == 200
    assert await Worker(database).run_until_idle() == 1
    exporter = tracing.configured_exporter()
    assert exporter is not None
    exporter.flush()
    deadline = time.monotonic() + 10
    while len(spans_of(received)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # noqa: ASYNC251 - the receiver runs in its own thread
    spans = {span["name"]: span for span in spans_of(received)}
    server, job = spans["POST /submit"], spans["job ops_test.append_line"]
    assert server["traceId"] == job["traceId"] == CALLER_TRACE
    assert server["parentSpanId"] == CALLER_SPAN and job["parentSpanId"] == server["spanId"]
    assert server["kind"] == tracing.SERVER and job["kind"] == tracing.CONSUMER
    assert {"key": "http.response.status_code", "value": {"intValue": "200"}} in server["attributes"]
    assert int(job["startTimeUnixNano"]) >= int(server["startTimeUnixNano"])
    assert received[0]["resourceSpans"][0]["resource"]["attributes"] == [
        {"key": "service.name", "value": {"stringValue": "felles"}}]


async def test_without_an_endpoint_nothing_is_exported_but_the_job_keeps_the_trace(database, tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configured_exporter() is None
    transport = httpx.ASGITransport(app=submitting_app(database, tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as client:
        await client.post("/submit", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
        await client.post("/submit", headers={"traceparent": "not a traceparent"})
    async with database.transaction() as session:
        carried = [job.traceparent for job in await session.scalars(
            select(Job).where(Job.kind == "ops_test.append_line").order_by(Job.created_at))]
    assert carried[0] is not None and carried[0].startswith(f"00-{CALLER_TRACE}-")
    assert carried[1] is not None and CALLER_TRACE not in carried[1]  # a new trace, not the invalid header's
