"""The login pages in Debian's Chromium: axe-core finds no accessibility violation on the eID chooser and the
TestID page (with search hits) in Bokmål and English, and a person logs in with the keyboard alone (Tab to move,
Enter to act; typing only into the search field)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright

from felles.core.audit import Actor
from felles.identity import schemas, selfservice
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.identity.conftest import CONSUMER
from tests.identity.live import free_listener, serve
from tests.identity.test_browser_login import CHROMIUM, CHROMIUM_ARGS, authorize_url
from tests.portal.test_browser import AXE, load_axe

KARI = DEMO_PERSONS[0]
CLIENT_ID = "skatt-web"
# Tab presses allowed to reach one control: a page whose order hides it further away fails the test.
MAX_TABS = 25


@pytest.fixture
async def live(settings, database):
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    await seed_demo_personas(database)
    await selfservice.create_client(database, Actor("test"), CONSUMER, schemas.ClientCreate(
        integration_type="idporten", client_name="Skatteetaten", client_id=CLIENT_ID,
        token_endpoint_auth_method="client_secret_basic", redirect_uris=[f"{base}/rp/{CLIENT_ID}/callback"],
        scopes=["openid", "profile"]), allow_local_http=True)
    return settings.model_copy(update={"base_url": base}), listener


@contextmanager
def chromium_page(locale: str) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium`.")
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(locale=locale).new_page()
        finally:
            browser.close()


def accessibility_violations(page: Page) -> list[str]:
    """Every axe-core violation (WCAG 2.x A and AA and best practices), whatever its impact."""
    load_axe(page)
    results: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert len(results["passes"]) > 20, "axe-core checked (almost) nothing on the page"
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results["violations"]
    ]


def focused(page: Page) -> dict[str, str]:
    return dict(page.evaluate("""() => {
      const element = document.activeElement;
      // Designsystemet rings a focused radio or checkbox together with its label: on the field around it.
      const ringed = element.matches('[type=radio], [type=checkbox]') ? element.closest('.ds-field') : element;
      const style = getComputedStyle(ringed);
      return {tag: element.tagName.toLowerCase(), type: element.type || '', name: element.name || '',
              text: (element.innerText || element.value || '').trim(),
              indicator: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' ? 'outline'
                         : (style.boxShadow !== 'none' ? 'box-shadow' : 'none')};
    }"""))


def tab_to(page: Page, wanted: dict[str, str]) -> dict[str, str]:
    """Press Tab until the focused element has the wanted properties; that it shows where focus is, too."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        element = focused(page)
        if all(element.get(key) == value for key, value in wanted.items()):
            assert element["indicator"] != "none", f"{element} shows no focus indicator"
            return element
    pytest.fail(f"Tab never reached {wanted}")


@pytest.mark.browser
@pytest.mark.parametrize(("language", "locale", "chooser_heading", "search_button"), [
    ("nb", "nb-NO", "Velg elektronisk ID", "Søk"),
    ("en", "en-GB", "Choose electronic ID", "Search"),
])
def test_the_chooser_and_testid_pages_have_no_accessibility_violations(
    live, language, locale, chooser_heading, search_button
) -> None:
    settings, listener = live
    with serve(settings, listener) as base, chromium_page(locale) as page:
        page.goto(authorize_url(base, CLIENT_ID, ui_locales=language))
        assert page.locator("h1").inner_text() == chooser_heading
        assert page.locator("html").get_attribute("lang") == language
        assert accessibility_violations(page) == []

        page.get_by_role("link", name="TestID", exact=True).click()
        assert accessibility_violations(page) == []
        page.get_by_role("searchbox").fill("Kari Nordmann")
        page.get_by_role("button", name=search_button).click()
        page.get_by_label(f"Kari Nordmann ({KARI.identifier})").wait_for()
        assert accessibility_violations(page) == []

        page.get_by_role("searchbox").fill("Ingen Slik Person")
        page.get_by_role("button", name=search_button).click()
        page.get_by_role("status").wait_for()
        assert accessibility_violations(page) == []


@pytest.mark.browser
def test_a_person_logs_in_with_the_keyboard_alone(live) -> None:
    settings, listener = live
    with serve(settings, listener) as base, chromium_page("nb-NO") as page:
        page.goto(authorize_url(base, CLIENT_ID, ui_locales="nb"))
        tab_to(page, {"tag": "a", "text": "TestID"})
        page.keyboard.press("Enter")
        page.wait_for_url("**/testid")

        tab_to(page, {"tag": "input", "name": "q"})
        page.keyboard.type("Kari Nordmann")
        page.keyboard.press("Enter")
        page.wait_for_url("**/testid?q=*")

        # The first hit is chosen already; the level asked for is preselected.
        chosen = tab_to(page, {"tag": "input", "type": "radio"})
        assert page.locator(f"#pid-{KARI.identifier}").is_checked(), chosen
        tab_to(page, {"tag": "button", "text": "Logg inn"})
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/rp/{CLIENT_ID}/callback*")
        callback = parse_qs(urlsplit(page.url).query)
        assert callback["state"] == [f"s-{CLIENT_ID}"] and callback["code"]
