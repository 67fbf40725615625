"""The per-process identity cache (cleared by self-service changes, across processes by NOTIFY on PostgreSQL)
and the compact-JWS checks of the token endpoints' hot path."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from sqlalchemy import text

from felles.core import cache_invalidation
from felles.core.audit import Actor
from felles.core.db import Database
from felles.identity import cache, selfservice
from felles.identity.jose import CompactJws, JwsError, public_key_of
from tests.identity.conftest import CONSUMER, PROVIDER, client_key
from tests.identity.test_maskinporten import token


async def test_a_read_that_a_change_overtook_is_not_cached():
    identity_cache = cache.IdentityCache()

    async def read() -> str:
        identity_cache.clear()  # a self-service change commits while the read is under way
        return "old"

    assert await identity_cache.load(("client", "x"), read) == "old"
    assert identity_cache.get(("client", "x")) is cache._MISSING


async def test_a_self_service_change_is_seen_by_the_next_token_request(client, machine, database):
    assert (await token(client, machine.grant())).status_code == 200  # cached now
    await selfservice.set_scope_access(database, Actor("test"), PROVIDER, "prov:api.read", CONSUMER,
                                       approved=False)
    assert (await token(client, machine.grant())).json()["error"] == "invalid_scope"
    await selfservice.set_scope_access(database, Actor("test"), PROVIDER, "prov:api.read", CONSUMER,
                                       approved=True)
    assert (await token(client, machine.grant())).status_code == 200
    await selfservice.deactivate_client(database, Actor("test"), CONSUMER, machine.client_id)
    assert (await token(client, machine.grant())).json()["error"] == "invalid_client"


async def test_another_process_clears_its_cache_on_notify(database, settings):
    if database.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the TTL bounds staleness")
    other = Database(settings.database_url)  # stands for another process's engine
    try:
        async with cache_invalidation.listen(other):
            other_cache = cache.cache_for(other)
            for _ in range(100):  # the listener connects and clears once
                await asyncio.sleep(0.05)
                other_cache.put(("client", "x"), "cached", other_cache.generation)
                if other_cache.get(("client", "x")) == "cached":
                    break
            generation = other_cache.generation
            async with database.transaction() as session:  # what another process's identity change sends
                await session.execute(text("SELECT pg_notify(:channel, :topic)"),
                                      {"channel": cache_invalidation.NOTIFY_CHANNEL, "topic": cache.CACHE_TOPIC})
            for _ in range(100):
                if other_cache.generation != generation:
                    break
                await asyncio.sleep(0.05)
            assert other_cache.get(("client", "x")) is cache._MISSING
    finally:
        await other.dispose()


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_compact_jws_checks():
    key = client_key()
    public = public_key_of(key)
    now = int(time.time())
    good = jwt.encode({"alg": "RS256", "kid": key.kid}, {"iss": "x", "iat": now}, key)
    assert CompactJws(good).verify(public, ["RS256"])["iss"] == "x"
    with pytest.raises(JwsError, match="alg"):
        CompactJws(good).verify(public, ["RS512"])
    header, payload, signature = good.split(".")
    with pytest.raises(JwsError, match="signature"):
        CompactJws(f"{header}.{_b64({'iss': 'y', 'iat': now})}.{signature}").verify(public, ["RS256"])
    with pytest.raises(JwsError, match="alg"):
        CompactJws(f"{_b64({'alg': 'none'})}.{payload}.").verify(public, ["RS256"])
    signing_input = f"{_b64({'alg': 'RS256', 'crit': ['x'], 'x': 1})}.{payload}"
    signed = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    critical = f"{signing_input}.{base64.urlsafe_b64encode(signed).rstrip(b'=').decode()}"
    with pytest.raises(JwsError, match="crit"):
        CompactJws(critical).verify(public, ["RS256"])
    for broken in ("a.b", f"{header}.{payload}.{signature}=", f"{header}.{payload}.{signature}.x",
                   f"{_b64([1])}.{payload}.{signature}"):
        with pytest.raises(JwsError):
            CompactJws(broken)
