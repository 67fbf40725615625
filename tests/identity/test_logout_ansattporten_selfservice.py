"""Logout (RP-initiated, front- and back-channel), Ansattporten's representation answer, self-service over HTTP
with its change log, and Altinn's token exchange."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from structlog.testing import capture_logs

from felles.core import outbound
from felles.core.audit import Actor
from felles.core.clock import clock
from felles.core.jobs import Job, JobStatus, Worker, enqueue
from felles.identity import schemas, selfservice
from felles.identity.models import ChangeLogEntry
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from tests.authorization.world import DELEGABLE_RESOURCE, add_delegable_resource
from tests.conftest import bearer, serve_app
from tests.identity.conftest import (
    CONSUMER,
    IDPORTEN,
    REDIRECT,
    authorize_parameters,
    pkce,
    public_jwk,
    register_login_client,
)
from tests.identity.test_idporten import basic, code_flow

KARI, INGRID = DEMO_PERSONS[0], DEMO_PERSONS[4]


async def test_logout_ends_sso_tells_every_client_and_returns_to_the_client(client, database):
    await seed_demo_personas(database)
    front = await register_login_client(database, client_id="front-service",
                                        frontchannel_logout_uri="https://rp.example.no/fc",
                                        frontchannel_logout_session_required=True)
    back = await register_login_client(database, client_id="back-service",
                                       backchannel_logout_uri="https://rp.example.no/bc")
    _, _, first = await code_flow(client, database, front)
    _, _, second = await code_flow(client, database, back)
    sid = jwt.decode(first.json()["id_token"], KeySet.import_key_set((await client.get("/idporten/jwks")).json()))
    sid = sid.claims["sid"]
    response = await client.post("/idporten/logout", data={
        "id_token_hint": first.json()["id_token"], "post_logout_redirect_uri": "https://rp.example.no/logged-out",
        "state": "bye"})
    assert response.status_code == 200
    assert f'src="https://rp.example.no/fc?iss={IDPORTEN.replace(":", "%3A").replace("/", "%2F")}&amp;sid={sid}"' \
        in response.text
    assert 'href="https://rp.example.no/logged-out?state=bye"' in response.text
    # The page's policy lets it frame the client's front-channel URL (and nothing else of another host).
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["frame-src"] == "'self' https://rp.example.no" and policy["script-src"] == "'self'"
    async with database.transaction() as session:
        job = await session.scalar(select(Job).where(Job.kind == "identity.backchannel_logout"))
    assert job is not None and job.payload["uri"] == "https://rp.example.no/bc"
    logout_token = jwt.decode(job.payload["logout_token"],
                              KeySet.import_key_set((await client.get("/idporten/jwks")).json()))
    assert logout_token.header["typ"] == "logout+jwt"
    assert logout_token.claims["aud"] == "back-service" and logout_token.claims["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in logout_token.claims["events"]
    # Login-only tokens die with the session; the SSO session is gone.
    assert (await client.get("/idporten/userinfo", headers=bearer(second.json()["access_token"]))).status_code == 401
    _, challenge = pkce()
    again = await client.get("/idporten/authorize", params=authorize_parameters(front.client_id, challenge))
    assert again.headers["location"].startswith("/idporten/login/")


async def test_logout_never_redirects_to_an_unregistered_address(client, database):
    rp = await register_login_client(database)
    response = await client.get("/idporten/logout", params={"client_id": rp.client_id,
                                                            "post_logout_redirect_uri": "https://evil.example/"})
    assert response.status_code == 400 and "location" not in response.headers


async def test_ansattporten_answers_the_parties_the_person_may_represent_and_never_shares_sso(client, database):
    await seed_demo_personas(database)
    await add_delegable_resource(database)  # granted to the daglig leder (Ingrid), not to the board (Kari)
    rp = await register_login_client(database, integration_type="ansattporten", client_id="employer-service")
    other = await register_login_client(database, integration_type="ansattporten", client_id="other-employer")
    verifier, challenge = pkce()
    details = (f'[{{"type":"ansattporten:altinn:resource","resource":"urn:altinn:resource:{DELEGABLE_RESOURCE}",'
               '"representation_is_required":true}]')
    parameters = authorize_parameters(rp.client_id, challenge, acr_values="high", authorization_details=details)
    chooser = await client.get("/ansattporten/authorize", params=parameters)
    chooser = await client.post(f"{chooser.headers['location']}/testid", data={"pid": INGRID.identifier,
                                                                               "level": "4"})
    # Her one company, and representation required: the chooser has nothing to ask.
    callback = dict(parse_qsl(urlsplit((await client.get(chooser.headers["location"])).headers["location"]).query))
    assert callback["iss"] == "http://felles.test/ansattporten"
    tokens = (await client.post("/ansattporten/token", headers=basic(rp.client_id, rp.client_secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier})).json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set((await client.get("/ansattporten/jwks")).json()))
    assert claims.claims["acr"] == "high" and claims.claims["iss"] == "http://felles.test/ansattporten"
    (answer,) = claims.claims["authorization_details"]
    assert answer["type"] == "ansattporten:altinn:resource"
    assert [p["orgno"]["ID"] for p in answer["authorized_parties"]] == [f"0192:{DEMO_COMPANY}"]
    assert answer["authorized_parties"][0]["name"] == "Fjordkraft Demo AS"
    _, challenge = pkce()
    isolated = await client.get("/ansattporten/authorize", params=authorize_parameters(
        other.client_id, challenge, acr_values="substantial"))
    assert isolated.headers["location"].startswith("/ansattporten/login/")
    # ID-porten clients are not Ansattporten clients and the other way round.
    wrong = await client.get("/idporten/authorize", params=authorize_parameters(rp.client_id, challenge))
    assert wrong.status_code == 400


async def test_self_service_over_http_logs_who_changed_what(client, database, token):
    org_token = token(scopes=["idporten:dcr.write"], org=CONSUMER)
    created = await client.post("/selvbetjening/api/v1/clients", headers=bearer(org_token), json={
        "integration_type": "maskinporten", "client_name": "Lønnssystem", "scopes": []})
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    assert created.json()["client_orgno"] == CONSUMER and created.json()["token_endpoint_auth_method"] == \
        "private_key_jwt"
    from tests.identity.conftest import client_key

    keys = await client.post(f"/selvbetjening/api/v1/clients/{client_id}/jwks", headers=bearer(org_token),
                             json={"keys": [public_jwk(client_key())]})
    assert keys.status_code == 201
    assert keys.json()[0]["expires_at"] <= (clock.now() + timedelta(days=366)).isoformat()
    private = await client.post(f"/selvbetjening/api/v1/clients/{client_id}/jwks", headers=bearer(org_token),
                                json={"keys": [client_key().as_dict(private=True)]})
    assert private.status_code == 400 and private.json()["code"] == "invalid_jwk"
    others = await client.get(f"/selvbetjening/api/v1/clients/{client_id}",
                              headers=bearer(token(scopes=["idporten:dcr.read"], org="991825827")))
    assert others.status_code == 404
    reader = await client.post("/selvbetjening/api/v1/clients", json={"integration_type": "maskinporten",
                                                                      "client_name": "x"},
                               headers=bearer(token(scopes=["idporten:dcr.read"], org=CONSUMER)))
    assert reader.status_code == 403
    changes = (await client.get(f"/selvbetjening/api/v1/clients/{client_id}/changes",
                                headers=bearer(org_token))).json()
    assert [c["action"] for c in changes] == ["create", "set_keys"]
    assert all(c["actor"] == f"organization:{CONSUMER}" for c in changes)


async def test_an_update_with_null_clears_the_description_and_refuses_null_where_a_value_is_needed(
        client, database, token):
    org_token = token(scopes=["idporten:dcr.write"], org=CONSUMER)
    rp = await register_login_client(database, description="Til fjerning")
    url = f"/selvbetjening/api/v1/clients/{rp.client_id}"
    cleared = await client.put(url, headers=bearer(org_token), json={"description": None, "client_name": "Ny"})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["description"] == "" and cleared.json()["client_name"] == "Ny"
    for field in ("client_name", "redirect_uris", "scopes", "sso_disabled", "access_token_lifetime"):
        refused = await client.put(url, headers=bearer(org_token), json={field: None})
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "invalid_client_metadata" and field in refused.json()["detail"]
    removed = await client.put(url, headers=bearer(org_token), json={"frontchannel_logout_uri": None})
    assert removed.status_code == 200 and removed.json()["frontchannel_logout_uri"] is None


async def test_the_change_log_is_kept_twelve_months(database):

    await selfservice.create_client(database, Actor("organization:910753614"), CONSUMER, schemas.ClientCreate(
        integration_type="maskinporten", client_name="old"), allow_local_http=True)
    clock.advance(timedelta(days=366))

    class Context:
        session = None

    async with database.transaction() as session:
        Context.session = session
        await selfservice.purge_change_log({}, Context)  # type: ignore[arg-type]
        assert list(await session.scalars(select(ChangeLogEntry))) == []


async def test_altinn_token_exchange_for_id_porten_and_maskinporten_tokens(client, database, token):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, _, response = await code_flow(client, database, rp)
    exchanged = await client.get("/authentication/api/v1/exchange/idporten",
                                 headers=bearer(response.json()["access_token"]))
    assert exchanged.status_code == 200 and exchanged.headers["content-type"].startswith("text/plain")
    claims = jwt.decode(exchanged.text, KeySet.import_key_set((await client.get("/idporten/jwks")).json())).claims
    assert claims["pid"] == KARI.identifier and claims["urn:altinn:authlevel"] == 3
    wrong = await client.get("/authentication/api/v1/exchange/maskinporten",
                             headers=bearer(response.json()["access_token"]))
    assert wrong.status_code == 401


async def test_demo_clients_are_seeded_once(database, settings, client):
    from felles.identity.cli import seed_demo_clients

    settings = settings.model_copy(update={"base_url": "http://localhost:8000"})
    first = await seed_demo_clients(database, settings)
    # The portal's login client is the portal's own (felles.portal.login), not a demo client with a secret.
    assert first == {"felles-spa": "", "demo-company-maskinporten": ""}
    assert await seed_demo_clients(database, settings) == first


# --- back-channel logout goes through the SSRF guard ----------------------------------------------------------
RELYING_PARTY_HOST = "rp.felles.test"


@pytest.fixture
def relying_party() -> Iterator[tuple[str, list[bytes]]]:
    """A relying party's back-channel logout endpoint, served on loopback: its URL and the bodies it got."""
    received: list[bytes] = []

    async def backchannel_logout(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=200)

    with serve_app(Starlette(routes=[Route("/bc", backchannel_logout, methods=["POST"])])) as base_url:
        yield f"{base_url}/bc", received


async def _deliver_backchannel_logout(database, uri: str) -> Job:
    async with database.transaction() as session:
        await enqueue(session, "identity.backchannel_logout", {"uri": uri, "logout_token": "the.token"})
    await Worker(database).run_until_idle()
    async with database.transaction() as session:
        (job,) = (await session.scalars(select(Job).where(Job.kind == "identity.backchannel_logout"))).all()
    return job


async def test_backchannel_logout_reaches_the_relying_party_through_the_guarded_client(
    database, job_settings, relying_party
):
    url, received = relying_party
    job = await _deliver_backchannel_logout(database, url)
    assert job.status == JobStatus.SUCCEEDED and received == [b"logout_token=the.token"]


@pytest.mark.parametrize("where", ["a name resolving to 0.0.0.0", "the link-local metadata address"])
async def test_backchannel_logout_to_a_non_public_address_is_refused_and_logged_not_called(
    database, job_settings, relying_party, monkeypatch, where
):
    url, received = relying_party
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        """DNS (an outside system, stubbed): the relying party's name leads to 0.0.0.0, which is not a public
        address but which a connection on this machine reaches (the loopback endpoint) all the same."""
        if host == RELYING_PARTY_HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("0.0.0.0", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    uri = url.replace("127.0.0.1", RELYING_PARTY_HOST) if where.startswith("a name") \
        else "http://169.254.169.254/latest/meta-data"
    with capture_logs() as logs:
        job = await _deliver_backchannel_logout(database, uri)
    assert received == []
    assert job.status == JobStatus.SUCCEEDED  # nothing to try again: the address will not become allowed
    refused = [entry for entry in logs if entry["event"] == "backchannel_logout_refused"]
    assert len(refused) == 1 and refused[0]["uri"] == uri and "public address" in refused[0]["reason"]


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1", "[fd00::1]", "[::ffff:192.168.1.1]"])
async def test_self_service_refuses_a_backchannel_logout_uri_at_a_private_or_link_local_address(
    client, database, token, host
):
    response = await client.post("/selvbetjening/api/v1/clients", headers=bearer(
        token(scopes=["idporten:dcr.write"], org=CONSUMER)), json={
        "integration_type": "idporten", "client_name": "Intern", "token_endpoint_auth_method": "client_secret_basic",
        "scopes": ["openid"], "redirect_uris": [f"https://{host}/callback"],
        "backchannel_logout_uri": f"https://{host}/bc"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "outbound_url_refused"


async def test_in_production_registration_refuses_a_backchannel_logout_uri_on_loopback(database):
    def loopback_client(**changes: str) -> schemas.ClientCreate:
        return schemas.ClientCreate(
            integration_type="idporten", client_name="Lokal", token_endpoint_auth_method="client_secret_basic",
            scopes=["openid"], redirect_uris=["https://localhost/callback"],
            backchannel_logout_uri="https://localhost/bc", **changes)

    owner = Actor(f"organization:{CONSUMER}")
    with pytest.raises(outbound.OutboundRefused, match="Loopback"):
        await selfservice.create_client(database, owner, CONSUMER, loopback_client(), allow_local_http=False)
    created = await selfservice.create_client(database, owner, CONSUMER, loopback_client(client_id="dev-rp"),
                                              allow_local_http=True)  # development and tests call loopback
    public = await register_login_client(database, client_id="public-rp")
    with pytest.raises(outbound.OutboundRefused, match="not a public address"):
        await selfservice.update_client(
            database, owner, CONSUMER, public.client_id,
            schemas.ClientUpdate(redirect_uris=["https://10.1.2.3/callback"], backchannel_logout_uri="https://10.1.2.3/bc"),
            allow_local_http=False)
    assert created.backchannel_logout_uri == "https://localhost/bc"
