"""A server killed (SIGKILL) in the middle of an upload leaves no data element pointing at missing bytes, and the
upload can be retried; bytes that no row points at (a kill between storing them and committing the row) are
removed by the sweeper once they are an hour old."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from felles.core.blobs import from_bytes, open_blob_store
from felles.core.clock import clock
from felles.storage import service as storage
from felles.storage.models import DataElement
from tests.apps.data.conftest import new_instance
from tests.conftest import free_listener

REPO = Path(__file__).resolve().parents[3]
CHUNK = b"x" * (256 * 1024)


async def test_the_sweeper_removes_old_bytes_no_row_points_at(database, settings, deployed) -> None:
    blobs = open_blob_store(settings)
    # The data folder is the session's: bytes earlier tests left (their rows emptied with their database) go first.
    clock.advance(timedelta(hours=2))
    await storage.sweep_orphaned_blobs(database, blobs)
    clock.reset()
    instance, element = await new_instance(database, settings, deployed)
    orphan = await storage.put_data_blob(blobs, instance, uuid.uuid4(), from_bytes(b"left by a killed process"))
    assert await storage.sweep_orphaned_blobs(database, blobs) == 0  # it may still be committing
    clock.advance(timedelta(hours=2))
    assert await storage.sweep_orphaned_blobs(database, blobs) == 1
    assert not await blobs.exists(orphan.key)
    async with database.transaction() as session:
        kept = await session.get(DataElement, element)
    assert await blobs.exists(kept.blob_key)  # the form data's bytes stay


def _serve(settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ, "FELLES_DATABASE_URL": settings.database_url, "FELLES_DATA_DIR": str(settings.data_dir),
        "FELLES_ENVIRONMENT": "test", "FELLES_SECRET_KEY": settings.secret_key, "FELLES_LOG_LEVEL": "WARNING",
        "FELLES_BASE_URL": settings.base_url,
        "PYTHONPATH": str(REPO),
    }
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port)],
                                env=environment, stdout=output, stderr=subprocess.STDOUT)


def _wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"felles serve did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


async def _wait_for_partial_upload(folder: Path, upload: asyncio.Task[httpx.Response]) -> None:
    """Until the server is streaming the file into the blob store (a temporary file with bytes in it)."""
    deadline = time.monotonic() + 30
    def storing() -> bool:
        return any(part.stat().st_size > 0 for part in folder.glob("*.part"))

    while not await asyncio.to_thread(storing):
        assert not upload.done(), f"the upload ended before the kill: {upload.result().text}"
        assert time.monotonic() < deadline, "the server never started storing the upload"
        await asyncio.sleep(0.05)


def _free_port() -> int:
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    return port


async def test_a_kill_during_an_upload_leaves_nothing_half_and_the_retry_succeeds(
        database, settings, deployed, kari, tmp_path) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    log = tmp_path / "serve.log"
    headers = {**kari, "Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="big.pdf"'}
    port = _free_port()
    server = _serve(settings, port, log)
    sent_enough = asyncio.Event()

    async def upload_until_killed():
        for index in range(400):  # ~100 MB if nothing stopped it; the kill lands after ~2 MB
            yield CHUNK
            if index == 8:
                sent_enough.set()
                await asyncio.sleep(2)  # the server stores what it got meanwhile; then it is killed

    try:
        await asyncio.to_thread(_wait_ready, server, port, log)
        url = f"http://127.0.0.1:{port}{deployed.path(instance)}/data/type/anything"
        async with httpx.AsyncClient(timeout=60) as http:
            upload = asyncio.create_task(http.post(url, headers=headers, content=upload_until_killed()))
            await asyncio.wait_for(sent_enough.wait(), 60)
            await _wait_for_partial_upload(settings.data_dir / "blobs" / ".uploads", upload)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            with pytest.raises(httpx.TransportError):
                await upload
    finally:
        server.kill()
        server.wait(10)

    async with database.transaction() as session:
        types = (await session.scalars(select(DataElement).where(DataElement.instance_id == instance))).all()
    blobs = open_blob_store(settings)
    assert [row.data_type for row in types] == ["model"]
    assert all([await blobs.exists(row.blob_key) for row in types])

    port = _free_port()
    server = _serve(settings, port, log)
    try:
        await asyncio.to_thread(_wait_ready, server, port, log)
        async with httpx.AsyncClient(timeout=60) as http:
            retried = await http.post(f"http://127.0.0.1:{port}{deployed.path(instance)}/data/type/anything",
                                      headers=headers, content=b"%PDF-1.4 " + CHUNK)
    finally:
        server.terminate()
        server.wait(30)
    assert retried.status_code == 200, retried.text
    async with database.transaction() as session:
        rows = (await session.scalars(select(DataElement).where(DataElement.instance_id == instance))).all()
    assert sorted(row.data_type for row in rows) == ["anything", "model"]
    assert all([await blobs.exists(row.blob_key) for row in rows])
