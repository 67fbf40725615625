from urllib.parse import parse_qs, urlsplit

import pytest
from structlog.testing import capture_logs

from felles.core.config import Environment, Settings
from felles.identity import schemas as identity_schemas
from felles.identity import selfservice
from felles.portal import login
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.portal.login import log_in


@pytest.fixture
def settings(data_dir, database_url) -> Settings:
    """The migrated test database of every component (the portal's own fixtures start from an empty one); a test
    that writes asks for `database` too, which empties it afterwards."""
    return Settings(environment=Environment.TEST, data_dir=data_dir, database_url=database_url,
                    secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING")


@pytest.mark.parametrize(("path", "local"), [
    ("/accessmanagement/ui/parties", True),
    ("/accessmanagement/ui/consent/request?id=1", True),
    ("//evil.example/steal", False),
    ("/\\evil.example", False),
    ("https://evil.example/", False),
    ("relative/path", False),
    ("", False),
])
def test_only_local_paths_are_places_to_come_back_to(path, local):
    assert login._is_local_path(path) is local


async def test_a_callback_whose_login_cookie_points_at_another_site_does_not_redirect(client):
    client.cookies.set(login.LOGIN_COOKIE, "the-state verifier //evil.example/steal")
    response = await client.get(f"{login.CALLBACK_PATH}?code=abc&state=the-state")
    assert response.status_code == 400 and "location" not in response.headers
    assert "text/html" in response.headers["content-type"]


async def test_a_callback_without_the_browsers_state_is_refused(client):
    client.cookies.set(login.LOGIN_COOKIE, "the-state verifier /accessmanagement/ui/parties")
    response = await client.get(f"{login.CALLBACK_PATH}?code=abc&state=another-state")
    assert response.status_code == 400 and "location" not in response.headers


async def register_the_portal_client_as_earlier_seeds_did(database) -> None:
    """What `felles seed --demo` registered before: the portal's client id with a secret and other addresses."""
    await selfservice.create_client(database, login.LOGIN_ACTOR, login.PORTAL_OWNER, identity_schemas.ClientCreate(
        integration_type="idporten", client_name="Felles portal", client_id=login.LOGIN_CLIENT_ID,
        token_endpoint_auth_method="client_secret_basic", grant_types=["authorization_code", "refresh_token"],
        scopes=["openid", "profile"], redirect_uris=["http://localhost:8000/auth/callback"],
    ), administrator=True, allow_local_http=True)


async def test_a_data_folder_seeded_with_a_secret_portal_client_still_logs_in(database, app, client):
    await seed_demo_personas(database)
    await register_the_portal_client_as_earlier_seeds_did(database)
    page = await log_in(client, "/accessmanagement/ui/parties", DEMO_PERSONS[0].identifier)
    assert page.status_code == 200, page.text
    registered = await selfservice.get_client(database, None, login.LOGIN_CLIENT_ID)
    assert registered.token_endpoint_auth_method == "none" and registered.application_type == "browser"
    assert f"{app.state.runtime.settings.base_url}{login.CALLBACK_PATH}" in registered.redirect_uris
    assert "http://localhost:8000/auth/callback" in registered.redirect_uris  # addresses used before are kept


async def test_the_portal_client_is_registered_once_and_then_left_alone(database, settings):
    await register_the_portal_client_as_earlier_seeds_did(database)
    await login.ensure_login_client(database, settings)
    await login.ensure_login_client(database, settings)
    changes = await selfservice.changes_of(database, "client", login.LOGIN_CLIENT_ID)
    assert [change.action for change in changes].count("update") == 1


async def test_a_refused_code_is_logged_with_the_reason(database, client):
    await seed_demo_personas(database)
    started = await client.get("/accessmanagement/ui/parties")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    with capture_logs() as logs:
        response = await client.get(f"{login.CALLBACK_PATH}?code=not-a-code&state={state}")
    assert response.status_code == 400
    assert {"event": "portal_login_failed", "reason": "ID-porten did not redeem the code", "error": "invalid_grant",
            "error_description": "The code is not valid.", "log_level": "warning"} in logs
