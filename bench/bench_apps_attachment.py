"""A large attachment up and down through the app API (`POST …/data/type/{dataType}`, `GET …/data/{id}`) of a
real `felles serve` process, against `dd` writing and reading the same number of bytes on the same disk in the
same run, and the server's memory while it streams.

    .venv/bin/python bench/bench_apps_attachment.py [--megabytes 100] [--rounds 2]

Uses a fresh SQLite database in a temporary folder (or FELLES_BENCH_DATABASE_URL: a PostgreSQL database whose name
contains "bench", emptied first). The client is curl, so that the figures are the server's. The upload is fsynced by
the blob store before its row commits, so `dd` writes with `conv=fsync` too; `dd` reads with `iflag=direct`, the
disk's own speed (the download may come from the page cache). curl downloads into /dev/null (writing 100 MB into the
page cache would cost the client ~0.2 s of CPU on the same 2 cores, more than the download itself); each download is
then fetched again, untimed, into md5sum to check its bytes. Memory is the server's resident set
(`/proc/<pid>/status`): its growth from before the first upload to the peak (VmHWM) after the last download; the
target is under 50 MB whatever the file's size (the file is never held in memory). The fixed cost of a request
(the same upload and download of 4 bytes, median of 5) is printed too: at 100 MB it is a part of every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from felles.apps import deployment
from felles.apps.definition import load_app
from felles.apps.process import ProcessEngine
from felles.authorization import service as authorization
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.registers.population import seed_demo_personas
from felles.storage import service as storage
from harness import REPO, bench_settings, cpu_seconds, fresh_database, load_average, memory_kb, served

MEGABYTE = 1024 * 1024
KARI = "12838404268"
TESTAPP = REPO.parent / "shared/reference/altinn-app-api/testapp-basic/App"


def app_folder(target: Path) -> Path:
    """testapp-basic as ttd/bench-attachments, with a data type that takes files of any size and type."""
    shutil.copytree(TESTAPP, target / "App")
    metadata_file = target / "App/config/applicationmetadata.json"
    metadata = json.loads(metadata_file.read_text(encoding="utf-8-sig"))
    metadata["id"] = "ttd/bench-attachments"
    metadata["partyTypesAllowed"] = {"person": True}
    metadata["dataTypes"].append({"id": "large", "allowedContentTypes": [], "maxCount": 0, "minCount": 0,
                                  "taskId": "Task_1"})
    metadata_file.write_text(json.dumps(metadata))
    policy = target / "App/config/authorization/policy.xml"
    policy.write_text(policy.read_text(encoding="utf-8-sig").replace("[ORG]", "ttd").replace("[APP]",
                                                                                          "bench-attachments"))
    return target


async def prepare(settings: Settings) -> tuple[int, uuid.UUID]:
    database = Database(settings.database_url)
    try:
        await seed_demo_personas(database)
        folder = app_folder(settings.data_dir / "app")
        await deployment.deploy_folder(database, folder, "bench")
        definition = load_app(folder)
        assert definition.process is not None
        started = ProcessEngine(definition.process).start(utcnow(), lambda *_: True)
        party = await authorization.party_of(database, KARI)
        async with database.transaction() as session:
            instance = await storage.create_instance_in_transaction(
                session, app_id="ttd/bench-attachments", app_version=1,
                owner=storage.Owner(party.party_id, KARI), process=started.state, actor="bench")
        return party.party_id, instance.id
    finally:
        await database.dispose()


def dd(folder: Path, megabytes: int) -> tuple[float, float]:
    """Seconds for dd to write (fsynced) and to read (from the disk, not its cache) `megabytes` on the folder's
    disk."""
    target = folder / "dd.bin"
    started = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={megabytes}", "conv=fsync"],
                   check=True, capture_output=True)
    written = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(["dd", f"if={target}", "of=/dev/null", "bs=1M", "iflag=direct"], check=True, capture_output=True)
    read = time.perf_counter() - started
    target.unlink()
    return written, read


async def curl(*arguments: str) -> tuple[float, str]:
    """Run curl (a client in C: the figures are the server's, not a Python client's); seconds and its output."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec("curl", "-sS", "--fail-with-body", *arguments,
                                                   stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"curl failed: {output[:500]!r}")
    return seconds, output.decode()


async def downloaded_md5(url: str, token: str) -> str:
    """The MD5 of a download, fetched (untimed) through md5sum."""
    process = await asyncio.create_subprocess_shell(
        f"curl -sS --fail -H 'Authorization: Bearer {token}' '{url}' | md5sum", stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()
    return output.decode().split()[0]


async def fixed_cost(path: str, token: str, folder: Path) -> tuple[float, float]:
    """Seconds (median of 5) of uploading and of downloading 4 bytes: what a request costs besides its bytes."""
    tiny = folder / "tiny.bin"
    tiny.write_bytes(b"tiny")
    ups, downs = [], []
    for _ in range(5):
        seconds, output = await curl(
            "-X", "POST", f"{path}/type/large", "--data-binary", f"@{tiny}", "-H", f"Authorization: Bearer {token}",
            "-H", "Content-Type: application/octet-stream", "-H", 'Content-Disposition: attachment; filename="t.bin"')
        ups.append(seconds)
        seconds, _ = await curl(f"{path}/{json.loads(output)['newDataElementId']}",
                                "-H", f"Authorization: Bearer {token}", "-o", "/dev/null")
        downs.append(seconds)
    return statistics.median(ups), statistics.median(downs)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    size = arguments.megabytes
    load_at_start = load_average()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        settings = bench_settings(folder, await fresh_database(os.environ.get("FELLES_BENCH_DATABASE_URL"), folder))
        party_id, instance_id = await prepare(settings)
        token = mint_development_token(PlatformKeys.load(settings), settings, person_identifier=KARI, scopes=[],
                                       authentication_level=3, lifetime_seconds=3600)
        async with served(settings) as (server, base):
            path = f"{base}/ttd/bench-attachments/instances/{party_id}/{instance_id}/data"
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(timeout=600) as http:
                # A first small upload and download: code paths warm, caches filled, before memory is read.
                warm = await http.post(f"{path}/type/large", content=b"warm", headers={
                    **headers, "Content-Type": "text/plain", "Content-Disposition": 'attachment; filename="w.txt"'})
                warm.raise_for_status()
                await http.get(f"{path}/{warm.json()['newDataElementId']}", headers=headers)
            rss_before = memory_kb(server, "VmRSS")
            source = folder / "source.bin"
            source.write_bytes(bytes(range(256)) * (MEGABYTE // 256) * size)
            checksum = hashlib.md5(source.read_bytes(), usedforsecurity=False).hexdigest()
            intact = True
            uploads, downloads = [], []
            cpu_up = cpu_down = 0.0
            for _ in range(arguments.rounds):
                cpu_before = cpu_seconds(server)
                seconds, output = await curl(
                    "-X", "POST", f"{path}/type/large", "-T", str(source),
                    "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/octet-stream",
                    "-H", 'Content-Disposition: attachment; filename="large.bin"')
                uploads.append(seconds)
                cpu_middle = cpu_seconds(server)
                cpu_up += cpu_middle - cpu_before
                element = json.loads(output)["newDataElementId"]
                seconds, _ = await curl(f"{path}/{element}", "-H", f"Authorization: Bearer {token}",
                                        "-o", "/dev/null")
                downloads.append(seconds)
                cpu_down += cpu_seconds(server) - cpu_middle
                intact = intact and await downloaded_md5(f"{path}/{element}", token) == checksum
            peak = memory_kb(server, "VmHWM")
            source.unlink()
            tiny_up, tiny_down = await fixed_cost(path, token, folder)
        dd_write, dd_read = dd(folder, size)
    up, down = size / statistics.median(uploads), size / statistics.median(downloads)
    print(f"attachment of {size} MB through the app API ({arguments.rounds} rounds, median); {load_at_start} at the "
          f"start, {load_average()} at the end")
    print(f"  upload   {up:8.1f} MB/s   dd write (fsync)  {size / dd_write:8.1f} MB/s   "
          f"ratio {up * dd_write / size:.2f}")
    print(f"  download {down:8.1f} MB/s   dd read (direct)  {size / dd_read:8.1f} MB/s   "
          f"ratio {down * dd_read / size:.2f}")
    print(f"  downloaded files' MD5 equal the source's: {intact}")
    print(f"  fixed cost of a request (4 bytes, median of 5): upload {1000 * tiny_up:.0f} ms, "
          f"download {1000 * tiny_down:.0f} ms")
    gigabytes = arguments.rounds * size / 1024
    print(f"  server CPU {cpu_up / gigabytes:.2f} s per GiB up, {cpu_down / gigabytes:.2f} down")
    print(f"  server RSS {rss_before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB: "
          f"growth {(peak - rss_before) / 1024:.1f} MB (target < 50 MB)")


if __name__ == "__main__":
    asyncio.run(main())
