"""A real SMTP server (aiosmtpd on loopback), a real condition endpoint (served by uvicorn) and the settings
the job handlers read, for the notification tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from felles.core import outbound
from felles.core.config import get_settings
from felles.notifications import channels
from felles.notifications.service import CREATE_SCOPE
from felles.registers.population import seed_demo_personas
from tests.conftest import bearer, serve_app

AGENCY = "974761076"  # the service owner ordering notifications
# How long a silent condition endpoint waits before answering (longer than the tests' client timeout).
SILENCE_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received, parsed."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
async def people(database):
    await seed_demo_personas(database)


@pytest.fixture
def agency(token):
    """The service owner's token for creating (and reading) orders."""
    return bearer(token(scopes=[CREATE_SCOPE], org=AGENCY))


@pytest.fixture(autouse=True)
async def _close_pooled_connections() -> AsyncIterator[None]:
    """Job handlers keep webhook and SMTP connections open for the next job (per process and event loop);
    close them after each test, as the servers they lead to stop with it."""
    yield
    await outbound.close_pooled_clients()
    await channels.close_smtp_connections()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def job_settings(settings, smtp_server, monkeypatch):
    """The settings the job handlers read (`get_settings()`, from FELLES_* variables), pointed at the test SMTP
    server and database."""
    _, port = smtp_server
    for name, value in {
        "ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
        "SMS_PROVIDER": "outbox", "EMAIL_RATE_PER_SECOND": "0", "BASE_URL": "http://felles.test",
    }.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@dataclass
class ConditionEndpoint:
    """Answers `GET /condition/{key}` with `{"sendNotification": answers[key]}` and counts the calls; a key in
    `silent` gets no answer within the client's timeout."""

    base_url: str
    answers: dict[str, bool]
    calls: dict[str, int]
    silent: set[str]

    def url(self, key: str) -> str:
        return f"{self.base_url}/condition/{key}"


@pytest.fixture
def condition_endpoint() -> Iterator[ConditionEndpoint]:
    answers: dict[str, bool] = {}
    calls: dict[str, int] = {}
    silent: set[str] = set()

    async def condition(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        calls[key] = calls.get(key, 0) + 1
        if key in silent:
            await asyncio.sleep(SILENCE_SECONDS)
        if key not in answers:
            return JSONResponse({"error": "unknown"}, status_code=500)
        return JSONResponse({"sendNotification": answers[key]})

    app = Starlette(routes=[Route("/condition/{key}", condition)])
    with serve_app(app) as base_url:
        yield ConditionEndpoint(base_url, answers, calls, silent)
