"""Replay protection of grant JWTs: each (client, jti) is accepted once, across every process.

A Maskinporten token request writes nothing but its jti, and one INSERT per request costs more than the rest of
the request's database work. So the jtis of the requests that arrive together in a process are written as one
`INSERT … ON CONFLICT DO NOTHING RETURNING key` in its own committed transaction: a request is answered only after
its jti is committed, the primary key decides between processes (a key that is not returned was there before),
and a key that appears twice in one batch is refused the second time without asking the database. The first
request of a quiet process starts a batch at once; requests that arrive while a batch is being written form the
next one, so batching adds no waiting, only fewer statements under load.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from felles.core.db import Database
from felles.identity.models import UsedAssertion

_USED_ASSERTIONS = UsedAssertion.__table__
# Bounded so that one statement stays below the 999 bound parameters of older SQLite builds.
MAX_BATCH = 250


class ReplayGuard:
    """The used-jti ledger of one database in this process."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._postgresql = database.engine.dialect.name == "postgresql"
        self._insert: Any = postgresql_insert if self._postgresql else sqlite_insert
        # On PostgreSQL the one INSERT commits by itself (no BEGIN and COMMIT round trips); asyncpg switches to
        # autocommit without a round trip, while aiosqlite would hop to its thread twice for it.
        self._autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT") if self._postgresql \
            else None
        self._waiting: dict[str, tuple[datetime, asyncio.Future[bool]]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def first_use(self, key: str, expires_at: datetime) -> bool:
        """Record `key` (kept until `expires_at`); True when it was never used before, False for a replay."""
        if key in self._waiting:
            return False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._waiting[key] = (expires_at, future)
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            # A task of its own, so that a request that goes away does not stop the batch others wait for.
            self._writer = asyncio.create_task(self._write_batches(), name="identity-replay-guard")
        return await future

    async def _write_batches(self) -> None:
        while self._waiting:
            batch = dict(list(self._waiting.items())[:MAX_BATCH])
            for key in batch:
                del self._waiting[key]
            try:
                inserted = await self._write(batch)
            except Exception as exc:  # noqa: BLE001 - every waiter of the batch gets the error instead
                for _, future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (the server stops): nobody is left waiting for an answer
                for _, future in [*batch.values(), *self._waiting.values()]:
                    future.cancel()
                self._waiting.clear()
                raise
            for key, (_, future) in batch.items():
                if not future.done():
                    future.set_result(key in inserted)

    async def _write(self, batch: dict[str, tuple[datetime, asyncio.Future[bool]]]) -> set[str]:
        # Sorted, so that two processes inserting overlapping keys lock them in the same order (no deadlock).
        rows = [{"key": key, "expires_at": batch[key][0]} for key in sorted(batch)]
        statement = (self._insert(_USED_ASSERTIONS).values(rows).on_conflict_do_nothing(index_elements=["key"])
                     .returning(_USED_ASSERTIONS.c.key))
        if self._autocommit is not None:
            async with self._autocommit.connect() as connection:
                return set((await connection.execute(statement)).scalars())
        async with self._database.engine.begin() as connection:
            return set((await connection.execute(statement)).scalars())


_guards: weakref.WeakKeyDictionary[Database, ReplayGuard] = weakref.WeakKeyDictionary()


def replay_guard_for(database: Database) -> ReplayGuard:
    guard = _guards.get(database)
    if guard is None:
        guard = _guards[database] = ReplayGuard(database)
    return guard
