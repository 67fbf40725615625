"""HTTP API of Altinn Events at Altinn's paths: `/events/api/v1/events`, `/app` and `/subscriptions`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import CurrentPrincipal, Principal, require_scope
from felles.events import schemas, service

router = APIRouter(prefix="/events/api/v1", tags=["events"])

Publisher = Annotated[Principal, require_scope(service.PUBLISH_SCOPE, service.PUBLISH_ADMIN_SCOPE)]
Subscriber = Annotated[Principal, require_scope(service.SUBSCRIBE_SCOPE, service.SUBSCRIBE_ADMIN_SCOPE)]
# Subscription ids are PostgreSQL `integer`s: a larger number names no subscription and is refused as invalid.
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PROBLEMS = {400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
            403: {"description": "Missing scope"}}


@router.post("/events", operation_id="events_publish", responses=PROBLEMS, response_model=str)
async def publish_event(database: DatabaseDep, principal: Publisher, event: schemas.CloudEvent) -> str:
    """Register a CloudEvent (`application/cloudevents+json`); returns its id. A repeated id is stored once."""
    return await service.publish(database, principal, event)


@router.post("/app", operation_id="events_publish_app", responses=PROBLEMS, response_model=str)
async def publish_app_event(database: DatabaseDep, principal: Publisher, event: schemas.CloudEvent) -> str:
    """Register an event from an app; the id is generated when absent and the resource follows the source."""
    return await service.publish(database, principal, event, app=True)


@router.get("/events", operation_id="events_list", responses=PROBLEMS, response_model=list[schemas.CloudEvent])
async def list_events(
    request: Request,
    response: Response,
    database: DatabaseDep,
    principal: Subscriber,
    resource: Annotated[str, Query(description="urn:altinn:resource:…")],
    after: Annotated[str, Query(description="The id of the last event seen; 0 for the first page.")],
    size: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = service.DEFAULT_PAGE_SIZE,
    subject: str | None = None,
    type: str | None = None,
    alternative_subject: Annotated[str | None, Header(alias="Altinn-AlternativeSubject")] = None,
) -> list[dict[str, object]]:
    """Events of a resource after a cursor, oldest first; the `next` header carries the next page's URL."""
    page = await service.list_events(database, principal, resource=resource, after=after, size=size,
                                     subject=subject, type=type, alternative_subject=alternative_subject)
    if page.next_after is not None:
        query = {key: value for key, value in request.query_params.items() if key != "after"}
        response.headers["next"] = f"{request.url.remove_query_params(list(request.query_params))}?" + urlencode(
            {**query, "after": page.next_after})
    return page.events


@router.post("/subscriptions", operation_id="events_subscription_create", status_code=status.HTTP_201_CREATED,
             responses=PROBLEMS, response_model=schemas.SubscriptionPublic)
async def create_subscription(
    runtime: RuntimeDep, principal: Subscriber, request: schemas.SubscriptionCreate, response: Response
) -> schemas.SubscriptionPublic:
    """Subscribe a webhook; it must answer the validation event with 200 before anything is delivered."""
    created = await service.create_subscription(runtime.database, runtime.settings, principal, request)
    response.headers["Location"] = f"/events/api/v1/subscriptions/{created.id}"
    return created


@router.get("/subscriptions", operation_id="events_subscription_list", responses=PROBLEMS,
            response_model=schemas.SubscriptionList)
async def list_subscriptions(database: DatabaseDep, principal: CurrentPrincipal) -> schemas.SubscriptionList:
    """The caller's subscriptions."""
    return await service.list_subscriptions(database, principal)


@router.get("/subscriptions/{subscription_id}", operation_id="events_subscription_get",
            responses={**PROBLEMS, 404: {"description": "No such subscription"}},
            response_model=schemas.SubscriptionPublic)
async def get_subscription(
    database: DatabaseDep, principal: CurrentPrincipal, subscription_id: SubscriptionId
) -> schemas.SubscriptionPublic:
    """One of the caller's subscriptions."""
    return await service.get_subscription(database, principal, subscription_id)


@router.delete("/subscriptions/{subscription_id}", operation_id="events_subscription_delete",
               status_code=status.HTTP_204_NO_CONTENT, responses={**PROBLEMS, 404: {"description": "Not found"}})
async def delete_subscription(
    database: DatabaseDep, principal: CurrentPrincipal, subscription_id: SubscriptionId
) -> Response:
    """Delete a subscription; pending deliveries are cancelled."""
    await service.delete_subscription(database, principal, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
