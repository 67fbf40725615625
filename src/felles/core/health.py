"""Self-checks of every configured dependency, for `felles check` and `/health/ready`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from felles.core.blobs import open_blob_store
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.jobs import JobStatus, count_by_status, registered_kinds
from felles.core.migrations import alembic_config
from felles.core.tokens import PlatformKeys
from felles.core.virusscan import open_virus_scanner


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


ComponentCheck = Callable[[Settings], Awaitable[list[CheckResult]]]
_component_checks: dict[str, ComponentCheck] = {}


def component_check(name: str) -> Callable[[ComponentCheck], ComponentCheck]:
    """Register a component's self-check (e-mail and SMS channels, ...) for `felles check`."""

    def register(check: ComponentCheck) -> ComponentCheck:
        _component_checks[name] = check
        return check

    return register


DATABASE_CHECK_SECONDS = 2.0


async def database_is_ready(database: Database) -> CheckResult:
    """Does the database answer within two seconds? (A hung database must not hang the health check.)"""
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS), database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - a failing dependency is a result, not a crash
        return CheckResult("database", False, f"{type(exc).__name__}: {exc}")
    return CheckResult("database", True, f"{database.engine.dialect.name} answers")


async def migrations_are_current(database: Database, settings: Settings) -> CheckResult:
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    try:
        async with database.engine.connect() as connection:
            current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    except Exception as exc:  # noqa: BLE001
        return CheckResult("migrations", False, f"cannot read the revision: {exc}")
    if current != head:
        return CheckResult("migrations", False, f"database at {current}, code at {head}: run `felles db upgrade`")
    return CheckResult("migrations", True, f"at {head}")


async def job_queue_health(database: Database) -> CheckResult:
    try:
        async with database.transaction() as session:
            counts = await count_by_status(session)
    except Exception as exc:  # noqa: BLE001
        return CheckResult("job queue", False, str(exc))
    dead = counts.get(JobStatus.DEAD, 0)
    summary = ", ".join(f"{status} {count}" for status, count in sorted(counts.items())) or "empty"
    handlers = ", ".join(sorted(registered_kinds()))
    return CheckResult("job queue", dead == 0, f"{summary}; handlers: {handlers}"
                       + ("; retry dead jobs with `felles jobs retry`" if dead else ""))


def signing_keys_health(settings: Settings) -> CheckResult:
    try:
        keys = PlatformKeys.load(settings)
    except Exception as exc:  # noqa: BLE001
        return CheckResult("signing keys", False, str(exc))
    return CheckResult("signing keys", True, f"RS256 key {keys.signing_key.kid}")


async def _working(name: str, check: Callable[[], Awaitable[str]]) -> CheckResult:
    """A plugin's self-check (it describes itself when it works, raises when it does not) as a result."""
    try:
        detail = await check()
    except Exception as exc:  # noqa: BLE001
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")
    return CheckResult(name, True, detail)


async def blob_store_health(settings: Settings) -> CheckResult:
    return await _working("blob store", lambda: open_blob_store(settings).check())


async def virus_scanner_health(settings: Settings) -> CheckResult:
    return await _working("virus scanner", lambda: open_virus_scanner(settings).check())


async def run_checks(settings: Settings) -> list[CheckResult]:
    """The platform's own checks, then each registered component check (the caller loads the components)."""
    database = Database(settings.database_url)
    try:
        results = [await database_is_ready(database)]
        if results[0].ok:
            results.append(await migrations_are_current(database, settings))
            results.append(await job_queue_health(database))
        results.append(signing_keys_health(settings))
        results.append(await blob_store_health(settings))
        results.append(await virus_scanner_health(settings))
    finally:
        await database.dispose()
    for name, check in sorted(_component_checks.items()):
        try:
            results.extend(await check(settings))
        except Exception as exc:  # noqa: BLE001 - a broken check is a failing result, not a crash
            results.append(CheckResult(name, False, f"the check itself failed: {exc!r}"))
    return results
