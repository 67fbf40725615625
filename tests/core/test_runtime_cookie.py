"""app-lib's `AltinnStudioRuntime` cookie: an API that says so takes the person's token from it (as Altinn's
frontend sends it), a call that changes something must then carry the XSRF token bound to that cookie, and every
other API still wants a Bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from felles.core.routing import include_component_router
from felles.core.tokens import (
    ALTINN_END_USER_ISSUERS,
    RUNTIME_COOKIE,
    XSRF_HEADER,
    AcceptedTokens,
    AuthenticatedRoute,
    Principal,
    require_token,
    xsrf_token,
)
from felles.registers.population import DEMO_PERSONS

KARI = DEMO_PERSONS[0]
COOKIE_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/cookie",), runtime_cookie=True)
BEARER_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/bearer",))
COOKIE_CALLER = require_token(COOKIE_TOKENS)
BEARER_CALLER = require_token(BEARER_TOKENS)


@pytest.fixture
async def cookie_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter(route_class=AuthenticatedRoute)

    @router.get("/cookie/me")
    @router.post("/cookie/me")
    async def who_with_cookie(principal: Principal = COOKIE_CALLER) -> dict[str, str | None]:
        return {"person": principal.person_identifier}

    @router.get("/bearer/me")
    async def who_with_bearer(principal: Principal = BEARER_CALLER) -> dict[str, str | None]:
        return {"person": principal.person_identifier}

    include_component_router(app, router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as client:
        yield client


async def test_an_api_that_takes_the_runtime_cookie_reads_the_person_from_it(cookie_client, token):
    cookie_client.cookies.set(RUNTIME_COOKIE, token(scopes=[], person=KARI.identifier))
    response = await cookie_client.get("/cookie/me")
    assert response.status_code == 200 and response.json() == {"person": KARI.identifier}


async def test_a_change_with_the_runtime_cookie_needs_the_xsrf_token_bound_to_it(cookie_client, token, settings):
    runtime_token = token(scopes=[], person=KARI.identifier)
    cookie_client.cookies.set(RUNTIME_COOKIE, runtime_token)
    missing = await cookie_client.post("/cookie/me")
    assert missing.status_code == 403 and missing.json()["code"] == "xsrf_token_invalid"
    other = xsrf_token(settings.secret_key, token(scopes=[], person=KARI.identifier))  # another cookie's
    wrong = await cookie_client.post("/cookie/me", headers={XSRF_HEADER: other})
    assert wrong.status_code == 403 and wrong.json()["code"] == "xsrf_token_invalid"
    right = await cookie_client.post("/cookie/me", headers={XSRF_HEADER: xsrf_token(settings.secret_key,
                                                                                      runtime_token)})
    assert right.status_code == 200 and right.json() == {"person": KARI.identifier}


async def test_an_api_that_does_not_take_the_cookie_still_wants_a_bearer_token(cookie_client, token):
    cookie_client.cookies.set(RUNTIME_COOKIE, token(scopes=[], person=KARI.identifier))
    response = await cookie_client.get("/bearer/me")
    assert response.status_code == 401 and response.json()["code"] == "missing_token"


async def test_a_bearer_token_wins_over_the_cookie_and_needs_no_xsrf_token(cookie_client, token):
    cookie_client.cookies.set(RUNTIME_COOKIE, "not a token at all")
    bearer_token = token(scopes=[], person=KARI.identifier)
    response = await cookie_client.post("/cookie/me", headers={"Authorization": f"Bearer {bearer_token}"})
    assert response.status_code == 200 and response.json() == {"person": KARI.identifier}


async def test_a_forged_runtime_cookie_is_refused(cookie_client):
    cookie_client.cookies.set(RUNTIME_COOKIE, "a.forged.token")
    response = await cookie_client.get("/cookie/me")
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"
