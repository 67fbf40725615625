"""Events: CloudEvents delivered/s to a local webhook receiver, and end-to-end latency from publish to arrival.

    .venv/bin/python bench/bench_events.py [--events 2000] [--rate 50 --latency-events 300]
        [--workers 2 --concurrency 8] [--database-url postgresql+asyncpg://…/own_db]

Everything that is not the system under test runs in its own process: the webhook receiver (Starlette under
uvicorn) notes when each event arrives; the job workers are real `felles worker` processes. This process plays
the API server: it publishes through the service. Measured in one run:
- baseline: a raw httpx POST loop (one pooled client, as many at a time as all workers run jobs) of the same
  events to the same receiver: no database, no queue, no SSRF check;
- throughput: `--events` events published through the service as fast as this process can, to one validated
  subscription, while the workers run; from the first publish to the last arrival at the receiver;
- latency: events published at `--rate` a second; publish to arrival at the receiver (p50/p95/p99).
CPU per event comes from /proc (user+system ticks of each process over the phase), so it does not depend on
how busy the machine is; peak memory is each process's VmHWM. Loops are bounded in count and time; only
loopback is contacted. `FELLES_BENCH_SRC=<dir>` measures another source tree (an export of the last commit,
for a before/after in the same session). A PostgreSQL database given with `--database-url` is emptied
(DROP SCHEMA public) first: never point it at a shared database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Another source tree to measure (e.g. an export of the last commit, for before/after in one session).
SOURCE = Path(os.environ.get("FELLES_BENCH_SRC") or REPO / "src")
if "FELLES_BENCH_SRC" in os.environ:
    sys.path.insert(0, str(SOURCE))
TICKS = os.sysconf("SC_CLK_TCK")

RECEIVER = r'''
import sys, time, uvicorn, orjson
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
arrivals = []
async def hook(request):
    event = orjson.loads(await request.body())
    arrivals.append((event["id"], time.time()))
    return Response(status_code=200)
async def count(request):
    prefix = request.query_params.get("prefix", "")
    return JSONResponse({"count": len({key for key, _ in arrivals if key.startswith(prefix)})})
app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/count", count)])
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error",
                                       access_log=False, lifespan="off"))
try:
    server.run()
except KeyboardInterrupt:  # how the bench stops it
    pass
finally:
    with open(sys.argv[2], "w") as out:
        out.writelines(f"{key} {moment}\n" for key, moment in arrivals)
'''


# --- helpers shared with bench_notifications.py -------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (from /proc/<pid>/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class CpuMeter:
    """CPU seconds of a set of processes between `start()` and `stop()`."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.spent = 0.0

    def start(self) -> CpuMeter:
        self._at = {pid: cpu_seconds(pid) for pid in self.pids}
        return self

    def stop(self) -> float:
        self.spent = sum(cpu_seconds(pid) - self._at[pid] for pid in self.pids)
        return self.spent


def has_opened_the_database(pid: int) -> bool:
    """A worker has, once its job loop runs: aiosqlite's thread (SQLite), or a socket (PostgreSQL)."""
    threads = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("Threads:"))
    return threads > 1 or any(os.readlink(fd).startswith("socket:") for fd in Path(f"/proc/{pid}/fd").iterdir())


async def wait_until_idle(pids: list[int]) -> None:
    """Wait until the worker processes have finished starting. A worker compiles and imports the whole
    platform first (seconds of CPU when no bytecode is cached), which must not count as the CPU of the work
    measured after it. Started means: its job loop runs (it has opened the database) and it used under a
    tenth of a core for half a second (on a busy machine a process still importing may get less than that,
    hence the first test)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        meter = CpuMeter(pids).start()
        await asyncio.sleep(0.5)
        if meter.stop() < 0.05 * len(pids) and all(has_opened_the_database(pid) for pid in pids):
            return
    raise RuntimeError("the workers did not settle")


async def wait_until_listening(port: int) -> None:
    for _ in range(400):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def prepare_environment(database_url: str, workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    values = {"FELLES_DATABASE_URL": database_url, "FELLES_DATA_DIR": str(workdir),
              "FELLES_ENVIRONMENT": "development", "FELLES_LOG_LEVEL": "ERROR", "FELLES_LOG_JSON": "false",
              "FELLES_WORKER_POLL_SECONDS": "0.1", **extra}
    os.environ.update(values)
    return {**os.environ, "PYTHONPATH": str(SOURCE)}


async def reset_database(database_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from felles.core.migrations import upgrade_async

    if database_url.startswith("postgresql"):
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await upgrade_async(database_url)


def start_workers(
    count: int, concurrency: int, environment: dict[str, str], log: Path, profile_dir: Path | None = None
) -> list[subprocess.Popen]:
    """`felles worker` processes; with `profile_dir`, each runs under cProfile and writes worker-N.prof there
    when it is stopped (SIGTERM stops a worker cleanly)."""
    output = log.open("ab")
    processes = []
    for n in range(count):
        profiler = ["-m", "cProfile", "-o", str(profile_dir / f"worker-{n}.prof")] if profile_dir else []
        processes.append(subprocess.Popen(
            [sys.executable, *profiler, "-m", "felles.cli", "worker", "--concurrency", str(concurrency)],
            env=environment, stdout=output, stderr=subprocess.STDOUT))
    return processes


def stop_processes(processes: list[subprocess.Popen], signum: int = signal.SIGTERM) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signum)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def database_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def report(lines: list[str], results: dict, out: str | None) -> None:
    print("\n".join(lines))
    if out:
        with open(out, "a") as handle:
            handle.write(json.dumps(results) + "\n")


# --- the events bench ---------------------------------------------------------------------------------------
async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    parser.add_argument("--label", default="")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="felles-bench-events-"))
    port = free_port()
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    environment = prepare_environment(database_url, workdir, {})
    import httpx
    from sqlalchemy import select

    from felles.authorization import schemas as authorization_schemas
    from felles.authorization import service as authorization
    from felles.core.audit import Actor
    from felles.core.config import get_settings
    from felles.core.db import Database
    from felles.core.logging import configure_logging
    from felles.core.tokens import Principal
    from felles.events import schemas, service
    from felles.events.models import Subscription

    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("ERROR", json=False)
    await reset_database(database_url)
    database = Database(database_url)
    arrivals_file = workdir / "arrivals.txt"
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port), str(arrivals_file)])  # noqa: ASYNC220
    endpoint = f"http://127.0.0.1:{port}/hook"
    resource_id = "urn:altinn:resource:bench"
    publisher = Principal("organization", organization_number="974761076",
                          scopes=frozenset({service.PUBLISH_SCOPE, service.SUBSCRIBE_SCOPE}))
    parallel = args.workers * args.concurrency
    workers: list[subprocess.Popen] = []
    me = os.getpid()

    def event(key: str) -> schemas.CloudEvent:
        return schemas.CloudEvent(id=key, source="https://bench.example/events", type="bench.event",
                                  resource=resource_id, subject="/org/974761076", data={"key": key})

    async def arrived(client: httpx.AsyncClient, prefix: str) -> int:
        return int((await client.get(f"http://127.0.0.1:{port}/count", params={"prefix": prefix})).json()["count"])

    try:
        await wait_until_listening(port)
        async with httpx.AsyncClient() as client:
            # Baseline: raw POSTs over one pooled client, `parallel` at a time.
            documents = [event(f"baseline-{n}").model_dump(mode="json") for n in range(args.events)]
            semaphore = asyncio.Semaphore(parallel)

            async def post(document: dict) -> None:
                async with semaphore:
                    await client.post(endpoint, json=document)

            meter = CpuMeter([me]).start()
            started = time.perf_counter()
            await asyncio.gather(*(post(document) for document in documents))
            raw_seconds = time.perf_counter() - started
            raw_cpu = meter.stop()
            raw_rate = args.events / raw_seconds

            # The publisher publishes as the owner of the events' resource (publishing needs the publish right).
            await authorization.create_resource(
                database, Actor("organization:974761076"), "974761076",
                authorization_schemas.ServiceResource.model_validate({
                    "identifier": resource_id.removeprefix(service.RESOURCE_PREFIX), "title": {"nb": "Bench"},
                    "hasCompetentAuthority": {"organization": "974761076", "orgcode": "skd"}}))
            workers = start_workers(args.workers, args.concurrency, environment, workdir / "workers.log")
            await service.create_subscription(database, settings, publisher, schemas.SubscriptionCreate(
                endPoint=endpoint, resourceFilter=resource_id))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # the validation handshake, by the workers
                async with database.transaction() as session:
                    if await session.scalar(select(Subscription.validated)):
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the subscription was not validated")
            await wait_until_idle([worker.pid for worker in workers])

            # Throughput: publish as fast as this process can while the workers deliver.
            server_meter, worker_meter = CpuMeter([me]).start(), CpuMeter([w.pid for w in workers]).start()
            started_wall = time.time()
            for n in range(args.events):
                await service.publish(database, publisher, event(f"throughput-{n}"))
            publish_cpu = server_meter.stop()
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and await arrived(client, "throughput-") < args.events:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            throughput_worker_cpu = worker_meter.stop()

            # Latency: a steady rate.
            server_meter, worker_meter = CpuMeter([me]).start(), CpuMeter([w.pid for w in workers]).start()
            published: dict[str, float] = {}
            begin = time.perf_counter()
            for n in range(args.latency_events):
                await asyncio.sleep(max(0.0, begin + n / args.rate - time.perf_counter()))
                key = f"latency-{n}"
                published[key] = time.time()
                await service.publish(database, publisher, event(key))
            latency_server_cpu = server_meter.stop()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and await arrived(client, "latency-") < args.latency_events:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            latency_worker_cpu = worker_meter.stop()
        worker_memory = [peak_memory_mb(w.pid) for w in workers]
        receiver_memory = peak_memory_mb(receiver.pid)
    finally:
        stop_processes(workers)
        stop_processes([receiver], signal.SIGINT)
        await database.dispose()
    arrivals: dict[str, float] = {}
    for line in arrivals_file.read_text().splitlines():
        key, moment = line.split()
        arrivals.setdefault(key, float(moment))
    throughput_keys = [f"throughput-{n}" for n in range(args.events)]
    got = [arrivals[key] for key in throughput_keys if key in arrivals]
    pipeline_seconds = (max(got) - started_wall) if got else float("nan")
    pipeline_rate = len(got) / pipeline_seconds
    latencies = [(arrivals[key] - published[key]) * 1000 for key in published if key in arrivals]
    ms = 1000
    results = {
        "bench": "events", "label": args.label, "database": database_name(database_url),
        "workers": args.workers, "concurrency": args.concurrency, "baseline_per_s": raw_rate,
        "baseline_cpu_ms": raw_cpu / args.events * ms, "throughput_per_s": pipeline_rate,
        "delivered": len(got), "ratio": pipeline_rate / raw_rate,
        "server_cpu_ms": publish_cpu / args.events * ms, "worker_cpu_ms": throughput_worker_cpu / args.events * ms,
        "latency_arrived": len(latencies), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99), "latency_server_cpu_ms": latency_server_cpu / args.latency_events * ms,
        "latency_worker_cpu_ms": latency_worker_cpu / args.latency_events * ms,
        "worker_peak_mb": max(worker_memory), "receiver_peak_mb": receiver_memory,
        "bench_peak_mb": peak_memory_mb(me),
    }
    report([
        f"events [{args.label}] database {results['database']}, cores {os.cpu_count()}, {args.workers} felles worker "
        f"process(es) x concurrency {args.concurrency}; receiver in its own process",
        f"  baseline raw httpx POST loop ({parallel} at a time)  {raw_rate:7.0f} events/s  "
        f"client CPU {results['baseline_cpu_ms']:.2f} ms/event",
        f"  felles publish -> webhook (throughput)     {pipeline_rate:7.0f} events/s  ({len(got)}/{args.events} "
        f"arrived)  ratio to baseline {results['ratio']:.2f}",
        f"      CPU per event: server (publish) {results['server_cpu_ms']:.2f} ms, workers "
        f"{results['worker_cpu_ms']:.2f} ms",
        f"  end-to-end latency at {args.rate:.0f} events/s: {len(latencies)}/{args.latency_events} arrived  "
        f"p50 {results['p50']:.0f} ms  p95 {results['p95']:.0f} ms  p99 {results['p99']:.0f} ms  "
        f"(CPU per event: server {results['latency_server_cpu_ms']:.2f} ms, workers "
        f"{results['latency_worker_cpu_ms']:.2f} ms)",
        f"  peak memory: worker {results['worker_peak_mb']:.0f} MB, receiver {receiver_memory:.0f} MB, "
        f"bench/server {results['bench_peak_mb']:.0f} MB",
    ], results, args.json_out)


if __name__ == "__main__":
    asyncio.run(main())
