"""Dialogporten for service owners: create, replace, patch, soft delete, restore, purge and freeze dialogs, append
activities and transmissions, labels, and the service owner's search.

A service owner is an organisation registered as one (`felles.authorization`), and it may write only dialogs
whose service resource it owns in the resource registry. Every write takes a new revision (the `ETag`; a
stale `If-Match` is refused with 412) and publishes Dialogporten's CloudEvent in the same transaction. A
dialog's `idempotentKey` is unique per service owner: a retried create answers 409 with the first dialog's id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.apps.jsonpatch import PatchFailed, apply_patch
from felles.authorization import service as authorization_service
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, PreconditionFailed, Problem
from felles.core.ids import uuid7
from felles.core.paging import ContinuationTokens
from felles.core.tokens import Principal
from felles.dialogporten import schemas as s
from felles.dialogporten import search, sent, views
from felles.dialogporten.models import (
    Dialog,
    DialogActivity,
    DialogLabelAssignment,
    DialogSeenLog,
    DialogTransmission,
)
from felles.events import service as events_service
from felles.registers.identifiers import is_valid_organization_number, is_valid_person_identifier

SERVICE_PROVIDER_SCOPE = "digdir:dialogporten.serviceprovider"
SEARCH_SCOPE = "digdir:dialogporten.serviceprovider.search"
ADMIN_SCOPE = "digdir:dialogporten.serviceprovider.admin"
# Altinn Correspondence's own scope: only it may write that a correspondence was opened or confirmed.
CORRESPONDENCE_SCOPE = "digdir:dialogporten.correspondence"
CORRESPONDENCE_ACTIVITIES = frozenset({s.ActivityType.CORRESPONDENCE_OPENED, s.ActivityType.CORRESPONDENCE_CONFIRMED})
RESOURCE_PREFIX = "urn:altinn:resource:"
PERSON_PREFIX = "urn:altinn:person:identifier-no:"
ORGANIZATION_PREFIX = "urn:altinn:organization:identifier-no:"
SOURCE_PATH = "/dialogporten/api/v1/enduser/dialogs"
EVENT_PUBLISHER = "system:dialogporten"
AUDIT_RESOURCE = "dialogporten.dialog"
# Labels the platform sets itself; a service owner's label may not start with these.
RESERVED_LABEL_PREFIXES = ("digdir:", "altinn:")
MAX_SERVICE_OWNER_LABELS = 20
CONTENT_LIMITS = {"title": 255, "nonSensitiveTitle": 255, "summary": 255, "nonSensitiveSummary": 255,
                  "senderName": 255, "extendedStatus": 20, "additionalInfo": 1023, "mainContentReference": 1023}


@dataclass(frozen=True)
class ServiceOwner:
    """The calling service owner: its organisation number and code (`ttd`, `skd` ...)."""

    organization: str
    code: str

    @property
    def actor(self) -> Actor:
        return Actor(f"organization:{self.organization}")


def validation_failed(errors: dict[str, list[str]]) -> InvalidInput:
    """Dialogporten's 400: every field's messages under `errors`."""
    return InvalidInput("One or more validation errors occurred.", code="validation_failed",
                        title="One or more validation errors occurred.", extra={"errors": errors})


def domain_failed(errors: dict[str, list[str]]) -> Problem:
    """Dialogporten's 422: the request is well-formed but breaks a rule of the dialog as it stands."""
    return Problem("One or more domain errors occurred.", code="domain_error", status=422,
                   title="Unprocessable entity.", extra={"errors": errors})


def pydantic_errors(error: ValidationError, prefix: str = "dto") -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for item in error.errors():
        path = prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"])
        errors.setdefault(path, []).append(item["msg"])
    return errors


async def service_owner(database: Database, principal: Principal) -> ServiceOwner:
    """The service owner calling, or 403 for an organisation that owns no services."""
    if principal.kind != "organization" or principal.organization_number is None:
        raise Forbidden("Only a service owner's Maskinporten token may do this.", code="service_owner_required")
    code = await authorization_service.service_owner_code(database, principal.organization_number)
    if code is None:
        raise Forbidden(f"{principal.organization_number} is not a registered service owner.",
                        code="service_owner_required")
    return ServiceOwner(principal.organization_number, code)


def party_identifier(party: str) -> str | None:
    """The fødselsnummer or organisation number in a party urn, or None when the urn is not a valid one."""
    if party.startswith(PERSON_PREFIX):
        identifier = party.removeprefix(PERSON_PREFIX)
        return identifier if is_valid_person_identifier(identifier) else None
    if party.startswith(ORGANIZATION_PREFIX):
        identifier = party.removeprefix(ORGANIZATION_PREFIX)
        return identifier if is_valid_organization_number(identifier) else None
    return None


def party_urn(identifier: str) -> str:
    return (ORGANIZATION_PREFIX if len(identifier) == 9 else PERSON_PREFIX) + identifier


async def _resource_type(database: Database, owner: ServiceOwner, service_resource: str) -> str:
    """The type of a service resource the owner owns (`genericaccessresource` ...); 400 or 403 otherwise."""
    if not service_resource.startswith(RESOURCE_PREFIX):
        raise validation_failed({"dto.serviceResource": [f"'ServiceResource' must start with '{RESOURCE_PREFIX}'."]})
    try:
        resource = await authorization_service.get_resource(database, service_resource.removeprefix(RESOURCE_PREFIX))
    except NotFound:
        raise validation_failed({"dto.serviceResource": [f"No service resource {service_resource} is registered."]}
                                ) from None
    if resource.hasCompetentAuthority.organization != owner.organization:
        raise Forbidden(f"{service_resource} is not owned by {owner.organization}.", code="not_resource_owner")
    return str(resource.resourceType.value).lower()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _content_document(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return {name: {"value": [item.model_dump() for item in field.value], "mediaType": field.mediaType}
            for name, field in value if field is not None}


def _check_content(content: s.DialogContentCreate | None, errors: dict[str, list[str]]) -> None:
    if content is None:
        errors.setdefault("dto.content", []).append("Title must not be empty.")
        return
    for name, field in content:
        if field is None:
            continue
        for index, item in enumerate(field.value):
            if len(item.value) > CONTENT_LIMITS[name]:
                errors.setdefault(f"dto.content.{name}.value[{index}].value", []).append(
                    f"The length of 'Value' must be {CONTENT_LIMITS[name]} characters or fewer. "
                    f"You entered {len(item.value)} characters.")
        if name == "mainContentReference" and not all(item.value.startswith("https://") for item in field.value):
            errors.setdefault("dto.content.mainContentReference", []).append("The reference must be an HTTPS URL.")


def _check(body: s.DialogUpdate, party: str | None, errors: dict[str, list[str]]) -> None:
    """Dialogporten's validation rules that a field's own type does not say."""
    if party is not None and party_identifier(party) is None:
        errors["dto.party"] = [
            f"'Party' must be on format '{ORGANIZATION_PREFIX}{{norwegian org-nr}}' or "
            f"'{PERSON_PREFIX}{{norwegian f-nr/d-nr}}' with valid values, respectively."]
    _check_content(body.content, errors)
    due, expires, visible = _utc(body.dueAt), _utc(body.expiresAt), _utc(body.visibleFrom)
    if due and expires and expires < due:
        errors["dto.expiresAt"] = ["'ExpiresAt' must be after 'DueAt'."]
    if visible and due and due < visible:
        errors["dto.dueAt"] = ["'DueAt' must be after 'VisibleFrom'."]
    for index, attachment in enumerate(body.attachments):
        if not attachment.urls:
            errors[f"dto.attachments[{index}].urls"] = ["'Urls' must not be empty."]
    for index, tag in enumerate(body.searchTags):
        if len(tag.value) > 63:
            errors[f"dto.searchTags[{index}].value"] = ["A search tag may have at most 63 characters."]


def _attachments(items: Iterable[s.AttachmentCreate]) -> list[dict[str, Any]]:
    return [{
        "id": str(item.id or uuid7()), "displayName": [value.model_dump() for value in item.displayName or []],
        "name": item.name,
        "urls": [{"id": str(url.id or uuid7()), "url": str(url.url), "mediaType": url.mediaType,
                  "consumerType": url.consumerType.value} for url in item.urls],
        "expiresAt": views.timestamp(_utc(item.expiresAt)),
    } for item in items]


def _localizations(values: list[s.Localization] | None) -> list[dict[str, Any]] | None:
    return [value.model_dump() for value in values] if values is not None else None


def _gui_actions(items: Iterable[s.GuiActionCreate]) -> list[dict[str, Any]]:
    return [{
        "id": str(item.id or uuid7()), "action": item.action, "url": str(item.url),
        "authorizationAttribute": item.authorizationAttribute, "isDeleteDialogAction": item.isDeleteDialogAction,
        "priority": item.priority.value, "httpMethod": (item.httpMethod or s.HttpVerb.GET).value,
        "title": _localizations(item.title), "prompt": _localizations(item.prompt),
    } for item in items]


def _api_actions(items: Iterable[s.ApiActionCreate]) -> list[dict[str, Any]]:
    return [{
        "id": str(item.id or uuid7()), "action": item.action, "authorizationAttribute": item.authorizationAttribute,
        "name": item.name,
        "endpoints": [{
            "id": str(endpoint.id or uuid7()), "version": endpoint.version, "url": str(endpoint.url),
            "httpMethod": endpoint.httpMethod.value,
            "documentationUrl": str(endpoint.documentationUrl) if endpoint.documentationUrl else None,
            "requestSchema": str(endpoint.requestSchema) if endpoint.requestSchema else None,
            "responseSchema": str(endpoint.responseSchema) if endpoint.responseSchema else None,
            "deprecated": endpoint.deprecated, "sunsetAt": views.timestamp(_utc(endpoint.sunsetAt)),
        } for endpoint in item.endpoints],
    } for item in items]


def _check_gui_actions(actions: list[s.GuiActionCreate], errors: dict[str, list[str]]) -> None:
    primaries = sum(1 for action in actions if action.priority == s.GuiActionPriority.PRIMARY)
    secondaries = sum(1 for action in actions if action.priority == s.GuiActionPriority.SECONDARY)
    if primaries > 1 or secondaries > 1:
        errors["dto.guiActions"] = ["Only one action may be Primary and only one Secondary."]
    for index, action in enumerate(actions):
        if action.title is None:
            errors[f"dto.guiActions[{index}].title"] = ["'Title' must not be empty."]


def search_text(content: dict[str, Any], tags: Iterable[str]) -> str:
    """What free-text search matches: every localized title, summary, sender name and status text, and the
    search tags, lower-cased."""
    texts = [item["value"] for name in ("title", "summary", "senderName", "extendedStatus", "nonSensitiveTitle")
             for item in (content.get(name) or {}).get("value", [])]
    return "\n".join([*texts, *tags]).lower()


def _fill(row: Dialog, body: s.DialogUpdate, now: datetime) -> bool:
    """Set a dialog's fields from a create or replace; True when its content (what an end user reads) changed."""
    content = _content_document(body.content)
    tags = [tag.value for tag in body.searchTags]
    attachments = _attachments(body.attachments)
    status = s.STATUS_ALIASES.get((body.status or s.DialogStatusInput.IN_PROGRESS).value,
                                  (body.status or s.DialogStatusInput.IN_PROGRESS).value)
    changed = (getattr(row, "content", None) != content or getattr(row, "status", None) != status
               or getattr(row, "extended_status", None) != body.extendedStatus
               or getattr(row, "attachments", None) is None
               or [a["urls"] for a in row.attachments] != [a["urls"] for a in attachments])
    row.progress, row.extended_status, row.external_reference = body.progress, body.extendedStatus, \
        body.externalReference
    row.visible_from, row.due_at, row.expires_at = _utc(body.visibleFrom), _utc(body.dueAt), _utc(body.expiresAt)
    row.is_api_only, row.process, row.preceding_process = body.isApiOnly, body.process, body.precedingProcess
    row.status, row.content, row.search_tags, row.attachments = status, content, tags, attachments
    row.gui_actions, row.api_actions = _gui_actions(body.guiActions), _api_actions(body.apiActions)
    row.search_text = search_text(content, tags)
    row.revision, row.updated_at = uuid7(), now
    if changed:
        row.content_updated_at = now
    return changed


def _activity_rows(dialog_id: uuid.UUID, items: list[s.ActivityCreate], now: datetime) -> list[DialogActivity]:
    return [DialogActivity(
        id=item.id or uuid7(), dialog_id=dialog_id, created_at=_utc(item.createdAt) or now, type=item.type.value,
        extended_type=str(item.extendedType) if item.extendedType else None, transmission_id=item.transmissionId,
        performed_by=item.performedBy.model_dump(mode="json"), description=_localizations(item.description),
    ) for item in items]


def _transmission_rows(dialog_id: uuid.UUID, items: list[s.TransmissionCreate],
                       now: datetime) -> list[DialogTransmission]:
    return [DialogTransmission(
        id=item.id or uuid7(), dialog_id=dialog_id, created_at=_utc(item.createdAt) or now,
        idempotent_key=item.idempotentKey, authorization_attribute=item.authorizationAttribute,
        extended_type=str(item.extendedType) if item.extendedType else None,
        external_reference=item.externalReference, related_transmission_id=item.relatedTransmissionId,
        type=item.type.value, sender=item.sender.model_dump(mode="json"),
        content=_content_document(item.content), attachments=_attachments(item.attachments),
        navigational_actions=[{"title": _localizations(action.title), "url": str(action.url),
                               "expiresAt": views.timestamp(_utc(action.expiresAt))}
                              for action in item.navigationalActions],
    ) for item in items]


async def _check_appended(session: AsyncSession, dialog_id: uuid.UUID, activities: list[DialogActivity],
                          transmissions: list[DialogTransmission]) -> None:
    """New activities and transmissions must have new ids and refer to transmissions the dialog has."""
    existing_activities = set(await session.scalars(
        select(DialogActivity.id).where(DialogActivity.dialog_id == dialog_id)))
    existing_transmissions = set(await session.scalars(
        select(DialogTransmission.id).where(DialogTransmission.dialog_id == dialog_id)))
    keys = set(await session.scalars(select(DialogTransmission.idempotent_key).where(
        DialogTransmission.dialog_id == dialog_id, DialogTransmission.idempotent_key.is_not(None))))
    errors: dict[str, list[str]] = {}
    new_activity_ids = [row.id for row in activities]
    duplicates = existing_activities.intersection(new_activity_ids) | {
        value for value in new_activity_ids if new_activity_ids.count(value) > 1}
    if duplicates:
        errors["DialogActivity"] = [f"Entity 'DialogActivity' with the following key(s) already exists: "
                                    f"({', '.join(sorted(str(value) for value in duplicates))})."]
    new_transmission_ids = [row.id for row in transmissions]
    duplicates = existing_transmissions.intersection(new_transmission_ids) | {
        value for value in new_transmission_ids if new_transmission_ids.count(value) > 1}
    if duplicates:
        errors["DialogTransmission"] = [f"Entity 'DialogTransmission' with the following key(s) already exists: "
                                        f"({', '.join(sorted(str(value) for value in duplicates))})."]
    known = existing_transmissions | set(new_transmission_ids)
    for row in transmissions:
        if row.related_transmission_id is not None and row.related_transmission_id not in known:
            errors.setdefault("DialogTransmission", []).append(
                f"Transmission {row.id} refers to an unknown related transmission {row.related_transmission_id}.")
    for row in activities:
        if row.transmission_id is not None and row.transmission_id not in known:
            errors.setdefault("DialogActivity", []).append(
                f"Activity {row.id} refers to an unknown transmission {row.transmission_id}.")
        if row.type == s.ActivityType.TRANSMISSION_OPENED and row.transmission_id is None:
            errors.setdefault("DialogActivity", []).append("A TransmissionOpened activity needs a transmissionId.")
    if errors:
        raise domain_failed(errors)
    repeated = [row.idempotent_key for row in transmissions if row.idempotent_key in keys]
    if repeated:
        raise Conflict("A transmission with this idempotent key exists already.", code="idempotent_key_exists",
                       extra={"errors": {"IdempotentKey": [f"'{key}' already exists." for key in repeated]}})


async def publish(session: AsyncSession, row: Dialog, kind: str, base_url: str, **data: Any) -> None:
    """Dialogporten's CloudEvent `dialogporten.dialog.<kind>.v1` about `row`, in the caller's transaction."""
    await events_service.publish_in_transaction(session, **event(row, kind, base_url, **data),
                                                publisher=EVENT_PUBLISHER)


def event(row: Dialog, kind: str, base_url: str, **data: Any) -> dict[str, Any]:
    """The fields of `publish`'s event, for `events_service.publish_many_in_transaction` (publisher
    `EVENT_PUBLISHER`): what publishes many in one go."""
    return dict(source=f"{base_url.rstrip('/')}{SOURCE_PATH}/{row.id}", type=f"dialogporten.dialog.{kind}.v1",
                subject=row.party, resource=row.service_resource, resourceinstance=str(row.id),
                data={key: value for key, value in {"process": row.process, "precedingProcess": row.preceding_process,
                                                    **data}.items() if value is not None} or None)


async def _publish_appended(session: AsyncSession, row: Dialog, base_url: str, activities: list[DialogActivity],
                            transmissions: list[DialogTransmission]) -> None:
    await events_service.publish_many_in_transaction(
        session, appended_events(row, base_url, activities, transmissions), publisher=EVENT_PUBLISHER)


def appended_events(row: Dialog, base_url: str, activities: list[DialogActivity],
                    transmissions: list[DialogTransmission]) -> list[dict[str, Any]]:
    """The events of activities and transmissions added to a dialog (`event`'s fields each)."""
    return [*(event(row, f"activity.{_kebab(activity.type)}", base_url, activityId=str(activity.id))
              for activity in activities),
            *(event(row, "transmission.created", base_url, transmissionId=str(transmission.id))
              for transmission in transmissions)]


def _kebab(name: str) -> str:
    return "".join(f"-{char.lower()}" if char.isupper() else char for char in name).lstrip("-")


async def create_dialog(database: Database, principal: Principal, body: s.DialogCreate, *,
                        base_url: str) -> Dialog:
    """Create a dialog for a party in a service resource the caller owns; answers the created row."""
    owner = await service_owner(database, principal)
    errors: dict[str, list[str]] = {}
    _check(body, body.party, errors)
    _check_gui_actions(body.guiActions, errors)
    labels = [label.value for label in (body.serviceOwnerContext.serviceOwnerLabels
                                        if body.serviceOwnerContext else [])]
    _check_labels(labels, errors)
    if errors:
        raise validation_failed(errors)
    resource_type = await _resource_type(database, owner, body.serviceResource)
    _check_activity_types(body.activities, principal)
    now = utcnow()
    dialog_id = body.id or uuid7()
    async with database.transaction() as session:
        if body.idempotentKey is not None:
            existing = await session.scalar(select(Dialog.id).where(
                Dialog.org == owner.code, Dialog.idempotent_key == body.idempotentKey))
            if existing is not None:
                raise Conflict(f"The idempotent key '{body.idempotentKey}' was used for dialog {existing}.",
                               code="idempotent_key_exists", title="Conflict.", extra={"errors": {"IdempotentKey": [
                                   f"'{body.idempotentKey}' already exists with DialogId '{existing}'"]}})
        if await session.get(Dialog, dialog_id) is not None:
            raise Conflict(f"A dialog with id {dialog_id} exists already.", code="dialog_exists", title="Conflict.")
        row = Dialog(
            id=dialog_id, idempotent_key=body.idempotentKey, org=owner.code, owner_organization=owner.organization,
            service_resource=body.serviceResource, service_resource_type=resource_type, party=body.party,
            frozen=False, created_at=_utc(body.createdAt) or now, deleted_at=None,
            service_owner_labels=labels, service_owner_context_revision=uuid7(),
            system_label=(body.systemLabel or s.SystemLabel.DEFAULT).value, system_labels=[],
            end_user_context_revision=uuid7(),
        )
        row.system_labels = [row.system_label]
        _fill(row, body, now)
        row.updated_at = _utc(body.updatedAt) or row.created_at
        row.content_updated_at = row.updated_at
        session.add(row)
        await session.flush()
        activities = _activity_rows(row.id, body.activities, now)
        transmissions = _transmission_rows(row.id, body.transmissions, now)
        await _check_appended(session, row.id, activities, transmissions)
        session.add_all([*transmissions, *activities])
        sent.file_as_sent(session, row, transmissions, now)
        await audit.record(session, owner.actor, action="create", resource=AUDIT_RESOURCE,
                           subjects=[party_identifier(row.party) or row.party], detail={"dialogId": str(row.id)})
        await publish(session, row, "created", base_url)
        await _publish_appended(session, row, base_url, activities, transmissions)
    return row


def _check_labels(labels: list[str], errors: dict[str, list[str]]) -> None:
    if len(labels) > MAX_SERVICE_OWNER_LABELS:
        errors["dto.serviceOwnerContext.serviceOwnerLabels"] = [
            f"A dialog may have at most {MAX_SERVICE_OWNER_LABELS} labels."]
    if len({label.lower() for label in labels}) != len(labels):
        errors["dto.serviceOwnerContext.serviceOwnerLabels"] = ["Each label may appear only once."]
    if any(label.lower().startswith(RESERVED_LABEL_PREFIXES) for label in labels):
        errors["dto.serviceOwnerContext.serviceOwnerLabels"] = ["Labels starting with 'digdir:' or 'altinn:' are "
                                                               "reserved."]


async def _own_dialog(session: AsyncSession, owner: ServiceOwner, dialog_id: uuid.UUID, *,
                      for_update: bool = False) -> Dialog:
    """The service owner's dialog, or 404 (another owner's dialog is not found either)."""
    query = select(Dialog).where(Dialog.id == dialog_id)
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None or row.org != owner.code:
        raise NotFound(f"Dialog with key '{dialog_id}' not found.", code="dialog_not_found", title="Not found.")
    return row


def _check_revision(row: Dialog, if_match: str | None) -> None:
    if if_match is not None and if_match.strip().strip('"') not in (str(row.revision), "*"):
        raise PreconditionFailed("The dialog has changed since the given revision (If-Match).",
                                 code="revision_mismatch", title="Precondition failed.")


def _check_activity_types(activities: Iterable[s.ActivityCreate], principal: Principal) -> None:
    """403 for a correspondence activity (opened, confirmed) written without the correspondence scope: those are
    Altinn Correspondence's to report (Felles's own correspondence mirror writes them without this API)."""
    if CORRESPONDENCE_SCOPE in principal.scopes or not any(
            item.type in CORRESPONDENCE_ACTIVITIES for item in activities):
        return
    message = (f"Use of {s.ActivityType.CORRESPONDENCE_CONFIRMED.value} or {s.ActivityType.CORRESPONDENCE_OPENED.value}"
               f" activity types requires the scope {CORRESPONDENCE_SCOPE}.")
    raise Forbidden(message, code="correspondence_scope_required", extra={"errors": {"Forbidden": [message]}})


def _check_writable(row: Dialog, principal: Principal) -> None:
    if row.deleted_at is not None:
        raise Gone(f"Entity 'Dialog' with key '{row.id}' is removed, and cannot be changed.", code="dialog_deleted",
                   title="Gone.")
    if row.frozen and ADMIN_SCOPE not in principal.scopes:
        raise Forbidden("The dialog is frozen: only Dialogporten's administrators may change it.",
                        code="dialog_frozen")


async def parts_of(session: AsyncSession, dialog_ids: list[uuid.UUID]) -> dict[uuid.UUID, views.DialogParts]:
    """The activities, transmissions and seen log of each dialog, oldest first: three queries for any number."""
    parts = {dialog_id: views.DialogParts([], [], []) for dialog_id in dialog_ids}
    if not dialog_ids:
        return parts
    for activity in await session.scalars(select(DialogActivity).where(DialogActivity.dialog_id.in_(dialog_ids))
                                          .order_by(DialogActivity.created_at, DialogActivity.id)):
        parts[activity.dialog_id].activities.append(activity)
    for transmission in await session.scalars(
            select(DialogTransmission).where(DialogTransmission.dialog_id.in_(dialog_ids))
            .order_by(DialogTransmission.created_at, DialogTransmission.id)):
        parts[transmission.dialog_id].transmissions.append(transmission)
    for seen in await session.scalars(select(DialogSeenLog).where(DialogSeenLog.dialog_id.in_(dialog_ids))
                                      .order_by(DialogSeenLog.seen_at, DialogSeenLog.id)):
        parts[seen.dialog_id].seen.append(seen)
    return parts


async def get_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID) -> dict[str, Any]:
    """One of the service owner's dialogs, deleted ones too (with `deletedAt`)."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id)
        parts = (await parts_of(session, [row.id]))[row.id]
    return views.dialog(row, parts, None, service_owner=True)


async def update_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, body: s.DialogUpdate, *,
                        if_match: str | None, base_url: str) -> Dialog:
    """Replace a dialog (PUT): its fields become the body's; activities and transmissions in the body are
    appended to those it has."""
    owner = await service_owner(database, principal)
    errors: dict[str, list[str]] = {}
    _check(body, None, errors)
    _check_gui_actions(body.guiActions, errors)
    if errors:
        raise validation_failed(errors)
    now = utcnow()
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_writable(row, principal)
        _check_revision(row, if_match)
        _check_activity_types(body.activities, principal)
        activities = _activity_rows(row.id, body.activities, now)
        transmissions = _transmission_rows(row.id, body.transmissions, now)
        await _check_appended(session, row.id, activities, transmissions)
        _fill(row, body, now)
        if transmissions:
            row.content_updated_at = now  # a new message is new content for the end user
        session.add_all([*transmissions, *activities])
        sent.file_as_sent(session, row, transmissions, now)
        await audit.record(session, owner.actor, action="update", resource=AUDIT_RESOURCE,
                           subjects=[party_identifier(row.party) or row.party], detail={"dialogId": str(row.id)})
        await publish(session, row, "updated", base_url)
        await _publish_appended(session, row, base_url, activities, transmissions)
    return row


def update_document(row: Dialog) -> dict[str, Any]:
    """The dialog as an `UpdateDialog` body, which a JSON Patch is applied to (appended parts start empty, so
    `add /transmissions/-` appends one)."""
    return {
        "progress": row.progress, "extendedStatus": row.extended_status, "externalReference": row.external_reference,
        "visibleFrom": views.timestamp(row.visible_from), "dueAt": views.timestamp(row.due_at),
        "expiresAt": views.timestamp(row.expires_at), "isApiOnly": row.is_api_only, "process": row.process,
        "precedingProcess": row.preceding_process, "status": row.status,
        "content": {name: value for name, value in row.content.items()},
        "searchTags": [{"value": tag} for tag in row.search_tags], "attachments": row.attachments,
        "transmissions": [], "guiActions": row.gui_actions, "apiActions": row.api_actions, "activities": [],
    }


def _without_nulls(document: Any) -> Any:
    """A stored document as a create body: absent fields instead of nulls (the models refuse null lists)."""
    if isinstance(document, dict):
        return {key: _without_nulls(value) for key, value in document.items() if value is not None}
    if isinstance(document, list):
        return [_without_nulls(value) for value in document]
    return document


async def patch_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, patch: list[dict[str, Any]],
                       *, if_match: str | None, base_url: str) -> Dialog:
    """Apply a JSON Patch (RFC 6902) to the dialog as an `UpdateDialog` and replace it with the result."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id)
        _check_writable(row, principal)
        _check_revision(row, if_match)
        document = update_document(row)
    try:
        patched = apply_patch(document, patch)
    except PatchFailed as exc:
        raise validation_failed({"patchDocument": [str(exc)]}) from None
    try:
        body = s.DialogUpdate.model_validate(_without_nulls(patched))
    except ValidationError as exc:
        raise validation_failed(pydantic_errors(exc)) from None
    return await update_dialog(database, principal, dialog_id, body, if_match=str(row.revision), base_url=base_url)


async def delete_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, *, if_match: str | None,
                        base_url: str) -> Dialog:
    """Soft delete: the end users no longer see the dialog; the service owner does, and may restore it."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_writable(row, principal)
        _check_revision(row, if_match)
        row.deleted_at = row.updated_at = utcnow()
        row.revision = uuid7()
        await publish(session, row, "deleted", base_url)
    return row


async def restore_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, *, if_match: str | None,
                         base_url: str) -> Dialog:
    """Undo a soft delete."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_revision(row, if_match)
        if row.deleted_at is not None:
            row.deleted_at = None
            row.revision, row.updated_at = uuid7(), utcnow()
            await publish(session, row, "restored", base_url)
    return row


async def purge_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, *, if_match: str | None,
                       base_url: str) -> None:
    """Delete a dialog and everything in it for good."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_revision(row, if_match)
        await publish(session, row, "deleted", base_url)
        for table in (DialogActivity, DialogTransmission, DialogSeenLog, DialogLabelAssignment):
            await session.execute(delete(table).where(table.dialog_id == row.id))
        await session.delete(row)
        await audit.record(session, owner.actor, action="purge", resource=AUDIT_RESOURCE,
                           subjects=[party_identifier(row.party) or row.party], detail={"dialogId": str(row.id)})


async def freeze_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, *, if_match: str | None
                        ) -> Dialog:
    """Freeze a dialog: from now on only an administrator may change it."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_revision(row, if_match)
        if not row.frozen:
            row.frozen = True
            row.revision = uuid7()
    return row


async def search_dialogs(database: Database, principal: Principal, filters: search.DialogFilters, *,
                         tokens: ContinuationTokens) -> dict[str, Any]:
    """The service owner's own dialogs matching `filters`, a page at a time (newest first by default)."""
    owner = await service_owner(database, principal)
    filters.check_limits(search.SERVICE_OWNER_LIMITS)
    query, order, size = search.page_query(filters, tokens, "createdAt_desc",
                                           select(Dialog).where(Dialog.org == owner.code))
    async with database.transaction() as session:
        rows = list(await session.scalars(query))
        page = search.paged(rows, order, size, tokens)
        parts = await parts_of(session, [row.id for row in page.rows])
    return page.document([views.list_item(row, parts[row.id], None, service_owner=True) for row in page.rows])


async def add_service_owner_label(database: Database, principal: Principal, dialog_id: uuid.UUID, label: str, *,
                                  if_match: str | None) -> Dialog:
    """Add a label only the service owner sees (its own filing)."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_context_revision(row.service_owner_context_revision, if_match)
        labels = [*row.service_owner_labels, label.strip()]
        errors: dict[str, list[str]] = {}
        _check_labels(labels, errors)
        if errors:
            raise validation_failed(errors)
        row.service_owner_labels, row.service_owner_context_revision = labels, uuid7()
    return row


async def remove_service_owner_label(database: Database, principal: Principal, dialog_id: uuid.UUID, label: str,
                                     *, if_match: str | None) -> Dialog:
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_context_revision(row.service_owner_context_revision, if_match)
        remaining = [value for value in row.service_owner_labels if value.lower() != label.lower()]
        if len(remaining) == len(row.service_owner_labels):
            raise NotFound(f"The dialog has no label '{label}'.", code="label_not_found")
        row.service_owner_labels, row.service_owner_context_revision = remaining, uuid7()
    return row


async def service_owner_labels(database: Database, principal: Principal,
                               dialog_id: uuid.UUID) -> tuple[list[dict[str, str]], uuid.UUID]:
    """The service owner's labels on a dialog, and the revision of its service-owner context."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id)
    return [{"value": label} for label in row.service_owner_labels], row.service_owner_context_revision


def _check_context_revision(revision: uuid.UUID, if_match: str | None) -> None:
    if if_match is not None and if_match.strip().strip('"') not in (str(revision), "*"):
        raise PreconditionFailed("The context has changed since the given revision (If-Match).",
                                 code="revision_mismatch", title="Precondition failed.")


async def add_activity(database: Database, principal: Principal, dialog_id: uuid.UUID, body: s.ActivityCreate, *,
                       if_match: str | None, base_url: str) -> tuple[Dialog, DialogActivity]:
    """Append one activity to a dialog's history."""
    owner = await service_owner(database, principal)
    now = utcnow()
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_writable(row, principal)
        _check_revision(row, if_match)
        _check_activity_types([body], principal)
        (activity,) = _activity_rows(row.id, [body], now)
        await _check_appended(session, row.id, [activity], [])
        session.add(activity)
        row.revision, row.updated_at = uuid7(), now
        await _publish_appended(session, row, base_url, [activity], [])
    return row, activity


async def add_transmission(database: Database, principal: Principal, dialog_id: uuid.UUID,
                           body: s.TransmissionCreate, *, if_match: str | None,
                           base_url: str) -> tuple[Dialog, DialogTransmission]:
    """Append one transmission (a message with its own content and attachments); it is new content."""
    owner = await service_owner(database, principal)
    now = utcnow()
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id, for_update=True)
        _check_writable(row, principal)
        _check_revision(row, if_match)
        (transmission,) = _transmission_rows(row.id, [body], now)
        await _check_appended(session, row.id, [], [transmission])
        session.add(transmission)
        sent.file_as_sent(session, row, [transmission], now)
        row.revision, row.updated_at, row.content_updated_at = uuid7(), now, now
        await _publish_appended(session, row, base_url, [], [transmission])
    return row, transmission


async def list_activities(database: Database, principal: Principal, dialog_id: uuid.UUID, *,
                          full: bool = False) -> list[dict[str, Any]]:
    """The dialog's activities, as a list shows them (or `full`, as one is got by id)."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id)
        parts = (await parts_of(session, [row.id]))[row.id]
    return [views.activity(item) if full else views.activity_list_item(item, end_user=False)
            for item in parts.activities]


async def list_transmissions(database: Database, principal: Principal,
                             dialog_id: uuid.UUID) -> list[dict[str, Any]]:
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id)
        parts = (await parts_of(session, [row.id]))[row.id]
    return [views.transmission_item(item, None) for item in parts.transmissions]


async def list_seen_log(database: Database, principal: Principal, dialog_id: uuid.UUID) -> list[dict[str, Any]]:
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await _own_dialog(session, owner, dialog_id)
        parts = (await parts_of(session, [row.id]))[row.id]
    return [views.seen_entry(item, None) for item in parts.seen]
