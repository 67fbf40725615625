"""Use cases of Altinn Events.

Pipeline: publish → store (append-only, once per source and id, in the publisher's transaction) → one fan-out job
when a validated subscription may match → the fan-out job checks each matching subscription's right to read
the event and makes the first webhook POST of each at once (concurrently, over the worker's pooled
connections), then records every outcome as an `EventDelivery` row in one bulk insert. A failed delivery is
tried again, each attempt its own job, after 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h and
12 h (12 attempts, as Altinn's `RetryBackoffService`), then it is a dead letter. Every job is written in the
transaction of the step before and records its outcomes in the transaction that finishes it, so a crash loses
nothing; a receiver may see an event twice (a fan-out job killed after its POSTs runs again) and must
deduplicate on its id. No database write happens before the POSTs, so no lock is held while calling out.

Other components publish with `publish_in_transaction(session, ...)`, in the transaction of their change.
Who may publish or read an event is decided by Altinn Autorisasjon, which registers itself at start-up
(`use_authorizer`): events imports no other component, so the two do not import each other.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database, insert_for
from felles.core.errors import Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, batch_job_handler, enqueue, job_handler
from felles.core.tokens import Principal
from felles.events import schemas
from felles.events.models import CloudEventRecord, DeliveryStatus, EventDelivery, Subscription

log = structlog.get_logger("felles.events")

PUBLISH_SCOPE = "altinn:events.publish"
PUBLISH_ADMIN_SCOPE = "altinn:events.publish.admin"
SUBSCRIBE_SCOPE = "altinn:events.subscribe"
SUBSCRIBE_ADMIN_SCOPE = "altinn:events.subscribe.admin"
RESOURCE_PREFIX = "urn:altinn:resource:"
VALIDATION_EVENT_TYPE = "platform.events.validatesubscription"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
RETRY_SCHEDULE = (
    timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=5),
    timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6),
    timedelta(hours=12), timedelta(hours=12),
)
MAX_DELIVERY_ATTEMPTS = len(RETRY_SCHEDULE) + 1  # 12
ALL_RESOURCES = "*"
# Fan-out jobs (one per publishing transaction) run together, up to this many at once.
FAN_OUT_BATCH = 50


# --- who may publish and read: asked of the authorization component ------------------------------------------
class EventAuthorizer(Protocol):
    """The decisions Events needs (Altinn Events asks Altinn Authorization's PDP for them)."""

    async def may_subscribe(self, database: Database, subject: str, party: str, resource: str) -> bool:
        """May ``subject`` (an organisation or person number) read ``party``'s events of ``resource``?"""
        ...

    async def may_publish(self, database: Database, subject: str, resource: str) -> bool:
        """May ``subject`` (an organisation or person number) publish events of ``resource``?"""
        ...


class _NoAuthorizer:
    """Until an authorizer is registered nothing is decided in anyone's favour."""

    async def may_subscribe(self, database: Database, subject: str, party: str, resource: str) -> bool:
        return False

    async def may_publish(self, database: Database, subject: str, resource: str) -> bool:
        return False


_authorizer: EventAuthorizer = _NoAuthorizer()


def use_authorizer(authorizer: EventAuthorizer) -> None:
    """Register the decision point (the authorization component does, when it is loaded)."""
    global _authorizer
    _authorizer = authorizer


# --- parties and the delivery check ------------------------------------------------------------------------
def consumer_of(principal: Principal) -> str:
    """The party a token acts for, as Altinn Events writes consumers: `/org/<orgnr>`, `/person/<fnr>`."""
    if principal.kind == "organization":
        return f"/org/{principal.organization_number}"
    if principal.kind == "person":
        return f"/person/{principal.person_identifier}"
    return f"/system/{principal.client_id}"


def _created_by(principal: Principal) -> str:
    if principal.supplier_organization_number:
        return f"/org/{principal.supplier_organization_number}"
    return consumer_of(principal)


def grants_of(principal: Principal) -> list[str]:
    """What a token's scopes grant without a decision: every event for `altinn:events.subscribe.admin`."""
    return [ALL_RESOURCES] if SUBSCRIBE_ADMIN_SCOPE in principal.scopes else []


def _party_names(consumer: str) -> set[str]:
    """Every way an event may name the consumer's own party as its subject."""
    kind, _, number = consumer.strip("/").partition("/")
    if kind == "org":
        return {consumer, f"/organisation/{number}", f"urn:altinn:organization:identifier-no:{number}"}
    if kind == "person":
        return {consumer, f"urn:altinn:person:identifier-no:{number}"}
    return {consumer}


_PARTY_PREFIXES = ("/org/", "/organisation/", "/person/", "urn:altinn:organization:identifier-no:",
                   "urn:altinn:person:identifier-no:")


def _party_of(subject: str | None) -> str | None:
    """The organisation or person number an event's subject names, if it names one."""
    for prefix in _PARTY_PREFIXES:
        if subject and subject.startswith(prefix) and subject.removeprefix(prefix).isdigit():
            return subject.removeprefix(prefix)
    return None


class ReadDecisions:
    """May a consumer read (and so receive) an event? One instance serves one batch (a fan-out, a retry, a
    page of events), and asks the authorization component once per consumer, party and resource in it.

    Without a decision: the holder of `altinn:events.subscribe.admin` reads everything, a consumer reads the
    events it published and those whose `subject` or `alternativesubject` is its own party. Otherwise the
    PDP decides the `subscribe` action on the event's resource for the party its subject names, with the
    consumer (organisation or person) as the access subject; an event naming no party is not delivered."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._decided: dict[tuple[str, str, str], bool] = {}

    async def may_read(self, consumer: str, grants: list[str], event: CloudEventRecord) -> bool:
        if ALL_RESOURCES in grants or event.publisher == consumer:
            return True
        own = _party_names(consumer)
        if event.subject in own or event.alternative_subject in own:
            return True
        kind, _, subject = consumer.strip("/").partition("/")
        party = _party_of(event.subject)
        if kind not in ("org", "person") or party is None or not event.resource:
            return False
        key = (subject, party, event.resource)
        if key not in self._decided:
            self._decided[key] = await _authorizer.may_subscribe(
                self.database, subject, party, event.resource.removeprefix(RESOURCE_PREFIX))
        return self._decided[key]


# --- publishing ---------------------------------------------------------------------------------------------
def _document(event: schemas.CloudEvent, event_id: str, time: datetime) -> dict[str, Any]:
    document = event.model_dump(mode="json", exclude_none=True)
    document.update(id=event_id, specversion="1.0", time=time.isoformat().replace("+00:00", "Z"))
    return document


# Whether any validated subscription lives, asked in the insert's RETURNING: without one (the usual case) a
# publishing transaction need not read the subscriptions at all, a statement less per publish.
_ANY_SUBSCRIPTION = (select(Subscription.id).where(Subscription.validated.is_(True), Subscription.deleted_at.is_(None))
                     .limit(1).exists())
# The insert per dialect, made once: building its ON CONFLICT and RETURNING clauses cost as much as running it.
_store_statements: dict[str, Any] = {}


def _store_statement(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else ""
    statement = _store_statements.get(dialect)
    if statement is None:
        statement = _store_statements[dialect] = insert_for(session, CloudEventRecord).on_conflict_do_nothing(
            index_elements=["source", "event_id"]).returning(
            CloudEventRecord.sequence, CloudEventRecord.source, CloudEventRecord.event_id, _ANY_SUBSCRIPTION)
    return statement


async def _store(session: AsyncSession, documents: list[dict[str, Any]],
                 publisher: str) -> tuple[list[tuple[int, str, str]], bool]:
    """Insert the events, each once per source, in one statement (executed for many rows at once: a multi-row
    VALUES clause would be built and compiled again for every number of rows): (sequence, source, event id) of
    those that were new, and whether a validated subscription exists that may want them."""
    if not documents:
        return [], False
    now = utcnow()
    rows = [dict(
        event_id=document["id"], source=document["source"], type=document["type"],
        subject=document.get("subject"), alternative_subject=document.get("alternativesubject"),
        resource=document.get("resource"), resource_instance=document.get("resourceinstance"),
        time=datetime.fromisoformat(document["time"]), registered_at=now, publisher=publisher, document=document,
    ) for document in documents]
    returned = list(await session.execute(_store_statement(session), rows))
    return ([(sequence, source, event_id) for sequence, source, event_id, _ in returned],
            any(bool(subscribed) for *_, subscribed in returned))


def _app_resource(source: str) -> str:
    """An app event's resource from its source, ``…/{org}/{app}/instances/{party}/{guid}`` (or ``…/{org}/{app}``)."""
    path = urlsplit(source).path.strip("/").split("/")
    if "instances" in path:
        path = path[:path.index("instances")]
    return f"{RESOURCE_PREFIX}app_{'_'.join(path[-2:])}"


async def _check_may_publish(database: Database, principal: Principal, resource: str) -> None:
    """Altinn Events' publish check: the publisher needs the `publish` right on the event's resource (a service
    owner has it on its own resources). The platform's admin scope publishes for any resource."""
    if PUBLISH_ADMIN_SCOPE in principal.scopes:
        return
    subject = principal.organization_number if principal.kind == "organization" else principal.person_identifier
    if not subject or not await _authorizer.may_publish(database, subject, resource.removeprefix(RESOURCE_PREFIX)):
        raise Forbidden(f"You may not publish events for {resource}: publishing needs the publish right on "
                        "the resource.", code="publish_not_authorized")


async def publish(database: Database, principal: Principal, event: schemas.CloudEvent, *, app: bool = False) -> str:
    """Store an event published through the API and queue its fan-out; returns its id. A repeated id (within
    its source) is accepted and stored once. Generic events need an id and a `resource`; app events get them
    from their source when absent. The publisher needs the publish right on the resource."""
    if event.id is None and app:
        event.id = str(uuid7())
    if event.resource is None and app:
        event.resource = _app_resource(event.source)
    event_id, resource = (event.id or "").strip(), (event.resource or "").strip()
    if not event_id:
        raise InvalidInput("A cloud event needs a non-empty id.", code="event_id_missing")
    if not resource:
        raise InvalidInput("A cloud event needs a resource (urn:altinn:resource:…).", code="resource_missing")
    await _check_may_publish(database, principal, resource)
    document = _document(event, event_id, event.time or utcnow())
    async with database.transaction() as session:
        await _store_all(session, [document], consumer_of(principal))
    return event_id


async def _store_all(session: AsyncSession, documents: list[dict[str, Any]], publisher: str) -> None:
    """Store the events (each once) and queue one fan-out job for those a validated subscription may want."""
    by_key = {(document["source"], document["id"]): document for document in documents}
    inserted, subscribed = await _store(session, documents, publisher)
    stored = sorted((sequence, by_key[source, event_id]) for sequence, source, event_id in inserted)
    if not stored or not subscribed:
        return
    subscriptions = list(await session.scalars(
        select(Subscription).where(Subscription.validated.is_(True), Subscription.deleted_at.is_(None))))
    wanted = [sequence for sequence, document in stored
              if any(matches(subscription, _record_of(document, publisher)) for subscription in subscriptions)]
    if wanted:
        await enqueue(session, "events.fan_out", {"sequences": wanted})


def _record_of(document: dict[str, Any], publisher: str) -> CloudEventRecord:
    """An unsaved record of a document, for matching filters."""
    return CloudEventRecord(source=document["source"], type=document["type"], subject=document.get("subject"),
                            alternative_subject=document.get("alternativesubject"),
                            resource=document.get("resource"), publisher=publisher)


async def publish_in_transaction(
    session: AsyncSession, *, source: str, type: str, subject: str | None = None,
    alternativesubject: str | None = None, resource: str | None = None, resourceinstance: str | None = None,
    data: Any = None, publisher: str, event_id: str | None = None,
) -> str:
    """How other components publish: the event is queued in the caller's transaction, so it exists exactly
    when the change it tells about commits. Returns the event id."""
    (published,) = await publish_many_in_transaction(session, [dict(
        source=source, type=type, subject=subject, alternativesubject=alternativesubject, resource=resource,
        resourceinstance=resourceinstance, data=data, event_id=event_id)], publisher=publisher)
    return published


async def publish_many_in_transaction(
    session: AsyncSession, events: list[dict[str, Any]], *, publisher: str
) -> list[str]:
    """Several events of one transaction, stored in it (no job at all unless a subscription may want one).
    Each dict has the keyword arguments of `publish_in_transaction` but `publisher`."""
    documents = []
    for fields in events:
        fields = dict(fields)
        event = schemas.CloudEvent(id=fields.pop("event_id", None) or str(uuid7()), **fields)
        documents.append(_document(event, event.id or "", utcnow()))
    if documents:
        await _store_all(session, documents, publisher)
    return [document["id"] for document in documents]


@job_handler("events.publish")
async def _store_and_fan_out(payload: dict[str, Any], context: JobContext) -> None:
    """Jobs queued before events were stored in the publisher's transaction."""
    await _store_all(context.session, payload.get("events") or [payload["event"]], payload["publisher"])


@batch_job_handler("events.fan_out", batch=FAN_OUT_BATCH)
async def _fan_out_jobs(payloads: list[dict[str, Any]], context: JobContext) -> None:
    """The fan-out of many publishing transactions at once: one query for their events, one for the
    subscriptions, their POSTs together over the pooled connections, one insert of every outcome."""
    sequences = {int(sequence) for payload in payloads
                 for sequence in payload.get("sequences") or [payload["sequence"]]}
    await _fan_out(context.session, context.database, sorted(sequences))


def matches(subscription: Subscription, event: CloudEventRecord) -> bool:
    """Do the subscription's filters select the event? (Source is a prefix; the rest are exact.)"""
    if subscription.source_filter and not event.source.startswith(subscription.source_filter.rstrip("*")):
        return False
    return all(wanted is None or wanted == actual for wanted, actual in (
        (subscription.type_filter, event.type), (subscription.subject_filter, event.subject),
        (subscription.resource_filter, event.resource),
        (subscription.alternative_subject_filter, event.alternative_subject),
    ))


async def _fan_out(session: AsyncSession, database: Database, sequences: list[int]) -> None:
    """Make the first delivery attempt of each event to each matching subscription, then record them all.

    Only reads happen before the POSTs; the delivery rows are written after, in one statement, and commit
    with the job. A subscription that already has a row for the event (an earlier run of this job that
    committed, which cannot happen, or a concurrent one whose lease ran out) is skipped."""
    events = list(await session.scalars(
        select(CloudEventRecord).where(CloudEventRecord.sequence.in_(sequences)).order_by(CloudEventRecord.sequence)))
    if not events:
        return
    subscriptions = list(await session.scalars(
        select(Subscription).where(Subscription.validated.is_(True), Subscription.deleted_at.is_(None))
        .order_by(Subscription.id)
    ))
    pairs = [(event, subscription) for event in events for subscription in subscriptions
             if matches(subscription, event)]
    if not pairs:
        return
    existing = {(subscription_id, sequence) for subscription_id, sequence in (await session.execute(
        select(EventDelivery.subscription_id, EventDelivery.event_sequence)
        .where(EventDelivery.event_sequence.in_([event.sequence for event in events]))
    )).all()}
    pairs = [(event, subscription) for event, subscription in pairs
             if (subscription.id, event.sequence) not in existing]
    settings = get_settings()
    limit = asyncio.Semaphore(settings.webhook_fan_out_parallel)
    decisions = ReadDecisions(database)
    readable = [await decisions.may_read(subscription.consumer, subscription.grants, event)
                for event, subscription in pairs]

    async def first_attempt(event: CloudEventRecord, subscription: Subscription, may_read: bool) -> dict[str, Any]:
        now = utcnow()
        row: dict[str, Any] = dict(id=uuid7(), subscription_id=subscription.id, event_sequence=event.sequence,
                                   attempts=0, created_at=now, next_attempt_at=None, delivered_at=None,
                                   last_status_code=None, last_error=None)
        if not may_read:
            log.info("event_delivery_unauthorized", subscription=subscription.id, event_id=event.event_id)
            return {**row, "status": DeliveryStatus.UNAUTHORIZED}
        async with limit:
            outcome = await _attempt(settings, subscription, event, attempts_before=0)
        return {**row, **outcome}

    rows = await asyncio.gather(*(first_attempt(event, subscription, may_read)
                                  for (event, subscription), may_read in zip(pairs, readable, strict=True)))
    if not rows:
        return
    inserted = set((await session.execute(
        insert_for(session, EventDelivery).values(rows)
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_sequence"])
        .returning(EventDelivery.id)
    )).scalars().all())
    for row in rows:
        if row["id"] in inserted and row["status"] == DeliveryStatus.PENDING:
            await enqueue(session, "events.deliver", {"delivery": str(row["id"])}, run_at=row["next_attempt_at"])


# --- delivery -----------------------------------------------------------------------------------------------
def _failure(response: httpx.Response | None, error: Exception | None) -> tuple[int | None, str]:
    if response is not None:
        return response.status_code, f"HTTP {response.status_code}"
    return None, f"{type(error).__name__}: {error}"


async def _attempt(
    settings: Settings, subscription: Subscription, event: CloudEventRecord, *, attempts_before: int
) -> dict[str, Any]:
    """One POST of an event to a subscription's webhook (SSRF-checked); the delivery's new fields."""
    response: httpx.Response | None = None
    error: Exception | None = None
    try:
        response = await outbound.request(settings, "POST", subscription.end_point, json=event.document,
                                          headers={"Content-Type": "application/cloudevents+json"}, pooled=True)
    except (httpx.HTTPError, outbound.OutboundRefused) as exc:
        error = exc
    attempts = attempts_before + 1
    now = utcnow()
    if response is not None and response.is_success:
        return dict(status=DeliveryStatus.DELIVERED, attempts=attempts, delivered_at=now,
                    last_status_code=response.status_code, next_attempt_at=None)
    status_code, message = _failure(response, error)
    if attempts >= MAX_DELIVERY_ATTEMPTS:
        log.warning("event_delivery_dead", subscription=subscription.id, event_id=event.event_id)
        return dict(status=DeliveryStatus.DEAD, attempts=attempts, last_status_code=status_code,
                    last_error=message, next_attempt_at=None)
    return dict(status=DeliveryStatus.PENDING, attempts=attempts, last_status_code=status_code, last_error=message,
                next_attempt_at=now + RETRY_SCHEDULE[attempts - 1])


@job_handler("events.deliver", max_attempts=5)
async def _deliver(payload: dict[str, Any], context: JobContext) -> None:
    """A later attempt to deliver one event to one webhook; the next attempt is scheduled here, so the retry
    schedule is Altinn's rather than the job queue's (which only retries crashes of this handler)."""
    session = context.session
    delivery = await session.get(EventDelivery, uuid.UUID(payload["delivery"]))
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    subscription = await session.get(Subscription, delivery.subscription_id)
    event = await session.get(CloudEventRecord, delivery.event_sequence)
    if subscription is None or event is None or subscription.deleted_at is not None:
        delivery.status = DeliveryStatus.CANCELLED
        return
    if not await ReadDecisions(context.database).may_read(subscription.consumer, subscription.grants, event):
        delivery.status = DeliveryStatus.UNAUTHORIZED
        log.info("event_delivery_unauthorized", subscription=subscription.id, event_id=event.event_id)
        return
    outcome = await _attempt(get_settings(), subscription, event, attempts_before=delivery.attempts)
    for name, value in outcome.items():
        setattr(delivery, name, value)
    if delivery.status == DeliveryStatus.PENDING:
        await enqueue(session, "events.deliver", payload, run_at=delivery.next_attempt_at)


# --- reading ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    # The id to pass as `after` for the next page; None when this page was the last.
    next_after: str | None


async def list_events(
    database: Database, principal: Principal, *, resource: str, after: str, size: int,
    subject: str | None = None, type: str | None = None, alternative_subject: str | None = None,
) -> EventPage:
    """Events of a resource after the event with id `after` ("0" for the beginning), oldest first, only those
    the caller may read."""
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"size must be between 1 and {MAX_PAGE_SIZE}.", code="invalid_size")
    consumer, grants = consumer_of(principal), grants_of(principal)
    async with database.transaction() as session:
        start = 0
        if after not in ("", "0"):
            # Ids are unique per source: a cursor naming ids of several sources resumes after the first.
            found = await session.scalar(select(func.min(CloudEventRecord.sequence))
                                         .where(CloudEventRecord.event_id == after))
            if found is None:
                raise InvalidInput("`after` is not the id of a stored event.", code="invalid_after")
            start = found
        query = select(CloudEventRecord).where(CloudEventRecord.resource == resource,
                                               CloudEventRecord.sequence > start)
        if subject:
            query = query.where(CloudEventRecord.subject == subject)
        if type:
            query = query.where(CloudEventRecord.type == type)
        if alternative_subject:
            query = query.where(CloudEventRecord.alternative_subject == alternative_subject)
        rows = list(await session.scalars(query.order_by(CloudEventRecord.sequence).limit(size)))
    decisions = ReadDecisions(database)
    readable = [row.document for row in rows if await decisions.may_read(consumer, grants, row)]
    return EventPage(readable, rows[-1].event_id if len(rows) == size else None)


# --- subscriptions ------------------------------------------------------------------------------------------
def _public(subscription: Subscription) -> schemas.SubscriptionPublic:
    return schemas.SubscriptionPublic(
        id=subscription.id, endPoint=subscription.end_point, resourceFilter=subscription.resource_filter,
        subjectFilter=subscription.subject_filter, alternativeSubjectFilter=subscription.alternative_subject_filter,
        typeFilter=subscription.type_filter, sourceFilter=subscription.source_filter,
        consumer=subscription.consumer, createdBy=subscription.created_by, created=subscription.created,
        validated=subscription.validated,
    )


async def create_subscription(
    database: Database, settings: Settings, principal: Principal, request: schemas.SubscriptionCreate
) -> schemas.SubscriptionPublic:
    """Register a webhook; it is sent a validation event and gets nothing else until it answers 200."""
    outbound.check_url_syntax(settings, request.endPoint)
    if not any((request.resourceFilter, request.sourceFilter)):
        raise InvalidInput("A subscription needs a resourceFilter (or a sourceFilter).", code="filter_missing")
    async with database.transaction() as session:
        subscription = Subscription(
            end_point=request.endPoint, source_filter=request.sourceFilter, type_filter=request.typeFilter,
            subject_filter=request.subjectFilter, resource_filter=request.resourceFilter,
            alternative_subject_filter=request.alternativeSubjectFilter, consumer=consumer_of(principal),
            created_by=_created_by(principal), grants=grants_of(principal), created=utcnow(), validated=False,
        )
        session.add(subscription)
        await session.flush()
        await enqueue(session, "events.validate_subscription", {"subscription": subscription.id})
    return _public(subscription)


@job_handler("events.validate_subscription", max_attempts=12, backoff_base=timedelta(seconds=10),
             backoff_max=timedelta(hours=12))
async def _validate_subscription(payload: dict[str, Any], context: JobContext) -> None:
    """The handshake: POST a `platform.events.validatesubscription` event; a 200 marks the subscription
    validated. Anything else fails the job, which is retried with backoff."""
    settings = get_settings()
    subscription = await context.session.get(Subscription, int(payload["subscription"]))
    if subscription is None or subscription.deleted_at is not None or subscription.validated:
        return
    event = {"id": str(uuid7()), "specversion": "1.0", "type": VALIDATION_EVENT_TYPE,
             "source": f"{settings.base_url}/events/api/v1/subscriptions/{subscription.id}",
             "time": utcnow().isoformat().replace("+00:00", "Z")}
    response = await outbound.request(settings, "POST", subscription.end_point, json=event,
                                      headers={"Content-Type": "application/cloudevents+json"}, pooled=True)
    if response.status_code != 200:
        raise RuntimeError(f"the endpoint answered the validation event with HTTP {response.status_code}")
    subscription.validated, subscription.validated_at = True, utcnow()


async def _own_subscription(session: AsyncSession, principal: Principal, subscription_id: int) -> Subscription:
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None or subscription.deleted_at is not None or subscription.consumer != consumer_of(principal):
        raise NotFound(f"No subscription {subscription_id}.", code="subscription_not_found")
    return subscription


async def get_subscription(
    database: Database, principal: Principal, subscription_id: int
) -> schemas.SubscriptionPublic:
    async with database.transaction() as session:
        return _public(await _own_subscription(session, principal, subscription_id))


async def list_subscriptions(database: Database, principal: Principal) -> schemas.SubscriptionList:
    async with database.transaction() as session:
        rows = list(await session.scalars(
            select(Subscription).where(Subscription.consumer == consumer_of(principal),
                                       Subscription.deleted_at.is_(None)).order_by(Subscription.id)
        ))
    return schemas.SubscriptionList(count=len(rows), subscriptions=[_public(row) for row in rows])


async def delete_subscription(database: Database, principal: Principal, subscription_id: int) -> None:
    """Stop the subscription; deliveries not yet made are cancelled."""
    async with database.transaction() as session:
        subscription = await _own_subscription(session, principal, subscription_id)
        subscription.deleted_at = utcnow()
        await session.execute(
            update(EventDelivery)
            .where(EventDelivery.subscription_id == subscription_id, EventDelivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.CANCELLED)
        )


# --- for other components and operators ----------------------------------------------------------------------
async def delivery_counts(database: Database) -> dict[str, int]:
    async with database.transaction() as session:
        rows = await session.execute(select(EventDelivery.status, func.count()).group_by(EventDelivery.status))
        return dict(rows.all())  # type: ignore[arg-type]

