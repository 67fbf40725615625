"""Correspondence: publishing to many recipients with notifications, and the memory of a streamed attachment.

    .venv/bin/python bench/bench_correspondence.py [--recipients 10000] [--batch 500]
        [--workers 2 --concurrency 8] [--attachment-mb 200] [--database-url postgresql+asyncpg://…/own_db]

This process plays the API server: it sends through the service (`service.initialize`, one request per
`--batch` recipients, each a person, with Altinn's standard notification); real `felles worker` processes
publish the correspondences and place one notification order per correspondence with Notifications (the orders'
send time is a day ahead, so that the e-mail side, measured by bench_notifications.py, stays out). Measured in
one run:
- baseline: a bare bulk INSERT of as many correspondence rows (no checks, history, events, jobs or orders):
  what this machine's database costs for the rows alone;
- initialize: requests of `--batch` recipients, latency p50/p95 and correspondences/s accepted;
- end to end: from the first request to the last notification order placed, correspondences/s, with the CPU of
  every process and the workers' peak memory;
- with the mirrors: on until every correspondence is mirrored as a Dialogporten dialog (the job each publish
  queues), correspondences/s and the CPU of every process over that longer time (the end-to-end CPU already holds
  the mirror jobs that ran before the last order was placed);
- the load average at the start and at the end (other processes on the machine share its cores);
- download: a `--attachment-mb` attachment streamed from the blob store; the peak memory Python allocated while
  streaming it (tracemalloc) against the file's size.
A PostgreSQL database given with `--database-url` is emptied (DROP SCHEMA public) first: never point it at a
shared database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_events import (
    CpuMeter,
    database_name,
    peak_memory_mb,
    percentile,
    prepare_environment,
    report,
    reset_database,
    start_workers,
    stop_processes,
    wait_until_idle,
)

OWNER = "974761076"
RESOURCE = "bench-korrespondanse"
TIMEOUT_SECONDS = 900


def persons(count: int) -> list[str]:
    from felles.registers.identifiers import make_person_identifier

    found: list[str] = []
    day = date(1960, 1, 1)
    while len(found) < count:
        for individual in range(100, 500, 3):
            identifier = make_person_identifier(day, individual, synthetic=True)
            if identifier is not None and len(found) < count:
                found.append(identifier)
        day += timedelta(days=1)
    return found


async def seed(database) -> None:
    from felles.authorization import schemas as authorization_schemas
    from felles.authorization import service as authorization_service
    from felles.authorization.demo import ROLE, policy_xml
    from felles.core.audit import Actor

    actor = Actor(f"organization:{OWNER}")
    await authorization_service.create_resource(database, actor, OWNER, authorization_schemas.ServiceResource(
        identifier=RESOURCE, title={"nb": "Bench", "nn": "Bench", "en": "Bench"},
        resourceType="CorrespondenceService", hasCompetentAuthority={"organization": OWNER, "orgcode": "skd"}))
    await authorization_service.put_policy(database, actor, OWNER, RESOURCE,
                                           policy_xml(RESOURCE, [([(ROLE, "priv")], ["read"])]))


async def bare_insert(database, count: int, batch: int) -> float:
    """Rows/s of a bulk INSERT of bare correspondence rows, removed again afterwards."""
    from sqlalchemy import delete, insert

    from felles.core.clock import utcnow
    from felles.core.ids import uuid7
    from felles.correspondence.models import Correspondence

    now = utcnow()
    ids = []
    started = time.perf_counter()
    for start in range(0, count, batch):
        rows = [dict(id=uuid7(), resource_id=RESOURCE, sender=OWNER, recipient=f"{n:011d}", senders_reference="b",
                     message_sender=None, language="nb", message_title="Tittel", message_summary=None,
                     message_body="Tekst", requested_publish_time=now, due_date_time=None,
                     allow_system_delete_after=None, external_references=[], property_list={}, reply_options=[],
                     notification=None, ignore_reservation=False, is_confirmation_needed=False,
                     is_confidential=False, allow_forwarding=True, idempotent_key=None, status="Published",
                     status_changed=now, created_at=now, published_at=now)
                for n in range(start, min(start + batch, count))]
        async with database.transaction() as session:
            await session.execute(insert(Correspondence), rows)
        ids += [row["id"] for row in rows]
    elapsed = time.perf_counter() - started
    async with database.transaction() as session:
        await session.execute(delete(Correspondence).where(Correspondence.id.in_(ids)))
    return count / elapsed


async def counts(database) -> tuple[int, int]:
    from sqlalchemy import func, select

    from felles.correspondence.models import Correspondence, CorrespondenceNotification

    async with database.transaction() as session:
        published = await session.scalar(select(func.count()).select_from(Correspondence).where(
            Correspondence.status == "Published"))
        ordered = await session.scalar(select(func.count()).select_from(CorrespondenceNotification))
    return int(published or 0), int(ordered or 0)


async def mirrored(database) -> int:
    """How many correspondences Dialogporten mirrors as dialogs."""
    from sqlalchemy import func, select

    from felles.dialogporten.models import DialogMirror

    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(DialogMirror).where(
            DialogMirror.source_type == "correspondence")) or 0)


async def send_all(database, blobs, recipients: list[str], batch: int) -> list[float]:
    from felles.core.clock import utcnow
    from felles.core.tokens import Principal
    from felles.correspondence import schemas, service

    sender = Principal("organization", organization_number=OWNER,
                       scopes=frozenset({"altinn:correspondence.write", "altinn:serviceowner"}))
    latencies = []
    for start in range(0, len(recipients), batch):
        body = schemas.CorrespondencesCreate.model_validate({
            "correspondence": {
                "resourceId": RESOURCE, "sendersReference": f"bench-{start}",
                "content": {"language": "nb", "messageTitle": "Vedtak", "messageBody": "Hei **$recipientName$**."},
                "notification": {"notificationTemplate": "GenericAltinnMessage", "notificationChannel": "Email",
                                 "sendReminder": True,
                                 "requestedSendTime": (utcnow() + timedelta(days=1)).isoformat()}},
            "recipients": [schemas.PERSON_URN + pid for pid in recipients[start:start + batch]],
            "idempotentKey": str(uuid.uuid4())})
        began = time.perf_counter()
        await service.initialize(database, blobs, sender, body)
        latencies.append(time.perf_counter() - began)
    return latencies


async def download_memory(database, blobs, megabytes: int) -> tuple[float, float]:
    """(peak MB Python allocated while streaming, seconds) for an attachment of `megabytes` MB."""
    from felles.core.blobs import CHUNK_SIZE
    from felles.core.tokens import Principal
    from felles.correspondence import schemas, service_attachments

    sender = Principal("organization", organization_number=OWNER,
                       scopes=frozenset({"altinn:correspondence.write", "altinn:serviceowner"}))
    attachment_id = await service_attachments.initialize(database, sender, schemas.AttachmentInitialize(
        resourceId=RESOURCE, fileName="stor.bin", sendersReference="stor"))

    async def generated():
        block = os.urandom(CHUNK_SIZE)
        for _ in range(megabytes):
            yield block

    await service_attachments.upload(database, blobs, sender, attachment_id, generated())
    tracemalloc.start()
    began = time.perf_counter()
    _, stream = await service_attachments.open_for_sender(database, blobs, sender, attachment_id)
    size = 0
    async for chunk in stream:
        size += len(chunk)
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert size == megabytes * CHUNK_SIZE
    return peak / 1024 / 1024, elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--attachment-mb", type=int, default=200)
    parser.add_argument("--database-url")
    parser.add_argument("--label", default="")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="felles-bench-correspondence-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    environment = prepare_environment(database_url, workdir, {"FELLES_SECRET_KEY": "bench-secret-key"})
    import felles.app  # noqa: F401 - every job handler, as in the server
    from felles.core.blobs import open_blob_store
    from felles.core.config import get_settings
    from felles.core.db import Database

    await reset_database(database_url)
    database = Database(database_url)
    blobs = open_blob_store(get_settings())
    await seed(database)
    recipients = persons(args.recipients)
    baseline = await bare_insert(database, args.recipients, args.batch)

    workers = start_workers(args.workers, args.concurrency, environment, workdir / "workers.log")
    try:
        await wait_until_idle([worker.pid for worker in workers])
        load_at_start = os.getloadavg()
        meter = CpuMeter([os.getpid(), *(worker.pid for worker in workers)]).start()
        began = time.perf_counter()
        latencies = await send_all(database, blobs, recipients, args.batch)
        accepted = time.perf_counter() - began
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while (done := await counts(database)) != (args.recipients, args.recipients):
            if time.monotonic() > deadline:
                raise RuntimeError(f"published and ordered {done} of {args.recipients} within the time limit")
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - began
        cpu = meter.stop()
        while (done_mirrors := await mirrored(database)) != args.recipients:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mirrored {done_mirrors} of {args.recipients} within the time limit")
            await asyncio.sleep(0.2)
        elapsed_mirrored = time.perf_counter() - began
        cpu_mirrored = meter.stop()
        worker_memory = max(peak_memory_mb(worker.pid) for worker in workers)
        download_peak, download_seconds = await download_memory(database, blobs, args.attachment_mb)
    finally:
        stop_processes(workers)
        await database.dispose()

    throughput = args.recipients / elapsed
    results = {
        "bench": "correspondence", "label": args.label, "database": database_name(database_url),
        "recipients": args.recipients, "batch": args.batch, "workers": args.workers,
        "bare_insert_rows_per_s": round(baseline), "initialize_per_s": round(args.recipients / accepted),
        "request_p50_s": round(percentile(latencies, 50), 3), "request_p95_s": round(percentile(latencies, 95), 3),
        "end_to_end_per_s": round(throughput), "ratio_to_bare_insert": round(throughput / baseline, 3),
        "cpu_ms_per_correspondence": round(cpu / args.recipients * 1000, 2),
        "with_mirrors_per_s": round(args.recipients / elapsed_mirrored),
        "cpu_ms_per_correspondence_with_mirrors": round(cpu_mirrored / args.recipients * 1000, 2),
        "load_average_at_start": [round(value, 2) for value in load_at_start],
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "worker_peak_mb": round(worker_memory), "api_peak_mb": round(peak_memory_mb(os.getpid())),
        "download_mb": args.attachment_mb, "download_peak_traced_mb": round(download_peak, 1),
        "download_mb_per_s": round(args.attachment_mb / download_seconds),
    }
    report([
        f"Correspondence bench on {results['database']} ({args.workers} workers × {args.concurrency}), "
        f"{args.recipients} person recipients in requests of {args.batch}, each with a notification order",
        f"  baseline, bare INSERT of the rows: {results['bare_insert_rows_per_s']} rows/s",
        f"  initialize: {results['initialize_per_s']} correspondences/s accepted; request of {args.batch}: "
        f"p50 {results['request_p50_s']} s, p95 {results['request_p95_s']} s",
        f"  end to end (accepted, published, notification ordered): {results['end_to_end_per_s']} "
        f"correspondences/s = {results['ratio_to_bare_insert']} × the bare insert; target ≥ 500/s",
        f"  CPU {results['cpu_ms_per_correspondence']} ms per correspondence (all processes); peak memory: "
        f"workers {results['worker_peak_mb']} MB, API process {results['api_peak_mb']} MB",
        f"  until every correspondence is mirrored in Dialogporten: {results['with_mirrors_per_s']} "
        f"correspondences/s, CPU {results['cpu_ms_per_correspondence_with_mirrors']} ms per correspondence",
        f"  load average (1, 5, 15 min) at the start: {' '.join(map(str, results['load_average_at_start']))}, "
        f"at the end: {' '.join(map(str, results['load_average_at_end']))}",
        f"  download of a {args.attachment_mb} MB attachment: {results['download_mb_per_s']} MB/s, peak memory "
        f"allocated while streaming {results['download_peak_traced_mb']} MB",
    ], results, args.json_out)


if __name__ == "__main__":
    asyncio.run(main())
