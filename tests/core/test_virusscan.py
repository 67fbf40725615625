"""The virus scan against a real clamd (Debian's clamav-daemon, `make test-deps`), started here with a
signature database of one signature: the EICAR test file's."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from felles.core.blobs import from_bytes
from felles.core.config import Environment, Settings, VirusScannerKind, get_settings
from felles.core.health import run_checks, virus_scanner_health
from felles.core.virusscan import (
    CHUNK_LIMIT,
    ClamdScanner,
    Clean,
    Infected,
    NotScanned,
    ScanFailed,
    open_virus_scanner,
    parse_reply,
)
from tests.conftest import free_listener

# The EICAR anti-virus test file (harmless by design), put together here so that no scanner flags this source.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


@pytest.fixture(scope="module")
def clamd(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A real clamd listening on a unix socket and on a loopback TCP port; the addresses by kind."""
    if not Path(CLAMD).exists():
        pytest.fail("clamd is not installed: run `make test-deps` (Debian's clamav-daemon)")
    folder = tmp_path_factory.mktemp("clamd")
    database = folder / "db"
    database.mkdir()
    # An MD5 signature (hash:size:name) of the whole EICAR file: a tiny database, so clamd starts at once.
    (database / "test.hdb").write_text(f"{hashlib.md5(EICAR, usedforsecurity=False).hexdigest()}:{len(EICAR)}:"
                                       f"{SIGNATURE}\n")
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    socket_path = folder / "clamd.sock"
    (folder / "clamd.conf").write_text("\n".join([
        f"LocalSocket {socket_path}", "TCPAddr 127.0.0.1", f"TCPSocket {port}", f"DatabaseDirectory {database}",
        f"TemporaryDirectory {folder}", "Foreground yes", "LogFile " + str(folder / "clamd.log"),
        "StreamMaxLength 4M",
    ]) + "\n")
    process = subprocess.Popen([CLAMD, "--config-file", str(folder / "clamd.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("clamd did not start: " + (folder / "clamd.log").read_text(errors="replace"))
            time.sleep(0.05)
        yield {"unix": str(socket_path), "tcp": f"127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def settings_scanning_with_clamd(clamd: dict[str, str], data_dir: Path, database_url: str,
                                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The test settings with this clamd as the virus scanner, for the app and (through the environment) for the
    job handlers alike: a test module's `settings` fixture yields from it."""
    values = {"ENVIRONMENT": "test", "DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
              "SECRET_KEY": "test-secret-key-not-for-production", "VIRUS_SCANNER": "clamd",
              "CLAMD_ADDRESS": clamd["unix"]}
    for name, value in values.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    yield Settings(environment=Environment.TEST, data_dir=data_dir, database_url=database_url,
                   secret_key=values["SECRET_KEY"], log_json=False, log_level="WARNING",
                   virus_scanner=VirusScannerKind.CLAMD, clamd_address=clamd["unix"])
    get_settings.cache_clear()


@pytest.fixture(params=["unix", "tcp"])
def scanner(request, clamd) -> ClamdScanner:
    return ClamdScanner(clamd[request.param], timeout_seconds=30)


async def test_the_eicar_test_file_is_infected(scanner):
    result = await scanner.scan(from_bytes(EICAR))
    assert isinstance(result, Infected) and result.signature.startswith(SIGNATURE)


async def test_an_ordinary_file_is_clean(scanner):
    assert await scanner.scan(from_bytes("Søknad om barnehageplass\n".encode() * 1000)) == Clean()


async def test_a_file_larger_than_one_chunk_streams_through(scanner):
    async def three_megabytes() -> AsyncIterator[bytes]:
        for index in range(3):
            yield bytes([index]) * (1024 * 1024)  # each split into clamd chunks of CHUNK_LIMIT

    assert 1024 * 1024 > CHUNK_LIMIT
    assert await scanner.scan(three_megabytes()) == Clean()


async def test_a_file_over_clamds_size_limit_is_a_failed_scan_not_a_crash(scanner):
    result = await scanner.scan(from_bytes(b"x" * (5 * 1024 * 1024)))  # StreamMaxLength is 4 MB here
    assert isinstance(result, ScanFailed) and "size limit" in result.reason


async def test_an_unreachable_clamd_is_a_failed_scan(tmp_path):
    result = await ClamdScanner(str(tmp_path / "no.sock"), timeout_seconds=5).scan(from_bytes(EICAR))
    assert isinstance(result, ScanFailed) and "no.sock" in result.reason


@pytest.mark.parametrize(("reply", "expected"), [
    ("stream: OK", Clean()), ("stream: Win.Test.EICAR_HDB-1 FOUND", Infected("Win.Test.EICAR_HDB-1")),
    ("INSTREAM size limit exceeded. ERROR", ScanFailed("clamd answered 'INSTREAM size limit exceeded. ERROR'")),
])
def test_clamds_replies(reply, expected):
    assert parse_reply(reply) == expected


def scanner_settings(tmp_path, **chosen) -> Settings:
    return Settings(environment=Environment.TEST, data_dir=tmp_path, secret_key="k" * 40, **chosen)


async def test_without_a_scanner_files_are_marked_not_scanned(tmp_path):
    scanner = open_virus_scanner(scanner_settings(tmp_path))
    assert await scanner.scan(from_bytes(EICAR)) == NotScanned()


async def test_felles_check_reports_clamd(clamd, tmp_path, settings):
    working = scanner_settings(tmp_path, virus_scanner=VirusScannerKind.CLAMD, clamd_address=clamd["unix"])
    result = await virus_scanner_health(working)
    assert result.ok and "ClamAV" in result.detail
    down = await virus_scanner_health(working.model_copy(update={"clamd_address": str(tmp_path / "gone.sock")}))
    assert not down.ok and down.name == "virus scanner" and "gone.sock does not answer" in down.detail
    checks = {result.name: result for result in await run_checks(settings.model_copy(update={
        "virus_scanner": VirusScannerKind.CLAMD, "clamd_address": clamd["tcp"]}))}
    assert checks["virus scanner"].ok and checks["blob store"].ok
