"""Running the case system: its web server (webhook and case worker's page) on a port of its own, its event
subscriptions on the platform (made once: an existing one for the same endpoint is kept), and a retry of answers
that failed to go out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from felles.casesystem.platform import Credentials, Platform
from felles.casesystem.service import COMPLETED, CaseSystem, Settings
from felles.casesystem.store import CaseStore
from felles.casesystem.web import WEBHOOK, create_app
from felles.core.pdf import PdfRenderer

log = logging.getLogger(__name__)
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Options:
    platform_url: str
    credentials: Credentials
    settings: Settings
    store: Path | None  # None: in memory
    fonts: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    public_url: str | None = None  # how the platform reaches the webhook (default http://host:port)
    temporary: bool = False  # remove its subscriptions when it stops (a demo run on a port of the moment)


def app_resource(app_id: str) -> str:
    return "urn:altinn:resource:app_" + app_id.replace("/", "_")


async def subscribe(platform: Platform, endpoint: str, app_ids: tuple[str, ...]) -> list[int]:
    """Subscribe the endpoint to each app's completed instances, unless it is already; the subscriptions' ids."""
    existing = {(item["endPoint"], item.get("resourceFilter")): int(item["id"])
                for item in await platform.subscriptions()}
    ids = []
    for app_id in app_ids:
        found = existing.get((endpoint, app_resource(app_id)))
        if found is None:
            found = int((await platform.subscribe(endpoint, resource=app_resource(app_id),
                                                  event_type=COMPLETED))["id"])
        ids.append(found)
    return ids


async def _retry_answers(system: CaseSystem) -> None:
    while True:
        await asyncio.sleep(RETRY_SECONDS)
        try:
            await system.answer_decided()
        except Exception:  # the platform may be down for a while; try again later
            log.exception("answers not sent; will retry")


@contextlib.asynccontextmanager
async def running(options: Options) -> AsyncIterator[tuple[CaseSystem, str]]:
    """The case system serving and subscribed; yields it and its own URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, options.port))
    url = options.public_url or f"http://{options.host}:{listener.getsockname()[1]}"
    platform = Platform(options.platform_url, options.credentials)
    store = CaseStore(options.store)
    system = CaseSystem(platform, store, PdfRenderer(options.fonts), options.settings)
    server = uvicorn.Server(uvicorn.Config(create_app(system), log_level="warning", ws="none", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    retrying = asyncio.create_task(_retry_answers(system))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        subscriptions = await subscribe(platform, url.rstrip("/") + WEBHOOK, options.settings.app_ids)
        await system.answer_decided()
        yield system, url
        if options.temporary:
            for subscription in subscriptions:
                await platform.unsubscribe(subscription)
    finally:
        retrying.cancel()
        server.should_exit = True
        await asyncio.gather(serving, retrying, return_exceptions=True)
        listener.close()
        await platform.close()
        store.close()
