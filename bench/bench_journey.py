"""Complete journeys per second (issue 17): a citizen submits an application, Skedsmo kommune's case system imports
it, decides it by the rules and answers with a letter; a journey is complete when its answer is delivered. Against
plain submissions per second measured in the same run.

    .venv/bin/python bench/bench_journey.py [--seconds 60 | --journeys N] [--citizens 8] [--workers 2]
        [--baseline-seconds 20] [--drain 60] [--keep]
        [--sqlite | --database-url postgresql+asyncpg://…/x_bench]   (or FELLES_BENCH_DATABASE_URL)

The platform runs as `make run` and production start it: `felles db upgrade`, `felles seed --demo` (a small
population: 50 persons, 10 organisations), then `felles serve --workers 2` (each process with its job worker).
The database is a PostgreSQL started here for the run (`scripts/postgres-test-server`, at PostgreSQL's default
durability, FELLES_POSTGRES_DURABLE=1) and stopped at the end; or the one `--database-url`,
FELLES_BENCH_DATABASE_URL or a PostgreSQL FELLES_DATABASE_URL names (emptied first: its name must contain
"bench"); or a SQLite file with `--sqlite`. The environment is `test`: citizens' tokens come from the platform's
test token generator, e-mail and SMS go to the platform's outboxes. Skedsmo kommune's case system runs as
`felles casesystem` in a process of its own with the key the seed wrote, on the platform's HTTP APIs only.

Each citizen — Heidi or Dag Arne, acting for their daughter Line — applies for leave from school
(`skedsmo/soknad-om-fri`: 8 school days, within the rules) again and again through the requests the app's form
makes: create the instance, read the prefilled form, three saves (a field each), validate, process/next. Then:

  submitted → imported (the `app.instance.process.completed` event to the case system's webhook; it downloads the
  instance and its form and confirms it complete) → decided by the rules → the decision letter (a PDF) sent as a
  correspondence with an e-mail and SMS notice → published → the notice sent.

A journey is complete when its correspondence is published and its notification order's e-mail is sent and its
SMS sent, or held for the daytime (09–17 Norwegian time: Altinn's default sending time for SMS) when the run is
at night. This is read from the platform's database in a read-only transaction, one query a second, not through
its APIs: the bench adds no requests to the load it measures, and each time is the platform's own (when the row
was written), not when a poll saw it. The correspondence is found by the idempotency key the case system gives
it. At the end one answer is checked through the platform's APIs as Skedsmo kommune (the correspondence's
details and its notification's shipment).

Printed: complete journeys/s in the window (beside the goal) and applications submitted; submit → answer p50 /
p95 / p99; the time each step takes; how many were pending when the window closed and after the drain; the jobs
that ran; CPU per journey of the server, the case system and the PostgreSQL started here (from /proc, so it does
not depend on the load); memory; load. The baseline, measured first, before the case system runs: plain
submissions/s by the same citizens against the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

import harness
from felles.core.clock import utcnow
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.jobs import Job, JobStatus
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.correspondence.models import Correspondence, CorrespondenceNotification
from felles.journey.demo import LEAVE_APP
from felles.journey.run import CITIZEN_SCOPES, Citizen, next_leave_dates
from felles.notifications.models import Notification
from felles.notifications.service import SMS_NEW
from felles.registers.population import JOURNEY_FAMILY, SKEDSMO
from felles.storage.models import Instance

GOAL = 10.0  # complete journeys a second (issue 17)
REQUESTS_PER_SUBMISSION = 7  # create, read the prefilled form, 3 saves, validate, process/next
SMALL_POPULATION = ("--persons", "50", "--orgs", "10", "--seed", "1")
POSTGRES = harness.REPO / "scripts" / "postgres-test-server"
SENT = ("Email_Succeeded", "Email_Delivered", "SMS_Accepted", "SMS_Delivered")
REASON = "Besøk hos besteforeldre i Tromsø."
POLL_SECONDS = 1.0


# --- the processes ----------------------------------------------------------------------------------------------
async def finished(*command: str, environment: dict[str, str]) -> str:
    """A command to its end (killed if the bench is stopped first); its output."""
    process = await asyncio.create_subprocess_exec(*command, env=environment, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{output.decode()}")
    return output.decode()


async def felles(settings: Settings, *arguments: str) -> str:
    return await finished(sys.executable, "-m", "felles.cli", *arguments,
                          environment=harness.felles_environment(settings))


@contextlib.asynccontextmanager
async def own_postgres() -> AsyncIterator[tuple[str, int]]:
    """A PostgreSQL of the run's own, at its default durability: its URL and the postmaster's process id; stopped
    and removed afterwards. Its folder is outside the bench's scratch folder, which its owner (postgres) may not
    enter."""
    folder = Path(tempfile.gettempdir()) / f"felles-bench-journey-pg-{os.getpid()}"
    try:
        url = await finished(str(POSTGRES), "start", str(folder), str(harness.free_port()),
                             environment={**os.environ, "FELLES_POSTGRES_DURABLE": "1"})
        postmaster = await asyncio.to_thread((folder / "postmaster.pid").read_text)
        yield url.split()[-1], int(postmaster.split()[0])
    finally:
        with contextlib.suppress(SystemExit):
            await finished(str(POSTGRES), "stop", str(folder), environment=dict(os.environ))
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def case_system(settings: Settings, base: str, log: Path) -> AsyncIterator[int]:
    """`felles casesystem` in its own process against the platform at `base`, once it has subscribed to the apps'
    events; its process id. Stopped (SIGTERM) afterwards."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "felles.cli", "casesystem", "--base-url", base, "--port",
            str(harness.free_port()), env=harness.felles_environment(settings), stdout=output,
            stderr=asyncio.subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "subscribed" not in (said := await asyncio.to_thread(log.read_text)):
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"felles casesystem did not start:\n{said}")
            await asyncio.sleep(0.2)
        yield process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def memory_mb(pid: int, field_name: str) -> float:
    """A memory figure (VmRSS, VmHWM) of a process and its descendants together, in MB."""
    total = 0
    for each in harness.process_tree(pid):
        with contextlib.suppress(OSError, LookupError):
            total += harness.memory_kb(each, field_name)
    return total / 1024


# --- the citizens -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parent:
    identifier: str
    headers: dict[str, str]
    party: int  # Line's party, whom the parent acts for


@dataclass(frozen=True)
class Submitted:
    instance_id: str  # {partyId}/{guid}
    at: float  # when the citizen had the answer to process/next (time.time())
    took: float  # the seconds its seven requests took


async def parents(http: httpx.AsyncClient, settings: Settings, lifetime: int) -> list[Parent]:
    """Heidi and Dag Arne with their tokens (as a TestID login gives them) and Line's party."""
    keys = PlatformKeys.load(settings)
    found = []
    for person in (JOURNEY_FAMILY.heidi, JOURNEY_FAMILY.dag_arne):
        token = mint_development_token(keys, settings, person_identifier=person.identifier, scopes=CITIZEN_SCOPES,
                                       lifetime_seconds=lifetime)
        party = await Citizen(http, token).party_of(LEAVE_APP, JOURNEY_FAMILY.line.given)
        found.append(Parent(person.identifier, {"Authorization": f"Bearer {token}"}, party))
    return found


def ok(response: httpx.Response) -> httpx.Response:
    """The response, unless it is an error: then its problem's text is in the exception."""
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                           f"{response.text[:500]}")
    return response


async def apply(http: httpx.AsyncClient, parent: Parent) -> Submitted:
    """One application for leave, through the requests the app's form makes."""
    started = time.perf_counter()
    created = ok(await http.post(f"/{LEAVE_APP}/instances/create", headers=parent.headers,
                                 json={"instanceOwner": {"partyId": str(parent.party)}})).json()
    path = f"/{LEAVE_APP}/instances/{created['id']}"
    element = next(e for e in created["data"] if e["dataType"] == "permisjon")
    data = f"{path}/data/{element['id']}"
    form = ok(await http.get(data, headers=parent.headers)).json()
    first, last = next_leave_dates(utcnow().date())
    for answer in ({"FraDato": first.isoformat()}, {"TilDato": last.isoformat()}, {"Begrunnelse": REASON}):
        form = {**form, **answer}
        ok(await http.put(data, headers=parent.headers, json=form))
    issues = ok(await http.get(f"{path}/validate", headers=parent.headers)).json()
    assert not [issue for issue in issues if issue.get("severity") == 1], issues
    moved = ok(await http.put(f"{path}/process/next", headers=parent.headers)).json()
    assert moved.get("endEvent"), moved
    return Submitted(str(created["id"]), time.time(), time.perf_counter() - started)


async def applications(base: str, family: list[Parent], citizens: int, *, seconds: float | None, count: int | None,
                       into: list[Submitted]) -> float:
    """`citizens` at a time apply, one application after another, for `seconds` or until `count` are in; each
    added to `into` as it is submitted. The seconds it took. A client of their own: connections kept alive from an
    earlier phase may have been closed by the server (idle for more than uvicorn's 5 s) just as one is reused."""
    limits = httpx.Limits(max_connections=citizens, max_keepalive_connections=citizens)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        started = time.monotonic()
        deadline = started + seconds if seconds is not None else float("inf")
        numbers = itertools.count()

        async def citizen(number: int) -> None:
            parent = family[number % len(family)]
            while time.monotonic() < deadline and (count is None or next(numbers) < count):
                into.append(await apply(http, parent))

        await asyncio.gather(*(citizen(number) for number in range(citizens)))
        return time.monotonic() - started


# --- the answers, read from the platform's database -------------------------------------------------------------
@dataclass
class Answer:
    correspondence_id: uuid.UUID
    sent: datetime  # the correspondence created (the case system's upload)
    published: datetime
    delivered: datetime  # the last of: published, the e-mail sent, the SMS sent (or held for the daytime)
    sms_held: bool


@contextlib.asynccontextmanager
async def read_only(reader: Database) -> AsyncIterator[AsyncSession]:
    async with reader.transaction() as session:
        await session.execute(text("PRAGMA query_only = ON" if reader.is_sqlite else "SET TRANSACTION READ ONLY"))
        yield session


def answer_key(instance_id: str) -> uuid.UUID:
    """The idempotency key the case system sends an instance's answer with (casesystem/service.py)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"skedsmo-answer/{instance_id}")


class Notice(NamedTuple):
    """One notification of an answer's order, with its correspondence."""

    correspondence_id: uuid.UUID
    sent: datetime
    published: datetime | None  # never None here: only published correspondences are read
    channel: str
    status: str
    at: datetime  # its status's time
    send_after: datetime

    @property
    def held(self) -> bool:
        """An SMS waiting for the daytime."""
        return self.channel == "sms" and self.status == SMS_NEW and self.send_after > self.at + timedelta(seconds=1)


async def delivered_answers(reader: Database, instance_ids: list[str]) -> dict[str, Answer]:
    """The answers among these instances' that are delivered."""
    keys: dict[uuid.UUID | None, str] = {answer_key(instance_id): instance_id for instance_id in instance_ids}
    found: dict[uuid.UUID | None, list[Notice]] = defaultdict(list)
    chunk = list(keys)
    async with read_only(reader) as session:
        for start in range(0, len(chunk), 500):
            for row in await session.execute(
                    select(Correspondence.idempotent_key, Correspondence.id, Correspondence.created_at,
                           Correspondence.published_at, Notification.channel, Notification.status,
                           Notification.status_at, Notification.send_after)
                    .join(CorrespondenceNotification, CorrespondenceNotification.correspondence_id == Correspondence.id)
                    .join(Notification, Notification.order_id == CorrespondenceNotification.shipment_id)
                    .where(Correspondence.sender == SKEDSMO, Correspondence.published_at.is_not(None),
                           Correspondence.idempotent_key.in_(chunk[start:start + 500]))):
                found[row[0]].append(Notice(*row[1:]))
    answers = {}
    for key, notices in found.items():
        first = notices[0]
        if first.published is not None and all(notice.status in SENT or notice.held for notice in notices):
            answers[keys[key]] = Answer(first.correspondence_id, first.sent, first.published,
                                        max([first.published, *(notice.at for notice in notices)]),
                                        any(notice.held for notice in notices))
    return answers


async def watch(reader: Database, submitted: list[Submitted], answers: dict[str, Answer],
                applied: asyncio.Event) -> None:
    """Once a second, the answers delivered among those not yet seen; done when every application is in (`applied`)
    and answered."""
    while True:
        pending = [s.instance_id for s in submitted if s.instance_id not in answers]
        if pending:
            answers.update(await delivered_answers(reader, pending))
        elif applied.is_set():
            return
        await asyncio.sleep(POLL_SECONDS)


async def jobs_due(reader: Database) -> int:
    async with read_only(reader) as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(
            Job.status.in_([JobStatus.PENDING, JobStatus.RUNNING]), Job.run_at <= utcnow())) or 0)


async def settle(reader: Database, seconds: float = 120) -> float:
    """Until no job is due (the platform has done the baseline's follow-up work); the seconds it took."""
    started = time.monotonic()
    while await jobs_due(reader) and time.monotonic() - started < seconds:  # noqa: ASYNC110 - polls the database
        await asyncio.sleep(0.5)
    return time.monotonic() - started


# --- the report -------------------------------------------------------------------------------------------------
def seconds_line(samples: list[float]) -> str:
    return "   ".join(f"p{q} {harness.percentile(samples, q):6.2f} s" for q in (50, 95, 99))


async def steps(reader: Database, submitted: list[Submitted], answers: dict[str, Answer]) -> None:
    """Where the time of a delivered journey goes, from the rows' own times."""
    instances = {s.instance_id.split("/")[1]: s.instance_id for s in submitted if s.instance_id in answers}
    imported: dict[str, tuple[datetime, datetime]] = {}
    async with read_only(reader) as session:
        guids = [uuid.UUID(guid) for guid in instances]
        for start in range(0, len(guids), 500):
            for guid, ended, confirmations in await session.execute(
                    select(Instance.id, Instance.process_ended_at, Instance.complete_confirmations)
                    .where(Instance.id.in_(guids[start:start + 500]))):
                if ended is not None and confirmations:
                    confirmed = datetime.fromisoformat(confirmations[0]["confirmedOn"])
                    imported[instances[str(guid)]] = (ended, confirmed.astimezone(UTC))
    parts: dict[str, list[float]] = defaultdict(list)
    for instance_id, (ended, confirmed) in imported.items():
        answer = answers[instance_id]
        parts["submitted → imported and confirmed"].append((confirmed - ended).total_seconds())
        parts["imported → letter sent (rules, PDF)"].append((answer.sent - confirmed).total_seconds())
        parts["letter sent → published"].append((answer.published - answer.sent).total_seconds())
        parts["published → notice sent"].append((answer.delivered - answer.published).total_seconds())
    for name, samples in parts.items():
        print(f"    {name:38s} {seconds_line(samples)}")


async def jobs_run(reader: Database, since: datetime) -> None:
    """The platform's jobs made since the journeys began: how many of each kind, and the time from made to done
    (a finished job's run_at is its last lease's end, so its waiting and running are not told apart)."""
    took: dict[str, list[float]] = defaultdict(list)
    unfinished: dict[str, int] = defaultdict(int)
    async with read_only(reader) as session:
        for kind, created, finished in await session.execute(
                select(Job.kind, Job.created_at, Job.finished_at).where(Job.created_at >= since)):
            if finished is None:
                unfinished[kind] += 1
            else:
                took[kind].append((finished - created).total_seconds())
    for kind in sorted(took, key=lambda k: -sum(took[k]))[:8]:
        print(f"    {kind:38s} {len(took[kind]):6d} done, made → done p50 "
              f"{harness.percentile(took[kind], 50):6.2f} s, p95 {harness.percentile(took[kind], 95):6.2f} s"
              + (f"; {unfinished[kind]} not done" if unfinished[kind] else ""))


async def check_one(http: httpx.AsyncClient, settings: Settings, answer: Answer) -> str:
    """One answer as Skedsmo kommune sees it through the platform's APIs: the correspondence and its notice."""
    token = mint_development_token(PlatformKeys.load(settings), settings, organization_number=SKEDSMO, scopes=[
        "altinn:correspondence.write", "altinn:serviceowner", "altinn:serviceowner/notifications.read"])
    headers = {"Authorization": f"Bearer {token}"}
    details = ok(await http.get(f"/correspondence/api/v1/correspondence/{answer.correspondence_id}/details",
                                headers=headers)).json()
    assert details["status"] == "Published", details["status"]
    assert details["content"]["attachments"][0]["fileName"].endswith(".pdf"), details["content"]
    shipment = ok(await http.get(f"/notifications/api/v1/future/shipment/{details['notifications'][0]['shipmentId']}",
                                 headers=headers)).json()
    results = ", ".join(recipient.get("status", "?") for recipient in shipment["recipients"])
    return f"correspondence {details['status']} to {details['recipient']}; notice {shipment['status']}: {results}"


def load() -> str:
    return "load average " + " / ".join(f"{value:.2f}" for value in os.getloadavg()) + f" ({os.cpu_count()} cores)"


# --- the run ----------------------------------------------------------------------------------------------------
async def main(arguments: argparse.Namespace) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    scratch = Path(tempfile.mkdtemp(prefix="felles-bench-journey-"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            postgres: int | None = None
            if arguments.sqlite:
                url = f"sqlite+aiosqlite:///{scratch / 'felles.db'}"
            elif arguments.database_url:
                url = await harness.fresh_database(arguments.database_url, scratch)
            else:
                url, postgres = await stack.enter_async_context(own_postgres())
            await run(arguments, scratch, url, postgres, stack)
    finally:
        if arguments.keep:
            print(f"  data folder and logs kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


async def run(arguments: argparse.Namespace, scratch: Path, url: str, postgres: int | None,
              stack: contextlib.AsyncExitStack) -> None:
    port = harness.free_port()
    settings = Settings(environment=Environment.TEST, data_dir=scratch / "var", database_url=url,
                        secret_key=harness.SECRET_KEY, base_url=f"http://127.0.0.1:{port}", email_provider="outbox",
                        log_json=False, log_level="WARNING")
    started = time.monotonic()
    await felles(settings, "db", "upgrade")
    await felles(settings, "seed", "--demo", *SMALL_POPULATION)
    print(f"journeys on {harness.database_name(url)}"
          f"{' (started here, default durability)' if postgres else ''}: felles serve --workers {arguments.workers}, "
          f"{arguments.citizens} citizens; seeded in {time.monotonic() - started:.0f} s")
    # The signing key made before the server starts, as production gives it one: two processes starting on a data
    # folder without one would each make their own, and one would refuse the other's tokens.
    PlatformKeys.load(settings)
    pid, base = await stack.enter_async_context(harness.served(
        settings, "--workers", str(arguments.workers), "--no-migrate", port=port, log=scratch / "serve.log"))
    reader = Database(url)
    stack.push_async_callback(reader.dispose)
    lifetime = int(arguments.seconds + arguments.baseline_seconds + arguments.drain + 3600)
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        family = await parents(http, settings, lifetime)
        for parent in family:  # warm, and right
            await apply(http, parent)
    baseline = await plain_submissions(arguments, base, family, pid, reader)
    case_pid = await stack.enter_async_context(case_system(settings, base, scratch / "casesystem.log"))
    pids = {"server": pid, "case system": case_pid, **({"PostgreSQL": postgres} if postgres else {})}
    window = await journeys(arguments, base, family, reader, pids)
    await report(arguments, window, baseline, reader, pids)
    if window.answers:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            print(f"  checked through the APIs: {await check_one(http, settings, next(iter(window.answers.values())))}")
    for name in ("serve.log", "casesystem.log"):
        tracebacks = (await asyncio.to_thread((scratch / name).read_text, errors="replace")).count("Traceback")
        if tracebacks:
            print(f"  {name}: {tracebacks} tracebacks (run with --keep to read them)")


async def plain_submissions(arguments: argparse.Namespace, base: str, family: list[Parent], pid: int,
                            reader: Database) -> float:
    """The baseline: the same citizens' submissions, the case system not yet running; submissions a second."""
    plain: list[Submitted] = []
    server_cpu = harness.cpu_seconds(pid)
    took = await applications(base, family, arguments.citizens, seconds=arguments.baseline_seconds, count=None,
                              into=plain)
    per_submission = (harness.cpu_seconds(pid) - server_cpu) / max(len(plain), 1)
    rate = len(plain) / took
    print(f"  baseline: plain submissions {rate:8.2f} /s ({len(plain)} in {took:.0f} s, "
          f"{rate * REQUESTS_PER_SUBMISSION:.0f} requests/s); one submission "
          f"{harness.latencies_ms([s.took for s in plain])}; server CPU {per_submission * 1000:.0f} ms each; {load()}")
    print(f"    the platform's follow-up work on them done in {await settle(reader):.0f} s")
    return rate


@dataclass
class Window:
    """The journeys: the applications made in the window, the answers delivered by the end of the drain."""

    submitted: list[Submitted]
    answers: dict[str, Answer]
    began: datetime
    start: float  # time.time()
    seconds: float
    drained: float
    loads: tuple[str, str]
    cpu: dict[str, float]  # CPU seconds used over the window and the drain, by process (and "this client")


async def journeys(arguments: argparse.Namespace, base: str, family: list[Parent], reader: Database,
                   pids: dict[str, int]) -> Window:
    """The citizens apply for the window's length (or count), the answers watched; then up to `--drain` seconds
    for the answers still pending."""
    submitted: list[Submitted] = []
    answers: dict[str, Answer] = {}
    applied = asyncio.Event()
    began = utcnow()
    cpu = {name: harness.cpu_seconds(each) for name, each in pids.items()} | {"this client": time.process_time()}
    loads = [load()]
    watching = asyncio.create_task(watch(reader, submitted, answers, applied))
    try:
        start = time.time()
        seconds = await applications(base, family, arguments.citizens,
                                     seconds=None if arguments.journeys else arguments.seconds,
                                     count=arguments.journeys, into=submitted)
        loads.append(load())
        applied.set()
        drain_start = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watching), arguments.drain)
        drained = time.monotonic() - drain_start
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    answers.update(await delivered_answers(reader, [s.instance_id for s in submitted if s.instance_id not in answers]))
    used = {name: harness.cpu_seconds(pids[name]) - before for name, before in cpu.items() if name in pids}
    used["this client"] = time.process_time() - cpu["this client"]
    return Window(submitted, answers, began, start, seconds, drained, (loads[0], loads[1]), used)


async def report(arguments: argparse.Namespace, window: Window, baseline: float, reader: Database,
                 pids: dict[str, int]) -> None:
    submitted, answers = window.submitted, window.answers
    times = {s.instance_id: s.at for s in submitted}
    delivered_at = sorted(answer.delivered.timestamp() for answer in answers.values())
    in_window = [moment for moment in delivered_at if moment <= window.start + window.seconds]
    rate = len(in_window) / window.seconds
    steady = (len(in_window) - 1) / (in_window[-1] - in_window[0]) if len(in_window) > 2 else float("nan")
    latency = [answer.delivered.timestamp() - times[instance_id] for instance_id, answer in answers.items()]
    print(f"  journeys: {len(submitted)} applications in {window.seconds:.0f} s "
          f"({len(submitted) / window.seconds:.2f} submitted/s); {window.loads[0]} at the start, {window.loads[1]} "
          "at the window's end")
    print(f"  complete journeys        {rate:8.2f} /s   (answers delivered in the window ÷ its length; "
          f"{steady:.2f}/s from its first answer to its last)   goal ≥ {GOAL:.0f}/s: "
          f"{'met' if rate >= GOAL else 'not met'}")
    if arguments.journeys and delivered_at:
        span = delivered_at[-1] - window.start
        print(f"  all answered             {len(answers) / span:8.2f} /s   ({len(answers)} in {span:.0f} s from the "
              "first application)")
    print(f"  ratio to the baseline    {rate / baseline:8.3f} (complete journeys/s ÷ plain submissions/s)")
    print(f"  submit → answer          {seconds_line(latency)}   ({len(latency)} delivered)")
    print(f"  pending                  {len(submitted) - len(in_window)} when the window closed, "
          f"{len(submitted) - len(answers)} after draining {window.drained:.0f} s")
    held = sum(1 for answer in answers.values() if answer.sms_held)
    if held:
        print(f"  SMS held for the daytime {held} of {len(answers)} (counted as delivered: ordered, e-mail sent)")
    print("  steps (the platform's own times):")
    await steps(reader, submitted, answers)
    print("  jobs since the journeys began (the most time first):")
    await jobs_run(reader, window.began)
    delivered = max(len(answers), 1)
    print("  CPU per journey          " + ", ".join(f"{name} {seconds * 1000 / delivered:.0f} ms"
                                                  for name, seconds in window.cpu.items())
          + " (over the window and the drain)")
    server, case = pids["server"], pids["case system"]
    print(f"  memory                   server {memory_mb(server, 'VmRSS'):.0f} MB now, "
          f"{memory_mb(server, 'VmHWM'):.0f} MB peak (all its processes); case system "
          f"{memory_mb(case, 'VmRSS'):.0f} MB now, {memory_mb(case, 'VmHWM'):.0f} MB peak; this client "
          f"{harness.peak_memory_mb():.0f} MB peak")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the citizens apply")
    parser.add_argument("--journeys", type=int, help="instead of --seconds: this many applications in all")
    parser.add_argument("--citizens", type=int, default=8, help="citizens applying at the same time")
    parser.add_argument("--workers", type=int, default=2, help="felles serve --workers")
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--drain", type=float, default=60, help="seconds to wait for the pending answers at the end")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and the logs")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--sqlite", action="store_true", help="on a SQLite file instead of PostgreSQL")
    database.add_argument("--database-url", default=os.environ.get("FELLES_BENCH_DATABASE_URL") or (
        os.environ.get("FELLES_DATABASE_URL", "") if os.environ.get("FELLES_DATABASE_URL", "").startswith(
            "postgresql") else None), help="a PostgreSQL database whose name contains 'bench' (emptied)")
    try:
        asyncio.run(main(parser.parse_args()))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C; SIGTERM
        print("interrupted: the processes and the database the bench started are stopped", file=sys.stderr)
        sys.exit(130)
