"""Use cases of consent (samtykke), as Altinn's consent API runs them.

A data consumer (an organisation with a Maskinporten token) creates a request to one party (a person or an
organisation) for rights on consent resources of the resource registry; a person who may consent for that party
accepts or rejects it, and may revoke an accepted consent; the consumer may delete its request. A request or
consent whose `validTo` has passed reads as Expired at once, and a recurring job stores that status. Every status
change is written in one transaction with its history row, an audit entry and a CloudEvent. Maskinporten asks
`token_authorization_details` for what to put in a token.

Who may do what is decided by each consent resource's XACML policy, as in Altinn: the consumer must be permitted
action `requestconsent` (a decision about the organisation itself, naming no party), and the person answering
must be permitted every action the request asks for (`consent`) for the party asked — as that person themself
(role `priv`) or through a key role or an access package in the organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.consent import schemas as s
from felles.consent.models import ConsentRequest, ConsentRequestEvent
from felles.consent.schemas import ORGANIZATION_URN, PERSON_URN, ConsentStatus
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.core.jobs import JobContext, enqueue, job_handler
from felles.core.tokens import ORGANIZATION_ID_PREFIX, Principal
from felles.events import service as events_service
from felles.registers import service as registers_service
from felles.registers.identifiers import is_valid_organization_number, is_valid_person_identifier

AUDIT_RESOURCE = "authorization.consent"
EVENT_PUBLISHER = "/system/felles-consent"
EVENT_RESOURCE = "urn:altinn:resource:altinn-consent"
CONSENT_DETAILS_TYPE = "urn:altinn:consent"
VIEW_PATH = "/accessmanagement/ui/consent/request"
CONSUMER_PATH = "/accessmanagement/api/v1/enterprise/consentrequests"
# Statuses a request can still leave by answering, revoking or running out.
# The overview shows the newest requests; older ones stay reachable by their link.
OVERVIEW_LIMIT = 200
OPEN_STATUSES = (ConsentStatus.CREATED.value, ConsentStatus.ACCEPTED.value)
EXPIRY_INTERVAL = timedelta(minutes=5)
EXPIRY_BATCH = 500
EXPIRY_ACTOR = Actor("system:consent-expiry")
EXPIRY_PERFORMER = "urn:altinn:system:felles-consent-expiry"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
REQUEST_CONSENT_ACTION = "requestconsent"


class ConsentTokenError(Exception):
    """Why Maskinporten must refuse a grant's consent: an OAuth error code and its description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


# --- reading --------------------------------------------------------------------------------------------------
def status_now(row: ConsentRequest, now: datetime) -> ConsentStatus:
    """The status as of `now`: an open request or consent past its validTo is Expired even before the job
    has stored it."""
    if row.status in OPEN_STATUSES and row.valid_to <= now:
        return ConsentStatus.EXPIRED
    return ConsentStatus(row.status)


def _is_person(identifier: str) -> bool:
    """A party that consents is a person (fødselsnummer or D-nummer, 11 digits) or an organisation (9)."""
    return len(identifier) == 11


def party_urn(identifier: str) -> str:
    return (PERSON_URN if _is_person(identifier) else ORGANIZATION_URN) + identifier


def view_uri(base_url: str, request_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}{VIEW_PATH}?id={request_id}"


async def _details(session: AsyncSession, row: ConsentRequest, base_url: str, now: datetime) -> s.ConsentRequestDetails:
    history = await session.scalars(select(ConsentRequestEvent).where(
        ConsentRequestEvent.consent_request_id == row.id).order_by(ConsentRequestEvent.id))
    return s.ConsentRequestDetails(
        id=row.id, from_=party_urn(row.from_party), to=ORGANIZATION_URN + row.to_organization,
        requiredDelegator=PERSON_URN + row.required_delegator if row.required_delegator else None,
        validTo=row.valid_to, consentRights=[s.ConsentRight.model_validate(right) for right in row.consent_rights],
        requestMessage=row.request_message, redirectUrl=row.redirect_url, templateId=row.template_id,
        portalViewMode=row.portal_view_mode, status=status_now(row, now), consented=row.consented_at,
        consentRequestEvents=[s.ConsentRequestEventPublic(
            consentEventID=event.id, created=event.created_at, performedBy=event.performed_by,
            eventType=event.event_type, consentRequestID=row.id) for event in history],
        viewUri=view_uri(base_url, row.id),
    )


async def _request(session: AsyncSession, request_id: uuid.UUID, *, lock: bool = False) -> ConsentRequest:
    row = await session.get(ConsentRequest, request_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"No consent request {request_id}.", code="consent_request_not_found")
    return row


def _check_consumer(principal: Principal, row: ConsentRequest) -> None:
    if principal.organization_number != row.to_organization:
        raise Forbidden("The consent request was made by another organisation.", code="not_consent_consumer")


async def _check_person(database: Database, person: str, row: ConsentRequest, *,
                        access_managers_too: bool = False) -> None:
    """May the logged-in person see, answer or revoke the request? They must be permitted, by each resource's
    policy, every action the request asks for, for the party asked (Altinn's check of the rights the person may
    delegate). While the request is open and names a requiredDelegator, only that person may; once answered,
    the consent is the party's, and anyone who may consent for it may see and revoke it — and, with
    ``access_managers_too``, anyone who manages the party's access (Altinn's access-management write).

    Asks the authorization component, which reads in transactions of its own: call it outside a transaction."""
    if row.status == ConsentStatus.DELETED:
        raise NotFound(f"No consent request {row.id}.", code="consent_request_not_found")
    is_open = status_now(row, utcnow()) == ConsentStatus.CREATED
    if access_managers_too and not is_open and await authorization_service.may_manage_access(
            database, person, row.from_party):
        return
    if row.required_delegator and person != row.required_delegator and is_open:
        raise Forbidden("The consent request is to be answered by the person the data consumer named.",
                        code="not_required_delegator")
    asked = dict.fromkeys((attribute["value"], action) for right in row.consent_rights
                          for attribute in right["resource"] for action in right["action"])
    for resource, action in asked:
        if await authorization_service.is_permitted(database, person, row.from_party, resource, action):
            continue
        if person != row.from_party and _is_person(row.from_party):
            raise Forbidden("The consent request is addressed to someone else.", code="not_consent_party")
        raise Forbidden(f"The policy of resource {resource} does not permit you action {action} for "
                        f"{party_urn(row.from_party)}.", code="consent_not_permitted",
                        extra={"resource": resource, "action": action})


def _person_actor(person: str, row: ConsentRequest) -> Actor:
    """The person answering, and the party they answer for when it is not themself."""
    if person == row.from_party:
        return Actor(f"person:{person}")
    kind = "person" if _is_person(row.from_party) else "organization"
    return Actor(f"person:{person}", on_behalf_of=f"{kind}:{row.from_party}")


async def get_for_consumer(database: Database, settings: Settings, principal: Principal,
                           request_id: uuid.UUID) -> s.ConsentRequestDetails:
    """The request as its data consumer sees it (status included); other organisations may not read it."""
    async with database.transaction() as session:
        row = await _request(session, request_id)
        _check_consumer(principal, row)
        return await _details(session, row, settings.base_url, utcnow())


async def get_for_person(database: Database, settings: Settings, person: str,
                         request_id: uuid.UUID) -> s.ConsentRequestDetails:
    """The request as a person who may consent for the party asked sees it (once answered, also a person who
    manages the party's access); nobody else may."""
    async with database.transaction() as session:
        row = await _request(session, request_id)
        details = await _details(session, row, settings.base_url, utcnow())
    await _check_person(database, person, row, access_managers_too=True)
    return details


# --- creating -------------------------------------------------------------------------------------------------
def _identifier(value: str, prefix: str, valid: Any, what: str) -> str:
    identifier = value.removeprefix(prefix)
    if not value.startswith(prefix) or not valid(identifier):
        raise InvalidInput(f"{what} must be {prefix}{{number}} with a valid number.", code="invalid_party")
    return identifier


def _consenting_party(value: str) -> str:
    """`from`: a person (fødselsnummer) or an organisation (organisasjonsnummer)."""
    if value.startswith(ORGANIZATION_URN):
        return _identifier(value, ORGANIZATION_URN, is_valid_organization_number, "from")
    return _identifier(value, PERSON_URN, is_valid_person_identifier, "from")


def _check_redirect_url(settings: Settings, url: str) -> None:
    parts = urlsplit(url)
    local_http = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and not settings.is_production
    if not parts.netloc or parts.fragment or not (parts.scheme == "https" or local_http):
        raise InvalidInput("redirectUrl must be an absolute https URL without a fragment.",
                           code="invalid_redirect_url")


async def _consent_resource(database: Database, identifier: str) -> authorization_schemas.ServiceResource:
    try:
        resource = await authorization_service.get_resource(database, identifier)
    except NotFound as exc:
        raise InvalidInput(f"No resource {identifier} in the resource registry.", code="unknown_resource") from exc
    if resource.resourceType != authorization_schemas.ResourceType.CONSENT:
        raise InvalidInput(f"Resource {identifier} is not a consent resource.", code="not_consent_resource")
    return resource


def _check_metadata(resource: authorization_schemas.ServiceResource, metadata: dict[str, str]) -> None:
    """The metadata must fill exactly the fields the resource's consent text uses, every required one."""
    fields = resource.consentMetadata or {}
    missing = sorted(key for key, field in fields.items() if not field.optional and not metadata.get(key))
    unknown = sorted(set(metadata) - set(fields))
    if missing:
        raise InvalidInput(f"Resource {resource.identifier} needs metadata {', '.join(missing)}.",
                           code="missing_consent_metadata")
    if unknown:
        raise InvalidInput(f"Resource {resource.identifier} has no metadata {', '.join(unknown)}.",
                           code="unknown_consent_metadata")


async def _check_may_request(database: Database, consumer: str, resource: str) -> None:
    """The consumer must be permitted action `requestconsent` by the resource's policy. As in Altinn the
    decision is about the organisation itself and names no party, so that the policy can ask for its party
    type (`urn:altinn:partytype` organization) or its access lists (`urn:altinn:access-list`)."""
    if not await authorization_service.is_permitted(database, consumer, None, resource, REQUEST_CONSENT_ACTION):
        raise Forbidden(f"Organisation {consumer} may not request consent for resource {resource}: its policy "
                        f"does not permit action {REQUEST_CONSENT_ACTION}.", code="consent_request_not_permitted",
                        extra={"resource": resource})


async def create_request(database: Database, settings: Settings, principal: Principal,
                         body: s.ConsentRequestCreate) -> tuple[s.ConsentRequestDetails, bool]:
    """A data consumer asks a party for consent. Returns the request and whether it is new: sending the same
    id again from the same consumer to the same party answers with the stored request (a safe retry)."""
    to = _identifier(body.to, ORGANIZATION_URN, is_valid_organization_number, "to")
    if to != principal.organization_number:
        raise Forbidden("A consent request's `to` must be the organisation of the token.", code="not_consent_consumer")
    party = _consenting_party(body.from_)
    delegator = None if body.requiredDelegator is None else _identifier(
        body.requiredDelegator, PERSON_URN, is_valid_person_identifier, "requiredDelegator")
    now = utcnow()
    if body.validTo <= now:
        raise InvalidInput("validTo must be in the future.", code="invalid_valid_to")
    _check_redirect_url(settings, body.redirectUrl)
    if body.requestMessage is not None and not all(text.strip() for text in body.requestMessage.values()):
        raise InvalidInput("requestMessage texts must not be empty.", code="invalid_request_message")
    templates = []
    for right in body.consentRights:
        for attribute in right.resource:
            resource = await _consent_resource(database, attribute.value)
            _check_metadata(resource, right.metadata or {})
            templates.append(resource.consentTemplate)
    for identifier in dict.fromkeys(attribute.value for right in body.consentRights for attribute in right.resource):
        await _check_may_request(database, to, identifier)
    async with database.transaction() as session:
        existing = await session.get(ConsentRequest, body.id)
        if existing is not None:
            if existing.to_organization != to or existing.from_party != party:
                raise Conflict(f"Consent request {body.id} exists.", code="consent_request_exists")
            return await _details(session, existing, settings.base_url, now), False
        row = ConsentRequest(
            id=body.id, from_party=party, required_delegator=delegator, to_organization=to,
            created_by=principal.audit_actor.actor,
            valid_to=body.validTo, consent_rights=[right.model_dump(mode="json", exclude_none=True)
                                                   for right in body.consentRights],
            request_message=dict(body.requestMessage) if body.requestMessage else None,
            redirect_url=body.redirectUrl, template_id=templates[0], portal_view_mode=body.portalViewMode,
            status=ConsentStatus.CREATED.value, consented_at=None, created_at=now, updated_at=now,
        )
        session.add(row)
        await _record_change(session, row, ConsentStatus.CREATED, ORGANIZATION_URN + to, principal.audit_actor,
                             settings.base_url, now)
        return await _details(session, row, settings.base_url, now), True


# --- status changes -------------------------------------------------------------------------------------------
async def _record_change(session: AsyncSession, row: ConsentRequest, status: ConsentStatus, performed_by: str,
                         actor: Actor, base_url: str, now: datetime) -> None:
    """Set the status and write what follows from it, all in the caller's transaction: the request's history,
    the audit entry and the CloudEvent."""
    row.status, row.updated_at = status.value, now
    if status == ConsentStatus.ACCEPTED:
        row.consented_at = now
    session.add(ConsentRequestEvent(id=uuid7(), consent_request_id=row.id, event_type=status.value,
                                    performed_by=performed_by, created_at=now))
    await audit.record(session, actor, action=f"consent.{status.value.lower()}", resource=AUDIT_RESOURCE,
                       subjects=[row.from_party, row.to_organization], detail={"consentRequestId": str(row.id)})
    await events_service.publish_in_transaction(
        session, source=f"{base_url.rstrip('/')}{CONSUMER_PATH}/{row.id}",
        type=f"no.altinn.consent.request.{status.value.lower()}", subject=ORGANIZATION_URN + row.to_organization,
        alternativesubject=party_urn(row.from_party), resource=EVENT_RESOURCE, resourceinstance=str(row.id),
        data={"consentRequestId": str(row.id), "status": status.value}, publisher=EVENT_PUBLISHER)


# Which status each change may start from, and the verb a refusal uses.
_TRANSITIONS: dict[ConsentStatus, tuple[tuple[ConsentStatus, ...], str]] = {
    ConsentStatus.ACCEPTED: ((ConsentStatus.CREATED,), "accepted"),
    ConsentStatus.REJECTED: ((ConsentStatus.CREATED,), "rejected"),
    ConsentStatus.REVOKED: ((ConsentStatus.ACCEPTED,), "revoked"),
    ConsentStatus.DELETED: ((ConsentStatus.CREATED, ConsentStatus.ACCEPTED, ConsentStatus.REJECTED,
                             ConsentStatus.REVOKED, ConsentStatus.EXPIRED), "deleted"),
}


async def _change(database: Database, settings: Settings, request_id: uuid.UUID, target: ConsentStatus, *,
                  performed_by: str, actor: Actor,
                  check: Callable[[ConsentRequest], None] | None = None) -> s.ConsentRequestDetails:
    """Move a request to `target` if its status allows it. A request found past its validTo is stored as
    Expired (that commits) before the change is refused."""
    allowed, verb = _TRANSITIONS[target]
    now = utcnow()
    async with database.transaction() as session:
        row = await _request(session, request_id, lock=True)
        if check is not None:
            check(row)
        current = status_now(row, now)
        if current in allowed:
            await _record_change(session, row, target, performed_by, actor, settings.base_url, now)
            return await _details(session, row, settings.base_url, now)
        if current == ConsentStatus.EXPIRED and row.status != ConsentStatus.EXPIRED:
            await _record_change(session, row, current, EXPIRY_PERFORMER, EXPIRY_ACTOR, settings.base_url, now)
    raise Conflict(f"The consent request is {current.value}; it cannot be {verb}.", code="consent_status_conflict",
                   extra={"status": current.value})


async def _change_as_person(database: Database, settings: Settings, person: str, request_id: uuid.UUID,
                            target: ConsentStatus, *, access_managers_too: bool = False) -> s.ConsentRequestDetails:
    """A person's change. Who may make it is decided before the change's transaction (the authorization
    component reads in its own); the party and the rights it is decided on never change after creation."""
    async with database.transaction() as session:
        row = await _request(session, request_id)
    await _check_person(database, person, row, access_managers_too=access_managers_too)
    return await _change(database, settings, request_id, target, performed_by=PERSON_URN + person,
                         actor=_person_actor(person, row))


async def accept(database: Database, settings: Settings, person: str,
                 request_id: uuid.UUID) -> s.ConsentRequestDetails:
    """A person who may consent for the party asked gives consent, while the request is open and valid."""
    return await _change_as_person(database, settings, person, request_id, ConsentStatus.ACCEPTED)


async def reject(database: Database, settings: Settings, person: str,
                 request_id: uuid.UUID) -> s.ConsentRequestDetails:
    """A person who may consent for the party asked says no."""
    return await _change_as_person(database, settings, person, request_id, ConsentStatus.REJECTED)


async def revoke(database: Database, settings: Settings, person: str,
                 request_id: uuid.UUID) -> s.ConsentRequestDetails:
    """A person who may consent for the party, or who manages its access, withdraws a consent given earlier;
    tokens can no longer carry it."""
    return await _change_as_person(database, settings, person, request_id, ConsentStatus.REVOKED,
                                   access_managers_too=True)


async def delete(database: Database, settings: Settings, principal: Principal,
                 request_id: uuid.UUID) -> s.ConsentRequestDetails:
    """The data consumer withdraws its request or ends the consent it was given."""
    return await _change(database, settings, request_id, ConsentStatus.DELETED,
                         performed_by=ORGANIZATION_URN + str(principal.organization_number),
                         actor=principal.audit_actor, check=lambda row: _check_consumer(principal, row))


@job_handler("consent.expire", every=EXPIRY_INTERVAL)
async def _expire_consents(_payload: dict[str, Any], context: JobContext) -> None:
    """Store Expired on requests and consents past their validTo (reads already show it), with the same
    history, audit entry and event as any other change."""
    now = utcnow()
    rows = list(await context.session.scalars(
        select(ConsentRequest).where(ConsentRequest.status.in_(OPEN_STATUSES), ConsentRequest.valid_to <= now)
        .order_by(ConsentRequest.valid_to).limit(EXPIRY_BATCH).with_for_update(skip_locked=True)))
    base_url = get_settings().base_url
    for row in rows:
        await _record_change(context.session, row, ConsentStatus.EXPIRED, EXPIRY_PERFORMER, EXPIRY_ACTOR,
                             base_url, now)
    if len(rows) == EXPIRY_BATCH:  # more may be due: go on at once rather than at the next round
        await enqueue(context.session, "consent.expire", {})


# --- the consent page -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsentRightView:
    """One right as the page shows it: the resource (title and consent text) and the metadata filling it."""

    resource: authorization_schemas.ServiceResource
    metadata: dict[str, str]


@dataclass(frozen=True)
class ConsentView:
    details: s.ConsentRequestDetails
    consumer_name: str
    rights: list[ConsentRightView]
    # The organisation the consent is asked from, when it is not the person themselves.
    organization_name: str | None
    # Every resource asked for gives its data once (`isOneTimeConsent`): the page says so instead of a validTo.
    one_time: bool


async def view_for_person(database: Database, settings: Settings, person: str, request_id: uuid.UUID) -> ConsentView:
    """What the consent page shows the person asked: who asks, for what, and the request's status."""
    details = await get_for_person(database, settings, person, request_id)
    consumer_name = await _organization_name(database, settings, details.to.removeprefix(ORGANIZATION_URN))
    organization_name = (await _organization_name(database, settings, details.from_.removeprefix(ORGANIZATION_URN))
                         if details.from_.startswith(ORGANIZATION_URN) else None)
    rights = [ConsentRightView(await authorization_service.get_resource(database, attribute.value),
                               right.metadata or {})
              for right in details.consentRights for attribute in right.resource]
    one_time = bool(rights) and all(right.resource.isOneTimeConsent for right in rights)
    return ConsentView(details, consumer_name, rights, organization_name, one_time)


@dataclass(frozen=True)
class ConsentOverviewItem:
    """One line of the person's consent overview: who asked, when, and where the request stands now."""
    id: uuid.UUID
    consumer_name: str
    status: ConsentStatus
    created_at: datetime
    valid_to: datetime


async def overview_for_person(database: Database, settings: Settings, person: str) -> list[ConsentOverviewItem]:
    """The consent requests addressed to the person themself, newest first (those a consumer withdrew left out),
    so that a person reaches each request's page without its link in hand."""
    async with database.transaction() as session:
        rows = (await session.scalars(
            select(ConsentRequest).where(ConsentRequest.from_party == person,
                                         ConsentRequest.status != ConsentStatus.DELETED.value)
            .order_by(ConsentRequest.created_at.desc()).limit(OVERVIEW_LIMIT)
        )).all()
    now = utcnow()
    names = {organization: await _organization_name(database, settings, organization)
             for organization in {row.to_organization for row in rows}}
    return [ConsentOverviewItem(row.id, names[row.to_organization], status_now(row, now), row.created_at,
                                row.valid_to) for row in rows]


async def _organization_name(database: Database, settings: Settings, organization: str) -> str:
    try:
        return (await registers_service.get_organization(database, organization, base_url=settings.base_url)).navn
    except NotFound:  # an organisation missing from the (synthetic) register is shown by its number
        return organization


# --- Maskinporten ---------------------------------------------------------------------------------------------
def _details_items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
        raise ConsentTokenError("invalid_authorization_details",
                                "authorization_details must be a non-empty JSON array of objects.")
    for item in value:
        if item.get("type") != CONSENT_DETAILS_TYPE:
            raise ConsentTokenError("invalid_authorization_details",
                                    f"The supported authorization_details type is {CONSENT_DETAILS_TYPE}.")
    return value


def _consent_id(item: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(item.get("id")))
    except ValueError as exc:
        raise ConsentTokenError("invalid_authorization_details", "Each consent needs its id (a UUID).") from exc


async def token_authorization_details(session: AsyncSession, value: Any, consumer: str) -> list[dict[str, Any]]:
    """The `authorization_details` of a Maskinporten token for the consents a grant names: each must exist, be
    accepted and still valid, and be given to the token's consumer (the organisation, not its supplier), and
    match the grant's `from` (the person or organisation that consented) when it names one. Raises
    `ConsentTokenError` otherwise. Reads in the caller's session, the one the token endpoint checks the grant in.

    A one-time consent (a resource with `isOneTimeConsent`) is looked up like any other, as Altinn's lookup does:
    it is neither marked used nor ended by a token, and lasts until its validTo. In Altinn "one-time" changes only
    what the consent page tells the person; keeping to one disclosure is the data source's part."""
    items = _details_items(value)
    now = utcnow()
    answered = []
    rows = {row.id: row for row in await session.scalars(
        select(ConsentRequest).where(ConsentRequest.id.in_([_consent_id(item) for item in items])))}
    for item in items:
        consent_id = _consent_id(item)
        row = rows.get(consent_id)
        if row is None or row.status == ConsentStatus.DELETED:
            raise ConsentTokenError("invalid_authorization_details", f"There is no consent {consent_id}.")
        if row.to_organization != consumer:
            raise ConsentTokenError("invalid_grant", f"Consent {consent_id} is not given to organisation {consumer}.")
        if item.get("from") is not None and item["from"] != party_urn(row.from_party):
            raise ConsentTokenError("invalid_grant", f"Consent {consent_id} is not given by {item['from']}.")
        status = status_now(row, now)
        if status != ConsentStatus.ACCEPTED:
            raise ConsentTokenError("invalid_grant", f"Consent {consent_id} is {status.value}, not Accepted.")
        assert row.consented_at is not None
        answered.append({
            "type": CONSENT_DETAILS_TYPE, "id": str(row.id), "from": party_urn(row.from_party),
            "to": {"authority": "iso6523-actorid-upis", "ID": ORGANIZATION_ID_PREFIX + row.to_organization},
            "consented": row.consented_at.isoformat(), "validTo": row.valid_to.isoformat(),
            "consentRights": row.consent_rights,
        })
    return answered
