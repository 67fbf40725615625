"""Registers at national scale: seeding time and peak memory, and KRR lookups over HTTP.

    .venv/bin/python bench/bench_registers.py --database-url postgresql+asyncpg://felles@127.0.0.1:54329/bench \
        --persons 5500000 --orgs 1100000

Seeds (unless --skip-seed) into a fresh schema with `felles seed`, then serves the platform with uvicorn on
loopback and measures `POST /rest/v2/personer` with 1,000 persons a call and with one person a call, each
against a baseline measured in the same run: the same rows read straight from the database with asyncpg (no
HTTP, no token check, no audit, no JSON). Loops are bounded in count and time; only loopback is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[1]
FELLES = [sys.executable, "-m", "felles.cli"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def describe(name: str, latencies: list[float], elapsed: float, unit_per_call: int) -> str:
    ms = [v * 1000 for v in latencies]
    return (f"{name:<38} calls {len(ms):>5}  p50 {percentile(ms, 50):7.2f} ms  p95 {percentile(ms, 95):7.2f} ms  "
            f"p99 {percentile(ms, 99):7.2f} ms  {len(ms) / elapsed:8.1f} calls/s  "
            f"{len(ms) * unit_per_call / elapsed:10.0f} persons/s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "FELLES_DATABASE_URL": database_url, "FELLES_DATA_DIR": str(data_dir),
            "FELLES_LOG_LEVEL": "WARNING", "FELLES_ENVIRONMENT": "development",
            # One address for the tokens `felles token` mints and the server that checks them, whatever its port.
            "FELLES_BASE_URL": "http://localhost:8000"}


async def reset_schema(database_url: str) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await connection.close()


def seed(database_url: str, data_dir: Path, persons: int, orgs: int) -> None:
    started = time.perf_counter()
    subprocess.run([*FELLES, "seed", "--persons", str(persons), "--orgs", str(orgs), "--seed", "1"],
                   env=environment(database_url, data_dir), check=True)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"seeding {persons:,} persons and {orgs:,} organisations (+ sub-units, roles, KRR): "
          f"{elapsed:,.0f} s, {persons / elapsed:,.0f} persons/s overall, peak memory {peak_kib / 1024:,.0f} MiB")


async def sample_identifiers(database_url: str, count: int) -> list[str]:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    total = await connection.fetchval("SELECT count(*) FROM contact_information")
    rows = await connection.fetch(
        "SELECT national_identity_number FROM contact_information TABLESAMPLE SYSTEM ($1) LIMIT $2",
        min(100.0, 100.0 * count * 3 / max(total, 1)), count)
    await connection.close()
    print(f"KRR holds {total:,} persons; sampled {len(rows):,} of them at random for the lookups")
    return [row[0] for row in rows]


async def baseline(database_url: str, identifiers: list[str], batch: int, calls: int) -> tuple[list[float], float]:
    """The same rows straight from PostgreSQL: what no HTTP API can beat."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    latencies = []
    started = time.perf_counter()
    for _ in range(calls):
        wanted = random.sample(identifiers, batch)
        t0 = time.perf_counter()
        await connection.fetch("SELECT * FROM contact_information WHERE national_identity_number = ANY($1)", wanted)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    await connection.close()
    return latencies, elapsed


async def over_http(base: str, token: str, identifiers: list[str], batch: int, calls: int,
                    seconds: float) -> tuple[list[float], float]:
    latencies = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        started = time.perf_counter()
        for _ in range(calls):
            body = {"personidentifikatorer": random.sample(identifiers, batch)}
            t0 = time.perf_counter()
            response = await client.post("/rest/v2/personer", json=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200 or len(response.json()["personer"]) != batch:
                raise SystemExit(f"lookup failed: {response.status_code} {response.text[:300]}")
            if time.perf_counter() - started > seconds:
                break
        return latencies, time.perf_counter() - started


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process: unlike latency, it does not grow with the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_until_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(150):
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not become ready")


async def measure_lookups(database_url: str, base: str, token: str, calls: int, server_pid: int) -> None:
    identifiers = await sample_identifiers(database_url, 20_000)
    await wait_until_ready(base)
    await over_http(base, token, identifiers, 1000, 5, 30)  # warm-up
    for batch, n in ((1000, calls), (1, calls * 10)):
        cpu_before = server_cpu_seconds(server_pid)
        http_latencies, http_elapsed = await over_http(base, token, identifiers, batch, n, 120)
        cpu_per_call = (server_cpu_seconds(server_pid) - cpu_before) / len(http_latencies) * 1000
        raw_latencies, raw_elapsed = await baseline(database_url, identifiers, batch, len(http_latencies))
        print(describe(f"KRR over HTTP, {batch} person(s)/call", http_latencies, http_elapsed, batch))
        print(describe(f"baseline: asyncpg SELECT, {batch}/call", raw_latencies, raw_elapsed, batch))
        ratio = statistics.median(http_latencies) / statistics.median(raw_latencies)
        print(f"  ratio HTTP/baseline (p50): {ratio:.1f}x  (HTTP adds token check, audit of every person, JSON); "
              f"server CPU {cpu_per_call:.1f} ms per call; load average {os.getloadavg()[0]:.1f}")
    print(f"server peak memory: {server_peak_memory_mib(server_pid):.0f} MiB")


def lookups(database_url: str, data_dir: Path, calls: int) -> None:
    port = free_port()
    env = environment(database_url, data_dir)
    token = subprocess.run([*FELLES, "token", "--org", "991825827", "--scope", "krr:global/kontaktinformasjon.read",
                            "--scope", "krr:global/digitalpost.read"],
                           env=env, check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen([*FELLES, "serve", "--port", str(port), "--no-job-worker", "--no-migrate"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(measure_lookups(database_url, f"http://127.0.0.1:{port}", token, calls, server.pid))
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("FELLES_BENCH_DATABASE_URL",
                                                                 "postgresql+asyncpg://felles@127.0.0.1:54329/bench"))
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--orgs", type=int, default=40_000)
    parser.add_argument("--calls", type=int, default=200, help="1,000-person calls (single calls: ten times more)")
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        if not args.skip_seed:
            asyncio.run(reset_schema(args.database_url))
            seed(args.database_url, data_dir, args.persons, args.orgs)
        lookups(args.database_url, data_dir, args.calls)


if __name__ == "__main__":
    main()
