"""The welcome page as a newcomer's start: links to every page a person can use, and the demo personas to log
in as, once the demo data is there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import lxml.html
import pytest
from fastapi import FastAPI

from felles.app import create_app
from felles.apps.demo import seed_demo_app
from felles.core.config import Environment, Settings
from felles.core.migrations import upgrade_async
from felles.core.tokens import required_scopes
from felles.identity.cli import seed_platform_scopes
from felles.journey.demo import seed_skedsmo
from felles.registers.population import DEMO_PERSONS, seed_demo_personas


@pytest.fixture
async def migrated_settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path}/welcome.db"
    await upgrade_async(url)
    return Settings(environment=Environment.TEST, data_dir=tmp_path, database_url=url)


@pytest.fixture
async def migrated_app(migrated_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(migrated_settings, run_worker=False)
    yield application
    await application.state.runtime.database.dispose()


@pytest.fixture
async def browser(migrated_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=migrated_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as client:
        yield client


def welcome(response: httpx.Response) -> lxml.html.HtmlElement:
    assert response.status_code == 200, response.text
    return lxml.html.fromstring(response.text)


async def test_the_start_section_links_to_every_page_a_person_uses(
    browser: httpx.AsyncClient, migrated_app: FastAPI
) -> None:
    await seed_demo_app(migrated_app.state.runtime.database)  # as `make run` does: the card's form is there
    await seed_platform_scopes(migrated_app.state.runtime.database, required_scopes(), [])
    await seed_skedsmo(migrated_app.state.runtime.database, migrated_app.state.runtime.settings)  # its two apps
    document = welcome(await browser.get("/", params={"lang": "en"}))
    start = document.xpath("//section[@aria-labelledby='start-heading']")[0]
    links = {anchor.text_content().strip(): anchor.get("href") for anchor in start.xpath(".//a")}
    assert links["Log in and manage access (access management)"] == "/accessmanagement/ui"
    assert links["Consents you have been asked for"] == "/accessmanagement/ui/consent"
    assert links["SMS outbox (development): SMS Felles has sent"] == "/notifications/sms-outbox"
    assert links["API documentation for developers"] == "/docs"
    for href in links.values():
        response = await browser.get(href)
        # A page that needs a login sends the browser to it; every other page answers.
        assert response.status_code in (200, 303), (href, response.status_code)


async def test_no_personas_are_listed_before_the_demo_data_is_seeded(browser: httpx.AsyncClient) -> None:
    document = welcome(await browser.get("/"))
    assert not document.xpath("//table[contains(@class, 'felles-personas')]")


async def test_the_seeded_personas_are_listed_with_their_numbers_and_roles(
    browser: httpx.AsyncClient, migrated_app: FastAPI
) -> None:
    await seed_demo_personas(migrated_app.state.runtime.database)
    document = welcome(await browser.get("/", params={"lang": "en"}))
    rows = {row.get("data-persona"): [cell.text_content().strip() for cell in row.xpath("./td")]
            for row in document.xpath("//table[contains(@class, 'felles-personas')]/tbody/tr")}
    assert list(rows) == [persona.given.lower() for persona in DEMO_PERSONS]
    kari = DEMO_PERSONS[0]
    assert rows["kari"] == ["Kari Nordmann", kari.identifier,
                            "Mother of Sofie and Emil, board member of Fjordkraft Demo AS"]
    assert rows["ingrid"][2] == "General manager of Fjordkraft Demo AS"
    assert rows["reidun"][2] == "Reserved against digital communication (KRR)"
