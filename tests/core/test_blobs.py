"""The blob store, one suite for both implementations: the local folder and S3, the latter against a real
S3-compatible server (moto's, on a loopback port)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer

from felles.core.blobs import CHUNK_SIZE, BlobNotFound, BlobStore, LocalBlobStore, from_bytes, open_blob_store
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
    stored = await store.put("storage/instance-1/data-1", twenty_megabytes())
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
    stored = await store.put("empty/1", from_bytes(b""))
    assert stored.size == 0 and stored.sha256 == hashlib.sha256(b"").hexdigest()
    stream = await store.get("empty/1", start=0, end=10)
    assert stream.size == 0 and (await read_all(stream))[0] == b""


async def test_a_caller_may_ask_for_the_md5_only(store):
    stored = await store.put("broker/transfer-1/part-0", twenty_megabytes(), sha256=False)
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
