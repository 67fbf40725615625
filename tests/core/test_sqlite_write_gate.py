"""The SQLite write gate (core.db.SqliteWriteGate): writers from several processes and coroutines take turns
without errors, a write nested in a write fails as SQLite would instead of hanging, and reads never wait for it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from felles.core import db
from felles.core.db import Database

WRITER = """
import asyncio, sys
from sqlalchemy import text
from felles.core.db import Database

async def main(url, name, count):
    database = Database(url)
    async def write(n):
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO writes (writer, n) VALUES (:w, :n)"), {"w": name, "n": n})
            await asyncio.sleep(0)  # other coroutines run while this one holds the write lock
            await session.execute(text("UPDATE totals SET count = count + 1"))
    await asyncio.gather(*(write(n) for n in range(count)))
    await database.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


@pytest.fixture
async def sqlite_file(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}"
    database = Database(url)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE writes (writer TEXT, n INTEGER)"))
        await session.execute(text("CREATE TABLE totals (count INTEGER)"))
        await session.execute(text("INSERT INTO totals VALUES (0)"))
    yield url, database
    await database.dispose()


async def test_writers_in_two_processes_and_many_coroutines_all_commit(sqlite_file):
    url, database = sqlite_file
    count = 150
    writers = [await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, url, name, str(count),
                                                    stderr=asyncio.subprocess.PIPE)
               for name in ("a", "b")]
    for writer in writers:
        _, errors = await asyncio.wait_for(writer.communicate(), 120)
        assert writer.returncode == 0, errors.decode()[-2000:]
    async with database.sessionmaker() as session:
        assert (await session.execute(text("SELECT count FROM totals"))).scalar_one() == 2 * count
        rows = (await session.execute(text("SELECT writer, count(*) FROM writes GROUP BY writer"))).all()
    assert sorted(rows) == [("a", count), ("b", count)]
    lock_file = Path(url.removeprefix("sqlite+aiosqlite:///") + ".write-lock")
    assert await asyncio.to_thread(lock_file.exists)


async def test_a_write_nested_in_a_write_fails_like_sqlite_instead_of_hanging(sqlite_file, monkeypatch):
    _, database = sqlite_file
    monkeypatch.setattr(db, "GATE_TIMEOUT_SECONDS", 0.3)
    with pytest.raises(OperationalError, match="database is locked"):
        async with database.transaction() as outer:
            await outer.execute(text("UPDATE totals SET count = count + 1"))
            async with database.transaction() as inner:
                await inner.execute(text("UPDATE totals SET count = count + 100"))
    # Both were rolled back and the gate was given back: the next write goes through at once.
    async with database.transaction() as session:
        await session.execute(text("UPDATE totals SET count = count + 1"))
    async with database.sessionmaker() as session:
        assert (await session.execute(text("SELECT count FROM totals"))).scalar_one() == 1


async def test_reads_do_not_wait_for_a_writer(sqlite_file):
    _, database = sqlite_file
    async with database.transaction() as writer:
        await writer.execute(text("INSERT INTO writes VALUES ('w', 1)"))
        async with database.sessionmaker() as reader:  # the write above is not committed yet: not seen
            seen = await asyncio.wait_for(reader.execute(text("SELECT count(*) FROM writes")), 5)
            assert seen.scalar_one() == 0
