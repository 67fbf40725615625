"""Varsling's jobs: at an order's send time, ask its condition endpoint, look the recipients up (KRR, Enhetsregisteret,
the profile's addresses) and write one notification per recipient and channel; send them in batches through the
configured providers, with retries; record the providers' delivery reports. An order is Completed when every
notification has a final result. Delivery is at least once (see `service`)."""

from __future__ import annotations

import hmac
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound, Unauthorized
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, batch_job_handler, enqueue, job_handler
from felles.core.tokens import Principal
from felles.notifications import channels, schemas
from felles.notifications.models import (
    Notification,
    NotificationOrder,
)
from felles.notifications.service import (
    CHANNEL_PREFIX,
    EMAIL_NEW,
    ORDER_JOB,
    PENDING_RESULTS,
    REPORTABLE_RESULTS,
    SCHEME_CHANNELS,
    SERVICE_ACTOR,
    SMS_NEW,
    OrderStatus,
    create_order_chain,
    log,
    publish_pending_events,
    set_status,
)
from felles.profile import service as profile
from felles.registers import service as registers

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
    return [Draft(channel, None, identifier, f"{CHANNEL_PREFIX[channel]}_Failed_{reason}",
                  reason=_FAILURE_REASONS[reason]) for channel in channels_]


def _choose(scheme: str, email: str | None, mobile: str | None, identifier: str | None, **extra: Any) -> list[Draft]:
    """The notifications a recipient with these addresses gets under the channel scheme."""
    wanted = SCHEME_CHANNELS[scheme]
    address = {"email": email, "sms": mobile}
    if scheme == "EmailAndSms":
        chosen = [channel for channel in wanted if address[channel]]
    else:
        chosen = [channel for channel in wanted if address[channel]][:1]
    if not chosen:
        return _failed(wanted[:1] if scheme != "EmailAndSms" else wanted, "RecipientNotIdentified", identifier)
    return [Draft(channel, address[channel], identifier, f"{CHANNEL_PREFIX[channel]}_New", **extra)
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
                drafts += _failed(SCHEME_CHANNELS[scheme][:1], "RecipientNotIdentified", number)
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
            primary = SCHEME_CHANNELS[scheme] if scheme == "EmailAndSms" else SCHEME_CHANNELS[scheme][:1]
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
        await set_status(session, order, OrderStatus.PROCESSING)
        await set_status(session, order, OrderStatus.SEND_CONDITION_NOT_MET)
        await publish_pending_events(session)
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
    await set_status(session, order, OrderStatus.PROCESSING)
    await set_status(session, order, OrderStatus.PROCESSED)
    if not batches:
        await set_status(session, order, OrderStatus.COMPLETED)
    await publish_pending_events(session)


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
                await set_status(session, order, OrderStatus.COMPLETED)
    await publish_pending_events(session)


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
