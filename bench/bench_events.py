"""Events: CloudEvents delivered/s to a local webhook receiver, and end-to-end latency from publish to arrival.

    .venv/bin/python bench/bench_events.py [--events 2000] [--rate 50 --latency-events 300] [--database-url …]

A Starlette receiver runs under uvicorn in a child process on loopback and notes when each event arrives.
Measured in one run:
- baseline: a raw httpx POST loop of the same events to the receiver, as many at a time as the worker runs jobs
  (no database, no queue, no SSRF check);
- throughput: `--events` events published through the service to one validated subscription, delivered by an
  in-process worker (store → fan-out → one delivery job per event);
- latency: events published at `--rate` a second while the worker runs; publish to arrival at the receiver.
Loops are bounded in count and time; only loopback is contacted.
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

RECEIVER = r'''
import sys, time, signal, uvicorn, orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
arrivals = []
async def hook(request):
    event = orjson.loads(await request.body())
    arrivals.append((event["id"], time.time()))
    return Response(status_code=200)
app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error",
                                       access_log=False))
try:
    server.run()
finally:
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


async def wait_until_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the receiver did not start")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="felles-bench-events-"))
    port = free_port()
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    os.environ.update({"FELLES_DATABASE_URL": database_url, "FELLES_DATA_DIR": str(workdir),
                       "FELLES_ENVIRONMENT": "development", "FELLES_LOG_LEVEL": "ERROR", "FELLES_LOG_JSON": "false"})
    import httpx
    from sqlalchemy import func, select

    from felles.core.config import get_settings
    from felles.core.db import Database
    from felles.core.jobs import Worker
    from felles.core.logging import configure_logging
    from felles.core.migrations import upgrade_async
    from felles.core.tokens import Principal
    from felles.events import schemas, service
    from felles.events.models import DeliveryStatus, EventDelivery

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("ERROR", json=False)
    await upgrade_async(database_url)
    database = Database(database_url)
    arrivals_file = workdir / "arrivals.txt"
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port), str(arrivals_file)])  # noqa: ASYNC220
    endpoint = f"http://127.0.0.1:{port}/hook"
    resource_id = "urn:altinn:resource:bench"
    publisher = Principal("organization", organization_number="974761076",
                          scopes=frozenset({service.PUBLISH_SCOPE, service.SUBSCRIBE_SCOPE}))

    def event(key: str) -> schemas.CloudEvent:
        return schemas.CloudEvent(id=key, source="https://bench.example/events", type="bench.event",
                                  resource=resource_id, subject="/org/974761076", data={"key": key})

    async def delivered() -> int:
        async with database.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(EventDelivery)
                                             .where(EventDelivery.status == DeliveryStatus.DELIVERED)) or 0)

    try:
        await wait_until_listening(port)
        # Baseline: raw POSTs, `concurrency` at a time.
        documents = [event(f"baseline-{n}").model_dump(mode="json") for n in range(args.events)]
        async with httpx.AsyncClient() as client:
            started = time.perf_counter()
            semaphore = asyncio.Semaphore(args.concurrency)

            async def post(document: dict) -> None:
                async with semaphore:
                    await client.post(endpoint, json=document)

            await asyncio.gather(*(post(document) for document in documents))
            raw_rate = args.events / (time.perf_counter() - started)

        await service.create_subscription(database, settings, publisher, schemas.SubscriptionCreate(
            endPoint=endpoint, resourceFilter=resource_id))
        await Worker(database).run_until_idle()  # the validation handshake

        for n in range(args.events):
            await service.publish(database, publisher, event(f"throughput-{n}"))
        started = time.perf_counter()
        await Worker(database, concurrency=args.concurrency).run_until_idle()
        pipeline_seconds = time.perf_counter() - started
        throughput_delivered = await delivered()

        worker = Worker(database, concurrency=args.concurrency, poll_seconds=0.05)
        running = asyncio.create_task(worker.run())
        published: dict[str, float] = {}
        begin = time.perf_counter()
        for n in range(args.latency_events):
            await asyncio.sleep(max(0.0, begin + n / args.rate - time.perf_counter()))
            key = f"latency-{n}"
            published[key] = time.time()
            await service.publish(database, publisher, event(key))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and await delivered() < throughput_delivered + args.latency_events:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        worker.stop()
        await running
    finally:
        receiver.send_signal(signal.SIGINT)
        receiver.wait(30)
        await database.dispose()
    arrivals: dict[str, float] = {}
    for line in arrivals_file.read_text().splitlines():
        key, moment = line.split()
        arrivals.setdefault(key, float(moment))
    latencies = [(arrivals[key] - published[key]) * 1000 for key in published if key in arrivals]
    pipeline_rate = throughput_delivered / pipeline_seconds
    print(f"database: {'PostgreSQL' if database_url.startswith('postgresql') else 'SQLite'}, cores: {os.cpu_count()}, "
          f"worker concurrency {args.concurrency}")
    print(f"baseline raw httpx POST loop          {raw_rate:8.0f} events/s")
    print(f"felles publish -> webhook (throughput) {pipeline_rate:7.0f} events/s ({throughput_delivered}/"
          f"{args.events} delivered; publishing not timed)  ratio to baseline {pipeline_rate / raw_rate:.2f}")
    print(f"end-to-end latency at {args.rate:.0f} events/s: {len(latencies)}/{args.latency_events} arrived  "
          f"p50 {percentile(latencies, 50):.0f} ms  p95 {percentile(latencies, 95):.0f} ms  "
          f"p99 {percentile(latencies, 99):.0f} ms")
    print(f"peak memory (this process) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
