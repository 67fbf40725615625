"""`felles seed --demo` registers the platform's own scopes; `felles identity client create --jwk-out` and
`felles identity token` get a Maskinporten token through the real JWT-bearer grant over HTTP, as the README
shows."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from felles.cli import cli
from felles.core.config import get_settings
from felles.core.tokens import required_scopes
from felles.registers.population import DEMO_COMPANY
from tests.identity.live import free_listener, serve

READ = "altinn:serviceowner/notifications.read"


@pytest.fixture
def live_settings(settings, database, monkeypatch):
    """The settings the CLI reads (FELLES_* variables): the test database, and the URL the app is served at."""
    listener = free_listener()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir),
                        "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key,
                        "BASE_URL": base_url}.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    yield settings.model_copy(update={"base_url": base_url}), listener
    get_settings.cache_clear()


def test_the_platform_scopes_are_seeded_and_a_new_client_gets_a_token_with_the_jwt_grant(live_settings, tmp_path):
    settings, listener = live_settings
    runner = CliRunner()
    seeded = runner.invoke(cli, ["seed", "--demo"])
    assert seeded.exit_code == 0, seeded.output
    assert {"krr:global/kontaktinformasjon.read", "krr:global/digitalpost.read", READ,
            "altinn:serviceowner/notifications.create", "altinn:events.publish", "altinn:events.subscribe",
            "altinn:resourceregistry/resource.write", "altinn:authorization/authorize", "altinn:dd:internal",
            "altinn:consentrequests.read", "folkeregister:deling/offentligmedhjemmel"} <= required_scopes()
    assert f"Platform scopes: {len(required_scopes())} registered" in seeded.output
    again = runner.invoke(cli, ["seed", "--demo"])
    assert "Platform scopes: 0 registered" in again.output  # idempotent

    key = tmp_path / "key.json"
    created = runner.invoke(cli, ["identity", "client", "create", "Min integrasjon", "--org", DEMO_COMPANY,
                                  "--integration-type", "maskinporten", "--scope", READ,
                                  "--scope", "folkeregister:deling/offentligmedhjemmel", "--jwk-out", str(key)])
    assert created.exit_code == 0, created.output
    client_id = json.loads(created.output)["client_id"]
    private_jwk = json.loads(key.read_text())
    assert private_jwk["kty"] == "RSA" and "d" in private_jwk and key.stat().st_mode & 0o077 == 0

    with serve(settings, listener) as base_url:
        got = runner.invoke(cli, ["identity", "token", "--client", client_id, "--key", str(key), "--scope", READ])
        assert got.exit_code == 0, got.output
        access_token = got.output.strip()
        feed = httpx.get(f"{base_url}/notifications/api/v1/future/shipment/feed",
                         headers={"Authorization": f"Bearer {access_token}"})
        assert feed.status_code == 200 and feed.json() == []
        # Skatteetaten owns Folkeregisteret's scopes and gave the demo company access.
        other = runner.invoke(cli, ["identity", "token", "--client", client_id, "--key", str(key),
                                    "--scope", "folkeregister:deling/offentligmedhjemmel", "--json"])
        assert other.exit_code == 0 and json.loads(other.output)["scope"] == "folkeregister:deling/offentligmedhjemmel"
        refused = runner.invoke(cli, ["identity", "token", "--client", client_id, "--key", str(key),
                                      "--scope", "altinn:events.publish"])
        assert refused.exit_code == 1 and "invalid_scope" in refused.output
