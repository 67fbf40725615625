"""The inbox (Arbeidsflate) in Debian's Chromium, from an empty data folder as `make run` starts it, by keyboard
only: Ingrid, daglig leder of Fjordkraft, follows the welcome page's link, logs in with TestID, switches from all
her parties to Fjordkraft, searches, opens a dialog (content, history, attachments, who has seen it), archives it,
finds it in Arkiv and restores it with the bulk form; axe-core finds no serious violation, at desktop and phone
width, in Bokmål and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

from felles.registers.population import DEMO_PERSONS
from tests.browser import SMALL_DEMO, choose_testid_person, demo_platform, watched_page
from tests.dialogporten.test_browser import MIRRORED
from tests.portal.test_browser import serious_accessibility_violations

pytestmark = pytest.mark.embedded_platform

INGRID = DEMO_PERSONS[4]
INSPECTION = "Tilsyn med brannsikring i næringsbygg"


def press(page: Page, target: Locator, key: str = "Enter") -> None:
    """Focus an element and press a key on it, as a keyboard user does."""
    target.focus()
    assert target.evaluate("element => element === document.activeElement")
    page.keyboard.press(key)


def listed(page: Page) -> list[str]:
    return page.locator("#dialogs h2 a").all_inner_texts()


def unread_in_inbox(page: Page) -> int:
    """The count the Innboks link's accessible name says ("Innboks, 3 uleste"); a name without one is 0."""
    name = page.locator(".inbox-folders a[href*='folder=inbox']").get_attribute("aria-label") or "Innboks"
    assert page.locator(".inbox-folders").get_by_role("link", name=name, exact=True).count() == 1
    said = re.fullmatch(r"Innboks(?:, (\d+) uleste?)?", name)
    assert said is not None, name
    return int(said.group(1) or 0)


@pytest.mark.browser
def test_a_person_with_several_parties_works_through_the_inbox_by_keyboard(tmp_path: Path) -> None:
    with demo_platform(tmp_path, *SMALL_DEMO) as base, watched_page() as page:
        page.goto(f"{base}/")
        press(page, page.get_by_role("link", name="Innboks: alle meldinger og saker, for deg og dem du representerer"))
        choose_testid_person(page, INGRID.identifier)
        page.wait_for_url(f"{base}/inbox/")
        assert page.locator("h1").inner_text() == "Innboks"
        assert page.locator("#inbox-scope").inner_text() == "Viser meldinger for alle aktørene du kan representere."
        # Fjordvik's notice to the company by Correspondence is mirrored as a dialog once the server's worker has
        # published it (moments after the start).
        for _ in range(40):
            if MIRRORED in listed(page):
                break
            page.wait_for_timeout(500)
            page.reload()
        assert sorted(listed(page)) == sorted(["Bostedsparkering: svar på søknaden", INSPECTION, MIRRORED,
                                               "Feiing og tilsyn av fyringsanlegg", "Byggesak 2026/114: tilbygg"])
        assert page.locator("#dialogs li[data-unread='true']").count() == 5
        assert serious_accessibility_violations(page) == []

        # Switch party: choose Fjordkraft in the picker, Tab to its button, Enter.
        picker = page.get_by_label("Aktør", exact=True)
        options = picker.locator("option").all_inner_texts()
        assert options[0] == "Alle mine aktører" and any("Ingrid" in option for option in options)
        picker.focus()
        picker.select_option(label=next(option for option in options if "Fjordkraft" in option))
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_url("**party=urn*")
        assert page.locator("#inbox-scope").inner_text() == "Viser meldinger for Fjordkraft Demo AS."
        assert "Bostedsparkering: svar på søknaden" not in listed(page) and len(listed(page)) == 4
        unread_before = unread_in_inbox(page)

        # Search by free text.
        press(page, page.get_by_label("Søk i meldingene"), "b")
        page.keyboard.type("rannsikring")
        page.keyboard.press("Enter")
        page.wait_for_url("**q=brannsikring*")
        assert listed(page) == [INSPECTION]

        # Open the dialog.
        press(page, page.get_by_role("link", name=INSPECTION))
        page.wait_for_url("**/inbox/dialog/**")
        assert page.locator("h1").inner_text() == INSPECTION
        assert "to avvik" in page.locator("#dialog-additional strong").inner_text()
        assert page.locator("#dialog-attachments").inner_text().startswith("Tilsynsrapport")
        assert "Varsel om avvik" in page.locator("#timeline").inner_text()
        assert page.locator("#seen-by li").first.inner_text().startswith("Deg")
        assert page.get_by_role("link", name="Svar på tilsynet").count() == 1
        assert serious_accessibility_violations(page) == []

        # Archive it from the dialog page.
        press(page, page.get_by_role("button", name="Flytt til arkiv"))
        page.wait_for_url("**done=archive*")
        assert page.locator("#inbox-done").inner_text() == "Flyttet til arkivet."
        assert page.locator("#dialog-folder").inner_text() == "i Arkiv"

        # Back in the list (the search kept) it is gone; in Arkiv it is there, read.
        press(page, page.get_by_role("link", name="Tilbake til innboksen"))
        page.wait_for_url("**q=brannsikring*")
        assert page.locator("#dialogs-empty").inner_text() == "Ingen meldinger passer søket."
        press(page, page.locator(".inbox-folders").get_by_role("link", name="Arkiv"))
        page.wait_for_url("**folder=archive*")
        assert page.locator("h1").inner_text() == "Arkiv"
        row = page.locator("#dialogs li", has_text=INSPECTION)
        assert row.get_attribute("data-unread") is None

        # Restore it with the bulk form: Space on its checkbox, Enter on Gjenopprett.
        press(page, page.get_by_label(f"Velg {INSPECTION}"), " ")
        assert page.get_by_label(f"Velg {INSPECTION}").is_checked()
        press(page, page.get_by_role("button", name="Gjenopprett"))
        page.wait_for_url("**done=restore*")
        assert page.locator("#inbox-done").inner_text() == "Flyttet tilbake til innboksen."
        assert INSPECTION not in listed(page)
        press(page, page.locator(".inbox-folders").get_by_role("link", name="Innboks"))
        page.wait_for_url("**folder=inbox*")
        assert INSPECTION in listed(page)
        # Back in Innboks, read: the count beside Innboks is one less than before she opened it.
        assert unread_in_inbox(page) == unread_before - 1
        assert serious_accessibility_violations(page) == []

        # At phone width the page fits the screen and stays accessible; English too.
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(f"{base}/inbox/?lang=en")
        assert page.locator("h1").inner_text() == "Inbox"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        assert serious_accessibility_violations(page) == []
