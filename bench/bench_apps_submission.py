"""Complete submissions of an app per second, through the app API: instantiate, three saves of the form data,
validate, and the process to its end (the form, then the confirmation), against a bare route in the same run.

    .venv/bin/python bench/bench_apps_submission.py [--submissions 300] [--concurrency 8]
        [--database-url postgresql+asyncpg://…/x_bench]   (or FELLES_BENCH_DATABASE_URL)

In one process over ASGI (no sockets: the figures are the platform's own cost), on a fresh SQLite file in a
temporary folder by default; a PostgreSQL database (its name must contain "bench") is emptied first. The app is the
runtime tests' grant application (`tests/apps/runtime/soknad`, with prefill from Folkeregisteret and a gateway on
the amount). Printed: submissions/s and requests/s, p50/p95 of one submission, the bare route's requests/s (GET
/health/live, the same client and concurrency) and the ratio of the two request rates, CPU per submission, and
the process's peak memory. The PDF receipt is the receipt part's and not in this loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from felles.app import create_app
from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.migrations import upgrade_async
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.registers.population import seed_demo_personas

REPO = Path(__file__).resolve().parents[1]
APP_FOLDER = REPO / "tests" / "apps" / "runtime" / "soknad"
KARI = "12838404268"
REQUESTS_PER_SUBMISSION = 7  # create, 3 saves, validate, next, next


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def fresh(url: str) -> None:
    if url.startswith("postgresql"):
        if "bench" not in url.rsplit("/", 1)[-1]:
            raise SystemExit("the PostgreSQL database name must contain 'bench' (it is emptied)")
        database = Database(url)
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await database.dispose()
    await upgrade_async(url)


async def submit(http: httpx.AsyncClient, app_id: str, party: int, headers: dict[str, str], number: int) -> None:
    created = await http.post(f"/{app_id}/instances/create", headers=headers,
                              json={"instanceOwner": {"partyId": str(party)}})
    created.raise_for_status()
    instance = created.json()
    path = f"/{app_id}/instances/{instance['id']}"
    form = next(element for element in instance["data"] if element["dataType"] == "skjema")
    for save in range(3):
        saved = await http.put(f"{path}/data/{form['id']}", headers=headers, json={
            "navn": "Kari Nordmann", "fodselsnummer": KARI, "epost": "kari@example.no", "belop": 1000 + save + number,
            "formal": "Kajakk til turlaget " * (save + 1)})
        saved.raise_for_status()
    issues = await http.get(f"{path}/validate", headers=headers)
    issues.raise_for_status()
    assert not [issue for issue in issues.json() if issue.get("severity") == 1], issues.text
    for action in (None, "confirm"):
        moved = await http.put(f"{path}/process/next", headers=headers, json={"action": action} if action else None)
        moved.raise_for_status()
    assert moved.json().get("endEvent") == "EndEvent_1", moved.text


async def in_parallel(count: int, concurrency: int, one) -> list[float]:
    """Run `one(number)` `count` times, `concurrency` at a time; the seconds each took."""
    numbers = iter(range(count))
    took: list[float] = []

    async def lane() -> None:
        for number in numbers:
            started = time.perf_counter()
            await one(number)
            took.append(time.perf_counter() - started)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return took


async def main(submissions: int, concurrency: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="felles-bench-submission-") as folder:
        url = url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await fresh(url)
        settings = Settings(environment=Environment.TEST, data_dir=Path(folder), database_url=url,
                            secret_key="bench-secret-key-not-for-production", log_json=False, log_level="WARNING")
        app = create_app(settings, run_worker=False)
        database = app.state.runtime.database
        await seed_demo_personas(database)
        app_id = (await deployment.deploy_folder(database, APP_FOLDER, "bench")).app_id
        party = (await authorization.party_of(database, KARI)).party_id
        token = mint_development_token(PlatformKeys.load(settings), settings, person_identifier=KARI,
                                       scopes=["altinn:instances.read", "altinn:instances.write"],
                                       authentication_level=3, lifetime_seconds=3600)
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test", timeout=120) as http:
            await submit(http, app_id, party, headers, 0)  # warm: the app loaded, the policy compiled

            async def bare(_: int) -> None:
                (await http.get("/health/live")).raise_for_status()

            bare_count = submissions * REQUESTS_PER_SUBMISSION
            started = time.perf_counter()
            await in_parallel(bare_count, concurrency, bare)
            bare_rate = bare_count / (time.perf_counter() - started)

            cpu, started = time.process_time(), time.perf_counter()
            took = await in_parallel(submissions, concurrency,
                                     lambda number: submit(http, app_id, party, headers, number))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        await database.dispose()
    rate = submissions / wall
    print(f"database: {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; {submissions} submissions, "
          f"{concurrency} at a time; load average {os.getloadavg()[0]:.2f}")
    print(f"  complete submissions     {rate:8.1f} /s   ({rate * REQUESTS_PER_SUBMISSION:.0f} requests/s)")
    print(f"  one submission           p50 {percentile(took, 50) * 1000:7.1f} ms   "
          f"p95 {percentile(took, 95) * 1000:7.1f} ms")
    print(f"  CPU per submission       {cpu / submissions * 1000:8.1f} ms")
    print(f"  bare route (baseline)    {bare_rate:8.0f} requests/s")
    print(f"  ratio                    {rate * REQUESTS_PER_SUBMISSION / bare_rate:8.3f} "
          "(submission requests/s ÷ bare requests/s)")
    print(f"  peak memory              {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("FELLES_BENCH_DATABASE_URL"))
    arguments = parser.parse_args()
    asyncio.run(main(arguments.submissions, arguments.concurrency, arguments.database_url))
