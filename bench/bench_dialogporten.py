"""Dialogporten at inbox scale: ingestion of a stream of dialogs, a service owner's dialog create, and an end
user's search over 100 parties in a large store, against a bare route in the same run.

    .venv/bin/python bench/bench_dialogporten.py [--database URL] [--dialogs 100000] [--parties 10000]

On a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL; the name must
contain "bench": it is emptied). The issue's scale is `--dialogs 1000000 --parties 100000`; `--reuse` measures
a database an earlier run seeded with the same numbers, without seeding it again.
- "ingestion": the dialogs written as a stream with a progress bar, in constant memory (batches of 2,000 rows;
  on PostgreSQL through `COPY`, into the tables with all their indexes, the full-text GIN index included), each
  party getting dialogs/parties of them, 1 in 4 with an activity; dialogs/s;
- "create": `service.create_dialog` (validation, the resource registry's owner check, the rows, the audit entry and
  the CloudEvent in one transaction), p50/p95 over 200 creates;
- "search, 100 parties": `enduser.search_parties` for a person acting for 100 parties (the first page of 100, newest
  content first, with each dialog's activities, transmissions and seen log), p50/p95 over 200 searches, and
  with a free-text term. The decision point is replaced by one that permits every read, so that the figure is
  the search's own (the PDP has its own bench, `bench_pdp.py`, and caches its answers per person);
- "bare route": `GET /dialogporten/api/v1/metadata/limits` through the ASGI app, the baseline of the ratios.
Latencies are wall-clock; the load average is printed beside them. On PostgreSQL the plans of the searches'
statements are printed (`EXPLAIN ANALYZE`), with a warning for a sequential scan of the dialogs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress
from sqlalchemy import event, insert, text
from sqlalchemy.dialects.postgresql import JSONB

from felles.app import create_app
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.core.migrations import upgrade_async
from felles.core.paging import ContinuationTokens
from felles.core.tokens import Principal
from felles.dialogporten import access, enduser, search, service
from felles.dialogporten import schemas as s
from felles.dialogporten.models import Dialog, DialogActivity
from felles.registers.identifiers import make_organization_number

OWNER, ORGCODE, RESOURCE = "405003309", "ttd", "ttd-bench-dialogs"
LEVEL = 3  # the searching person's login: ID-porten's substantial level, what the bench resource asks for
RESOURCE_URN = service.RESOURCE_PREFIX + RESOURCE
BATCH = 2_000  # rows a transaction
WORDS = ("byggesak", "skatt", "parkering", "renovasjon", "vedtak", "søknad", "feiing", "tilskudd", "faktura")


class PermitAll(access.Decisions):
    """The decision point answering Permit to every read: the search's own cost, without the PDP's."""

    async def permits(self, party: str, resource: str, action: str, *, task: str | None = None) -> bool:
        return True


def parties(count: int) -> list[str]:
    """`count` distinct organisations (numbers whose check digit would be 10 are skipped)."""
    numbers = (make_organization_number(31_000_000 + index) for index in range(count * 2))
    found = [service.ORGANIZATION_PREFIX + number for number in numbers if number is not None][:count]
    assert len(found) == count
    return found


def dialog_row(number: int, party: str, now: Any) -> dict[str, Any]:
    word = WORDS[number % len(WORDS)]
    title = f"{word.capitalize()} nummer {number}"
    content = {"title": {"value": [{"value": title, "languageCode": "nb"}], "mediaType": "text/plain"},
               "summary": {"value": [{"value": f"Sammendrag av {word}", "languageCode": "nb"}],
                           "mediaType": "text/plain"}}
    moment = now - timedelta(minutes=number)
    return {
        "id": uuid7(), "revision": uuid7(), "idempotent_key": None, "org": ORGCODE, "owner_organization": OWNER,
        "service_resource": RESOURCE_URN, "service_resource_type": "genericaccessresource", "party": party,
        "progress": None, "process": None, "preceding_process": None, "extended_status": None,
        "external_reference": None, "status": "InProgress", "is_api_only": False, "frozen": False,
        "visible_from": None, "due_at": None, "expires_at": None, "created_at": moment, "updated_at": moment,
        "content_updated_at": moment, "deleted_at": None, "content": content, "search_tags": [], "attachments": [],
        "gui_actions": [], "api_actions": [], "service_owner_labels": [], "service_owner_context_revision": uuid7(),
        "system_label": "Default", "system_labels": ["Default"], "end_user_context_revision": uuid7(),
        "search_text": service.search_text(content, []),
    }


def activity_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": uuid7(), "dialog_id": row["id"], "created_at": row["created_at"], "type": "DialogCreated",
             "extended_type": None, "transmission_id": None, "performed_by": {"actorType": "ServiceOwner"},
             "description": None} for row in rows[::4]]


async def copy_rows(database: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's `COPY` of `rows` into `table` (JSON documents as their text), in one transaction."""
    columns = [column.name for column in table.columns]
    documents = {column.name for column in table.columns if isinstance(column.type.dialect_impl(
        database.engine.dialect), JSONB)}
    records = [tuple(json.dumps(row[name]) if name in documents and row[name] is not None else row[name]
                     for name in columns) for row in rows]
    async with database.engine.begin() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(table.name, records=records, columns=columns)


async def ingest(database: Database, dialogs: int, all_parties: list[str]) -> float:
    """Write `dialogs` dialogs in batches (COPY on PostgreSQL, multi-row INSERT on SQLite); dialogs/s."""
    now, started = utcnow(), time.perf_counter()
    postgresql = database.engine.dialect.name == "postgresql"
    with Progress() as progress:
        task = progress.add_task("dialogs", total=dialogs)
        for first in range(0, dialogs, BATCH):
            rows = [dialog_row(number, all_parties[number % len(all_parties)], now)
                    for number in range(first, min(first + BATCH, dialogs))]
            activities = activity_rows(rows)
            if postgresql:
                await copy_rows(database, Dialog.__table__, rows)
                await copy_rows(database, DialogActivity.__table__, activities)
            else:
                async with database.transaction() as session:
                    await session.execute(insert(Dialog), rows)
                    await session.execute(insert(DialogActivity), activities)
            progress.advance(task, len(rows))
    return dialogs / (time.perf_counter() - started)


async def explain(database: Database, label: str, operation: Callable[[], Awaitable[object]]) -> None:
    """Run `operation` once, then `EXPLAIN ANALYZE` each statement it made over the dialogs (PostgreSQL)."""
    if database.engine.dialect.name != "postgresql":
        return
    statements: list[tuple[str, Any]] = []

    def seen(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM dialogporten_dialogs" in statement and not statement.lstrip().startswith("EXPLAIN"):
            statements.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await operation()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        for statement, parameters in statements:
            driver: Any = raw.driver_connection
            plan = [row[0] for row in await driver.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, *(parameters or ()))]
            scans = [line.strip() for line in plan if "Seq Scan on dialogporten_dialogs" in line]
            print(f"    plan of {label} ({statement.split()[1][:40]} …): {plan[-1].strip()}"
                  + (f"  WARNING {scans[0]}" if scans else ""))
            for line in plan:
                if "Index" in line or "Scan" in line or "Sort" in line:
                    print(f"      {line.strip()[:150]}")


class Measured(list[float]):
    """Wall-clock milliseconds of each call, and the CPU milliseconds this process spent on them all (on a loaded
    machine the wall clock includes waiting for a core; the CPU time does not, nor the database server's)."""

    cpu_ms: float = 0.0


async def latencies(calls: int, operation: Callable[[int], Awaitable[object]]) -> Measured:
    measured = Measured()
    cpu = time.process_time()
    for index in range(calls):
        started = time.perf_counter()
        await operation(index)
        measured.append((time.perf_counter() - started) * 1e3)
    measured.cpu_ms = (time.process_time() - cpu) * 1e3 / calls
    return measured


def report(label: str, measured: Measured, baseline: float | None = None) -> float:
    p50 = statistics.median(measured)
    p95 = statistics.quantiles(measured, n=20)[18]
    ratio = f"  {p50 / baseline:6.1f}× the bare route" if baseline else ""
    print(f"  {label:<38} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  (CPU here {measured.cpu_ms:6.2f} ms/call){ratio}")
    return p50


async def fresh(url: str | None, data_dir: Path) -> str:
    if url and url.startswith("postgresql"):
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


async def main(arguments: argparse.Namespace, data_dir: Path) -> None:
    url = arguments.database if arguments.reuse else await fresh(arguments.database, data_dir)
    settings = Settings(environment=Environment.TEST, data_dir=data_dir, database_url=url,
                        secret_key="bench-secret-key", log_json=False, log_level="WARNING")
    database = Database(url)
    actor = Actor(f"organization:{OWNER}")
    all_parties = parties(arguments.parties)
    print(f"Dialogporten bench: {arguments.dialogs:,} dialogs across {arguments.parties:,} parties on "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; load {os.getloadavg()[0]:.1f}")
    if arguments.reuse:  # the dialogs an earlier run with the same numbers wrote
        print("  (measuring the dialogs an earlier run seeded: no ingestion)")
    else:
        await authorization_service.create_resource(database, actor, OWNER, authorization_schemas.ServiceResource(
            identifier=RESOURCE, title={"nb": "Benk"}, resourceType="GenericAccessResource",
            hasCompetentAuthority=authorization_schemas.CompetentAuthority(organization=OWNER, orgcode=ORGCODE)))
        rate = await ingest(database, arguments.dialogs, all_parties)
        print(f"  {'ingestion (streamed, batches of 2,000)':<38} {rate:,.0f} dialogs/s "
              f"({'COPY' if url.startswith('postgresql') else 'INSERT'}); peak memory "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; load {os.getloadavg()[0]:.1f}")
    if url.startswith("postgresql"):
        async with database.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))

    app = create_app(settings, run_worker=False)
    app.state.runtime.database = database
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        bare = await latencies(300, lambda _: client.get("/dialogporten/api/v1/metadata/limits"))
    baseline = report("bare route (GET metadata/limits)", bare)

    owner = Principal("organization", organization_number=OWNER, scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
    body = s.DialogCreate.model_validate({
        "serviceResource": RESOURCE_URN, "party": all_parties[0],
        "content": {"title": {"value": [{"value": "Ny sak", "languageCode": "nb"}]}},
        "transmissions": [{"type": "Information", "sender": {"actorType": "ServiceOwner"},
                           "content": {"title": {"value": [{"value": "Brev", "languageCode": "nb"}]}}}]})
    report("create (service owner)", await latencies(
        200, lambda _: service.create_dialog(database, owner, body, base_url=settings.base_url)), baseline)

    tokens = ContinuationTokens(settings.secret_key)
    inbox = all_parties[:100]
    permit = PermitAll(database, "bench")

    def end_user_search(parties: list[str], filters: search.DialogFilters) -> Awaitable[dict[str, Any]]:
        return enduser.search_parties(database, permit, "urn:altinn:person:identifier-no:bench", parties, filters,
                                      tokens=tokens, authentication_level=LEVEL)

    found = await end_user_search(inbox, search.DialogFilters())
    print(f"  (a page holds {len(found['items'])} dialogs; the 100 parties hold "
          f"{arguments.dialogs * 100 // arguments.parties:,})")
    report("search, 100 parties, first page", await latencies(
        200, lambda _: end_user_search(inbox, search.DialogFilters())), baseline)
    random.seed(1)
    report("search, 100 parties, free text", await latencies(100, lambda index: end_user_search(
        inbox, search.DialogFilters(search=WORDS[index % len(WORDS)]))), baseline)
    report("search, 100 parties, rare free text", await latencies(100, lambda index: end_user_search(
        inbox, search.DialogFilters(search=f"nummer {index * 7919 % arguments.dialogs}"))), baseline)
    await explain(database, "search, 100 parties", lambda: end_user_search(inbox, search.DialogFilters()))
    await explain(database, "search, 100 parties, free text",
                  lambda: end_user_search(inbox, search.DialogFilters(search="skatt")))
    owner_filters = search.DialogFilters(search="parkering", limit=100)
    report("service owner search, free text", await latencies(50, lambda _: service.search_dialogs(
        database, owner, owner_filters, tokens=tokens)), baseline)
    await explain(database, "service owner search, free text", lambda: service.search_dialogs(
        database, owner, search.DialogFilters(search="parkering", limit=100), tokens=tokens))
    one = all_parties[:1]
    report("search, 1 party", await latencies(200, lambda _: end_user_search(one, search.DialogFilters())), baseline)
    await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=os.environ.get("FELLES_BENCH_DATABASE_URL"))
    parser.add_argument("--dialogs", type=int, default=100_000)
    parser.add_argument("--parties", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="measure a PostgreSQL bench database seeded before")
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(parser.parse_args(), Path(folder)))
