"""A per-process read cache of what every token request reads and self-service rarely changes: clients, their
keys (parsed once), scopes, scope access and delegations.

Staleness bound: an entry is used at most `CACHE_SECONDS` after it was read from the database. Self-service
changes clear every cache of the process that made them at once (after the commit), and announce the change on
the topic `identity` (`core.cache_invalidation`), so every other process on PostgreSQL clears its caches as soon as
the change is committed (the listener runs in the identity router's lifespan). The TTL is the bound that remains
when a process is not listening (SQLite, a lost listener connection): a revoked scope access or key may then be
honoured for at most `CACHE_SECONDS` by another process.

Only facts that do not depend on the time are cached; time-dependent checks (key and secret expiry, token
lifetimes) are made against the request's clock on every use. What is one-shot (used jtis, codes, logins, SSO
sessions) is never cached.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import cache_invalidation
from felles.core.db import Database

CACHE_SECONDS = 10.0
MAX_ENTRIES = 20_000
CACHE_TOPIC = "identity"
_MISSING = object()


class IdentityCache:
    """Entries keyed by (kind, ...) with a deadline; `generation` guards against storing what a change outdated."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self.generation = 0
        self._entries: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[Any, ...]) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return _MISSING
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return _MISSING
        return entry[1]

    def put(self, key: tuple[Any, ...], value: Any, generation: int) -> None:
        """Keep `value` unless the cache was cleared since the read that produced it began (`generation`)."""
        if generation != self.generation or self.seconds <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def load(self, key: tuple[Any, ...], read: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value, or `read()`'s (then cached)."""
        value = self.get(key)
        if value is _MISSING:
            generation = self.generation
            value = await read()
            self.put(key, value, generation)
        return value


_caches: weakref.WeakKeyDictionary[Any, IdentityCache] = weakref.WeakKeyDictionary()


def cache_for(where: Database | AsyncSession) -> IdentityCache:
    """The cache of the database engine a `Database` or a session works on (one per engine and process)."""
    engine = where.engine if isinstance(where, Database) else where.bind
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = IdentityCache()
    return cache


def clear_all() -> None:
    """Forget every cached entry of this process (after a self-service change committed)."""
    for cache in list(_caches.values()):
        cache.clear()


async def notify_change(session: AsyncSession) -> None:
    """Tell every process, when the transaction commits, to clear its caches (`core.cache_invalidation`)."""
    await cache_invalidation.announce(session, CACHE_TOPIC)


cache_invalidation.on_change(CACHE_TOPIC, clear_all)
