"""The brokerbox in Debian's Chromium, from an empty data folder as `make run` starts it: Ingrid Bakken, daglig
leder of Fjordkraft Demo AS, logs in with TestID from the welcome page's link, chooses Fjordkraft, finds the demo
file Regnskap Demo AS sent, downloads it and confirms the download; the sender then sees everyone confirmed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from felles.broker.demo import DEMO_FILE
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS
from tests.conftest import felles_command_environment, felles_serve, run_felles
from tests.portal.test_browser import chromium_page, serious_accessibility_violations, watch_policy_violations

INGRID = DEMO_PERSONS[4]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("broker-browser")
    environment = felles_command_environment(folder / "var")
    run_felles(environment, "db", "upgrade")
    run_felles(environment, "seed", "--demo")
    with felles_serve(environment) as port:
        yield f"http://localhost:{port}"
    assert "Traceback" not in (folder / "var" / "serve.log").read_text()


@pytest.fixture
def page(base: str) -> Iterator[Page]:
    with chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        refused = watch_policy_violations(page)
        yield page
        assert errors == [], errors
        assert refused == [], refused


def accessible(page: Page, where: str) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], f"{where}: {violations}"


@pytest.mark.browser
def test_a_daglig_leder_downloads_and_confirms_a_received_file(base: str, page: Page, tmp_path: Path) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("Formidlingsboks")).click()
    page.wait_for_url(f"{base}/idporten/login/**")
    page.get_by_role("link", name="TestID", exact=True).click()
    page.get_by_label("Søk etter testperson").fill(INGRID.identifier)
    page.get_by_role("button", name="Søk").click()
    page.get_by_label(re.compile(rf"\({INGRID.identifier}\)")).check()
    page.get_by_role("button", name="Logg inn").click()
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
    page.screenshot(path=tmp_path / "brokerbox.png", full_page=True)

    # Ingrid does not act for the sender: its box is closed to her.
    page.goto(f"{base}/broker/ui?party={DEMO_ACCOUNTING_FIRM}")
    expect(page.locator(".ds-alert")).to_contain_text("Du kan ikke representere denne virksomheten")

    page.goto(f"{base}/broker/ui?party={DEMO_COMPANY}&lang=en")
    expect(page.locator("h1")).to_have_text("Brokerbox")
