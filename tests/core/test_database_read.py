"""`Database.read`: statements outside any transaction (no BEGIN and COMMIT round trips on PostgreSQL), on the
pool's connections, which go back to transactions after it."""

import os

import pytest
from sqlalchemy import select, text

from felles.core.db import Database
from felles.core.jobs import Job, enqueue
from tests.core import job_handlers_for_tests  # noqa: F401  (registers test.append_line)

POSTGRES = bool(os.environ.get("FELLES_TEST_DATABASE_URL"))


@pytest.mark.skipif(not POSTGRES, reason="the transaction ids are PostgreSQL's")
async def test_on_postgresql_a_read_runs_each_statement_on_its_own_and_a_transaction_still_holds_them_together(
        database: Database):
    statement = text("SELECT pg_current_xact_id()::text")
    async with database.read() as session:
        first, second = [await session.scalar(statement) for _ in range(2)]
    assert first != second  # each statement its own transaction: no BEGIN was sent
    async with database.transaction() as session:
        first, second = [await session.scalar(statement) for _ in range(2)]
    assert first == second
    async with database.read() as session:  # the same pool's connections, not left in a transaction
        assert await session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                                         "AND pid = pg_backend_pid()")) == 0


async def test_a_read_sees_what_a_transaction_committed(database: Database):
    async with database.transaction() as session:
        await enqueue(session, "test.append_line", {"file": "/dev/null", "n": 1})
    async with database.read() as session:
        assert list(await session.scalars(select(Job.kind))) == ["test.append_line"]
