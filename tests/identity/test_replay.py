"""The used-jti ledger: concurrent requests share one INSERT, and each key is accepted exactly once, whether its
copies arrive in one batch, in later batches or in another process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event, func, select

from felles.core.clock import utcnow
from felles.core.db import Database
from felles.identity import replay
from felles.identity.models import UsedAssertion


async def test_concurrent_keys_are_written_together_and_each_is_accepted_once(database):
    inserts: list[str] = []

    def seen(_connection, _cursor, statement, *_):
        if statement.startswith("INSERT INTO identity_used_assertions"):
            inserts.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    guard = replay.replay_guard_for(database)
    expires = utcnow() + timedelta(seconds=60)
    keys = [f"client jti-{index % 20}" for index in range(60)]  # every key three times, all at once

    answers = await asyncio.gather(*(guard.first_use(key, expires) for key in keys))

    assert sum(answers) == 20
    assert {key for key, first in zip(keys, answers, strict=True) if first} == set(keys)
    assert 1 <= len(inserts) < 20  # written in batches, not one INSERT per request
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(UsedAssertion)) == 20
    assert not await guard.first_use("client jti-3", expires)  # later, in a batch of its own


async def test_another_process_cannot_use_a_key_again(database, settings):
    other = Database(settings.database_url)  # stands for another process's engine and ledger
    try:
        expires = utcnow() + timedelta(seconds=60)
        assert await replay.replay_guard_for(database).first_use("client shared-jti", expires)
        assert not await replay.replay_guard_for(other).first_use("client shared-jti", expires)
        assert await replay.replay_guard_for(other).first_use("client other-jti", expires)
    finally:
        await other.dispose()
