"""Maskinporten: the JWT-bearer grant, its metadata and keys, and every way a grant can be wrong."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

from joserfc import jwt

from felles.core.audit import Actor
from felles.core.clock import clock
from felles.identity import selfservice
from tests.conftest import bearer
from tests.identity.conftest import (
    BASE,
    CONSUMER,
    MASKINPORTEN,
    PROVIDER,
    SUPPLIER,
    client_key,
    register_machine_client,
    register_scope,
)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def token(client, assertion):
    return await client.post("/maskinporten/token", data={"grant_type": JWT_BEARER, "assertion": assertion})


def claims_of(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_metadata_has_the_issuer_with_a_trailing_slash_and_keys_verify_tokens(client, machine):
    metadata = (await client.get("/maskinporten/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == MASKINPORTEN
    assert metadata["token_endpoint"] == MASKINPORTEN + "token"
    assert metadata["grant_types_supported"] == [JWT_BEARER]
    assert metadata["response_types_supported"] == []  # required by RFC 8414; no authorization endpoint
    keys = (await client.get("/maskinporten/jwk")).json()["keys"]
    assert keys and all("d" not in key for key in keys)

    response = await token(client, machine.grant())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "prov:api.read" and body["expires_in"] == 120
    from joserfc.jwk import KeySet

    decoded = jwt.decode(body["access_token"], KeySet.import_key_set({"keys": keys}))
    claims = decoded.claims
    assert claims["iss"] == MASKINPORTEN
    assert claims["consumer"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{CONSUMER}"}
    assert claims["client_id"] == machine.client_id and claims["token_type"] == "Bearer"
    assert claims["client_amr"] == "private_key_jwt" and "supplier" not in claims
    assert claims["exp"] - claims["iat"] == 120 and claims["jti"]
    # RFC 9068: the client is the subject of its own token, and the audience without `resource` is the platform
    assert claims["sub"] == machine.client_id and claims["aud"] == BASE
    assert decoded.header["typ"] == "at+jwt"


async def test_a_maskinporten_token_is_accepted_by_the_platform_token_check(client, machine, database):
    response = await token(client, machine.grant())
    access_token = response.json()["access_token"]
    # core's one token check: a register API protected by another scope refuses it for the scope, not the token
    refused = await client.post("/rest/v2/personer", json={"personidentifikatorer": []},
                                headers=bearer(access_token))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


async def test_scope_at_max_age_shortens_the_token(client, database):
    scope = await register_scope(database, "short", at_max_age=30)
    await selfservice.set_scope_access(database, Actor("test"), PROVIDER, scope, CONSUMER, approved=True)
    machine = await register_machine_client(database, CONSUMER, [scope])
    assert (await token(client, machine.grant(scope=scope))).json()["expires_in"] == 30


async def test_resource_becomes_the_audience(client, machine):
    response = await token(client, machine.grant(resource=["https://api.example.no/"]))
    assert claims_of(response.json()["access_token"])["aud"] == "https://api.example.no/"


async def test_a_supplier_gets_a_token_for_a_consumer_that_delegated_the_scope(client, machine, database):
    supplier = await register_machine_client(database, SUPPLIER, ["prov:api.read"], key_index=1)
    refused = await token(client, supplier.grant(consumer_org=CONSUMER))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    assert "has not delegated" in refused.json()["error_description"]

    await selfservice.set_delegation(database, Actor(f"organization:{CONSUMER}"), CONSUMER, "prov:api.read",
                                     SUPPLIER, active=True)
    claims = claims_of((await token(client, supplier.grant(consumer_org=CONSUMER))).json()["access_token"])
    assert claims["consumer"]["ID"] == f"0192:{CONSUMER}"
    assert claims["supplier"]["ID"] == f"0192:{SUPPLIER}"
    assert claims["delegation_source"] == "https://tt02.altinn.no/"


async def test_a_scope_not_granted_to_the_consumer_is_refused_saying_why(client, database):
    scope = await register_scope(database, "secret")
    machine = await register_machine_client(database, CONSUMER, [scope])
    response = await token(client, machine.grant(scope=scope))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": f"Organisation {CONSUMER} has not been granted access to scope {scope} by its owner.",
    }


async def test_a_scope_the_client_is_not_registered_with_is_refused(client, machine, database):
    other = await register_scope(database, "other", accessible_for_all=True)
    response = await token(client, machine.grant(scope=f"prov:api.read {other}"))
    assert response.json()["error"] == "invalid_scope"
    assert "not registered with scope prov:other" in response.json()["error_description"]


async def test_revoked_access_stops_new_tokens(client, machine, database):
    await selfservice.set_scope_access(database, Actor("test"), PROVIDER, "prov:api.read", CONSUMER,
                                       approved=False)
    assert (await token(client, machine.grant())).json()["error"] == "invalid_scope"


async def test_a_grant_jwt_cannot_be_replayed(client, machine):
    grant = machine.grant()
    assert (await token(client, grant)).status_code == 200
    replay = await token(client, grant)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant" and "used before" in replay.json()["error_description"]


async def test_expired_future_dated_and_long_lived_grants_are_refused(client, machine):
    now = int(time.time())
    cases = {
        "expired": machine.grant(iat=now - 200, exp=now - 80),
        "future": machine.grant(iat=now + 60, exp=now + 120),
        "old iat": machine.grant(iat=now - 30, exp=now + 60),
        "too long": machine.grant(iat=now, exp=now + 121),
        "no iat": machine.grant(iat=None),
    }
    for name, grant in cases.items():
        response = await token(client, grant)
        assert response.status_code == 400, name
        assert response.json()["error"] == "invalid_grant", name


async def test_clock_skew_of_ten_seconds_is_tolerated(client, machine):
    now = int(time.time())
    assert (await token(client, machine.grant(iat=now + 8, exp=now + 68))).status_code == 200
    assert (await token(client, machine.grant(iat=now - 8, exp=now + 60))).status_code == 200


async def test_wrong_audience_and_wrong_issuer_are_refused(client, machine):
    wrong_aud = await token(client, machine.grant(aud="https://maskinporten.no/"))
    assert wrong_aud.json()["error"] == "invalid_grant" and "aud" in wrong_aud.json()["error_description"]
    no_slash = await token(client, machine.grant(aud=MASKINPORTEN.rstrip("/")))
    assert no_slash.json()["error"] == "invalid_grant"
    unknown = await token(client, machine.grant(iss="no-such-client"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


async def test_unknown_kid_and_a_key_of_another_client_are_refused(client, machine):
    unknown = await token(client, machine.grant(header={"alg": "RS256", "kid": "not-registered"}))
    assert unknown.json()["error"] == "invalid_grant" and "kid" in unknown.json()["error_description"]
    # Signed with another key under the registered kid: the signature does not verify.
    forged = await token(client, machine.grant(key=client_key(1)))
    assert forged.json()["error"] == "invalid_grant" and "signature" in forged.json()["error_description"]


async def test_alg_none_and_hs256_with_the_public_key_are_refused(client, machine):
    def unsigned(header: dict, body: dict) -> str:
        def part(value: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
        return f"{part(header)}.{part(body)}."

    body = claims_of(machine.grant())
    none = await token(client, unsigned({"alg": "none", "kid": machine.key.kid}, body))
    assert none.status_code == 400 and none.json()["error"] == "invalid_grant"
    assert "alg 'none'" in none.json()["error_description"]

    # Key confusion: HMAC keyed with the client's public key (as PEM), which an attacker knows.
    # (joserfc refuses to build such a token, so the attacker's token is made by hand.)
    signing_input = unsigned({"alg": "HS256", "kid": machine.key.kid}, claims_of(machine.grant()))[:-1]
    mac = hmac.new(machine.key.as_pem(private=False), signing_input.encode(), hashlib.sha256).digest()
    confused = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    response = await token(client, confused)
    assert response.json()["error"] == "invalid_grant" and "HS256" in response.json()["error_description"]


async def test_expired_client_keys_are_not_accepted(client, machine):
    clock.advance(timedelta(days=366))
    response = await token(client, machine.grant(iat=int(clock.now().timestamp()),
                                                 exp=int(clock.now().timestamp()) + 60))
    assert response.json()["error"] == "invalid_grant" and "kid" in response.json()["error_description"]


async def test_other_grant_types_and_a_missing_assertion_are_refused(client):
    response = await client.post("/maskinporten/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    response = await client.post("/maskinporten/token", data={"grant_type": JWT_BEARER})
    assert response.json()["error"] == "invalid_request"


async def test_a_grant_sent_twice_at_once_gives_one_token(client, machine):
    grant = machine.grant()
    answers = await asyncio.gather(*(token(client, grant) for _ in range(4)),
                                   *(token(client, machine.grant()) for _ in range(4)))
    assert sorted(answer.status_code for answer in answers) == [200] * 5 + [400] * 3
    assert all("used before" in answer.json()["error_description"] for answer in answers if answer.status_code == 400)


async def test_a_repeated_parameter_is_an_invalid_request(client, machine):
    body = urlencode([("grant_type", JWT_BEARER), ("assertion", machine.grant()), ("assertion", machine.grant())])
    response = await client.post("/maskinporten/token", content=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The parameter assertion is repeated."}
