"""The durable job queue: jobs enqueued/s and jobs run/s by `felles worker` processes on one database.

    .venv/bin/python bench/bench_jobs.py [--jobs 5000] [--workers 2] [--concurrency 16]
        [--database-url postgresql+asyncpg://…/felles_bench]

Phases, each timed on its own:
- enqueue, one transaction per job (as a request that causes one side effect enqueues it);
- enqueue in bulk (`enqueue_many`, 500 per transaction);
- run: `--workers` real `felles worker` processes claim (FOR UPDATE SKIP LOCKED on PostgreSQL) and run every
  job of a no-op handler (this module, loaded as a plugin): the queue's own cost per job, from the first claim
  to the last job marked done.
The PostgreSQL database given is emptied first (its name must contain "bench").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from felles.core.jobs import JobContext, job_handler

BENCH_DIR = Path(__file__).resolve().parent


@job_handler("bench.noop", max_attempts=3)
async def noop(_payload: dict[str, Any], _context: JobContext) -> None:
    return None


async def main(arguments: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    import harness
    from felles.core.db import Database
    from felles.core.jobs import Job, JobStatus, enqueue, enqueue_many

    data_dir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    url = await harness.fresh_database(arguments.database_url, data_dir)
    database = Database(url)
    single = arguments.jobs // 5
    started = time.perf_counter()
    for n in range(single):
        async with database.transaction() as session:
            await enqueue(session, "bench.noop", {"n": n})
    one_by_one = single / (time.perf_counter() - started)
    started = time.perf_counter()
    rest = arguments.jobs - single
    for first in range(0, rest, 500):
        async with database.transaction() as session:
            await enqueue_many(session, "bench.noop", [({"n": n}, None) for n in range(first, min(first + 500, rest))])
    bulk = rest / (time.perf_counter() - started)

    environment = {**os.environ, "FELLES_DATABASE_URL": url, "FELLES_DATA_DIR": str(data_dir),
                   "FELLES_ENVIRONMENT": "test", "FELLES_SECRET_KEY": harness.SECRET_KEY, "FELLES_LOG_LEVEL": "WARNING",
                   "FELLES_PLUGIN_MODULES": '["bench_jobs"]', "FELLES_WORKER_POLL_SECONDS": "0.1",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")]))}
    unfinished = select(func.count()).select_from(Job).where(Job.kind == "bench.noop",
                                                             Job.status != JobStatus.SUCCEEDED)
    workers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "felles.cli", "worker", "--concurrency", str(arguments.concurrency), env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL) for _ in range(arguments.workers)]
    try:
        # Time from the first job claimed (the workers import the platform first) to the last one done.
        first_claim = None
        while True:
            async with database.transaction() as session:
                left = int(await session.scalar(unfinished) or 0)
            if first_claim is None and left < arguments.jobs:
                first_claim = time.perf_counter()
            if left == 0:
                break
            await asyncio.sleep(0.05)
        ran = arguments.jobs / (time.perf_counter() - (first_claim or time.perf_counter()))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            await worker.wait()
        await database.dispose()
    print(f"job queue on {harness.database_name(url)}, {arguments.jobs} jobs ({harness.load_average()}, "
          f"{os.cpu_count()} cores)")
    print(f"  enqueue, one transaction per job: {one_by_one:8.0f} jobs/s")
    print(f"  enqueue_many, 500 per transaction: {bulk:7.0f} jobs/s")
    print(f"  run by {arguments.workers} worker processes x {arguments.concurrency}: {ran:8.0f} jobs/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))
