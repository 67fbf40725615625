"""The brokerbox in Debian's Chromium, from an empty data folder as `make run` starts it: Ingrid Bakken, daglig
leder of Fjordkraft Demo AS, logs in with TestID from the welcome page's link, chooses Fjordkraft, finds the demo
file Regnskap Demo AS sent, downloads it and confirms the download; the sender then sees everyone confirmed. She
then sends a file for Fjordkraft to Regnskap Demo AS from the same page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from felles.broker.demo import DEMO_FILE
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS
from tests.browser import choose_testid_person, demo_platform, watched_page
from tests.portal.test_browser import serious_accessibility_violations

pytestmark = pytest.mark.embedded_platform

INGRID = DEMO_PERSONS[4]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_platform(tmp_path_factory.mktemp("broker-browser")) as base:
        yield base


@pytest.fixture
def page(base: str) -> Iterator[Page]:
    with watched_page() as page:
        yield page


def accessible(page: Page, where: str) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], f"{where}: {violations}"


@pytest.mark.browser
def test_a_daglig_leder_downloads_and_confirms_a_received_file(base: str, page: Page, tmp_path: Path) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("Formidlingsboks")).click()
    page.wait_for_url(f"{base}/idporten/login/**")
    choose_testid_person(page, INGRID.identifier)
    page.wait_for_url(f"{base}/broker/ui")
    accessible(page, "party choice")

    page.get_by_role("link", name="Fjordkraft Demo AS").click()
    page.wait_for_url(f"{base}/broker/ui?party={DEMO_COMPANY}")
    row = page.locator("#broker-received tr", has_text="arsregnskap-2025.txt")
    expect(row).to_have_attribute("data-recipient-status", "Initialized")
    expect(row).to_contain_text("Regnskap Demo AS")
    accessible(page, "brokerbox")

    with page.expect_download() as download:
        row.get_by_role("link", name=re.compile("Last ned")).click()
    assert Path(download.value.path()).read_bytes() == DEMO_FILE

    row.get_by_role("button", name="Bekreft nedlasting").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    row = page.locator("#broker-received tr", has_text="arsregnskap-2025.txt")
    expect(row).to_have_attribute("data-recipient-status", "DownloadConfirmed")
    expect(row).to_have_attribute("data-status", "AllConfirmedDownloaded")
    expect(row.get_by_role("button", name="Bekreft nedlasting")).to_have_count(0)

    # She sends a file for Fjordkraft to Regnskap Demo AS, as Fjordkraft's system could through the API.
    answer = tmp_path / "svar-2025.txt"
    answer.write_bytes(b"Svar fra Fjordkraft Demo AS\n")
    send = page.locator("#broker-send")
    send.get_by_label("Mottakers organisasjonsnummer").fill(DEMO_ACCOUNTING_FIRM)
    send.get_by_label("Din referanse (valgfri)").fill("svar-2025")
    send.get_by_label("Fil", exact=True).set_input_files(answer)
    with page.expect_navigation():
        send.get_by_role("button", name="Send", exact=True).click()
    sent = page.locator("#broker-sent tr", has_text="svar-2025.txt")
    expect(sent).to_have_attribute("data-status", "Published")
    expect(sent).to_contain_text("Regnskap Demo AS")
    accessible(page, "brokerbox after sending")
    page.screenshot(path=tmp_path / "brokerbox.png", full_page=True)

    # Ingrid does not act for the sender: its box is closed to her.
    page.goto(f"{base}/broker/ui?party={DEMO_ACCOUNTING_FIRM}")
    expect(page.locator(".ds-alert")).to_contain_text("Du kan ikke representere denne virksomheten")

    page.goto(f"{base}/broker/ui?party={DEMO_COMPANY}&lang=en")
    expect(page.locator("h1")).to_have_text("Brokerbox")
