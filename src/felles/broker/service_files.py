"""A transfer's file: uploaded in one streamed request or resumably (TUS 1.0), processed (checksum, virus scan),
and downloaded whole or by byte range. Memory stays constant: bytes pass through in blocks of a few MB on their
way to and from the blob store (its `BLOCK_SIZE` up, `READ_SIZE` down).

A file is stored as parts, in order (`FileTransferPart`). A streamed upload is one part: the blob store computes
its MD5 as it writes, which is checked against the sender's checksum at once. A resumable upload commits a part
every `PART_SIZE` bytes, so that a killed process loses at most the part it was writing: after a restart the
`Upload-Offset` is the end of the last committed part, and the client sends from there. Its MD5 is computed in
processing, by reading the parts back, together with the virus scan where the transfer uses one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from felles.broker import schemas as s
from felles.broker import service
from felles.broker.models import FileTransfer, FileTransferPart
from felles.broker.schemas import FileTransferStatus, RecipientFileTransferStatus
from felles.broker.service import Caller
from felles.core.audit import Actor
from felles.core.blobs import BlobStore, Checksums, open_blob_store
from felles.core.clock import utcnow
from felles.core.config import Settings, VirusScannerKind, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, InvalidInput, Problem
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.virusscan import Infected, ScanFailed, open_virus_scanner

# A download reads this much at a time, with the blob store's READ_AHEAD (2) reads under way while a chunk is
# sent: about five such per download in memory (two reads' buffers, their bytes, the chunk being sent).
READ_SIZE = 4 * 1024 * 1024
# A resumable upload's unit of durability: what a killed process may lose of the bytes it was receiving.
PART_SIZE = 16 * 1024 * 1024
PROCESS_ACTOR = Actor("system:broker-processing")


class UploadNotAllowed(Conflict):
    code = "upload_not_allowed"
    title = "The file transfer does not take an upload now"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"
    title = "Upload-Offset does not match"


class _Stream:
    """One byte stream, cut into consecutive pieces of given lengths (the last one shorter): the parts of a
    resumable upload. The chunks pass as they came; the blob store gathers them into blocks for its threads."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._source = aiter(chunks)
        self._pending = b""
        self._ended = False

    async def _fill(self) -> None:
        try:
            while not self._pending:
                self._pending = await anext(self._source)
        except StopAsyncIteration:
            self._ended = True

    async def at_end(self) -> bool:
        if not self._pending and not self._ended:
            await self._fill()
        return not self._pending and self._ended

    async def take(self, length: int) -> AsyncIterator[bytes]:
        remaining = length
        while remaining > 0 and not await self.at_end():
            piece, self._pending = self._pending[:remaining], self._pending[remaining:]
            remaining -= len(piece)
            yield piece


def _part_key(transfer_id: uuid.UUID, offset: int) -> str:
    # A fresh suffix: a part rewritten at the same offset after a crash never meets the killed writer's file.
    return f"broker/{transfer_id}/{offset:016d}-{uuid7().hex}"


async def _store_parts(database: Database, blobs: BlobStore, transfer_id: uuid.UUID, offset: int, stream: _Stream,
                       *, room: int, part_size: int | None) -> tuple[int, str | None]:
    """Store the stream from `offset` on, committing a part every `part_size` bytes (None: one part), at most
    `room` bytes. Returns the new offset and, for a single part, its MD5. More than `room` bytes: 413."""
    single_md5 = None
    limit = offset + room
    while not await stream.at_end():
        if room <= 0:
            raise service.problem_too_large(limit)
        length = room if part_size is None else min(part_size, room)
        key = _part_key(transfer_id, offset)
        # MD5 only: it is what the API reports and checks; a SHA-256 too would cost more than the disk's time.
        stored = await blobs.put(key, stream.take(length), sha256=False)
        try:
            async with database.transaction() as session:
                row = await service.locked_transfer(session, transfer_id)
                if row.status != FileTransferStatus.UPLOAD_STARTED.value or row.size != offset:
                    raise UploadNotAllowed(f"The file transfer is {row.status} at offset {row.size}; this upload "
                                           "has stopped.")
                session.add(FileTransferPart(file_transfer_id=transfer_id, offset=offset, size=stored.size,
                                             blob_key=key))
                row.size = offset + stored.size
        except BaseException:
            await blobs.delete(key)
            raise
        offset += stored.size
        room -= stored.size
        single_md5 = stored.md5 if part_size is None else None
    return offset, single_md5


async def _start_upload(database: Database, settings: Settings, caller: Caller, transfer_id: uuid.UUID,
                        length: int | None, *, resumable: bool) -> int:
    """Move an Initialized transfer to UploadStarted; the size limit is checked first. Returns the limit."""
    row = await service.authorized_transfer(database, caller, transfer_id, s.Role.SENDER)
    async with database.transaction() as session:
        config = await service.resource_settings(session, row.resource_id)
        limit = service.max_size(config)
        if length is not None and length > limit:
            raise service.problem_too_large(limit)
        row = await service.locked_transfer(session, transfer_id)
        if row.status != FileTransferStatus.INITIALIZED.value:
            raise UploadNotAllowed(f"The file transfer is {row.status}; only an Initialized transfer takes an "
                                   "upload.")
        row.upload_length = length if resumable else None
        await service.set_status(session, settings, row, FileTransferStatus.UPLOAD_STARTED, caller.actor)
    return limit


async def _fail(database: Database, settings: Settings, transfer_id: uuid.UUID, reason: str,
                actor: Actor) -> None:
    """End the transfer Failed with `reason`, its stored bytes deleted, the sender told (`uploadfailed`)."""
    async with database.transaction() as session:
        row = await service.locked_transfer(session, transfer_id)
        if row.status in (FileTransferStatus.CANCELLED.value, FileTransferStatus.FAILED.value):
            return
        await service.set_status(session, settings, row, FileTransferStatus.FAILED, actor,
                                 text=f"Upload failed: {reason}", notify=[row.sender])
        keys = await service.detach_parts(session, row)
    await service.delete_blobs(keys)


async def upload(database: Database, settings: Settings, blobs: BlobStore, caller: Caller, transfer_id: uuid.UUID,
                 content_length: int | None, chunks: AsyncIterable[bytes]) -> None:
    """The whole file in one streamed request. Its MD5 is computed as it is stored: a checksum that does not
    match ends the transfer Failed, with the reason, and answers 400."""
    limit = await _start_upload(database, settings, caller, transfer_id, content_length, resumable=False)
    try:
        size, md5 = await _store_parts(database, blobs, transfer_id, 0, _Stream(chunks), room=limit, part_size=None)
    except UploadNotAllowed:
        raise
    except Problem as problem:
        await _fail(database, settings, transfer_id, problem.detail, caller.actor)
        raise
    except BaseException:
        await _fail(database, settings, transfer_id, "the upload was interrupted", caller.actor)
        raise
    if content_length is not None and size != content_length:
        await _fail(database, settings, transfer_id, f"{size} bytes arrived of the {content_length} announced",
                    caller.actor)
        raise InvalidInput("The body ended before Content-Length bytes.", code="incomplete_upload")
    failure = await _finish_upload(database, settings, transfer_id, md5, caller.actor)
    if failure is not None:
        raise InvalidInput(failure, code="checksum_mismatch")


async def _finish_upload(database: Database, settings: Settings, transfer_id: uuid.UUID, md5: str | None,
                         actor: Actor) -> str | None:
    """All bytes are stored: check the checksum if known now, then publish at once, or leave the transfer
    UploadProcessing for the processing job (checksum of a resumable upload, virus scan). Returns why it
    failed, if it did."""
    async with database.transaction() as session:
        row = await service.locked_transfer(session, transfer_id)
        if md5 is not None and row.checksum is not None and row.checksum != md5:
            reason = f"Checksum mismatch: the sender gave {row.checksum}, the file's MD5 is {md5}"
            await service.set_status(session, settings, row, FileTransferStatus.FAILED, actor, text=reason,
                                     notify=[row.sender])
            keys = await service.detach_parts(session, row)
        else:
            keys = []
            reason = None
            row.checksum = row.checksum or md5
            await service.set_status(session, settings, row, FileTransferStatus.UPLOAD_PROCESSING, actor,
                                     notify=[row.sender])
            if md5 is None or (row.use_virus_scan and settings.virus_scanner is VirusScannerKind.CLAMD):
                await enqueue(session, "broker.process", {"fileTransferId": str(row.id)},
                              dedupe_key=f"broker.process:{row.id}")
            else:
                await _publish(session, settings, row, actor)
    await service.delete_blobs(keys)
    return reason


async def _publish(session: Any, settings: Settings, row: FileTransfer, actor: Actor) -> None:
    recipients = await service.recipients_of(session, row.id)
    await service.set_status(session, settings, row, FileTransferStatus.PUBLISHED, actor,
                             notify=[row.sender, *(recipient.recipient for recipient in recipients)])


# --- resumable upload (TUS 1.0: core, creation, termination) --------------------------------------------------
@dataclass(frozen=True)
class UploadState:
    offset: int
    length: int | None


async def tus_create(database: Database, settings: Settings, caller: Caller, transfer_id: uuid.UUID,
                     upload_length: int) -> None:
    """Create the resumable upload of an Initialized transfer, `upload_length` bytes (refused over the limit)."""
    await _start_upload(database, settings, caller, transfer_id, upload_length, resumable=True)


async def tus_state(database: Database, caller: Caller, transfer_id: uuid.UUID) -> UploadState:
    """How far the resumable upload is: the bytes committed (`Upload-Offset`) of `Upload-Length`."""
    row = await service.authorized_transfer(database, caller, transfer_id, s.Role.SENDER)
    if row.upload_length is None or row.status in (FileTransferStatus.CANCELLED.value, FileTransferStatus.PURGED.value):
        raise service.TransferNotFound(f"No resumable upload for file transfer {transfer_id}.")
    return UploadState(row.size, row.upload_length)


async def tus_append(database: Database, settings: Settings, blobs: BlobStore, caller: Caller,
                     transfer_id: uuid.UUID, offset: int, content_length: int | None,
                     chunks: AsyncIterable[bytes]) -> int:
    """Store the bytes of a PATCH at `offset`, which must be the upload's current offset; returns the new offset.
    The last byte starts processing."""
    state = await tus_state(database, caller, transfer_id)
    length = state.length or 0
    if offset != state.offset:
        raise OffsetMismatch(f"Upload-Offset is {offset}, but the upload is at {state.offset}.",
                             extra={"uploadOffset": state.offset})
    if content_length is not None and offset + content_length > length:
        raise service.problem_too_large(length)
    new_offset, _ = await _store_parts(database, blobs, transfer_id, offset, _Stream(chunks),
                                       room=length - offset, part_size=PART_SIZE)
    if new_offset == length:
        await _finish_upload(database, settings, transfer_id, None, caller.actor)
    return new_offset


# --- processing -----------------------------------------------------------------------------------------------
async def _parts(database: Database, transfer_id: uuid.UUID) -> list[FileTransferPart]:
    async with database.transaction() as session:
        return list(await session.scalars(select(FileTransferPart).where(
            FileTransferPart.file_transfer_id == transfer_id).order_by(FileTransferPart.offset)))


async def _content(blobs: BlobStore, parts: list[FileTransferPart], start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes `start` to `end` (exclusive) of the file made of `parts`."""
    for part in parts:
        if part.offset + part.size <= start or part.offset >= end:
            continue
        stream = await blobs.get(part.blob_key, start=max(0, start - part.offset),
                                 end=min(part.size, end - part.offset), chunk_size=READ_SIZE)
        async for chunk in stream:
            yield chunk


@job_handler("broker.process", lease=timedelta(hours=2), max_attempts=5)
async def _process(payload: dict[str, Any], context: JobContext) -> None:
    """UploadProcessing: read the file once, computing its MD5 and (where used) scanning it; then Published, or
    Failed with the reason. The long read runs outside the job's transaction, which only writes the outcome."""
    settings = get_settings()
    transfer_id = uuid.UUID(payload["fileTransferId"])
    async with context.database.transaction() as session:
        row = await session.get(FileTransfer, transfer_id)
    if row is None or row.status != FileTransferStatus.UPLOAD_PROCESSING.value:
        return
    parts, size = await _parts(context.database, transfer_id), row.size
    # Hashed on a thread while the next bytes are read and scanned.
    checksums = Checksums(sha256=False)

    async def hashed() -> AsyncIterator[bytes]:
        async for chunk in _content(open_blob_store(settings), parts, 0, size):
            await checksums.add(chunk)
            yield chunk

    reason = None
    try:
        if row.use_virus_scan and settings.virus_scanner is VirusScannerKind.CLAMD:
            result = await open_virus_scanner(settings).scan(hashed())
            if isinstance(result, ScanFailed):
                raise RuntimeError(f"the virus scan failed (tried again later): {result.reason}")
            if isinstance(result, Infected):
                reason = f"Malware detected: {result.signature}"
        else:
            async for _ in hashed():
                pass
        await checksums.finish()
    except BaseException:
        await checksums.abandon()
        raise
    digest = checksums.md5
    if reason is None and row.checksum is not None and row.checksum != digest:
        reason = f"Checksum mismatch: the sender gave {row.checksum}, the file's MD5 is {digest}"
    row = await service.locked_transfer(context.session, transfer_id)
    if row.status != FileTransferStatus.UPLOAD_PROCESSING.value:
        return
    if reason is not None:
        await service.set_status(context.session, settings, row, FileTransferStatus.FAILED, PROCESS_ACTOR,
                                 text=f"Upload failed: {reason}", notify=[row.sender])
        keys = await service.detach_parts(context.session, row)
        await context.session.flush()
        await service.delete_blobs(keys)
        return
    row.checksum = row.checksum or digest
    await _publish(context.session, settings, row, PROCESS_ACTOR)


# --- download -------------------------------------------------------------------------------------------------
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Problem):
    status = 416
    code = "range_not_satisfiable"
    title = "Range not satisfiable"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range (start, end exclusive) a `Range` header asks for, or None for the whole file. A header
    this does not understand (several ranges, another unit) is ignored, as RFC 9110 allows."""
    found = _RANGE.match((header or "").strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.groups()
    if first == "":  # the last N bytes
        return max(0, size - int(last)), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or (last != "" and int(last) < start):
        raise RangeNotSatisfiable(f"The file has {size} bytes; bytes {first}-{last} are not in it.",
                                  headers={"Content-Range": f"bytes */{size}"})
    return start, end


@dataclass
class Download:
    file_name: str
    size: int
    start: int
    end: int
    partial: bool
    chunks: AsyncIterator[bytes]


async def download(database: Database, blobs: BlobStore, caller: Caller, transfer_id: uuid.UUID,
                   range_header: str | None) -> Download:
    """The file for a recipient, whole or one byte range; the recipient's status becomes DownloadStarted."""
    row = await service.authorized_transfer(database, caller, transfer_id, s.Role.RECIPIENT)
    if row.status not in (FileTransferStatus.PUBLISHED.value, FileTransferStatus.ALL_CONFIRMED_DOWNLOADED.value):
        raise Conflict(f"The file transfer is {row.status}; there is no file to download.",
                       code="not_downloadable", title="No file to download")
    wanted = byte_range(range_header, row.size)
    start, end = wanted or (0, row.size)
    async with database.transaction() as session:
        mine = next(recipient for recipient in await service.recipients_of(session, transfer_id)
                    if recipient.recipient == caller.party)
        if mine.status == RecipientFileTransferStatus.INITIALIZED.value:
            transfer = await service.locked_transfer(session, transfer_id)
            service.set_recipient_status(session, transfer, mine, RecipientFileTransferStatus.DOWNLOAD_STARTED,
                                          utcnow())
    parts = await _parts(database, transfer_id)
    return Download(row.file_name, row.size, start, end, wanted is not None, _content(blobs, parts, start, end))
