"""The status page and the statistics in Debian's Chromium, after what `make run` runs: an operator has opened an
incident with `felles incident open`; a visitor finds it from the welcome page; Kari logs in with TestID and her
login shows in the month's logins-per-eID chart. axe-core finds no accessibility violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from felles.registers.population import DEMO_PERSONS
from tests.browser import SMALL_DEMO, demo_platform, log_in, watched_page
from tests.conftest import felles_command_environment, run_felles
from tests.consent.test_browser import accessibility_violations

pytestmark = pytest.mark.embedded_platform

KARI = DEMO_PERSONS[0]


@pytest.mark.browser
def test_a_visitor_sees_each_components_state_the_incident_and_the_months_logins(tmp_path: Path) -> None:
    with demo_platform(tmp_path, *SMALL_DEMO) as base, watched_page() as page:
        run_felles(felles_command_environment(tmp_path / "var"), "incident", "open", "ID-porten",
                   "Innlogging med BankID går tregt", "--severity", "degraded",
                   "--description", "Bruk MinID i mellomtiden.")
        page.goto(f"{base}/")
        page.get_by_role("link", name="Driftsstatus: tilstanden til hver komponent og driftsmeldinger").click()
        page.wait_for_url(f"{base}/status")
        assert page.locator("h1").inner_text() == "Driftsstatus"
        assert page.locator('#components tr[data-component="database"]').get_attribute("data-status") == "operational"
        assert page.locator('#components tr[data-component="ID-porten"] td').nth(1).inner_text() == "Redusert ytelse"
        incident = page.locator(".felles-incident")
        assert "Innlogging med BankID går tregt" in incident.inner_text()
        assert "Bruk MinID i mellomtiden." in incident.inner_text()
        assert accessibility_violations(page) == []

        log_in(page, base, "/profile/ui", KARI.identifier)
        page.goto(f"{base}/")
        page.get_by_role("link", name="Statistikk: innlogginger, tokens, varsler, brev og oppetid per måned").click()
        page.wait_for_url(f"{base}/statistics")
        assert page.locator("h1").inner_text().startswith("Statistikk for ")
        logins = page.locator("#chart-logins rect")
        assert logins.count() >= 1
        assert "TestID" in (logins.first.get_attribute("data-label") or "")
        assert float(logins.first.get_attribute("data-value") or 0) >= 1
        assert accessibility_violations(page) == []
