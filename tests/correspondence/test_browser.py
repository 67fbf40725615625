"""The recipient's pages in Debian's Chromium, from an empty data folder as `make run` starts it (`felles seed
--demo` sends Fjordvik kommune's demo messages; the server's worker publishes them): Kari follows the welcome
page's link, logs in with TestID, reads the decision (its markdown rendered), downloads its attachment,
confirms it, archives it, and deletes another message. axe finds nothing serious on any page, no page throws,
nothing is refused by the Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from felles.correspondence.demo import DECISION
from tests.apps.forms.test_browser import press
from tests.browser import demo_platform, log_in, watched_page
from tests.correspondence.conftest import KARI
from tests.portal.test_browser import serious_accessibility_violations

pytestmark = pytest.mark.embedded_platform


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_platform(tmp_path_factory.mktemp("correspondence-browser")) as base:
        yield base


@pytest.fixture
def page(base: str) -> Iterator[Page]:
    with watched_page() as page:
        yield page


def accessible(page: Page, where: str) -> None:
    assert serious_accessibility_violations(page) == [], where


@pytest.mark.browser
def test_kari_reads_confirms_archives_and_deletes_her_messages(base: str, page: Page, tmp_path: Path) -> None:
    page.goto(f"{base}/")
    href = page.get_by_role("link", name="Meldinger til deg og virksomheten din").get_attribute("href")
    assert href is not None and href.endswith("/correspondence/ui")
    log_in(page, base, "/correspondence/ui", KARI.identifier)
    # The server's worker publishes the demo messages (the attachment is scanned first) soon after it starts.
    for _ in range(40):
        if page.get_by_role("link", name=DECISION).count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("h1")).to_have_text("Meldinger")
    accessible(page, "list")
    page.get_by_role("link", name=DECISION).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(DECISION)
    expect(page.locator("#correspondence-body strong").first).to_have_text("beboerparkering")
    expect(page.locator("#correspondence-sender")).to_have_text("Fjordvik kommune")
    expect(page.locator("#correspondence-status")).to_have_attribute("data-status", "Read")
    accessible(page, "message")
    page.screenshot(path=tmp_path / "message.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="vedtak.txt").click()
    assert Path(download.value.path()).read_text().startswith("Vedtak: beboerparkering")

    press(page, "Bekreft at du har lest meldingen")
    expect(page.locator("#correspondence-status")).to_have_attribute("data-status", "Confirmed")
    press(page, "Arkiver")
    expect(page.locator("#correspondence-status")).to_have_attribute("data-status", "Archived")
    accessible(page, "archived")

    page.get_by_role("link", name="Tilbake til meldingene").click()
    page.get_by_role("link", name="Påminnelse om eiendomsskatt").click()
    press(page, "Slett")
    page.wait_for_url(re.compile(r".*/correspondence/ui$"))
    expect(page.get_by_role("link", name="Påminnelse om eiendomsskatt")).to_have_count(0)
    expect(page.get_by_role("link", name=DECISION)).to_have_count(1)
