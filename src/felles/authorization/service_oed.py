"""Digitalt dødsbo (OED): the court's roles in an estate, received as CloudEvents and served as oed-authz serves
them (the roles of a person in an estate, the estates of a person)."""

from __future__ import annotations

from sqlalchemy import delete, select

from felles.authorization import pip
from felles.authorization import schemas as s
from felles.authorization.models import (
    Estate,
    EstateRole,
)
from felles.core import audit
from felles.core.audit import Actor
from felles.core.db import Database, insert_for
from felles.core.errors import InvalidInput
from felles.core.ids import uuid7

# --- digitalt dødsbo (OED) roles, as oed-authz -------------------------------------------------------------------
ESTATE_ROLE_AUDIT = "authorization.estate_role"
ESTATE_EVENT_TYPES = frozenset({"no.altinn.events.digitalt-dodsbo.v1.heir-roles-updated",
                                "no.altinn.events.digitalt-dodsbo.v1.case-status-updated"})
VALIDATE_SUBSCRIPTION_EVENT = "platform.events.validatesubscription"
# oed-authz's namespace of court roles, and the earlier one that Altinn's policies (oed-role-formuesfullmakt)
# still match.
COURT_ROLE_PREFIXES = ("urn:domstolene:digitaltdodsbo:", "urn:digitaltdodsbo:")


def _estate_of(subject: str | None) -> str:
    """The deceased's fødselsnummer from the event's subject, ``/person/{number}`` (or the bare number)."""
    parts = [part.strip() for part in (subject or "").split("/") if part.strip()]
    number = parts[1] if len(parts) == 2 and parts[0] == "person" else "/".join(parts)
    if len(number) != 11 or not number.isdigit():
        raise InvalidInput("The event's subject must be /person/ followed by the deceased's fødselsnummer.",
                           code="invalid_estate")
    return number


async def update_estate_roles(database: Database, actor: Actor, event: s.EstateCloudEvent) -> s.EstateRolesUpdated:
    """Digitalt dødsbo's event: the probate court's roles in an estate as they now are. Roles the event no
    longer names are removed and new ones added, stamped with the event's time. Events may arrive out of order
    or twice: one no newer than the last applied to the estate changes nothing."""
    if event.type == VALIDATE_SUBSCRIPTION_EVENT:
        return s.EstateRolesUpdated()
    if event.type not in ESTATE_EVENT_TYPES:
        raise InvalidInput(f"Unknown event type {event.type}; expected one of {', '.join(sorted(ESTATE_EVENT_TYPES))}.",
                           code="unknown_event_type")
    if event.data is None:
        raise InvalidInput("The event has no data.", code="event_data_missing")
    estate = _estate_of(event.subject)
    wanted: set[tuple[str, str]] = set()
    for heir in event.data.heirRoles:
        if not heir.role.startswith(COURT_ROLE_PREFIXES):
            raise InvalidInput(f"Role {heir.role} is not a probate court role (urn:domstolene:digitaltdodsbo:...).",
                               code="invalid_estate_role")
        wanted.add((heir.nin, heir.role))
    async with database.transaction() as session:
        first = await session.scalar(insert_for(session, Estate).values(
            estate=estate, case_id=event.data.caseId, last_event_at=event.time)
            .on_conflict_do_nothing(index_elements=["estate"]).returning(Estate.estate))
        if first is None:
            # Locked: events for one estate are applied one after the other.
            known = (await session.scalars(select(Estate).where(Estate.estate == estate).with_for_update())).one()
            if known.last_event_at >= event.time:
                return s.EstateRolesUpdated(estateSsn=estate, outdated=True)
            known.last_event_at, known.case_id = event.time, event.data.caseId
        current = {(row.recipient, row.role_code): row for row in await session.scalars(
            select(EstateRole).where(EstateRole.estate == estate))}
        added = sorted(wanted - current.keys())
        removed = sorted(current.keys() - wanted)
        if added:
            await session.execute(insert_for(session, EstateRole).values(
                [{"id": uuid7(), "estate": estate, "recipient": recipient, "role_code": role,
                  "created_at": event.time} for recipient, role in added])
                .on_conflict_do_nothing(index_elements=["estate", "recipient", "role_code"]))
        if removed:
            await session.execute(delete(EstateRole).where(EstateRole.id.in_([current[key].id for key in removed])))
        if added or removed:
            await audit.record(session, actor, action="update", resource=ESTATE_ROLE_AUDIT,
                               subjects=sorted({estate, *(recipient for recipient, _ in added + removed)}),
                               detail={"eventId": event.id, "caseId": event.data.caseId,
                                       "added": [list(key) for key in added],
                                       "removed": [list(key) for key in removed]})
    return s.EstateRolesUpdated(estateSsn=estate, added=len(added), removed=len(removed))


def _require_one_of(estate: str | None, recipient: str | None) -> None:
    if estate is None and recipient is None:
        raise InvalidInput("Name the estate, the recipient or both.", code="estate_or_recipient_required")


async def estate_role_assignments(database: Database, body: s.PipRequest) -> s.PipResponse:
    """oed-authz's information point: the roles given in the estate ``from`` to ``to`` (either may be left
    out), as Altinn Authorization reads them."""
    _require_one_of(body.from_, body.to)
    rows = await pip.estate_roles(database, estate=body.from_, recipient=body.to)
    return s.PipResponse(roleAssignments=[s.PipRoleAssignment(role=row.role_code, from_=row.estate, to=row.recipient,
                                                              created=row.created_at) for row in rows])


async def search_estate_roles(database: Database, body: s.RolesSearchRequest) -> s.RolesSearchResponse:
    """The probate court's roles for an estate, a recipient or both — the lookup banks and others make."""
    _require_one_of(body.estateSsn, body.recipientSsn)
    rows = await pip.estate_roles(database, estate=body.estateSsn, recipient=body.recipientSsn)
    return s.RolesSearchResponse(roleAssignments=[
        s.RoleAssignment(estateSsn=row.estate, recipientSsn=row.recipient, role=row.role_code, created=row.created_at)
        for row in rows])
