"""The broker under load on a real `felles serve` process: a large file up and down, against `dd` on the same disk
in the same run, with the server's memory; then many small transfers end to end, with their events delivered to
a webhook.

    .venv/bin/python bench/bench_broker.py [--gigabytes 2] [--transfers 1000] [--concurrency 16]
    .venv/bin/python bench/bench_broker.py --gigabytes 15       # the issue's 15 GB (needs ~2 × 15 GB free disk)

Uses a fresh SQLite database in a temporary folder (or FELLES_BENCH_DATABASE_URL). The large file goes through
the streamed upload (`POST …/filetransfer/{id}/upload`, MD5 checked against the sender's checksum) and the
download, both with curl streaming from and to files (a client in C: the figures are the server's); the
downloaded file's MD5 is compared with the source's. The blob store fsyncs before the upload commits, so `dd`
writes with `conv=fsync`; `dd` reads with `iflag=direct` (the disk's own speed; the download may come from the
page cache). Memory is the server's resident set from `/proc/<pid>/status`: its growth from before the upload to
the peak (VmHWM) after the download (target < 100 MB whatever the size).

The small transfers: each is initialize, upload (1 KB), download and confirm, by sender and recipient tokens of
ten Maskinporten clients each (Altinn's rate limits are per client: 120 calls a minute per endpoint). The
recipient subscribes to the resource's events first; the run ends when every transfer's `published` event has
reached the webhook. The target is 1,000 transfers a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization
from felles.authorization.decision import ORGANIZATION_ID
from felles.authorization.demo import policy_xml
from felles.core.audit import Actor
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.migrations import upgrade_async
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, seed_demo_personas

MEGABYTE = 1024 * 1024
OWNER = "405003309"  # ttd
SENDER, RECIPIENT = DEMO_ACCOUNTING_FIRM, DEMO_COMPANY
RESOURCE = "ttd-broker-bench"
API = "/broker/api/v1"
CLIENTS = 10


async def prepare(settings: Settings) -> None:
    await upgrade_async(settings.database_url)
    database = Database(settings.database_url)
    try:
        await seed_demo_personas(database)
        actor = Actor(f"organization:{OWNER}")
        await authorization.create_resource(database, actor, OWNER, authorization_schemas.ServiceResource
                                            .model_validate({"identifier": RESOURCE, "resourceType": "BrokerService",
                                                             "title": {"nb": "Bench"},
                                                             "hasCompetentAuthority": {"organization": OWNER,
                                                                                       "orgcode": "ttd"}}))
        await authorization.put_policy(database, actor, OWNER, RESOURCE, policy_xml(RESOURCE, [
            ([(ORGANIZATION_ID, SENDER), (ORGANIZATION_ID, RECIPIENT)], ["read", "write", "subscribe"])]))
    finally:
        await database.dispose()


def tokens(settings: Settings, organization: str, scopes: list[str]) -> list[str]:
    """Tokens of CLIENTS different Maskinporten clients of one organisation."""
    keys = PlatformKeys.load(settings)
    claims = keys.verify(mint_development_token(keys, settings, organization_number=organization, scopes=scopes,
                                                lifetime_seconds=7200))
    return [keys.sign({**claims, "client_id": f"bench-{organization}-{number}", "jti": f"bench-{number}"})
            for number in range(CLIENTS)]


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system), which the machine's other load does not change."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dd(folder: Path, megabytes: int) -> tuple[float, float]:
    """Seconds for dd to write (fsynced) and to read (from the disk, not its cache) `megabytes` in the folder."""
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


def write_source(path: Path, megabytes: int) -> str:
    """A file of `megabytes` that is not all zeros (no transport may shortcut it); its MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    pattern = os.urandom(MEGABYTE)
    with path.open("wb") as file:
        for number in range(megabytes):
            block = number.to_bytes(8, "big") + pattern[8:]
            digest.update(block)
            file.write(block)
    return digest.hexdigest()


async def curl(*arguments: str) -> tuple[float, str]:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec("curl", "-sS", "--fail-with-body", *arguments,
                                                   stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"curl failed: {output[:500]!r}")
    return time.perf_counter() - started, output.decode()


def initialize_body(checksum: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"fileName": "bench.bin", "resourceId": RESOURCE, "sender": f"0192:{SENDER}",
                               "recipients": [f"0192:{RECIPIENT}"]}
    if checksum:
        body["checksum"] = checksum
    return body


async def large_file(base: str, server_pid: int, folder: Path, megabytes: int, sender: str, recipient: str) -> None:
    source = folder / "source.bin"
    checksum = write_source(source, megabytes)
    async with httpx.AsyncClient(timeout=60) as http:
        # Warm: code paths and caches, before memory is read.
        warm = await http.post(f"{base}{API}/filetransfer", json=initialize_body(), headers=bearer(sender))
        warm_id = warm.json()["fileTransferId"]
        await http.post(f"{base}{API}/filetransfer/{warm_id}/upload", content=b"warm",
                        headers={**bearer(sender), "Content-Type": "application/octet-stream"})
        await http.get(f"{base}{API}/filetransfer/{warm_id}/download", headers=bearer(recipient))
        transfer_id = (await http.post(f"{base}{API}/filetransfer", json=initialize_body(checksum),
                                       headers=bearer(sender))).json()["fileTransferId"]
    rss_before = memory_kb(server_pid, "VmRSS")
    cpu_before = cpu_seconds(server_pid)
    up, _ = await curl("-X", "POST", "-T", str(source), f"{base}{API}/filetransfer/{transfer_id}/upload",
                       "-H", f"Authorization: Bearer {sender}", "-H", "Content-Type: application/octet-stream")
    cpu_up = cpu_seconds(server_pid) - cpu_before
    source.unlink()  # the disk holds the stored copy only from here (a 15 GB run needs ~2 × 15 GB, not 3 ×)
    # Timed into /dev/null (md5sum, at ~600 MB/s here, would bound the figure); then again into md5sum, untimed,
    # to check the bytes. The client writes nothing to the disk the server reads from.
    download_url = f"{base}{API}/filetransfer/{transfer_id}/download"
    down, _ = await curl(download_url, "-H", f"Authorization: Bearer {recipient}", "-o", "/dev/null")
    peak = memory_kb(server_pid, "VmHWM")
    cpu = cpu_seconds(server_pid) - cpu_before
    process = await asyncio.create_subprocess_shell(
        f"curl -sS --fail -H 'Authorization: Bearer {recipient}' '{download_url}' | md5sum",
        stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()
    intact = output.decode().split()[0] == checksum
    dd_write, dd_read = dd(folder, megabytes)
    size = megabytes
    print(f"large file, {megabytes / 1024:.1f} GiB, streamed upload (MD5 checked) and download:")
    print(f"  upload   {size / up:8.1f} MB/s   dd write (fsync)  {size / dd_write:8.1f} MB/s   "
          f"ratio {dd_write / up:.2f}")
    print(f"  download {size / down:8.1f} MB/s   dd read (direct)  {size / dd_read:8.1f} MB/s   "
          f"ratio {dd_read / down:.2f}")
    print(f"  downloaded file's MD5 equals the source's: {intact}")
    print(f"  server RSS {rss_before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB: "
          f"growth {(peak - rss_before) / 1024:.1f} MB (target < 100 MB)")
    gigabytes = megabytes / 1024
    print(f"  server CPU {cpu / gigabytes:.2f} s per GiB up and down: {cpu_up / gigabytes:.2f} up, "
          f"{(cpu - cpu_up) / gigabytes:.2f} down")


class Webhook:
    """A subscriber's endpoint: answers the validation event, counts the broker's `published` events."""

    def __init__(self, expected: int) -> None:
        self.published: dict[str, float] = {}
        self.validated = asyncio.Event()
        self.expected = expected
        self.all_published = asyncio.Event()

    async def receive(self, request: Request) -> Response:
        event = await request.json()
        if event.get("type") == "platform.events.validatesubscription":
            self.validated.set()
        elif event.get("type") == "no.altinn.broker.published":
            self.published.setdefault(event["resourceinstance"], time.perf_counter())
            if len(self.published) >= self.expected:
                self.all_published.set()
        return Response(status_code=200)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def small_transfers(base: str, server_pid: int, count: int, concurrency: int, senders: list[str],
                          recipients: list[str], subscriber: str) -> None:
    webhook = Webhook(count)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", webhook.receive, methods=["POST"])]),
                                           host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        subscribed = await http.post(f"{base}/events/api/v1/subscriptions", headers=bearer(subscriber), json={
            "endPoint": f"http://127.0.0.1:{port}/hook", "resourceFilter": f"urn:altinn:resource:{RESOURCE}",
            "typeFilter": "no.altinn.broker.published"})
        subscribed.raise_for_status()
        await asyncio.wait_for(webhook.validated.wait(), 60)
        started_at: dict[str, float] = {}
        durations: list[float] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(count):
            queue.put_nowait(number)

        async def one(number: int) -> None:
            sender, recipient = bearer(senders[number % CLIENTS]), bearer(recipients[number % CLIENTS])
            began = time.perf_counter()
            created = await http.post(f"{base}{API}/filetransfer", json=initialize_body(), headers=sender)
            created.raise_for_status()
            transfer_id = created.json()["fileTransferId"]
            started_at[transfer_id] = began
            (await http.post(f"{base}{API}/filetransfer/{transfer_id}/upload", content=os.urandom(1024),
                             headers={**sender, "Content-Type": "application/octet-stream"})).raise_for_status()
            (await http.get(f"{base}{API}/filetransfer/{transfer_id}/download", headers=recipient)).raise_for_status()
            (await http.post(f"{base}{API}/filetransfer/{transfer_id}/confirmdownload",
                             headers=recipient)).raise_for_status()
            durations.append(time.perf_counter() - began)

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        began = time.perf_counter()
        cpu_before = cpu_seconds(server_pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        api_done = time.perf_counter() - began
        try:
            await asyncio.wait_for(webhook.all_published.wait(), 300)
        except TimeoutError:
            pass  # reported below: fewer delivered than sent
        all_delivered = time.perf_counter() - began
        cpu = cpu_seconds(server_pid) - cpu_before
    server.should_exit = True
    await serving
    lags = sorted(webhook.published[key] - started_at[key] for key in webhook.published if key in started_at)
    per_minute = count / (api_done / 60)
    ordered = sorted(durations)
    print(f"small transfers: {count} (initialize, upload 1 KB, download, confirm), {concurrency} at a time:")
    print(f"  {per_minute:8.0f} transfers/minute through the API   target 1000   ratio {per_minute / 1000:.2f}")
    print(f"  one transfer p50 {1000 * statistics.median(ordered):.0f} ms, "
          f"p95 {1000 * ordered[int(len(ordered) * 0.95) - 1]:.0f} ms")
    print(f"  server CPU {1000 * cpu / count:.0f} ms per transfer (4 calls, the events' fan-out and delivery): "
          f"{60 / (cpu / count):.0f} transfers/minute per core")
    print(f"  published events delivered to the webhook: {len(webhook.published)} of {count}, the last "
          f"{all_delivered - api_done:.1f} s after the last API call; initialize-to-delivery "
          f"p50 {1000 * lags[len(lags) // 2]:.0f} ms, p95 {1000 * lags[int(len(lags) * 0.95) - 1]:.0f} ms")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                if (await http.get(f"{base}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("felles serve did not start")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=2.0, help="size of the large file (15 for the issue's)")
    parser.add_argument("--transfers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    cores, load = os.cpu_count(), os.getloadavg()
    print(f"machine: {cores} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start "
          "(other work on the machine slows every figure below)")
    with tempfile.TemporaryDirectory(dir=os.environ.get("FELLES_BENCH_DIR")) as scratch:
        folder = Path(scratch)
        url = os.environ.get("FELLES_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        settings = Settings(environment=Environment.TEST, data_dir=folder, database_url=url,
                            secret_key="bench-secret-key-not-for-production", log_json=False, log_level="WARNING")
        await prepare(settings)
        senders = tokens(settings, SENDER, ["altinn:broker.write", "altinn:broker.read"])
        recipients = tokens(settings, RECIPIENT, ["altinn:broker.read", "altinn:events.subscribe"])
        port = free_port()
        environment = {**os.environ, "FELLES_DATABASE_URL": url, "FELLES_DATA_DIR": str(folder),
                       "FELLES_ENVIRONMENT": "test", "FELLES_SECRET_KEY": settings.secret_key,
                       "FELLES_BASE_URL": settings.base_url, "FELLES_LOG_LEVEL": "WARNING"}
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-migrate", env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(base)
            if arguments.gigabytes > 0:
                await large_file(base, server.pid, folder, int(arguments.gigabytes * 1024), senders[0], recipients[0])
            if arguments.transfers > 0:
                await small_transfers(base, server.pid, arguments.transfers, arguments.concurrency, senders,
                                      recipients, recipients[0])
        finally:
            server.terminate()
            await server.wait()


if __name__ == "__main__":
    asyncio.run(main())
