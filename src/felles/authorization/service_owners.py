"""Tjenesteeiere: the registry of service owners, each an organisation number under a code (``skd``,
``digdir`` ...), as Altinn's orgs list. A resource's competent authority and an access list's owner come from
here, looked up by the caller's organisation number, so nobody can claim another owner's code.

The owners in ``data/service_owners.json`` are written the first time the registry is read empty; operators
add others with ``felles service-owner add``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization.models import ServiceOwner
from felles.core.db import insert_for

DATA_FILE = Path(__file__).with_name("data") / "service_owners.json"


@cache
def reference_service_owners() -> tuple[dict[str, Any], ...]:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return tuple(data["serviceOwners"])


async def seed(session: AsyncSession) -> None:
    """Add the reference service owners that are missing (an owner already registered under the code or the
    organisation number is kept as it is)."""
    await session.execute(insert_for(session, ServiceOwner).values([
        {"orgcode": owner["orgcode"], "organization_number": owner["organization"], "name": owner["name"]}
        for owner in reference_service_owners()]).on_conflict_do_nothing())


async def by_organization(session: AsyncSession, organization_number: str) -> ServiceOwner | None:
    """The service owner with this organisation number (the registry is seeded if it is empty)."""
    query = select(ServiceOwner).where(ServiceOwner.organization_number == organization_number)
    found = await session.scalar(query)
    if found is None and not await session.scalar(select(func.count()).select_from(ServiceOwner)):
        await seed(session)
        found = await session.scalar(query)
    return found


async def by_code(session: AsyncSession, orgcode: str) -> ServiceOwner | None:
    """The service owner with this code (`ttd`, `skd` …)."""
    return await session.scalar(select(ServiceOwner).where(ServiceOwner.orgcode == orgcode.lower()))
