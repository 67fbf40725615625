"""The status API, `/status/api`: what the status page shows, for machines (public, no personal data)."""

from __future__ import annotations

from fastapi import APIRouter

from felles.core.runtime import RuntimeDep
from felles.core.tokens import AuthenticatedRoute
from felles.operations import schemas, service

router = APIRouter(tags=["operations"], route_class=AuthenticatedRoute, lifespan=service.flushing_counts)


@router.get("/status/api", operation_id="platform_status", response_model=schemas.PlatformStatusPublic)
async def platform_status(runtime: RuntimeDep) -> schemas.PlatformStatusPublic:
    """Each component's state (operational, degraded, outage, maintenance) and the incidents open or recently
    closed. Self-checks are at most 15 seconds old."""
    status = await service.platform_status(runtime.database, runtime.settings)
    return schemas.PlatformStatusPublic(
        status=status.state, checkedAt=status.checked_at,
        components=[schemas.ComponentStatusPublic(name=c.name, status=c.state) for c in status.components],
        openIncidents=[schemas.IncidentPublic.of(incident) for incident in status.open_incidents],
        recentIncidents=[schemas.IncidentPublic.of(incident) for incident in status.recent_incidents])
