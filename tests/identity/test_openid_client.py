"""panva's openid-client (npm), a certified strict relying party, logs in with PAR, PKCE and private_key_jwt,
reads userinfo, refreshes, logs out, and gets a Maskinporten token, against the app under uvicorn."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from felles.core.audit import Actor
from felles.identity import schemas, selfservice
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.identity.conftest import CONSUMER, PROVIDER, client_key, public_jwk, register_machine_client, register_scope
from tests.identity.live import free_listener, serve

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("openid_client_flow.mjs")
KARI = DEMO_PERSONS[0]


@pytest.fixture
async def live(settings, database):
    listener = free_listener()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    await seed_demo_personas(database)
    rp = await selfservice.create_client(database, Actor("test"), CONSUMER, schemas.ClientCreate(
        integration_type="idporten", client_name="RP", token_endpoint_auth_method="private_key_jwt",
        grant_types=["authorization_code", "refresh_token"], scopes=["openid", "profile"],
        redirect_uris=[f"{base}/rp/callback"], post_logout_redirect_uris=[f"{base}/rp/logged-out"]),
        allow_local_http=True)
    await selfservice.set_client_keys(database, Actor("test"), CONSUMER, rp.client_id,
                                      schemas.JwkSet(keys=[public_jwk(client_key())]))
    scope = await register_scope(database)
    await selfservice.set_scope_access(database, Actor("test"), PROVIDER, scope, CONSUMER, approved=True)
    machine = await register_machine_client(database, CONSUMER, [scope], key_index=1)
    env = {
        "IDPORTEN_ISSUER": f"{base}/idporten", "MASKINPORTEN_ISSUER": f"{base}/maskinporten/",
        "CLIENT_ID": rp.client_id, "CLIENT_JWK": json.dumps(client_key().as_dict(private=True)),
        "REDIRECT_URI": f"{base}/rp/callback", "POST_LOGOUT_URI": f"{base}/rp/logged-out", "PID": KARI.identifier,
        "MACHINE_CLIENT_ID": machine.client_id, "MACHINE_JWK": json.dumps(client_key(1).as_dict(private=True)),
        "MACHINE_SCOPE": scope,
    }
    return settings.model_copy(update={"base_url": base}), listener, env


def test_openid_client_logs_in_refreshes_logs_out_and_gets_a_maskinporten_token(live) -> None:
    node = shutil.which("node")
    if node is None or not (REPOSITORY / "node_modules" / "openid-client").exists():
        pytest.fail("needs node and `npm install` (openid-client is a dev dependency)")
    settings, listener, env = live
    with serve(settings, listener) as base:
        run = subprocess.run([node, str(SCRIPT)], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True,
                             text=True, timeout=60, cwd=REPOSITORY, check=False)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["authorizationUrl"].startswith(f"{base}/idporten/authorize?request_uri=urn")
    assert "&client_id=" in result["authorizationUrl"] and "code_challenge" not in result["authorizationUrl"]
    id_token = result["idToken"]
    assert id_token["pid"] == KARI.identifier and id_token["acr"] == "idporten-loa-high"
    assert id_token["iss"] == f"{base}/idporten"
    assert result["userinfo"] == {"sub": id_token["sub"], "pid": KARI.identifier, "locale": "nb"}
    assert result["refreshed"] == {"rotated": True, "scope": "openid profile"}
    assert result["logout"] == {"status": 303, "location": f"{base}/rp/logged-out?state=bye"}
    assert result["afterLogout"].startswith("/idporten/login/")  # the SSO session is gone
    machine = result["maskinporten"]
    assert machine["issuer"] == f"{base}/maskinporten/"
    assert machine["token"]["consumer"]["ID"] == f"0192:{CONSUMER}" and machine["expires_in"] == 120
