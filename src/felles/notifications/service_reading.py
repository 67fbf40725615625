"""Reading Varsling's orders as their creator: shipments, order chains, Altinn's v1 orders, statuses and e-mail
notifications, and the status feed."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.core.tokens import Principal
from felles.notifications import schemas
from felles.notifications.models import (
    Notification,
    NotificationOrder,
    NotificationOrderChain,
    OrderStatusChange,
)
from felles.notifications.service import PENDING_RESULTS, OrderStatus, creator_of


# --- reading ------------------------------------------------------------------------------------------------
async def _own_order(session: AsyncSession, creator: str, order_id: uuid.UUID) -> NotificationOrder:
    order = await session.get(NotificationOrder, order_id)
    if order is None or order.creator != creator:
        raise NotFound(f"No order {order_id}.", code="OrderNotFound")
    return order


def _description(notification: Notification) -> str | None:
    """Why a notification failed, or why it is still waiting to be sent again (the channel's last error)."""
    if notification.status in PENDING_RESULTS or "_Failed" in notification.status:
        return notification.last_error
    return None


async def _manifest(session: AsyncSession, order: NotificationOrder) -> schemas.ShipmentManifest:
    notifications = await session.scalars(
        select(Notification).where(Notification.order_id == order.id).order_by(Notification.id))
    return schemas.ShipmentManifest(
        shipmentId=order.id, sendersReference=order.senders_reference, type=order.type,  # type: ignore[arg-type]
        status=f"Order_{order.status}", lastUpdate=order.updated_at, requestedSendTime=order.requested_send_time,
        recipients=[schemas.RecipientStatus(type="Email" if n.channel == "email" else "SMS",
                                            destination=n.destination, status=n.status, lastUpdate=n.status_at,
                                            description=_description(n))
                    for n in notifications],
    )


async def get_shipment(database: Database, principal: Principal, shipment_id: uuid.UUID) -> schemas.ShipmentManifest:
    """The delivery manifest of one order: its status and every recipient's result."""
    async with database.transaction() as session:
        return await _manifest(session, await _own_order(session, creator_of(principal), shipment_id))


async def get_order_chain(database: Database, principal: Principal, chain_id: uuid.UUID) -> schemas.OrderChainPublic:
    """A v2 order: the notification and its reminders, each with its manifest."""
    async with database.transaction() as session:
        chain = await session.get(NotificationOrderChain, chain_id)
        if chain is None or chain.creator != creator_of(principal):
            raise NotFound(f"No order {chain_id}.", code="OrderNotFound")
        orders = await session.scalars(select(NotificationOrder).where(NotificationOrder.chain_id == chain_id)
                                       .order_by(NotificationOrder.requested_send_time, NotificationOrder.id))
        return schemas.OrderChainPublic(notificationOrderId=chain.id, idempotencyId=chain.idempotency_id,
                                        shipments=[await _manifest(session, order) for order in orders])


# v1 (`GET orders/{id}`, `…/status`, `…/notifications/email`) names channels, statuses and results its own way.
_V1_CHANNELS = {"EmailOnly": "Email", "SmsOnly": "Sms"}
_V1_ORDER_STATUS_DESCRIPTIONS = {
    OrderStatus.REGISTERED: "The order is registered and waits for its requested send time.",
    OrderStatus.PROCESSING: "The order is being processed.",
    OrderStatus.PROCESSED: "The notifications are made and are being sent.",
    OrderStatus.COMPLETED: "Every notification of the order has a result.",
    OrderStatus.SEND_CONDITION_NOT_MET: "The condition endpoint said not to send the order.",
    OrderStatus.CANCELLED: "The order was cancelled before it was sent.",
}
_SUCCEEDED_RESULTS = ("Email_Succeeded", "Email_Delivered", "SMS_Accepted", "SMS_Delivered")


def _order_links(settings: Settings, order: NotificationOrder) -> schemas.OrderLinksV1:
    self_link = f"{settings.base_url.rstrip('/')}/notifications/api/v1/orders/{order.id}"
    return schemas.OrderLinksV1(self=self_link, status=f"{self_link}/status")


def _v1_recipient(target: dict[str, str]) -> schemas.OrderRecipientV1:
    return schemas.OrderRecipientV1(emailAddress=target.get("email"), mobileNumber=target.get("mobile"),
                                    nationalIdentityNumber=target.get("person"),
                                    organizationNumber=target.get("organization"))


async def get_order_v1(database: Database, settings: Settings, principal: Principal,
                       order_id: uuid.UUID) -> schemas.OrderV1:
    """An order as v1 shows it: what was ordered, for whom, with which texts."""
    async with database.transaction() as session:
        order = await _own_order(session, creator_of(principal), order_id)
    email = order.texts.get("email")
    return schemas.OrderV1(
        id=order.id, creator=order.creator, sendersReference=order.senders_reference,
        requestedSendTime=order.requested_send_time, created=order.created_at,
        notificationChannel=_V1_CHANNELS.get(order.channel_scheme, order.channel_scheme),
        ignoreReservation=order.ignore_reservation, conditionEndpoint=order.condition_endpoint,
        recipients=[_v1_recipient(target) for target in order.recipients],
        emailTemplate=None if email is None else schemas.EmailTemplateV1(
            fromAddress=email.get("senderEmailAddress"), subject=email["subject"], body=email["body"],
            contentType=email.get("contentType", "Plain")),
        links=_order_links(settings, order),
    )


async def get_order_status_v1(database: Database, settings: Settings, principal: Principal,
                              order_id: uuid.UUID) -> schemas.OrderWithStatusV1:
    """An order's processing status and, per channel, how many notifications were made and succeeded."""
    async with database.transaction() as session:
        order = await _own_order(session, creator_of(principal), order_id)
        notifications = list(await session.scalars(select(Notification).where(Notification.order_id == order.id)))
    summary: dict[str, schemas.ChannelStatusSummaryV1] = {}
    for channel in sorted({n.channel for n in notifications}):
        of_channel = [n for n in notifications if n.channel == channel]
        summary[channel] = schemas.ChannelStatusSummaryV1(
            links=schemas.NotificationLinksV1(self=f"{_order_links(settings, order).self}/notifications/{channel}"),
            generated=len(of_channel), succeeded=sum(n.status in _SUCCEEDED_RESULTS for n in of_channel))
    return schemas.OrderWithStatusV1(
        id=order.id, sendersReference=order.senders_reference, requestedSendTime=order.requested_send_time,
        creator=order.creator, created=order.created_at,
        notificationChannel=_V1_CHANNELS.get(order.channel_scheme, order.channel_scheme),
        ignoreReservation=order.ignore_reservation, conditionEndpoint=order.condition_endpoint,
        processingStatus=schemas.StatusV1(status=order.status, lastUpdate=order.updated_at,
                                          description=_V1_ORDER_STATUS_DESCRIPTIONS.get(order.status)),
        notificationsStatusSummary=schemas.NotificationsStatusSummaryV1(**summary) if summary else None,
    )


async def get_email_notifications_v1(database: Database, principal: Principal,
                                     order_id: uuid.UUID) -> schemas.EmailNotificationSummaryV1:
    """Each e-mail recipient's result (v1 names results without the `Email_` prefix)."""
    async with database.transaction() as session:
        order = await _own_order(session, creator_of(principal), order_id)
        notifications = list(await session.scalars(
            select(Notification).where(Notification.order_id == order.id, Notification.channel == "email")
            .order_by(Notification.id)))
    results = [schemas.EmailNotificationWithResultV1(
        id=n.id, succeeded=n.status in _SUCCEEDED_RESULTS,
        recipient=schemas.OrderRecipientV1(
            emailAddress=n.destination,
            nationalIdentityNumber=n.recipient_identifier if len(n.recipient_identifier or "") == 11 else None,
            organizationNumber=n.recipient_identifier if len(n.recipient_identifier or "") == 9 else None),
        sendStatus=schemas.StatusV1(status=n.status.removeprefix("Email_"), description=_description(n),
                                    lastUpdate=n.status_at),
    ) for n in notifications]
    return schemas.EmailNotificationSummaryV1(
        orderId=order.id, sendersReference=order.senders_reference, generated=len(results),
        succeeded=sum(result.succeeded for result in results), notifications=results)


async def status_feed(
    database: Database, principal: Principal, *, after: int, page_size: int
) -> list[schemas.StatusFeedEntry]:
    """The caller's order status changes with a sequence number above `after`, oldest first."""
    if not 1 <= page_size <= 1000:
        raise InvalidInput("pageSize must be between 1 and 1000.", code="invalid_page_size")
    async with database.transaction() as session:
        rows = (await session.execute(
            select(OrderStatusChange, NotificationOrder)
            .join(NotificationOrder, NotificationOrder.id == OrderStatusChange.order_id)
            .where(OrderStatusChange.creator == creator_of(principal), OrderStatusChange.sequence > after)
            .order_by(OrderStatusChange.sequence).limit(page_size)
        )).all()
    return [schemas.StatusFeedEntry(sequenceNumber=change.sequence, orderStatus=schemas.StatusFeedOrderStatus(
        shipmentId=order.id, sendersReference=order.senders_reference, type=order.type,
        status=f"Order_{change.status}", lastUpdate=change.occurred_at)) for change, order in rows]
