"""Per-process caches kept in step across processes: a change is announced in the transaction that makes it, and
every process forgets what it cached about that topic once the transaction commits.

- A component that caches registers what to forget for a topic with `on_change(topic, forget)` (at import).
- A component that changes facts calls `announce(session, topic)` inside the changing transaction. The process
  that announces forgets at commit. On PostgreSQL the transaction also NOTIFYs `felles_cache` with the topic,
  delivered at commit to every process whose listener runs (`listen(database)`, entered by the lifespans of the
  routers that cache, `listen_while_serving`). On SQLite (one file shared by `felles serve --workers N`) it bumps
  the topic's row of `core_cache_versions` instead, which every process compares at most every `POLL_SECONDS`
  (`check(database)`, called before a cache is read: one read of a few rows).
- What remains is bounded by each cache's TTL: a process whose listener lost its connection forgets everything
  when it reconnects; a PostgreSQL process that is not listening at all (a script, a test app without lifespan)
  only has the TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, String, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.db import Base, Database, insert_for
from felles.core.notify import listen_forever

NOTIFY_CHANNEL = "felles_cache"
POLL_SECONDS = 1.0
_PENDING = "felles_cache_topics_pending"



class CacheVersion(Base):
    """How often a topic has changed (SQLite only: PostgreSQL processes are told by NOTIFY)."""

    __tablename__ = "core_cache_versions"

    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


_forgetters: dict[str, list[Callable[[], None]]] = defaultdict(list)


def on_change(topic: str, forget: Callable[[], None]) -> None:
    """Run `forget` whenever `topic` changes, in this process or (once committed) in another."""
    _forgetters[topic].append(forget)


def forget(topics: set[str] | None = None) -> None:
    """Run the forgetters of these topics (of every topic when None)."""
    for topic, forgetters in list(_forgetters.items()):
        if topics is None or topic in topics:
            for forgetter in forgetters:
                forgetter()


async def announce(session: AsyncSession, topic: str) -> None:
    """In the caller's transaction: once it commits, every process forgets what it cached about `topic`."""
    pending: set[str] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = set()

        def committed(sync_session: Any) -> None:
            forget(sync_session.info.pop(_PENDING, set()))

        def rolled_back(sync_session: Any) -> None:
            sync_session.info.pop(_PENDING, None)

        event.listen(session.sync_session, "after_commit", committed, once=True)
        event.listen(session.sync_session, "after_rollback", rolled_back, once=True)
    if topic in pending:
        return
    pending.add(topic)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, :topic)"), {"channel": NOTIFY_CHANNEL, "topic": topic})
    else:
        await session.execute(
            insert_for(session, CacheVersion).values(topic=topic, version=1)
            .on_conflict_do_update(index_elements=["topic"], set_={"version": CacheVersion.version + 1}))


@dataclass
class _Watch:
    """One process's view of one database's changes."""

    versions: dict[str, int] | None = None
    checked_at: float = float("-inf")
    reading: asyncio.Future[None] | None = None
    listeners: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


_watches: weakref.WeakKeyDictionary[Any, _Watch] = weakref.WeakKeyDictionary()


def _watch_for(database: Database) -> _Watch:
    watch = _watches.get(database.engine)
    if watch is None:
        watch = _watches[database.engine] = _Watch()
    return watch


async def check(database: Database) -> None:
    """Forget the topics other processes changed since the last check (SQLite), at most once per
    `POLL_SECONDS`; concurrent callers share one read. Free when there is nothing to poll."""
    if not database.is_sqlite:
        return
    watch = _watch_for(database)
    if time.monotonic() - watch.checked_at < POLL_SECONDS:
        return
    if watch.reading is None or watch.reading.done():
        watch.reading = asyncio.ensure_future(_read_versions(database, watch))
    await asyncio.shield(watch.reading)


async def _read_versions(database: Database, watch: _Watch) -> None:
    started = time.monotonic()
    async with database.sessionmaker() as session:
        rows = await session.execute(select(CacheVersion.topic, CacheVersion.version))
        versions = {topic: version for topic, version in rows}
    if watch.versions is not None:
        changed = {topic for topic, version in versions.items() if watch.versions.get(topic) != version}
        if changed:
            forget(changed)
    watch.versions = versions
    watch.checked_at = started


@contextlib.asynccontextmanager
async def listen(database: Database) -> AsyncIterator[None]:
    """While the block runs, forget each topic another process announces, as its transaction commits. Blocks may
    nest (several routers' lifespans): one listener per database. A no-op on SQLite, which is polled."""
    if database.is_sqlite:
        yield
        return
    watch = _watch_for(database)
    watch.listeners += 1
    if watch.task is None:
        watch.task = asyncio.create_task(_listen(database), name="cache-invalidation-listener")
    try:
        yield
    finally:
        watch.listeners -= 1
        if watch.listeners == 0 and watch.task is not None:
            task, watch.task = watch.task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def listen_while_serving(app: Any) -> AsyncIterator[None]:
    """A router lifespan: listen for other processes' changes while the app serves."""
    async with listen(app.state.runtime.database):
        yield


async def _listen(database: Database) -> None:
    async def on_listening() -> None:
        forget()  # what changed while we were not listening

    await listen_forever(database, NOTIFY_CHANNEL, lambda topic: forget({topic}), on_listening=on_listening)
