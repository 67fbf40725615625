"""What the bench scripts share: a fresh database and settings, calls made N at a time, a bare route measured in the
same run as the baseline, percentiles, memory, CPU time of a server's processes, a server in its own process, and a
count of the SQL statements and transactions a piece of work makes.

Not a bench itself (`make bench` runs `bench/bench_*.py`); the scripts import it as `harness`, their folder being
first on `sys.path` when run as `.venv/bin/python bench/bench_….py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.migrations import upgrade_async

REPO = Path(__file__).resolve().parents[1]
SECRET_KEY = "bench-secret-key-not-for-production"
TICKS = os.sysconf("SC_CLK_TCK")


# --- the database and settings ----------------------------------------------------------------------------------------
async def fresh_database(url: str | None, data_dir: Path) -> str:
    """The URL of an empty, migrated database: `url` when it is PostgreSQL (its name must contain "bench", as its
    schema is dropped), else a new SQLite file in `data_dir`."""
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


def bench_settings(data_dir: Path, url: str) -> Settings:
    return Settings(environment=Environment.TEST, data_dir=data_dir, database_url=url, secret_key=SECRET_KEY,
                    log_json=False, log_level="WARNING")


def database_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# --- timing -----------------------------------------------------------------------------------------------------------
def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank `q`th percentile (0–100); NaN of nothing."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def latencies_ms(samples: list[float]) -> str:
    """p50/p95/p99 of durations in seconds, in milliseconds."""
    return "   ".join(f"p{q} {percentile(samples, q) * 1000:7.2f} ms" for q in (50, 95, 99))


async def in_parallel(count: int, concurrency: int, one: Callable[[int], Awaitable[object]]) -> list[float]:
    """Run `one(number)` for numbers 0 … count-1, `concurrency` at a time; the seconds each took."""
    numbers = iter(range(count))
    took: list[float] = []

    async def lane() -> None:
        for number in numbers:
            started = time.perf_counter()
            await one(number)
            took.append(time.perf_counter() - started)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return took


@dataclass
class Rate:
    """Calls made, the seconds they took in all (wall clock) and one by one."""

    calls: int
    wall: float
    took: list[float]

    @property
    def per_second(self) -> float:
        return self.calls / self.wall


async def rate_of(count: int, concurrency: int, one: Callable[[int], Awaitable[object]]) -> Rate:
    started = time.perf_counter()
    took = await in_parallel(count, concurrency, one)
    return Rate(count, time.perf_counter() - started, took)


async def bare_route(http: httpx.AsyncClient, count: int, concurrency: int = 1) -> Rate:
    """The baseline: `GET /health/live` (no database, no token) through the same client, `count` times."""
    async def bare(_: int) -> None:
        (await http.get("/health/live")).raise_for_status()

    for number in range(10):  # the route and the client warm
        await bare(number)
    return await rate_of(count, concurrency, bare)


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


# --- memory and CPU of processes --------------------------------------------------------------------------------------
def peak_memory_mb() -> float:
    """This process's peak resident set."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_kb(pid: int, field_name: str) -> int:
    """A memory figure of a process from `/proc/<pid>/status` (VmRSS, VmHWM …), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise LookupError(field_name)


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (a server's workers)."""
    pids, queue = [], [pid]
    while queue:
        each = queue.pop()
        pids.append(each)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{each}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
    return pids


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process and its descendants have used so far."""
    total = 0.0
    for each in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


# --- a server in its own process --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def felles_environment(settings: Settings) -> dict[str, str]:
    """The environment of a `felles` command (serve, seed, casesystem …) run with the bench's settings."""
    return {**os.environ, "FELLES_DATABASE_URL": settings.database_url,
            "FELLES_DATA_DIR": str(settings.data_dir), "FELLES_ENVIRONMENT": "test",
            "FELLES_SECRET_KEY": settings.secret_key, "FELLES_BASE_URL": settings.base_url,
            "FELLES_EMAIL_PROVIDER": settings.email_provider, "FELLES_LOG_LEVEL": "WARNING"}


@contextlib.asynccontextmanager
async def served(settings: Settings, *arguments: str, port: int | None = None,
                 log: Path | None = None) -> AsyncIterator[tuple[int, str]]:
    """`felles serve` on a loopback port (`port`, else a free one) with the bench's settings (and `arguments`,
    such as `--workers 2`), its output to `log` if given: its process id and base URL, once it answers; stopped
    afterwards."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") if log else contextlib.nullcontext() as output:
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "felles.cli", "serve", "--port", str(port), *arguments,
            env=felles_environment(settings), stdout=output or asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.STDOUT)
    try:
        await _wait_ready(base, server)
        yield server.pid, base
    finally:
        server.terminate()
        await server.wait()


async def _wait_ready(base: str, server: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            if server.returncode is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/health/live")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("felles serve did not start")


# --- SQL statements ---------------------------------------------------------------------------------------------------
@dataclass
class Statements:
    """The SQL statements and transactions an engine runs while counting (`counting(engine)`)."""

    statements: int = 0
    transactions: int = 0


@contextlib.contextmanager
def counting(engine: AsyncEngine) -> Iterator[Statements]:
    counted = Statements()

    def statement(*_: Any) -> None:
        counted.statements += 1

    def begun(*_: Any) -> None:
        counted.transactions += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "begin", begun)
    try:
        yield counted
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(engine.sync_engine, "begin", begun)
