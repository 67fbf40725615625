"""Notifications: e-mails/s sustained to a local SMTP server, and end-to-end latency from order to arrival.

    .venv/bin/python bench/bench_notifications.py [--emails 5000] [--orders 300 --rate 50]
        [--workers 2 --concurrency 8] [--database-url postgresql+asyncpg://…/own_db]

Everything that is not the system under test runs in its own process: an aiosmtpd server notes when each
message arrives; the job workers are real `felles worker` processes. This process plays the API server: it
creates the orders through the service. Measured in one run:
- baseline: a raw aiosmtplib loop sending prepared messages over as many connections as the workers open
  (no database, no queue): what this machine's SMTP exchange costs;
- throughput: one v1 e-mail order to `--emails` addresses; from the order being accepted to the last arrival;
- latency: v2 orders of one address each, created at `--rate` a second; order accepted to arrival.
CPU per e-mail comes from /proc (user+system ticks per process over the phase); peak memory is VmHWM. Loops
are bounded in count and time; only loopback is contacted. A PostgreSQL database given with `--database-url`
is emptied (DROP SCHEMA public) first: never point it at a shared database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_events import (
    CpuMeter,
    database_name,
    free_port,
    peak_memory_mb,
    percentile,
    prepare_environment,
    report,
    reset_database,
    start_workers,
    stop_processes,
    wait_until_idle,
)

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
signal.signal(signal.SIGUSR1, lambda *_: sys.stdout.write(f"{len(arrivals)}\n") or sys.stdout.flush())
done.wait()
controller.stop()
with open(sys.argv[2], "w") as out:
    out.writelines(f"{key} {moment}\n" for key, moment in arrivals)
'''


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
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--baseline-connections", type=int, default=16)
    parser.add_argument("--database-url")
    parser.add_argument("--label", default="")
    parser.add_argument("--json-out")
    parser.add_argument("--profile-dir", type=Path, help="run the workers under cProfile, writing worker-N.prof here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="felles-bench-notifications-"))
    port = free_port()
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    environment = prepare_environment(database_url, workdir, {
        "FELLES_SMTP_HOST": "127.0.0.1", "FELLES_SMTP_PORT": str(port), "FELLES_EMAIL_RATE_PER_SECOND": "0"})
    from felles.core.config import get_settings
    from felles.core.db import Database
    from felles.core.logging import configure_logging
    from felles.core.tokens import Principal
    from felles.notifications import schemas, service

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("ERROR", json=False)
    await reset_database(database_url)
    database = Database(database_url)
    agency = Principal("organization", organization_number="974761076", scopes=frozenset({service.CREATE_SCOPE}))
    arrivals_file = workdir / "arrivals.txt"
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [sys.executable, "-c", SERVER, str(port), str(arrivals_file)], stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    me = os.getpid()
    workers: list[subprocess.Popen] = []

    async def count_arrived() -> int:
        server.send_signal(signal.SIGUSR1)
        assert server.stdout is not None
        return int(await asyncio.to_thread(server.stdout.readline))

    try:
        baseline_meter = CpuMeter([me]).start()
        raw_rate = await baseline(port, args.emails, args.baseline_connections)
        raw_cpu = baseline_meter.stop()
        arrived_before = await count_arrived()
        workers = start_workers(args.workers, args.concurrency, environment, workdir / "workers.log",
                                args.profile_dir)
        await wait_until_idle([worker.pid for worker in workers])

        # Throughput: one order to many addresses.
        order = schemas.EmailOrderCreate(subject="throughput", body="Les meldingen i innboksen din.",
                                         recipients=[schemas.EmailOrderRecipient(emailAddress=f"m{n}@eksempel.no")
                                                     for n in range(args.emails)])
        server_meter, worker_meter = CpuMeter([me]).start(), CpuMeter([w.pid for w in workers]).start()
        started_wall = time.time()
        await service.create_email_order(database, settings, agency, order)
        order_cpu = server_meter.stop()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and await count_arrived() - arrived_before < args.emails:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        throughput_worker_cpu = worker_meter.stop()

        # Latency: single-recipient v2 orders at a steady rate while the workers run.
        server_meter, worker_meter = CpuMeter([me]).start(), CpuMeter([w.pid for w in workers]).start()
        created: dict[str, float] = {}
        begin = time.perf_counter()
        for n in range(args.orders):
            await asyncio.sleep(max(0.0, begin + n / args.rate - time.perf_counter()))
            key = f"latency-{n}"
            created[key] = time.time()
            await service.create_order_chain(database, settings, agency, schemas.OrderChainCreate(
                idempotencyId=key, recipient=schemas.Recipient(recipientEmail=schemas.RecipientEmail(
                    emailAddress=f"l{n}@eksempel.no", emailSettings=schemas.EmailSettings(subject=key, body="Hei")))))
        latency_server_cpu = server_meter.stop()
        deadline = time.monotonic() + 120
        expected = args.emails + args.orders
        while time.monotonic() < deadline and await count_arrived() - arrived_before < expected:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        latency_worker_cpu = worker_meter.stop()
        worker_memory = [peak_memory_mb(w.pid) for w in workers]
        receiver_memory = peak_memory_mb(server.pid)
    finally:
        stop_processes(workers)
        stop_processes([server])
        await database.dispose()
    arrivals: dict[str, list[float]] = {}
    for line in arrivals_file.read_text().splitlines():
        key, moment = line.split()
        arrivals.setdefault(key, []).append(float(moment))
    got = arrivals.get("throughput", [])
    pipeline_seconds = max(got) - started_wall if got else float("nan")
    pipeline_rate = len(got) / pipeline_seconds
    latencies = [(arrivals[key][0] - created[key]) * 1000 for key in created if key in arrivals]
    ms = 1000
    results = {
        "bench": "notifications", "label": args.label, "database": database_name(database_url),
        "workers": args.workers, "concurrency": args.concurrency, "smtp_connections": settings.smtp_connections,
        "baseline_per_s": raw_rate, "baseline_cpu_ms": raw_cpu / args.emails * ms,
        "throughput_per_s": pipeline_rate, "arrived": len(got),
        "ratio": pipeline_rate / raw_rate, "server_cpu_ms": order_cpu / args.emails * ms,
        "worker_cpu_ms": throughput_worker_cpu / args.emails * ms, "latency_arrived": len(latencies),
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
        "latency_server_cpu_ms": latency_server_cpu / args.orders * ms,
        "latency_worker_cpu_ms": latency_worker_cpu / args.orders * ms,
        "worker_peak_mb": max(worker_memory), "receiver_peak_mb": receiver_memory, "bench_peak_mb": peak_memory_mb(me),
    }
    report([
        f"notifications [{args.label}] database {results['database']}, cores {os.cpu_count()}, {args.workers} felles "
        f"worker process(es) x concurrency {args.concurrency} (x {settings.smtp_connections} SMTP connections per "
        "send job); SMTP server in its own process",
        f"  baseline raw aiosmtplib loop ({args.baseline_connections} connections) {raw_rate:7.0f} e-mails/s  "
        f"(client CPU {results['baseline_cpu_ms']:.2f} ms per e-mail)",
        f"  felles order -> SMTP (throughput)   {pipeline_rate:7.0f} e-mails/s  ({len(got)}/{args.emails} arrived, "
        f"{len(got) - args.emails:+d} extra)  ratio to baseline "
        f"{results['ratio']:.2f}",
        f"      CPU per e-mail: server (order) {results['server_cpu_ms']:.3f} ms, workers "
        f"{results['worker_cpu_ms']:.2f} ms",
        f"  end-to-end latency at {args.rate:.0f} orders/s: {len(latencies)}/{args.orders} arrived  "
        f"p50 {results['p50']:.0f} ms  p95 {results['p95']:.0f} ms  p99 {results['p99']:.0f} ms  "
        f"(CPU per order: server {results['latency_server_cpu_ms']:.2f} ms, workers "
        f"{results['latency_worker_cpu_ms']:.2f} ms)",
        f"  peak memory: worker {results['worker_peak_mb']:.0f} MB, SMTP server {receiver_memory:.0f} MB, "
        f"bench/server {results['bench_peak_mb']:.0f} MB",
    ], results, args.json_out)


if __name__ == "__main__":
    asyncio.run(main())
