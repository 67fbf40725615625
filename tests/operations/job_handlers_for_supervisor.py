"""A job handler the supervisor tests load into `felles serve` (FELLES_PLUGIN_MODULES): slow enough that a kill
lands mid-job, with a lease far longer than the test, so only the supervisor's release can bring a job back soon."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from felles.core.jobs import JobContext, job_handler

PLUGIN_MODULE = "tests.operations.job_handlers_for_supervisor"


@job_handler("ops_test.append_line", lease=timedelta(minutes=30), max_attempts=20)
async def append_line(payload: dict[str, Any], _context: JobContext) -> None:
    await asyncio.sleep(float(payload.get("delay", 0.2)))
    with Path(payload["file"]).open("a") as out:  # noqa: ASYNC230 - a tiny append; blocking is harmless here
        out.write(f"{payload['n']}\n")
        out.flush()
        os.fsync(out.fileno())
