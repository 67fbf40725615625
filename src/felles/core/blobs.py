"""The blob store: files (attachments, data elements, transfers) kept outside the database, streamed in and out
in constant memory.

Two implementations behind one interface, chosen by `FELLES_BLOB_STORE`:

- `local` (the embedded default): a folder, `FELLES_DATA_DIR/blobs`. An upload is written to a temporary file
  in the same file system and renamed into place when complete, so a process killed at any moment leaves no
  half blob under the final key (only a temporary file, which a periodic job removes).
- `s3`: an S3-compatible object store (`FELLES_S3_ENDPOINT`, `FELLES_S3_BUCKET`, keys), through `obstore`.
  An object appears only when its upload (multipart for large ones) completes.

Keys are relative paths of `/`-separated segments (`storage/<instance>/<data element>`), chosen by the
components, never by users. Errors: `BlobNotFound` (a 404 problem) for a key that holds no blob; any other
failure of the store is its own exception (an `OSError` or an `obstore` error), a 500 that the caller may retry.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import fcntl
import hashlib
import mmap
import os
import re
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from felles.core.config import BlobStoreKind, Settings, get_settings
from felles.core.errors import NotFound
from felles.core.jobs import JobContext, job_handler

# Bytes read (and handed to the caller) at a time: large enough for few thread hops or requests, small enough
# that many concurrent downloads stay cheap.
CHUNK_SIZE = 1024 * 1024
# Bytes of an upload gathered before they go to the threads that hash and write them: few hops per byte, and
# at most BLOCKS_IN_FLIGHT + 1 blocks of memory per upload.
BLOCK_SIZE = 4 * 1024 * 1024
# Reads of a stream under way at once: the disk has the next one queued while it does one, and a chunk is read
# while the one before is sent. Two reach the disk's speed here; each costs a chunk of memory.
READ_AHEAD = 2
# Blocks of an upload in its threads at once (BLOCK_SIZE of memory each): the MD5 goes on while a write is slow.
BLOCKS_IN_FLIGHT = 3
_O_DIRECT = getattr(os, "O_DIRECT", 0)
# O_DIRECT writes whole units of the device's block size, from memory aligned alike: a page is a multiple of both.
_DIRECT_ALIGNMENT = mmap.PAGESIZE
_KEY = re.compile(r"[A-Za-z0-9_.=+-]+(/[A-Za-z0-9_.=+-]+)*")
_TEMPORARY = ".uploads"
# An upload whose temporary file has not changed for this long belongs to a process that is gone.
ABANDONED_AFTER = timedelta(days=1)


class BlobNotFound(NotFound):
    code = "blob_not_found"
    title = "The file does not exist"


@dataclass(frozen=True)
class StoredBlob:
    """What `put` stored: its size and checksums (hex), computed while it streamed through (`sha256` is None
    unless the caller asked for it)."""

    key: str
    size: int
    sha256: str | None
    md5: str


@dataclass(frozen=True)
class BlobInfo:
    """One blob as `list` finds it, for sweeps (orphans, retention)."""

    key: str
    size: int
    modified_at: datetime


@dataclass
class BlobStream:
    """An opened blob: `size` is the whole blob's, `start`/`end` the byte range being read (end exclusive);
    iterate it for the bytes, in chunks of about CHUNK_SIZE."""

    size: int
    start: int
    end: int
    chunks: AsyncIterator[bytes]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes], *, sha256: bool = False) -> StoredBlob:
        """Store the bytes under `key` (replacing a blob there); the blob exists only once all arrived. Its MD5
        is always computed (data elements' contentHash, the broker's checksum); its SHA-256 only with
        `sha256=True`: a second hash of every byte costs about a quarter of a local upload's CPU (0.5 s a GiB of
        2 on our machine: docs/performance.md), and no caller keeps it."""

    async def get(self, key: str, *, start: int = 0, end: int | None = None,
                  chunk_size: int = CHUNK_SIZE) -> BlobStream:
        """Open bytes `start` to `end` (exclusive; None: to the end, clamped to the size); `BlobNotFound`. The
        stream yields chunks of about `chunk_size` bytes (larger: fewer hops per byte, more memory per reader)."""

    async def delete(self, key: str) -> None:
        """Remove the blob; a key that holds none is no error (a sweep may run twice)."""

    async def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every blob whose key starts with `prefix`, in no particular order."""

    async def check(self) -> str:
        """A description of the working store, or an exception saying why it does not work."""


def check_key(key: str) -> str:
    """Refuse (ValueError) a key that is not relative `/`-separated segments of safe characters."""
    if not _KEY.fullmatch(key) or any(segment in (".", "..") for segment in key.split("/")) \
            or key.startswith(_TEMPORARY):
        raise ValueError(f"{key!r} is not a blob key")
    return key


class Checksums:
    """Size, MD5 (S3's ETag of a simple upload; Altinn Storage reports it) and, if asked for, SHA-256 of bytes
    streaming by, computed off the event loop in a pipeline: chunks are gathered into blocks of BLOCK_SIZE, and
    each block is hashed (and handed to `write`, e.g. a file's) on worker threads while the event loop receives
    the next. hashlib and a file's write let go of the GIL on large buffers, so each step has a thread of its own
    beside the event loop, and goes through the blocks in order at its own pace: the stream moves at the pace of
    its slowest step (the MD5, one core's worth) instead of the sum of them all, and a block whose write is slow
    does not hold up the MD5 of the next. At most BLOCKS_IN_FLIGHT blocks are in the threads, and one gathered.

    `add` each chunk, then `finish`; if the stream fails, `abandon` waits until no thread still works on it (the
    file `write` writes to may be closed then)."""

    def __init__(self, *, sha256: bool = False, write: Callable[[bytes], object] | None = None) -> None:
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256() if sha256 else None
        self._steps: list[Callable[[bytes], object]] = [self._md5.update]
        self._steps += [self._sha256.update] if self._sha256 is not None else []
        self._steps += [write] if write is not None else []
        self._gathered: list[bytes] = []
        self._gathered_size = 0
        self._latest: list[asyncio.Task[None] | None] = [None] * len(self._steps)  # each step's latest block
        self._blocks: collections.deque[list[asyncio.Task[None]]] = collections.deque()  # oldest first

    async def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._gathered.append(chunk)
        self._gathered_size += len(chunk)
        if self._gathered_size >= BLOCK_SIZE:
            await self._hand_over()

    async def finish(self) -> None:
        """Hash (and write) what is still gathered; returns once every step has seen every byte."""
        if self._gathered:
            await self._hand_over()
        while self._blocks:
            await self._settle_oldest()

    async def abandon(self) -> None:
        """Wait for the blocks in the threads, whatever their outcome (the stream failed; its error is the one
        raised)."""
        steps = [step for block in self._blocks for step in block]
        if steps:
            await asyncio.wait(steps)
            for step in steps:
                _retrieved(step)  # a second error is not reported as lost

    def stored(self, key: str) -> StoredBlob:
        return StoredBlob(key, self.size, self._sha256.hexdigest() if self._sha256 is not None else None,
                          self._md5.hexdigest())

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    async def _hand_over(self) -> None:
        block, self._gathered, self._gathered_size = self._gathered, [], 0
        while len(self._blocks) >= BLOCKS_IN_FLIGHT:
            await self._settle_oldest()
        steps = []
        for index, step in enumerate(self._steps):
            task = asyncio.create_task(_after(self._latest[index], step, block))
            self._latest[index] = task
            steps.append(task)
        self._blocks.append(steps)

    async def _settle_oldest(self) -> None:
        steps = self._blocks[0]
        # Not cancelled with the upload: a cancelled upload leaves the threads to finish, and `abandon` waits.
        await asyncio.wait(steps)
        self._blocks.popleft()
        errors = [error for step in steps if (error := step.exception()) is not None]
        if errors:
            raise errors[0]


async def _after(previous: asyncio.Task[None] | None, step: Callable[[bytes], object], block: list[bytes]) -> None:
    """The step over the block's chunks on a thread, once it has been over the block before (its error, if any,
    is this block's too)."""
    if previous is not None:
        await asyncio.wait([previous])
        previous.result()
    await asyncio.to_thread(_each_chunk, step, block)


def _each_chunk(step: Callable[[bytes], object], block: list[bytes]) -> None:
    for chunk in block:
        step(chunk)


def _clamp(size: int, start: int, end: int | None) -> tuple[int, int]:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")
    end = size if end is None else min(end, size)
    return min(start, end), end


# --- a local folder -------------------------------------------------------------------------------------------
class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, sha256: bool = False) -> StoredBlob:
        final = self._path(key)
        temporary = self.root / _TEMPORARY / f"{uuid.uuid4().hex}.part"
        await asyncio.to_thread(temporary.parent.mkdir, parents=True, exist_ok=True)
        file = await asyncio.to_thread(_NewFile, temporary)
        checksums = Checksums(sha256=sha256, write=file.write)
        try:
            async for chunk in chunks:
                await checksums.add(chunk)
            await checksums.finish()
            await asyncio.to_thread(file.flush_to_disk)
            file.close()
            await asyncio.to_thread(_move_into_place, temporary, final)
        except BaseException:
            try:
                await checksums.abandon()
            finally:  # cancelled again while waiting: the close still waits for a write under way
                file.close()
                temporary.unlink(missing_ok=True)
            raise
        return checksums.stored(key)

    async def get(self, key: str, *, start: int = 0, end: int | None = None,
                  chunk_size: int = CHUNK_SIZE) -> BlobStream:
        path = self._path(key)
        _clamp(0, start, end)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise BlobNotFound(f"No file {key}.") from exc
        first, last = _clamp(size, start, end)
        # The file is opened when the stream is read, so that a stream never read holds no file open.
        return BlobStream(size, first, last, _read(path, key, first, last, chunk_size))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        # One directory at a time, so that a sweep over millions of blobs holds one directory's names.
        pending = [self.root]
        while pending:
            directory = pending.pop()
            for entry in await asyncio.to_thread(_entries, directory):
                key = entry.path.relative_to(self.root).as_posix()
                if key == _TEMPORARY:
                    continue
                if entry.is_directory:
                    if key.startswith(prefix) or prefix.startswith(key + "/"):
                        pending.append(entry.path)
                elif key.startswith(prefix):
                    yield BlobInfo(key, entry.size, entry.modified_at)

    async def discard_abandoned_uploads(self, older_than: timedelta) -> int:
        """Remove temporary files of uploads a killed process left; returns how many."""
        cutoff = datetime.now(UTC) - older_than
        abandoned = [entry.path for entry in await asyncio.to_thread(_entries, self.root / _TEMPORARY)
                     if entry.modified_at < cutoff]
        for path in abandoned:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        return len(abandoned)

    async def check(self) -> str:
        await asyncio.to_thread((self.root / _TEMPORARY).mkdir, parents=True, exist_ok=True)
        if not os.access(self.root / _TEMPORARY, os.W_OK):
            raise PermissionError(f"{self.root} is not writable")
        return f"local folder {self.root}"


class _NewFile:
    """A file being written. Its first BLOCK_SIZE bytes go through the page cache, as any file's (a small blob,
    such as a receipt or a form's data, is often read again soon). The rest of a large one goes past the cache
    (O_DIRECT), where the system allows it, from an aligned buffer straight to the disk: through the cache each
    new page costs the kernel CPU of the order of the MD5 of its bytes (with this, an upload's CPU per GiB halved
    on our 2-core machine: docs/performance.md), and a large upload would fill the cache with bytes nobody reads
    soon. The last bytes, short of an alignment unit, go through the cache again."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._offset = 0  # bytes written to the file
        self._direct: bool | None = None  # None: not tried yet; False: through the cache to the end
        self._buffer: mmap.mmap | None = None
        self._filled = 0
        # Held by each write, flush and the close: a close while a thread still writes (an upload cancelled
        # during its flush) waits for it, rather than closing a descriptor number that another file may take.
        self._lock = threading.Lock()
        self._closed = False

    def write(self, chunk: bytes) -> None:
        with self._lock:
            self._check_open()
            self._write(chunk)

    def flush_to_disk(self) -> None:
        with self._lock:
            self._check_open()
            self._write_buffer()
            if self._filled:  # the tail, short of an alignment unit, through the page cache
                self._stop_direct()
                self._write_buffer()
            os.fsync(self._fd)

    def close(self) -> None:
        """Close the file; a second close does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._fd)
            # Let go of, not closed: a failed write's traceback may still hold a view of it.
            self._buffer = None

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the file is closed")

    def _write(self, chunk: bytes) -> None:
        with memoryview(chunk) as rest:
            while rest:
                if self._direct:
                    assert self._buffer is not None
                    taken = min(len(rest), BLOCK_SIZE - self._filled)
                    self._buffer[self._filled:self._filled + taken] = rest[:taken]
                    self._filled += taken
                    rest = rest[taken:]
                    if self._filled == BLOCK_SIZE:
                        self._write_buffer()
                    continue
                cached = len(rest) if self._direct is False else min(len(rest), BLOCK_SIZE - self._offset)
                written = os.write(self._fd, rest[:cached])
                self._offset += written
                rest = rest[written:]
                if self._direct is None and self._offset == BLOCK_SIZE:
                    self._direct = self._start_direct()

    def _start_direct(self) -> bool:
        if not _O_DIRECT:
            return False
        try:
            fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) | _O_DIRECT)
        except OSError as exc:  # a file system without it (EINVAL)
            if exc.errno != errno.EINVAL:
                raise
            return False
        self._buffer = mmap.mmap(-1, BLOCK_SIZE)  # page-aligned, as O_DIRECT wants
        return True

    def _stop_direct(self) -> None:
        fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~_O_DIRECT)
        self._direct = False

    def _write_buffer(self) -> None:
        """Write the buffer's whole alignment units and keep the rest; once no longer direct, write all of it."""
        length = self._filled - self._filled % _DIRECT_ALIGNMENT if self._direct else self._filled
        if self._buffer is None or length == 0:
            return
        written = 0
        with memoryview(self._buffer) as buffer:
            while written < length:
                try:
                    written += os.write(self._fd, buffer[written:length])
                except OSError as exc:  # a file system that took the flag but refuses the writes
                    if exc.errno != errno.EINVAL or not self._direct:
                        raise
                    self._stop_direct()
                    length = self._filled
            buffer[:self._filled - length] = buffer[length:self._filled]
        self._filled -= length
        self._offset += length


def _move_into_place(temporary: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, final)  # atomic within one file system: the old blob or the new, never a half


@dataclass(frozen=True)
class _Entry:
    path: Path
    is_directory: bool
    size: int
    modified_at: datetime


def _entries(directory: Path) -> list[_Entry]:
    try:
        with os.scandir(directory) as found:
            entries = []
            for entry in found:
                stat = entry.stat()
                entries.append(_Entry(Path(entry.path), entry.is_dir(), stat.st_size,
                                      datetime.fromtimestamp(stat.st_mtime, UTC)))
            return entries
    except FileNotFoundError:
        return []


class _Reader(Protocol):
    def read_at(self, position: int, size: int, /) -> bytes:
        """`size` bytes from `position` (fewer only where the file ends); several threads may read at once."""

    def close(self) -> None:
        """Close the file now, or when the last read under way ends."""


class _ReadsUnderWay:
    """Counts a file's reads under way on threads, so that its close waits for the last of them: a stream
    cancelled while a thread still reads must not close a descriptor number another file may take meanwhile."""

    def __init__(self, close: Callable[[], None]) -> None:
        self._close = close
        self._lock = threading.Lock()
        self._count = 0
        self._closing = False

    def begin(self) -> None:
        with self._lock:
            if self._closing:
                raise ValueError("the file is closed")
            self._count += 1

    def end(self) -> None:
        with self._lock:
            self._count -= 1
            last = self._closing and self._count == 0
        if last:
            self._close()

    def close(self) -> None:
        """Close at once if no read is under way, else when the last one ends; a second close does nothing."""
        with self._lock:
            now = not self._closing and self._count == 0
            self._closing = True
        if now:
            self._close()


class _CachedReader:
    """Reads through the page cache: a small range (a small blob is written through the cache, and is often read
    again soon)."""

    def __init__(self, path: Path, chunk_size: int) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._reads = _ReadsUnderWay(lambda: os.close(self._fd))

    def read_at(self, position: int, size: int, /) -> bytes:
        self._reads.begin()
        try:
            parts = []
            while size > 0 and (part := os.pread(self._fd, size, position)):
                parts.append(part)
                position += len(part)
                size -= len(part)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        finally:
            self._reads.end()

    def close(self) -> None:
        self._reads.close()


class _DirectReader:
    """Reads a large blob past the page cache (O_DIRECT) into aligned buffers, one for each read under way, and
    hands out copies of what it read. Through the cache, the kernel's first touch of each new page costs about as
    much as on the way in (1.8 s of CPU a GiB on our 2-core machine, against 0.2-0.3 s direct); and the blob,
    written past the cache, is seldom in it. Where O_DIRECT is refused, the same reads go through the cache."""

    def __init__(self, path: Path, chunk_size: int) -> None:
        try:
            self._fd = os.open(path, os.O_RDONLY | _O_DIRECT)
            self._direct = _O_DIRECT != 0
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._fd = os.open(path, os.O_RDONLY)
            self._direct = False
        # A chunk starts and ends within an alignment unit of the aligned range read.
        self._buffer_size = chunk_size + 2 * _DIRECT_ALIGNMENT
        self._free: list[mmap.mmap] = []  # buffers of reads that ended, for the next (READ_AHEAD at most)
        self._lock = threading.Lock()
        self._reads = _ReadsUnderWay(self._close_now)

    def read_at(self, position: int, size: int, /) -> bytes:
        self._reads.begin()
        try:
            with self._lock:
                buffer = self._free.pop() if self._free else mmap.mmap(-1, self._buffer_size)
            try:
                return self._read_into(buffer, position, size)
            finally:
                with self._lock:
                    self._free.append(buffer)
        finally:
            self._reads.end()

    def close(self) -> None:
        self._reads.close()

    def _read_into(self, buffer: mmap.mmap, position: int, size: int) -> bytes:
        first = position - position % _DIRECT_ALIGNMENT
        skip = position - first
        length = -(-(skip + size) // _DIRECT_ALIGNMENT) * _DIRECT_ALIGNMENT
        got = 0
        with memoryview(buffer) as view:
            while got < skip + size:
                direct = self._direct
                try:
                    read = os.preadv(self._fd, [view[got:length]], first + got)
                except OSError as exc:  # a file system that took the flag but refuses the reads
                    if exc.errno != errno.EINVAL or not direct:
                        raise
                    self._stop_direct()
                    continue
                if read == 0:  # the end of the file
                    break
                got += read  # a short read mid-file continues unaligned, which falls back to the cache
            return bytes(view[skip:max(skip, min(got, skip + size))])

    def _stop_direct(self) -> None:
        with self._lock:
            if self._direct:
                fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~_O_DIRECT)
                self._direct = False

    def _close_now(self) -> None:
        os.close(self._fd)
        self._free.clear()  # let go of, not closed: a failed read's traceback may still hold a view of one


async def _read(path: Path, key: str, start: int, end: int, chunk_size: int) -> AsyncIterator[bytes]:
    """The bytes from `start` to `end`, reading ahead: READ_AHEAD chunks are read from the disk (on threads, at
    their own offsets) while the caller sends the one before, so that the disk works all the time, with a
    queue of more than one read, and overlaps the network. A range of a block or more is read past the page
    cache, as large blobs are written; a smaller one through it, as small blobs are."""
    opened = _DirectReader if end - start >= BLOCK_SIZE else _CachedReader
    try:
        file: _Reader = await asyncio.to_thread(opened, path, chunk_size)
    except FileNotFoundError as exc:  # deleted since it was opened for reading
        raise BlobNotFound(f"No file {key}.") from exc
    loop = asyncio.get_running_loop()
    reads: collections.deque[tuple[asyncio.Future[bytes], int]] = collections.deque()  # oldest first, with sizes
    position = start

    def read_ahead() -> None:
        nonlocal position
        while position < end and len(reads) < READ_AHEAD:
            size = min(chunk_size, end - position)
            reads.append((loop.run_in_executor(None, file.read_at, position, size), size))
            position += size

    try:
        read_ahead()
        while reads:
            read, size = reads[0]
            # Shielded: the thread goes on reading into its buffer whatever happens to the stream.
            chunk = await asyncio.shield(read)
            reads.popleft()
            if len(chunk) < size:  # the file ended early (replaced since its size was read): no more
                if chunk:
                    yield chunk
                break
            read_ahead()
            yield chunk
    finally:
        try:
            if reads:  # the reader stopped early or a read failed: the threads still reading finish first
                await asyncio.wait([read for read, _ in reads])
        finally:
            for read, _ in reads:
                read.add_done_callback(_retrieved)
            file.close()  # if cancelled again while waiting, once the last read ends


def _retrieved(work: asyncio.Future[Any]) -> None:
    """The error of work nobody wants any more is retrieved, so that it is not reported as lost."""
    if not work.cancelled():
        work.exception()


# --- an S3-compatible object store ----------------------------------------------------------------------------
class S3BlobStore:
    def __init__(self, store: S3Store, description: str) -> None:
        self.store = store
        self.description = description

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, sha256: bool = False) -> StoredBlob:
        checksums = Checksums(sha256=sha256)

        async def counted() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                await checksums.add(chunk)
                yield chunk

        try:
            await obstore.put_async(self.store, check_key(key), counted())
            await checksums.finish()
        except BaseException:
            await checksums.abandon()
            raise
        return checksums.stored(key)

    async def get(self, key: str, *, start: int = 0, end: int | None = None,
                  chunk_size: int = CHUNK_SIZE) -> BlobStream:
        check_key(key)
        _clamp(0, start, end)  # refuses a negative or reversed range before any request
        try:
            if start == 0 and end is None:
                result = await obstore.get_async(self.store, key)
            else:
                # S3 refuses a range that starts past the end: ask for the size first in that case.
                meta = await obstore.head_async(self.store, key)
                first, last = _clamp(meta["size"], start, end)
                if first == last:
                    return BlobStream(meta["size"], first, last, _nothing())
                result = await obstore.get_async(self.store, key, options={"range": (first, last)})
        except (NotFoundError, FileNotFoundError) as exc:
            raise BlobNotFound(f"No file {key}.") from exc
        first, last = result.range
        stream = result.stream(min_chunk_size=chunk_size)
        return BlobStream(result.meta["size"], first, last, (bytes(chunk) async for chunk in stream))

    async def delete(self, key: str) -> None:
        await obstore.delete_async(self.store, check_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, check_key(key))
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        async for batch in obstore.list(self.store, prefix or None):
            for meta in batch:
                if meta["path"].startswith(prefix):
                    yield BlobInfo(meta["path"], meta["size"], meta["last_modified"])

    async def check(self) -> str:
        async for _ in obstore.list(self.store, chunk_size=1):
            break
        return self.description


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings choose."""
    if settings.blob_store is BlobStoreKind.S3:
        store = S3Store(
            settings.s3_bucket, endpoint=settings.s3_endpoint or None, region=settings.s3_region,
            access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key,
            virtual_hosted_style_request=False, client_options={"allow_http": settings.s3_endpoint.startswith("http:")},
        )
        return S3BlobStore(store, f"S3 bucket {settings.s3_bucket} at {settings.s3_endpoint or 'AWS'}")
    return LocalBlobStore(settings.data_dir / "blobs")


async def from_bytes(data: bytes) -> AsyncIterator[bytes]:
    """Bytes in memory as a stream for `put` (small blobs a component makes itself, such as a receipt)."""
    for offset in range(0, len(data), CHUNK_SIZE):
        yield data[offset:offset + CHUNK_SIZE]


@job_handler("blobs.discard_abandoned_uploads", every=timedelta(hours=6))
async def _discard_abandoned_uploads(payload: dict[str, Any], context: JobContext) -> None:
    store = open_blob_store(get_settings())
    if isinstance(store, LocalBlobStore):  # S3 expires unfinished multipart uploads by its bucket's lifecycle
        await store.discard_abandoned_uploads(ABANDONED_AFTER)
