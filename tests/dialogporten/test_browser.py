"""The dialog page in Debian's Chromium, from an empty data folder as `make run` starts it (`felles db upgrade`,
`felles seed --demo`, `felles serve`): Ingrid, daglig leder of Fjordkraft, follows the welcome page's link, logs
in with TestID, sees her company's dialogs from Fjordvik kommune, narrows to the company, opens a dialog (now
seen), opens the notice Fjordvik sent the company by Correspondence (mirrored as a dialog) and from it the
message, and files another in the archive folder through the API; before that, she searches her dialogs by words of
their titles (each word the beginning of a word, all of them required), in Norwegian and in English, and a search
with no match says so. axe-core finds no accessibility violation. Both tests use one platform, as one `make run`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from felles.registers.population import DEMO_PERSONS
from tests.browser import choose_testid_person, demo_platform, watched_page
from tests.portal.test_browser import load_axe

pytestmark = pytest.mark.embedded_platform

INGRID = DEMO_PERSONS[4]
MIRRORED = "Varsel om gravearbeid i Storgata"


def accessibility_violations(page: Page) -> list[str]:
    load_axe(page)
    results: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{violation['id']}: {violation['help']}" for violation in results["violations"]]


def shown_titles(titles: Locator) -> list[str]:
    """The dialogs' titles as listed, without the "Ny" marker of an unseen one."""
    return [text.split("\n")[0].removesuffix(" Ny").strip() for text in titles.all_inner_texts()]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The platform as `make run` starts it on an empty data folder, for both tests (the search only reads)."""
    with demo_platform(tmp_path_factory.mktemp("dialogporten-browser")) as address:
        yield address


@pytest.mark.browser
def test_a_person_finds_a_dialog_by_the_words_of_its_title(base: str) -> None:
    with watched_page() as page:
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
        assert shown_titles(titles) == [
            "Feiing og tilsyn av fyringsanlegg"]
        assert page.locator("#search").input_value() == "fyring"
        assert accessibility_violations(page) == []

        page.locator("#search").fill("tilbygg byggesak")
        page.get_by_role("button", name="Vis").click()
        assert shown_titles(titles) == [
            "Byggesak 2026/114: tilbygg"]

        page.goto(f"{base}/dialogporten/ui?lang=en&search=tilbygg+feiing")
        assert page.get_by_label("Search titles, summaries and senders").input_value() == "tilbygg feiing"
        assert page.locator("#dialogs-empty").inner_text() == "You have no dialogs here."


@pytest.mark.browser
def test_a_person_with_several_parties_finds_and_opens_their_dialogs(base: str) -> None:
    with watched_page() as page:
        page.goto(f"{base}/")
        page.get_by_role("link", name="Dialoger: saker og meldinger til deg").click()
        choose_testid_person(page, INGRID.identifier)
        page.wait_for_url(f"{base}/dialogporten/ui")
        assert page.locator("h1").inner_text() == "Dialoger"
        rows = page.locator("#dialogs tbody tr")
        # Fjordvik's notice to the company by Correspondence is mirrored as a dialog once the server's worker
        # has published it (moments after the start).
        for _ in range(40):
            if page.locator("#dialogs tbody tr", has_text=MIRRORED).count():
                break
            page.wait_for_timeout(500)
            page.reload()
        titles = shown_titles(page.locator("#dialogs tbody tr td:first-child a"))
        # among the inbox's demo dialogs: the company's case, its chimney inspection and the mirrored notice
        assert {"Byggesak 2026/114: tilbygg", "Feiing og tilsyn av fyringsanlegg", MIRRORED} <= set(titles)
        assert rows.first.get_attribute("data-unseen") == "true"
        assert accessibility_violations(page) == []

        # The party picker lists Ingrid herself and the company; choosing the company keeps its three dialogs.
        options = page.locator("#party option").all_inner_texts()
        assert "Alle mine aktører" in options and any("Fjordkraft" in option for option in options)
        page.select_option("#party", label=next(option for option in options if "Fjordkraft" in option))
        page.get_by_role("button", name="Vis").click()
        for title in ("Byggesak 2026/114: tilbygg", "Feiing og tilsyn av fyringsanlegg", MIRRORED):
            expect(page.locator("#dialogs tbody tr", has_text=title)).to_have_count(1)

        page.get_by_role("link", name="Byggesak 2026/114: tilbygg").click()
        assert page.locator("h1").inner_text() == "Byggesak 2026/114: tilbygg"
        assert page.locator("#dialog-summary").inner_text() == "Saken er under behandling."
        assert page.locator("#seen-by li").first.inner_text().startswith("Deg")
        assert accessibility_violations(page) == []
        page.get_by_role("link", name="Tilbake til dialogene").click()
        seen = page.locator("#dialogs tbody tr", has_text="Byggesak 2026/114")
        assert seen.get_attribute("data-unseen") is None

        # The mirrored notice: its message is a transmission, and its action opens the message in Correspondence.
        page.get_by_role("link", name=MIRRORED).click()
        assert page.locator("h1").inner_text() == MIRRORED
        assert MIRRORED in page.locator("#transmissions").inner_text()
        page.get_by_role("link", name="Åpne meldingen").click()
        page.wait_for_url(f"{base}/correspondence/ui/message/**")
        assert MIRRORED in page.locator("h1").inner_text()

        # In English, and the archive folder holds only what was archived (not the case in progress).
        page.goto(f"{base}/dialogporten/ui?lang=en&folder=Archive")
        assert page.locator("h1").inner_text() == "Dialogs"
        archived = page.locator("#dialogs tbody tr")
        expect(archived.first).to_be_visible()
        expect(archived.filter(has_text="Byggesak 2026/114")).to_have_count(0)
