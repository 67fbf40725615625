"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when FELLES_TEST_DATABASE_URL is set),
the app over ASGI, tokens signed by the platform's key, and a clock reset after each test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import exists, literal, select, text, union_all
from sqlalchemy.ext.asyncio import create_async_engine

from felles.app import create_app
from felles.core.clock import clock
from felles.core.config import Environment, Settings, get_settings
from felles.core.db import Database
from felles.core.migrations import upgrade_async
from felles.core.tokens import Issuer, PlatformKeys, mint_development_token
from felles.tables import metadata

POSTGRES_URL = os.environ.get("FELLES_TEST_DATABASE_URL")
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def pytest_report_header() -> str:
    return f"felles database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite (embedded)'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass leaves the tests of the embedded platform to the SQLite pass: they start `felles` on its
    own embedded SQLite whatever the test database, so this pass would only run them again unchanged."""
    if not POSTGRES_URL:
        return
    embedded = [item for item in items if item.get_closest_marker("embedded_platform")]
    if embedded:
        config.hook.pytest_deselected(items=embedded)
        items[:] = [item for item in items if not item.get_closest_marker("embedded_platform")]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("felles-data")


@pytest.fixture(scope="session")
async def database_url(data_dir: Path) -> str:
    """A database migrated once per test session."""
    if POSTGRES_URL:
        engine = create_async_engine(POSTGRES_URL)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
        url = POSTGRES_URL
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'test.db'}"
    await upgrade_async(url)
    return url


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(environment=Environment.TEST, data_dir=data_dir, database_url=database_url,
                    secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING")


@pytest.fixture
def job_settings(settings, monkeypatch):
    """The settings the job handlers read: the test environment, where loopback receivers are allowed."""
    for name, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir),
                        "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key}.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def forget_cached_authorization() -> None:
    """Drop the per-process caches of what the database holds (compiled policies, what a person may do, parties):
    a test that starts from its own data must not see another's."""
    from felles.authorization import catalogue, decision, parties, pip

    catalogue.forget()
    decision.invalidate_policy()
    pip.invalidate()
    parties.forget_details()


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The migrated database, emptied after the test. The per-process caches of what it holds (compiled policies,
    what a person may do, parties) are dropped first, as a test starts from its own data."""
    forget_cached_authorization()
    database = Database(settings.database_url)
    yield database
    await empty_tables(database)
    await database.dispose()


async def empty_tables(database: Database) -> None:
    """Delete every row, asking first which tables have any: a test fills few of the many tables, and one
    question costs less than a DELETE for each."""
    tables = list(reversed(metadata.sorted_tables))
    filled_probe = union_all(*(select(literal(index)).where(exists(select(literal(1)).select_from(table)))
                               for index, table in enumerate(tables)))
    async with database.transaction() as session:
        filled = set(await session.scalars(filled_probe))
        for index, table in enumerate(tables):
            if index in filled:
                await session.execute(table.delete())


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def app(settings: Settings, database: Database):
    application = create_app(settings, run_worker=False)
    application.state.runtime.database = database
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as http:
        yield http


TokenFactory = Callable[..., str]


@pytest.fixture
def token(settings: Settings) -> TokenFactory:
    """`token(scopes=[...], org="…")` or `token(scopes=[...], person="…")`: a signed test token (an Altinn token
    for a person, a Maskinporten token for an organisation, unless `issuer` says otherwise)."""
    keys = PlatformKeys.load(settings)

    def make(*, scopes: list[str], person: str | None = None, org: str | None = None,
             supplier: str | None = None, level: int = 3, lifetime: int = 300, issuer: Issuer | None = None,
             audience: str | None = None) -> str:
        return mint_development_token(keys, settings, person_identifier=person, organization_number=org,
                                      supplier_organization_number=supplier, scopes=scopes,
                                      authentication_level=level, lifetime_seconds=lifetime, issuer=issuer,
                                      audience=audience)

    return make


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def free_listener() -> socket.socket:
    """A socket bound to a free loopback port (bind first when the app must know its own URL)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    return listener


@contextmanager
def serve_app(app: FastAPI, listener: socket.socket | None = None) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port (or `listener`) in a background thread; yields its URL.

    The app must own its database engine (not the test's), since the server runs its own event loop."""
    listener = listener or free_listener()
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start serving the app")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


def felles_command_environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a `felles` command run as a newcomer runs it: none of this test run's FELLES_* settings,
    only the data folder (and the settings given, e.g. BASE_URL for FELLES_BASE_URL)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("FELLES_")}
    environment["FELLES_DATA_DIR"] = str(data_dir)
    environment.update({f"FELLES_{name}": value for name, value in settings.items()})
    return environment


def run_felles(environment: dict[str, str], *arguments: str) -> None:
    """A `felles` command to its end; its output is shown if it fails."""
    done = subprocess.run([sys.executable, "-m", "felles.cli", *arguments], env=environment, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, f"felles {' '.join(arguments)}:\n{done.stdout}\n{done.stderr}"


def wait_until_ready(url: str, server: subprocess.Popen, log: Path) -> None:
    """Until the `felles serve` process at `url` says it is ready; the test fails with its log if it stops or
    takes more than two minutes."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"felles serve did not start serving:\n{log.read_text()}")
        time.sleep(0.2)


@contextmanager
def felles_serve(environment: dict[str, str], *arguments: str) -> Iterator[str]:
    """`felles serve --port <free port> ARGUMENTS` in its own process, as `make run` starts it; yields the port
    once the server is ready, and stops it afterwards. Its log is `serve.log` in the data folder."""
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    log = Path(environment["FELLES_DATA_DIR"]) / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), *arguments],
                                  env=environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", server, log)
        yield str(port)
    finally:
        server.terminate()
        server.wait(30)
