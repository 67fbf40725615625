"""The welcome page in a real browser: Debian's Chromium driven by Playwright against the app under uvicorn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, sync_playwright

from felles.app import create_app
from felles.core.config import Settings
from tests.conftest import serve_app

REPOSITORY = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("FELLES_CHROMIUM", "/usr/bin/chromium"))
AXE = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    """The real app, served by uvicorn on a free loopback port in a background thread."""
    with serve_app(create_app(settings, run_worker=False)) as url:
        yield url


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A page in Debian's Chromium; a missing browser fails the test (CI installs it), never skips it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` "
            "(or set FELLES_CHROMIUM to a Chromium binary)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="nb-NO")
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def watch_policy_violations(page: Page) -> list[str]:
    """The Content-Security-Policy violations the page reports from now on (a blocked script, style or file)."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return refused


def heading(page: Page) -> str:
    return page.locator("h1").inner_text()


def load_axe(page: Page) -> None:
    """Put axe-core into the page. Evaluated by the browser's debugger, not added as a <script>, which the pages'
    Content-Security-Policy (scripts from our own files only) would block."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci`.")
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")


def serious_accessibility_violations(page: Page) -> list[str]:
    load_axe(page)
    results: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]


THEME_AND_BODY_COLOUR = """() => {
  const token = getComputedStyle(document.documentElement).getPropertyValue('--ds-color-neutral-text-default').trim();
  const probe = document.createElement('span');
  probe.style.color = token;
  document.body.append(probe);
  const tokenColour = getComputedStyle(probe).color;
  probe.remove();
  return {token, tokenColour, bodyColour: getComputedStyle(document.body).color};
}"""


@pytest.mark.browser
def test_the_welcome_page_in_chromium(base_url: str, tmp_path: Path) -> None:
    with chromium_page() as page:
        check_the_welcome_page(page, base_url, tmp_path)


def check_the_welcome_page(page: Page, base_url: str, tmp_path: Path) -> None:
    static_responses: list[Response] = []
    page.on("response", lambda r: static_responses.append(r) if "/static/" in r.url else None)
    refused = watch_policy_violations(page)

    page.goto(f"{base_url}/", wait_until="load")

    assert heading(page) == "Velkommen til Felles"
    assert page.locator("html").get_attribute("lang") == "nb"

    # Designsystemet is loaded: the theme's colour token is defined and the CSS package applies it to the body,
    # and its skip link stays out of sight until it gets focus.
    failed = [f"{r.status} {r.url}" for r in static_responses if r.status != 200]
    assert failed == [], f"static files missing; run `npm ci && npm run build`: {failed}"
    colours = page.evaluate(THEME_AND_BODY_COLOUR)
    assert colours["token"], "the Designsystemet theme's variables are not defined"
    assert colours["bodyColour"] == colours["tokenColour"] != "rgb(0, 0, 0)"
    skip_link = page.locator("a.ds-skip-link")
    assert skip_link.bounding_box()["width"] <= 1  # type: ignore[index]
    assert page.evaluate("typeof htmx") == "object"
    assert refused == []  # nothing inline that the pages' Content-Security-Policy blocks

    # The first Tab reaches the skip link, which then shows; following it moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    assert page.evaluate("document.activeElement.textContent.trim()") == "Hopp til hovedinnholdet"
    assert skip_link.bounding_box()["width"] > 100  # type: ignore[index]
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.screenshot(path=tmp_path / "welcome.png", full_page=True)
    assert serious_accessibility_violations(page) == []

    # The language switch: a click gives the page in English, and the choice holds on the next visit.
    page.get_by_role("navigation", name="Velg språk").get_by_role("link", name="English").click()
    page.wait_for_url("**/?lang=en")
    assert heading(page) == "Welcome to Felles"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{base_url}/")
    assert heading(page) == "Welcome to Felles"
    assert serious_accessibility_violations(page) == []
