"""The one guarded outbound HTTP client: its settings (with the older webhook names) and the rules every
caller gets, also those whose URLs skip the allow-list (registered back-channel logout URIs)."""

from __future__ import annotations

import pytest

from felles.core import outbound
from felles.core.config import Environment, Settings


def production(tmp_path, **extra) -> Settings:
    return Settings(environment=Environment.PRODUCTION, database_url="postgresql+asyncpg://x/y",
                    secret_key="k" * 40, data_dir=tmp_path, **extra)


def test_the_webhook_names_of_the_outbound_settings_still_work(monkeypatch, tmp_path):
    monkeypatch.setenv("FELLES_WEBHOOK_ALLOWED_HOSTS", '[".example.no"]')
    monkeypatch.setenv("FELLES_WEBHOOK_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("FELLES_WEBHOOK_MAX_CONNECTIONS", "5")
    settings = production(tmp_path)
    assert settings.outbound_allowed_hosts == [".example.no"]
    assert (settings.outbound_timeout_seconds, settings.outbound_max_connections) == (3.0, 5)
    monkeypatch.setenv("FELLES_OUTBOUND_ALLOWED_HOSTS", '["hooks.example.com"]')
    assert production(tmp_path).outbound_allowed_hosts == ["hooks.example.com"]


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data", "https://10.0.0.1/", "https://[fd00::1]/", "https://0.0.0.0/",
    "https://[::ffff:10.0.0.1]/", "https://localhost/", "https://127.0.0.1/", "http://rp.example.com/",
    "https://user:secret@rp.example.com/",
])
def test_urls_outside_the_allow_list_still_meet_every_other_rule(tmp_path, url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url_syntax(production(tmp_path), url, allow_list=False)


def test_without_the_allow_list_a_public_https_name_is_allowed_and_with_it_refused(tmp_path):
    settings = production(tmp_path, outbound_allowed_hosts=[".example.no"])
    assert outbound.check_url_syntax(settings, "https://rp.example.com/bc", allow_list=False) == "rp.example.com"
    with pytest.raises(outbound.OutboundRefused, match="allow-list"):
        outbound.check_url_syntax(settings, "https://rp.example.com/bc")


@pytest.mark.parametrize(("host", "loopback_allowed", "refused"), [
    ("localhost", True, False), ("localhost", False, True), ("127.0.0.1", True, False), ("::1", False, True),
    ("169.254.169.254", True, True), ("192.168.0.10", True, True), ("::ffff:192.168.0.10", True, True),
    ("rp.example.no", False, False), ("8.8.8.8", False, False),
])
def test_non_public_host_literals_are_refused_without_a_lookup(host, loopback_allowed, refused):
    if refused:
        with pytest.raises(outbound.OutboundRefused):
            outbound.refuse_non_public_host(host, loopback_allowed=loopback_allowed)
    else:
        outbound.refuse_non_public_host(host, loopback_allowed=loopback_allowed)
