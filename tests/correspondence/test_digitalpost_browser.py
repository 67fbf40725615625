"""Digital post in Debian's Chromium, from an empty data folder as `make run` starts (`felles db upgrade`,
`felles seed --demo`, `felles serve` with its worker): from the welcome page Kari logs in with TestID, finds the
demo letter in her development Digipost mailbox, opens it, and sees it marked opened; the print outbox shows
Reidun's letter, on paper as she is reserved, with its PDF. axe-core finds no accessibility violation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from felles.registers.population import DEMO_PERSONS
from tests.browser import SMALL_DEMO, choose_testid_person, demo_platform, watched_page
from tests.portal.test_browser import load_axe

pytestmark = pytest.mark.embedded_platform

KARI, REIDUN = DEMO_PERSONS[0], DEMO_PERSONS[8]
LETTER_TITLE = "Strømavtalen din er fornyet"
WAIT_SECONDS = 60


def accessibility_violations(page: Page) -> list[str]:
    load_axe(page)
    results: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{violation['id']}: {violation['help']}" for violation in results["violations"]]


def reload_until(page: Page, selector: str) -> None:
    """The in-process worker delivers and prints within seconds of the start: reload until it has."""
    deadline = time.monotonic() + WAIT_SECONDS
    while page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            pytest.fail(f"{selector} never appeared on {page.url}")
        time.sleep(0.5)
        page.reload()


@pytest.mark.browser
def test_kari_opens_her_letter_and_reiduns_is_printed(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with demo_platform(tmp_path, *SMALL_DEMO) as base, watched_page() as page:
        page.goto(f"{base}/")
        page.get_by_role("link", name="Digital postkasse (utvikling): brev til innbyggere, og papirbrevene").click()
        choose_testid_person(page, KARI.identifier)
        page.wait_for_url(f"{base}/digitalpost/postkasse")
        assert page.locator("h1").inner_text() == "Digital postkasse (utvikling)"
        reload_until(page, "tr[data-opened=false]")
        # Fjordkraft's letter, beside the demo correspondences Fjordvik sent Kari (routed to her mailbox too)
        row = page.locator("tr[data-opened=false]").filter(has_text="Fjordkraft Demo AS")
        assert "Digipost" in row.inner_text()
        assert accessibility_violations(page) == []

        page.get_by_role("link", name=LETTER_TITLE).click()
        assert page.locator("h1").inner_text() == LETTER_TITLE
        assert "fastpris" in page.locator("#letter-body strong").inner_text()
        assert page.locator("#letter-opened time").count() == 1
        pdf = page.request.get(base + (page.get_by_role("link", name="Brevet som PDF").get_attribute("href") or ""))
        assert pdf.ok and pdf.body().startswith(b"%PDF")
        assert accessibility_violations(page) == []

        page.get_by_role("link", name="Tilbake til postkassen").click()
        opened = page.locator("tr[data-opened=true]")
        assert opened.count() == 1 and "Fjordkraft Demo AS" in opened.inner_text()
        assert page.locator("tr[data-opened=true] .ds-tag").inner_text() == "Åpnet"

        page.get_by_role("link", name="Utskrift (utvikling): brevene som er sendt på papir").click()
        reload_until(page, "#print-outbox tr[data-status=LEVERT]")
        printed = page.locator("#print-outbox tr[data-status=LEVERT]").filter(has_text=REIDUN.identifier)
        assert "Reservert mot digital post" in printed.inner_text()
        document = page.request.get(base + (printed.get_by_role("link").get_attribute("href") or ""))
        assert document.ok and document.body().startswith(b"%PDF")
        assert accessibility_violations(page) == []
    printed_files = list((data / "print-outbox").glob("*/*.pdf"))
    assert len(printed_files) == 1
