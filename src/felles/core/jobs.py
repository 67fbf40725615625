"""The durable job queue (transactional outbox).

A side effect is enqueued as a row in the caller's transaction, so it exists exactly when the change that
caused it commits. Workers claim due jobs with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one writer,
so the claiming UPDATE is atomic there) and take a lease: a worker killed mid-job leaves a job whose lease
runs out, and another worker claims it again. Handlers therefore run at least once and must be idempotent.
A handler's database work commits in the same transaction that marks its job done.

A batch handler (`batch_job_handler`) takes up to its batch size of due jobs of its kind at once, claimed in
one statement, and runs them as one call in one transaction that marks them all done: one query, one bulk
insert and one pooled connection then serve many jobs. Lease and attempts stay per job; a failing batch
fails each of its jobs (each retried with its own backoff), so a batch handler must be idempotent per payload.

Failures are retried with exponential backoff and jitter up to the handler's attempt limit; then the job is
dead (dead-letter) until an operator retries it (`felles jobs retry`).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import socket
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from sqlalchemy import Index, Integer, String, Text, Uuid, case, func, insert, literal, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from felles.core import tracing
from felles.core.clock import utcnow
from felles.core.db import Base, Database, JSONDocument, UTCDateTime, done_in_transaction, insert_for
from felles.core.ids import uuid7
from felles.core.metrics import JOBS_FINISHED, component_of_job

log = structlog.get_logger("felles.jobs")
# The PostgreSQL channel on which enqueuing transactions wake the workers of every process.
JOBS_CHANNEL = "felles_jobs"
DEFAULT_LEASE = timedelta(minutes=2)
# How a coalesce key is kept in the dedupe column (`enqueue`'s `coalesce_key`), apart from dedupe keys.
COALESCE_PREFIX = "coalesce:"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    # When the job is due; while running, when its lease runs out (then it may be claimed again).
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Only one unfinished job may hold a key (recurring jobs, "send this once"); cleared when it finishes.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The W3C traceparent of the span that enqueued the job: its run is a child span of it (core/tracing.py).
    traceparent: Mapped[str | None] = mapped_column(String(55))

    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload: the job's identity and the session of its transaction."""

    job_id: uuid.UUID
    attempt: int
    session: AsyncSession
    database: Database


Handler = Callable[[dict[str, Any], JobContext], Awaitable[None]]
BatchHandler = Callable[[list[dict[str, Any]], JobContext], Awaitable[None]]


@dataclass(frozen=True)
class HandlerSpec:
    handler: Handler
    max_attempts: int
    backoff_base: timedelta
    backoff_max: timedelta
    lease: timedelta
    # Recurring jobs are re-enqueued this long after each success.
    every: timedelta | None = None
    # A batch handler runs up to `batch` jobs of its kind in one call (see the module docstring).
    batch_handler: BatchHandler | None = None
    batch: int = 1


_handlers: dict[str, HandlerSpec] = {}


def job_handler(
    kind: str,
    *,
    max_attempts: int = 10,
    backoff_base: timedelta = timedelta(seconds=2),
    backoff_max: timedelta = timedelta(hours=1),
    lease: timedelta = DEFAULT_LEASE,
    every: timedelta | None = None,
) -> Callable[[Handler], Handler]:
    """Register the handler of one job kind (a plugin registered by name)."""

    def register(handler: Handler) -> Handler:
        _handlers[kind] = HandlerSpec(handler, max_attempts, backoff_base, backoff_max, lease, every)
        return handler

    return register


def batch_job_handler(
    kind: str,
    *,
    batch: int,
    max_attempts: int = 10,
    backoff_base: timedelta = timedelta(seconds=2),
    backoff_max: timedelta = timedelta(hours=1),
    lease: timedelta = DEFAULT_LEASE,
) -> Callable[[BatchHandler], BatchHandler]:
    """Register the handler of a job kind that runs up to `batch` due jobs at once; it gets their payloads."""

    def register(handler: BatchHandler) -> BatchHandler:
        async def one(payload: dict[str, Any], context: JobContext) -> None:
            await handler([payload], context)

        _handlers[kind] = HandlerSpec(one, max_attempts, backoff_base, backoff_max, lease, None, handler, batch)
        return handler

    return register


def registered_kinds() -> dict[str, HandlerSpec]:
    return dict(_handlers)


def load_plugin_modules(modules: list[str]) -> None:
    for name in modules:
        importlib.import_module(name)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    coalesce_key: str | None = None,
) -> None:
    """Add a job to the caller's transaction. With a dedupe key, nothing is added while one is unfinished.

    With a coalesce key (for a job that reads the current state of something when it runs, so that one run does
    the work of many, such as a mirror), nothing is added while a job with the key waits to run: that job runs
    after this transaction commits and reads what it wrote. Its no-op update (the ON CONFLICT clause) locks the
    waiting job until then, so no worker claims it earlier (claims skip locked jobs; SQLite has one writer at a
    time anyway). A job loses its coalesce key when claimed, so a change made while it runs queues a new one. One
    key, one payload."""
    spec = _handlers.get(kind)
    if spec is None:
        raise LookupError(f"no handler is registered for job kind {kind!r}")
    if dedupe_key is not None and coalesce_key is not None:
        raise ValueError("a job has a dedupe key or a coalesce key, not both")
    now = utcnow()
    conflict = "coalesce" if coalesce_key is not None else "dedupe" if dedupe_key is not None else None
    # On PostgreSQL the transaction's first job wakes the other processes' workers from its own INSERT (a NOTIFY
    # in its RETURNING clause, made only for a row written) instead of a statement of its own.
    notify = _is_postgresql(session) and not done_in_transaction(session, _WOKEN)
    written = await session.execute(_insert_statement(session, conflict, notify), {
        "id": uuid7(), "kind": kind, "payload": payload, "status": JobStatus.PENDING, "run_at": run_at or now,
        "attempts": 0, "max_attempts": spec.max_attempts, "created_at": now,
        "dedupe_key": dedupe_key if coalesce_key is None else COALESCE_PREFIX + coalesce_key,
        "traceparent": tracing.current_traceparent(),
    })
    if notify and written.first() is not None:
        done_in_transaction(session, _WOKEN).add(JOBS_CHANNEL)
    _wake_local_workers()


# enqueue's INSERT per dialect, conflict rule and NOTIFY, made once: building one per job (its ON CONFLICT clause,
# its `excluded` columns, its cache key) cost more than running it.
_insert_statements: dict[tuple[str, str | None, bool], Any] = {}
_NOTIFY = func.pg_notify(literal(JOBS_CHANNEL), literal("")).label("notified")


def _is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def _insert_statement(session: AsyncSession, conflict: str | None, notify: bool) -> Any:
    key = (session.bind.dialect.name if session.bind is not None else "", conflict, notify)
    statement = _insert_statements.get(key)
    if statement is None:
        statement = insert_for(session, Job)
        if conflict == "dedupe":
            statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
        elif conflict == "coalesce":
            statement = statement.on_conflict_do_update(index_elements=["dedupe_key"],
                                                        set_={"dedupe_key": statement.excluded.dedupe_key})
        if notify:
            statement = statement.returning(Job.id, _NOTIFY)
        _insert_statements[key] = statement
    return statement


_WOKEN = "felles.jobs.woken"


async def _wake_workers(session: AsyncSession) -> None:
    """Wake the workers of every process when the transaction commits (PostgreSQL's NOTIFY, sent once per
    transaction: the notification is delivered at commit, so a worker woken by it finds the jobs), and this
    process's own at once."""
    if _is_postgresql(session):
        woken = done_in_transaction(session, _WOKEN)
        if not woken:
            woken.add(JOBS_CHANNEL)
            await session.execute(text(f"SELECT pg_notify('{JOBS_CHANNEL}', '')"))
    _wake_local_workers()


async def waiting_coalesce_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """The coalesce keys among `keys` that a job waiting to run holds (`enqueue`'s `coalesce_key`): what a caller
    that counts the jobs it adds leaves out."""
    held = await session.scalars(select(Job.dedupe_key).where(Job.dedupe_key.in_([COALESCE_PREFIX + key
                                                                                    for key in keys])))
    return {key.removeprefix(COALESCE_PREFIX) for key in held if key is not None}


async def enqueue_many(session: AsyncSession, kind: str, jobs: list[tuple[dict[str, Any], datetime | None]]) -> None:
    """Add many jobs of one kind (each a payload and when it is due: None for now) to the caller's transaction in
    one statement: what a component that queues a job per item of a bulk change uses instead of `enqueue`."""
    spec = _handlers.get(kind)
    if spec is None:
        raise LookupError(f"no handler is registered for job kind {kind!r}")
    if not jobs:
        return
    now = utcnow()
    await session.execute(insert(Job), [
        dict(id=uuid7(), kind=kind, payload=payload, status=JobStatus.PENDING, run_at=run_at or now, attempts=0,
             max_attempts=spec.max_attempts, created_at=now, dedupe_key=None,
             traceparent=tracing.current_traceparent()) for payload, run_at in jobs])
    await _wake_workers(session)


_local_wakeups: set[asyncio.Event] = set()


def _wake_local_workers() -> None:
    # The in-process worker need not wait for its next poll when this process added work.
    for wakeup in _local_wakeups:
        wakeup.set()


def backoff_delay(spec: HandlerSpec, attempt: int) -> timedelta:
    """Exponential backoff with "equal jitter": between half and all of base·2^(attempt−1), capped."""
    ceiling = min(spec.backoff_base * (2 ** max(attempt - 1, 0)), spec.backoff_max)
    jittered: timedelta = ceiling * (0.5 + random.random() / 2)
    return jittered


class Worker:
    """Claims due jobs and runs them, `concurrency` at a time, until `stop()` is called."""

    def __init__(self, database: Database, *, concurrency: int = 4, poll_seconds: float = 0.5) -> None:
        self.database = database
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid7().hex[-8:]}"
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        # Each running handler call, with how many jobs it runs: `concurrency` counts jobs, so batching does
        # not put more work in flight (nor more to redo after a crash).
        self._running: dict[asyncio.Task[None], int] = {}

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        _local_wakeups.add(self._wakeup)
        listener = asyncio.create_task(self._listen()) if not self.database.is_sqlite else None
        await self.schedule_recurring()
        try:
            while not self._stopping.is_set():
                # Cleared before the claim, not after: a wake-up that comes while the claim runs (a NOTIFY of a
                # job committed after the claim's snapshot) is kept, and the next round claims that job.
                self._wakeup.clear()
                free = self.concurrency - sum(self._running.values())
                claimed = await self.claim(free) if free > 0 else []
                for unit in _units(claimed):
                    task = asyncio.create_task(self._execute(unit))
                    self._running[task] = len(unit)
                    task.add_done_callback(self._task_done)
                if not claimed or sum(self._running.values()) >= self.concurrency:
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            _local_wakeups.discard(self._wakeup)
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)

    async def _listen(self) -> None:
        """On PostgreSQL, wake up as soon as any process commits a new job, instead of at the next poll.
        Polling stays as the fallback, so a lost connection only costs latency; it is re-opened."""
        dsn = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stopping.is_set():
            try:
                connection = await asyncpg.connect(dsn)
                try:
                    await connection.add_listener(JOBS_CHANNEL, lambda *_: self._wakeup.set())
                    await self._stopping.wait()
                finally:
                    await connection.close()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("job_listener_reconnecting", error=repr(exc))
                await asyncio.sleep(5)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._wakeup.set()

    async def run_until_idle(self) -> int:
        """Run due jobs until none is left; returns how many ran. For the CLI and for tests."""
        total = 0
        while True:
            claimed = await self.claim(self.concurrency)
            if not claimed:
                return total
            await asyncio.gather(*(self._execute(unit) for unit in _units(claimed)))
            total += len(claimed)

    async def schedule_recurring(self) -> None:
        async with self.database.transaction() as session:
            for kind, spec in _handlers.items():
                if spec.every is not None:
                    await enqueue(session, kind, {}, dedupe_key=f"recurring:{kind}")

    async def claim(self, limit: int) -> list[Job]:
        """Claim up to `limit` due jobs, and with each job of a batch kind more of that kind, up to its batch
        size (the worker runs them as one unit)."""
        now = utcnow()
        async with self.database.transaction() as session:
            claimed = list(await self._claim_due(session, now, limit, None))
            # Fewer than asked for: nothing else is due, so there is nothing to fill batches with.
            for kind in {job.kind for job in claimed} if len(claimed) == limit else ():
                spec = _handlers.get(kind)
                if spec is None or spec.batch_handler is None:
                    continue
                # Fill the last batch of this kind that the first claim started.
                wanted = -sum(1 for job in claimed if job.kind == kind) % spec.batch
                if wanted:
                    claimed += await self._claim_due(session, now, wanted, kind)
            runnable = []
            for job in claimed:
                if job.attempts > job.max_attempts:
                    # Claimed again after its last attempt died with its worker: give up on it.
                    self._bury(job, "the worker running the last attempt stopped before it finished")
                else:
                    runnable.append(job)
            return runnable

    async def _claim_due(self, session: AsyncSession, now: datetime, limit: int, kind: str | None) -> list[Job]:
        due = (
            select(Job.id)
            .where(Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING]), Job.run_at <= now)
            .order_by(Job.run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if kind is not None:
            due = due.where(Job.kind == kind)
        # The lease: until then no other worker claims the job; each kind has its own length.
        lease_ends = case({name: literal(now + spec.lease, UTCDateTime) for name, spec in _handlers.items()},
                          value=Job.kind, else_=literal(now + DEFAULT_LEASE, UTCDateTime))
        return list(
            (
                await session.scalars(
                    update(Job)
                    .where(Job.id.in_(due))
                    .values(status=JobStatus.RUNNING, locked_by=self.name, attempts=Job.attempts + 1,
                            run_at=lease_ends, dedupe_key=case(
                                (Job.dedupe_key.startswith(COALESCE_PREFIX, autoescape=True), null()),
                                else_=Job.dedupe_key))
                    .returning(Job)
                    .execution_options(synchronize_session=False)
                )
            ).all()
        )

    async def _execute(self, jobs: list[Job]) -> None:
        """Run one job, or one batch of jobs of a batch kind, in one transaction that marks them done."""
        first = jobs[0]
        spec = _handlers.get(first.kind)
        bound = log.bind(job_id=str(first.id), kind=first.kind, attempt=first.attempts, jobs=len(jobs))
        if spec is None:
            for job in jobs:
                await self._record_failure(job, None, f"no handler is registered for job kind {first.kind!r}")
            return
        job_span, span_token = tracing.start_span(f"job {first.kind}", parent=first.traceparent,
                                                  kind=tracing.CONSUMER, attributes={
                                                      "felles.job.kind": first.kind,
                                                      "felles.job.attempt": first.attempts})
        try:
            async with self.database.transaction() as session:
                context = JobContext(first.id, max(job.attempts for job in jobs), session, self.database)
                if spec.batch_handler is not None:
                    await spec.batch_handler([job.payload for job in jobs], context)
                else:
                    await spec.handler(first.payload, context)
                finished = await session.execute(
                    update(Job)
                    .where(Job.id.in_([job.id for job in jobs]), Job.locked_by == self.name,
                           Job.status == JobStatus.RUNNING)
                    .values(status=JobStatus.SUCCEEDED, finished_at=utcnow(), dedupe_key=None)
                    .execution_options(synchronize_session=False)
                )
                if finished.rowcount != len(jobs):  # type: ignore[attr-defined]
                    # Our lease ran out and another worker took a job: let that run count instead (the rest
                    # of a batch runs again when its lease runs out).
                    raise LeaseLost(first.id)
                if spec.every is not None:
                    await enqueue(
                        session, first.kind, {}, run_at=utcnow() + spec.every, dedupe_key=f"recurring:{first.kind}"
                    )
            bound.info("job_succeeded")
            JOBS_FINISHED.labels(component_of_job(first.kind), first.kind, "succeeded").inc(len(jobs))
        except LeaseLost:
            bound.warning("job_lease_lost")
        except Exception as exc:  # noqa: BLE001 - a failing handler must never stop the worker
            bound.warning("job_failed", error=repr(exc))
            JOBS_FINISHED.labels(component_of_job(first.kind), first.kind, "failed").inc(len(jobs))
            error = "".join(traceback.format_exception(exc))[-4000:]
            for job in jobs:
                await self._record_failure(job, spec, error)
            job_span.error = True
        finally:
            tracing.finish_span(job_span, span_token, attributes={"felles.job.count": len(jobs)})

    async def _record_failure(self, job: Job, spec: HandlerSpec | None, error: str) -> None:
        async with self.database.transaction() as session:
            current = await session.get(Job, job.id, with_for_update=True)
            if current is None or current.locked_by != self.name or current.status != JobStatus.RUNNING:
                return
            current.last_error = error
            if spec is None or current.attempts >= current.max_attempts:
                self._bury(current, error)
            else:
                current.status = JobStatus.PENDING
                current.locked_by = None
                current.run_at = utcnow() + backoff_delay(spec, current.attempts)

    @staticmethod
    def _bury(job: Job, error: str) -> None:
        job.status = JobStatus.DEAD
        job.last_error = error
        job.finished_at = utcnow()
        job.dedupe_key = None
        log.error("job_dead", job_id=str(job.id), kind=job.kind, attempts=job.attempts)
        JOBS_FINISHED.labels(component_of_job(job.kind), job.kind, "dead").inc()


def _units(claimed: list[Job]) -> list[list[Job]]:
    """What runs as one handler call: a job alone, or up to a batch of jobs of one batch kind."""
    units: list[list[Job]] = []
    batches: dict[str, list[Job]] = {}
    for job in claimed:
        spec = _handlers.get(job.kind)
        if spec is None or spec.batch_handler is None:
            units.append([job])
            continue
        batch = batches.get(job.kind)
        if batch is None or len(batch) >= spec.batch:
            batch = batches[job.kind] = []
            units.append(batch)
        batch.append(job)
    return units


class LeaseLost(Exception):
    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"lease of job {job_id} was lost")


async def list_jobs(session: AsyncSession, *, status: JobStatus | None, limit: int = 100) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    return list((await session.scalars(query)).all())


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {status: count for status, count in rows.all()}


async def retry_dead(session: AsyncSession, job_ids: list[uuid.UUID] | None) -> int:
    """Give dead jobs a fresh set of attempts (all of them when `job_ids` is None)."""
    statement = (
        update(Job)
        .where(Job.status == JobStatus.DEAD)
        .values(status=JobStatus.PENDING, attempts=0, run_at=utcnow(), locked_by=None, finished_at=None)
    )
    if job_ids is not None:
        statement = statement.where(Job.id.in_(job_ids))
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def release_jobs_of_process(session: AsyncSession, hostname: str, pid: int) -> int:
    """Make the jobs leased by a process that died (its workers are named `host:pid:…`) due again now, instead of
    when their leases run out. The attempt the dead process started still counts."""
    result = await session.execute(
        update(Job)
        .where(Job.status == JobStatus.RUNNING, Job.locked_by.startswith(f"{hostname}:{pid}:", autoescape=True))
        .values(status=JobStatus.PENDING, locked_by=None, run_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
