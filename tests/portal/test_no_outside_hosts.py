"""No page loads or links anything from another host: every file a page uses comes from the platform itself
(no CDN), so the pages work without internet and tell no third party who looks at them.

The pages are found the way a user finds them: from the front page, the API documentation, the login pages,
the access management pages of a logged-in daglig leder, the outbox and the error pages, following every link
that stays in the platform.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx
import pytest

from felles.core.db import Database
from felles.registers.population import DEMO_PERSONS, seed_demo_personas

# This folder's conftest gives an empty database; these pages need the migrated one of the suite's conftest.
from tests.conftest import app, client, settings  # noqa: F401
from tests.portal.login import local, log_in

INGRID = DEMO_PERSONS[4]  # daglig leder of the demo company
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# An attribute or CSS value that makes the browser load or go to a URL.
_REFERENCE = re.compile(r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?|url\(\s*["']?)([^"'\s>)]+)""", re.I)
# Pages that would end the test's session or that are not pages.
_NOT_CRAWLED = re.compile(r"/logout|^/static/|\.json$|^/metrics|/api/")
MAX_PAGES = 80


def references(html: str) -> list[str]:
    return [unescape(reference) for reference in _REFERENCE.findall(html)]


def outside_references(html: str, own_hosts: set[str]) -> list[str]:
    """Every absolute (or protocol-relative) URL the page refers to on a host that is not the platform's."""
    found = []
    for reference in references(html):
        if reference.startswith("//") or re.match(r"https?:", reference, re.I):
            if urlsplit(urljoin("http://x", reference)).netloc.lower() not in own_hosts:
                found.append(reference)
    return found


async def crawl(http: httpx.AsyncClient, seeds: list[str]) -> dict[str, str]:
    """Every HTML page reachable from `seeds` by links within the platform: path -> HTML."""
    pages: dict[str, str] = {}
    queue = deque(seeds)
    seen = set(seeds)
    while queue and len(pages) < MAX_PAGES:
        path = queue.popleft()
        response = await http.get(path, headers={"Accept": BROWSER})
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        pages[path] = response.text
        for reference in references(response.text):
            parts = urlsplit(urljoin(f"http://felles.test{urlsplit(path).path}", reference))
            # The same page in another language has the same references: not fetched again.
            query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "lang"])
            target = parts.path + (f"?{query}" if query else "")
            if parts.netloc == "felles.test" and target not in seen and not _NOT_CRAWLED.search(parts.path):
                seen.add(target)
                queue.append(target)
    return pages


@pytest.fixture
async def personas(database: Database) -> None:
    await seed_demo_personas(database)


async def test_no_page_refers_to_another_host(client: httpx.AsyncClient, settings, personas) -> None:  # noqa: F811
    own_hosts = {"felles.test", urlsplit(settings.base_url).netloc.lower()}
    seeds = ["/", "/docs", "/redoc", "/notifications/sms-outbox", "/no-such-page",
             "/idporten/authorize", "/accessmanagement/ui/consent/request?id=unknown"]

    login_start = await client.get("/accessmanagement/ui/parties")
    authorize = await client.get(login_start.headers["location"])
    chooser = local(authorize.headers["location"])
    seeds += [chooser, f"{chooser}/testid"]
    assert (await client.get(chooser, headers={"Accept": BROWSER})).status_code == 200

    anonymous = await crawl(client, seeds)
    await log_in(client, "/accessmanagement/ui/parties", INGRID.identifier)
    logged_in = await crawl(client, ["/accessmanagement/ui/parties"])
    pages = {**anonymous, **logged_in}

    assert {"/", "/docs", "/redoc", "/notifications/sms-outbox", "/no-such-page", chooser} <= set(pages)
    assert any(path.startswith("/accessmanagement/ui/users") for path in pages), sorted(pages)
    assert any(path.startswith("/accessmanagement/ui/give-package") for path in pages), sorted(pages)
    assert len(pages) >= 15, sorted(pages)
    offences = {path: refs for path, html in pages.items() if (refs := outside_references(html, own_hosts))}
    assert offences == {}


def test_the_check_finds_what_it_looks_for() -> None:
    html = """<link href="https://cdn.example/x.css"><script src='//cdn.example/x.js'></script>
              <div style="background: url(http://img.example/a.png)"></div><a href="/ok">ok</a>
              <img src="http://felles.test/static/a.png">"""
    assert outside_references(html, {"felles.test"}) == [
        "https://cdn.example/x.css", "//cdn.example/x.js", "http://img.example/a.png"]
