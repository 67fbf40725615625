"""Errors as pages for a browser (the portal's shell, in nb/nn/en), as problem documents for an API client."""

from __future__ import annotations

import httpx
import lxml.html
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from felles.core.errors import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def error_page(response: httpx.Response, status: int) -> lxml.html.HtmlElement:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    document = lxml.html.fromstring(response.text)
    assert document.xpath("//header[@class='felles-header']"), "the page is in the portal's shell"
    return document


@pytest.mark.parametrize(("language", "heading"), [
    ("nb", "Fant ikke siden"), ("nn", "Fann ikkje sida"), ("en", "Page not found"),
])
async def test_an_unknown_page_is_an_error_page_in_the_users_language(client, language, heading):
    response = await client.get("/no-such-page", headers={"Accept": BROWSER, "Accept-Language": language})
    document = error_page(response, 404)
    assert document.get("lang") == language
    assert document.findtext(".//h1") == heading
    assert document.xpath("//*[@data-problem-code='not_found']")
    assert response.headers["x-request-id"] in response.text  # a reference the user can quote


async def test_the_error_page_language_can_be_chosen_on_the_page(client):
    response = await client.get("/no-such-page", params={"lang": "nn"}, headers={"Accept": BROWSER})
    assert error_page(response, 404).findtext(".//h1") == "Fann ikkje sida"


async def test_a_missing_token_a_wrong_method_and_a_bad_parameter_are_pages_too(client):
    unauthorized = await client.get("/audit/api/v1/entries", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert error_page(unauthorized, 401).findtext(".//h1") == "You need to log in"
    assert unauthorized.headers["www-authenticate"] == "Bearer"  # the problem's headers are kept

    wrong_method = await client.delete("/", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert error_page(wrong_method, 405).findtext(".//h1") == "The page cannot be used this way"

    bad = await client.get("/events/api/v1/subscriptions/abc", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert bad.status_code in (401, 422)  # the token is checked first or the parameter: either way a page
    error_page(bad, bad.status_code)


async def test_an_unexpected_error_is_a_page_for_a_browser_and_a_problem_for_a_client(app: FastAPI, client):
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-broken", broken)

    page = await client.get("/test-broken", headers={"Accept": BROWSER, "Accept-Language": "en"})
    document = error_page(page, 500)
    assert document.findtext(".//h1") == "An error occurred on our side"
    assert "a bug" not in page.text and "Traceback" not in page.text

    with capture_logs() as logged:
        problem = await client.get("/test-broken")
    assert problem.status_code == 500 and problem.headers["content-type"] == "application/problem+json"
    request_id = problem.json()["requestId"]
    assert request_id == problem.headers["x-request-id"]
    assert problem.headers["x-content-type-options"] == "nosniff"
    errors = [entry for entry in logged if entry["event"] == "unhandled_error"]
    assert [entry["request_id"] for entry in errors] == [request_id]  # the log line names the request
    assert errors[0]["exc_info"].args == ("a bug",)


def test_only_an_accept_that_ranks_html_above_json_is_a_browser():
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    assert not prefers_html(None)
    assert not prefers_html("*/*")
    assert not prefers_html("application/json")
    assert not prefers_html("application/problem+json, text/html;q=0.9")
    assert not prefers_html("text/html;q=0.5, application/json")
    assert prefers_html("text/html, application/json;q=0.9")
