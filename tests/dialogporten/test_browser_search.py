"""Free-text search on the dialog page in Debian's Chromium, from the welcome page as `make run` starts it: Ingrid
searches her dialogs by words of their titles (each word the beginning of a word, all of them required), in
Norwegian and in English, and a search with no match says so; axe-core finds no accessibility violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from felles.registers.population import DEMO_PERSONS
from tests.browser import choose_testid_person, demo_platform, watched_page
from tests.dialogporten.test_browser import accessibility_violations

INGRID = DEMO_PERSONS[4]


@pytest.mark.browser
def test_a_person_finds_a_dialog_by_the_words_of_its_title(tmp_path: Path) -> None:
    with demo_platform(tmp_path) as base, watched_page() as page:
        page.goto(f"{base}/")
        welcome_link = page.get_by_role("link", name="Dialoger: saker og meldinger til deg")
        assert welcome_link.get_attribute("href", timeout=30_000) is not None
        welcome_link.click()
        choose_testid_person(page, INGRID.identifier)
        search_field = page.get_by_label("Søk i titler, sammendrag og avsendere")
        search_field.fill("fyring")
        titles = page.locator("#dialogs tbody tr td:first-child a")
        assert titles.count() > 1  # before the search: all her dialogs
        page.get_by_role("button", name="Vis").click()
        assert [text.split("\n")[0].removesuffix(" Ny").strip() for text in titles.all_inner_texts()] == [
            "Feiing og tilsyn av fyringsanlegg"]
        assert page.locator("#search").input_value() == "fyring"
        assert accessibility_violations(page) == []

        page.locator("#search").fill("tilbygg byggesak")
        page.get_by_role("button", name="Vis").click()
        assert [text.split("\n")[0].removesuffix(" Ny").strip() for text in titles.all_inner_texts()] == [
            "Byggesak 2026/114: tilbygg"]

        page.goto(f"{base}/dialogporten/ui?lang=en&search=tilbygg+feiing")
        assert page.get_by_label("Search titles, summaries and senders").input_value() == "tilbygg feiing"
        assert page.locator("#dialogs-empty").inner_text() == "You have no dialogs here."
