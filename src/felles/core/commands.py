"""What the `felles` commands share: running one coroutine against the configured database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from felles.core.config import Settings, get_settings
from felles.core.db import Database

T = TypeVar("T")


def run_with_database(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Open the database of the environment's settings, run `work` with it, and close it again."""
    async def run() -> T:
        settings = get_settings()
        database = Database(settings.database_url)
        try:
            return await work(database, settings)
        finally:
            await database.dispose()

    return asyncio.run(run())
