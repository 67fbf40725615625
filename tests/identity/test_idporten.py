"""ID-porten's code flow: discovery, /authorize with PKCE (plain and pushed), TestID login, SSO, tokens,
userinfo, introspection, revocation and the attacks a provider must withstand."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet

from felles.core.clock import clock
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer
from tests.identity.conftest import (
    BASE,
    IDPORTEN,
    REDIRECT,
    authorize_parameters,
    client_key,
    log_in,
    pkce,
    public_jwk,
    register_login_client,
)

KARI, OLA = DEMO_PERSONS[0], DEMO_PERSONS[1]


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def keys(http) -> KeySet:
    return KeySet.import_key_set((await http.get("/idporten/jwks")).json())


async def code_flow(http, database, rp, pid=KARI.identifier, **extra):
    verifier, challenge = pkce()
    parameters = authorize_parameters(rp.client_id, challenge, **extra)
    callback = await log_in(http, parameters, pid)
    assert callback["state"] == parameters["state"] and callback["iss"] == IDPORTEN
    response = await http.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    return parameters, callback, response


async def test_discovery_names_the_exact_issuer_and_endpoints(client):
    metadata = (await client.get("/idporten/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == IDPORTEN
    assert metadata["authorization_endpoint"] == f"{IDPORTEN}/authorize"
    assert metadata["pushed_authorization_request_endpoint"] == f"{IDPORTEN}/par"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["acr_values_supported"] == ["idporten-loa-substantial", "idporten-loa-high"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert metadata["prompt_values_supported"] == ["login", "none"]
    assert (await client.get("/ansattporten/.well-known/openid-configuration")).json()["issuer"] == \
        "http://felles.test/ansattporten"


async def test_a_person_logs_in_with_testid_and_the_client_gets_id_porten_tokens(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    parameters, _, response = await code_flow(client, database, rp, acr_values="idporten-loa-substantial",
                                              ui_locales="nn")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120 and body["scope"] == "openid profile"
    assert body["refresh_token"] and body["refresh_token_expires_in"] == 600
    id_token = jwt.decode(body["id_token"], await keys(client)).claims
    assert id_token["iss"] == IDPORTEN and id_token["aud"] == rp.client_id
    assert id_token["pid"] == KARI.identifier and id_token["sub"] != KARI.identifier
    assert id_token["acr"] == "idporten-loa-substantial" and id_token["amr"] == ["TestID"]
    assert id_token["nonce"] == parameters["nonce"] and id_token["locale"] == "nn"
    assert id_token["exp"] - id_token["iat"] == 120 and "sid" not in id_token
    access = jwt.decode(body["access_token"], await keys(client)).claims
    assert access["pid"] == KARI.identifier and access["client_id"] == rp.client_id
    # RFC 9068 requires an audience: asked for without `resource`, the token is for this platform's APIs.
    assert access["aud"] == BASE and access["sub"] == id_token["sub"]

    info = await client.get("/idporten/userinfo", headers=bearer(body["access_token"]))
    assert info.json() == {"sub": id_token["sub"], "pid": KARI.identifier, "locale": "nn"}


async def test_testid_refuses_a_person_not_in_folkeregisteret_and_the_login_stays_usable(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, challenge = pkce()
    response = await client.get("/idporten/authorize", params=authorize_parameters(rp.client_id, challenge))
    testid = response.headers["location"] + "/testid"
    unregistered = await client.post(testid, data={"pid": "01010100050", "level": "3"})  # valid check digits
    assert unregistered.status_code == 400 and "No person 01010100050 in Folkeregisteret" in unregistered.text
    wrong_digits = await client.post(testid, data={"pid": "01010112345", "level": "3"})
    assert wrong_digits.status_code == 400 and "not valid fødselsnummer" in wrong_digits.text
    accepted = await client.post(testid, data={"pid": KARI.identifier, "level": "3"})
    assert accepted.status_code == 303 and accepted.headers["location"].startswith(REDIRECT)


async def test_sub_is_pairwise_per_client(client, database):
    await seed_demo_personas(database)
    first = await register_login_client(database, client_id="first-service")
    second = await register_login_client(database, client_id="second-service")
    subs = []
    for rp in (first, second, first):
        _, _, response = await code_flow(client, database, rp)
        subs.append(jwt.decode(response.json()["id_token"], await keys(client)).claims["sub"])
    assert subs[0] == subs[2] != subs[1]


async def test_the_resource_parameter_becomes_the_access_token_audience(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, _, response = await code_flow(client, database, rp, resource="https://api.skatt.example/")
    assert jwt.decode(response.json()["access_token"], await keys(client)).claims["aud"] == \
        "https://api.skatt.example/"


async def test_sso_serves_a_second_client_and_prompt_login_forces_a_new_login(client, database):
    await seed_demo_personas(database)
    first = await register_login_client(database, client_id="first-service")
    second = await register_login_client(database, client_id="second-service")
    await code_flow(client, database, first)
    _, challenge = pkce()
    response = await client.get("/idporten/authorize", params=authorize_parameters(second.client_id, challenge))
    assert response.headers["location"].startswith(REDIRECT + "?code=")
    forced = await client.get("/idporten/authorize",
                              params=authorize_parameters(second.client_id, challenge, prompt="login"))
    assert forced.headers["location"].startswith("/idporten/login/")


async def test_sso_ends_after_30_minutes_idle_and_120_minutes_in_all(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    await code_flow(client, database, rp)
    _, challenge = pkce()

    async def served_by_sso() -> bool:
        response = await client.get("/idporten/authorize", params=authorize_parameters(rp.client_id, challenge))
        return response.headers["location"].startswith(REDIRECT)

    for _ in range(4):  # active every 29 minutes: still in at 116 minutes
        clock.advance(timedelta(minutes=29))
        assert await served_by_sso()
    clock.advance(timedelta(minutes=5))
    assert not await served_by_sso()  # 121 minutes after the login
    await code_flow(client, database, rp)
    clock.advance(timedelta(minutes=31))
    assert not await served_by_sso()


async def test_a_client_that_opts_out_of_sso_gets_an_isolated_session(client, database):
    await seed_demo_personas(database)
    shared = await register_login_client(database, client_id="shared-service")
    isolated = await register_login_client(database, client_id="isolated-service", sso_disabled=True)
    await code_flow(client, database, shared)
    _, challenge = pkce()
    response = await client.get("/idporten/authorize", params=authorize_parameters(isolated.client_id, challenge))
    assert response.headers["location"].startswith("/idporten/login/")


async def test_a_higher_level_than_the_session_has_needs_a_new_login(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    await code_flow(client, database, rp)
    _, challenge = pkce()
    response = await client.get("/idporten/authorize", params=authorize_parameters(
        rp.client_id, challenge, acr_values="idporten-loa-high"))
    location = response.headers["location"]
    assert location.startswith("/idporten/login/")
    chooser = await client.get(location)
    assert "BankID" in chooser.text and 'data-eid="minid"' not in chooser.text
    # MinID cannot give "high": the method is not offered and cannot be posted to either.
    assert (await client.post(f"{location}/minid", data={"pid": KARI.identifier, "level": "3"})).status_code == 404


async def test_pushed_authorization_request_then_authorize_with_request_uri(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _verifier, challenge = pkce()
    parameters = authorize_parameters(rp.client_id, challenge)
    pushed = await client.post("/idporten/par", data=parameters, headers=basic(rp.client_id, rp.client_secret))
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["expires_in"] == 120 and pushed.json()["request_uri"].startswith("urn:")
    callback = await log_in(client, {"client_id": rp.client_id, "request_uri": pushed.json()["request_uri"]},
                            KARI.identifier)
    assert callback["state"] == parameters["state"]
    # The request_uri is used once.
    again = await client.get("/idporten/authorize", params={"client_id": rp.client_id,
                                                            "request_uri": pushed.json()["request_uri"]})
    assert "error=invalid_request_uri" in again.headers["location"]


async def test_a_pushed_request_expires_after_120_seconds(client, database):
    rp = await register_login_client(database)
    _, challenge = pkce()
    pushed = await client.post("/idporten/par", data=authorize_parameters(rp.client_id, challenge),
                               headers=basic(rp.client_id, rp.client_secret))
    clock.advance(timedelta(seconds=121))
    response = await client.get("/idporten/authorize", params={"client_id": rp.client_id,
                                                               "request_uri": pushed.json()["request_uri"]})
    assert "error=invalid_request_uri" in response.headers["location"]


async def test_par_needs_client_authentication(client, database):
    rp = await register_login_client(database)
    _, challenge = pkce()
    response = await client.post("/idporten/par", data=authorize_parameters(rp.client_id, challenge),
                                 headers=basic(rp.client_id, "wrong"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_an_unregistered_redirect_uri_is_never_redirected_to(client, database):
    rp = await register_login_client(database)
    _, challenge = pkce()
    response = await client.get("/idporten/authorize", params=authorize_parameters(
        rp.client_id, challenge, redirect_uri="https://evil.example/steal"))
    assert response.status_code == 400 and "location" not in response.headers
    assert 'href="https://evil.example' not in response.text
    unknown = await client.get("/idporten/authorize", params=authorize_parameters("nobody", challenge))
    assert unknown.status_code == 400 and "location" not in unknown.headers


async def test_requests_without_pkce_state_or_nonce_are_sent_back_with_an_error(client, database):
    rp = await register_login_client(database)
    _, challenge = pkce()
    for missing in ("code_challenge", "state", "nonce"):
        parameters = authorize_parameters(rp.client_id, challenge)
        del parameters[missing]
        response = await client.get("/idporten/authorize", params=parameters)
        assert response.headers["location"].startswith(REDIRECT + "?error=invalid_request"), missing
        assert f"iss={IDPORTEN.replace(':', '%3A').replace('/', '%2F')}" in response.headers["location"]
    plain = await client.get("/idporten/authorize", params=authorize_parameters(
        rp.client_id, challenge, code_challenge_method="plain"))
    assert "error=invalid_request" in plain.headers["location"]


async def test_a_wrong_or_missing_code_verifier_is_refused(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    for verifier in ("x" * 43, None):
        _, challenge = pkce()
        callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
        data = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT}
        if verifier:
            data["code_verifier"] = verifier
        response = await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=data)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_a_reused_code_is_refused_and_revokes_the_tokens_issued_from_it(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
    data = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    first = (await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=data)).json()
    again = await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=data)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refreshed = await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.json()["error"] == "invalid_grant"
    introspected = await client.post("/idporten/token/introspect", headers=basic(rp.client_id, rp.client_secret),
                                     data={"token": first["access_token"]})
    assert introspected.json() == {"active": False}
    assert (await client.get("/idporten/userinfo", headers=bearer(first["access_token"]))).status_code == 401


async def test_a_code_redeemed_twice_at_once_gives_tokens_once(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
    data = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    answers = await asyncio.gather(*(client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret),
                                                 data=data) for _ in range(3)))
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400]
    issued = next(answer.json() for answer in answers if answer.status_code == 200)
    # The losers count as reuse: the tokens the winner got are revoked too.
    introspected = await client.post("/idporten/token/introspect", headers=basic(rp.client_id, rp.client_secret),
                                     data={"token": issued["access_token"]})
    assert introspected.json() == {"active": False}


async def test_a_code_for_one_client_cannot_be_redeemed_by_another(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database, client_id="first-service")
    thief = await register_login_client(database, client_id="other-service")
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
    response = await client.post("/idporten/token", headers=basic(thief.client_id, thief.client_secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    assert response.json()["error"] == "invalid_grant"


async def test_refresh_rotates_the_refresh_token_and_a_reused_one_revokes_the_grant(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, _, response = await code_flow(client, database, rp)
    first = response.json()["refresh_token"]
    auth = basic(rp.client_id, rp.client_secret)
    second = await client.post("/idporten/token", headers=auth, data={"grant_type": "refresh_token",
                                                                      "refresh_token": first})
    assert second.status_code == 200 and second.json()["refresh_token"] != first
    replay = await client.post("/idporten/token", headers=auth, data={"grant_type": "refresh_token",
                                                                      "refresh_token": first})
    assert replay.json()["error"] == "invalid_grant"
    newest = await client.post("/idporten/token", headers=auth, data={
        "grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]})
    assert newest.json()["error"] == "invalid_grant"


async def test_client_secret_post_and_the_registered_method_only(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database, method="client_secret_post")
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
    data = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier}
    wrong_method = await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=data)
    assert wrong_method.status_code == 401 and wrong_method.json()["error"] == "invalid_client"
    response = await client.post("/idporten/token", data={**data, "client_id": rp.client_id,
                                                           "client_secret": rp.client_secret})
    assert response.status_code == 200


async def test_private_key_jwt_client_authentication(client, database):
    await seed_demo_personas(database)
    from felles.core.audit import Actor
    from felles.identity import schemas, selfservice
    from tests.identity.conftest import CONSUMER

    rp = await register_login_client(database, method="private_key_jwt")
    await selfservice.set_client_keys(database, Actor("test"), CONSUMER, rp.client_id,
                                      schemas.JwkSet(keys=[public_jwk(client_key())]))

    def assertion(**overrides) -> str:
        now = int(time.time())
        claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": IDPORTEN, "iat": now, "exp": now + 60,
                  "jti": str(now) + str(overrides), **overrides}
        return jwt.encode({"alg": "RS256", "kid": client_key().kid}, claims, client_key())

    async def redeem(client_assertion: str):
        verifier, challenge = pkce()
        callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
        return await client.post("/idporten/token", data={
            "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": rp.client_id, "client_assertion": client_assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})

    good = assertion()
    assert (await redeem(good)).status_code == 200
    assert (await redeem(good)).json()["error"] == "invalid_client"  # replayed assertion
    assert (await redeem(assertion(aud="https://idporten.no"))).json()["error"] == "invalid_client"
    assert (await redeem(assertion(sub="someone-else"))).json()["error"] == "invalid_client"


async def test_public_clients_use_pkce_without_a_secret_and_get_no_refresh_token(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database, method="none")
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
    response = await client.post("/idporten/token", data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": rp.client_id})
    assert response.status_code == 200 and "refresh_token" not in response.json()


async def test_introspection_and_revocation(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database, client_id="first-service")
    other = await register_login_client(database, client_id="other-service")
    _, _, response = await code_flow(client, database, rp)
    tokens = response.json()
    own = await client.post("/idporten/token/introspect", headers=basic(rp.client_id, rp.client_secret),
                            data={"token": tokens["access_token"]})
    assert own.json()["active"] is True and own.json()["pid"] == KARI.identifier
    # A token for one client is nothing to another one without the introspection scope.
    foreign = await client.post("/idporten/token/introspect", headers=basic(other.client_id, other.client_secret),
                                data={"token": tokens["access_token"]})
    assert foreign.json() == {"active": False}
    revoked = await client.post("/idporten/token/revoke", headers=basic(rp.client_id, rp.client_secret),
                                data={"token": tokens["refresh_token"]})
    assert revoked.status_code == 200
    after = await client.post("/idporten/token/introspect", headers=basic(rp.client_id, rp.client_secret),
                              data={"token": tokens["access_token"]})
    assert after.json() == {"active": False}


async def test_opaque_access_tokens_for_scopes_configured_so_and_pseudonymous_scopes_hide_pid(client, database):
    await seed_demo_personas(database)
    from tests.identity.conftest import register_scope

    opaque = await register_scope(database, "opaque", token_type="OPAQUE", accessible_for_all=True,
                                  allowed_integration_types=["idporten"])
    pseudo = await register_scope(database, "pseudo", requires_pseudonymous_tokens=True, accessible_for_all=True,
                                  allowed_integration_types=["idporten"])
    rp = await register_login_client(database, scopes=["openid", "profile", opaque, pseudo])
    _, _, response = await code_flow(client, database, rp, scope=f"openid {opaque}")
    access_token = response.json()["access_token"]
    assert access_token.count(".") == 0
    info = await client.post("/idporten/token/introspect", headers=basic(rp.client_id, rp.client_secret),
                             data={"token": access_token})
    assert info.json()["active"] is True and info.json()["pid"] == KARI.identifier

    _, _, response = await code_flow(client, database, rp, scope=f"openid profile {pseudo}")
    body = response.json()
    assert "pid" not in jwt.decode(body["id_token"], await keys(client)).claims
    assert "pid" not in jwt.decode(body["access_token"], await keys(client)).claims
    assert "pid" not in (await client.get("/idporten/userinfo", headers=bearer(body["access_token"]))).json()


async def test_an_id_token_is_not_accepted_as_an_access_token(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, _, response = await code_flow(client, database, rp)
    id_token = response.json()["id_token"]
    refused = await client.get("/idporten/userinfo", headers=bearer(id_token))
    assert refused.status_code == 401


async def test_the_chooser_and_testid_pages_speak_the_requested_language(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, challenge = pkce()
    response = await client.get("/idporten/authorize", params=authorize_parameters(rp.client_id, challenge,
                                                                                 ui_locales="en"))
    chooser = await client.get(response.headers["location"])
    assert "Choose electronic ID" in chooser.text and "TestID in development" in chooser.text
    search = await client.get(response.headers["location"] + "/testid", params={"q": "Kari Nordmann"})
    assert KARI.identifier in search.text
    by_number = await client.get(response.headers["location"] + "/testid", params={"q": OLA.identifier})
    assert "Ola" in by_number.text
    nynorsk = await client.get(response.headers["location"], params={"lang": "nn"})
    assert "Vel elektronisk ID" in nynorsk.text


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_felles_apis_accept_id_porten_access_tokens_but_not_id_tokens(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    _, _, response = await code_flow(client, database, rp)
    api = "/rest/v1/person"  # KRR's end-user API takes ID-porten tokens with its scope
    with_access = await client.get(api, headers=bearer(response.json()["access_token"]))
    assert with_access.status_code == 403 and with_access.json()["code"] == "insufficient_scope"
    with_id = await client.get(api, headers=bearer(response.json()["id_token"]))
    assert with_id.status_code == 401 and with_id.json()["code"] == "invalid_token"


async def test_a_repeated_token_request_parameter_is_an_invalid_request(client, database):
    await seed_demo_personas(database)
    rp = await register_login_client(database)
    verifier, challenge = pkce()
    callback = await log_in(client, authorize_parameters(rp.client_id, challenge), KARI.identifier)
    form = [("grant_type", "authorization_code"), ("code", callback["code"]), ("redirect_uri", REDIRECT),
            ("code_verifier", verifier)]
    for repeated in [("code", "another-code"), ("redirect_uri", REDIRECT), ("grant_type", "refresh_token")]:
        response = await client.post("/idporten/token", content=urlencode([*form, repeated]), headers={
            **basic(rp.client_id, rp.client_secret), "Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "invalid_request",
                                   "error_description": f"The parameter {repeated[0]} is repeated."}
    # the code was not spent by the refused requests
    redeemed = await client.post("/idporten/token", headers=basic(rp.client_id, rp.client_secret), data=dict(form))
    assert redeemed.status_code == 200, redeemed.text
