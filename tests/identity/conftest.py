"""Clients, keys and scopes for the identity tests, registered through self-service as an agency would."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from felles.core.audit import Actor
from felles.identity import schemas, selfservice

BASE = "http://felles.test"
MASKINPORTEN = f"{BASE}/maskinporten/"
IDPORTEN = f"{BASE}/idporten"
PROVIDER = "974761076"  # owns the scope prefix
CONSUMER = "910753614"
SUPPLIER = "991825827"
ADMIN = Actor("system:test-admin")
_KEYS: list[RSAKey] = []


def client_key(index: int = 0) -> RSAKey:
    """RSA keys are slow to make; the tests share a few."""
    while len(_KEYS) <= index:
        _KEYS.append(RSAKey.generate_key(2048, parameters={"kid": f"test-key-{len(_KEYS)}", "alg": "RS256"}))
    return _KEYS[index]


def public_jwk(key: RSAKey) -> dict[str, Any]:
    return {**key.as_dict(private=False), "kid": key.kid, "alg": "RS256", "use": "sig"}


@dataclass
class MachineClient:
    client_id: str
    key: RSAKey

    def grant(self, *, scope: str = "prov:api.read", header: dict[str, Any] | None = None,
              key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {"aud": MASKINPORTEN, "iss": self.client_id, "scope": scope, "iat": now,
                                "exp": now + 60, "jti": str(uuid.uuid4())}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(header or {"alg": "RS256", "kid": self.key.kid}, body, key or self.key)


async def register_scope(database, name: str = "api.read", **options: Any) -> str:
    await selfservice.assign_prefix(database, ADMIN, "prov", PROVIDER)
    scope = await selfservice.create_scope(database, Actor(f"organization:{PROVIDER}"), PROVIDER,
                                           schemas.ScopeCreate(prefix="prov", subscope=name,
                                                               description="A test API", **options))
    return scope.name


async def register_machine_client(database, owner: str, scopes: list[str], key_index: int = 0) -> MachineClient:
    actor = Actor(f"organization:{owner}")
    client = await selfservice.create_client(database, actor, owner, schemas.ClientCreate(
        integration_type="maskinporten", client_name="test integration", scopes=scopes), allow_local_http=True)
    key = client_key(key_index)
    await selfservice.set_client_keys(database, actor, owner, client.client_id,
                                      schemas.JwkSet(keys=[public_jwk(key)]))
    return MachineClient(client.client_id, key)


@pytest.fixture
async def machine(database) -> MachineClient:
    """A consumer's Maskinporten client with the provider's scope, access granted."""
    scope = await register_scope(database, delegation_source="https://tt02.altinn.no/")
    await selfservice.set_scope_access(database, Actor(f"organization:{PROVIDER}"), PROVIDER, scope, CONSUMER,
                                       approved=True)
    return await register_machine_client(database, CONSUMER, [scope])


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


KRR_USER_READ = "krr:user/kontaktinformasjon.read"
DIGDIR = "991825827"  # runs KRR and owns its scopes


async def register_krr_user_scope(database) -> str:
    """KRR's scope for a person's own contact information, open to every ID-porten client."""
    await selfservice.assign_prefix(database, ADMIN, "krr", DIGDIR)
    scope = await selfservice.create_scope(database, Actor(f"organization:{DIGDIR}"), DIGDIR, schemas.ScopeCreate(
        prefix="krr", subscope="user/kontaktinformasjon.read", description="Own contact information",
        accessible_for_all=True, allowed_integration_types=["idporten"]))
    return scope.name


async def relying_party_token(http, database, pid: str, *, scope: str = "openid") -> str:
    """The ID-porten access token a person's TestID login gives an agency's own relying party (a web client of
    the consumer organisation), from its token endpoint."""
    rp = await register_login_client(database)
    verifier, challenge = pkce()
    callback = await log_in(http, authorize_parameters(rp.client_id, challenge, scope=scope), pid)
    response = await http.post("/idporten/token", auth=(rp.client_id, rp.client_secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"base_url": BASE})


REDIRECT = "https://rp.example.no/callback"


async def register_login_client(database, *, method: str = "client_secret_basic", client_id: str | None = None,
                                integration_type: str = "idporten", **options: Any):
    """An ID-porten (or Ansattporten) client of the consumer organisation."""
    data = {"integration_type": integration_type, "client_name": f"Tjeneste {client_id or ''}".strip(),
            "token_endpoint_auth_method": method, "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "profile"], "redirect_uris": [REDIRECT], "client_id": client_id,
            "post_logout_redirect_uris": ["https://rp.example.no/logged-out"],
            "application_type": "browser" if method == "none" else "web"}
    data.update(options)
    if method == "none":
        data["grant_types"] = ["authorization_code"]
    return await selfservice.create_client(database, Actor(f"organization:{CONSUMER}"), CONSUMER,
                                           schemas.ClientCreate(**data), allow_local_http=True)


def authorize_parameters(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    return {"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid profile",
            "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
            "code_challenge_method": "S256", **extra}


async def log_in(http, parameters: dict[str, str], pid: str, *, level: int = 3,
                 issuer_path: str = "/idporten", method: str = "testid") -> dict[str, str]:
    """Drive a browser through /authorize, the chooser and TestID; the query the client's callback gets."""
    from urllib.parse import parse_qsl, urlsplit

    response = await http.get(f"{issuer_path}/authorize", params=parameters)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if location.startswith(f"{issuer_path}/login/"):
        response = await http.post(f"{location}/{method}", data={"pid": pid, "level": str(level)})
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return dict(parse_qsl(urlsplit(location).query))
