"""Min profil in Debian's Chromium, after what `make run` runs on an empty data folder: Ingrid, daglig leder of
Fjordkraft, opens the page from the welcome page, logs in with TestID, has a code sent to her e-mail address,
reads it in the development e-mail outbox, confirms the address and makes it her notification address for
Fjordkraft; axe-core finds no accessibility violation on the way."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS
from tests.browser import SMALL_DEMO, choose_testid_person, demo_platform, watched_page
from tests.consent.test_browser import accessibility_violations

pytestmark = pytest.mark.embedded_platform

INGRID = DEMO_PERSONS[4]
ADDRESS = "ingrid.haugen@fjordkraft.eksempel.no"


def code_in_outbox(page: Page, base: str, address: str) -> str:
    """The code in the newest e-mail to `address`, as the outbox page shows it (the in-process worker sends it
    within moments)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.goto(f"{base}/notifications/email-outbox")
        row = page.locator("#email-outbox tbody tr", has_text=address).first
        if row.count():
            row.locator("summary").click()  # open the message, as a person reads it
            match = re.search(r"\b(\d{6})\b", row.locator("pre").text_content() or "")
            assert match, row.inner_text()
            return match.group(1)
        time.sleep(0.5)
    pytest.fail(f"no e-mail to {address} in the outbox")


@pytest.mark.browser
def test_ingrid_confirms_her_address_and_is_notified_at_it_for_fjordkraft(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with demo_platform(tmp_path, *SMALL_DEMO) as base, watched_page() as page:
        page.goto(f"{base}/")
        page.get_by_role("link", name="Min profil: språk, favoritter og varslingsadresser").click()
        choose_testid_person(page, INGRID.identifier)
        page.wait_for_url(f"{base}/profile/ui")
        assert page.locator("h1").inner_text() == "Min profil"
        assert accessibility_violations(page) == []

        page.get_by_role("button", name="Legg til Fjordkraft Demo AS i favoritter").click()
        assert page.locator("#done").inner_text() == "Lagt til i favoritter."
        assert page.locator(f'tr[data-party="{DEMO_COMPANY}"]').get_attribute("data-favourite") == "true"

        page.get_by_label("Type adresse").select_option("Email")
        page.get_by_label("E-postadresse eller mobilnummer (+47…)").fill(ADDRESS)
        page.get_by_role("button", name="Send kode").click()
        assert "Vi har sendt en kode" in page.locator("#done").inner_text()
        profile_url = page.url

        outbox = page.context.new_page()
        code = code_in_outbox(outbox, base, ADDRESS)
        outbox.close()

        page.goto(profile_url)
        page.get_by_label(f"Koden vi sendte til {ADDRESS}").fill(code)
        page.get_by_role("button", name="Bekreft", exact=True).click()
        assert page.locator("#done").inner_text() == "Adressen er bekreftet."
        assert page.locator("#verified li").inner_text() == ADDRESS

        page.get_by_label("E-post for varsler om Fjordkraft Demo AS").fill(ADDRESS)
        page.get_by_role("button", name="Lagre varslingsadresse for Fjordkraft Demo AS").click()
        assert page.locator("#done").inner_text() == "Varslingsadressen er lagret."
        assert page.locator(f'tr[data-party="{DEMO_COMPANY}"] td').first.inner_text() == ADDRESS
        page.screenshot(path=tmp_path / "profile.png", full_page=True)
        assert accessibility_violations(page) == []
    assert "portal_login_failed" not in (data / "serve.log").read_text()
