"""Revocation reaches every Felles API, not only identity's own endpoints, and opaque access tokens open the
Felles APIs through core's token check until they are revoked."""

from __future__ import annotations

import asyncio
import time

import httpx

from felles.app import create_app
from felles.core.db import Database
from felles.core.revocations import POLL_SECONDS, listen_for_revocations, revocations_for
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer, serve_app
from tests.identity.conftest import (
    KRR_USER_READ,
    REDIRECT,
    authorize_parameters,
    log_in,
    pkce,
    register_krr_user_scope,
    register_login_client,
    register_scope,
)
from tests.identity.test_idporten import basic, code_flow

KARI = DEMO_PERSONS[0]
# A Felles API of another component than identity that takes a person's ID-porten token (with its scope).
OTHER_API = "/rest/v1/person"


async def krr_client(database, *scopes: str):
    """A relying party that reads the person's own KRR data (scope krr:user/kontaktinformasjon.read)."""
    krr_scope = await register_krr_user_scope(database)
    return await register_login_client(database, scopes=["openid", "profile", krr_scope, *scopes])


async def krr_code_flow(client, database, rp, *scopes: str):
    return await code_flow(client, database, rp, scope=" ".join(["openid", KRR_USER_READ, *scopes]))


def assert_refused_as_revoked(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_token" and "revoked" in response.json()["detail"]


async def test_a_token_revoked_at_the_revocation_endpoint_is_refused_by_other_apis(client, database):
    await seed_demo_personas(database)
    rp = await krr_client(database)
    _, _, response = await krr_code_flow(client, database, rp)
    access_token = response.json()["access_token"]
    assert (await client.get(OTHER_API, headers=bearer(access_token))).status_code == 200
    revoked = await client.post("/idporten/token/revoke", headers=basic(rp.client_id, rp.client_secret),
                                data={"token": access_token})
    assert revoked.status_code == 200
    assert_refused_as_revoked(await client.get(OTHER_API, headers=bearer(access_token)))
    # Nor can it be exchanged for an Altinn token that would outlive the revocation.
    assert_refused_as_revoked(await client.get("/authentication/api/v1/exchange/idporten",
                                               headers=bearer(access_token)))


async def test_tokens_from_a_reused_code_are_refused_by_other_apis(client, database):
    await seed_demo_personas(database)
    rp = await krr_client(database)
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge, scope=f"openid {KRR_USER_READ}"),
                            KARI.identifier)
    data = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    first = (await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=data)).json()
    assert (await client.get(OTHER_API, headers=bearer(first["access_token"]))).status_code == 200
    reused = await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=data)
    assert reused.json()["error"] == "invalid_grant"
    assert_refused_as_revoked(await client.get(OTHER_API, headers=bearer(first["access_token"])))


async def test_login_only_tokens_are_refused_by_core_after_logout(client, database):
    """No other API takes a login-only token (scope openid profile); core's check, as the Altinn token exchange
    makes it, refuses it once the logout revoked it."""
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, _, response = await code_flow(client, database, rp)
    tokens = response.json()
    exchange = "/authentication/api/v1/exchange/idporten"
    assert (await client.get(exchange, headers=bearer(tokens["access_token"]))).status_code == 200
    logout = await client.post("/idporten/logout", data={"id_token_hint": tokens["id_token"]})
    assert logout.status_code == 200
    assert_refused_as_revoked(await client.get(exchange, headers=bearer(tokens["access_token"])))


async def test_another_process_learns_of_a_revocation(client, database, settings, monkeypatch):
    """On PostgreSQL by NOTIFY as the revocation commits; without a listener (SQLite) by the next poll."""
    await seed_demo_personas(database)
    rp = await krr_client(database)
    _, _, response = await krr_code_flow(client, database, rp)
    jti = (await client.post("/idporten/token/introspect", headers=basic(rp.client_id, rp.client_secret),
                             data={"token": response.json()["access_token"]})).json()["jti"]
    other = Database(settings.database_url)  # stands for another process's engine
    other_list = revocations_for(other)
    try:
        async with listen_for_revocations(other):
            for _ in range(100):  # on PostgreSQL the listener connects and loads the list first
                if other_list.listening or other.is_sqlite:
                    break
                await asyncio.sleep(0.05)
            assert not await other_list.is_revoked(other, jti)
            await client.post("/idporten/token/revoke", headers=basic(rp.client_id, rp.client_secret),
                              data={"token": response.json()["access_token"]})
            if other.is_sqlite:
                polled = time.monotonic() + POLL_SECONDS
                monkeypatch.setattr("felles.core.revocations.time.monotonic", lambda: polled)
            for _ in range(100):
                if await other_list.is_revoked(other, jti):
                    break
                await asyncio.sleep(0.05)
            assert await other_list.is_revoked(other, jti)
    finally:
        await other.dispose()


async def test_an_opaque_access_token_opens_other_apis_until_it_is_revoked(client, database):
    await seed_demo_personas(database)
    opaque = await register_scope(database, "opaque", token_type="OPAQUE", accessible_for_all=True,
                                  allowed_integration_types=["idporten"])
    rp = await krr_client(database, opaque)
    _, _, response = await krr_code_flow(client, database, rp, opaque)
    access_token = response.json()["access_token"]
    assert "." not in access_token
    me = await client.get(OTHER_API, headers=bearer(access_token))
    assert me.status_code == 200, me.text
    assert (await client.get(OTHER_API, headers=bearer(access_token))).status_code == 200  # resolved once, cached
    # The token carries only the scopes it was issued with: KRR refuses it for lack of scope, not as unknown.
    krr = await client.patch("/rest/v1/person", headers=bearer(access_token), json={"spraak": "en"})
    assert krr.status_code == 403 and krr.json()["code"] == "insufficient_scope"

    revoked = await client.post("/idporten/token/revoke", headers=basic(rp.client_id, rp.client_secret),
                                data={"token": access_token})
    assert revoked.status_code == 200
    assert_refused_as_revoked(await client.get(OTHER_API, headers=bearer(access_token)))


async def test_an_unknown_opaque_token_is_refused(client, database):
    response = await client.get(OTHER_API, headers=bearer("bm90LWEtdG9rZW4tZnJvbS11cw"))
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"



async def test_a_served_app_refuses_a_token_that_another_process_revoked(client, database, settings):
    """A second server with its own engine: told by NOTIFY through its lifespan's listener on PostgreSQL, by its
    next poll on SQLite."""
    await seed_demo_personas(database)
    rp = await krr_client(database)
    _, _, response = await krr_code_flow(client, database, rp)
    access_token = response.json()["access_token"]
    other = create_app(settings, run_worker=False)
    with serve_app(other) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get(OTHER_API, headers=bearer(access_token))).status_code == 200
            if not database.is_sqlite:
                listener_deadline = time.monotonic() + 5
                while not revocations_for(other.state.runtime.database).listening:
                    assert time.monotonic() < listener_deadline, "the server's lifespan did not start listening"
                    await asyncio.sleep(0.05)
            await client.post("/idporten/token/revoke", headers=basic(rp.client_id, rp.client_secret),
                              data={"token": access_token})
            deadline = time.monotonic() + POLL_SECONDS + 5
            while (refused := await http.get(OTHER_API, headers=bearer(access_token))).status_code == 200:
                assert time.monotonic() < deadline, "the other server still accepts the revoked token"
                await asyncio.sleep(0.05)
    assert_refused_as_revoked(refused)
