"""Throughput of letters to persons: routing by KRR, delivery to the digital mailbox, and printing.

    .venv/bin/python bench/bench_letters.py [--database URL] [--letters 2000] [--printed 200]

In one process, on a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL;
the name must contain "bench": it is emptied), over a synthetic population (`--letters` persons; KRR as the
generator makes it: about 35 % with a digital mailbox, 4 % reserved). The service functions are called directly
(no HTTP); the job queue runs in this process (`Worker.run_until_idle`).

- "route": 100 letters per transaction as a correspondence's fan-out publishes them (KRR read and audit, the
  letter, its statuses, its jobs), by `route_person_correspondence_in_transaction` per letter and by one
  `route_person_correspondences_in_transaction` per transaction; baseline: a bare insert of the same letter and
  status rows in the same transactions. p50/p95 are of single-letter transactions.
- "queued work": the jobs routing left (deliveries to the development mailbox, and the paper of the reserved
  and unreachable, PDFs included), per letter delivered or printed.
- "print": collecting `--printed` queued letters into batches and submitting them: an A4 PDF per letter with its
  address block, written to the outbox folder; baseline: rendering the same letters as plain PDF documents
  (`PdfRenderer.document`), the part no print path can skip.
Memory: the peak resident size of the process (ru_maxrss).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select, text

from felles.core import pdf
from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.core.jobs import Worker
from felles.core.migrations import upgrade_async
from felles.correspondence import digitalpost, printing
from felles.correspondence.letters import (
    Channel,
    MessageStatus,
    PrintReason,
    letter_document,
    new_letter,
    record_status,
)
from felles.correspondence.letters_models import Letter
from felles.registers.models import Person
from felles.registers.population import DEMO_COMPANY, seed_demo_personas, seed_population

PER_TRANSACTION = 100
BODY = "# Vedtak\n\nDu har fått **innvilget** søknaden din.\n\n- Gyldig i ett år\n- Gjelder sone A\n" * 3


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fresh(url: str | None, data_dir: Path) -> str:
    if url:
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


async def measured(label: str, count: int, work: Callable[[], Awaitable[object]]) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"  {label:<44} {count / wall:8.0f} letters/s  {cpu / count * 1e3:7.3f} ms CPU/letter  ({count} letters)")
    return count / wall


async def route_all(database: Database, persons: list[str]) -> None:
    for start in range(0, len(persons), PER_TRANSACTION):
        async with database.transaction() as session:
            for person in persons[start:start + PER_TRANSACTION]:
                await digitalpost.route_person_correspondence_in_transaction(
                    session, correspondence_id=uuid7(), recipient_ssn=person, sender_org=DEMO_COMPANY,
                    title="Vedtak", body_markdown=BODY)


async def route_fan_out(database: Database, persons: list[str]) -> None:
    for start in range(0, len(persons), PER_TRANSACTION):
        async with database.transaction() as session:
            await digitalpost.route_person_correspondences_in_transaction(session, [
                digitalpost.PersonLetter(uuid7(), person, DEMO_COMPANY, "Vedtak", BODY)
                for person in persons[start:start + PER_TRANSACTION]])


async def insert_all(database: Database, persons: list[str]) -> None:
    for start in range(0, len(persons), PER_TRANSACTION):
        async with database.transaction() as session:
            for person in persons[start:start + PER_TRANSACTION]:
                letter = new_letter(sender=DEMO_COMPANY, recipient=person, title="Vedtak", body_markdown=BODY,
                                    channel=Channel.ALTINN, document_type="digital", correspondence_id=uuid7())
                session.add(letter)
                record_status(session, letter, MessageStatus.OPPRETTET)


async def latencies(database: Database, persons: list[str]) -> list[float]:
    taken = []
    for person in persons:
        started = time.perf_counter()
        async with database.transaction() as session:
            await digitalpost.route_person_correspondence_in_transaction(
                session, correspondence_id=uuid7(), recipient_ssn=person, sender_org=DEMO_COMPANY, title="Vedtak",
                body_markdown=BODY)
        taken.append((time.perf_counter() - started) * 1e3)
    return taken


async def queue_for_print(database: Database, persons: list[str]) -> list[Letter]:
    letters = []
    async with database.transaction() as session:
        for person in persons:
            letter = new_letter(sender=DEMO_COMPANY, recipient=person, title="Vedtak", body_markdown=BODY,
                                channel=Channel.PRINT, document_type="print")
            session.add(letter)
            record_status(session, letter, MessageStatus.OPPRETTET)
            await printing.queue_for_print_in_transaction(session, letter, PrintReason.REQUESTED)
            letters.append(letter)
    return letters


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = await fresh(args.database, data_dir)
        # The job handlers read the settings from the environment, as a worker process does.
        os.environ.update({"FELLES_ENVIRONMENT": "test", "FELLES_DATA_DIR": str(data_dir),
                           "FELLES_DATABASE_URL": url, "FELLES_SECRET_KEY": "bench", "FELLES_LOG_LEVEL": "WARNING"})
        get_settings.cache_clear()
        database = Database(url)
        await seed_demo_personas(database)
        await seed_population(database, persons=args.letters, organizations=10, seed=1)
        async with database.transaction() as session:
            persons = list(await session.scalars(select(Person.national_identity_number)
                                                 .order_by(Person.national_identity_number).limit(args.letters)))
        count = len(persons)
        print(f"Letters to persons on {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}, "
              f"{count} persons, load average {os.getloadavg()[0]:.2f}")
        baseline = await measured("baseline: bare insert of letter + status", count,
                                  lambda: insert_all(database, persons))
        routed = await measured("route by KRR, one call per letter", count, lambda: route_all(database, persons))
        print(f"  route one by one / bare insert: {routed / baseline:.2f}")
        fanned = await measured("route by KRR, a fan-out call per transaction", count,
                                lambda: route_fan_out(database, persons))
        print(f"  route as a fan-out / bare insert: {fanned / baseline:.2f}")
        async with database.transaction() as session:
            channels = (await session.execute(text(
                "SELECT channel, count(*) FROM letters WHERE paper_due_at IS NOT NULL OR print_reason IS NOT NULL "
                "GROUP BY channel"))).all()
        print("  routes taken: " + ", ".join(f"{channel} {number}" for channel, number in sorted(channels)))
        single = await latencies(database, persons[: min(200, count)])
        print(f"  one letter per transaction: p50 {statistics.median(single):.2f} ms, "
              f"p95 {statistics.quantiles(single, n=20)[18]:.2f} ms")
        # What routing left to the queue: deliveries and the paper of the reserved and unreachable (timed apart).
        async with database.transaction() as session:
            queued = int(await session.scalar(text(
                "SELECT count(*) FROM letters WHERE (mailbox_provider IS NOT NULL AND delivered_at IS NULL) "
                "OR (print_requested_at IS NOT NULL AND print_batch_id IS NULL)")) or 0)
        await measured("queued work: deliveries and paper (PDFs)", max(queued, 1),
                       lambda: Worker(database, concurrency=8).run_until_idle())

        printed = persons[: args.printed]
        letters = await queue_for_print(database, printed)
        renderer = pdf.open_pdf_renderer(get_settings())
        await renderer.document(letter_document(letters[0], sender_name="warm-up"))

        async def render_plain() -> None:
            for letter in letters:
                await renderer.document(letter_document(letter, sender_name="Fjordkraft Demo AS"))

        plain = await measured("baseline: plain PDF document per letter", len(letters), render_plain)
        paper = await measured("print: batch, A4 letter PDF, outbox folder", len(letters),
                               lambda: Worker(database, concurrency=2).run_until_idle())
        print(f"  print / plain PDF: {paper / plain:.2f}")
        outbox = list((data_dir / printing.OUTBOX_FOLDER).glob("*/*.pdf"))
        print(f"  PDFs in the outbox: {len(outbox)}; peak memory {rss_mb():.0f} MB")
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="postgresql+asyncpg://…/x_bench (default: a fresh SQLite file)")
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--printed", type=int, default=200)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
