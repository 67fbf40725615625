"""Job handlers that the queue tests register as a plugin module (FELLES_PLUGIN_MODULES), so a separate
`felles worker` process runs them exactly as it runs any component's handlers."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from felles.core.jobs import JobContext, job_handler

FAILURES: dict[str, int] = {}


@job_handler("test.append_line", lease=timedelta(seconds=2), max_attempts=50)
async def append_line(payload: dict[str, Any], _context: JobContext) -> None:
    """Slow enough that a SIGKILL lands mid-job; writes outside the database, so a rerun shows as a duplicate."""
    await asyncio.sleep(float(payload.get("delay", 0.01)))
    with Path(payload["file"]).open("a") as out:  # noqa: ASYNC230 - a tiny append; blocking is harmless here
        out.write(f"{payload['n']}\n")
        out.flush()
        os.fsync(out.fileno())


@job_handler("test.fail_times", max_attempts=3, backoff_base=timedelta(seconds=10))
async def fail_times(payload: dict[str, Any], _context: JobContext) -> None:
    key = payload["key"]
    FAILURES[key] = FAILURES.get(key, 0) + 1
    if FAILURES[key] <= payload["failures"]:
        raise RuntimeError(f"planned failure {FAILURES[key]}")


@job_handler("test.every_hour", every=timedelta(hours=1))
async def every_hour(_payload: dict[str, Any], _context: JobContext) -> None:
    return None
