"""Ansattporten's organisation chooser in Debian's Chromium: axe-core finds no accessibility violation in Bokmål,
Nynorsk and English, and the daglig leder of two companies chooses one with the keyboard alone (Tab to move,
Space to pick, Enter to act)."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from felles.core.audit import Actor
from felles.identity import schemas, selfservice
from tests.authorization.world import (
    ACME,
    DELEGABLE_RESOURCE,
    OTHER_COMPANY,
    add_delegable_resource,
    add_organizations,
    add_persons,
    add_roles,
    person_number,
)
from tests.identity.conftest import CONSUMER, pkce
from tests.identity.live import free_listener, serve
from tests.identity.test_login_accessibility import accessibility_violations, chromium_page, tab_to

LEADER = person_number(date(1970, 5, 17), 1)
CLIENT_ID = "employer-web"


@pytest.fixture
async def live(settings, database):
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    await add_organizations(database, (ACME, "AS", None), (OTHER_COMPANY, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)))
    await add_roles(database, (ACME, "DAGL", LEADER), (OTHER_COMPANY, "DAGL", LEADER))
    await add_delegable_resource(database)
    await selfservice.create_client(database, Actor("test"), CONSUMER, schemas.ClientCreate(
        integration_type="ansattporten", client_name="Arbeidsgiverportalen", client_id=CLIENT_ID,
        token_endpoint_auth_method="client_secret_basic", redirect_uris=[f"{base}/rp/{CLIENT_ID}/callback"],
        scopes=["openid", "profile"]), allow_local_http=True)
    return settings.model_copy(update={"base_url": base}), listener


def authorize_url(base: str) -> str:
    _, challenge = pkce()
    details = [{"type": "ansattporten:altinn:resource", "resource": f"urn:altinn:resource:{DELEGABLE_RESOURCE}"}]
    return f"{base}/ansattporten/authorize?" + urlencode({
        "client_id": CLIENT_ID, "redirect_uri": f"{base}/rp/{CLIENT_ID}/callback", "response_type": "code",
        "scope": "openid profile", "state": "s-chooser", "nonce": "n-chooser", "code_challenge": challenge,
        "code_challenge_method": "S256", "ui_locales": "nb", "authorization_details": json.dumps(details)})


@pytest.mark.browser
def test_the_daglig_leder_chooses_a_company_with_the_keyboard_on_an_accessible_page(live) -> None:
    settings, listener = live
    with serve(settings, listener) as base, chromium_page("nb-NO") as page:
        page.goto(authorize_url(base))
        page.get_by_role("link", name="TestID", exact=True).click()
        page.get_by_role("searchbox").fill(LEADER)
        page.get_by_role("button", name="Søk").click()
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_url("**/ansattporten/organizations/*")
        chooser = page.url
        for language, heading in (("nn", "Kven vil du representere?"), ("en", "Who do you want to represent?"),
                                  ("nb", "Hvem vil du representere?")):
            page.goto(f"{chooser}?lang={language}")
            assert page.locator("h1").inner_text() == heading
            assert accessibility_violations(page) == []

        tab_to(page, {"tag": "input", "type": "radio"})
        page.keyboard.press("Space")
        picked = page.locator("input[name=orgno]:checked").get_attribute("value")
        assert picked in (ACME, OTHER_COMPANY)
        tab_to(page, {"tag": "button", "text": "Fortsett"})
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/rp/{CLIENT_ID}/callback*")
        callback = parse_qs(urlsplit(page.url).query)
        assert callback["state"] == ["s-chooser"] and callback["code"]
