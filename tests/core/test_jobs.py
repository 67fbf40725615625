import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from felles.core.clock import clock, utcnow
from felles.core.db import Database
from felles.core.jobs import (
    Job,
    JobContext,
    JobStatus,
    Worker,
    backoff_delay,
    batch_job_handler,
    enqueue,
    registered_kinds,
    retry_dead,
)
from tests.core import job_handlers_for_tests

REPO = Path(__file__).resolve().parents[2]
BATCHES: list[list[int]] = []


@batch_job_handler("test.record_batch", batch=5, max_attempts=2, backoff_base=timedelta(seconds=10),
                   lease=timedelta(seconds=2))
async def record_batch(payloads: list[dict], _context: JobContext) -> None:
    if any(payload.get("fail") for payload in payloads):
        raise RuntimeError("planned batch failure")
    BATCHES.append(sorted(payload["n"] for payload in payloads))


async def statuses(database: Database, kind: str | None = None) -> dict[str, int]:
    query = select(Job.status, func.count()).group_by(Job.status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    async with database.transaction() as session:
        rows = await session.execute(query)
        return dict(rows.all())


async def test_a_job_exists_only_if_the_transaction_that_enqueued_it_commits(database: Database, tmp_path):
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await enqueue(session, "test.append_line", {"file": str(tmp_path / "out"), "n": 1})
            raise RuntimeError("the change failed")
    assert await statuses(database) == {}
    async with database.transaction() as session:
        await enqueue(session, "test.append_line", {"file": str(tmp_path / "out"), "n": 2})
    assert await Worker(database).run_until_idle() == 1
    assert (tmp_path / "out").read_text() == "2\n"
    assert await statuses(database) == {JobStatus.SUCCEEDED: 1}


async def test_failures_are_retried_with_backoff_then_the_job_is_dead(database: Database):
    async with database.transaction() as session:
        await enqueue(session, "test.fail_times", {"key": "always", "failures": 99})
    worker = Worker(database)
    assert await worker.run_until_idle() == 1
    async with database.transaction() as session:
        job = (await session.scalars(select(Job))).one()
    assert job.status == JobStatus.PENDING and job.attempts == 1 and "planned failure 1" in job.last_error
    # Not due before its backoff has passed.
    assert await worker.run_until_idle() == 0
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        assert await worker.run_until_idle() == 1
    async with database.transaction() as session:
        job = (await session.scalars(select(Job))).one()
    assert job.status == JobStatus.DEAD and job.attempts == 3
    async with database.transaction() as session:
        assert await retry_dead(session, None) == 1
    job_handlers_for_tests.FAILURES["always"] = 1000  # the cause is fixed: no planned failure left
    assert await worker.run_until_idle() == 1
    assert await statuses(database) == {JobStatus.SUCCEEDED: 1}


async def test_a_job_that_fails_twice_succeeds_on_the_third_attempt(database: Database):
    async with database.transaction() as session:
        await enqueue(session, "test.fail_times", {"key": "twice", "failures": 2})
    worker = Worker(database)
    for _ in range(3):
        await worker.run_until_idle()
        clock.advance(timedelta(minutes=5))
    assert await statuses(database) == {JobStatus.SUCCEEDED: 1}


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    spec = registered_kinds()["test.fail_times"]
    for attempt in range(1, 20):
        delay = backoff_delay(spec, attempt)
        ceiling = min(spec.backoff_base * 2 ** (attempt - 1), spec.backoff_max)
        assert ceiling / 2 <= delay <= ceiling


async def test_a_dedupe_key_admits_one_unfinished_job(database: Database, tmp_path):
    async with database.transaction() as session:
        for n in range(3):
            await enqueue(session, "test.append_line", {"file": str(tmp_path / "o"), "n": n}, dedupe_key="once")
    assert await Worker(database).run_until_idle() == 1
    async with database.transaction() as session:
        await enqueue(session, "test.append_line", {"file": str(tmp_path / "o"), "n": 9}, dedupe_key="once")
    assert await Worker(database).run_until_idle() == 1
    assert (tmp_path / "o").read_text() == "0\n9\n"


async def test_a_coalesce_key_admits_one_waiting_job_and_a_new_one_once_it_runs(database: Database, tmp_path):
    output = tmp_path / "o"
    async with database.transaction() as session:
        for _ in range(3):
            await enqueue(session, "test.append_line", {"file": str(output), "n": 1}, coalesce_key="mirror:x")
    async with database.transaction() as session:  # a later transaction, while the job still waits
        await enqueue(session, "test.append_line", {"file": str(output), "n": 1}, coalesce_key="mirror:x")
    assert await statuses(database) == {JobStatus.PENDING: 1}

    worker = Worker(database)
    async with database.transaction() as session:
        (claimed,) = await worker._claim_due(session, clock.now(), 10, None)
    async with database.transaction() as session:  # a change while the job runs needs a run of its own
        await enqueue(session, "test.append_line", {"file": str(output), "n": 2}, coalesce_key="mirror:x")
    await worker._execute([claimed])
    assert await Worker(database).run_until_idle() == 1
    assert output.read_text() == "1\n2\n"
    with pytest.raises(ValueError):
        async with database.transaction() as session:
            await enqueue(session, "test.append_line", {}, dedupe_key="a", coalesce_key="b")


async def test_scheduled_and_recurring_jobs_run_when_due(database: Database, tmp_path):
    async with database.transaction() as session:
        await enqueue(session, "test.append_line", {"file": str(tmp_path / "later"), "n": 1},
                      run_at=clock.now() + timedelta(days=3))
    worker = Worker(database)
    await worker.schedule_recurring()
    ran = await worker.run_until_idle()
    assert not (tmp_path / "later").exists()
    clock.advance(timedelta(days=3, seconds=1))
    assert await worker.run_until_idle() >= 2  # the scheduled job, and the hourly one again
    assert (tmp_path / "later").read_text() == "1\n"
    assert ran >= 1
    async with database.transaction() as session:
        hourly = (await session.scalars(select(Job).where(Job.kind == "test.every_hour",
                                                          Job.status == JobStatus.PENDING))).all()
    assert len(hourly) == 1 and hourly[0].run_at > clock.now()


async def test_a_job_whose_worker_vanished_is_claimed_again_after_its_lease(database: Database, tmp_path):
    async with database.transaction() as session:
        await enqueue(session, "test.append_line", {"file": str(tmp_path / "o"), "n": 1})
    crashed = Worker(database)
    assert len(await crashed.claim(10)) == 1  # claimed, then the worker "dies" without finishing
    assert await Worker(database).run_until_idle() == 0  # the lease still holds
    clock.advance(timedelta(seconds=3))
    assert await Worker(database).run_until_idle() == 1
    assert (tmp_path / "o").read_text() == "1\n"


def _start_worker(settings, log) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "FELLES_DATABASE_URL": settings.database_url,
        "FELLES_DATA_DIR": str(settings.data_dir),
        "FELLES_ENVIRONMENT": "test",
        "FELLES_SECRET_KEY": settings.secret_key,
        "FELLES_PLUGIN_MODULES": '["tests.core.job_handlers_for_tests"]',
        "FELLES_WORKER_POLL_SECONDS": "0.1",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen([sys.executable, "-m", "felles.cli", "worker", "--concurrency", "4"], env=environment,
                            stdout=log, stderr=subprocess.STDOUT)


async def _wait_for(predicate, within: float) -> None:
    import asyncio

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_sigkill_of_a_worker_mid_job_loses_no_job(database: Database, settings, tmp_path):
    out = tmp_path / "done.txt"
    total = 200
    async with database.transaction() as session:
        for n in range(total):
            await enqueue(session, "test.append_line", {"file": str(out), "n": n, "delay": 0.05})

    async def some_done_and_one_running() -> bool:
        # The kill must land while a job is leased, whatever the gap between two jobs on a loaded machine.
        return (out.exists() and len(out.read_text().split()) >= 20
                and (await statuses(database, "test.append_line")).get(JobStatus.RUNNING, 0) > 0)

    async def all_done() -> bool:
        return (await statuses(database, "test.append_line")) == {JobStatus.SUCCEEDED: total}

    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = _start_worker(settings, log)
        try:
            await _wait_for(some_done_and_one_running, 60)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            worker.kill()
        counts = await statuses(database, "test.append_line")
        assert counts.get(JobStatus.RUNNING, 0) > 0, f"the kill should land mid-job: {counts}"
        assert counts.get(JobStatus.SUCCEEDED, 0) < total

        restarted = _start_worker(settings, log)
        try:
            await _wait_for(all_done, 120)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(20)
    lines = out.read_text().split()
    assert set(map(int, lines)) == set(range(total)), "a job was lost"
    duplicates = len(lines) - total
    print(f"\nSIGKILL test: {total} jobs, none lost, {duplicates} run twice (at-least-once)")
    assert restarted.returncode == 0, log_path.read_text()[-2000:]


async def test_the_audit_log_is_purged_after_its_retention_period(database: Database, settings):
    from felles.core import audit

    async with database.transaction() as session:
        await audit.record(session, audit.Actor("organization:991825827"), action="read", resource="krr",
                           subjects=["47906701517"])
    clock.advance(timedelta(days=settings.audit_retention_days - 1))
    worker = Worker(database)
    await worker.schedule_recurring()
    await worker.run_until_idle()
    async with database.transaction() as session:
        assert len(await audit.search_entries(session, subject="47906701517", actor=None, after=None, limit=10)) == 1
    clock.advance(timedelta(days=2))
    await worker.run_until_idle()
    async with database.transaction() as session:
        assert await audit.search_entries(session, subject="47906701517", actor=None, after=None, limit=10) == []


async def test_job_outcomes_are_counted_in_the_metrics(database: Database, client):
    async with database.transaction() as session:
        await enqueue(session, "test.fail_times", {"key": "metrics", "failures": 1})
    worker = Worker(database)
    await worker.run_until_idle()
    clock.advance(timedelta(minutes=5))
    await worker.run_until_idle()
    metrics = (await client.get("/metrics")).text
    assert 'felles_jobs_finished_total{component="test",kind="test.fail_times",outcome="failed"}' in metrics
    assert 'felles_jobs_finished_total{component="test",kind="test.fail_times",outcome="succeeded"}' in metrics


@pytest.mark.skipif(not os.environ.get("FELLES_TEST_DATABASE_URL"), reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_on_postgresql_a_committed_job_wakes_a_sleeping_worker_at_once(database: Database, tmp_path):
    """The worker polls only once a minute here; the job still runs within seconds, woken by NOTIFY."""
    import asyncio

    worker = Worker(Database(database.url), poll_seconds=60)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(2)  # the worker has polled once, found nothing, and sleeps
        async with database.transaction() as session:
            await enqueue(session, "test.append_line", {"file": str(tmp_path / "woken"), "n": 1})

        async def done() -> bool:
            return (tmp_path / "woken").exists()

        await _wait_for(done, within=15)
    finally:
        worker.stop()
        await running
        await worker.database.dispose()


@pytest.mark.skipif(not os.environ.get("FELLES_TEST_DATABASE_URL"), reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_on_postgresql_a_job_after_a_deduplicated_one_still_wakes_a_sleeping_worker(database: Database,
                                                                                        tmp_path):
    """The NOTIFY rides on the transaction's first written job: a job not written (its dedupe key held) wakes
    nobody, so the next job of the same transaction does."""
    import asyncio

    async with database.transaction() as session:
        await enqueue(session, "test.append_line", {"file": str(tmp_path / "later"), "n": 1},
                      dedupe_key="held", run_at=utcnow() + timedelta(hours=1))
    worker = Worker(Database(database.url), poll_seconds=60)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(2)  # the worker has polled once, found nothing due, and sleeps
        async with database.transaction() as session:
            await enqueue(session, "test.append_line", {"file": str(tmp_path / "later"), "n": 2}, dedupe_key="held")
            await enqueue(session, "test.append_line", {"file": str(tmp_path / "woken"), "n": 1})

        async def done() -> bool:
            return (tmp_path / "woken").exists()

        await _wait_for(done, within=15)
        assert not (tmp_path / "later").exists()
    finally:
        worker.stop()
        await running
        await worker.database.dispose()


@pytest.mark.skipif(not os.environ.get("FELLES_TEST_DATABASE_URL"), reason="LISTEN/NOTIFY is PostgreSQL's")
async def test_on_postgresql_a_transaction_wakes_the_workers_once_however_many_jobs_it_queues(database: Database):
    notifications: list[str] = []

    def seen(_connection, _cursor, statement, *_args) -> None:
        if "pg_notify" in statement:
            notifications.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        for _ in range(2):
            async with database.transaction() as session:
                for n in range(3):
                    await enqueue(session, "test.record_batch", {"n": n})
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    assert len(notifications) == 2
    assert await statuses(database) == {JobStatus.PENDING: 6}


async def test_a_batch_kind_runs_its_due_jobs_in_batches_of_its_size(database: Database):
    BATCHES.clear()
    async with database.transaction() as session:
        for n in range(12):
            await enqueue(session, "test.record_batch", {"n": n})
    assert await Worker(database, concurrency=1).run_until_idle() == 12
    assert sorted(len(batch) for batch in BATCHES) == [2, 5, 5]
    assert sorted(n for batch in BATCHES for n in batch) == list(range(12))
    assert await statuses(database) == {JobStatus.SUCCEEDED: 12}


async def test_a_failing_batch_fails_each_of_its_jobs_which_are_retried_then_dead(database: Database):
    BATCHES.clear()
    async with database.transaction() as session:
        for n in range(3):
            await enqueue(session, "test.record_batch", {"n": n, "fail": n == 1})
    worker = Worker(database)
    assert await worker.run_until_idle() == 3
    async with database.transaction() as session:
        jobs = list(await session.scalars(select(Job)))
    assert {(job.status, job.attempts) for job in jobs} == {(JobStatus.PENDING, 1)}
    assert all("planned batch failure" in job.last_error for job in jobs)
    clock.advance(timedelta(minutes=5))
    assert await worker.run_until_idle() == 3
    assert await statuses(database) == {JobStatus.DEAD: 3} and BATCHES == []


async def test_a_batch_whose_worker_vanished_is_claimed_again_after_its_lease(database: Database):
    BATCHES.clear()
    async with database.transaction() as session:
        for n in range(3):
            await enqueue(session, "test.record_batch", {"n": n})
    assert len(await Worker(database).claim(1)) == 3  # one claimed, and the rest of its batch with it
    assert await Worker(database).run_until_idle() == 0  # the leases still hold
    clock.advance(timedelta(seconds=3))
    assert await Worker(database).run_until_idle() == 3
    assert BATCHES == [[0, 1, 2]]
