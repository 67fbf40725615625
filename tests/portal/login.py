"""Logging in to the portal's pages in tests, the way a browser does: TestID on ID-porten's pages."""

import re
from urllib.parse import parse_qs, urlsplit

import httpx


def local(location: str) -> str:
    """The path and query of a redirect (the platform's base URL is not the test client's host)."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def log_in(client: httpx.AsyncClient, page: str, pid: str) -> httpx.Response:
    """Open a page, log in with TestID on ID-porten's pages, follow the way back; the page's response."""
    response = await client.get(page)
    assert response.status_code == 303, response.text
    authorize = response.headers["location"]
    assert authorize.startswith("/idporten/authorize?")
    assert parse_qs(urlsplit(authorize).query)["client_id"] == ["felles-portal"]
    response = await client.get(authorize)
    if response.headers["location"].startswith("/idporten/login/"):  # no SSO session yet
        response = await client.post(response.headers["location"] + "/testid", data={"pid": pid, "level": "3"})
    callback = local(response.headers["location"])
    assert callback.startswith("/portal/login/callback?"), callback
    response = await client.get(callback)
    assert response.status_code == 303 and local(response.headers["location"]) == page
    return await client.get(page)


def form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)
