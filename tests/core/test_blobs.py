"""The blob store, one suite for both implementations: the local folder and S3, the latter against a real
S3-compatible server (moto's, on a loopback port)."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import random
import signal
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from felles.core import blobs
from felles.core.blobs import (
    BLOCK_SIZE,
    CHUNK_SIZE,
    BlobNotFound,
    BlobStore,
    Checksums,
    LocalBlobStore,
    from_bytes,
    open_blob_store,
)
from felles.core.config import BlobStoreKind, Environment, Settings
from felles.core.jobs import Worker, enqueue
from tests.conftest import free_listener

MEGABYTE = 1024 * 1024


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server on a free loopback port, for the whole session."""
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def store_settings(kind: str, tmp_path: Path, s3_endpoint: str) -> Settings:
    bucket = f"felles-{os.urandom(4).hex()}"
    if kind == "s3":
        # Moto keeps buckets in memory; S3 clients do not create them, the operator does.
        assert httpx.put(f"{s3_endpoint}/{bucket}").status_code == 200
    return Settings(environment=Environment.TEST, data_dir=tmp_path, secret_key="k" * 40,
                    blob_store=BlobStoreKind(kind), s3_endpoint=s3_endpoint, s3_bucket=bucket,
                    s3_access_key_id="test", s3_secret_access_key="test")  # moto's fake keys


@pytest.fixture(params=["local", "s3"])
def store_config(request, tmp_path, s3_endpoint) -> Settings:
    return store_settings(request.param, tmp_path, s3_endpoint)


@pytest.fixture
def store(store_config) -> BlobStore:
    return open_blob_store(store_config)


def pattern(index: int) -> bytes:
    """One megabyte that differs from every other index's (so that a misplaced chunk shows)."""
    return hashlib.sha256(str(index).encode()).digest() * (MEGABYTE // 32)


async def twenty_megabytes() -> AsyncIterator[bytes]:
    for index in range(20):
        yield pattern(index)


async def read_all(stream) -> tuple[bytes, list[int]]:
    chunks = [chunk async for chunk in stream]
    return b"".join(chunks), [len(chunk) for chunk in chunks]


async def test_a_large_blob_streams_in_and_out_in_chunks_with_its_checksums(store):
    stored = await store.put("storage/instance-1/data-1", twenty_megabytes(), sha256=True)
    expected = b"".join(pattern(index) for index in range(20))
    assert stored.size == 20 * MEGABYTE
    assert stored.sha256 == hashlib.sha256(expected).hexdigest()
    assert stored.md5 == hashlib.md5(expected, usedforsecurity=False).hexdigest()
    assert await store.exists("storage/instance-1/data-1")
    stream = await store.get("storage/instance-1/data-1")
    assert (stream.size, stream.start, stream.end) == (20 * MEGABYTE, 0, 20 * MEGABYTE)
    data, sizes = await read_all(stream)
    assert data == expected
    assert len(sizes) >= 10 and max(sizes) <= 2 * CHUNK_SIZE  # streamed, never the whole blob at once


@pytest.mark.parametrize(("start", "end", "expected"), [
    (0, 5, b"Hei, "), (5, None, b"\xc3\xa6\xc3\xb8\xc3\xa5!"), (5, 1000, b"\xc3\xa6\xc3\xb8\xc3\xa5!"),
    (11, None, b"!"), (12, None, b""), (50, None, b""), (3, 3, b""),
])
async def test_byte_ranges(store, start, end, expected):
    await store.put("letters/1", from_bytes("Hei, æøå!".encode()))
    stream = await store.get("letters/1", start=start, end=end)
    assert stream.size == 12
    assert (await read_all(stream))[0] == expected


async def test_a_range_that_ends_before_it_starts_is_refused(store):
    await store.put("letters/1", from_bytes(b"abc"))
    with pytest.raises(ValueError, match="range"):
        await store.get("letters/1", start=2, end=1)


async def test_a_missing_blob_is_a_clear_not_found_problem(store):
    with pytest.raises(BlobNotFound) as raised:
        await store.get("storage/nothing/here")
    assert raised.value.status == 404 and raised.value.code == "blob_not_found"
    with pytest.raises(BlobNotFound):
        await store.get("storage/nothing/here", start=3)
    assert not await store.exists("storage/nothing/here")


async def test_delete_removes_the_blob_and_may_run_twice(store):
    await store.put("a/b", from_bytes(b"first"))
    await store.put("a/b", from_bytes(b"second"))  # replaces
    assert (await read_all(await store.get("a/b")))[0] == b"second"
    await store.delete("a/b")
    await store.delete("a/b")
    assert not await store.exists("a/b")
    with pytest.raises(BlobNotFound):
        await store.get("a/b")


async def test_list_finds_the_blobs_under_a_prefix_for_sweeps(store):
    for key in ("storage/i1/d1", "storage/i1/d2", "storage/i2/d1", "storagex/d1", "broker/f1"):
        await store.put(key, from_bytes(key.encode()))
    assert sorted(info.key for info in [info async for info in store.list("storage/")]) == [
        "storage/i1/d1", "storage/i1/d2", "storage/i2/d1"]
    assert sorted([info.key async for info in store.list("storage/i1")]) == ["storage/i1/d1", "storage/i1/d2"]
    everything = {info.key: info.size async for info in store.list()}
    assert everything == {key: len(key) for key in
                          ("storage/i1/d1", "storage/i1/d2", "storage/i2/d1", "storagex/d1", "broker/f1")}


@pytest.mark.parametrize("key", ["../etc/passwd", "/absolute", "a//b", "a/./b", "", "a b", ".uploads/x"])
async def test_keys_outside_the_store_are_refused(store, key):
    with pytest.raises(ValueError, match="not a blob key"):
        await store.put(key, from_bytes(b"x"))


async def test_an_upload_that_fails_midway_leaves_no_blob(store):
    async def broken() -> AsyncIterator[bytes]:
        yield pattern(0)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("storage/broken", broken())
    assert not await store.exists("storage/broken")
    assert [info async for info in store.list()] == []


UPLOAD_THEN_HANG = textwrap.dedent("""
    import asyncio, sys
    from felles.core.blobs import open_blob_store
    from felles.core.config import Settings

    async def hanging():
        for index in range(12):
            yield bytes([index]) * (1024 * 1024)
        print("uploading", flush=True)
        await asyncio.sleep(3600)
        yield b"never"

    asyncio.run(open_blob_store(Settings.model_validate_json(sys.argv[1])).put("storage/killed", hanging()))
""")


async def test_a_process_killed_during_an_upload_leaves_no_half_blob(store_config, store):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", UPLOAD_THEN_HANG, store_config.model_dump_json(), stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None and await process.stdout.readline() == b"uploading\n"
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert not await store.exists("storage/killed")
    with pytest.raises(BlobNotFound):
        await store.get("storage/killed")


async def test_the_local_store_discards_uploads_a_killed_process_abandoned(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put("kept", from_bytes(b"x"))
    abandoned = tmp_path / "blobs" / ".uploads" / "gone.part"
    abandoned.write_bytes(b"half")
    assert await store.discard_abandoned_uploads(timedelta(hours=1)) == 0  # it might still be uploading
    os.utime(abandoned, (0, 0))
    assert await store.discard_abandoned_uploads(timedelta(hours=1)) == 1
    assert not abandoned.exists() and await store.exists("kept")


async def test_the_health_check_says_which_store_works(store_config, tmp_path):
    from felles.core.health import blob_store_health

    assert (await blob_store_health(store_config)).ok
    missing_bucket = store_config.model_copy(update={"s3_bucket": "no-such-bucket"})
    if store_config.blob_store is BlobStoreKind.S3:
        result = await blob_store_health(missing_bucket)
        assert not result.ok and result.name == "blob store"


async def test_a_recurring_job_discards_abandoned_uploads_of_the_configured_folder(database, job_settings):
    uploads = job_settings.data_dir / "blobs" / ".uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    abandoned = uploads / "killed.part"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (0, 0))
    async with database.transaction() as session:
        await enqueue(session, "blobs.discard_abandoned_uploads", {})
    await Worker(database).run_until_idle()
    assert not abandoned.exists()


async def test_an_empty_blob_is_stored_and_read(store):
    stored = await store.put("empty/1", from_bytes(b""), sha256=True)
    assert stored.size == 0 and stored.sha256 == hashlib.sha256(b"").hexdigest()
    stream = await store.get("empty/1", start=0, end=10)
    assert stream.size == 0 and (await read_all(stream))[0] == b""


async def test_the_md5_only_unless_the_caller_asks_for_the_sha256_too(store):
    stored = await store.put("broker/transfer-1/part-0", twenty_megabytes())
    expected = b"".join(pattern(index) for index in range(20))
    assert stored.sha256 is None and stored.size == 20 * MEGABYTE
    assert stored.md5 == hashlib.md5(expected, usedforsecurity=False).hexdigest()
    data, sizes = await read_all(await store.get("broker/transfer-1/part-0", chunk_size=4 * MEGABYTE))
    assert data == expected and len(sizes) >= 5 and max(sizes) <= 8 * MEGABYTE  # larger chunks, still streamed


async def test_a_reader_that_stops_early_leaves_the_blob_readable_and_deletable(store):
    await store.put("broker/transfer-2/part-0", twenty_megabytes())
    stream = await store.get("broker/transfer-2/part-0")
    chunks = aiter(stream)
    first = await anext(chunks)
    assert first.startswith(pattern(0)[:len(first)])
    await chunks.aclose()  # while the next chunk is being read ahead
    assert (await read_all(await store.get("broker/transfer-2/part-0", start=MEGABYTE, end=MEGABYTE + 5)))[0] == \
        pattern(1)[:5]
    await store.delete("broker/transfer-2/part-0")
    assert not await store.exists("broker/transfer-2/part-0")


# --- the local folder past the page cache: large blobs are written and read with O_DIRECT, in aligned units ---
ALIGNMENT = 4096
AROUND_THE_BOUNDARIES = [0, 1, ALIGNMENT - 1, ALIGNMENT, ALIGNMENT + 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1,
                         BLOCK_SIZE + ALIGNMENT - 1, BLOCK_SIZE + ALIGNMENT, 2 * BLOCK_SIZE + ALIGNMENT + 1,
                         3 * BLOCK_SIZE - 1]


def unrepeated(size: int) -> bytes:
    """Bytes in which no aligned unit repeats another (a misplaced or doubled unit shows)."""
    return random.Random(size).randbytes(size)


async def in_pieces(data: bytes, piece: int = 65_537) -> AsyncIterator[bytes]:
    """`data` in pieces of an odd length, as a network delivers them: they straddle every boundary."""
    for offset in range(0, len(data), piece):
        yield data[offset:offset + piece]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def direct_io_used(monkeypatch) -> list[bool]:
    """Whether each upload went past the page cache once past its first block."""
    used: list[bool] = []
    start_direct = blobs._NewFile._start_direct

    def recorded(self) -> bool:
        used.append(start_direct(self))
        return used[-1]

    monkeypatch.setattr(blobs._NewFile, "_start_direct", recorded)
    return used


@pytest.mark.parametrize("size", AROUND_THE_BOUNDARIES)
async def test_a_blob_of_any_size_round_trips_byte_exact_past_the_page_cache(tmp_path, direct_io_used, size):
    store = LocalBlobStore(tmp_path)
    data = unrepeated(size)
    stored = await store.put("broker/t/part", in_pieces(data), sha256=size % 2 == 0)
    assert stored.size == size and stored.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert stored.sha256 == (hashlib.sha256(data).hexdigest() if size % 2 == 0 else None)
    assert (tmp_path / "broker/t/part").read_bytes() == data  # through the cache, as any other reader sees it
    assert (await read_all(await store.get("broker/t/part")))[0] == data
    assert direct_io_used == ([True] if size >= BLOCK_SIZE else [])  # this file system takes O_DIRECT
    assert list((tmp_path / ".uploads").iterdir()) == []


@pytest.mark.parametrize(("start", "end"), [
    (0, BLOCK_SIZE), (1, BLOCK_SIZE + 1), (ALIGNMENT - 1, 2 * BLOCK_SIZE + 3), (ALIGNMENT, None),
    (BLOCK_SIZE - 1, None), (12_345, 12_345 + BLOCK_SIZE), (BLOCK_SIZE + 7, 3 * BLOCK_SIZE - 2),
    (3 * BLOCK_SIZE - BLOCK_SIZE - 5, 10 * BLOCK_SIZE),
])
@pytest.mark.parametrize("chunk_size", [CHUNK_SIZE, 4 * MEGABYTE, 1_000_003])
async def test_a_large_range_is_read_past_the_page_cache_from_any_byte_to_any_byte(tmp_path, start, end, chunk_size):
    store = LocalBlobStore(tmp_path)
    data = unrepeated(3 * BLOCK_SIZE - 1)
    await store.put("storage/i/d", in_pieces(data))
    stream = await store.get("storage/i/d", start=start, end=end, chunk_size=chunk_size)
    read, sizes = await read_all(stream)
    assert read == data[start:end] and (stream.start, stream.end) == (start, min(end or len(data), len(data)))
    assert max(sizes) <= chunk_size


@pytest.fixture
def direct_io_refused(monkeypatch) -> None:
    """A file system that refuses O_DIRECT (tmpfs on older kernels, some network file systems): EINVAL."""
    real_open, real_fcntl = os.open, fcntl.fcntl

    def refusing_open(path, flags, *arguments, **keywords):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *arguments, **keywords)

    def refusing_fcntl(fd, command, argument=0):
        if command == fcntl.F_SETFL and argument & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_fcntl(fd, command, argument)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(fcntl, "fcntl", refusing_fcntl)


@pytest.fixture
def direct_io_taken_then_refused(monkeypatch) -> None:
    """A file system that takes the flag but refuses the reads and writes themselves."""
    real_write, real_preadv = os.write, os.preadv

    def direct(fd: int) -> bool:
        return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)

    def refusing_write(fd, data):
        if direct(fd):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    def refusing_preadv(fd, buffers, offset, *arguments):
        if direct(fd):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_preadv(fd, buffers, offset, *arguments)

    monkeypatch.setattr(os, "write", refusing_write)
    monkeypatch.setattr(os, "preadv", refusing_preadv)


@pytest.mark.parametrize("refusal", ["direct_io_refused", "direct_io_taken_then_refused"])
async def test_a_file_system_that_refuses_direct_io_gets_the_bytes_through_the_cache(tmp_path, request, refusal):
    request.getfixturevalue(refusal)
    store = LocalBlobStore(tmp_path)
    data = unrepeated(2 * BLOCK_SIZE + ALIGNMENT + 1)
    stored = await store.put("storage/i/d", in_pieces(data), sha256=False)
    assert stored.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert (tmp_path / "storage/i/d").read_bytes() == data
    assert (await read_all(await store.get("storage/i/d", start=3, end=len(data) - 1)))[0] == data[3:-1]


async def test_an_upload_that_fails_past_its_first_block_leaves_no_temporary_file_nor_open_file(tmp_path):
    store = LocalBlobStore(tmp_path)
    await store.put("warm/up", from_bytes(b"x"))  # the folders exist, the thread pool has started
    before = open_descriptors()

    async def broken() -> AsyncIterator[bytes]:
        async for piece in in_pieces(unrepeated(2 * BLOCK_SIZE + 3)):
            yield piece
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("storage/broken", broken())
    assert list((tmp_path / ".uploads").iterdir()) == [] and not await store.exists("storage/broken")
    assert open_descriptors() == before


async def test_a_disk_that_fills_up_mid_upload_is_the_error_raised_and_leaves_no_temporary_file(tmp_path,
                                                                                                 monkeypatch):
    store = LocalBlobStore(tmp_path)
    await store.put("warm/up", from_bytes(b"x"))
    before = open_descriptors()
    real_write = os.write

    def filling_write(fd, data):
        if os.fstat(fd).st_size >= BLOCK_SIZE + MEGABYTE:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", filling_write)
    with pytest.raises(OSError) as raised:
        await store.put("storage/full", in_pieces(unrepeated(4 * BLOCK_SIZE)))
    assert raised.value.errno == errno.ENOSPC
    assert list((tmp_path / ".uploads").iterdir()) == [] and not await store.exists("storage/full")
    assert open_descriptors() == before


async def test_an_upload_cancelled_mid_stream_leaves_no_temporary_file_nor_open_file(tmp_path):
    store = LocalBlobStore(tmp_path)
    await store.put("warm/up", from_bytes(b"x"))
    before = open_descriptors()
    waiting = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        async for piece in in_pieces(unrepeated(2 * BLOCK_SIZE + 3)):
            yield piece
        waiting.set()
        await asyncio.sleep(3600)
        yield b"never"

    upload = asyncio.create_task(store.put("storage/cancelled", stalled()))
    await waiting.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert list((tmp_path / ".uploads").iterdir()) == [] and not await store.exists("storage/cancelled")
    assert open_descriptors() == before


async def test_a_blob_that_cannot_be_moved_into_place_raises_its_own_error_and_leaves_no_temporary_file(tmp_path):
    store = LocalBlobStore(tmp_path)
    await store.put("a", from_bytes(b"a file where a folder would go"))
    before = open_descriptors()
    with pytest.raises((NotADirectoryError, FileExistsError)):
        await store.put("a/b", in_pieces(unrepeated(BLOCK_SIZE + 1)))
    assert list((tmp_path / ".uploads").iterdir()) == []
    assert open_descriptors() == before


# --- reading ahead: READ_AHEAD reads under way on threads at their own offsets ---------------------------------
@pytest.mark.parametrize(("start", "end"), [(0, None), (1, 99), (7, 8), (13, 1000), (99, None), (64, 71)])
@pytest.mark.parametrize("chunk_size", [1, 7, 64])
async def test_a_small_range_is_read_ahead_through_the_cache_from_any_byte_to_any_byte(tmp_path, start, end,
                                                                                         chunk_size):
    store = LocalBlobStore(tmp_path)
    data = unrepeated(100)
    await store.put("storage/i/small", in_pieces(data, 9))
    read, sizes = await read_all(await store.get("storage/i/small", start=start, end=end, chunk_size=chunk_size))
    assert read == data[start:end] and all(size == chunk_size for size in sizes[:-1])


class HeldReads:
    """os.preadv (the direct reader's) waits on its thread until the test releases it; counts the reads that
    started and that have not returned."""

    def __init__(self, monkeypatch) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.lock = threading.Lock()
        self.under_way = 0
        real_preadv = os.preadv

        def held(fd, buffers, offset, *arguments):
            with self.lock:
                self.under_way += 1
            try:
                self.started.release()
                self.release.wait()
                return real_preadv(fd, buffers, offset, *arguments)
            finally:
                with self.lock:
                    self.under_way -= 1

        monkeypatch.setattr(os, "preadv", held)

    async def wait_started(self, count: int) -> None:
        for _ in range(count):
            await asyncio.to_thread(self.started.acquire)


async def reading_with_reads_held(tmp_path, monkeypatch) -> tuple[asyncio.Task[bytes], HeldReads, int]:
    """A large blob's first chunk being read, its READ_AHEAD reads under way and held; the descriptors open
    before."""
    store = LocalBlobStore(tmp_path)
    await store.put("broker/t/large", in_pieces(unrepeated(2 * BLOCK_SIZE + 5)))
    await store.put("warm/up", from_bytes(b"x"))  # the thread pool has started
    before = open_descriptors()
    held = HeldReads(monkeypatch)
    chunks = aiter(await store.get("broker/t/large", chunk_size=MEGABYTE))

    async def first() -> bytes:
        return await anext(chunks)

    reading = asyncio.create_task(first())
    try:
        await held.wait_started(blobs.READ_AHEAD)
    except BaseException:
        held.release.set()
        raise
    return reading, held, before


async def test_a_stream_cancelled_with_reads_under_way_waits_for_them_and_leaves_no_open_file(tmp_path,
                                                                                              monkeypatch):
    reading, held, before = await reading_with_reads_held(tmp_path, monkeypatch)
    reading.cancel()
    held.release.set()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert held.under_way == 0 and open_descriptors() == before  # no thread still reads, the file is closed


async def test_a_stream_cancelled_again_while_it_waits_closes_its_file_only_after_the_last_read(tmp_path,
                                                                                                 monkeypatch):
    reading, held, before = await reading_with_reads_held(tmp_path, monkeypatch)
    try:
        reading.cancel()
        for _ in range(10):  # the stream is now waiting for its reads
            await asyncio.sleep(0)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        # The reads are still under way on their threads: their descriptor stays open (no other file may get its
        # number while they read)...
        assert held.under_way == blobs.READ_AHEAD and open_descriptors() == before + 1
    finally:
        held.release.set()
    for _ in range(500):  # ...and closes when the last of them ends
        if open_descriptors() == before:
            break
        await asyncio.sleep(0.01)
    assert held.under_way == 0 and open_descriptors() == before


@pytest.mark.parametrize(("size", "call"), [(2 * BLOCK_SIZE + 5, "preadv"), (BLOCK_SIZE - 1, "pread")])
async def test_a_read_that_fails_mid_stream_is_the_error_raised_after_the_bytes_before_it(tmp_path, monkeypatch,
                                                                                           size, call):
    store = LocalBlobStore(tmp_path)
    data = unrepeated(size)
    await store.put("storage/i/failing", in_pieces(data))
    await store.put("warm/up", from_bytes(b"x"))
    before = open_descriptors()
    real = getattr(os, call)
    calls = []

    def failing(fd, *arguments):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.EIO, "Input/output error")
        return real(fd, *arguments)

    monkeypatch.setattr(os, call, failing)
    received = []
    with pytest.raises(OSError) as raised:
        async for chunk in await store.get("storage/i/failing", chunk_size=MEGABYTE):
            received.append(chunk)
    assert raised.value.errno == errno.EIO
    assert b"".join(received) == data[:2 * MEGABYTE]  # the two chunks read before the failing one, in order
    assert open_descriptors() == before


async def test_the_md5_goes_on_through_the_next_blocks_while_a_write_is_slow_and_the_bytes_are_written_in_order():
    release = threading.Event()
    written: list[bytes] = []

    def slow_write(chunk: bytes) -> None:
        release.wait()  # the disk is slow: the first write takes until the test says
        written.append(chunk)

    checksums = Checksums(write=slow_write)
    data = unrepeated(blobs.BLOCKS_IN_FLIGHT * BLOCK_SIZE + 5)
    in_flight = data[:blobs.BLOCKS_IN_FLIGHT * BLOCK_SIZE]
    try:
        async for piece in in_pieces(in_flight, MEGABYTE):
            await checksums.add(piece)  # returns at once: the blocks are in the threads
        expected = hashlib.md5(in_flight, usedforsecurity=False).hexdigest()
        for _ in range(500):
            if checksums.md5 == expected:
                break
            await asyncio.sleep(0.01)
        assert checksums.md5 == expected and written == []  # every block hashed, none written yet
    finally:
        release.set()
    await checksums.add(data[len(in_flight):])
    await checksums.finish()
    assert b"".join(written) == data and checksums.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()


async def test_a_write_that_fails_is_the_error_raised_and_no_thread_works_on_after_abandon():
    calls: list[int] = []

    def failing_write(chunk: bytes) -> None:
        calls.append(len(chunk))
        if sum(calls) > BLOCK_SIZE:
            raise OSError(errno.ENOSPC, "No space left on device")

    checksums = Checksums(write=failing_write)
    with pytest.raises(OSError) as raised:
        async for piece in in_pieces(unrepeated(6 * BLOCK_SIZE)):
            await checksums.add(piece)
        await checksums.finish()
    assert raised.value.errno == errno.ENOSPC
    await checksums.abandon()
    written = len(calls)
    await asyncio.sleep(0)
    assert len(calls) == written and sum(calls) <= 2 * BLOCK_SIZE  # no write after the failing block's
