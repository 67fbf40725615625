"""CPU per operation of consent (samtykke): a consumer's request, the person's answer, the consumer's read, the
expiry job, and what a consent adds to a Maskinporten grant.

    .venv/bin/python bench/bench_consent.py [--database URL] [--requests 1000]

In one process, on a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL;
the name must contain "bench": it is emptied). The service functions are called directly (no HTTP). Figures are
CPU time of this process (`time.process_time`), so they do not depend on the load of the machine; throughput is
wall-clock and printed beside the load average.
- "create": `create_request` with one right on one consent resource (validation, the row, its history row, the
  audit entry and the CloudEvent in one transaction);
- "accept": the person's answer (the same writes); "read": the consumer's read with the history;
- "Maskinporten grant": `issue_machine_token` for a pre-signed grant, without and with one consent in
  `authorization_details` (the grants are signed before the timing, as real clients sign them);
- "expiry job": one run of the recurring job over `--requests` consents past their validTo, per consent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.consent import schemas, service
from felles.core.audit import Actor
from felles.core.clock import clock, utcnow
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.core.jobs import Worker, enqueue
from felles.core.tokens import PlatformKeys, Principal
from felles.identity import schemas as identity_schemas
from felles.identity import selfservice
from felles.identity import service as identity_service
from felles.identity.issuers import JWT_BEARER
from harness import fresh_database

CONSUMER, SERVICE_OWNER, PROVIDER = "910753614", "974761076", "991825827"
PERSON = "02056260016"
RESOURCE = "ske-inntekt-samtykke"
REFERENCE_POLICIES = Path(__file__).resolve().parents[2] / "shared/reference/altinn-authorization/pdp/resources"
REFERENCE_POLICY = "ske-samtykke-sbl-summert-skattegrunnlag"
ROUND = 50  # grants signed ahead of one timed round


async def timed(label: str, calls: int, operation: Callable[[int], Awaitable[object]]) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(calls):
        await operation(index)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"  {label:<40} {cpu / calls * 1e3:7.3f} ms CPU/op  {calls / wall:8.0f} ops/s  ({calls} ops)")


async def consent_resource(database: Database) -> None:
    """The consent resource with Skatteetaten's real consent policy (any organisation may ask; the person, key
    roles and accountants may consent), as every consent request and answer is decided by it."""
    owner = Actor(f"organization:{SERVICE_OWNER}")
    await authorization_service.create_resource(
        database, owner, SERVICE_OWNER,
        authorization_schemas.ServiceResource.model_validate({
            "identifier": RESOURCE, "resourceType": "Consent", "consentTemplate": "samtykkemal_simpleconsent",
            "title": {"nb": "Inntektsopplysninger"}, "consentText": {"nb": "Inntekt for {inntektsaar}."},
            "consentMetadata": {"inntektsaar": {"optional": False}},
            "hasCompetentAuthority": {"organization": SERVICE_OWNER, "orgcode": "skd"}}))
    policy = (REFERENCE_POLICIES / f"{REFERENCE_POLICY}.policy.xml").read_text(encoding="utf-8-sig")
    await authorization_service.put_policy(database, owner, SERVICE_OWNER, RESOURCE,
                                           policy.replace(REFERENCE_POLICY, RESOURCE).encode())


def request(valid_for: timedelta) -> schemas.ConsentRequestCreate:
    return schemas.ConsentRequestCreate.model_validate({
        "id": str(uuid7()), "from": f"urn:altinn:person:identifier-no:{PERSON}",
        "to": f"urn:altinn:organization:identifier-no:{CONSUMER}", "validTo": (utcnow() + valid_for).isoformat(),
        "consentRights": [{"action": ["consent"], "resource": [{"value": RESOURCE}],
                           "metadata": {"inntektsaar": "2025"}}],
        "requestMessage": {"nb": "Til lånesøknaden."}, "redirectUrl": "https://bank.example.no/lan"})


async def machine_client(database: Database) -> tuple[str, RSAKey]:
    """The consumer's Maskinporten client with a scope it has been given, registered through self-service."""
    provider, consumer = Actor(f"organization:{PROVIDER}"), Actor(f"organization:{CONSUMER}")
    await selfservice.assign_prefix(database, Actor("system:bench"), "prov", PROVIDER)
    scope = (await selfservice.create_scope(database, provider, PROVIDER, identity_schemas.ScopeCreate(
        prefix="prov", subscope="api.read", description="bench"))).name
    await selfservice.set_scope_access(database, provider, PROVIDER, scope, CONSUMER, approved=True)
    client = await selfservice.create_client(database, consumer, CONSUMER, identity_schemas.ClientCreate(
        integration_type="maskinporten", client_name="bench", scopes=[scope]), allow_local_http=True)
    key = RSAKey.generate_key(2048, parameters={"kid": "bench", "alg": "RS256"})
    await selfservice.set_client_keys(database, consumer, CONSUMER, client.client_id, identity_schemas.JwkSet(
        keys=[{**key.as_dict(private=False), "kid": "bench", "alg": "RS256", "use": "sig"}]))
    return client.client_id, key


def grant_form(assertion: str) -> dict[str, str]:
    return {"grant_type": JWT_BEARER, "assertion": assertion}


def grants(client_id: str, key: RSAKey, base_url: str, details: list[list[dict[str, Any]] | None]) -> list[str]:
    """One signed grant per entry of `details` (None: a grant without authorization_details)."""
    now = int(time.time())
    claims: dict[str, Any] = {"aud": f"{base_url}/maskinporten/", "iss": client_id, "scope": "prov:api.read",
                              "iat": now, "exp": now + 100}
    return [jwt.encode({"alg": "RS256", "kid": "bench"}, {
        **claims, "jti": str(uuid.uuid4()), **({"authorization_details": item} if item is not None else {})}, key)
        for item in details]


async def timed_grants(label: str, database: Database, keys: PlatformKeys, base_url: str, rounds: int,
                       make_round: Callable[[int], list[str]]) -> None:
    """Grants in rounds signed just before use (a grant's iat must be at most 10 s old); only the token
    endpoint's work is timed."""
    cpu = wall = 0.0
    calls = 0
    for number in range(rounds):
        assertions = make_round(number)
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        for assertion in assertions:
            await identity_service.issue_machine_token(database, keys, base_url, grant_form(assertion))
        cpu += time.process_time() - started_cpu
        wall += time.perf_counter() - started_wall
        calls += len(assertions)
    print(f"  {label:<40} {cpu / calls * 1e3:7.3f} ms CPU/op  {calls / wall:8.0f} ops/s  ({calls} ops)")


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = await fresh_database(args.database or "", data_dir)
        settings = Settings(environment=Environment.TEST, data_dir=data_dir, database_url=url, secret_key="bench",
                            base_url="http://felles.bench")
        keys = PlatformKeys.load(settings)
        database = Database(url)
        consumer = Principal("organization", organization_number=CONSUMER)
        count = args.requests
        try:
            await consent_resource(database)
            client_id, key = await machine_client(database)
            print(f"consent, {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; "
                  f"load average {os.getloadavg()[0]:.2f}")
            bodies = [request(timedelta(days=30)) for _ in range(count)]
            await timed("create", count, lambda i: service.create_request(database, settings, consumer, bodies[i]))
            await timed("accept", count, lambda i: service.accept(database, settings, PERSON, bodies[i].id))
            await timed("read (consumer)", count,
                        lambda i: service.get_for_consumer(database, settings, consumer, bodies[i].id))

            await identity_service.issue_machine_token(database, keys, settings.base_url, grant_form(
                grants(client_id, key, settings.base_url, [None])[0]))  # warm the identity cache
            rounds = count // ROUND
            await timed_grants("Maskinporten grant, plain", database, keys, settings.base_url, rounds,
                               lambda _: grants(client_id, key, settings.base_url, [None] * ROUND))
            await timed_grants("Maskinporten grant with a consent", database, keys, settings.base_url, rounds,
                               lambda number: grants(client_id, key, settings.base_url, [
                                   [{"type": service.CONSENT_DETAILS_TYPE, "id": str(body.id)}]
                                   for body in bodies[number * ROUND:(number + 1) * ROUND]]))

            clock.advance(timedelta(days=31))
            async with database.transaction() as session:
                await enqueue(session, "consent.expire", {})
            cpu, wall = time.process_time(), time.perf_counter()
            await Worker(database).run_until_idle()  # the job re-enqueues itself while a full batch expired
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"  {'expiry job, per consent':<40} {cpu / count * 1e3:7.3f} ms CPU/op  {count / wall:8.0f} ops/s  "
                  f"({count} ops)")
            expired = await service.get_for_consumer(database, settings, consumer, bodies[-1].id)
            assert expired.status == schemas.ConsentStatus.EXPIRED and len(expired.consentRequestEvents) == 3
        finally:
            clock.reset()
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql+asyncpg://…/x_bench (default: a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=1000)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
