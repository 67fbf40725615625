"""The virus scan of uploaded files: a durable job per file of a data type with `enableFileScan`.

The job is enqueued in the transaction that stores the data element (as `Pending`), so a file is never left
unscanned: a worker streams the bytes to the virus scanner (`core.virusscan`, clamd) and records `Clean` or
`Infected`. A scanner that fails or cannot be reached is retried with backoff; the file stays `Pending` meanwhile.
A job for bytes since replaced or deleted does nothing: the newer bytes have their own job.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.blobs import BlobNotFound, open_blob_store
from felles.core.config import get_settings
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.virusscan import Clean, Infected, ScanFailed, open_virus_scanner
from felles.storage import service as storage
from felles.storage.models import DataElement

SCAN_JOB = "apps.scan_data_element"
log = structlog.get_logger("felles.apps.scan")


class ScannerUnavailable(RuntimeError):
    """The scanner gave no verdict: the job is tried again later."""


async def enqueue_scan(session: AsyncSession, element: DataElement) -> None:
    """Scan the element's current bytes once the transaction commits."""
    await enqueue(session, SCAN_JOB, {"dataElementId": str(element.id), "blobKey": element.blob_key})


@job_handler(SCAN_JOB, max_attempts=20, backoff_base=timedelta(seconds=5), lease=timedelta(minutes=15))
async def scan_data_element(payload: dict[str, Any], context: JobContext) -> None:
    element = await storage.find_data_element(context.session, uuid.UUID(payload["dataElementId"]))
    if element is None or element.blob_key != payload["blobKey"]:
        return
    settings = get_settings()
    try:
        stream = await open_blob_store(settings).get(element.blob_key)
    except BlobNotFound:
        return  # deleted since: nothing left to scan
    result = await open_virus_scanner(settings).scan(stream)
    if isinstance(result, ScanFailed):
        raise ScannerUnavailable(result.reason)
    if isinstance(result, Infected):
        log.warning("infected_file", data_element=str(element.id), signature=result.signature)
        verdict = "Infected"
    else:  # NotScanned: the scanner was switched off since the upload
        verdict = "Clean" if isinstance(result, Clean) else "NotApplicable"
    storage.set_file_scan_result_in_transaction(element, verdict)
