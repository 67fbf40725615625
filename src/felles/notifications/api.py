"""HTTP API of Varsling at Altinn Notifications' paths (`/notifications/api/v1/future/...` for v2 orders and
shipments, `/notifications/api/v1/orders/...` for v1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from felles.core.params import MAX_DATABASE_BIG_INTEGER
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import ALTINN_API_ISSUERS, AcceptedTokens, AuthenticatedRoute, Principal, require_scope
from felles.notifications import schemas, service, service_delivery, service_reading

router = APIRouter(prefix="/notifications/api/v1", tags=["notifications"], route_class=AuthenticatedRoute)

NOTIFICATIONS_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/notifications",))
Creator = Annotated[Principal, require_scope(NOTIFICATIONS_TOKENS, service.CREATE_SCOPE)]
# Reading an order, its status and its results: the read scope, or the create scope that made the order.
Reader = Annotated[Principal, require_scope(NOTIFICATIONS_TOKENS, service.READ_SCOPE, service.CREATE_SCOPE)]
PROBLEMS = {400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
            403: {"description": "Missing scope"}}
NOT_FOUND = {404: {"description": "No such order"}}


@router.post("/future/orders", operation_id="notifications_order_create", status_code=status.HTTP_201_CREATED,
             responses={**PROBLEMS, 200: {"description": "The idempotencyId was seen before: the first answer",
                                          "model": schemas.OrderChainResponse}},
             response_model=schemas.OrderChainResponse)
async def create_order(
    runtime: RuntimeDep, principal: Creator, request: schemas.OrderChainCreate, response: Response
) -> schemas.OrderChainResponse:
    """Order a notification to one recipient, with zero or more reminders."""
    answer, created = await service.create_order_chain(runtime.database, runtime.settings, principal, request)
    if not created:
        response.status_code = status.HTTP_200_OK
    return answer


@router.get("/future/orders/{order_id}", operation_id="notifications_order_get",
            responses={**PROBLEMS, **NOT_FOUND}, response_model=schemas.OrderChainPublic)
async def get_order(database: DatabaseDep, principal: Reader, order_id: uuid.UUID) -> schemas.OrderChainPublic:
    """An order (notificationOrderId) with the manifest of the notification and of each reminder."""
    return await service_reading.get_order_chain(database, principal, order_id)


@router.get("/future/shipment/feed", operation_id="notifications_status_feed", responses=PROBLEMS,
            response_model=list[schemas.StatusFeedEntry])
async def get_status_feed(
    database: DatabaseDep, principal: Reader,
    seq: Annotated[int, Query(ge=0, le=MAX_DATABASE_BIG_INTEGER,
                              description="The last sequence number seen; 0 from the start.")] = 0,
    pageSize: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[schemas.StatusFeedEntry]:
    """Status changes of the caller's orders, numbered; pass the last `sequenceNumber` seen as `seq`."""
    return await service_reading.status_feed(database, principal, after=seq, page_size=pageSize)


@router.get("/future/shipment/{shipment_id}", operation_id="notifications_shipment_get",
            responses={**PROBLEMS, **NOT_FOUND}, response_model=schemas.ShipmentManifest)
async def get_shipment(
    database: DatabaseDep, principal: Reader, shipment_id: uuid.UUID
) -> schemas.ShipmentManifest:
    """The delivery manifest of one notification or reminder: status and each recipient's result."""
    return await service_reading.get_shipment(database, principal, shipment_id)


@router.post("/orders/email", operation_id="notifications_email_order_create", status_code=status.HTTP_202_ACCEPTED,
             responses=PROBLEMS, response_model=schemas.OrderCreated)
async def create_email_order(
    runtime: RuntimeDep, principal: Creator, request: schemas.EmailOrderCreate
) -> schemas.OrderCreated:
    """Order one e-mail to many recipients (v1)."""
    return await service.create_email_order(runtime.database, runtime.settings, principal, request)


@router.get("/orders/{order_id}", operation_id="notifications_v1_order_get",
            responses={**PROBLEMS, **NOT_FOUND}, response_model=schemas.OrderV1)
async def get_order_v1(runtime: RuntimeDep, principal: Reader, order_id: uuid.UUID) -> schemas.OrderV1:
    """An order as it was made (v1): recipients, texts and links to its status."""
    return await service_reading.get_order_v1(runtime.database, runtime.settings, principal, order_id)


@router.get("/orders/{order_id}/status", operation_id="notifications_v1_order_status",
            responses={**PROBLEMS, **NOT_FOUND}, response_model=schemas.OrderWithStatusV1)
async def get_order_status_v1(runtime: RuntimeDep, principal: Reader, order_id: uuid.UUID) -> schemas.OrderWithStatusV1:
    """An order's processing status and how many notifications per channel were made and succeeded (v1)."""
    return await service_reading.get_order_status_v1(runtime.database, runtime.settings, principal, order_id)


@router.get("/orders/{order_id}/notifications/email", operation_id="notifications_v1_email_notifications",
            responses={**PROBLEMS, **NOT_FOUND}, response_model=schemas.EmailNotificationSummaryV1)
async def get_email_notifications_v1(
    database: DatabaseDep, principal: Reader, order_id: uuid.UUID
) -> schemas.EmailNotificationSummaryV1:
    """Each e-mail recipient of an order with its result, and why a failed one failed (v1)."""
    return await service_reading.get_email_notifications_v1(database, principal, order_id)


@router.put("/orders/{order_id}/cancel", operation_id="notifications_order_cancel",
            status_code=status.HTTP_204_NO_CONTENT,
            responses={**PROBLEMS, **NOT_FOUND, 409: {"description": "CancellationProhibited"}})
async def cancel_order(database: DatabaseDep, principal: Creator, order_id: uuid.UUID) -> Response:
    """Cancel an order (shipment id or notificationOrderId) that is not being sent yet."""
    await service.cancel_order(database, principal, order_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


ReportSecret = Annotated[str | None, Header(alias="X-Delivery-Report-Secret",
                                            description="The channel's shared secret (from Settings).")]
REPORT_RESPONSES = {400: {"description": "Not a delivery report"}, 401: {"description": "Wrong or no secret"},
                    404: {"description": "No such notification"}}


@router.post("/delivery-reports/email", operation_id="notifications_email_delivery_report",
             status_code=status.HTTP_204_NO_CONTENT, responses=REPORT_RESPONSES,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "message/rfc822": {"schema": {"type": "string", "description": "An RFC 3464 DSN"}}}}})
async def email_delivery_report(runtime: RuntimeDep, request: Request, secret: ReportSecret = None) -> Response:
    """A delivery status notification (RFC 3464) for an e-mail we sent, piped here by the MTA that receives
    the bounce address's mail; authenticated by the e-mail channel's shared secret."""
    await service_delivery.record_email_report(runtime.database, runtime.settings, secret, await request.body())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/delivery-reports/sms", operation_id="notifications_sms_delivery_report",
             status_code=status.HTTP_204_NO_CONTENT, responses=REPORT_RESPONSES)
async def sms_delivery_report(runtime: RuntimeDep, report: schemas.SmsDeliveryReport,
                              secret: ReportSecret = None) -> Response:
    """The SMS gateway's delivery report (DLR callback); authenticated by the gateway's shared secret."""
    await service_delivery.record_sms_report(runtime.database, runtime.settings, secret, report)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
