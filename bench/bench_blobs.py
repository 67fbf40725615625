"""The blob store and the PDF renderer: throughput and peak memory of streaming a large blob in and out of the
local folder and of an S3-compatible server (moto's, on loopback), and the time to render a receipt.

    .venv/bin/python bench/bench_blobs.py [--megabytes 200] [--receipts 20]

Peak memory is Python's heap (tracemalloc) during each run: it stays near the chunk size whatever the blob's
size, which is the point (a store that held the blob would show it). obstore's own buffers (Rust; a multipart
upload holds up to 5 MB parts, 12 at a time) are not counted. CPU is this process's, all its threads, per GiB
(moto's server is a process of its own); it is less moved by other work on the machine than the speeds.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from felles.core.blobs import BlobStore, open_blob_store
from felles.core.config import BlobStoreKind, Environment, Settings
from felles.core.pdf import Document, Fields, PdfRenderer, Section, Table

MEGABYTE = 1024 * 1024


async def megabytes(count: int) -> AsyncIterator[bytes]:
    chunk = bytes(range(256)) * (MEGABYTE // 256)
    for _ in range(count):
        yield chunk


async def measure(name: str, store: BlobStore, size: int) -> None:
    tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    stored = await store.put("bench/blob", megabytes(size))
    written, cpu_in = time.perf_counter() - started, time.process_time() - cpu_started
    _, peak_in = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    read = sum([len(chunk) async for chunk in await store.get("bench/blob")])
    elapsed, cpu_out = time.perf_counter() - started, time.process_time() - cpu_started
    _, peak_out = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert read == stored.size == size * MEGABYTE
    gigabytes = size / 1024
    print(f"{name:6} put {size / written:8.1f} MB/s (peak {peak_in / MEGABYTE:5.1f} MB, "
          f"CPU {cpu_in / gigabytes:.2f} s/GiB)   get {size / elapsed:8.1f} MB/s "
          f"(peak {peak_out / MEGABYTE:5.1f} MB, CPU {cpu_out / gigabytes:.2f} s/GiB)")
    await store.delete("bench/blob")


async def receipts(folder: Path, count: int) -> None:
    renderer = PdfRenderer(folder / "fonts")
    started = time.perf_counter()
    await renderer.document(Document(title="Oppvarming", sections=[]))
    print(f"fonts made once in {time.perf_counter() - started:.1f} s")
    receipt = Document(title="Kvittering", sections=[Section("Innsending", [
        Fields([("Innsendt av", "Kari Nordmann"), ("Tidspunkt", "04.12.2026 13:00")]),
        Table(["Vedlegg", "Størrelse"], [[f"vedlegg-{n}.pdf", f"{n} kB"] for n in range(40)])])])
    started = time.perf_counter()
    for _ in range(count):
        await renderer.document(receipt)
    print(f"receipt (2 pages) {1000 * (time.perf_counter() - started) / count:.0f} ms each")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--receipts", type=int, default=20)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(environment=Environment.TEST, data_dir=Path(folder), secret_key="k" * 40)
        await measure("local", open_blob_store(settings), arguments.megabytes)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # Its own process, so that the server's memory (moto keeps objects in memory) is not counted.
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            endpoint = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient() as http:  # S3 clients do not make buckets; the operator does
                for _ in range(100):
                    try:
                        (await http.put(f"{endpoint}/bench")).raise_for_status()
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.1)
            s3 = settings.model_copy(update={"blob_store": BlobStoreKind.S3, "s3_endpoint": endpoint,
                                             "s3_bucket": "bench", "s3_access_key_id": "bench",
                                             "s3_secret_access_key": "bench"})
            await measure("s3", open_blob_store(s3), arguments.megabytes)
        finally:
            server.terminate()
            await server.wait()
        await receipts(Path(folder), arguments.receipts)


if __name__ == "__main__":
    asyncio.run(main())
