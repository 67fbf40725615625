"""A person logs in through the chooser page and TestID in Debian's Chromium; a second service gets in by SSO
without a new login; prompt=login forces one."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import sync_playwright

from felles.core.audit import Actor
from felles.identity import schemas, selfservice
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.identity.conftest import CONSUMER, pkce
from tests.identity.live import free_listener, serve

CHROMIUM = Path(os.environ.get("FELLES_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KARI = DEMO_PERSONS[0]


@pytest.fixture
async def live(settings, database):
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    await seed_demo_personas(database)
    for client_id in ("skatt-web", "nav-web"):
        await selfservice.create_client(database, Actor("test"), CONSUMER, schemas.ClientCreate(
            integration_type="idporten", client_name=client_id, client_id=client_id,
            token_endpoint_auth_method="client_secret_basic", redirect_uris=[f"{base}/rp/{client_id}/callback"],
            scopes=["openid", "profile"]), allow_local_http=True)
    return settings.model_copy(update={"base_url": base}), listener


def authorize_url(base: str, client_id: str, **extra: str) -> str:
    _, challenge = pkce()
    return f"{base}/idporten/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": f"{base}/rp/{client_id}/callback", "response_type": "code",
        "scope": "openid profile", "state": "s-" + client_id, "nonce": "n-" + client_id,
        "code_challenge": challenge, "code_challenge_method": "S256", "ui_locales": "nb", **extra})


@pytest.mark.browser
def test_login_with_testid_then_sso_then_prompt_login(live) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium`.")
    settings, listener = live
    with serve(settings, listener) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(locale="nb-NO").new_page()
        try:
            page.goto(authorize_url(base, "skatt-web"))
            assert page.locator("h1").inner_text() == "Velg elektronisk ID"
            assert page.get_by_text("TestID i utvikling").first.is_visible()
            page.get_by_role("link", name="TestID", exact=True).click()
            page.get_by_label("Søk etter testperson").fill("Kari Nordmann")
            page.get_by_role("button", name="Søk").click()
            page.get_by_label(f"Kari Nordmann ({KARI.identifier})").check()
            page.get_by_label("Sikkerhetsnivå").select_option("4")
            page.get_by_role("button", name="Logg inn").click()
            page.wait_for_url(f"{base}/rp/skatt-web/callback*")
            callback = parse_qs(urlsplit(page.url).query)
            assert callback["state"] == ["s-skatt-web"] and callback["code"]
            assert callback["iss"] == [f"{base}/idporten"]

            # Another service: SSO, straight back with a code, no login page shown.
            seen: list[str] = []
            page.on("framenavigated", lambda frame: seen.append(frame.url))
            page.goto(authorize_url(base, "nav-web"))
            page.wait_for_url(f"{base}/rp/nav-web/callback*")
            assert not any("/idporten/login/" in url for url in seen)
            assert parse_qs(urlsplit(page.url).query)["code"]

            page.goto(authorize_url(base, "nav-web", prompt="login"))
            assert page.locator("h1").inner_text() == "Velg elektronisk ID"
        finally:
            browser.close()
