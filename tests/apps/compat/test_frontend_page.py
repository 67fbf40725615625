"""The page that runs Altinn's frontend (`FELLES_APP_FRONTEND_DIR`): only for a logged-in person, with what the
frontend reads before its first call, the person's Altinn token in app-lib's runtime cookie and the XSRF token
bound to it; the build's script and style sheet from the build folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.config import Environment, Settings
from felles.core.tokens import RUNTIME_COOKIE, XSRF_COOKIE, PlatformKeys, xsrf_token
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.conftest import REFERENCE
from tests.portal.login import log_in

KARI = DEMO_PERSONS[0]
TESTAPP = REFERENCE / "altinn-app-api" / "testapp-basic"
SCRIPT = "/* app-frontend-react */"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    build = tmp_path / "frontend"
    build.mkdir()
    (build / "altinn-app-frontend.js").write_text(SCRIPT)
    (build / "altinn-app-frontend.css").write_text("body {}")
    return Settings(environment=Environment.TEST, data_dir=tmp_path, database_url=database_url,
                    secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING",
                    app_frontend_dir=build)


@pytest.fixture
async def deployed(database) -> None:
    await seed_demo_personas(database)
    await deployment.deploy_folder(database, TESTAPP, "test")


def global_data(html: str) -> dict:
    match = re.search(r"window\.altinnAppGlobalData = (\{.*\});\n", html)
    assert match, html
    return json.loads(match.group(1))


async def test_a_visitor_without_a_session_is_sent_to_log_in_first(client, deployed) -> None:
    response = await client.get("/ttd/basic/instance/1/0190e1c2-0000-7000-8000-000000000001/Task_1?lang=en")
    assert response.status_code == 303 and response.headers["location"].startswith("/idporten/authorize?")


async def test_the_page_hands_the_frontend_the_app_the_person_and_a_runtime_cookie(client, database, deployed,
                                                                                  settings) -> None:
    page = await log_in(client, "/ttd/basic/", KARI.identifier)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    nonce = re.search(r'<script nonce="([^"]+)">', page.text)
    assert nonce and f"'nonce-{nonce.group(1)}'" in page.headers["content-security-policy"]
    assert '<script src="/ttd/basic/altinn-app-frontend/altinn-app-frontend.js">' in page.text

    data = global_data(page.text)
    party = await authorization.party_of(database, KARI.identifier)
    assert data["applicationMetadata"]["id"] == "ttd/basic"
    assert data["applicationMetadata"]["onEntry"] == {"show": "new-instance"}  # app-lib's default
    assert set(data["ui"]["folders"]) == {"Task_1"}
    assert data["textResources"]["language"] == "nb" and data["availableLanguages"] == [{"language": "nb"}]
    assert data["selectedParty"]["partyId"] == party.party_id and data["selectedParty"]["name"] == party.name
    assert data["userProfile"]["partyId"] == party.party_id

    runtime_token = client.cookies[RUNTIME_COOKIE]
    claims = PlatformKeys.load(settings).verify(runtime_token)
    assert claims["pid"] == KARI.identifier and claims["iss"].endswith("/authentication/api/v1/openid/")
    assert client.cookies[XSRF_COOKIE] == xsrf_token(settings.secret_key, runtime_token)
    set_cookies = page.history[-1].headers.get_list("set-cookie") if page.history else []
    set_cookies = set_cookies or page.headers.get_list("set-cookie")
    runtime_cookie = next(cookie for cookie in set_cookies if cookie.startswith(f"{RUNTIME_COOKIE}="))
    xsrf_cookie = next(cookie for cookie in set_cookies if cookie.startswith(f"{XSRF_COOKIE}="))
    assert "httponly" in runtime_cookie.lower() and "httponly" not in xsrf_cookie.lower()


async def test_the_build_serves_its_script_and_nothing_else(client, deployed) -> None:
    script = await client.get("/ttd/basic/altinn-app-frontend/altinn-app-frontend.js")
    assert script.status_code == 200 and script.text == SCRIPT
    for path in ("/ttd/basic/altinn-app-frontend/..%2Fsecret", "/ttd/basic/altinn-app-frontend/index.html",
                 "/ttd/no-such-app/altinn-app-frontend/altinn-app-frontend.js"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path


async def test_keep_alive_renews_the_runtime_cookie_while_the_portal_session_lives(client, deployed, settings) -> None:
    refused = await client.get("/ttd/basic/api/authentication/keepAlive")
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    await log_in(client, "/ttd/basic/", KARI.identifier)
    first = client.cookies[RUNTIME_COOKIE]
    renewed = await client.get("/ttd/basic/api/authentication/keepAlive")
    assert renewed.status_code == 200 and client.cookies[RUNTIME_COOKIE] != first
    assert client.cookies[XSRF_COOKIE] == xsrf_token(settings.secret_key, client.cookies[RUNTIME_COOKIE])


async def test_invalidating_the_cookie_ends_the_runtime_cookie(client, deployed) -> None:
    assert (await client.put("/ttd/basic/api/authentication/invalidatecookie")).status_code == 401
    await log_in(client, "/ttd/basic/", KARI.identifier)
    assert RUNTIME_COOKIE in client.cookies
    forged = await client.put("/ttd/basic/api/authentication/invalidatecookie",
                              headers={"Cookie": f"{RUNTIME_COOKIE}=not.a.token"})
    assert forged.status_code == 401
    invalidated = await client.put("/ttd/basic/api/authentication/invalidatecookie")
    assert invalidated.status_code == 200
    assert RUNTIME_COOKIE not in client.cookies and XSRF_COOKIE not in client.cookies


async def test_the_enriched_instance_has_the_callers_process_state_and_the_owners_party(client, database, deployed,
                                                                                       token) -> None:
    party = await authorization.party_of(database, KARI.identifier)
    kari = {"Authorization": f"Bearer {token(scopes=[], person=KARI.identifier)}"}
    created = await client.post("/ttd/basic/instances", params={"instanceOwnerPartyId": party.party_id}, headers=kari)
    assert created.status_code == 201, created.text
    enriched = await client.get(f"/ttd/basic/instances/{created.json()['id']}/enriched", headers=kari)
    assert enriched.status_code == 200, enriched.text
    document = enriched.json()
    assert document["id"] == created.json()["id"] and document["data"] == created.json()["data"]
    task = document["process"]["currentTask"]
    assert task["elementId"] == "Task_1" and task["read"] is True and task["write"] is True
    assert document["instanceOwner"]["party"]["partyId"] == party.party_id
    other = await client.get(f"/ttd/basic/instances/{created.json()['id']}/enriched",
                             headers={"Authorization": f"Bearer {token(scopes=[], person=DEMO_PERSONS[1].identifier)}"})
    assert other.status_code == 403
