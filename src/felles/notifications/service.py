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

import hmac
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from felles.core.health import CheckResult, component_check
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, batch_job_handler, enqueue, enqueue_many, job_handler
from felles.core.tokens import Principal
from felles.events import service as events_service
from felles.notifications import channels, schemas
from felles.notifications.models import (
    EmailOutboxMessage,
    Notification,
    NotificationOrder,
    NotificationOrderChain,
    OrderStatusChange,
    SmsOutboxMessage,
)
from felles.profile import service as profile
from felles.registers import service as registers

log = structlog.get_logger("felles.notifications")

CREATE_SCOPE = "altinn:serviceowner/notifications.create"
READ_SCOPE = "altinn:serviceowner/notifications.read"
SERVICE_ACTOR = Actor("system:felles-notifications")
EVENT_PUBLISHER = "/system/felles-notifications"
EVENT_RESOURCE = "urn:altinn:resource:altinn-notifications"
SEND_BATCH = 200
# Due e-mail send jobs that one handler call takes together (each of up to SEND_BATCH e-mails).
SEND_JOBS_AT_ONCE = 8
KRR_BATCH = 1000
MAX_SEND_ATTEMPTS = 5
SEND_RETRY_BASE = timedelta(seconds=30)
# Attempts to get an answer from a condition endpoint before the notification is sent regardless.
CONDITION_ATTEMPTS = 3
OSLO = ZoneInfo("Europe/Oslo")
DAYTIME = (time(9), time(17))


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
_CHANNEL_PREFIX = {"email": "Email", "sms": "SMS"}
_SCHEME_CHANNELS = {
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


async def _set_status(session: AsyncSession, order: NotificationOrder, status: str) -> None:
    """Change an order's status; its feed entry and event are written by `_publish_events` before the
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


async def _publish_events(session: AsyncSession) -> None:
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
    wanted = _SCHEME_CHANNELS[scheme]
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
    await _set_status(session, order, OrderStatus.REGISTERED)
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
            await _publish_events(session)
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
            await _set_status(session, order, OrderStatus.REGISTERED)
        session.add_all(orders)
        await session.flush()
        await enqueue_many(session, "notifications.process_order",
                           [({"order": str(order.id)}, order.requested_send_time) for order in orders])
        await _publish_events(session)
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
        await _publish_events(session)
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
            await _set_status(session, order, OrderStatus.CANCELLED)
        await _publish_events(session)
    return len(cancellable)


# --- processing: condition, address lookup, notifications ---------------------------------------------------
@dataclass
class Draft:
    channel: str
    destination: str | None
    identifier: str | None
    status: str
    name: str = ""
    number: str = ""
    language: str | None = None
    reason: str | None = None  # why it failed before sending


class ConditionUnanswered(Exception):
    """The condition endpoint gave no usable answer (timeout, transport error, not a 200 with a boolean)."""


async def _ask_condition(settings: Settings, url: str) -> bool:
    try:
        response = await outbound.request(settings, "GET", url)
    except (httpx.HTTPError, outbound.OutboundRefused) as exc:  # a timeout (FELLES_OUTBOUND_TIMEOUT_SECONDS) among them
        raise ConditionUnanswered(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code != 200:
        raise ConditionUnanswered(f"the condition endpoint answered HTTP {response.status_code}")
    try:
        decision = response.json().get("sendNotification")
    except ValueError as exc:
        raise ConditionUnanswered("the condition endpoint did not answer with JSON") from exc
    if not isinstance(decision, bool):
        raise ConditionUnanswered("the condition endpoint did not answer with a boolean sendNotification")
    return decision


async def _condition_met(settings: Settings, url: str, attempt: int) -> bool:
    """Ask the condition endpoint. Without a usable answer the job fails and is tried again with backoff, up
    to CONDITION_ATTEMPTS; after the last one the notification is sent, as Altinn Notifications does: a
    condition that cannot be checked must not silence a notification."""
    try:
        return await _ask_condition(settings, url)
    except ConditionUnanswered as exc:
        if attempt < CONDITION_ATTEMPTS:
            raise
        log.warning("notification_condition_unanswered_sending", url=url, attempts=attempt, error=str(exc))
        return True


_FAILURE_REASONS = {
    "RecipientNotIdentified": "No address for the recipient on this channel (KRR, Enhetsregisteret or the order).",
    "RecipientReserved": "The person has reserved against digital communication in KRR.",
}


def _failed(channels_: tuple[str, ...], reason: str, identifier: str | None) -> list[Draft]:
    return [Draft(channel, None, identifier, f"{_CHANNEL_PREFIX[channel]}_Failed_{reason}",
                  reason=_FAILURE_REASONS[reason]) for channel in channels_]


def _choose(scheme: str, email: str | None, mobile: str | None, identifier: str | None, **extra: Any) -> list[Draft]:
    """The notifications a recipient with these addresses gets under the channel scheme."""
    wanted = _SCHEME_CHANNELS[scheme]
    address = {"email": email, "sms": mobile}
    if scheme == "EmailAndSms":
        chosen = [channel for channel in wanted if address[channel]]
    else:
        chosen = [channel for channel in wanted if address[channel]][:1]
    if not chosen:
        return _failed(wanted[:1] if scheme != "EmailAndSms" else wanted, "RecipientNotIdentified", identifier)
    return [Draft(channel, address[channel], identifier, f"{_CHANNEL_PREFIX[channel]}_New", **extra)
            for channel in chosen]


def _full_name(person: Any) -> str:
    return " ".join(part for part in (person.navn.fornavn, person.navn.mellomnavn, person.navn.etternavn) if part)


def _uses_names(order: NotificationOrder) -> bool:
    return "$recipientName$" in str(order.texts)


async def _personal_addresses(database: Database, recipients: list[dict[str, str]]
                              ) -> dict[tuple[str, str], list[profile.UserContactPoint]]:
    """The addresses persons registered in their profile for the organisations an order names with a resource
    (Altinn's user-registered contact points): `{(orgnr, resource): [...]}`. Only those the resource's policy
    lets read for the organisation get it, as in Altinn."""
    by_resource: dict[str, list[str]] = defaultdict(list)
    for target in recipients:
        if "organization" in target and target.get("resource"):
            by_resource[target["resource"]].append(target["organization"])
    found: dict[tuple[str, str], list[profile.UserContactPoint]] = {}
    for resource, numbers in by_resource.items():
        for number, points in (await profile.user_contact_points(database, numbers, resource)).items():
            found[(number, resource)] = points
    return found


async def _resolve(database: Database, order: NotificationOrder) -> list[Draft]:
    scheme = order.channel_scheme
    drafts: list[Draft] = []
    persons = [target["person"] for target in order.recipients if "person" in target]
    organizations = [target["organization"] for target in order.recipients if "organization" in target]
    krr: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for start in range(0, len(persons), KRR_BATCH):
        chunk = persons[start:start + KRR_BATCH]
        answer = await registers.lookup_contact_information(database, SERVICE_ACTOR, chunk, contact=True,
                                                            digital_post=False)
        krr.update({entry["personidentifikator"]: entry for entry in answer["personer"]})
        if _uses_names(order):
            found = await registers.get_persons(database, SERVICE_ACTOR, chunk)
            names.update({person.identifikasjonsnummer: _full_name(person) for person in found.personer})
    addresses = await registers.organization_notification_addresses(database, organizations) if organizations else {}
    personal = await _personal_addresses(database, order.recipients)
    for target in order.recipients:
        if "email" in target:
            drafts += _choose(scheme, target["email"], None, None)
        elif "mobile" in target:
            drafts += _choose(scheme, None, target["mobile"], None)
        elif "organization" in target:
            number = target["organization"]
            found_org = addresses.get(number)
            if found_org is None:
                drafts += _failed(_SCHEME_CHANNELS[scheme][:1], "RecipientNotIdentified", number)
            else:
                drafts += _choose(scheme, found_org["email"], found_org["mobile"], number,
                                  name=found_org["name"] or "", number=number)
            for point in personal.get((number, target.get("resource", "")), []):
                drafts += _choose(scheme, point.email, point.mobile, number, name=found_org["name"] if found_org
                                  else "", number=number)
        else:
            nin = target["person"]
            entry = krr.get(nin, {})
            reserved = entry.get("reservasjon") == "JA"
            primary = _SCHEME_CHANNELS[scheme] if scheme == "EmailAndSms" else _SCHEME_CHANNELS[scheme][:1]
            if reserved and not order.ignore_reservation:
                drafts += _failed(primary, "RecipientReserved", nin)
                continue
            usable = (entry.get("varslingsstatus") == "KAN_VARSLES" or order.use_stale_contact_information
                      or (reserved and order.ignore_reservation))
            contact = entry.get("kontaktinformasjon", {}) if usable else {}
            drafts += _choose(scheme, contact.get("epostadresse"), contact.get("mobiltelefonnummer"), nin,
                              name=names.get(nin, ""), language=entry.get("spraak"))
    return drafts


def _render(text: str, draft: Draft) -> str:
    return text.replace("$recipientName$", draft.name).replace("$recipientNumber$", draft.number)


def _texts_for(order: NotificationOrder, draft: Draft) -> dict[str, Any]:
    texts = dict(order.texts[draft.channel])
    translated = texts.get("translations", {}).get(draft.language or "")
    if translated:
        texts.update(translated)
    return texts


def _next_daytime(moment: datetime) -> datetime:
    """The first moment at or after `moment` within 09–17 Norwegian time, when Daytime SMS may go out."""
    local = moment.astimezone(OSLO)
    start, end = DAYTIME
    if start <= local.time() < end:
        return moment
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=OSLO).astimezone(UTC)


@job_handler("notifications.process_order", max_attempts=10, backoff_base=timedelta(seconds=30),
             lease=timedelta(minutes=5))
async def _process_order(payload: dict[str, Any], context: JobContext) -> None:
    settings = get_settings()
    session = context.session
    order_id = uuid.UUID(payload["order"])
    # Locked from here (PostgreSQL), so a cancel waits for this job and then finds the order being sent.
    order = await session.get(NotificationOrder, order_id, with_for_update=True)
    if order is None or order.status != OrderStatus.REGISTERED:
        return  # cancelled, or processed by an earlier run of this job
    # Outside calls first, before this transaction writes anything (the lookups commit their own audit rows).
    send = order.condition_endpoint is None or await _condition_met(settings, order.condition_endpoint,
                                                                    context.attempt)
    drafts = await _resolve(context.database, order) if send else []
    if not send:
        await _set_status(session, order, OrderStatus.PROCESSING)
        await _set_status(session, order, OrderStatus.SEND_CONDITION_NOT_MET)
        await _publish_events(session)
        return
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        texts = _texts_for(order, draft) if draft.destination else {}
        send_after = now
        if draft.channel == "sms" and texts.get("sendingTimePolicy") == "Daytime":
            send_after = _next_daytime(now)
        rows.append({
            "id": uuid7(), "order_id": order.id, "channel": draft.channel, "destination": draft.destination,
            "recipient_identifier": draft.identifier, "status": draft.status, "status_at": now,
            "sender": texts.get("senderEmailAddress") or texts.get("sender"),
            "subject": _render(texts["subject"], draft) if "subject" in texts else None,
            "body": _render(texts["body"], draft) if "body" in texts else None,
            "content_type": texts.get("contentType"), "send_after": send_after, "attempts": 0,
            "last_error": draft.reason,
        })
    if rows:
        await session.execute(insert(Notification), rows)
    batches: dict[tuple[str, datetime], list[str]] = defaultdict(list)
    for row in rows:
        if row["status"] in (EMAIL_NEW, SMS_NEW):
            batches[(row["channel"], row["send_after"])].append(str(row["id"]))
    for (channel, send_after), ids in batches.items():
        for start in range(0, len(ids), SEND_BATCH):
            await enqueue(session, f"notifications.send_{channel}", {"ids": ids[start:start + SEND_BATCH]},
                          run_at=send_after)
    await _set_status(session, order, OrderStatus.PROCESSING)
    await _set_status(session, order, OrderStatus.PROCESSED)
    if not batches:
        await _set_status(session, order, OrderStatus.COMPLETED)
    await _publish_events(session)


ORDER_JOB = "notifications.order"
COMPONENT_ORDER_CREATOR_PREFIX = "felles-"


@job_handler(ORDER_JOB, max_attempts=10, backoff_base=timedelta(seconds=10))
async def _order_from_component(payload: dict[str, Any], context: JobContext) -> None:
    """An order another component placed in its own transaction (Profile's verification codes): `{"creator":
    "felles-<component>", "order": OrderChainCreate}`. A rerun creates nothing twice (the order's idempotencyId)."""
    creator = str(payload["creator"])
    if not creator.startswith(COMPONENT_ORDER_CREATOR_PREFIX):
        raise ValueError(f"not a component of this platform: {creator}")
    request = schemas.OrderChainCreate.model_validate(payload["order"])
    await create_order_chain(context.database, get_settings(), Principal("system", client_id=creator), request)


# --- sending ------------------------------------------------------------------------------------------------
async def _record_results(
    session: AsyncSession, rows: list[Notification], results: dict[uuid.UUID, channels.SendResult], *,
    sent_status: str, transient_status: str, failed_status: str, kind: str,
) -> None:
    """Record each notification's result: one UPDATE per distinct outcome (usually one for the whole batch)
    rather than one per row."""
    now = utcnow()
    retry: list[str] = []
    outcomes: dict[tuple[str, str | None], list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        result = results[row.id]
        if result.ok:
            status, error = sent_status, row.last_error
        elif result.transient and row.attempts + 1 < MAX_SEND_ATTEMPTS:
            status, error = row.status, result.error
            retry.append(str(row.id))
        else:
            status = transient_status if result.transient else (result.status or failed_status)
            error = result.error
        if not result.ok:
            log.warning("notification_send_failed", kind=kind, notification=str(row.id), order=str(row.order_id),
                        destination=row.destination, attempt=row.attempts + 1, error=result.error,
                        result=status, retried=status == row.status)
        outcomes[(status, error)].append(row.id)
    for (status, error), ids in outcomes.items():
        # A delivery report that arrived before this commit has already given its notification a later result.
        await session.execute(
            update(Notification).where(Notification.id.in_(ids), Notification.status.in_(PENDING_RESULTS))
            .values(status=status, last_error=error, status_at=now, attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    if retry:
        delay = SEND_RETRY_BASE * 2 ** min(row.attempts for row in rows)
        await enqueue(session, kind, {"ids": retry}, run_at=now + delay)
        log.warning("notifications_send_retry", kind=kind, count=len(retry))
    await _complete_orders(session, {row.order_id for row in rows})


async def _complete_orders(session: AsyncSession, order_ids: set[uuid.UUID]) -> None:
    """Complete each order whose notifications all have a final result. The order rows are locked first (in
    id order), so of two batches finishing together the later one sees the other's results."""
    await session.flush()
    orders = list(await session.scalars(
        select(NotificationOrder).where(NotificationOrder.id.in_(order_ids)).order_by(NotificationOrder.id)
        .with_for_update().execution_options(populate_existing=True)))
    processed = [order for order in orders if order.status == OrderStatus.PROCESSED]
    if processed:
        unfinished = set(await session.scalars(
            select(Notification.order_id).distinct()
            .where(Notification.order_id.in_([order.id for order in processed]),
                   Notification.status.in_(PENDING_RESULTS))))
        for order in processed:
            if order.id not in unfinished:
                await _set_status(session, order, OrderStatus.COMPLETED)
    await _publish_events(session)


async def _pending(session: AsyncSession, payloads: list[dict[str, Any]], status: str) -> list[Notification]:
    ids = [uuid.UUID(value) for payload in payloads for value in payload["ids"]]
    return list(await session.scalars(
        select(Notification).where(Notification.id.in_(ids), Notification.status == status)
        .order_by(Notification.id)
    ))


@batch_job_handler("notifications.send_email", batch=SEND_JOBS_AT_ONCE, max_attempts=10, lease=timedelta(minutes=5))
async def _send_emails(payloads: list[dict[str, Any]], context: JobContext) -> None:
    """Send the batches of several send jobs at once (many one-recipient orders share one query, one result
    update and the SMTP sessions); the results commit with the jobs. Killed midway, they are sent again."""
    settings = get_settings()
    rows = await _pending(context.session, payloads, EMAIL_NEW)
    if not rows:
        return
    provider = channels.email_providers.configured(settings)
    results = await provider.send(context.session, [
        channels.Email(row.id, row.sender or settings.smtp_from, row.destination or "", row.subject or "",
                       row.body or "", row.content_type == "Html")
        for row in rows
    ], sessions=settings.smtp_connections * len(payloads))  # as many sessions as the jobs would have had apart
    await _record_results(context.session, rows, results, sent_status="Email_Succeeded",
                          transient_status="Email_Failed_TransientError", failed_status="Email_Failed",
                          kind="notifications.send_email")


@job_handler("notifications.send_sms", max_attempts=10, lease=timedelta(minutes=5))
async def _send_sms(payload: dict[str, Any], context: JobContext) -> None:
    settings = get_settings()
    rows = await _pending(context.session, [payload], SMS_NEW)
    if not rows:
        return
    provider = channels.sms_providers.configured(settings)
    rate = channels.limiter("sms", settings.sms_rate_per_second)
    results = {}
    for row in rows:
        await rate.acquire()
        results[row.id] = await provider.send(context.session, channels.Sms(
            row.id, row.sender or settings.sms_sender, row.destination or "", row.body or ""))
    await _record_results(context.session, rows, results, sent_status="SMS_Accepted",
                          transient_status="SMS_Failed", failed_status="SMS_Failed_Rejected",
                          kind="notifications.send_sms")


# --- delivery reports -------------------------------------------------------------------------------------
async def record_delivery_report(database: Database, channel: str, notification_id: uuid.UUID, result: str) -> bool:
    """Record a delivery report's result for one notification; False when it changed nothing (the result was
    already final, e.g. a second report). `NotFound` when there is no such notification on the channel."""
    async with database.transaction() as session:
        notification = await session.get(Notification, notification_id, with_for_update=True)
        if notification is None or notification.channel != channel:
            raise NotFound(f"No {channel} notification {notification_id}.", code="NotificationNotFound")
        if notification.status not in REPORTABLE_RESULTS:
            return False
        notification.status, notification.status_at = result, utcnow()
        log.info("notification_delivery_report", notification=str(notification_id), result=result)
        await _complete_orders(session, {notification.order_id})
    return True


async def record_email_report(database: Database, settings: Settings, secret: str | None, raw: bytes) -> int:
    """A DSN piped by the MTA: records its result; returns how many notifications it changed."""
    _check_report_secret(settings.email_delivery_report_secret, secret)
    try:
        reported = channels.parse_dsn(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_delivery_report") from exc
    return sum([await record_delivery_report(database, "email", notification, result)
                for notification, result in reported])


async def record_sms_report(database: Database, settings: Settings, secret: str | None,
                            report: schemas.SmsDeliveryReport) -> bool:
    """An SMS gateway's delivery report (DLR) for the message it was given with `refId`."""
    _check_report_secret(settings.sms_delivery_report_secret, secret)
    if report.status not in channels.SMS_REPORT_RESULTS:
        raise InvalidInput(f"Unknown delivery status {report.status!r}.", code="invalid_delivery_report")
    return await record_delivery_report(database, "sms", report.refId, f"SMS_{report.status}")


def _check_report_secret(expected: str | None, given: str | None) -> None:
    if not expected or given is None or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized("A delivery report needs the channel's shared secret.", code="invalid_report_secret")


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
