"""The application factory: one FastAPI app serving every component's API and the web pages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from felles import __version__
from felles.apps import api as apps_api
from felles.apps import frontend as apps_frontend
from felles.authorization import api as authorization_api
from felles.authorization import pages as authorization_pages
from felles.broker import api as broker_api
from felles.broker import pages as broker_pages
from felles.consent import api as consent_api
from felles.consent import pages as consent_pages
from felles.core import api as core_api
from felles.core.body_limit import RequestBodyMiddleware
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import install_problem_documentation, install_problem_handlers
from felles.core.jobs import Worker, load_plugin_modules
from felles.core.logging import configure_logging
from felles.core.middleware import RequestContextMiddleware
from felles.core.routing import include_component_router
from felles.core.runtime import Runtime
from felles.core.security_documentation import install_security_documentation
from felles.core.tokens import PlatformKeys
from felles.correspondence import api as correspondence_api
from felles.correspondence import letters_pages as correspondence_letters_pages
from felles.correspondence import nextmove_api as correspondence_nextmove_api
from felles.correspondence import pages as correspondence_pages
from felles.dialogporten import adapter_api as dialogporten_adapter_api
from felles.dialogporten import api as dialogporten_api
from felles.dialogporten import mirrors as dialogporten_mirrors  # noqa: F401 - registers the mirror jobs
from felles.dialogporten import pages as dialogporten_pages
from felles.events import api as events_api
from felles.identity import api as identity_api
from felles.inbox import api as inbox_api
from felles.inbox import pages as inbox_pages
from felles.notifications import api as notifications_api
from felles.notifications import pages as notifications_pages
from felles.operations import api as operations_api
from felles.operations import pages as operations_pages
from felles.portal import docs as portal_docs
from felles.portal import login as portal_login
from felles.portal import pages as portal_pages
from felles.profile import api as profile_api
from felles.profile import pages as profile_pages
from felles.registers import api as registers_api
from felles.storage import api as storage_api

COMPONENT_ROUTERS = (
    core_api.router,
    registers_api.router,
    storage_api.router,
    authorization_api.router,
    identity_api.router,
    events_api.router,
    notifications_api.router,
    portal_pages.router,
    portal_docs.router,
    portal_login.router,
    notifications_pages.router,
    consent_api.router,
    consent_pages.router,
    authorization_pages.router,
    broker_api.router,
    broker_pages.router,
    correspondence_api.router,
    correspondence_pages.router,
    correspondence_nextmove_api.router,
    correspondence_letters_pages.router,
    correspondence_letters_pages.outbox_router,
    dialogporten_api.router,
    dialogporten_adapter_api.router,
    dialogporten_pages.router,
    profile_api.router,
    profile_pages.router,
    inbox_api.router,
    inbox_pages.router,
    operations_api.router,
    operations_pages.router,
    # Last: app routes start with a path parameter (`/{org}/{app}/...`), so every fixed path must win first.
    apps_api.router,
)


def create_app(settings: Settings | None = None, *, run_worker: bool = True) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    load_plugin_modules(settings.plugin_modules)
    runtime = Runtime(settings=settings, database=Database(settings.database_url), keys=PlatformKeys.load(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker_task = None
        if run_worker:
            worker = Worker(runtime.database, poll_seconds=settings.worker_poll_seconds)
            worker_task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            if worker_task is not None:
                worker.stop()
                await worker_task
            await runtime.database.dispose()

    app = FastAPI(
        title="Felles",
        version=__version__,
        summary="Norway's digital-government platform: Altinn 3 and the Digdir common solutions.",
        lifespan=lifespan,
        # The portal serves these pages with their scripts from this host (FastAPI's load them from a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.platform_keys = runtime.keys
    install_problem_handlers(app)
    install_problem_documentation(app)
    # The last added runs first: the request id and headers wrap every answer, the body limit's too.
    app.add_middleware(RequestBodyMiddleware)
    install_security_documentation(app)
    app.add_middleware(RequestContextMiddleware)
    for router in COMPONENT_ROUTERS:
        if router is apps_api.router and settings.app_frontend_dir is not None:
            include_component_router(app, apps_frontend.router)  # Altinn's frontend takes the apps' pages
        include_component_router(app, router)
    portal_pages.install_pages(app)
    return app


def create_app_from_environment() -> FastAPI:
    """The factory uvicorn calls in each server process (settings from FELLES_* variables)."""
    import os

    return create_app(run_worker=os.environ.get("FELLES_RUN_WORKER", "1") == "1")
