"""The consent page in Debian's Chromium: a TestID person logs in through ID-porten, reaches the answer with the
keyboard alone and accepts; axe-core finds no accessibility violation before or after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from felles.app import create_app
from felles.core.config import Settings
from felles.core.tokens import PlatformKeys, mint_development_token
from tests.conftest import bearer, free_listener, serve_app
from tests.consent.conftest import CONSUMER_PATH, KARI, READ, WRITE, request_body
from tests.portal.test_browser import chromium_page, load_axe

pytestmark = pytest.mark.usefixtures("resources")
MAX_TABS = 40


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """The app under uvicorn, told its own address (ID-porten sends the browser back to it)."""
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = settings.model_copy(update={"base_url": base})
    with serve_app(create_app(settings, run_worker=False), listener) as url:
        yield url, settings


def accessibility_violations(page: Page) -> list[str]:
    """Every axe-core violation, whatever its impact."""
    load_axe(page)
    results: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in results["violations"]]


def focused_text(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.textContent.trim() : ''"))


@pytest.mark.browser
def test_a_person_accepts_a_consent_with_the_keyboard_only(served, tmp_path: Path) -> None:
    base, served_settings = served
    consumer = bearer(mint_development_token(PlatformKeys.load(served_settings), served_settings,
                                             organization_number="910753614", scopes=[WRITE, READ]))
    created = httpx.post(f"{base}{CONSUMER_PATH}", json=request_body(), headers=consumer).json()
    with chromium_page() as page:
        page.goto(created["viewUri"])
        assert page.locator("h1").inner_text() == "Velg elektronisk ID"
        page.get_by_role("link", name="TestID", exact=True).click()
        page.get_by_label("Søk etter testperson").fill(KARI.identifier)
        page.get_by_role("button", name="Søk").click()
        page.get_by_label(f"Kari Nordmann ({KARI.identifier})").check()
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url(f"{base}/accessmanagement/ui/consent/request?id={created['id']}")
        assert page.locator("h1").inner_text().endswith("ønsker å hente opplysninger om deg")
        page.screenshot(path=tmp_path / "consent-request.png", full_page=True)
        assert accessibility_violations(page) == []

        # From the top of the page, Tab alone reaches the answer; Enter gives it.
        page.locator("body").focus()
        for _ in range(MAX_TABS):
            page.keyboard.press("Tab")
            if focused_text(page) == "Ja, jeg gir samtykke":
                break
        else:
            pytest.fail("Tab never reached the accept button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        status = page.locator("#consent-status")
        assert status.get_attribute("data-status") == "Accepted"
        assert "Du har gitt samtykke" in status.inner_text()
        page.screenshot(path=tmp_path / "consent-accepted.png", full_page=True)
        assert accessibility_violations(page) == []

        # The way back to the consumer's service is a link the keyboard reaches too.
        for _ in range(MAX_TABS):
            page.keyboard.press("Tab")
            if focused_text(page).startswith("Gå tilbake til"):
                break
        else:
            pytest.fail("Tab never reached the link back to the service")
        assert page.evaluate("document.activeElement.href") == "https://bank.example.no/lan?consent=1"

    assert httpx.get(f"{base}{CONSUMER_PATH}/{created['id']}", headers=consumer).json()["status"] == "Accepted"
