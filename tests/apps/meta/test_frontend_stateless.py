"""A stateless form in Altinn's own frontend (a local build of app-frontend-react, see docs/app-frontend.md) over
Felles: the frontend draws the form from one bootstrap-form call. Skipped, saying where it looked, without a build."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.sync_api import sync_playwright

from felles.app import create_app
from felles.apps import deployment
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from felles.tables import metadata
from tests.apps.compat.test_frontend_browser import BUILD
from tests.conftest import REFERENCE, free_listener, serve_app
from tests.portal.test_browser import CHROMIUM, CHROMIUM_ARGS

ANONYMOUS_APP = REFERENCE / "altinn-apps" / "altinn-studio-anonymous-stateless-app"
KARI = DEMO_PERSONS[0]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (BUILD / "altinn-app-frontend.js").is_file(),
                       reason=f"no build of app-frontend-react at {BUILD} (set FELLES_TEST_APP_FRONTEND_DIR; "
                              "docs/app-frontend.md says how to build one)"),
]


@pytest.fixture
def live(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:
    """Felles under uvicorn with the anonymous stateless app deployed and the frontend build configured."""
    listener = free_listener()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(environment=Environment.TEST, data_dir=tmp_path_factory.mktemp("stateless-frontend"),
                        database_url=database_url, base_url=base_url,
                        secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING",
                        app_frontend_dir=BUILD)

    async def prepare() -> None:
        database = Database(database_url)
        await seed_demo_personas(database)
        await deployment.deploy_folder(database, ANONYMOUS_APP, "test")
        await database.dispose()

    async def empty() -> None:
        database = Database(database_url)
        async with database.transaction() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        await database.dispose()

    asyncio.run(prepare())
    try:
        with serve_app(create_app(settings, run_worker=False), listener) as url:
            yield url
    finally:
        asyncio.run(empty())


def test_the_frontend_draws_a_stateless_form_from_its_bootstrap(live: str) -> None:
    base = f"{live}/ttd/anonymous-stateless-app"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="nb-NO").new_page()
            failed: list[str] = []
            page.on("response", lambda response: failed.append(f"{response.request.method} {response.url}")
                    if response.url.startswith(f"{base}/api/") and response.status >= 400 else None)
            page.goto(f"{base}/")
            page.get_by_role("link", name="TestID", exact=True).click()
            page.get_by_label("Søk etter testperson").fill(f"{KARI.given} {KARI.family}")
            page.get_by_role("button", name="Søk").click()
            page.get_by_label(f"{KARI.given} {KARI.family} ({KARI.identifier})").check()
            with page.expect_response(lambda response: "/api/bootstrap-form/stateless" in response.url) as answer:
                page.get_by_role("button", name="Logg inn").click()
            assert answer.value.status == 200
            page.get_by_label("Navn").wait_for(timeout=15_000)
            body = page.locator("body").inner_text()
            assert "Journalnummer" in body and "Unexpected Application Error" not in body
            assert failed == []
        finally:
            browser.close()
