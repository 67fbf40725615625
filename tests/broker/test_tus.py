"""The resumable upload (TUS 1.0: core, creation, termination), checked with the tuspy client against a real
`felles serve`, including a SIGKILL of the server half-way: after the restart the upload resumes from the
offset the server kept, and no byte before it is sent again."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient

from tests.broker.conftest import API, initialize, md5, overview
from tests.conftest import felles_command_environment, free_listener

TUS = f"{API}/filetransfer/upload/tus"
TUS_HEADERS = {"Tus-Resumable": "1.0.0"}


@contextmanager
def felles_server(settings, log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`felles serve` on the test's database and data folder (so the test's tokens hold); killed at the end
    unless the test killed it first."""
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    environment = felles_command_environment(settings.data_dir, DATABASE_URL=settings.database_url,
                                             BASE_URL=settings.base_url, SECRET_KEY=settings.secret_key)
    with log.open("a") as output:
        server = subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-migrate"],
                                  env=environment, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"felles serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield server, url
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)


class CountingFile(io.BytesIO):
    """A file whose reads are counted: the bytes a client sends."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def wait_for_status(url: str, headers: dict[str, str], transfer_id: str, status: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        found = httpx.get(f"{url}{API}/filetransfer/{transfer_id}", headers=headers).json()
        if found["fileTransferStatus"] == status or time.monotonic() > deadline:
            return dict(found)
        time.sleep(0.2)


async def test_tuspy_uploads_resumably_and_the_server_survives_sigkill_at_half_way(
        client, resource, settings, sender_headers, recipient_headers, tmp_path):
    data = os.urandom(48 * 1024 * 1024)
    transfer_id = await initialize(client, sender_headers, checksum=md5(data))
    chunk = 4 * 1024 * 1024
    log = tmp_path / "serve.log"
    with felles_server(settings, log) as (server, url):
        uploader = TusClient(f"{url}{TUS}/{transfer_id}", headers=sender_headers).uploader(
            file_stream=CountingFile(data), chunk_size=chunk)
        while uploader.offset < len(data) // 2:
            uploader.upload_chunk()
        committed = uploader.offset

        # A PATCH is under way when the server dies: half of its bytes sent, the rest never.
        killed = threading.Event()

        def slow_body() -> Iterator[bytes]:
            yield data[committed:committed + chunk // 2]
            killed.wait(30)
            yield data[committed + chunk // 2:committed + chunk]

        in_flight = threading.Thread(target=lambda: _ignore_errors(lambda: httpx.patch(
            f"{url}{TUS}/{transfer_id}", content=slow_body(), timeout=60, headers={
                **sender_headers, **TUS_HEADERS, "Upload-Offset": str(committed),
                "Content-Type": "application/offset+octet-stream", "Content-Length": str(chunk)})))
        in_flight.start()
        await asyncio.sleep(1.0)
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        killed.set()
    in_flight.join(60)

    with felles_server(settings, log) as (_server, url):
        resumed_file = CountingFile(data)
        resumed = TusClient(f"{url}{TUS}/{transfer_id}", headers=sender_headers).uploader(
            file_stream=resumed_file, url=f"{url}{TUS}/{transfer_id}", chunk_size=chunk)
        offset_after_restart = resumed.offset
        resumed.upload()
        published = wait_for_status(url, sender_headers, transfer_id, "Published")
        downloaded = await asyncio.to_thread(httpx.get, f"{url}{API}/filetransfer/{transfer_id}/download",
                                             headers=recipient_headers, timeout=60)
    print(f"\nSIGKILL at {committed / len(data):.0%}: the server kept offset {offset_after_restart} of {len(data)}; "
          f"{resumed_file.bytes_read} bytes sent after the restart")
    assert offset_after_restart == committed >= len(data) // 2
    # tuspy seeks to the server's offset: only the bytes after it travel again.
    assert resumed_file.bytes_read == len(data) - offset_after_restart
    assert published["fileTransferStatus"] == "Published" and published["checksum"] == md5(data)
    assert hashlib.md5(downloaded.content, usedforsecurity=False).hexdigest() == md5(data)


def _ignore_errors(call) -> None:
    try:
        call()
    except httpx.TransportError:
        pass  # the server was killed under it


async def test_creation_offset_and_termination_at_the_protocol_level(client, database, resource, sender_headers):
    transfer_id = await initialize(client, sender_headers)
    url = f"{TUS}/{transfer_id}"
    options = await client.options(url)
    assert options.status_code == 204 and "creation" in options.headers["tus-extension"]
    created = await client.post(url, headers={**sender_headers, **TUS_HEADERS, "Upload-Length": "10"})
    assert created.status_code == 201 and created.headers["location"].endswith(url)
    head = await client.head(url, headers={**sender_headers, **TUS_HEADERS})
    assert head.headers["upload-offset"] == "0" and head.headers["upload-length"] == "10"
    patch_headers = {**sender_headers, **TUS_HEADERS, "Content-Type": "application/offset+octet-stream"}
    first = await client.patch(url, content=b"01234", headers={**patch_headers, "Upload-Offset": "0"})
    assert first.status_code == 204 and first.headers["upload-offset"] == "5"
    stale = await client.patch(url, content=b"56789", headers={**patch_headers, "Upload-Offset": "0"})
    assert stale.status_code == 409 and stale.json()["code"] == "offset_mismatch"
    terminated = await client.delete(url, headers={**sender_headers, **TUS_HEADERS})
    assert terminated.status_code == 204
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Cancelled"
    after = await client.patch(url, content=b"56789", headers={**patch_headers, "Upload-Offset": "5"})
    assert after.status_code == 404


async def test_a_completed_tus_upload_is_processed_then_published(client, database, resource, sender_headers,
                                                                   recipient_headers, job_settings):
    from felles.core.jobs import Worker

    transfer_id = await initialize(client, sender_headers)
    url = f"{TUS}/{transfer_id}"
    await client.post(url, headers={**sender_headers, **TUS_HEADERS, "Upload-Length": "6"})
    await client.patch(url, content=b"hei du", headers={**sender_headers, **TUS_HEADERS, "Upload-Offset": "0",
                                                         "Content-Type": "application/offset+octet-stream"})
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "UploadProcessing"
    await Worker(database).run_until_idle()
    published = await overview(client, recipient_headers, transfer_id)
    assert published["fileTransferStatus"] == "Published" and published["checksum"] == md5(b"hei du")
    assert (await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=recipient_headers)).content == \
        b"hei du"


async def test_tus_requests_without_the_protocol_header_or_content_type_are_refused(client, resource,
                                                                                    sender_headers):
    transfer_id = await initialize(client, sender_headers)
    url = f"{TUS}/{transfer_id}"
    no_version = await client.post(url, headers={**sender_headers, "Upload-Length": "10"})
    assert no_version.status_code == 412 and no_version.headers["tus-version"] == "1.0.0"
    await client.post(url, headers={**sender_headers, **TUS_HEADERS, "Upload-Length": "10"})
    wrong_type = await client.patch(url, content=b"01234", headers={
        **sender_headers, **TUS_HEADERS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"})
    assert wrong_type.status_code == 415
    bad_offset = await client.patch(url, content=b"01234", headers={
        **sender_headers, **TUS_HEADERS, "Upload-Offset": "minus", "Content-Type": "application/offset+octet-stream"})
    assert bad_offset.status_code == 400 and bad_offset.json()["code"] == "invalid_upload_offset"
    too_much = await client.patch(url, content=b"0123456789A", headers={
        **sender_headers, **TUS_HEADERS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert too_much.status_code == 413
    head = await client.head(url, headers={**sender_headers, **TUS_HEADERS})
    assert head.headers["upload-offset"] == "0"


async def test_parts_larger_than_a_block_at_unaligned_offsets_download_byte_exact_by_any_range(
        client, database, resource, sender_headers, recipient_headers, job_settings, monkeypatch):
    from felles.broker import service_files
    from felles.core.blobs import BLOCK_SIZE
    from felles.core.jobs import Worker

    part = BLOCK_SIZE + 4097  # each part is written past the page cache, and ends off every alignment unit
    monkeypatch.setattr(service_files, "PART_SIZE", part)
    data = random.Random(16).randbytes(2 * part + 5000)
    transfer_id = await initialize(client, sender_headers, checksum=md5(data))
    url = f"{TUS}/{transfer_id}"
    await client.post(url, headers={**sender_headers, **TUS_HEADERS, "Upload-Length": str(len(data))})
    middle = BLOCK_SIZE + 123  # the second PATCH, and so every part after it, starts at an unaligned offset
    for start, end in ((0, middle), (middle, len(data))):
        patched = await client.patch(url, content=data[start:end], headers={
            **sender_headers, **TUS_HEADERS, "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream"})
        assert patched.status_code == 204 and patched.headers["upload-offset"] == str(end)
    await Worker(database).run_until_idle()
    published = await overview(client, recipient_headers, transfer_id)
    assert published["fileTransferStatus"] == "Published" and published["checksum"] == md5(data)
    download = f"{API}/filetransfer/{transfer_id}/download"
    assert (await client.get(download, headers=recipient_headers)).content == data
    for first, last in ((1, part + 1), (middle - 3, len(data) - 2), (4095, 2 * part + 7), (middle, middle),
                        (middle + part - 1, middle + part)):
        ranged = await client.get(download, headers={**recipient_headers, "Range": f"bytes={first}-{last}"})
        assert ranged.status_code == 206 and ranged.content == data[first:last + 1], (first, last)
