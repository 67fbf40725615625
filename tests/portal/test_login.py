import pytest

from felles.portal import login


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
