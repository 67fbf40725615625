"""Access requests (tilgangsforespørsler): a person or organisation asks a party for a package or a resource; the
party's access managers approve (which delegates it) or reject it, the asker may withdraw it; each status is
published as an event in its transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import schemas as s
from felles.authorization.catalogue import (
    PACKAGE_URN,
)
from felles.authorization.models import (
    AccessRequest,
    Resource,
)
from felles.authorization.parties import parties_by_identifier
from felles.authorization.service import (
    REQUEST_AUDIT,
    REQUEST_EVENT_PREFIX,
    administrator_access,
    check_identifier,
    package_code_of,
    publish_event,
)
from felles.authorization.service_delegations import (
    add_delegation,
    check_assignable,
    check_may_give_package,
    check_may_give_right,
)
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7


# --- access requests ------------------------------------------------------------------------------------------
def _request_public(row: AccessRequest) -> s.AccessRequestPublic:
    return s.AccessRequestPublic(
        id=row.id, type="package" if row.package_code else "resource", party=row.party, requester=row.requester,
        package=PACKAGE_URN + row.package_code if row.package_code else None, resource=row.resource_identifier,
        action=row.action, status=s.AccessRequestStatus(row.status), message=row.message,
        handledBy=row.handled_by, delegationId=row.delegation_id, created=row.created_at.isoformat(),
        lastChanged=row.updated_at.isoformat())


async def _record_request_change(session: AsyncSession, actor: Actor, row: AccessRequest) -> None:
    await audit.record(session, actor, action=row.status.lower(), resource=REQUEST_AUDIT,
                       subjects=[row.party, row.requester], detail={"request": str(row.id)})
    await publish_event(session, f"{REQUEST_EVENT_PREFIX}{row.status.lower()}", row.party, row.requester,
                   _request_public(row).model_dump(mode="json", exclude_none=True))


async def request_package(database: Database, actor: Actor, person: str | None,
                          body: s.PackageRequestCreate) -> s.AccessRequestPublic:
    """A person asks ``body.party`` for an access package; the request starts as a Draft."""
    code = package_code_of(body.package)
    await check_assignable(database, code, body.package, "asked for")
    return await _create_request(database, actor, person, body.party, body.message, package=code)


async def request_resource(database: Database, actor: Actor, person: str | None,
                           body: s.ResourceRequestCreate) -> s.AccessRequestPublic:
    """A person asks ``body.party`` for one right (resource + action); the request starts as a Draft."""
    async with database.transaction() as session:
        resource = await session.get(Resource, body.resource)
    if resource is None:
        raise NotFound(f"No resource {body.resource}.", code="resource_not_found")
    if not resource.delegable:
        raise InvalidInput(f"Resource {body.resource} is not delegable.", code="resource_not_delegable")
    return await _create_request(database, actor, person, body.party, body.message, resource=body.resource,
                                 action=body.action)


async def _create_request(database: Database, actor: Actor, person: str | None, party: str, message: str | None,
                          **wanted: str) -> s.AccessRequestPublic:
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may ask for access.", code="person_required")
    check_identifier(party, "party")
    if party == person:
        raise InvalidInput("You cannot ask yourself for access.", code="self_request")
    now = utcnow()
    async with database.transaction() as session:
        row = AccessRequest(id=uuid7(), party=party, requester=person, package_code=wanted.get("package"),
                            resource_identifier=wanted.get("resource"), action=wanted.get("action"),
                            status=s.AccessRequestStatus.DRAFT.value, message=message, created_at=now,
                            updated_at=now)
        session.add(row)
        await parties_by_identifier(session, [party, person])
        await _record_request_change(session, actor, row)
    return _request_public(row)


async def get_access_request(database: Database, person: str | None, request_id: uuid.UUID) -> s.AccessRequestPublic:
    """One request, for its requester or (once submitted) the asked party's administrators."""
    async with database.transaction() as session:
        row = await session.get(AccessRequest, request_id)
    if row is None:
        raise NotFound("No such access request.", code="request_not_found")
    if person != row.requester:
        if row.status == s.AccessRequestStatus.DRAFT:
            raise NotFound("No such access request.", code="request_not_found")
        await administrator_access(database, person, row.party)
    return _request_public(row)


async def _change_request(database: Database, actor: Actor, request_id: uuid.UUID,
                          allowed_from: set[s.AccessRequestStatus], to: s.AccessRequestStatus, *,
                          requester: str | None = None, party_check: Any = None) -> s.AccessRequestPublic:
    """Move a request from one of ``allowed_from`` to ``to`` in one transaction; ``party_check(session, row)``
    runs inside it (an approval stores its delegation there)."""
    async with database.transaction() as session:
        row = await session.get(AccessRequest, request_id, with_for_update=True)
        if row is None or (requester is not None and row.requester != requester):
            raise NotFound("No such access request.", code="request_not_found")
        if s.AccessRequestStatus(row.status) not in allowed_from:
            raise Conflict(f"The request is {row.status}; it cannot become {to.value}.",
                           code="request_status_conflict")
        if party_check is not None:
            await party_check(session, row)
        row.status, row.updated_at = to.value, utcnow()
        if requester is None:
            row.handled_by = actor.actor
        await _record_request_change(session, actor, row)
    return _request_public(row)


async def submit_access_request(database: Database, actor: Actor, person: str | None,
                                request_id: uuid.UUID) -> s.AccessRequestPublic:
    """The requester sends a Draft to the party: it becomes Pending."""
    return await _change_request(database, actor, request_id, {s.AccessRequestStatus.DRAFT},
                                 s.AccessRequestStatus.PENDING, requester=person or "")


async def withdraw_access_request(database: Database, actor: Actor, person: str | None,
                                  request_id: uuid.UUID) -> s.AccessRequestPublic:
    """The requester takes back a Draft or Pending request: it becomes Withdrawn."""
    return await _change_request(database, actor, request_id,
                                 {s.AccessRequestStatus.DRAFT, s.AccessRequestStatus.PENDING},
                                 s.AccessRequestStatus.WITHDRAWN, requester=person or "")


async def _received_request(database: Database, person: str | None, party: str,
                            request_id: uuid.UUID) -> AccessRequest:
    """A submitted request to ``party``, for its administrators."""
    await administrator_access(database, person, party)
    async with database.transaction() as session:
        row = await session.get(AccessRequest, request_id)
    if row is None or row.party != party or row.status == s.AccessRequestStatus.DRAFT:
        raise NotFound("No such access request.", code="request_not_found")
    return row


async def approve_access_request(database: Database, actor: Actor, person: str | None, party: str,
                                 request_id: uuid.UUID) -> s.AccessRequestPublic:
    """An administrator of ``party`` approves a Pending request: the package or right is delegated to the
    requester (the approver must be allowed to give it) and the request becomes Approved, in one
    transaction."""
    row = await _received_request(database, person, party, request_id)
    if row.package_code is not None:
        await check_may_give_package(database, person, party, row.requester, row.package_code)
    else:
        await check_may_give_right(database, person, party, row.requester, row.resource_identifier or "",
                                    [row.action or ""])

    async def delegate(session: AsyncSession, locked: AccessRequest) -> None:
        delegation = await add_delegation(session, actor, party, locked.requester, package=locked.package_code,
                                           resource=locked.resource_identifier, action=locked.action)
        locked.delegation_id = delegation.id

    result = await _change_request(database, actor, request_id, {s.AccessRequestStatus.PENDING},
                                   s.AccessRequestStatus.APPROVED, party_check=delegate)
    return result


async def reject_access_request(database: Database, actor: Actor, person: str | None, party: str,
                                request_id: uuid.UUID) -> s.AccessRequestPublic:
    """An administrator of ``party`` rejects a Pending request."""
    await _received_request(database, person, party, request_id)
    return await _change_request(database, actor, request_id, {s.AccessRequestStatus.PENDING},
                                 s.AccessRequestStatus.REJECTED)


async def list_sent_access_requests(database: Database, person: str | None, *,
                                    status: list[s.AccessRequestStatus] | None = None) -> list[s.AccessRequestPublic]:
    """The logged-in person's own requests, newest first (``status`` filters)."""
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten has access requests.", code="person_required")
    query = select(AccessRequest).where(AccessRequest.requester == person)
    return await _list_requests(database, query, status)


async def list_received_access_requests(database: Database, person: str | None, party: str, *,
                                        status: list[s.AccessRequestStatus] | None = None,
                                        ) -> list[s.AccessRequestPublic]:
    """Requests submitted to ``party`` (drafts are the requester's own), newest first, for its
    administrators and access managers (``status`` filters)."""
    await administrator_access(database, person, party)
    query = select(AccessRequest).where(AccessRequest.party == party,
                                        AccessRequest.status != s.AccessRequestStatus.DRAFT.value)
    return await _list_requests(database, query, status)


async def _list_requests(database: Database, query: Any,
                         status: list[s.AccessRequestStatus] | None) -> list[s.AccessRequestPublic]:
    if status:
        query = query.where(AccessRequest.status.in_([value.value for value in status]))
    async with database.transaction() as session:
        return [_request_public(row) for row in await session.scalars(query.order_by(AccessRequest.id.desc()))]
