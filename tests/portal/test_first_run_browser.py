"""A newcomer's first run, in Debian's Chromium: what `make run` runs, on an empty data folder (`felles db upgrade`,
`felles seed --demo`, `felles serve` in its own process, no FELLES_* setting but the data folder), then a person
logs in through the pages and lands on access management."""

from __future__ import annotations

from pathlib import Path

import pytest

from felles.registers.population import DEMO_PERSONS
from tests.browser import SMALL_DEMO, choose_testid_person, demo_platform, watched_page

pytestmark = pytest.mark.embedded_platform

KARI = DEMO_PERSONS[0]


@pytest.mark.browser
def test_a_newcomer_logs_in_with_testid_after_make_run(tmp_path: Path) -> None:
    data = tmp_path / "var"
    # `base` is the address `make run` prints and a person opens.
    with demo_platform(tmp_path, *SMALL_DEMO) as base, watched_page() as page:
        page.goto(f"{base}/")
        # The newcomer finds whom to log in as on the welcome page, and the way in.
        kari_number = page.locator("tr[data-persona=kari] code").inner_text()
        assert kari_number == KARI.identifier
        page.get_by_role("link", name="Logg inn og styr tilganger (tilgangsstyring)").click()
        page.wait_for_url(f"{base}/idporten/login/**")
        assert page.locator("h1").inner_text() == "Velg elektronisk ID"
        choose_testid_person(page, kari_number)
        page.wait_for_url(f"{base}/accessmanagement/ui/parties")
        assert page.locator("h1").inner_text() == "Velg hvem du vil representere"
        assert page.get_by_text("Kari Nordmann").first.is_visible()
        # The consent the demo data asked of her is one click from the welcome page, in the same session.
        page.goto(f"{base}/")
        page.get_by_role("link", name="Samtykker du er bedt om").click()
        page.wait_for_url(f"{base}/accessmanagement/ui/consent")
        page.get_by_role("link", name="Regnskap Demo AS").click()
        assert "ønsker å hente opplysninger om deg" in page.locator("h1").inner_text()
    assert "portal_login_failed" not in (data / "serve.log").read_text()
