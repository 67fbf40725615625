"""The status API's models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from felles.operations.models import Incident


class IncidentPublic(BaseModel):
    id: uuid.UUID
    component: str
    severity: str
    title: str
    description: str
    openedAt: datetime
    closedAt: datetime | None
    resolution: str | None

    @classmethod
    def of(cls, incident: Incident) -> IncidentPublic:
        return cls(id=incident.id, component=incident.component, severity=incident.severity, title=incident.title,
                   description=incident.description, openedAt=incident.opened_at, closedAt=incident.closed_at,
                   resolution=incident.resolution)


class ComponentStatusPublic(BaseModel):
    name: str
    status: str


class PlatformStatusPublic(BaseModel):
    status: str
    checkedAt: datetime
    components: list[ComponentStatusPublic]
    openIncidents: list[IncidentPublic]
    recentIncidents: list[IncidentPublic]
