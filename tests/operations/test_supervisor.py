"""`felles serve --workers N` under fire: one server process is killed (SIGKILL) while clients submit and jobs
run; the supervisor restarts it and releases its jobs, so no submission and no job is lost, and clients see at
most requests they had to retry. SIGTERM lets requests and jobs in flight finish."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from felles.core.jobs import Job, JobStatus, enqueue
from felles.events.models import CloudEventRecord
from felles.events.service import PUBLISH_ADMIN_SCOPE
from tests.conftest import POSTGRES_URL, bearer, felles_command_environment, free_listener, wait_until_ready
from tests.operations.job_handlers_for_supervisor import PLUGIN_MODULE

EVENTS = "/events/api/v1/events"
APP_BUILDS = "tests.operations.app_builds_for_supervisor"  # writes data_dir/app-builds.txt
PUBLISHER = "974761076"
# SQLite has one writer per file: several processes writing at once would meet "database is locked" instead of
# the in-process write gate that serializes one process's writers. Felles runs one process on SQLite.
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="several server processes need PostgreSQL (SQLite "
                                    "serializes writers within one process only)")


@contextmanager
def felles_serve(settings, log: Path, *arguments: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`felles serve ARGUMENTS` on the test's database and data folder (the test's tokens hold), with the
    supervisor tests' job handler and app-build recorder loaded; stopped at the end unless the test stopped it."""
    with free_listener() as probe:
        port = probe.getsockname()[1]
    environment = felles_command_environment(settings.data_dir, DATABASE_URL=settings.database_url,
                                             BASE_URL=settings.base_url, SECRET_KEY=settings.secret_key,
                                             PLUGIN_MODULES=f'["{PLUGIN_MODULE}", "{APP_BUILDS}"]',
                                             WORKER_POLL_SECONDS="0.2")
    with log.open("a") as output:
        server = subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-migrate",
                                   *arguments], env=environment, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, server, log)
        yield server, url
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(60)


def cloud_event(number: int) -> dict:
    return {"id": f"submission-{number}", "specversion": "1.0", "source": "https://kommune.example/soknad",
            "type": "no.kommune.soknad.mottatt", "resource": "urn:altinn:resource:soknad", "data": {"n": number}}


class Submitter(threading.Thread):
    """A client that submits numbered events one after another, retrying each (same id, so at most once stored)
    until the platform says 200, and remembers every failed attempt it had to retry."""

    def __init__(self, url: str, headers: dict[str, str], start: int) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.number = url, headers, start
        self.accepted: list[int] = []
        self.retried: list[str] = []
        self.unexpected: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as http:
            while not self.stopping.is_set():
                while True:
                    try:
                        response = http.post(EVENTS, json=cloud_event(self.number))
                    except httpx.TransportError as exc:
                        self.retried.append(type(exc).__name__)
                        time.sleep(0.05)
                        continue
                    if response.status_code == 200:
                        break
                    if response.status_code in (502, 503):
                        self.retried.append(str(response.status_code))
                        continue
                    self.unexpected.append(f"{response.status_code} {response.text[:200]}")
                    return
                self.accepted.append(self.number)
                self.number += 1


async def count(database, query) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(query) or 0)


async def enqueue_lines(database, file: Path, numbers: range, delay: float) -> None:
    async with database.transaction() as session:
        for n in numbers:
            await enqueue(session, "ops_test.append_line", {"file": str(file), "n": n, "delay": delay})


async def wait_until_done(database, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    unfinished = select(func.count()).select_from(Job).where(Job.kind == "ops_test.append_line",
                                                             Job.status != JobStatus.SUCCEEDED)
    while await count(database, unfinished) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls the database
        await asyncio.sleep(0.2)


async def pid_running_a_job(database) -> int:
    """The process id of a server process that holds a job's lease (workers are named host:pid:…)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with database.transaction() as session:
            holder = await session.scalar(select(Job.locked_by).where(Job.status == JobStatus.RUNNING).limit(1))
        if holder:
            return int(holder.split(":")[1])
        await asyncio.sleep(0.05)
    pytest.fail("no job was leased within a minute")


@needs_postgres
async def test_killing_a_server_process_under_load_loses_no_submission_and_no_job(database, settings, token,
                                                                                  tmp_path):
    lines = tmp_path / "lines.txt"
    jobs = 60
    with felles_serve(settings, tmp_path / "serve.log", "--workers", "2") as (_server, url):
        clients = [Submitter(url, bearer(token(scopes=[PUBLISH_ADMIN_SCOPE], org=PUBLISHER)), start)
                   for start in (0, 100_000, 200_000)]
        for client in clients:
            client.start()
        await enqueue_lines(database, lines, range(jobs), delay=0.3)
        victim = await pid_running_a_job(database)
        leased_by_victim = await count(database, select(func.count()).select_from(Job).where(
            Job.status == JobStatus.RUNNING, Job.locked_by.like(f"%:{victim}:%")))
        os.kill(victim, signal.SIGKILL)
        await asyncio.sleep(8)  # the stream goes on while the supervisor restarts the process
        for client in clients:
            client.stopping.set()
        for client in clients:
            await asyncio.to_thread(client.join, 60)
        # The jobs' lease is 30 minutes: they finish within the test only because the supervisor released them.
        await wait_until_done(database, seconds=90)
        replacement = await asyncio.to_thread(httpx.get, f"{url}/health/ready")
    log = (tmp_path / "serve.log").read_text()
    assert leased_by_victim > 0
    assert f"pid={victim}" in log or str(victim) in log, log[-2000:]
    assert replacement.status_code == 200
    assert all(client.unexpected == [] for client in clients), [client.unexpected for client in clients]
    accepted = sorted(n for client in clients for n in client.accepted)
    stored = await count(database, select(func.count()).select_from(CloudEventRecord))
    assert accepted and stored == len(accepted), f"{len(accepted)} accepted, {stored} stored"
    done = [int(line) for line in lines.read_text().split()]
    assert set(done) == set(range(jobs)), f"lost jobs: {sorted(set(range(jobs)) - set(done))}"
    retried = [reason for client in clients for reason in client.retried]
    print(f"\nkilled pid {victim} holding {leased_by_victim} leases: {len(accepted)} submissions stored once, "
          f"{len(retried)} retried requests ({sorted(set(retried))}), {jobs} jobs done, "
          f"{len(done) - jobs} run twice (at-least-once)")


def server_processes(supervisor: int) -> set[int]:
    """The supervisor's server processes: its children but multiprocessing's resource tracker."""
    servers = set()
    for task in Path(f"/proc/{supervisor}/task").iterdir():
        for pid in map(int, (task / "children").read_text().split()):
            with suppress(OSError):  # gone meanwhile
                if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text():
                    servers.add(pid)
    return servers


async def test_a_killed_process_is_replaced_without_building_the_app_again(settings, tmp_path):
    # A replacement that imported and built Felles anew was not ready for 16-21 s at load 5-7 on two cores; had
    # the other process died meanwhile, requests waited on the socket with no process to accept them.
    log, builds = tmp_path / "serve.log", settings.data_dir / "app-builds.txt"
    earlier = builds.read_text().split() if builds.exists() else []  # the session's other servers
    with felles_serve(settings, log, "--workers", "2") as (server, url):
        first = server_processes(server.pid)
        for victim in sorted(first):  # one after the other: in the end only replacements are left to answer
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while victim in server_processes(server.pid) or len(server_processes(server.pid)) < 2:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                await asyncio.sleep(0.05)
        await asyncio.to_thread(wait_until_ready, url, server, log)
        replacements = server_processes(server.pid)
    assert len(first) == 2 and len(replacements) == 2 and not first & replacements
    built_by = builds.read_text().split()[len(earlier):]
    assert built_by == [str(server.pid)], "a server process built the app itself instead of the supervisor's"


async def test_sigterm_lets_the_jobs_in_flight_finish(database, settings, tmp_path):
    lines = tmp_path / "lines.txt"
    with felles_serve(settings, tmp_path / "serve.log") as (server, _url):
        await enqueue_lines(database, lines, range(3), delay=3)
        await pid_running_a_job(database)
        server.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(server.wait, 60)
    running = await count(database, select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING))
    # uvicorn shuts down gracefully, then ends with the signal it was sent.
    assert exit_code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    assert running == 0, "a job was abandoned mid-run"
    assert lines.exists() and lines.read_text().split(), "the job in flight did not finish"


@needs_postgres
async def test_sigterm_lets_a_request_in_flight_finish_on_every_process(database, settings, token, tmp_path):
    with felles_serve(settings, tmp_path / "serve.log", "--workers", "2") as (server, url):
        def slowly_sent_body() -> Iterator[bytes]:
            body = httpx.Request("POST", url, json=cloud_event(1)).content
            yield body[:10]
            server.send_signal(signal.SIGTERM)  # the request is in flight now: its body is half sent
            time.sleep(1.5)
            yield body[10:]

        headers = {**bearer(token(scopes=[PUBLISH_ADMIN_SCOPE], org=PUBLISHER)), "Content-Type": "application/json"}
        response = await asyncio.to_thread(httpx.post, f"{url}{EVENTS}", content=slowly_sent_body(),
                                           headers=headers, timeout=30)
        exit_code = await asyncio.to_thread(server.wait, 60)
    assert response.status_code == 200 and response.json() == "submission-1"
    assert exit_code == 0


async def test_the_jobs_of_a_dead_process_are_released_and_no_others(database, tmp_path):
    from felles.core.jobs import Worker, release_jobs_of_process

    await enqueue_lines(database, tmp_path / "lines.txt", range(4), delay=0)
    dead, alive = Worker(database), Worker(database)
    dead.name, alive.name = "host-a:123:x", "host-a:1234:y"  # a pid that is a prefix of another must not match
    assert len(await dead.claim(2)) == 2 and len(await alive.claim(2)) == 2
    async with database.transaction() as session:
        released = await release_jobs_of_process(session, "host-a", 123)
    async with database.transaction() as session:
        states = sorted((job.locked_by or "-", job.status) for job in await session.scalars(
            select(Job).where(Job.kind == "ops_test.append_line")))
    assert released == 2
    assert states == [("-", "pending"), ("-", "pending"), ("host-a:1234:y", "running"), ("host-a:1234:y", "running")]
