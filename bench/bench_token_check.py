"""CPU per call of core's token check (`felles.core.tokens.verify_access_token`, what every Felles API runs on each
request) for a JWT and for an opaque access token, and what the revocation list adds to it.

    .venv/bin/python bench/bench_token_check.py [--database URL] [--calls 20000] [--revoked 10000]

In one process, on a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL;
the name must contain "bench": it is emptied). Figures are CPU time of this process (`time.process_time`), so
they do not depend on the load of the machine; the load average is printed beside the throughput.
- "signature cache only": `PlatformKeys.verify` of a token already verified once, the check before revocation;
- "JWT": the same plus the revocation-list lookup, with `--revoked` other tokens on the list;
- "opaque, cached": an opaque token resolved once and then served from the process cache;
- "opaque, first use": each call resolves a new opaque token through the identity component (one database read);
- "revocation list refresh": reading what was revoked lately, as a process that does not listen does once per
  poll period (here: nothing new);
- "revocation list full reload": reading the whole list (`--revoked` rows), as every process does once a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from felles.core.clock import clock, utcnow
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.core.revocations import COMMIT_MARGIN, revocations_for, revoke_tokens
from felles.core.tokens import Issuer, PlatformKeys, issuer_url, verify_access_token
from felles.identity import service_tokens as _registers_the_opaque_token_resolver  # noqa: F401
from felles.identity.models import Grant, IssuedAccessToken
from harness import fresh_database


async def timed(label: str, calls: int, operation: Callable[[int], Awaitable[object]]) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(calls):
        await operation(index)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"  {label:<34} {cpu / calls * 1e6:8.1f} µs CPU/call  {calls / wall:9.0f} calls/s  ({calls} calls)")


async def opaque_tokens(database: Database, issuer: str, count: int) -> list[str]:
    """`count` opaque access tokens of one grant, stored as the identity component stores them."""
    now = utcnow()
    async with database.transaction() as session:
        grant = Grant(id=uuid7(), issuer="idporten", client_id="bench", code_hash=secrets.token_hex(),
                      code_expires_at=now, redirect_uri="https://rp.example.no", sid="s", pid="47906701517",
                      scope="openid", acr="idporten-loa-substantial", amr=["TestID"], auth_time=now, locale="nb",
                      pseudonymous=False, expires_at=now + timedelta(hours=1))
        session.add(grant)
        await session.flush()
        tokens = []
        for _ in range(count):
            token, jti = secrets.token_urlsafe(32), secrets.token_urlsafe(18)
            claims = {"iss": issuer, "pid": "47906701517", "scope": "openid", "jti": jti,
                      "exp": int(now.timestamp()) + 3600}
            session.add(IssuedAccessToken(jti=jti, grant_id=grant.id, claims=claims,
                                          opaque_hash=hashlib.sha256(token.encode()).hexdigest(),
                                          expires_at=now + timedelta(hours=1)))
            tokens.append(token)
    return tokens


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = await fresh_database(args.database or "", data_dir)
        settings = Settings(environment=Environment.TEST, data_dir=data_dir, database_url=url, secret_key="bench")
        keys = PlatformKeys.load(settings)
        database = Database(url)
        try:
            async with database.transaction() as session:
                await revoke_tokens(session, [(f"revoked-{index}", utcnow() + timedelta(hours=1))
                                              for index in range(args.revoked)])
            clock.advance(COMMIT_MARGIN * 2)  # revoked a while ago: a refresh finds nothing new
            issuer, base_url = issuer_url(settings.base_url, Issuer.IDPORTEN), settings.base_url
            jwt = keys.sign({"iss": issuer, "pid": "47906701517", "scope": "openid", "jti": "live",
                             "exp": int(time.time()) + 3600})
            opaque = await opaque_tokens(database, issuer, args.calls // 10 + 1)
            print(f"token check, {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}, "
                  f"{args.revoked} revoked tokens on the list; load average {os.getloadavg()[0]:.2f}")
            keys.verify(jwt)
            await verify_access_token(keys, database, opaque[0], base_url=base_url)

            async def signature_cache_only(_: int) -> object:
                return keys.verify(jwt)

            await timed("signature cache only", args.calls, signature_cache_only)
            await timed("JWT", args.calls, lambda _: verify_access_token(keys, database, jwt, base_url=base_url))
            await timed("opaque, cached", args.calls,
                        lambda _: verify_access_token(keys, database, opaque[0], base_url=base_url))
            await timed("opaque, first use", len(opaque) - 1,
                        lambda index: verify_access_token(keys, database, opaque[index + 1], base_url=base_url))
            await timed("revocation list refresh", 100, lambda _: revocations_for(database).refresh(database))
            await timed("revocation list full reload", 20, lambda _: revocations_for(database).reload(database))
        finally:
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql+asyncpg://…/x_bench (default: a fresh SQLite file)")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--revoked", type=int, default=10_000)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
