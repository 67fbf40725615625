"""Latency of the inbox's profile query and Altinn Profile's `users/current`, against a bare route in the same run.

    .venv/bin/python bench/bench_profile.py [--database URL] [--calls 500]

In one process, on a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL;
the name must contain "bench": it is emptied), the whole app over ASGI (httpx's transport: no sockets), called
one at a time as Ingrid, daglig leder of the demo company, with a few favourites, saved searches, a verified address
and a notification address. Each call goes through the middleware, the token check and the handler:
- "bare route": `GET /health/live` (no token, no database), the baseline;
- "GraphQL { __typename }": the token check and GraphQL's own work, with nothing to look up;
- "GraphQL profile": Arbeidsflate's `profile` query (its query file) at `/inbox/api/graphql`: Folkeregisteret,
  KRR, the settings and the party groups, with the audit entry;
- "GraphQL savedSearches", "GraphQL notification settings": Arbeidsflate's own query files;
- "REST users/current": Altinn Profile's `GET /profile/api/v1/users/current`.
Printed: p50, p95, calls/s, CPU per call (`time.process_time`), the ratio of p50 to the bare route's, and the
process's peak memory (max RSS). Wall-clock figures move with the machine's
load, which is printed; the ratio less so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from felles.app import create_app
from felles.authorization import service as authorization
from felles.core.clock import utcnow
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.migrations import upgrade_async
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.profile import addresses, schemas
from felles.profile import service as profile
from felles.profile.models import VerifiedAddress
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas

QUERIES = Path(__file__).resolve().parents[2] / "shared/reference/api-specs/dialogporten/arbeidsflate-queries"
INGRID = DEMO_PERSONS[4]
ADDRESS = "ingrid@fjordkraft.eksempel.no"


def query_file(name: str, *fragments: str) -> str:
    return "\n".join((QUERIES / f"{file}.graphql").read_text() for file in (name, *fragments))


async def fresh(url: str, data_dir: Path) -> str:
    if url.startswith("postgresql"):
        if "bench" not in url.rsplit("/", 1)[-1]:
            raise SystemExit("the PostgreSQL database name must contain 'bench' (it is emptied)")
        database = Database(url)
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await database.dispose()
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    await upgrade_async(url)
    return url


async def ingrids_profile(database: Database) -> None:
    """Favourites, saved searches, a verified address and Fjordkraft's notification address for Ingrid."""
    person = INGRID.identifier
    company = await authorization.party_of(database, DEMO_COMPANY)
    for party in (await profile.acting_parties(database, person)).values():
        await profile.add_to_group(database, person, party.party_uuid)
    for number in range(10):
        await profile.create_saved_search(database, person, f"Søk {number}", schemas.SavedSearchData(
            searchString=f"faktura {number}", fromView="inbox", filters=[schemas.SearchFilter(id="status",
                                                                                            value="NEW")]))
    async with database.transaction() as session:
        session.add(VerifiedAddress(person=person, address_type="Email", address=ADDRESS, verified_at=utcnow()))
    await addresses.save_notification_setting(database, person, company.party_uuid,
                                              schemas.NotificationSettingsRequest(emailAddress=ADDRESS), replace=True)


async def timed(client: httpx.AsyncClient, label: str, calls: int, send: object, baseline: float | None) -> float:
    assert callable(send)
    for _ in range(min(20, calls)):  # warm the caches a running server has
        response = await send()
        assert response.status_code == 200 and "errors" not in response.text[:20], response.text[:300]
    latencies = []
    cpu = time.process_time()
    started = time.perf_counter()
    for _ in range(calls):
        before = time.perf_counter()
        response = await send()
        latencies.append(time.perf_counter() - before)
        assert response.status_code == 200
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    latencies.sort()
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))]
    ratio = f"{p50 / baseline:6.1f}x" if baseline else "  (base)"
    print(f"  {label:<34} p50 {p50 * 1e3:7.2f} ms  p95 {p95 * 1e3:7.2f} ms  {calls / wall:7.0f} calls/s  "
          f"CPU {cpu / calls * 1e3:6.2f} ms/call  {ratio}")
    return p50


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = await fresh(args.database or "", data_dir)
        settings = Settings(environment=Environment.TEST, data_dir=data_dir, database_url=url, secret_key="bench",
                            base_url="http://felles.bench", log_level="WARNING")
        app = create_app(settings, run_worker=False)
        database = app.state.runtime.database
        try:
            await seed_demo_personas(database)
            await ingrids_profile(database)
            token = mint_development_token(PlatformKeys.load(settings), settings, person_identifier=INGRID.identifier,
                                           scopes=[], lifetime_seconds=3600)
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
                def graphql(document: str) -> object:
                    return lambda: client.post("/inbox/api/graphql", headers=headers, json={"query": document})

                print(f"profile, {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; "
                      f"load average {os.getloadavg()[0]:.2f}; {args.calls} calls each, one at a time")
                base = await timed(client, "bare route (/health/live)", args.calls,
                                   lambda: client.get("/health/live"), None)
                await timed(client, "GraphQL { __typename }", args.calls, graphql("{ __typename }"), base)
                await timed(client, "GraphQL profile", args.calls, graphql(query_file("profile")), base)
                await timed(client, "GraphQL savedSearches", args.calls,
                            graphql(query_file("savedSearches", "savedSearchesFields.fragment")), base)
                await timed(client, "GraphQL notification settings", args.calls,
                            graphql(query_file("notificationsettingsForCurrentUser",
                                               "notificationsettingForCurrentUser.fragment")), base)
                await timed(client, "REST users/current", args.calls,
                            lambda: client.get("/profile/api/v1/users/current", headers=headers), base)
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"  peak memory of the process (max RSS): {peak:.0f} MiB")
        finally:
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql+asyncpg://…/x_bench (emptied); default: a fresh SQLite file")
    parser.add_argument("--calls", type=int, default=500)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
