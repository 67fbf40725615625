"""The web shell and the welcome page, as a browser without JavaScript sees them."""

from __future__ import annotations

import httpx
import lxml.html
import pytest
from fastapi import APIRouter, FastAPI

from felles.portal.components import PLATFORM_COMPONENTS

HEADINGS = {"nb": "Velkommen til Felles", "nn": "Velkomen til Felles", "en": "Welcome to Felles"}


def page(response: httpx.Response) -> lxml.html.HtmlElement:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(response.text)


def heading(document: lxml.html.HtmlElement) -> str:
    return document.findtext(".//h1").strip()


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
async def test_the_welcome_page_speaks_the_chosen_language(client: httpx.AsyncClient, language: str) -> None:
    response = await client.get("/", params={"lang": language})

    document = page(response)
    assert heading(document) == HEADINGS[language]
    assert document.get("lang") == language
    assert response.headers["content-language"] == language
    current = document.xpath("//a[@hreflang][@aria-current='true']")
    assert [link.get("hreflang") for link in current] == [language]


async def test_the_chosen_language_is_remembered(client: httpx.AsyncClient) -> None:
    await client.get("/", params={"lang": "en"})

    # A later visit, from a browser that prefers Nynorsk, stays in the language the user chose.
    document = page(await client.get("/", headers={"Accept-Language": "nn-NO,nn;q=0.9"}))
    assert heading(document) == HEADINGS["en"]

    document = page(await client.get("/", params={"lang": "nn"}))
    assert heading(document) == HEADINGS["nn"]
    assert heading(page(await client.get("/"))) == HEADINGS["nn"]


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("nn-NO,nn;q=0.9,en;q=0.5", "nn"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,no;q=0.8,en;q=0.5", "nb"),
        ("fr", "nb"),
        (None, "nb"),
    ],
)
async def test_without_a_choice_the_browser_language_decides(
    client: httpx.AsyncClient, accept_language: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}

    response = await client.get("/", headers=headers)

    assert heading(page(response)) == HEADINGS[expected]
    assert "set-cookie" not in response.headers
    assert "Accept-Language" in response.headers["vary"]


async def test_an_unknown_language_falls_back_to_bokmal_and_is_not_remembered(client: httpx.AsyncClient) -> None:
    response = await client.get("/", params={"lang": "klingon"})

    document = page(response)
    assert heading(document) == HEADINGS["nb"]
    assert document.get("lang") == "nb"
    assert "set-cookie" not in response.headers


async def test_the_shell_has_a_skip_link_and_landmarks(client: httpx.AsyncClient) -> None:
    document = page(await client.get("/"))

    first_link = document.body.xpath(".//a")[0]
    assert first_link.get("href") == "#main"
    assert first_link.text_content().strip() == "Hopp til hovedinnholdet"
    assert len(document.xpath("//main[@id='main']")) == 1
    assert document.xpath("//header") and document.xpath("//footer")
    navigation = document.xpath("//nav/@aria-label")
    assert len(navigation) == len(set(navigation)) == 2
    switch = {link.get("hreflang"): link.get("href") for link in document.xpath("//nav//a[@hreflang]")}
    assert switch == {"nb": "?lang=nb", "nn": "?lang=nn", "en": "?lang=en"}


async def test_the_stylesheets_and_htmx_are_linked_and_the_page_stylesheet_is_served(
    client: httpx.AsyncClient,
) -> None:
    document = page(await client.get("/"))

    stylesheets = document.xpath("//link[@rel='stylesheet']/@href")
    assert "/static/vendor/designsystemet.css" in stylesheets
    assert "/static/vendor/designsystemet-theme.css" in stylesheets
    assert "/static/vendor/htmx.min.js" in document.xpath("//script/@src")
    response = await client.get("/static/portal.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def component_cards(document: lxml.html.HtmlElement) -> dict[str, lxml.html.HtmlElement]:
    return {card.get("data-component"): card for card in document.xpath("//li[@data-component]")}


async def test_the_welcome_page_lists_what_runs_with_working_links(client: httpx.AsyncClient) -> None:
    document = page(await client.get("/", params={"lang": "en"}))

    cards = component_cards(document)
    assert list(cards) == [component.key for component in PLATFORM_COMPONENTS]
    assert cards["core"].findtext(".//h3") == "Platform core"
    core_links = cards["core"].xpath(".//a/@href")
    assert {"/docs", "/health/ready", "/metrics"} <= set(core_links)
    assert "GET /health/ready" in [code.text_content() for code in cards["core"].xpath(".//code")]
    for href in core_links:
        assert (await client.get(href)).status_code == 200, href


async def test_the_welcome_page_links_to_the_pages_the_app_serves(client: httpx.AsyncClient) -> None:
    """Pages are not in the API description, but a newcomer finds them (and the login) from the welcome page."""
    cards = component_cards(page(await client.get("/")))
    assert "/accessmanagement/ui" in cards["authorization"].xpath(".//a/@href")
    assert "/notifications/sms-outbox" in cards["notifications"].xpath(".//a/@href")


async def test_a_component_shows_the_endpoints_the_app_serves(app: FastAPI, client: httpx.AsyncClient) -> None:
    extra = APIRouter()

    @extra.post("/folkeregisteret/api/v1/probe")
    @extra.get("/folkeregisteret/api/v1/probe")
    async def probe() -> str:
        return "probe"

    app.include_router(extra)

    cards = component_cards(page(await client.get("/")))
    listed = [code.text_content() for code in cards["folkeregisteret"].xpath(".//code")]
    position = listed.index("GET /folkeregisteret/api/v1/probe")
    assert listed[position + 1] == "POST /folkeregisteret/api/v1/probe"
    assert "GET /folkeregisteret/api/v1/probe" not in [code.text_content() for code in cards["core"].xpath(".//code")]


async def test_the_welcome_page_shows_that_the_database_answers(client: httpx.AsyncClient) -> None:
    document = page(await client.get("/", params={"lang": "en"}))

    status = document.xpath("//*[@data-status]")[0]
    assert (status.get("data-status"), status.text) == ("ready", "Answers")


@pytest.mark.parametrize("settings", ["unreachable database"], indirect=True)
async def test_the_welcome_page_still_renders_when_the_database_does_not_answer(client: httpx.AsyncClient) -> None:
    document = page(await client.get("/", params={"lang": "en"}))

    status = document.xpath("//*[@data-status]")[0]
    assert (status.get("data-status"), status.text) == ("unavailable", "Does not answer")
    assert (await client.get("/health/ready")).status_code == 503  # the page and the health check agree


async def test_an_unknown_page_is_a_problem_document_for_an_api_client(client: httpx.AsyncClient) -> None:
    for accept in ("application/json", "*/*", "application/json, text/html;q=0.5"):
        response = await client.get("/no-such-page", headers={"Accept": accept})

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"
