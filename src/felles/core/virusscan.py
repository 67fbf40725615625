"""The virus scan of uploaded files: ClamAV's clamd, or none.

`FELLES_VIRUS_SCANNER=clamd` streams each file to clamd at `FELLES_CLAMD_ADDRESS` (a unix socket path, or
`host:port` for TCP) with its INSTREAM command: `zINSTREAM\\0`, then chunks each prefixed with its length as
4 bytes big-endian, then a zero length; clamd answers `stream: OK\\0`, `stream: <signature> FOUND\\0` or
`<reason> ERROR\\0`. `none` (the default) scans nothing and says so (`NotScanned`), as Altinn Storage marks files
`NotApplicable` where no scanner runs.

A scan never raises for the scanner's sake: an unreachable or failing clamd is a `ScanFailed` result, which
the caller may try again later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from felles.core.config import Settings, VirusScannerKind

# clamd's own limit on one chunk is its StreamMaxLength; smaller chunks keep memory flat on both sides.
CHUNK_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Clean:
    pass


@dataclass(frozen=True)
class Infected:
    signature: str  # e.g. "Eicar-Test-Signature"


@dataclass(frozen=True)
class ScanFailed:
    reason: str


@dataclass(frozen=True)
class NotScanned:
    """No scanner is configured."""


ScanResult = Clean | Infected | ScanFailed | NotScanned


class VirusScanner(Protocol):
    async def scan(self, chunks: AsyncIterable[bytes]) -> ScanResult: ...

    async def check(self) -> str:
        """A description of the working scanner, or an exception saying why it does not work."""


class NoVirusScanner:
    async def scan(self, chunks: AsyncIterable[bytes]) -> ScanResult:
        return NotScanned()

    async def check(self) -> str:
        return "none configured (FELLES_VIRUS_SCANNER=none): files are not scanned"


class ClamdScanner:
    def __init__(self, address: str, timeout_seconds: float) -> None:
        self.address = address
        self.timeout_seconds = timeout_seconds

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if "/" in self.address:
            return await asyncio.open_unix_connection(self.address.removeprefix("unix:"))
        host, _, port = self.address.rpartition(":")
        return await asyncio.open_connection(host.strip("[]"), int(port))

    async def _command(self, command: bytes) -> str:
        reader, writer = await self._connect()
        try:
            writer.write(b"z" + command + b"\0")
            await writer.drain()
            return await _reply(reader)
        finally:
            await _close(writer)

    async def scan(self, chunks: AsyncIterable[bytes]) -> ScanResult:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                reply = await self._instream(chunks)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            return ScanFailed(f"clamd at {self.address}: {type(exc).__name__}: {exc}")
        return parse_reply(reply)

    async def _instream(self, chunks: AsyncIterable[bytes]) -> str:
        reader, writer = await self._connect()
        # clamd may answer before the stream ends (a size limit) and close: its reply is read all along, as a
        # write to the closed connection would otherwise hide it.
        reply = asyncio.ensure_future(_reply(reader))
        try:
            with contextlib.suppress(ConnectionError):
                writer.write(b"zINSTREAM\0")
                async for part in _parts(chunks):
                    if reply.done():
                        break
                    writer.write(len(part).to_bytes(4, "big") + part)
                    await writer.drain()
                else:
                    writer.write(b"\0\0\0\0")
                    await writer.drain()
            return await reply
        finally:
            reply.cancel()
            await _close(writer)

    async def check(self) -> str:
        try:
            async with asyncio.timeout(5):
                pong = await self._command(b"PING")
                version = await self._command(b"VERSION")
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise ConnectionError(f"clamd at {self.address} does not answer: {type(exc).__name__}: {exc}") from exc
        if pong != "PONG":
            raise ConnectionError(f"clamd at {self.address} answered {pong!r} to PING")
        return f"clamd at {self.address}: {version}"


async def _parts(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        for offset in range(0, len(chunk), CHUNK_LIMIT):
            yield chunk[offset:offset + CHUNK_LIMIT]


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):  # clamd closed first (after a size limit): nothing to say
        await writer.wait_closed()


async def _reply(reader: asyncio.StreamReader) -> str:
    reply = await reader.readuntil(b"\0")
    return reply.rstrip(b"\0").decode(errors="replace").strip()


def parse_reply(reply: str) -> ScanResult:
    """clamd's answer to INSTREAM: `stream: OK`, `stream: <signature> FOUND`, or `... ERROR`."""
    if reply == "stream: OK":
        return Clean()
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        return Infected(reply.removeprefix("stream: ").removesuffix(" FOUND"))
    return ScanFailed(f"clamd answered {reply!r}")


def open_virus_scanner(settings: Settings) -> VirusScanner:
    """The scanner the settings choose."""
    if settings.virus_scanner is VirusScannerKind.CLAMD:
        return ClamdScanner(settings.clamd_address, settings.clamd_timeout_seconds)
    return NoVirusScanner()
