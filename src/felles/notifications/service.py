"""Use cases of Varsling (Altinn Notifications).

An order chain is one notification and its reminders; each is an order (a "shipment") with its own send time,
condition endpoint, recipients and texts. At its send time a job asks the condition endpoint whether to send
(`{"sendNotification": false}` ends it as SendConditionNotMet), looks the recipients up (persons in KRR, whose
reservation is respected and whose language picks the text; organisations by their notification addresses in
Enhetsregisteret), and writes one notification per recipient and channel. Send jobs then deliver them in
batches through the configured e-mail and SMS providers; transient failures are retried, and every
result is recorded with the reason of a failure (logged too). An order is Completed when every notification has
a final result.

Order statuses go Registered → Processing → Processed → Completed, or end as SendConditionNotMet or Cancelled.
Each change is written to the status feed and published as an event, in the transaction that makes it.
Delivery is at least once: a worker killed while sending sends that batch again (an SMTP server cannot take a
message back), so a recipient may get a message twice; the Message-ID is the notification id either time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, InvalidInput, NotFound
from felles.core.health import CheckResult, component_check
from felles.core.ids import uuid7
from felles.core.jobs import enqueue, enqueue_many
from felles.core.tokens import Principal
from felles.events import service as events_service
from felles.notifications import channels, schemas
from felles.notifications.models import (
    EmailOutboxMessage,
    NotificationOrder,
    NotificationOrderChain,
    OrderStatusChange,
    SmsOutboxMessage,
)
from felles.registers import service as registers

log = structlog.get_logger("felles.notifications")

CREATE_SCOPE = "altinn:serviceowner/notifications.create"
READ_SCOPE = "altinn:serviceowner/notifications.read"
SERVICE_ACTOR = Actor("system:felles-notifications")
EVENT_PUBLISHER = "/system/felles-notifications"
EVENT_RESOURCE = "urn:altinn:resource:altinn-notifications"
ORDER_JOB = "notifications.order"  # the job kind of orders other components place in their own transaction


class OrderStatus:
    REGISTERED = "Registered"
    PROCESSING = "Processing"
    PROCESSED = "Processed"
    COMPLETED = "Completed"
    SEND_CONDITION_NOT_MET = "SendConditionNotMet"
    CANCELLED = "Cancelled"


EMAIL_NEW, SMS_NEW = "Email_New", "SMS_New"
# Results before the message has left us. An order is Completed when none of its notifications has one: a
# delivery report may still come later (Email_Succeeded → Email_Delivered, SMS_Accepted → SMS_Delivered).
PENDING_RESULTS = (EMAIL_NEW, "Email_Sending", SMS_NEW, "SMS_Sending")
# Results a delivery report may replace: sent, or (a report that overtook the sending job's commit) pending.
REPORTABLE_RESULTS = (*PENDING_RESULTS, "Email_Succeeded", "SMS_Accepted")
CHANNEL_PREFIX = {"email": "Email", "sms": "SMS"}
SCHEME_CHANNELS = {
    "EmailPreferred": ("email", "sms"), "SmsPreferred": ("sms", "email"), "Email": ("email",),
    "EmailOnly": ("email",), "Sms": ("sms",), "SmsOnly": ("sms",), "EmailAndSms": ("email", "sms"),
}


def creator_of(principal: Principal) -> str:
    """Orders belong to the party that created them (`/org/<orgnr>`), and only it sees them."""
    return events_service.consumer_of(principal)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return utcnow()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- status changes: the feed and an event, in the caller's transaction ---------------------------------------
_PENDING_EVENTS = "felles.notifications.pending_events"
_PENDING_FEED = "felles.notifications.pending_feed"


async def set_status(session: AsyncSession, order: NotificationOrder, status: str) -> None:
    """Change an order's status; its feed entry and event are written by `publish_pending_events` before the
    transaction ends (all of one transaction's entries in one statement, its events as one job)."""
    now = utcnow()
    order.status, order.updated_at = status, now
    session.info.setdefault(_PENDING_FEED, []).append(
        dict(order_id=order.id, creator=order.creator, status=status, occurred_at=now))
    session.info.setdefault(_PENDING_EVENTS, []).append(dict(
        source=f"{get_settings().base_url}/notifications/api/v1/future/shipment/{order.id}",
        type=f"no.altinn.notifications.order.{status.lower()}", subject=order.creator, resource=EVENT_RESOURCE,
        resourceinstance=str(order.id),
        data={"shipmentId": str(order.id), "notificationOrderId": str(order.chain_id) if order.chain_id else None,
              "sendersReference": order.senders_reference, "type": order.type, "status": f"Order_{status}"},
    ))


async def publish_pending_events(session: AsyncSession) -> None:
    """Write the feed entries and queue the events of this transaction's status changes (call last in every
    transaction that sets any)."""
    feed = session.info.pop(_PENDING_FEED, [])
    if feed:
        await session.execute(insert(OrderStatusChange), feed)
    pending = session.info.pop(_PENDING_EVENTS, [])
    await events_service.publish_many_in_transaction(session, pending, publisher=EVENT_PUBLISHER)


# --- creating orders --------------------------------------------------------------------------------------
def _settings_for(scheme: str, email: schemas.EmailSettings | None, sms: schemas.SmsSettings | None) -> dict[str, Any]:
    texts: dict[str, Any] = {}
    wanted = SCHEME_CHANNELS[scheme]
    # A preferred channel falls back to the other one, which then needs its texts too.
    if "email" in wanted:
        if email is None:
            raise InvalidInput(f"The channel schema {scheme} needs emailSettings.", code="email_settings_missing")
        texts["email"] = email.model_dump(mode="json")
    if "sms" in wanted:
        if sms is None:
            raise InvalidInput(f"The channel schema {scheme} needs smsSettings.", code="sms_settings_missing")
        texts["sms"] = sms.model_dump(mode="json")
    return texts


def _order_fields(recipient: schemas.Recipient) -> dict[str, Any]:
    if (by_email := recipient.recipientEmail) is not None:
        return {"recipients": [{"email": by_email.emailAddress}], "channel_scheme": "EmailOnly",
                "texts": _settings_for("EmailOnly", by_email.emailSettings, None)}
    if (by_sms := recipient.recipientSms) is not None:
        return {"recipients": [{"mobile": by_sms.phoneNumber}], "channel_scheme": "SmsOnly",
                "texts": _settings_for("SmsOnly", None, by_sms.smsSettings)}
    if (person := recipient.recipientPerson) is not None:
        registers.valid_person_identifiers([person.nationalIdentityNumber])
        return {"recipients": [{"person": person.nationalIdentityNumber}], "channel_scheme": person.channelSchema.value,
                "ignore_reservation": person.ignoreReservation,
                "use_stale_contact_information": person.useStaleContactInformation,
                "texts": _settings_for(person.channelSchema.value, person.emailSettings, person.smsSettings)}
    organization = recipient.recipientOrganization
    assert organization is not None  # the schema admits exactly one recipient
    target = {"organization": organization.orgNumber}
    if organization.resourceId:
        target["resource"] = organization.resourceId  # whose persons' own addresses also get it (Profile)
    return {"recipients": [target],
            "channel_scheme": organization.channelSchema.value,
            "texts": _settings_for(organization.channelSchema.value, organization.emailSettings,
                                   organization.smsSettings)}


def _check_condition_endpoint(settings: Settings, url: str | None) -> None:
    if url is not None:
        outbound.check_url_syntax(settings, url)


async def _register(session: AsyncSession, order: NotificationOrder) -> None:
    session.add(order)
    await session.flush()
    await set_status(session, order, OrderStatus.REGISTERED)
    await enqueue(session, "notifications.process_order", {"order": str(order.id)}, run_at=order.requested_send_time)


async def create_order_chain(
    database: Database, settings: Settings, principal: Principal, request: schemas.OrderChainCreate
) -> tuple[schemas.OrderChainResponse, bool]:
    """Register a notification and its reminders; `(answer, created)`. A repeated `idempotencyId` from the
    same creator creates nothing and gets the first answer again."""
    creator = creator_of(principal)
    send_time = _aware(request.requestedSendTime)
    main_fields = _order_fields(request.recipient)
    _check_condition_endpoint(settings, request.conditionEndpoint)
    reminders = []
    for reminder in request.reminders:
        _check_condition_endpoint(settings, reminder.conditionEndpoint)
        when = (_aware(reminder.requestedSendTime) if reminder.requestedSendTime is not None
                else send_time + timedelta(days=reminder.delayDays or 0))
        if when <= send_time:
            raise InvalidInput("A reminder must be sent after the notification.", code="reminder_before_order")
        reminders.append((reminder, when, _order_fields(reminder.recipient or request.recipient)))

    existing = await _existing_chain(database, creator, request.idempotencyId)
    if existing is not None:
        return existing, False
    chain_id, main_id = uuid7(), uuid7()
    reminder_ids = [uuid7() for _ in reminders]
    answer = schemas.OrderChainResponse(
        notificationOrderId=chain_id,
        notification=schemas.ShipmentWithReminders(
            shipmentId=main_id, sendersReference=request.sendersReference,
            reminders=[schemas.ShipmentReference(shipmentId=rid, sendersReference=reminder.sendersReference)
                       for rid, (reminder, _, _) in zip(reminder_ids, reminders, strict=True)],
        ),
    )
    now = utcnow()
    try:
        async with database.transaction() as session:
            session.add(NotificationOrderChain(id=chain_id, creator=creator, idempotency_id=request.idempotencyId,
                                               created_at=now, response=answer.model_dump(mode="json")))
            await session.flush()
            await _register(session, NotificationOrder(
                id=main_id, chain_id=chain_id, creator=creator, type="Notification",
                senders_reference=request.sendersReference, requested_send_time=send_time,
                condition_endpoint=request.conditionEndpoint, created_at=now, updated_at=now,
                status=OrderStatus.REGISTERED, **main_fields,
            ))
            for rid, (reminder, when, fields) in zip(reminder_ids, reminders, strict=True):
                await _register(session, NotificationOrder(
                    id=rid, chain_id=chain_id, creator=creator, type="Reminder",
                    senders_reference=reminder.sendersReference, requested_send_time=when,
                    condition_endpoint=reminder.conditionEndpoint, created_at=now, updated_at=now,
                    status=OrderStatus.REGISTERED, **fields,
                ))
            await publish_pending_events(session)
    except IntegrityError:
        # The same idempotencyId arrived twice at once: the other request created it.
        existing = await _existing_chain(database, creator, request.idempotencyId)
        if existing is None:
            raise
        return existing, False
    return answer, True


async def _existing_chain(database: Database, creator: str, idempotency_id: str) -> schemas.OrderChainResponse | None:
    async with database.transaction() as session:
        chain = await session.scalar(select(NotificationOrderChain).where(
            NotificationOrderChain.creator == creator, NotificationOrderChain.idempotency_id == idempotency_id))
    return None if chain is None else schemas.OrderChainResponse.model_validate(chain.response)


async def create_order_chains_in_transaction(
    session: AsyncSession, settings: Settings, creator: str, requests: list[schemas.OrderChainCreate]
) -> list[schemas.OrderChainResponse]:
    """Register order chains in the caller's transaction: how another component notifies as part of its own
    change (Correspondence orders each correspondence's notice as it publishes it), so that the orders exist
    exactly when the change commits. An `idempotencyId` the creator used before gets that chain's answer and
    creates nothing; the answers come in the order of the requests."""
    ids = [request.idempotencyId for request in requests]
    existing = {chain.idempotency_id: schemas.OrderChainResponse.model_validate(chain.response)
                for chain in await session.scalars(select(NotificationOrderChain).where(
                    NotificationOrderChain.creator == creator, NotificationOrderChain.idempotency_id.in_(ids)))}
    now = utcnow()
    chains, orders, answers = [], [], []
    for request in requests:
        if request.idempotencyId in existing:
            answers.append(existing[request.idempotencyId])
            continue
        send_time = _aware(request.requestedSendTime)
        _check_condition_endpoint(settings, request.conditionEndpoint)
        chain_id, main_id = uuid7(), uuid7()
        order_rows = [NotificationOrder(
            id=main_id, chain_id=chain_id, creator=creator, type="Notification",
            senders_reference=request.sendersReference, requested_send_time=send_time,
            condition_endpoint=request.conditionEndpoint, created_at=now, updated_at=now,
            status=OrderStatus.REGISTERED, **_order_fields(request.recipient))]
        for reminder in request.reminders:
            _check_condition_endpoint(settings, reminder.conditionEndpoint)
            when = (_aware(reminder.requestedSendTime) if reminder.requestedSendTime is not None
                    else send_time + timedelta(days=reminder.delayDays or 0))
            if when <= send_time:
                raise InvalidInput("A reminder must be sent after the notification.", code="reminder_before_order")
            order_rows.append(NotificationOrder(
                id=uuid7(), chain_id=chain_id, creator=creator, type="Reminder",
                senders_reference=reminder.sendersReference, requested_send_time=when,
                condition_endpoint=reminder.conditionEndpoint, created_at=now, updated_at=now,
                status=OrderStatus.REGISTERED, **_order_fields(reminder.recipient or request.recipient)))
        answer = schemas.OrderChainResponse(
            notificationOrderId=chain_id,
            notification=schemas.ShipmentWithReminders(
                shipmentId=main_id, sendersReference=request.sendersReference,
                reminders=[schemas.ShipmentReference(shipmentId=order.id, sendersReference=order.senders_reference)
                           for order in order_rows[1:]]))
        chains.append(NotificationOrderChain(id=chain_id, creator=creator, idempotency_id=request.idempotencyId,
                                             created_at=now, response=answer.model_dump(mode="json")))
        orders += order_rows
        answers.append(answer)
    if chains:
        session.add_all(chains)
        await session.flush()
        for order in orders:  # before the insert, so that the status goes in with it
            await set_status(session, order, OrderStatus.REGISTERED)
        session.add_all(orders)
        await session.flush()
        await enqueue_many(session, "notifications.process_order",
                           [({"order": str(order.id)}, order.requested_send_time) for order in orders])
        await publish_pending_events(session)
    return answers


async def create_email_order(
    database: Database, settings: Settings, principal: Principal, request: schemas.EmailOrderCreate
) -> schemas.OrderCreated:
    """A v1 e-mail order: one text to many recipients (addresses, persons or organisations)."""
    _check_condition_endpoint(settings, request.conditionEndpoint)
    recipients: list[dict[str, str]] = []
    persons = [r.nationalIdentityNumber for r in request.recipients if r.nationalIdentityNumber]
    if persons:
        registers.valid_person_identifiers(persons)
    for recipient in request.recipients:
        if recipient.emailAddress:
            recipients.append({"email": recipient.emailAddress})
        elif recipient.nationalIdentityNumber:
            recipients.append({"person": recipient.nationalIdentityNumber})
        elif recipient.organizationNumber:
            recipients.append({"organization": recipient.organizationNumber})
    email = schemas.EmailSettings(senderEmailAddress=request.fromAddress, subject=request.subject,
                                  body=request.body, contentType=request.contentType)
    now, order_id = utcnow(), uuid7()
    async with database.transaction() as session:
        await _register(session, NotificationOrder(
            id=order_id, chain_id=None, creator=creator_of(principal), type="Notification",
            senders_reference=request.sendersReference, requested_send_time=_aware(request.requestedSendTime),
            condition_endpoint=request.conditionEndpoint, recipients=recipients, channel_scheme="EmailOnly",
            ignore_reservation=request.ignoreReservation, texts={"email": email.model_dump(mode="json")},
            status=OrderStatus.REGISTERED, created_at=now, updated_at=now,
        ))
        await publish_pending_events(session)
    return schemas.OrderCreated(orderId=order_id)


# --- cancelling -------------------------------------------------------------------------------------------
async def cancel_order(database: Database, principal: Principal, order_id: uuid.UUID) -> int:
    """Cancel an order (shipment id), or every order of a chain (notificationOrderId), not yet being sent;
    returns how many were cancelled. `CancellationProhibited` (409) when processing has started for all."""
    creator = creator_of(principal)
    async with database.transaction() as session:
        orders = list(await session.scalars(
            select(NotificationOrder)
            .where((NotificationOrder.id == order_id) | (NotificationOrder.chain_id == order_id),
                   NotificationOrder.creator == creator)
            .with_for_update()
        ))
        if not orders:
            raise NotFound(f"No order {order_id}.", code="OrderNotFound")
        cancellable = [order for order in orders if order.status == OrderStatus.REGISTERED]
        if not cancellable:
            raise Conflict("The order is already being sent (or done) and cannot be cancelled.",
                           code="CancellationProhibited")
        for order in cancellable:
            await set_status(session, order, OrderStatus.CANCELLED)
        await publish_pending_events(session)
    return len(cancellable)


_OUTBOXES: dict[str, type[SmsOutboxMessage] | type[EmailOutboxMessage]] = {
    "sms": SmsOutboxMessage, "email": EmailOutboxMessage}


async def outbox(database: Database, channel: str, *, limit: int = 200) -> list[Any]:
    """The newest messages of a channel's development outbox ("sms" or "email"), newest first."""
    table = _OUTBOXES[channel]
    async with database.transaction() as session:
        return list(await session.scalars(select(table).order_by(table.created_at.desc(), table.id).limit(limit)))


@component_check("notifications")
async def channel_health(settings: Settings) -> list[CheckResult]:
    """Self-checks of the channels, for `felles check`."""
    results = []
    for channel, registry in (("email", channels.email_providers), ("sms", channels.sms_providers)):
        try:
            provider: channels.EmailProvider | channels.SmsProvider = registry.configured(settings)
        except LookupError as exc:
            results.append(CheckResult(channel, False, str(exc)))
            continue
        ok, detail = await provider.check()
        results.append(CheckResult(f"{channel} ({provider.name})", ok, detail))
    return results


def delivery_destinations(settings: Settings) -> dict[str, str]:
    """Where each channel's messages go with these settings (for the start-up banner of `felles serve`)."""
    destinations = {}
    for channel, registry in (("E-mail", channels.email_providers), ("SMS", channels.sms_providers)):
        try:
            destinations[channel] = registry.configured(settings).destination()
        except LookupError as exc:
            destinations[channel] = str(exc)
    return destinations
