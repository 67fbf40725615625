"""Tilgangsstyring in Debian's Chromium: Ingrid Bakken, daglig leder of Fjordkraft Demo AS, logs in with TestID,
gives Ola Nordmann an access package and a single right with the keyboard alone, sees each under "who has
access", removes them, and approves an access request; axe-core finds no accessibility violation on any of the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from felles.app import create_app
from felles.authorization import schemas as s
from felles.authorization import service_access_requests
from felles.core.audit import Actor
from felles.core.config import Settings
from felles.core.db import Database
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.authorization.world import DELEGABLE_RESOURCE, add_delegable_resource
from tests.conftest import free_listener, serve_app
from tests.portal.test_browser import chromium_page, load_axe, watch_policy_violations

KARI, OLA, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[4]
MAX_TABS = 60


@pytest.fixture
async def personas(database: Database) -> None:
    """The demo personas, a delegable resource, and Kari Nordmann's pending request to the company for the VAT
    package."""
    await seed_demo_personas(database)
    await add_delegable_resource(database)
    kari = Actor(f"person:{KARI.identifier}")
    asked = await service_access_requests.request_package(database, kari, KARI.identifier, s.PackageRequestCreate(
        party=DEMO_COMPANY, package="merverdiavgift", message="Jeg fører mva-meldingen."))
    await service_access_requests.submit_access_request(database, kari, KARI.identifier, asked.id)


@pytest.fixture
def served(settings: Settings, personas: None) -> Iterator[str]:
    """The app under uvicorn, told its own address (ID-porten sends the browser back to it)."""
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with serve_app(create_app(settings.model_copy(update={"base_url": base}), run_worker=False), listener) as url:
        yield url


def accessibility_violations(page: Page) -> list[str]:
    """Every axe-core violation, whatever its impact."""
    load_axe(page)
    results: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in results["violations"]]


def tab_to(page: Page, condition: str, what: str) -> None:
    """Press Tab until the focused element meets ``condition`` (a JavaScript expression on ``element``)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const element = document.activeElement; return Boolean({condition}); }})()"):
            return
    pytest.fail(f"Tab never reached {what}")


def press_enter_and_wait(page: Page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def check_page(page: Page, heading: str, tmp_path: Path, name: str) -> None:
    assert page.locator("h1").inner_text() == heading
    page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
    assert accessibility_violations(page) == [], name


def type_ola_as_recipient(page: Page) -> None:
    tab_to(page, "element.id === 'national-identity-number'", "the fødselsnummer field")
    page.keyboard.type(OLA.identifier)
    page.keyboard.press("Tab")
    page.keyboard.type("Nordmann")


def give_and_see_it_given(page: Page, tmp_path: Path, button: str, name: str, done: str) -> str:
    """Press the give button; the "who has access" page says ``done``. Ola's row there."""
    tab_to(page, f"element.textContent.trim() === '{button}' && element.tagName === 'BUTTON'", "the give button")
    press_enter_and_wait(page)
    check_page(page, "Hvem har tilgang", tmp_path, name)
    assert page.locator("#done").inner_text() == done
    return page.locator(f"#delegations tr[data-holder='{OLA.identifier}']").inner_text()


@pytest.mark.browser
def test_the_daglig_leder_gives_and_removes_a_package_with_the_keyboard_only(served: str, tmp_path: Path) -> None:
    base = served
    with chromium_page() as page:
        refused = watch_policy_violations(page)
        page.goto(f"{base}/accessmanagement/ui/parties")
        assert page.locator("h1").inner_text() == "Velg elektronisk ID"
        page.get_by_role("link", name="TestID", exact=True).click()
        page.get_by_label("Søk etter testperson").fill(INGRID.identifier)
        page.get_by_role("button", name="Søk").click()
        page.get_by_label(f"Ingrid Bakken ({INGRID.identifier})").check()
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url(f"{base}/accessmanagement/ui/parties")
        check_page(page, "Velg hvem du vil representere", tmp_path, "parties")

        # From here on, the keyboard alone: choose the company ...
        page.locator("body").focus()
        tab_to(page, "element.textContent.trim() === 'Fjordkraft Demo AS'", "the company")
        press_enter_and_wait(page)
        assert page.url == f"{base}/accessmanagement/ui/users?party={DEMO_COMPANY}"
        check_page(page, "Hvem har tilgang", tmp_path, "users-empty")
        assert page.locator("#no-delegations").is_visible()
        assert page.locator("#roles tr[data-role=DAGL]").inner_text().endswith("Ingrid Bakken")

        # ... open the package catalogue and search it ...
        tab_to(page, "element.textContent.trim() === 'Gi tilgangspakke'", "the link to give a package")
        press_enter_and_wait(page)
        check_page(page, "Gi tilgangspakke", tmp_path, "give-package")
        tab_to(page, "element.id === 'package-search'", "the package search")
        page.keyboard.type("skattegrunnlag")
        press_enter_and_wait(page)
        assert page.locator("#packages input[type=radio]").count() >= 1
        check_page(page, "Gi tilgangspakke", tmp_path, "give-package-search")

        # ... say who gets it, choose it, and give it.
        type_ola_as_recipient(page)
        tab_to(page, "element.id === 'package-skattegrunnlag'", "the package Skattegrunnlag")
        page.keyboard.press("Space")
        assert page.locator("#package-skattegrunnlag").is_checked()
        row = give_and_see_it_given(page, tmp_path, "Gi tilgangspakke", "users-given", "Tilgangspakken er gitt.")
        assert "Ola Nordmann" in row and "Tilgangspakke: Skattegrunnlag" in row

        # Remove it again.
        tab_to(page, "element.tagName === 'BUTTON' && element.textContent.includes('Skattegrunnlag fra Ola Nordmann')",
               "the remove button")
        press_enter_and_wait(page)
        check_page(page, "Hvem har tilgang", tmp_path, "users-removed")
        assert page.locator("#done").inner_text() == "Tilgangen er fjernet."
        assert page.locator("#delegations").count() == 0

        # A single right, with the keyboard too: Ola may read Ansettelsesforhold for the company ...
        tab_to(page, "element.textContent.trim() === 'Gi enkeltrettighet'", "the single-right page")
        press_enter_and_wait(page)
        check_page(page, "Gi enkeltrettighet", tmp_path, "give-right")
        type_ola_as_recipient(page)
        tab_to(page, "element.id === 'resource'", "the resource list")
        page.keyboard.press("ArrowDown")
        assert page.locator("#resource").input_value() == DELEGABLE_RESOURCE
        tab_to(page, "element.id === 'action-read'", "the action Les")
        page.keyboard.press("Space")
        assert page.locator("#action-read").is_checked()
        row = give_and_see_it_given(page, tmp_path, "Gi rettighet", "users-right-given", "Rettigheten er gitt.")
        assert "Enkeltrettighet: Ansettelsesforhold (Lese)" in row

        # ... and is taken back.
        tab_to(page, "element.tagName === 'BUTTON' && element.textContent.includes('Ansettelsesforhold')",
               "the remove button")
        press_enter_and_wait(page)
        assert page.locator("#done").inner_text() == "Tilgangen er fjernet."
        assert page.locator("#delegations").count() == 0

        # Kari's request for the VAT package: approved with the keyboard, and she has it.
        tab_to(page, "element.textContent.trim() === 'Forespørsler om tilgang'", "the requests page")
        press_enter_and_wait(page)
        check_page(page, "Forespørsler om tilgang", tmp_path, "requests")
        assert "Jeg fører mva-meldingen." in page.locator("#access-requests").inner_text()
        tab_to(page, "element.tagName === 'BUTTON' && element.textContent.startsWith('Godkjenn')", "Godkjenn")
        press_enter_and_wait(page)
        check_page(page, "Forespørsler om tilgang", tmp_path, "requests-answered")
        assert page.locator("#done").inner_text() == "Forespørselen er godkjent, og tilgangen er gitt."
        page.goto(f"{base}/accessmanagement/ui/users?party={DEMO_COMPANY}")
        assert "Tilgangspakke: Merverdiavgift" in page.locator(f"#delegations tr[data-holder='{KARI.identifier}']"
                                                            ).inner_text()
        assert refused == []  # no page broke the Content-Security-Policy (inline script or style)
