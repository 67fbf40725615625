"""Notifications: e-mails/s sustained to a local SMTP server, and end-to-end latency from order to arrival.

    .venv/bin/python bench/bench_notifications.py [--emails 5000] [--orders 300 --rate 50] [--database-url …]

An aiosmtpd server runs in a child process on loopback and notes when each message arrives. Measured in one run:
- baseline: a raw aiosmtplib loop sending prepared messages over as many connections as the pipeline opens
  (no database, no queue): what this machine's SMTP exchange costs;
- throughput: one v1 e-mail order to `--emails` addresses, processed and sent by an in-process worker;
- latency: v2 orders of one address each, created at `--rate` a second while the worker runs; the time from the
  order being registered to the message arriving at the SMTP server.
Loops are bounded in count and time; only loopback is contacted. The database is a fresh SQLite file unless
`--database-url` names an (emptied) PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVER = r'''
import re, signal, sys, time, threading
from aiosmtpd.controller import Controller
PATTERN = re.compile(rb"Subject: (\S+)")
arrivals = []
class Handler:
    async def handle_DATA(self, server, session, envelope):
        found = PATTERN.search(envelope.content)
        arrivals.append((found.group(1).decode() if found else "?", time.time()))
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
done.wait()
controller.stop()
with open(sys.argv[2], "w") as out:
    out.writelines(f"{key} {moment}\n" for key, moment in arrivals)
'''


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def baseline(port: int, total: int, connections: int) -> float:
    import aiosmtplib

    queue = list(range(total))

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        while queue:
            n = queue.pop()
            await smtp.sendmail("bench@felles.localhost", [f"baseline{n}@eksempel.no"],
                                f"Subject: baseline-{n}\r\n\r\nHei\r\n".encode())
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return total / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="felles-bench-notifications-"))
    port = free_port()
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    os.environ.update({"FELLES_DATABASE_URL": database_url, "FELLES_DATA_DIR": str(workdir),
                       "FELLES_ENVIRONMENT": "development", "FELLES_SMTP_HOST": "127.0.0.1",
                       "FELLES_SMTP_PORT": str(port), "FELLES_EMAIL_RATE_PER_SECOND": "0",
                       "FELLES_LOG_LEVEL": "ERROR", "FELLES_LOG_JSON": "false"})
    from felles.core.config import get_settings
    from felles.core.db import Database
    from felles.core.jobs import Worker
    from felles.core.logging import configure_logging
    from felles.core.migrations import upgrade_async
    from felles.core.tokens import Principal
    from felles.notifications import schemas, service

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("ERROR", json=False)
    await upgrade_async(database_url)
    database = Database(database_url)
    agency = Principal("organization", organization_number="974761076", scopes=frozenset({service.CREATE_SCOPE}))
    arrivals_file = workdir / "arrivals.txt"
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [sys.executable, "-c", SERVER, str(port), str(arrivals_file)], stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    connections = args.concurrency * settings.smtp_connections
    try:
        raw_rate = await baseline(port, args.emails, connections)

        # Throughput: one order to many addresses.
        order = schemas.EmailOrderCreate(subject="throughput", body="Les meldingen i innboksen din.",
                                         recipients=[schemas.EmailOrderRecipient(emailAddress=f"m{n}@eksempel.no")
                                                     for n in range(args.emails)])
        started = time.perf_counter()
        await service.create_email_order(database, settings, agency, order)
        await Worker(database, concurrency=args.concurrency).run_until_idle()
        pipeline_seconds = time.perf_counter() - started

        # Latency: single-recipient v2 orders at a steady rate while the worker runs.
        worker = Worker(database, concurrency=args.concurrency, poll_seconds=0.05)
        running = asyncio.create_task(worker.run())
        created: dict[str, float] = {}
        interval = 1 / args.rate
        begin = time.perf_counter()
        for n in range(args.orders):
            await asyncio.sleep(max(0.0, begin + n * interval - time.perf_counter()))
            key = f"latency-{n}"
            created[key] = time.time()
            await service.create_order_chain(database, settings, agency, schemas.OrderChainCreate(
                idempotencyId=key, recipient=schemas.Recipient(recipientEmail=schemas.RecipientEmail(
                    emailAddress=f"l{n}@eksempel.no", emailSettings=schemas.EmailSettings(subject=key, body="Hei")))))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with database.transaction() as session:
                from sqlalchemy import func, select

                from felles.notifications.models import Notification
                left = await session.scalar(select(func.count()).select_from(Notification)
                                            .where(Notification.status == "Email_New"))
            if not left:
                break
            await asyncio.sleep(0.1)
        worker.stop()
        await running
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        await database.dispose()
    arrivals: dict[str, list[float]] = {}
    for line in arrivals_file.read_text().splitlines():
        key, moment = line.split()
        arrivals.setdefault(key, []).append(float(moment))
    latencies = [(arrivals[key][0] - created[key]) * 1000 for key in created if key in arrivals]
    pipeline_rate = args.emails / pipeline_seconds
    print(f"database: {'PostgreSQL' if database_url.startswith('postgresql') else 'SQLite'}, "
          f"cores: {os.cpu_count()}, worker concurrency {args.concurrency} x {settings.smtp_connections} SMTP "
          "connections")
    print(f"baseline raw aiosmtplib loop      {raw_rate:8.0f} e-mails/s ({connections} connections)")
    print(f"felles order -> SMTP (throughput) {pipeline_rate:8.0f} e-mails/s ({args.emails} e-mails, "
          f"{len(arrivals.get('throughput', []))} arrived)  ratio to baseline {pipeline_rate / raw_rate:.2f}")
    print(f"end-to-end latency at {args.rate:.0f} orders/s: {len(latencies)}/{args.orders} arrived  "
          f"p50 {percentile(latencies, 50):.0f} ms  p95 {percentile(latencies, 95):.0f} ms  "
          f"p99 {percentile(latencies, 99):.0f} ms")
    print(f"peak memory (this process) {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
