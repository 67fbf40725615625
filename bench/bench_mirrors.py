"""Dialogporten's mirrors: how many correspondences per second the mirror job turns into dialogs, against a
service owner's own dialog create in the same run.

    .venv/bin/python bench/bench_mirrors.py [--database URL] [--count 500] [--concurrency 4] [--instances 50]

On a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL; the name must
contain "bench": it is emptied). Measured in one run:
- baseline: `service.create_dialog` of a dialog like a mirrored one (title, summary, sender, an action and one
  transmission), `--concurrency` at a time; dialogs/s;
- mirror: `--count` correspondences sent and published first (their own mirror jobs run then too); the mirrors
  are then emptied and one `dialogporten.mirror_correspondence` job per correspondence is queued and run by a
  worker with `--concurrency` (each reads the correspondence through Correspondence's service, builds the
  dialog, writes it with its transmission and events); mirrors/s;
- replay: the same jobs again, which find nothing changed; replays/s;
  for both, the CPU of this process (worker and database client) and the SQL statements and transactions per
  correspondence;
- instance mirror: `--instances` complete submissions of the runtime tests' grant application (create, three
  saves, validate, on to the confirmation, confirm), in process; their mirrors emptied, one
  `dialogporten.mirror_instance` job per instance, each run as the only job due: CPU, statements and transactions
  per run, then the same for replays that change nothing; then the dialogs made again by the jobs all due
  together, run by a worker of concurrency 8 (as `felles worker --concurrency 8`; a batch kind fills its batch).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import delete, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_apps_submission import APP_FOLDER, KARI, submit
from felles.app import create_app  # every component, and with them their job handlers
from felles.apps import deployment
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.demo import ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.blobs import open_blob_store
from felles.core.db import Database
from felles.core.jobs import Worker, enqueue_many
from felles.core.logging import configure_logging
from felles.core.tokens import PlatformKeys, Principal, mint_development_token
from felles.correspondence import schemas as correspondence_schemas
from felles.correspondence import service as correspondence_service
from felles.correspondence.service_access import SERVICE_OWNER_SCOPE, WRITE_SCOPE
from felles.dialogporten import mirrors, service
from felles.dialogporten import schemas as s
from felles.dialogporten.models import (
    Dialog,
    DialogActivity,
    DialogLabelAssignment,
    DialogMirror,
    DialogSeenLog,
    DialogTransmission,
)
from felles.registers.identifiers import make_person_identifier
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from felles.storage.models import Instance
from harness import Statements, bench_settings, counting, database_name, fresh_database

OWNER = "974761076"  # Skatteetaten, a registered service owner (skd)
RESOURCE = "skd-bench-mirrors"
BATCH = 100
TOGETHER = 8  # jobs a worker claims at a time (`felles worker --concurrency 8`)


async def _resource(database: Database) -> None:
    actor = Actor(f"organization:{OWNER}")
    await authorization_service.create_resource(database, actor, OWNER, authorization_schemas.ServiceResource(
        identifier=RESOURCE, title={"nb": "Brev (bench)"}, resourceType="CorrespondenceService",
        hasCompetentAuthority=authorization_schemas.CompetentAuthority(organization=OWNER, orgcode="skd")))
    await authorization_service.put_policy(database, actor, OWNER, RESOURCE, policy_xml(RESOURCE, [
        ([(ROLE, "priv")], ["read", "write"])]))


def _dialog(number: int, party: str) -> s.DialogCreate:
    text = {"value": [{"value": f"Vedtak {number}", "languageCode": "nb"}]}
    return s.DialogCreate.model_validate({
        "serviceResource": service.RESOURCE_PREFIX + RESOURCE, "party": party, "status": "NotApplicable",
        "content": {"title": text, "summary": text, "senderName": {"value": [{"value": "Skatteetaten",
                                                                               "languageCode": "nb"}]}},
        "guiActions": [{"action": "read", "url": "https://felles.example/m", "priority": "Primary",
                        "title": [{"value": "Åpne meldingen", "languageCode": "nb"}]}],
        "transmissions": [{"type": "Information", "sender": {"actorType": "ServiceOwner"},
                           "content": {"title": text}}]})


def _persons(count: int) -> list[str]:
    """`count` distinct valid synthetic fødselsnummer."""
    found: list[str] = []
    day = date(1970, 1, 1)
    while len(found) < count:
        found += [number for individual in range(100, 500, 3)
                  if (number := make_person_identifier(day, individual, synthetic=True))]
        day += timedelta(days=1)
    return found[:count]


class Timed:
    """Jobs run: how many, in how many seconds, with how much CPU of this process, and the SQL they sent."""

    def __init__(self, ran: int, seconds: float, cpu: float, sql: Statements) -> None:
        self.ran, self.seconds, self.cpu, self.sql = ran, seconds, cpu, sql

    def per_run(self, count: int, what: str = "run") -> str:
        return (f"CPU {self.cpu / count * 1000:.1f} ms, {self.sql.statements / count:.1f} statements in "
                f"{self.sql.transactions / count:.1f} transactions a {what}")


async def _timed_jobs(database: Database, concurrency: int, total: Timed | None = None) -> Timed:
    """Run the due jobs, timed (added to `total` when given)."""
    total = total or Timed(0, 0.0, 0.0, Statements())
    started, cpu = time.perf_counter(), time.process_time()
    with counting(database.engine) as sql:
        ran = await Worker(database, concurrency=concurrency).run_until_idle()
    total.ran, total.seconds, total.cpu = (total.ran + ran, total.seconds + time.perf_counter() - started,
                                           total.cpu + time.process_time() - cpu)
    total.sql.statements += sql.statements
    total.sql.transactions += sql.transactions
    return total


async def _submitted_instances(database: Database, settings, count: int) -> list[str]:
    """`count` complete submissions of the grant application, in process; their instance ids (guids)."""
    app_id = (await deployment.deploy_folder(database, APP_FOLDER, "bench")).app_id
    party = (await authorization_service.party_of(database, KARI)).party_id
    token = mint_development_token(PlatformKeys.load(settings), settings, person_identifier=KARI,
                                   scopes=["altinn:instances.read", "altinn:instances.write"],
                                   authentication_level=3, lifetime_seconds=3600)
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(settings, run_worker=False)
    paths = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test",
                                 timeout=120) as http:
        for number in range(count):
            paths.append(await submit(http, app_id, party, headers, number))
    await app.state.runtime.database.dispose()
    return [path.rsplit("/", 1)[1] for path in paths]


async def _empty_mirrors(database: Database, *, resource_type: str) -> None:
    async with database.transaction() as session:
        for table in (DialogActivity, DialogTransmission, DialogSeenLog, DialogLabelAssignment, DialogMirror):
            await session.execute(delete(table))
        await session.execute(delete(Dialog).where(Dialog.service_resource_type == resource_type))


async def _instance_mirrors(database: Database, settings, count: int) -> tuple[Timed, Timed, Timed]:
    """The instance mirror jobs of `count` submitted instances, each the only job due: first making the dialogs,
    then replayed; then, emptied again, making them with every job due together, a worker claiming `TOGETHER` at a
    time (a batch kind fills its batch from the jobs due)."""
    guids = await _submitted_instances(database, settings, count)
    await Worker(database, concurrency=1).run_until_idle()  # their own mirror jobs
    await _empty_mirrors(database, resource_type="altinnapp")
    async with database.transaction() as session:
        orgs = {str(instance_id): org for instance_id, org in await session.execute(
            select(Instance.id, Instance.org).where(Instance.id.in_([uuid.UUID(guid) for guid in guids])))}
    timings = []
    for alone in (True, True, False):
        if not alone:
            await _empty_mirrors(database, resource_type="altinnapp")
        timed = None
        for group in ([[guid] for guid in guids] if alone else [guids]):  # alone: the only job due
            async with database.transaction() as session:
                await enqueue_many(session, mirrors.MIRROR_INSTANCE_JOB,
                                   [({"instance": guid, "org": orgs[guid]}, None) for guid in group])
            timed = await _timed_jobs(database, 1 if alone else TOGETHER, timed)
        assert timed is not None
        timings.append(timed)
        made = [await mirrors.mirrored_dialog_id(database, mirrors.INSTANCE, uuid.UUID(guid)) for guid in guids]
        assert all(made), "an instance was not mirrored"
    return timings[0], timings[1], timings[2]


async def run(url: str | None, count: int, concurrency: int, instances: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = await fresh_database(url, data_dir)
        settings = bench_settings(data_dir, url)
        configure_logging(settings.log_level, json=False)
        os.environ["FELLES_DATABASE_URL"] = url
        database = Database(url)
        load_at_start = os.getloadavg()
        try:
            await seed_demo_personas(database)
            await _resource(database)
            party = service.PERSON_PREFIX + DEMO_PERSONS[0].identifier

            owner = Principal("organization", organization_number=OWNER,
                              scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
            queue = iter(range(count))

            async def lane() -> None:
                for number in queue:
                    await service.create_dialog(database, owner, _dialog(number, party), base_url=settings.base_url)

            started = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(concurrency)))
            baseline = count / (time.perf_counter() - started)

            sender = Principal("organization", organization_number=OWNER,
                               scopes=frozenset({WRITE_SCOPE, SERVICE_OWNER_SCOPE}))
            blobs = open_blob_store(settings)
            ids: list[str] = []
            recipients = _persons(count)
            for start in range(0, count, BATCH):
                body = correspondence_schemas.CorrespondencesCreate.model_validate({
                    "correspondence": {"resourceId": RESOURCE, "sendersReference": f"bench-{start}",
                                       "content": {"language": "nb", "messageTitle": "Vedtak",
                                                   "messageSummary": "Søknaden er behandlet.",
                                                   "messageBody": "Søknaden er **innvilget**."}},
                    "recipients": [service.PERSON_PREFIX + person for person in recipients[start:start + BATCH]]})
                answer, _ = await correspondence_service.initialize(database, blobs, sender, body, [])
                ids += [str(item.correspondenceId) for item in answer.correspondences]
            await Worker(database, concurrency=concurrency).run_until_idle()  # publishes (and mirrors) them

            await _empty_mirrors(database, resource_type="correspondenceservice")
            timings = []
            for _ in range(2):
                async with database.transaction() as session:
                    await enqueue_many(session, mirrors.MIRROR_CORRESPONDENCE_JOB,
                                       [({"correspondence": key}, None) for key in ids])
                timings.append(await _timed_jobs(database, concurrency))
            mirrored = 0
            for key in ids:
                mirrored += await mirrors.mirrored_dialog_id(database, mirrors.CORRESPONDENCE,
                                                             uuid.UUID(key)) is not None
            made, replayed, together = (await _instance_mirrors(database, settings, instances) if instances
                                        else (None, None, None))
        finally:
            await database.dispose()
    first, second = timings
    print(f"bench_mirrors on {database_name(url)}, {count} correspondences, concurrency {concurrency}, "
          f"load average {' '.join(f'{value:.2f}' for value in load_at_start)} at the start, "
          f"{' '.join(f'{value:.2f}' for value in os.getloadavg())} at the end")
    print(f"  baseline, service-owner create_dialog: {baseline:8.1f} dialogs/s")
    print(f"  mirror jobs (new dialogs):             {count / first.seconds:8.1f} mirrors/s   "
          f"({mirrored} of {count} mirrored; {count / first.seconds / baseline:.2f} × baseline); "
          f"{first.per_run(count, 'mirror')}")
    print(f"  replayed mirror jobs (nothing changed): {count / second.seconds:8.1f} replays/s; "
          f"{second.per_run(count, 'replay')}")
    if made is not None and replayed is not None and together is not None:
        print(f"  instance mirror jobs, each the only one due, {instances} submitted instances: making the dialog "
              f"{made.per_run(instances)}; replayed {replayed.per_run(instances)}")
        print(f"  instance mirror jobs all due together, a worker of concurrency {TOGETHER}: making the dialog "
              f"{together.per_run(instances, 'dialog')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--instances", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.database, arguments.count, arguments.concurrency, arguments.instances))


if __name__ == "__main__":
    main()
