"""The `felles` command as a person runs it: in its own process, on an empty data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from felles.cli import served_base_url
from tests.conftest import felles_command_environment, felles_serve, free_listener


@pytest.mark.embedded_platform
def test_every_address_the_platform_gives_out_follows_the_port_it_serves_on(tmp_path: Path):
    with felles_serve(felles_command_environment(tmp_path), "--workers", "2") as port:
        base = f"http://localhost:{port}"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for path, issuer in [("/idporten/.well-known/openid-configuration", f"{base}/idporten"),
                                 ("/ansattporten/.well-known/openid-configuration", f"{base}/ansattporten"),
                                 ("/maskinporten/.well-known/oauth-authorization-server", f"{base}/maskinporten/")]:
                metadata = http.get(path).json()
                assert metadata["issuer"] == issuer
                assert metadata["token_endpoint"].startswith(issuer)
            login = http.get("/accessmanagement/ui/parties")  # not logged in: off to ID-porten
    assert login.status_code == 303
    assert parse_qs(urlsplit(login.headers["location"]).query)["redirect_uri"] == [f"{base}/portal/login/callback"]


@pytest.mark.embedded_platform
def test_felles_base_url_names_the_address_whatever_the_port(tmp_path: Path):
    environment = felles_command_environment(tmp_path, BASE_URL="https://felles.example.no")
    with felles_serve(environment, "--no-job-worker") as port:
        metadata = httpx.get(f"http://127.0.0.1:{port}/idporten/.well-known/openid-configuration").json()
    assert metadata["issuer"] == "https://felles.example.no/idporten"


def test_the_default_address_is_the_one_a_browser_on_this_machine_uses():
    assert served_base_url("127.0.0.1", 8080) == "http://localhost:8080"
    assert served_base_url("0.0.0.0", 8000) == "http://localhost:8000"
    assert served_base_url("felles.internal", 9000) == "http://felles.internal:9000"
    assert served_base_url("fd00::1", 9000) == "http://[fd00::1]:9000"


@pytest.mark.embedded_platform
def test_serve_says_where_e_mail_and_sms_go(tmp_path):
    with free_listener() as probe:
        port = probe.getsockname()[1]
    environment = {**os.environ, "FELLES_ENVIRONMENT": "development", "FELLES_DATA_DIR": str(tmp_path),
                   "FELLES_BASE_URL": f"http://localhost:{port}"}
    environment.pop("FELLES_DATABASE_URL", None)
    with subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-job-worker"],
                          env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as server:
        try:
            assert server.stdout is not None
            banner = [server.stdout.readline().strip() for _ in range(2)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert banner == [f"E-mail: outbox at http://localhost:{port}/notifications/email-outbox",
                      f"SMS: outbox at http://localhost:{port}/notifications/sms-outbox"]
