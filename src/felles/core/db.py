"""Database engine, sessions and the declarative base shared by every component's models.

SQLite (WAL) is the embedded default; PostgreSQL is production. Both are driven through SQLAlchemy's async
API so the same service code runs on each.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.util import await_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use core.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # PostgreSQL's driver already hands back UTC
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # No pre-ping: it costs a round trip on every request; recycling bounds how stale a connection gets.
            kwargs.update(pool_size=20, max_overflow=20, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.write_gate: SqliteWriteGate | None = None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _configure_sqlite)
            file = make_url(url).database
            if file and file != ":memory:":
                self.write_gate = SqliteWriteGate(f"{file}.write-lock")
                self.write_gate.install(self.engine)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # `read`'s sessions: each statement on its own (no BEGIN and COMMIT around it; the pool's connections).
        self._reading = async_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                           expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read of one statement, outside any transaction: on PostgreSQL that saves the round trips of a
        transaction's BEGIN and COMMIT. Several statements in it need not see the same state of the database, and
        nothing may be written in it (use `transaction`)."""
        async with self._reading() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_gate is not None:
            self.write_gate.close()


_READ_STATEMENTS = ("SELECT", "PRAGMA", "EXPLAIN")
# As long as SQLite itself waits for its lock (busy_timeout) before giving up.
GATE_TIMEOUT_SECONDS = 30.0


class SqliteWriteGate:
    """One writer at a time among all processes using one SQLite file, handed over as soon as it is free.

    SQLite lets one connection write at a time, and a connection that finds the file locked sleeps in growing
    steps (1, 2, 5 ... 100 ms) before it tries again. The process that has just committed takes the lock again at
    once, so with several server processes one of them mostly sleeps (measured: 0.2 of a core busy against 0.9).
    This gate is taken just before a connection's first write and given back when the connection returns to the
    pool, its transaction ended: within a process the waiters queue on an asyncio lock, between processes on an
    flock, which the kernel hands to the next waiter the moment it is released. SQLite's own locking still
    decides what is safe; the gate only orders the waiters.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        # One asyncio lock per event loop (an asyncio lock cannot be shared between loops).
        self._in_process: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        # Given back when the connection returns to the pool, or when it is invalidated (closed: its lock is gone).
        event.listen(engine.sync_engine.pool, "checkin", self._give_back)
        event.listen(engine.sync_engine.pool, "invalidate", self._give_back)

    def _before_execute(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "write_gate" in connection.info or statement.lstrip()[:7].upper().startswith(_READ_STATEMENTS):
            return
        connection.info["write_gate"] = await_(self._acquire())

    def _give_back(self, _dbapi_connection: Any, record: Any, *_exception: Any) -> None:
        lock = record.info.pop("write_gate", None)
        if lock is not None:
            self._release(lock)

    async def _acquire(self) -> asyncio.Lock:
        lock = self._in_process.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            # A transaction that waits for its own process's other writer (a write nested in a write) fails
            # as SQLite would fail it, instead of waiting for ever.
            await asyncio.wait_for(lock.acquire(), GATE_TIMEOUT_SECONDS)
        except TimeoutError:
            raise OperationalError("(write gate)", None, Exception("database is locked")) from None
        handed_over = False
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is writing: wait in a thread, so the event loop runs on
                waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX))
                try:
                    await asyncio.shield(waiting)
                except asyncio.CancelledError:
                    # The thread cannot be stopped and will take the file lock: give both locks back once it
                    # has, or the other processes would wait for a writer that is gone.
                    handed_over = True
                    waiting.add_done_callback(lambda _: self._release(lock))
                    raise
        except BaseException:
            if not handed_over:
                lock.release()
            raise
        return lock

    def _release(self, lock: asyncio.Lock) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        if lock.locked():
            lock.release()

    def close(self) -> None:
        """Close the lock file (when the engine is disposed): one open file a Database, not one for ever."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# A JSON document column: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def done_in_transaction(session: AsyncSession, key: str) -> set[Any]:
    """A set that lasts as long as the session's current transaction, under `key`: what the transaction has
    already done that it need do only once (queued a job for an instance, woken the workers)."""
    transaction = session.sync_session.get_transaction()
    held: tuple[Any, set[Any]] | None = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = session.info[key] = (transaction, set())
    return held[1]


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT that knows the dialect's `ON CONFLICT` clause (both SQLite and PostgreSQL have one)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)
