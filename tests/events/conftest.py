"""A real webhook receiver served by uvicorn on loopback: it answers the validation handshake (or refuses it),
can fail a given number of times, and records every event it accepted."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from felles.core import outbound
from felles.notifications import channels
from tests.conftest import serve_app


@dataclass
class Hook:
    """One receiving endpoint's behaviour and what it got."""

    validate: bool = True
    fail_times: int = 0
    always_fail: bool = False
    validations: int = 0
    attempts: int = 0
    received: list[dict] = field(default_factory=list)


@dataclass
class Receiver:
    base_url: str
    hooks: dict[str, Hook]
    lock: threading.Lock

    def hook(self, name: str, **behaviour) -> str:
        self.hooks[name] = Hook(**behaviour)
        return f"{self.base_url}/hooks/{name}"


@pytest.fixture(autouse=True)
async def _close_pooled_connections() -> AsyncIterator[None]:
    """Job handlers keep webhook and SMTP connections open for the next job (per process and event loop);
    close them after each test, as the servers they lead to stop with it."""
    yield
    await outbound.close_pooled_clients()
    await channels.close_smtp_connections()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks: dict[str, Hook] = {}
    lock = threading.Lock()

    async def receive(request: Request) -> Response:
        hook = hooks[request.path_params["name"]]
        event = await request.json()
        with lock:
            if event["type"] == "platform.events.validatesubscription":
                hook.validations += 1
                return Response(status_code=200 if hook.validate else 400)
            hook.attempts += 1
            if hook.always_fail or hook.fail_times > 0:
                hook.fail_times -= 1
                return Response(status_code=503)
            hook.received.append(event)
        return Response(status_code=200)

    app = Starlette(routes=[Route("/hooks/{name}", receive, methods=["POST"])])
    with serve_app(app) as base_url:
        yield Receiver(base_url, hooks, lock)
