"""Large requests and crashes: 500 recipients with 10 attachments in one request, and a worker killed with
SIGKILL while it publishes 500 correspondences to each of several requests' recipients with their notification
orders: after another worker takes over, every recipient has exactly one correspondence and one order."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from felles.core.clock import clock
from felles.correspondence.models import (
    Correspondence,
    CorrespondenceAttachment,
    CorrespondenceAttachmentLink,
    CorrespondenceNotification,
)
from felles.notifications.models import NotificationOrder, NotificationOrderChain
from tests.conftest import felles_command_environment
from tests.correspondence.conftest import API, RESOURCE, run_jobs, synthetic_persons

RECIPIENTS = 500
ATTACHMENTS = 10
REQUESTS = 2


async def count(database, table, *where) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def test_500_recipients_with_10_attachments_in_one_request(client, database, resource, sender, job_settings):
    persons = synthetic_persons(RECIPIENTS)
    fields = {"correspondence.resourceId": RESOURCE, "correspondence.sendersReference": "stor-utsending",
              "correspondence.content.language": "nb", "correspondence.content.messageTitle": "Til alle",
              "correspondence.content.messageBody": "Se vedleggene."}
    fields.update({f"recipients[{index}]": f"urn:altinn:person:identifier-no:{pid}"
                   for index, pid in enumerate(persons)})
    for index in range(ATTACHMENTS):
        fields[f"correspondence.content.attachments[{index}].fileName"] = f"vedlegg-{index}.pdf"
        fields[f"correspondence.content.attachments[{index}].sendersReference"] = f"v-{index}"
    files = [("Attachments", (f"vedlegg-{index}.pdf", bytes([index]) * 200_000)) for index in range(ATTACHMENTS)]
    response = await client.post(f"{API}/correspondence/upload", headers=sender, data=fields, files=files)
    assert response.status_code == 200, response.text
    assert len(response.json()["correspondences"]) == RECIPIENTS
    assert len(response.json()["attachmentIds"]) == ATTACHMENTS
    await run_jobs(database)
    assert await count(database, Correspondence, Correspondence.status == "Published") == RECIPIENTS
    assert await count(database, CorrespondenceAttachment) == ATTACHMENTS
    assert await count(database, CorrespondenceAttachmentLink) == RECIPIENTS * ATTACHMENTS


async def test_a_worker_killed_during_the_fan_out_leaves_one_correspondence_and_one_order_per_recipient(
        client, database, resource, sender, settings, job_settings):
    persons = synthetic_persons(RECIPIENTS * REQUESTS)
    for start in range(0, len(persons), RECIPIENTS):
        body = {"correspondence": {
            "resourceId": RESOURCE, "sendersReference": f"varslet-utsending-{start}",
            "content": {"language": "nb", "messageTitle": "Til alle", "messageBody": "Hei $recipientName$."},
            "notification": {"notificationTemplate": "GenericAltinnMessage", "notificationChannel": "Email",
                             "sendReminder": True}},
            "recipients": [f"urn:altinn:person:identifier-no:{pid}" for pid in persons[start:start + RECIPIENTS]]}
        response = await client.post(f"{API}/correspondence", json=body, headers=sender)
        assert response.status_code == 200, response.text

    environment = felles_command_environment(settings.data_dir, DATABASE_URL=settings.database_url,
                                             SECRET_KEY=settings.secret_key, ENVIRONMENT="test")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "felles.cli", "worker", "--concurrency", "1", env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while (ordered := await count(database, CorrespondenceNotification)) == 0:
            assert worker.returncode is None and time.monotonic() < deadline, "the worker did not start publishing"
            await asyncio.sleep(0.01)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        await asyncio.wait_for(worker.wait(), 30)
    total = RECIPIENTS * REQUESTS
    assert ordered < total, "the fan-out finished before the kill; nothing was shown"
    # Each request's publishing is one transaction: all of its recipients or none.
    assert ordered % RECIPIENTS == 0
    assert await count(database, Correspondence, Correspondence.status == "Published") == ordered

    # The killed worker's leases run out; another worker takes the jobs over.
    clock.advance(timedelta(minutes=10))
    await run_jobs(database)
    assert await count(database, Correspondence) == total
    assert await count(database, Correspondence, Correspondence.status == "Published") == total
    assert await count(database, CorrespondenceNotification) == total
    assert await count(database, NotificationOrderChain,
                       NotificationOrderChain.idempotency_id.like("correspondence-%")) == total
    assert await count(database, NotificationOrder) == 2 * total  # the notice and its reminder
