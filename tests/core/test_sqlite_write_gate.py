"""The SQLite write gate (core.db.SqliteWriteGate): writers from several processes and coroutines take turns
without errors, a write nested in a write fails as SQLite would instead of hanging, and reads never wait for it."""

from __future__ import annotations

import asyncio
import fcntl
import os
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


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_disposed_database_closes_its_lock_file(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'files.db'}"
    before = _open_files()
    for _ in range(5):
        database = Database(url)
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        await database.dispose()
    assert _open_files() == before


async def test_a_writer_cancelled_while_another_process_writes_gives_the_gate_back(sqlite_file):
    url, database = sqlite_file
    lock_path = url.removeprefix("sqlite+aiosqlite:///") + ".write-lock"
    other = os.open(lock_path, os.O_RDWR | os.O_CREAT)  # another open file: as another process's lock
    fcntl.flock(other, fcntl.LOCK_EX)
    started = asyncio.Event()

    async def write() -> None:
        async with database.transaction() as session:
            started.set()
            await session.execute(text("INSERT INTO writes VALUES ('cancelled', 1)"))

    writer = asyncio.create_task(write())
    await started.wait()
    await asyncio.sleep(0.2)  # now waiting for the other's lock, in a thread
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    fcntl.flock(other, fcntl.LOCK_UN)  # the other writer is done: the waiting thread takes the lock ...
    await asyncio.sleep(0.3)  # (time for it to, so that a third does not simply come first)

    async def taken_by_a_third() -> None:  # ... and gives it back, so a third can take it
        third = os.open(lock_path, os.O_RDWR)
        try:
            while True:
                try:
                    fcntl.flock(third, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(third, fcntl.LOCK_UN)
                    return
                except BlockingIOError:
                    await asyncio.sleep(0.05)
        finally:
            os.close(third)

    await asyncio.wait_for(taken_by_a_third(), 10)
    os.close(other)
    async with database.transaction() as session:  # and this process writes again without waiting
        await asyncio.wait_for(session.execute(text("INSERT INTO writes VALUES ('after', 1)")), 10)
    async with database.sessionmaker() as session:
        assert (await session.execute(text("SELECT writer FROM writes"))).scalars().all() == ["after"]
