"""Which tokens open which API: only the platform's issuers, only the API's audience, only the right kind of token
for an end-user API; and a request's token is checked before its body is read."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI

from felles.core.routing import include_component_router
from felles.core.tokens import CurrentPrincipal, Issuer, PlatformKeys, issuer_url
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer
from tests.identity.conftest import relying_party_token

KARI = DEMO_PERSONS[0]
ME = "/audit/api/v1/me"


def refused_as_invalid(response) -> bool:
    return (response.status_code == 401 and response.headers["content-type"].startswith("application/problem+json")
            and response.json()["code"] == "invalid_token")


@pytest.mark.parametrize("iss", ["https://evil.example/idporten", "{base}/testtokens", "{base}/idporten/", None])
async def test_a_token_from_an_issuer_the_platform_does_not_run_is_refused(client, settings, iss):
    now = int(time.time())
    claims = {"scope": "altinn:portal/enduser", "pid": KARI.identifier, "exp": now + 60, "jti": f"iss-{iss}"}
    if iss is not None:
        claims["iss"] = iss.format(base=settings.base_url)
    forged = PlatformKeys.load(settings).sign(claims)  # signed with the platform's own key, even so
    response = await client.get(ME, headers=bearer(forged))
    assert refused_as_invalid(response) and "not issued by" in response.json()["detail"]


async def test_a_token_for_another_api_is_refused_and_one_for_this_api_or_none_opens_it(client, settings, token):
    base = settings.base_url
    for audience in (f"{base}/events", [f"{base}/events", f"{base}/notifications"], "https://other.example/audit"):
        response = await client.get(ME, headers=bearer(token(scopes=[], person=KARI.identifier, audience=audience)))
        assert refused_as_invalid(response) and "audience" in response.json()["detail"], audience
    for audience in (f"{base}/audit", [f"{base}/events", f"{base}/audit"], "unspecified", None):
        response = await client.get(ME, headers=bearer(token(scopes=[], person=KARI.identifier, audience=audience)))
        assert response.status_code == 200, (audience, response.text)


async def test_an_api_refuses_a_token_from_an_issuer_it_does_not_take(client, token):
    # Folkeregisteret takes Maskinporten tokens; an Altinn token of the same organisation is not one.
    path = f"/folkeregisteret/api/v1/personer/{KARI.identifier}"
    scope = ["folkeregister:deling/offentligmedhjemmel"]
    altinn = await client.get(path, headers=bearer(token(scopes=scope, org="974760673", issuer=Issuer.ALTINN)))
    assert refused_as_invalid(altinn) and "maskinporten only" in altinn.json()["detail"]
    maskinporten = await client.get(path, headers=bearer(token(scopes=scope, org="974760673")))
    assert maskinporten.status_code in (200, 404), maskinporten.text


async def test_a_persons_token_from_an_agencys_relying_party_does_not_open_their_audit_log(client, database):
    """ID-porten gave the agency's own client a token for the person (scope openid): the agency must not read
    the person's Altinn data with it, nor with the Altinn token it exchanges it for."""
    await seed_demo_personas(database)
    id_porten = await relying_party_token(client, database, KARI.identifier)
    assert refused_as_invalid(await client.get(ME, headers=bearer(id_porten)))
    exchanged = await client.get("/authentication/api/v1/exchange/idporten", headers=bearer(id_porten))
    assert exchanged.status_code == 200
    refused = await client.get(ME, headers=bearer(exchanged.text))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


async def test_the_exchange_never_passes_on_the_portals_scope(client, settings, token):
    id_porten = token(scopes=["altinn:portal/enduser", "openid"], person=KARI.identifier, issuer=Issuer.IDPORTEN)
    exchanged = await client.get("/authentication/api/v1/exchange/idporten", headers=bearer(id_porten))
    claims = PlatformKeys.load(settings).verify(exchanged.text)
    assert claims["iss"] == issuer_url(settings.base_url, Issuer.ALTINN) and claims["scope"] == "openid"
    refused = await client.get(ME, headers=bearer(exchanged.text))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


class BodyReadCounter:
    """A request body sent in chunks, counting how many the server asked for."""

    def __init__(self, chunks: int, chunk_size: int = 1 << 20) -> None:
        self.chunks, self.chunk_size, self.sent = chunks, chunk_size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.sent += 1
            yield b"[" + b" " * (self.chunk_size - 1)


TOKEN_GUARDED_POSTS = ["/rest/v2/personer", "/accessmanagement/api/v1/enduser/delegations/accesspackages",
                       "/notifications/api/v1/future/orders"]
NO_VALID_TOKEN = ({}, bearer("not-a-token"), {"Authorization": "Basic dXNlcjpwdw=="})


@pytest.mark.parametrize("path", TOKEN_GUARDED_POSTS)
async def test_a_request_without_a_valid_token_is_refused_before_its_body_is_parsed(client, path):
    # Not JSON at all: had the server parsed it, the answer would be 422; it is 401, from the token alone.
    for headers in NO_VALID_TOKEN:
        response = await client.post(path, content=b"[" * 10 + b" " * 500_000,
                                     headers={"Content-Type": "application/json", **headers})
        assert response.status_code == 401, response.text


@pytest.mark.parametrize("path", TOKEN_GUARDED_POSTS)
async def test_a_large_body_without_a_token_is_not_read_past_the_body_limit(client, path):
    for headers in NO_VALID_TOKEN:
        body = BodyReadCounter(chunks=64)
        response = await client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
        assert response.status_code in (401, 413), response.text
        assert body.sent <= 2, f"{body.sent} MB read of a body without a valid token"


async def test_a_request_with_a_token_still_has_its_body_read(client, token):
    response = await client.post("/rest/v2/personer", json={"personidentifikatorer": [KARI.identifier]},
                                 headers=bearer(token(scopes=["krr:global/kontaktinformasjon.read"], org="991825827")))
    assert response.status_code == 200, response.text


def test_a_router_whose_token_routes_would_read_the_body_first_is_refused():
    router = APIRouter()

    @router.post("/unguarded")
    async def unguarded(principal: CurrentPrincipal, body: dict[str, str]) -> None:
        """A route needing a token on a plain APIRoute."""

    with pytest.raises(TypeError, match="/unguarded"):
        include_component_router(FastAPI(), router)


@pytest.mark.parametrize(("arguments", "issuer"), [
    (["--person", KARI.identifier, "--scope", "altinn:portal/enduser"], Issuer.ALTINN),
    (["--person", KARI.identifier, "--issuer", "idporten", "--scope", "krr:user/kontaktinformasjon.read"],
     Issuer.IDPORTEN),
    (["--org", "991825827", "--scope", "krr:global/kontaktinformasjon.read"], Issuer.MASKINPORTEN),
])
def test_felles_token_mints_a_token_of_the_issuer_its_api_takes(settings, monkeypatch, arguments, issuer):
    from typer.testing import CliRunner

    from felles.cli import cli
    from felles.core.config import get_settings

    monkeypatch.setenv("FELLES_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FELLES_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["token", *arguments, "--audience", "http://localhost:8000/rest"])
        assert result.exit_code == 0, result.output
        claims = PlatformKeys.load(get_settings()).verify(result.output.strip())
        assert claims["iss"] == issuer_url(get_settings().base_url, issuer)
        assert claims["aud"] == "http://localhost:8000/rest"
        refused = CliRunner().invoke(cli, ["token", *arguments, "--issuer", "testtokens"])
        assert refused.exit_code != 0 and "--issuer" in refused.output
    finally:
        get_settings.cache_clear()
