"""Headers every answer carries, operators-only pages in production, and parameters the database cannot hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from felles.core.config import Environment
from felles.core.tokens import OPERATOR_SCOPE
from tests.conftest import bearer

SOURCE = Path(__file__).resolve().parents[2] / "src" / "felles"
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


def policy(header: str) -> dict[str, str]:
    return {name: sources for name, _, sources in (part.strip().partition(" ") for part in header.split(";"))}


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc", "/health/live", "/no/such/path", "/static/portal.css"])
async def test_every_answer_carries_the_security_headers(client, path):
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"


async def test_pages_allow_no_inline_script_or_style(client):
    csp = policy((await client.get("/")).headers["content-security-policy"])
    assert csp["style-src"] == "'self'" and "unsafe" not in csp["script-src"]


def test_no_template_has_an_inline_script_event_handler_or_style_attribute():
    """The policy blocks them, so the page would break: scripts and styles belong in files under /static."""
    offences = []
    for template in SOURCE.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\ssrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style"):
            offences += [f"{template.relative_to(SOURCE)}: {match}" for match in re.findall(pattern, text)]
    assert offences == []


@pytest.fixture
def production(app: FastAPI) -> FastAPI:
    """The app as production sees it (the rest of the settings stay those of the test)."""
    runtime = app.state.runtime
    runtime.settings = runtime.settings.model_copy(update={"environment": Environment.PRODUCTION})
    return app


@pytest.mark.parametrize("path", ["/metrics", "/notifications/sms-outbox"])
async def test_metrics_and_outboxes_are_open_in_development_and_tests(client, path):
    assert (await client.get(path)).status_code == 200


async def test_metrics_need_an_operator_in_production(production, client, token):
    assert (await client.get("/metrics")).status_code == 401
    others = await client.get("/metrics", headers=bearer(token(scopes=["felles:audit.read"], org="991825827")))
    assert others.status_code == 403 and others.json()["code"] == "insufficient_scope"
    operator = await client.get("/metrics", headers=bearer(token(scopes=[OPERATOR_SCOPE], org="991825827")))
    assert operator.status_code == 200 and "felles_http_requests_total" in operator.text


async def test_the_outbox_needs_an_operator_in_production_and_a_browser_sees_a_page(production, client, token):
    refused = await client.get("/notifications/sms-outbox", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("text/html")
    forbidden = await client.get("/notifications/sms-outbox", headers={
        "Accept": BROWSER, "Accept-Language": "en", **bearer(token(scopes=["x"], org="991825827"))})
    assert forbidden.status_code == 403 and "You do not have access" in forbidden.text
    operator = await client.get("/notifications/sms-outbox",
                                headers=bearer(token(scopes=[OPERATOR_SCOPE], org="991825827")))
    assert operator.status_code == 404  # production has real providers and no outbox


@pytest.mark.parametrize("path", [
    f"/events/api/v1/subscriptions/{2**64}",
    f"/events/api/v1/subscriptions/{2**31}",  # past the INTEGER column on PostgreSQL
    f"/notifications/api/v1/future/shipment/feed?seq={2**64}",
    f"/notifications/api/v1/future/shipment/feed?seq={2**63}",
])
async def test_integers_past_their_columns_are_invalid_input_not_an_overflow(client, token, path):
    access = token(scopes=["altinn:events.subscribe", "altinn:serviceowner/notifications.create"], org="991825827")
    response = await client.get(path, headers=bearer(access))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"
    deleted = await client.delete(f"/events/api/v1/subscriptions/{2**64}", headers=bearer(access))
    assert deleted.status_code == 422


async def test_the_largest_ids_and_sequence_numbers_are_simply_not_there(client, token):
    access = token(scopes=["altinn:events.subscribe", "altinn:serviceowner/notifications.create"], org="991825827")
    response = await client.get(f"/events/api/v1/subscriptions/{2**31 - 1}", headers=bearer(access))
    assert response.status_code == 404
    feed = await client.get(f"/notifications/api/v1/future/shipment/feed?seq={2**63 - 1}", headers=bearer(access))
    assert feed.status_code == 200 and feed.json() == []
