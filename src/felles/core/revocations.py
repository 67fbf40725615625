"""The platform's list of revoked access tokens, which core's token check consults on every call.

An access token is self-contained: every Felles API verifies it without asking the identity component. So when
identity revokes tokens before they expire (a reused authorization code, /token/revoke, logout), it records their
`jti`s here with `revoke_tokens`, in the same transaction; a row is kept until its token would have expired anyway
(then the recurring `core.purge_revoked_tokens` job deletes it).

Each process keeps the unexpired revoked jtis in memory (a `RevocationList` per database engine), so the check
costs a set lookup:
- the process that revokes adds them when its transaction commits;
- on PostgreSQL the revoking transaction also NOTIFYs `felles_revocations` with each jti, delivered at commit to
  every process that listens (`listen_for_revocations`, run by the core router's lifespan), which adds it at once;
- a process that is not listening (SQLite, a test app without lifespan, a lost listener connection) refreshes
  the list at the first token check after `POLL_SECONDS`: a revocation reaches it within that time. Such a
  refresh reads only the rows revoked since the previous one began (less `COMMIT_MARGIN`, for transactions that
  committed later than they wrote), so its cost follows the rate of revocations, not the length of the list;
- every process reads the whole list every `FULL_RELOAD_SECONDS` (a listening one only then), which also covers
  a connection that died without telling and a transaction slower than the margin.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from felles.core.clock import utcnow
from felles.core.db import Base, Database, UTCDateTime, insert_for
from felles.core.jobs import JobContext, job_handler
from felles.core.notify import listen_forever

NOTIFY_CHANNEL = "felles_revocations"
POLL_SECONDS = 1.0
FULL_RELOAD_SECONDS = 60.0
COMMIT_MARGIN = timedelta(seconds=30)
_PENDING = "felles_revoked_tokens_pending"



class RevokedToken(Base):
    """An access token revoked before it expired, by its `jti`; kept until it would have expired."""

    __tablename__ = "core_revoked_tokens"

    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RevocationList:
    """The revoked, unexpired jtis one process knows of (jti → expiry in epoch seconds)."""

    def __init__(self) -> None:
        self._revoked: dict[str, float] = {}
        # time.monotonic() when the last refresh and the last full reload began, and the database time from which
        # the next refresh reads.
        self._refreshed_at: float | None = None
        self._fully_loaded_at: float | None = None
        self._read_since: datetime | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self.listening = False

    def add(self, revoked: dict[str, float]) -> None:
        self._revoked.update(revoked)

    async def is_revoked(self, database: Database, jti: str) -> bool:
        """Whether the token with this jti is revoked, refreshing the list first when it is due (the checks that
        find it due at the same time wait for one refresh together)."""
        moment = time.monotonic()
        full_due = self._fully_loaded_at is None or moment - self._fully_loaded_at >= FULL_RELOAD_SECONDS
        due = full_due if self.listening else (
            full_due or self._refreshed_at is None or moment - self._refreshed_at >= POLL_SECONDS)
        if due:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.ensure_future(self.reload(database) if full_due else self.refresh(database))
            await asyncio.shield(self._refreshing)
        return jti in self._revoked

    async def reload(self, database: Database) -> None:
        """Read every revoked, unexpired jti, and forget the expired ones."""
        started = time.monotonic()
        now = utcnow()
        rows = await self._read(database, RevokedToken.expires_at > now)
        current = {jti: expiry for jti, expiry in self._revoked.items() if expiry > now.timestamp()}
        current.update(rows)
        self._revoked = current
        self._refreshed_at = self._fully_loaded_at = started
        self._read_since = now - COMMIT_MARGIN

    async def refresh(self, database: Database) -> None:
        """Read the jtis revoked since the last refresh or reload began (less the commit margin)."""
        started = time.monotonic()
        now = utcnow()
        self.add(await self._read(database, RevokedToken.revoked_at >= self._read_since, RevokedToken.expires_at > now))
        self._refreshed_at = started
        self._read_since = now - COMMIT_MARGIN

    @staticmethod
    async def _read(database: Database, *conditions: Any) -> dict[str, float]:
        # Entries are only ever added here: a revocation is final, and one committed by this process while the
        # read ran (added on commit) must not be lost.
        async with database.sessionmaker() as session:
            rows = await session.execute(select(RevokedToken.jti, RevokedToken.expires_at).where(*conditions))
        return {jti: expires_at.timestamp() for jti, expires_at in rows}


_lists: weakref.WeakKeyDictionary[Any, RevocationList] = weakref.WeakKeyDictionary()


def revocations_for(where: Database | AsyncSession) -> RevocationList:
    """The revocation list of the database engine a `Database` or a session works on (one per engine and process)."""
    engine = where.engine if isinstance(where, Database) else where.bind
    revocations = _lists.get(engine)
    if revocations is None:
        revocations = _lists[engine] = RevocationList()
    return revocations


async def revoke_tokens(session: AsyncSession, tokens: Iterable[tuple[str, datetime]]) -> None:
    """Record access tokens, as (jti, expiry) pairs, as revoked in the caller's transaction: once it commits,
    no Felles API accepts them any more."""
    now = utcnow()
    revoked = {jti: expires_at for jti, expires_at in tokens if expires_at > now}
    if not revoked:
        return
    await session.execute(
        insert_for(session, RevokedToken)
        .values([{"jti": jti, "expires_at": expires_at, "revoked_at": now} for jti, expires_at in revoked.items()])
        .on_conflict_do_nothing(index_elements=["jti"]))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        for jti, expires_at in revoked.items():  # delivered to the listening processes at commit
            await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                                  {"channel": NOTIFY_CHANNEL, "payload": f"{jti} {expires_at.timestamp()}"})
    _add_to_local_list_on_commit(session, {jti: expiry.timestamp() for jti, expiry in revoked.items()})


def _add_to_local_list_on_commit(session: AsyncSession, revoked: dict[str, float]) -> None:
    pending: dict[str, float] | None = session.info.get(_PENDING)
    if pending is not None:
        pending.update(revoked)
        return
    session.info[_PENDING] = dict(revoked)
    revocations = revocations_for(session)

    def committed(sync_session: Any) -> None:
        revocations.add(sync_session.info.pop(_PENDING, {}))

    def rolled_back(sync_session: Any) -> None:
        sync_session.info.pop(_PENDING, None)

    event.listen(session.sync_session, "after_commit", committed, once=True)
    event.listen(session.sync_session, "after_rollback", rolled_back, once=True)


@contextlib.asynccontextmanager
async def listen_for_revocations(database: Database) -> AsyncIterator[None]:
    """While the block runs, add every revocation another process commits to this process's list as it commits.
    A no-op on SQLite (the list is polled there)."""
    if database.is_sqlite:
        yield
        return
    task = asyncio.create_task(_listen(database, revocations_for(database)), name="revocation-listener")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def listen_while_serving(app: Any) -> AsyncIterator[None]:
    """A router lifespan: listen for revocations while the app serves."""
    async with listen_for_revocations(app.state.runtime.database):
        yield


async def _listen(database: Database, revocations: RevocationList) -> None:
    def on_payload(payload: str) -> None:
        jti, _, expiry = payload.rpartition(" ")
        with contextlib.suppress(ValueError):
            revocations.add({jti: float(expiry)})

    async def on_listening() -> None:
        await revocations.reload(database)  # what was revoked while we were not listening
        revocations.listening = True

    def on_lost() -> None:
        revocations.listening = False

    await listen_forever(database, NOTIFY_CHANNEL, on_payload, on_listening=on_listening, on_lost=on_lost)


@job_handler("core.purge_revoked_tokens", every=timedelta(minutes=10))
async def purge_expired_revocations(payload: dict[str, Any], context: JobContext) -> None:
    """A revoked token that has expired is refused for its expiry; its row is no longer needed."""
    await context.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= utcnow()))
