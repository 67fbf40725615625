"""The platform's own endpoints: health, metrics, the audit log and the signing keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from felles.core import audit
from felles.core.errors import InvalidInput
from felles.core.health import database_is_ready
from felles.core.metrics import registry
from felles.core.paging import Page, page_size
from felles.core.revocations import listen_while_serving
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import (
    ALTINN_API_ISSUERS,
    ALTINN_END_USER_ISSUERS,
    PORTAL_END_USER_SCOPE,
    AcceptedTokens,
    AuthenticatedRoute,
    OperatorInProduction,
    Principal,
    require_person,
    require_scope,
)

router = APIRouter(lifespan=listen_while_serving, route_class=AuthenticatedRoute)
AUDIT_READ_SCOPE = "felles:audit.read"
# A person reads their own log as they read the rest of their data in Altinn (an Altinn end-user token);
# operators search it with an organisation's token.
AUDIT_END_USER_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/audit",))
AUDIT_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/audit",))


@router.get("/health/live", tags=["health"], operation_id="health_live")
async def live() -> dict[str, str]:
    """The process answers."""
    return {"status": "live"}


@router.get("/health/ready", tags=["health"], operation_id="health_ready",
            responses={503: {"description": "A dependency is not reachable"}})
async def ready(database: DatabaseDep, response: Response) -> dict[str, Any]:
    """The process can serve: its database answers."""
    result = await database_is_ready(database)
    if not result.ok:
        response.status_code = 503
        return {"status": "unavailable", "checks": {result.name: result.detail}}
    return {"status": "ready", "checks": {result.name: "ok"}}


@router.get("/metrics", tags=["health"], operation_id="metrics", response_class=Response,
            dependencies=[OperatorInProduction])
async def metrics() -> Response:
    """The Prometheus metrics of the server processes (in production for operators only)."""
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/felles/jwks.json", tags=["keys"], operation_id="platform_jwks")
async def platform_jwks(runtime: RuntimeDep) -> dict[str, Any]:
    """The public keys that verify every token the platform issues."""
    return runtime.keys.jwks()


class AuditEntryPublic(BaseModel):
    id: uuid.UUID
    occurredAt: datetime
    actor: str
    onBehalfOf: str | None
    action: str
    resource: str
    subject: str


def _public(record: audit.AuditRecord) -> AuditEntryPublic:
    entry = record.entry
    return AuditEntryPublic(
        id=entry.id, occurredAt=entry.occurred_at, actor=entry.actor, onBehalfOf=entry.on_behalf_of,
        action=entry.action, resource=entry.resource, subject=record.subject,
    )


async def _page(
    runtime: RuntimeDep, *, subject: str | None, actor: str | None, token: str | None, limit: int | None
) -> Page[AuditEntryPublic]:
    size = page_size(limit)
    tokens = runtime.continuation_tokens
    after = None
    if token:
        position = tokens.decode(token)
        try:
            entry_id, last_subject = position
            after = (uuid.UUID(str(entry_id)), str(last_subject))
        except ValueError as exc:  # a token from before a format change: signed, but not this shape
            raise InvalidInput("The continuation token has expired; start from the first page.",
                               code="invalid_continuation_token") from exc
    async with runtime.database.transaction() as session:
        entries = await audit.search_entries(session, subject=subject, actor=actor, after=after, limit=size + 1)
    next_token = None
    if len(entries) > size:
        entries = entries[:size]
        next_token = tokens.encode([str(entries[-1].entry.id), entries[-1].subject])
    return Page[AuditEntryPublic](items=[_public(e) for e in entries], continuationToken=next_token)


@router.get("/audit/api/v1/me", tags=["audit"], operation_id="audit_who_looked_me_up",
            response_model=Page[AuditEntryPublic])
async def who_looked_me_up(
    runtime: RuntimeDep,
    principal: Annotated[Principal, require_person(AUDIT_END_USER_TOKENS, PORTAL_END_USER_SCOPE)],
    continuationToken: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Page[AuditEntryPublic]:
    """Who read or changed my personal data, newest first (innsyn in one's own log)."""
    return await _page(runtime, subject=principal.person_identifier, actor=None, token=continuationToken,
                       limit=limit)


@router.get("/audit/api/v1/entries", tags=["audit"], operation_id="audit_search",
            response_model=Page[AuditEntryPublic])
async def search(
    runtime: RuntimeDep,
    _principal: Annotated[Principal, require_scope(AUDIT_TOKENS, AUDIT_READ_SCOPE)],
    subject: str | None = None,
    actor: str | None = None,
    continuationToken: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Page[AuditEntryPublic]:
    """Operators search the audit log by subject or actor."""
    return await _page(runtime, subject=subject, actor=actor, token=continuationToken, limit=limit)
