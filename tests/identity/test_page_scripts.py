"""The two login pages that act by script do so from files, under the pages' Content-Security-Policy: the
form_post page posts itself to the client, and the logout page goes on to the client once its frames loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from felles.app import create_app
from felles.core.config import Settings
from felles.identity import pages
from tests.conftest import serve_app
from tests.portal.test_browser import chromium_page, watch_policy_violations


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app with two stand-in routes that answer as the authorize and logout endpoints do at their end, and
    one that plays the client receiving the browser."""
    app: FastAPI = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db"),
                              run_worker=False)

    async def authorized(request: Request) -> HTMLResponse:
        return pages.form_post(request, str(request.url_for("client")), {"code": "the-code", "state": "s"})

    async def logged_out(request: Request) -> HTMLResponse:
        return pages.logged_out(request, [], str(request.url_for("client")))

    async def client(request: Request) -> dict[str, str]:
        return {"method": request.method, **{k: str(v) for k, v in (await request.form()).items()}}

    app.add_api_route("/test-authorized", authorized)
    app.add_api_route("/test-logged-out", logged_out)
    app.add_api_route("/test-client", client, methods=["GET", "POST"], name="client")
    with serve_app(app) as url:
        yield url


def test_the_form_post_page_posts_itself_to_the_client(served: str) -> None:
    with chromium_page() as page:
        refused = watch_policy_violations(page)
        page.goto(f"{served}/test-authorized")
        page.wait_for_url(f"{served}/test-client")
        assert '"method":"POST"' in page.content() and '"code":"the-code"' in page.content()
        assert refused == []


def test_the_logout_page_goes_on_to_the_client(served: str) -> None:
    with chromium_page() as page:
        refused = watch_policy_violations(page)
        page.goto(f"{served}/test-logged-out")
        page.wait_for_url(f"{served}/test-client")
        assert '"method":"GET"' in page.content()
        assert refused == []
