"""The form pages in Debian's Chromium, by keyboard, from an empty data folder as `make run` starts: a demo person
logs in with TestID, picks whom to act for, fills in a form (autosave, rows, a file, an error caught by the error
summary), confirms and gets the receipt. axe finds nothing serious on any page, and no page throws."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from felles.registers.population import DEMO_PERSONS
from tests.apps.forms.conftest import SKJEMA
from tests.conftest import felles_command_environment, felles_serve, run_felles
from tests.portal.test_browser import chromium_page, serious_accessibility_violations, watch_policy_violations

KARI = DEMO_PERSONS[0]


def log_in(page: Page, base: str, path: str, person: str) -> None:
    page.goto(f"{base}{path}")
    page.wait_for_url(f"{base}/idporten/login/**")
    page.get_by_role("link", name="TestID", exact=True).click()
    page.get_by_label("Søk etter testperson").fill(person)
    page.get_by_role("button", name="Søk").click()
    page.get_by_label(re.compile(rf"\({person}\)")).check()
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(f"{base}{path}**")


def press(page: Page, name: str) -> None:
    """Reach a button by keyboard (focus, then Enter) and wait for the page it leads to."""
    expect(page.locator("form[aria-busy]")).to_have_count(0)  # autosave done
    button = page.get_by_role("button", name=name, exact=True)
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def labelled(page: Page, label: str) -> Locator:
    """The field labelled ``label`` (a required field's label goes on with a mark and "(påkrevd)")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(\W|$)"))


def type_into(page: Page, label: str, text: str) -> None:
    field = labelled(page, label)
    field.focus()
    page.keyboard.type(text)
    page.keyboard.press("Tab")  # leaving the field saves it


def choose(page: Page, label: str) -> None:
    option = page.get_by_label(label, exact=True)
    option.focus()
    page.keyboard.press("Space")


def accessible(page: Page, where: str) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], f"{where}: {violations}"


@pytest.mark.browser
def test_a_person_fills_in_a_form_by_keyboard_and_gets_the_receipt(tmp_path: Path) -> None:
    data = tmp_path / "var"
    environment = felles_command_environment(data)
    run_felles(environment, "db", "upgrade")
    run_felles(environment, "seed", "--demo", "--persons", "50", "--orgs", "10", "--seed", "1")
    shutil.copytree(SKJEMA, tmp_path / "skjema")
    run_felles(environment, "app", "deploy", str(tmp_path / "skjema"), "--name", "ttd/hundelufting")
    errors: list[str] = []
    with felles_serve(environment) as port, chromium_page() as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        refused = watch_policy_violations(page)
        base = f"http://localhost:{port}"
        log_in(page, base, "/ttd/hundelufting/", KARI.identifier)
        expect(page.locator("h1")).to_have_text("Søknad om hundeluftetillatelse")
        accessible(page, "party choice")
        page.get_by_role("link", name="Kari Nordmann").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        accessible(page, "start")
        press(page, "Start nytt skjema")
        expect(page.locator("h1")).to_have_text("Om deg")
        accessible(page, "first page")

        type_into(page, "Navn", "Kari Nordmann")
        type_into(page, "Alder", "30")
        type_into(page, "Beløp", "12500")
        choose(page, "Grønn")
        choose(page, "Lufting")
        choose(page, "Ja")
        type_into(page, "Melding", "Jeg lufter gjerne hunder.")
        expect(page.locator("#save-status")).to_have_text("Lagret.")
        press(page, "Neste")
        expect(page.locator("h1")).to_have_text("Hundene")
        # the first page was saved by autosave (no button posted it since): going back shows it
        press(page, "Forrige")
        expect(labelled(page, "Navn")).to_have_value("Kari Nordmann")
        expect(page.get_by_label("Beløp", exact=True)).to_have_value("12 500")
        press(page, "Neste")

        press(page, "Legg til hund")
        type_into(page, "Hundens navn", "Fido")
        rase = page.get_by_label("Rase", exact=True)
        rase.focus()
        rase.select_option("labrador")
        expect(page.get_by_text("Hei, Fido!")).to_be_visible()
        accessible(page, "repeating group")
        press(page, "Neste")

        expect(page.locator("h1")).to_have_text("Vedlegg")
        page.get_by_label("Velg fil").set_input_files(
            files=[{"name": "legeattest.txt", "mimeType": "text/plain", "buffer": b"frisk som en fisk"}])
        press(page, "Last opp")
        expect(page.get_by_role("link", name="legeattest.txt")).to_be_visible()
        accessible(page, "attachments")
        press(page, "Neste")

        expect(page.locator("h1")).to_have_text("Oppsummering")
        summary = page.locator(".felles-summary")
        for value in ("Kari Nordmann", "kr 12 500", "Grønn", "Lufting", "Fido", "Labrador", "legeattest.txt"):
            expect(summary).to_contain_text(value)
        accessible(page, "summary")
        press(page, "Send inn")
        expect(page.locator("h1")).to_have_text("Se over og bekreft")
        accessible(page, "confirmation")
        press(page, "Bekreft og send inn")
        expect(page.locator("h1")).to_have_text("Kvittering")
        accessible(page, "receipt")
    assert errors == [], errors
    assert refused == [], refused
