"""Altinn's own frontend (a local build of app-frontend-react, see docs/app-frontend.md) in Debian's Chromium
against Felles: a person logs in with TestID, the frontend boots on the app's page and drives the app API with the
runtime cookie and the XSRF token, as it does against an Altinn app.

The build is not part of Felles (it is Altinn's code, built outside the repository): without one these tests are
skipped, saying where they looked. The calls the frontend made that Felles did not answer are printed, the list
docs/app-frontend.md keeps.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, sync_playwright

from felles.app import create_app
from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.tokens import XSRF_HEADER
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from felles.tables import metadata
from tests.conftest import REFERENCE, forget_cached_authorization, free_listener, serve_app
from tests.portal.test_browser import CHROMIUM, CHROMIUM_ARGS

BUILD = Path(os.environ.get("FELLES_TEST_APP_FRONTEND_DIR", "/work/frontend-build/dist"))
TESTAPP = REFERENCE / "altinn-app-api" / "testapp-basic"
KARI = DEMO_PERSONS[0]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (BUILD / "altinn-app-frontend.js").is_file(),
                       reason=f"no build of app-frontend-react at {BUILD} (set FELLES_TEST_APP_FRONTEND_DIR; "
                              "docs/app-frontend.md says how to build one)"),
]


@dataclass
class Session:
    """What the browser did on the app's page: the calls to the app API and what went wrong in the page."""

    page: Page
    base_url: str
    api_calls: list[Request] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[tuple[str, Settings]]:
    """Felles under uvicorn with testapp-basic deployed and the frontend build configured; emptied afterwards."""
    listener = free_listener()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(environment=Environment.TEST, data_dir=tmp_path_factory.mktemp("frontend"),
                        database_url=database_url,
                        base_url=base_url, secret_key="test-secret-key-not-for-production", log_json=False,
                        log_level="WARNING", app_frontend_dir=BUILD)
    async def prepare() -> None:
        forget_cached_authorization()
        database = Database(database_url)
        await seed_demo_personas(database)
        await deployment.deploy_folder(database, TESTAPP, "test")
        await authorization.party_of(database, KARI.identifier)
        await database.dispose()

    asyncio.run(prepare())
    try:
        with serve_app(create_app(settings, run_worker=False), listener) as url:
            yield url, settings
    finally:
        async def empty() -> None:
            database = Database(database_url)
            async with database.transaction() as session:
                for table in reversed(metadata.sorted_tables):
                    await session.execute(table.delete())
            await database.dispose()

        asyncio.run(empty())


@pytest.fixture
def session(live) -> Iterator[Session]:
    base_url, _settings = live
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(locale="nb-NO").new_page()
        watched = Session(page, base_url)
        app_api = f"{base_url}/ttd/basic/"
        page.on("request", lambda request: watched.api_calls.append(request)
                if request.url.startswith(app_api) and request.resource_type in ("fetch", "xhr") else None)
        page.on("response", lambda response: watched.unanswered.append(
            f"{response.request.method} {response.url.removeprefix(base_url)} → {response.status}")
            if response.url.startswith(app_api) and response.status >= 400 else None)
        page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
        try:
            yield watched
        finally:
            print("\nCalls of app-frontend-react Felles did not answer:\n  " + "\n  ".join(watched.unanswered))
            browser.close()


def log_in_on_the_apps_page(session: Session) -> None:
    page = session.page
    page.goto(f"{session.base_url}/ttd/basic/")
    page.get_by_role("link", name="TestID", exact=True).click()
    page.get_by_label("Søk etter testperson").fill(f"{KARI.given} {KARI.family}")
    page.get_by_role("button", name="Søk").click()
    page.get_by_label(f"{KARI.given} {KARI.family} ({KARI.identifier})").check()
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(f"{session.base_url}/ttd/basic/**")


def test_the_frontend_boots_and_calls_the_app_api_as_the_person(session: Session) -> None:
    with session.page.expect_request(lambda request: request.method == "POST"
                                      and "/ttd/basic/instances?" in request.url) as instantiation:
        log_in_on_the_apps_page(session)
    request = instantiation.value
    # The frontend read the selected party from the page and sends the XSRF token the page set.
    assert "instanceOwnerPartyId=" in request.url
    cookies = {cookie["name"]: cookie["value"] for cookie in session.page.context.cookies()}
    assert request.headers.get(XSRF_HEADER.lower()) == cookies["XSRF-TOKEN"]
    assert "AltinnStudioRuntime" in cookies
    assert session.page.evaluate("() => window.altinnAppGlobalData.applicationMetadata.id") == "ttd/basic"


def test_the_frontend_opens_a_new_instance_of_the_app(session: Session) -> None:
    log_in_on_the_apps_page(session)
    # A new instance, on the first page of the data task's layout set.
    session.page.wait_for_url(f"{session.base_url}/ttd/basic/instance/*/*/Task_1/Side1", timeout=15_000)
    session.page.wait_for_load_state("networkidle")
    assert session.unanswered == [] and session.page_errors == []
    assert "Unexpected Application Error" not in session.page.locator("body").inner_text()
