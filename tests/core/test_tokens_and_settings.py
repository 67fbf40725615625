import json
import multiprocessing
import time
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from pydantic import ValidationError
from sqlalchemy import insert, select

from felles.core.clock import clock
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.errors import Forbidden, Unauthorized
from felles.core.jobs import Worker, enqueue
from felles.core.revocations import POLL_SECONDS, RevokedToken, revocations_for, revoke_tokens
from felles.core.tokens import (
    Issuer,
    PlatformKeys,
    Principal,
    issuer_url,
    mint_development_token,
    verify_access_token,
)


def test_production_refuses_generated_secrets_and_sqlite(tmp_path):
    with pytest.raises(ValidationError, match="FELLES_DATABASE_URL, FELLES_SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path)
    with pytest.raises(ValidationError, match="PostgreSQL"):
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path, secret_key="s",
                 database_url="sqlite+aiosqlite:///x.db")
    production = Settings(environment=Environment.PRODUCTION, data_dir=tmp_path, secret_key="s",
                          database_url="postgresql+asyncpg://db/felles")
    with pytest.raises(RuntimeError, match="signing key"):
        PlatformKeys.load(production)
    with pytest.raises(Forbidden):
        mint_development_token(PlatformKeys(RSAKey.generate_key(2048)), production, organization_number="991825827",
                               scopes=["x"])


def test_development_generates_and_keeps_its_secrets(tmp_path):
    first = Settings(data_dir=tmp_path)
    second = Settings(data_dir=tmp_path)
    assert first.secret_key == second.secret_key and len(first.secret_key) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert PlatformKeys.load(first).signing_key.kid == PlatformKeys.load(second).signing_key.kid
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path / 'felles.db'}"
    assert (tmp_path / "keys" / "platform-signing-key.json").stat().st_mode & 0o777 == 0o600


def _secrets_of(data_dir: str, answers: "multiprocessing.Queue[tuple[str, str]]") -> None:
    settings = Settings(data_dir=Path(data_dir))
    answers.put((settings.secret_key, PlatformKeys.load(settings).signing_key.kid))


def test_server_processes_starting_on_a_fresh_data_folder_share_one_secret_and_signing_key(tmp_path):
    """`felles serve --workers N` starts its processes at once; each must verify what the others sign."""
    answers: multiprocessing.Queue[tuple[str, str]] = multiprocessing.get_context("spawn").Queue()
    processes = [multiprocessing.get_context("spawn").Process(target=_secrets_of, args=(str(tmp_path), answers))
                 for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert len({answers.get(timeout=5) for _ in processes}) == 1
    assert [path.name for path in (tmp_path / "keys").iterdir()] == ["platform-signing-key.json"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keys", "secret_key"]  # no temporary file left


def test_tokens_signed_otherwise_are_refused(settings):
    keys = PlatformKeys.load(settings)
    claims = {"scope": "krr:global/kontaktinformasjon.read", "exp": 4_102_444_800,
              "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:991825827"}}
    assert keys.verify(keys.sign(claims))["scope"] == claims["scope"]
    other = PlatformKeys(RSAKey.generate_key(2048, parameters={"kid": keys.signing_key.kid}))
    with pytest.raises(Unauthorized):
        keys.verify(other.sign(claims))
    # HS256 keyed with the public key (algorithm confusion) must not pass.
    public_pem = json.dumps(keys.jwks()).encode()
    confused = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(public_pem), algorithms=["HS256"])
    with pytest.raises(Unauthorized):
        keys.verify(confused)
    with pytest.raises(Unauthorized):
        keys.verify("e30." + jwt.encode({"alg": "RS256"}, claims, keys.signing_key).split(".", 1)[1])


def test_principals_from_person_organisation_and_supplier_tokens():
    person = Principal.from_claims({"pid": "47906701517", "acr": "idporten-loa-high", "scope": "openid a"})
    assert person.kind == "person" and person.authentication_level == 4 and person.scopes == {"openid", "a"}
    assert person.audit_actor.actor == "person:47906701517"
    supplier = Principal.from_claims({
        "scope": "s", "consumer": {"ID": "0192:991825827"}, "supplier": {"ID": "0192:987464291"}})
    assert supplier.kind == "organization" and supplier.organization_number == "991825827"
    assert (supplier.audit_actor.actor, supplier.audit_actor.on_behalf_of) == (
        "organization:987464291", "organization:991825827")
    assert Principal.from_claims({"client_id": "c", "scope": ""}).kind == "system"


def test_a_remembered_token_is_still_refused_once_it_expires(settings, monkeypatch):
    keys = PlatformKeys.load(settings)
    token = keys.sign({"scope": "s", "exp": int(time.time()) + 60})
    assert keys.verify(token)["scope"] == "s"
    assert keys.verify(token)["scope"] == "s"  # served from the cache
    later = time.time() + 120
    monkeypatch.setattr("felles.core.tokens.time.time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        keys.verify(token)


async def test_a_revoked_token_is_refused_once_the_revocation_commits(settings, database):
    keys = PlatformKeys.load(settings)
    now = int(time.time())
    claims = {"iss": issuer_url(settings.base_url, Issuer.ALTINN), "scope": "s", "pid": "47906701517",
              "exp": now + 60}
    kept, revoked = keys.sign({**claims, "jti": "kept"}), keys.sign({**claims, "jti": "revoked"})
    assert (await verify_access_token(keys, database, revoked, base_url=settings.base_url))["jti"] == "revoked"
    with pytest.raises(RuntimeError):  # a revocation rolled back is no revocation
        async with database.transaction() as session:
            await revoke_tokens(session, [("revoked", clock.now() + timedelta(seconds=60))])
            raise RuntimeError("the caller's transaction fails")
    assert (await verify_access_token(keys, database, revoked, base_url=settings.base_url))["jti"] == "revoked"
    async with database.transaction() as session:
        await revoke_tokens(session, [("revoked", clock.now() + timedelta(seconds=60))])
    with pytest.raises(Unauthorized, match="revoked"):
        await verify_access_token(keys, database, revoked, base_url=settings.base_url)
    assert (await verify_access_token(keys, database, kept, base_url=settings.base_url))["jti"] == "kept"
    other = PlatformKeys(keys.signing_key)  # another process's key cache, same database list
    with pytest.raises(Unauthorized, match="revoked"):
        await verify_access_token(other, database, revoked, base_url=settings.base_url)


async def test_expired_revocations_are_not_stored_and_are_purged_by_a_recurring_job(database):
    now = clock.now()
    async with database.transaction() as session:
        await revoke_tokens(session, [("expired-already", now - timedelta(seconds=1)),
                                      ("expires-soon", now + timedelta(minutes=1)),
                                      ("expires-later", now + timedelta(hours=1))])
    async with database.transaction() as session:
        assert set(await session.scalars(select(RevokedToken.jti))) == {"expires-soon", "expires-later"}
    clock.advance(timedelta(minutes=2))
    async with database.transaction() as session:
        await enqueue(session, "core.purge_revoked_tokens", {})
    assert await Worker(database).run_until_idle() >= 1
    async with database.transaction() as session:
        assert set(await session.scalars(select(RevokedToken.jti))) == {"expires-later"}
    await revocations_for(database).reload(database)
    assert not await revocations_for(database).is_revoked(database, "expires-soon")
    assert await revocations_for(database).is_revoked(database, "expires-later")


async def test_a_bearer_token_that_is_not_a_jwt_needs_a_resolver_that_knows_it(settings, database):
    with pytest.raises(Unauthorized) as refused:
        await verify_access_token(PlatformKeys.load(settings), database, "opaque-but-unknown",
                                  base_url=settings.base_url)
    assert refused.value.code == "invalid_token"


async def test_a_refresh_finds_a_revocation_written_before_the_last_one_but_committed_after(database, monkeypatch):
    other = Database(database.engine.url.render_as_string(hide_password=False))  # another process's engine
    revocations = revocations_for(other)
    try:
        assert not await revocations.is_revoked(other, "slow")  # the first check reads the whole list
        now = clock.now()
        async with database.transaction() as session:  # its row says it was written 10 s before that read
            await session.execute(insert(RevokedToken).values(jti="slow", expires_at=now + timedelta(minutes=5),
                                                              revoked_at=now - timedelta(seconds=10)))
        polled = time.monotonic() + POLL_SECONDS
        monkeypatch.setattr("felles.core.revocations.time.monotonic", lambda: polled)
        assert await revocations.is_revoked(other, "slow")  # by the next refresh, not a full reload
    finally:
        await other.dispose()
