"""The API documentation in Chromium without internet: /docs (Swagger UI) and /redoc show the operations, with
every request the browser makes going to the platform itself and nothing blocked by the pages' policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page

from tests.portal.test_browser import base_url, chromium_page, watch_policy_violations  # noqa: F401


def open_watched(page: Page, url: str) -> tuple[list[str], list[str]]:
    """Open `url`, recording every URL the browser requests and every Content-Security-Policy complaint."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    refused = watch_policy_violations(page)
    page.goto(url)
    return requested, refused


def hosts(urls: list[str]) -> set[str]:
    return {urlsplit(url).netloc for url in urls if not url.startswith(("data:", "blob:"))}


def test_swagger_ui_shows_the_operations_from_this_host_only(base_url: str) -> None:  # noqa: F811
    with chromium_page() as page:
        requested, refused = open_watched(page, f"{base_url}/docs")
        page.locator(".opblock-summary-path", has_text="/health/live").wait_for(timeout=60_000)
        # Swagger UI keeps only the operations in view on the page: scroll through all of them.
        shown: set[str] = set()
        for _ in range(300):
            shown.update(page.locator(".opblock-summary-path").all_inner_texts())
            if page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight"):
                break
            page.mouse.wheel(0, 600)
            page.wait_for_timeout(20)
        assert {"/authorization/api/v1/decision", "/events/api/v1/subscriptions"} <= shown
        assert len(shown) > 50  # every component's operations
        page.wait_for_load_state("networkidle")
        assert hosts(requested) == {urlsplit(base_url).netloc}
        assert f"{base_url}/openapi.json" in requested
        assert refused == []


def test_redoc_shows_the_operations_from_this_host_only(base_url: str) -> None:  # noqa: F811
    with chromium_page() as page:
        requested, refused = open_watched(page, f"{base_url}/redoc")
        page.get_by_text("/authorization/api/v1/decision").first.wait_for(state="attached", timeout=60_000)
        page.wait_for_load_state("networkidle")
        assert hosts(requested) == {urlsplit(base_url).netloc}
        assert refused == []
