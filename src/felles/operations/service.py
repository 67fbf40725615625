"""The status page's use cases: each component's health, incidents opened and closed by operators, and the
samples the monthly statistics are drawn from (availability every minute, response times from every process).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import insert, or_, select

from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, InvalidInput, NotFound
from felles.core.health import CheckResult, run_checks
from felles.core.jobs import JobContext, job_handler
from felles.core.metrics import RESPONSE_TIMES
from felles.core.usage import flush_usage
from felles.operations.models import HealthSample, Incident, ResponseTimeCount

log = structlog.get_logger("felles.operations")
CHECKS_CACHE_SECONDS = 15.0  # the status page may be asked often; the checks touch every dependency
RECENT_INCIDENTS = timedelta(days=30)
RESPONSE_TIMES_FLUSH_SECONDS = 60.0


class Severity(StrEnum):
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"


class ComponentState(StrEnum):
    """As a status page says it: operational, degraded performance, outage, under maintenance."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: ComponentState
    checked_ok: bool


@dataclass(frozen=True)
class PlatformStatus:
    components: list[ComponentStatus]
    open_incidents: list[Incident]
    recent_incidents: list[Incident]  # closed within the last 30 days
    checked_at: datetime

    @property
    def state(self) -> ComponentState:
        """The worst state of any component."""
        order = [ComponentState.OPERATIONAL, ComponentState.MAINTENANCE, ComponentState.DEGRADED,
                 ComponentState.OUTAGE]
        return max((component.state for component in self.components), key=order.index,
                   default=ComponentState.OPERATIONAL)


_checks_cache: tuple[float, list[CheckResult]] | None = None
_checks_lock = asyncio.Lock()


async def checked_components(settings: Settings) -> list[CheckResult]:
    """Every self-check of `core.health` (the platform's and each component's), at most 15 seconds old."""
    global _checks_cache
    async with _checks_lock:
        if _checks_cache is None or time.monotonic() - _checks_cache[0] > CHECKS_CACHE_SECONDS:
            _checks_cache = (time.monotonic(), await run_checks(settings))
        return _checks_cache[1]


def forget_checks() -> None:
    global _checks_cache
    _checks_cache = None


async def platform_status(database: Database, settings: Settings) -> PlatformStatus:
    """Each component's state, from its self-check and the incidents open on it (an incident names the state)."""
    now = utcnow()
    async with database.transaction() as session:
        incidents = list(await session.scalars(
            select(Incident).where(or_(Incident.closed_at.is_(None), Incident.closed_at >= now - RECENT_INCIDENTS))
            .order_by(Incident.opened_at.desc())))
    open_incidents = [incident for incident in incidents if incident.closed_at is None]
    checks = await checked_components(settings)
    names = [check.name for check in checks]
    names += sorted({incident.component for incident in open_incidents} - set(names))
    ok = {check.name: check.ok for check in checks}
    components = []
    for name in names:
        state = ComponentState.OPERATIONAL if ok.get(name, True) else ComponentState.OUTAGE
        for incident in open_incidents:
            if incident.component == name and state is ComponentState.OPERATIONAL:
                state = ComponentState(incident.severity)
        components.append(ComponentStatus(name, state, ok.get(name, True)))
    return PlatformStatus(components, open_incidents, [i for i in incidents if i.closed_at is not None], now)


async def open_incident(database: Database, *, component: str, severity: str, title: str,
                        description: str = "") -> Incident:
    """Open an incident (driftsmelding) on a component; it shows on the status page until it is closed."""
    if severity not in set(Severity):
        raise InvalidInput(f"The severity must be one of {', '.join(Severity)}.", code="incident_severity_invalid")
    if not component.strip() or not title.strip():
        raise InvalidInput("An incident needs a component and a title.", code="incident_incomplete")
    incident = Incident(component=component.strip(), severity=severity, title=title.strip(),
                        description=description.strip(), opened_at=utcnow())
    async with database.transaction() as session:
        session.add(incident)
    return incident


async def close_incident(database: Database, incident_id: uuid.UUID, *, resolution: str = "") -> Incident:
    """Close an open incident, with what was done."""
    async with database.transaction() as session:
        incident = await session.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            raise NotFound(f"No incident {incident_id}.", code="incident_not_found")
        if incident.closed_at is not None:
            raise Conflict(f"Incident {incident_id} is closed already.", code="incident_closed")
        incident.closed_at = utcnow()
        incident.resolution = resolution.strip() or None
    return incident


async def list_incidents(database: Database, *, open_only: bool = False) -> list[Incident]:
    async with database.transaction() as session:
        query = select(Incident).order_by(Incident.opened_at.desc()).limit(200)
        if open_only:
            query = query.where(Incident.closed_at.is_(None))
        return list(await session.scalars(query))


@job_handler("operations.sample_health", every=timedelta(minutes=1), max_attempts=3)
async def _sample_health(_payload: dict[str, Any], context: JobContext) -> None:
    """Availability: each component's self-check, once a minute (whichever process runs the job)."""
    now = utcnow()
    checks = await checked_components(get_settings())
    await context.session.execute(insert(HealthSample), [
        dict(component=check.name, ok=check.ok, taken_at=now) for check in checks])


async def flush_response_times(database: Database, now: datetime | None = None) -> int:
    """Store what this process observed since the last flush (counted per hour); returns how many requests."""
    taken = RESPONSE_TIMES.take()
    if not taken:
        return 0
    hour = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    try:
        async with database.transaction() as session:
            await session.execute(insert(ResponseTimeCount), [
                dict(hour=hour, component=component, le=le, count=count, errors=errors)
                for (component, le), (count, errors) in taken.items()])
    except Exception:
        RESPONSE_TIMES.give_back(taken)
        raise
    return sum(count for count, _ in taken.values())


@asynccontextmanager
async def flushing_counts(app: FastAPI) -> AsyncIterator[None]:
    """While a process serves: store its response times and usage counts every minute, and when it stops."""
    database: Database = app.state.runtime.database

    async def loop() -> None:
        while True:
            await asyncio.sleep(RESPONSE_TIMES_FLUSH_SECONDS)
            await flush_counts(database)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await flush_counts(database)


async def flush_counts(database: Database) -> None:
    """Store this process's response times and usage counts (kept for the next minute if that fails)."""
    for flush in (flush_response_times, flush_usage):
        try:
            await flush(database)
        except Exception as exc:  # noqa: BLE001 - a database that does not answer must not stop the server
            log.warning("counts_not_flushed", flush=flush.__name__, error=repr(exc))
