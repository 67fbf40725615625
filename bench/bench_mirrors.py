"""Dialogporten's mirrors: how many correspondences per second the mirror job turns into dialogs, against a
service owner's own dialog create in the same run.

    .venv/bin/python bench/bench_mirrors.py [--database URL] [--count 500] [--concurrency 4]

On a fresh SQLite file by default (`--database postgresql+asyncpg://…/x_bench` for PostgreSQL; the name must
contain "bench": it is emptied). Measured in one run:
- baseline: `service.create_dialog` of a dialog like a mirrored one (title, summary, sender, an action and one
  transmission), `--concurrency` at a time; dialogs/s;
- mirror: `--count` correspondences sent and published first (their own mirror jobs run then too); the mirrors
  are then emptied and one `dialogporten.mirror_correspondence` job per correspondence is queued and run by a
  worker with `--concurrency` (each reads the correspondence through Correspondence's service, builds the
  dialog, writes it with its transmission and events); mirrors/s;
- replay: the same jobs again, which find nothing changed; replays/s.
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

from sqlalchemy import delete

sys.path.insert(0, str(Path(__file__).resolve().parent))
from felles.app import create_app  # noqa: F401 - every component, and with them their job handlers
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.demo import ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.blobs import open_blob_store
from felles.core.db import Database
from felles.core.jobs import Worker, enqueue_many
from felles.core.logging import configure_logging
from felles.core.tokens import Principal
from felles.correspondence import schemas as correspondence_schemas
from felles.correspondence import service as correspondence_service
from felles.correspondence.service_access import SERVICE_OWNER_SCOPE, WRITE_SCOPE
from felles.dialogporten import mirrors, service
from felles.dialogporten import schemas as s
from felles.dialogporten.models import Dialog, DialogActivity, DialogMirror, DialogSeenLog, DialogTransmission
from felles.registers.identifiers import make_person_identifier
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from harness import bench_settings, database_name, fresh_database

OWNER = "974761076"  # Skatteetaten, a registered service owner (skd)
RESOURCE = "skd-bench-mirrors"
BATCH = 100


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


async def _timed_jobs(database: Database, concurrency: int) -> tuple[int, float]:
    started = time.perf_counter()
    ran = await Worker(database, concurrency=concurrency).run_until_idle()
    return ran, time.perf_counter() - started


async def run(url: str | None, count: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = await fresh_database(url, data_dir)
        settings = bench_settings(data_dir, url)
        configure_logging(settings.log_level, json=False)
        os.environ["FELLES_DATABASE_URL"] = url
        database = Database(url)
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

            async with database.transaction() as session:
                for table in (DialogActivity, DialogTransmission, DialogSeenLog, DialogMirror):
                    await session.execute(delete(table))
                await session.execute(delete(Dialog).where(Dialog.service_resource_type == "correspondenceservice"))
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
        finally:
            await database.dispose()
    (first, first_seconds), (second, second_seconds) = timings
    print(f"bench_mirrors on {database_name(url)}, {count} correspondences, concurrency {concurrency}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  baseline, service-owner create_dialog: {baseline:8.1f} dialogs/s")
    print(f"  mirror jobs (new dialogs):             {first / first_seconds:8.1f} mirrors/s   "
          f"({mirrored} of {count} mirrored; {first / first_seconds / baseline:.2f} × baseline)")
    print(f"  replayed mirror jobs (nothing changed): {second / second_seconds:8.1f} replays/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.database, arguments.count, arguments.concurrency))


if __name__ == "__main__":
    main()
