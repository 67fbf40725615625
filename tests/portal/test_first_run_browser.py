"""A newcomer's first run, in Debian's Chromium: what `make run` runs, on an empty data folder (`felles db upgrade`,
`felles seed --demo`, `felles serve` in its own process, no FELLES_* setting but the data folder), then a person
logs in through the pages and lands on access management."""

from __future__ import annotations

from pathlib import Path

import pytest

from felles.registers.population import DEMO_PERSONS
from tests.conftest import felles_command_environment, felles_serve, run_felles
from tests.portal.test_browser import chromium_page

KARI = DEMO_PERSONS[0]


@pytest.mark.browser
def test_a_newcomer_logs_in_with_testid_after_make_run(tmp_path: Path) -> None:
    data = tmp_path / "var"
    environment = felles_command_environment(data)
    run_felles(environment, "db", "upgrade")
    run_felles(environment, "seed", "--demo", "--persons", "50", "--orgs", "10", "--seed", "1")
    with felles_serve(environment) as port, chromium_page() as page:
        base = f"http://localhost:{port}"  # the address `make run` prints and a person opens
        page.goto(f"{base}/")
        # The newcomer finds whom to log in as on the welcome page, and the way in.
        kari_number = page.locator("tr[data-persona=kari] code").inner_text()
        assert kari_number == KARI.identifier
        page.get_by_role("link", name="Logg inn og styr tilganger (tilgangsstyring)").click()
        page.wait_for_url(f"{base}/idporten/login/**")
        assert page.locator("h1").inner_text() == "Velg elektronisk ID"
        page.get_by_role("link", name="TestID", exact=True).click()
        page.get_by_label("Søk etter testperson").fill(kari_number)
        page.get_by_role("button", name="Søk").click()
        page.get_by_label(f"Kari Nordmann ({KARI.identifier})").check()
        page.get_by_role("button", name="Logg inn").click()
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
