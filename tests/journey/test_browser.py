"""Seed 003's citizen in Debian's Chromium, from an empty data folder as `make run` starts it, with Skedsmo kommune's
case system running beside the platform (`felles casesystem`): Heidi finds the kindergarten application on the
welcome page, logs in with TestID, acts for Isak, finds him and the address prefilled from Folkeregisteret and her
e-mail from KRR, fills in and submits; the case worker grants the place on the case system's page; Heidi reads
the answer, with the decision letter, on her correspondence page."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from felles.registers.population import JOURNEY_FAMILY
from tests.browser import SMALL_DEMO, choose_testid_person, demo_platform, settled, watched_page
from tests.conftest import felles_command_environment, free_listener

pytestmark = pytest.mark.embedded_platform

HEIDI = JOURNEY_FAMILY.heidi


@contextmanager
def case_system(data: Path, base: str) -> Iterator[str]:
    """`felles casesystem` in its own process against the platform at `base`; yields its page's address."""
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    log = data / "casesystem.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "felles.cli", "casesystem", "--base-url", base, "--port", str(port)],
            env=felles_command_environment(data), stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while "subscribed" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"felles casesystem did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)
    assert "Traceback" not in log.read_text()


@pytest.mark.browser
def test_heidi_applies_for_isak_and_reads_the_answer(tmp_path: Path) -> None:
    with demo_platform(tmp_path, *SMALL_DEMO) as base, case_system(tmp_path / "var", base) as cases, \
            watched_page() as page:
        page.goto(f"{base}/")
        # Whom to log in as is on the welcome page, with the way in.
        heidi = page.locator("tr[data-persona=heidi] code").inner_text()
        assert heidi == HEIDI.identifier
        page.get_by_role("link", name="Skedsmo kommune: søke barnehageplass (demo)").click()
        page.wait_for_url(f"{base}/idporten/login/**")
        choose_testid_person(page, heidi)
        page.wait_for_url(f"{base}/skedsmo/barnehageplass/**")
        # The party picker: Heidi acts for her son.
        page.get_by_role("link", name="Isak Kjeller").click()
        page.get_by_role("button", name="Start nytt skjema").click()

        expect(page.locator("h1")).to_have_text("Søknad om barnehageplass")
        expect(page.get_by_label("Barnets navn")).to_have_value("Isak Kjeller")
        expect(page.get_by_label("Adresse", exact=True)).to_have_value("Kjellerveien")
        expect(page.get_by_label("Poststed")).to_have_value("KJELLER")
        expect(page.get_by_label("Din e-postadresse")).to_have_value(HEIDI.email or "")
        page.get_by_label("Ønsket oppstart").fill("2027-08-16")
        page.get_by_label("Ønsket oppstart").press("Tab")
        page.get_by_label("Særlige behov (for eksempel kronisk sykdom)").fill("Kronisk sykdom")
        page.get_by_label("Særlige behov (for eksempel kronisk sykdom)").press("Tab")
        settled(page)
        page.get_by_role("button", name="Send inn", exact=True).click()
        expect(page.locator("h1")).to_have_text("Kvittering")

        # The case system imported it through its webhook; the case worker grants the place.
        page.goto(cases)
        row = page.locator("tr", has_text="Isak Kjeller")
        waiting = row.filter(has_text="Til saksbehandler")
        deadline = time.monotonic() + 60
        # the case worker reloads until it has come and the rules have handed it on (received first: "Mottatt")
        while waiting.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            page.reload()
        expect(row).to_contain_text("Til saksbehandler")
        row.get_by_label("Begrunnelse").fill("Plass i Kjeller barnehage fra august, med tilrettelegging.")
        row.get_by_role("button", name="Innvilg").click()
        expect(page.locator("tr", has_text="Isak Kjeller")).to_contain_text("Svar sendt")

        # Heidi reads the answer on her correspondence page.
        page.goto(f"{base}/correspondence/ui")
        answer = page.get_by_role("link", name="Svar på søknad om barnehageplass")
        for _ in range(60):  # the platform's worker publishes it once its attachment is checked
            if answer.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        page.screenshot(path=tmp_path / "inbox.png", full_page=True)
        answer.click()
        expect(page.locator("h1")).to_have_text("Svar på søknad om barnehageplass")
        expect(page.locator("#correspondence-sender")).to_have_text("Skedsmo kommune")
        expect(page.locator("#correspondence-body")).to_contain_text("Søknaden for Isak Kjeller er innvilget.")
        expect(page.get_by_role("link", name="vedtak-1.pdf")).to_be_visible()
