"""What every start of Felles pays, and every test of the suite: building the app, building its routes, loading the
platform's signing key, seeding the role and package catalogue, and emptying the database after a test.

    .venv/bin/python bench/bench_startup.py [--database-url postgresql+asyncpg://…/x_bench] [--repeat 20]

Each figure is the median of `--repeat` runs, beside a baseline measured in the same run:
- "create_app": the app of `felles serve` and of each test's `app` fixture (routes are built on first use);
  baseline: the same app with every route built (`core.routing.build_every_route`, what the supervisor does once
  before it forks);
- "signing key": `PlatformKeys.load` of a key file loaded before (kept while the file is unchanged); baseline:
  importing the key from the file afresh (joserfc's RSA import, which checks the key);
- "catalogue seed": `seed_catalogue` into an empty catalogue (its rows as statement parameters); baseline: the same
  rows written into the statement (`insert(...).values(rows)`), as it was seeded before;
- "empty the database": the tests' teardown (`tests.conftest.empty_tables`: asks which tables have rows, deletes
  from those) on an empty database; baseline: a DELETE from every table.
On a fresh SQLite file by default; a PostgreSQL database given is emptied (its name must contain "bench").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from joserfc.jwk import RSAKey

from felles.app import create_app
from felles.authorization.catalogue import catalogue_rows, seed_catalogue
from felles.core.db import Database, insert_for
from felles.core.routing import build_every_route
from felles.core.tokens import PlatformKeys
from felles.tables import metadata
from harness import REPO, bench_settings, database_name, fresh_database, load_average

sys.path.insert(0, str(REPO))
from tests.conftest import empty_tables


def median_ms(repeat: int, one: Callable[[], object]) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        one()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def median_ms_async(repeat: int, one: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await one()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def report(label: str, measured: float, baseline_label: str, baseline: float) -> None:
    print(f"  {label:<28} {measured:9.2f} ms   {baseline_label:<44} {baseline:9.2f} ms   "
          f"ratio {measured / baseline:6.3f}")


async def seed_written_into_statements(database: Database) -> None:
    """The catalogue as it was seeded before: each table's rows written into one INSERT statement."""
    async with database.transaction() as session:
        for table, rows, keys in catalogue_rows():
            await session.execute(insert_for(session, table).values(rows).on_conflict_do_nothing(
                index_elements=keys))


async def delete_from_every_table(database: Database) -> None:
    async with database.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())


async def main(arguments: argparse.Namespace, folder: Path) -> None:
    url = await fresh_database(arguments.database_url, folder)
    settings = bench_settings(folder, url)
    repeat = arguments.repeat
    print(f"Start-up and per-test costs on {database_name(url)}, median of {repeat}; {load_average()}")

    def built_app() -> None:
        build_every_route(create_app(settings, run_worker=False))

    create_app(settings, run_worker=False)  # the first build imports and compiles what every later one reuses
    report("create_app", median_ms(repeat, lambda: create_app(settings, run_worker=False)),
           "baseline: create_app with every route built", median_ms(repeat, built_app))

    PlatformKeys.load(settings)  # writes the key file on a fresh data folder
    key_file = folder / "keys" / "platform-signing-key.json"
    report("signing key (loaded before)", median_ms(repeat, lambda: PlatformKeys.load(settings)),
           "baseline: RSA import of the key file", median_ms(
               repeat, lambda: RSAKey.import_key(json.loads(key_file.read_text()))))

    database = Database(url)

    async def seed_into_empty() -> None:
        await empty_tables(database)
        await seed_catalogue(database)

    async def written_into_empty() -> None:
        await empty_tables(database)
        await seed_written_into_statements(database)

    emptying = await median_ms_async(repeat, lambda: empty_tables(database))
    report("catalogue seed", await median_ms_async(repeat, seed_into_empty) - emptying,
           "baseline: rows written into the statements",
           await median_ms_async(repeat, written_into_empty) - emptying)
    await empty_tables(database)
    report("empty the database (empty)", await median_ms_async(repeat, lambda: empty_tables(database)),
           "baseline: a DELETE from every table", await median_ms_async(
               repeat, lambda: delete_from_every_table(database)))
    await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=20)
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(parser.parse_args(), Path(directory)))
