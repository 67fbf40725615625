"""Dialogs as Dialogporten's API shows them: the whole dialog, a list item, activities, transmissions and the seen
log, field for field in Dialogporten's order. The end-user views add what depends on who asks (`isAuthorized`,
`isCurrentEndUser`); a service owner's views leave those null unless it names an end user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from felles.core.errors import NotFound
from felles.dialogporten.models import Dialog, DialogActivity, DialogSeenLog, DialogTransmission
from felles.dialogporten.schemas import FROM_PARTY_TRANSMISSIONS, ActivityType, SystemLabel

CONTENT_FIELDS = ("title", "nonSensitiveTitle", "summary", "nonSensitiveSummary", "senderName", "additionalInfo",
                  "extendedStatus", "mainContentReference")
SUMMARY_FIELDS = ("title", "nonSensitiveTitle", "summary", "nonSensitiveSummary", "senderName", "extendedStatus")
END_USER_SUMMARY_FIELDS = ("title", "summary", "senderName", "extendedStatus")
TRANSMISSION_CONTENT_FIELDS = ("title", "summary", "contentReference")
CORRESPONDENCE_RESOURCE_TYPE = "correspondenceservice"


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class Viewer:
    """Who reads: an end user (`end_user` is their party urn) with what the PDP let them do, or the service
    owner (no end user: `isAuthorized` stays null)."""

    end_user: str | None = None
    # The `action` + `authorizationAttribute` pairs the end user may do, as `access.authorized_actions` decides.
    permitted: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)

    def may(self, action: str, attribute: str | None) -> bool | None:
        if self.end_user is None:
            return None
        return (action, attribute) in self.permitted


def content_value(value: dict[str, Any] | None, *, authorized: bool | None = None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": value["value"], "mediaType": value.get("mediaType", "text/plain"), "isAuthorized": authorized}


def content(document: dict[str, Any], fields: Sequence[str], viewer: Viewer | None = None) -> dict[str, Any]:
    main_authorized = viewer.may("read", None) if viewer is not None else None
    return {name: content_value(document.get(name),
                                authorized=main_authorized if name == "mainContentReference" else None)
            for name in fields}


def non_sensitive(document: dict[str, Any]) -> dict[str, Any]:
    """The content as one below the service's authentication level is shown it: the non-sensitive title and
    summary in place of the title and summary, where the dialog has them (Dialogporten's list)."""
    return {**document, **{name: document[replacement] for name, replacement in (
        ("title", "nonSensitiveTitle"), ("summary", "nonSensitiveSummary")) if document.get(replacement)}}


def actor(value: dict[str, Any]) -> dict[str, Any]:
    return {"actorType": value["actorType"], "actorName": value.get("actorName"), "actorId": value.get("actorId")}


def seen_entry(row: DialogSeenLog, viewer: Viewer | None) -> dict[str, Any]:
    """A seen-log entry; `isCurrentEndUser` only for an end user's view (the service owner's list has none)."""
    entry: dict[str, Any] = {
        "id": str(row.id), "seenAt": timestamp(row.seen_at),
        "seenBy": {"actorType": "PartyRepresentative", "actorName": row.end_user_name, "actorId": row.end_user_id},
        "isViaServiceOwner": row.is_via_service_owner,
    }
    if viewer is not None:
        entry["isCurrentEndUser"] = viewer.end_user == row.end_user_id
    return entry


def activity(row: DialogActivity) -> dict[str, Any]:
    return {
        "id": str(row.id), "createdAt": timestamp(row.created_at), "extendedType": row.extended_type,
        "type": row.type, "transmissionId": str(row.transmission_id) if row.transmission_id else None,
        "performedBy": actor(row.performed_by), "description": row.description,
    }


def activity_list_item(row: DialogActivity, *, end_user: bool) -> dict[str, Any]:
    """An activity in a list: without who did it (and, for the service owner, without its description)."""
    item = activity(row)
    del item["performedBy"]
    if not end_user:
        del item["description"]
    return item


def attachment(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": document["id"], "displayName": document.get("displayName") or [], "name": document.get("name"),
        "urls": [{"id": url["id"], "url": url["url"], "mediaType": url.get("mediaType"),
                  "consumerType": url["consumerType"]} for url in document.get("urls", [])],
        "expiresAt": document.get("expiresAt"),
    }


def transmission(row: DialogTransmission, opened: set[Any], viewer: Viewer | None) -> dict[str, Any]:
    authorized = viewer.may("read", row.authorization_attribute) if viewer is not None else None
    return {
        "id": str(row.id), "idempotentKey": row.idempotent_key, "createdAt": timestamp(row.created_at),
        "authorizationAttribute": row.authorization_attribute, "isAuthorized": authorized,
        "extendedType": row.extended_type, "externalReference": row.external_reference,
        "relatedTransmissionId": str(row.related_transmission_id) if row.related_transmission_id else None,
        "type": row.type, "sender": actor(row.sender),
        "content": content(row.content, TRANSMISSION_CONTENT_FIELDS),
        "isOpened": row.id in opened,
        # An end user not allowed to read the transmission sees that it exists, not its attachments' addresses.
        "attachments": [attachment(item) for item in row.attachments] if authorized is not False else [],
        "navigationalActions": [
            {"title": item["title"], "url": item["url"], "expiresAt": item.get("expiresAt")}
            for item in row.navigational_actions] if authorized is not False else [],
    }


def transmission_item(row: DialogTransmission, viewer: Viewer | None) -> dict[str, Any]:
    """A transmission on its own (listed, or got by id): the service owner's has its idempotent key, the end
    user's whether they may read it; neither says whether it is opened."""
    item = transmission(row, set(), viewer)
    del item["isOpened"]
    if viewer is None:
        del item["isAuthorized"]
    else:
        del item["idempotentKey"]
        item["deletedAt"] = None
    return item


def gui_action(document: dict[str, Any], viewer: Viewer | None) -> dict[str, Any]:
    authorized = viewer.may(document["action"], document.get("authorizationAttribute")) if viewer else None
    return {
        "id": document["id"], "action": document["action"], "url": document["url"],
        "authorizationAttribute": document.get("authorizationAttribute"), "isAuthorized": authorized,
        "isDeleteDialogAction": document.get("isDeleteDialogAction", False), "priority": document["priority"],
        "httpMethod": document.get("httpMethod") or "GET", "title": document.get("title"),
        "prompt": document.get("prompt"),
    }


def api_action(document: dict[str, Any], viewer: Viewer | None) -> dict[str, Any]:
    authorized = viewer.may(document["action"], document.get("authorizationAttribute")) if viewer else None
    return {
        "id": document["id"], "action": document["action"],
        "authorizationAttribute": document.get("authorizationAttribute"), "isAuthorized": authorized,
        "name": document.get("name"),
        "endpoints": [{key: endpoint.get(key) for key in (
            "id", "version", "url", "httpMethod", "documentationUrl", "requestSchema", "responseSchema",
            "deprecated", "sunsetAt")} for endpoint in document.get("endpoints", [])],
    }


@dataclass
class DialogParts:
    """A dialog's appended parts, read with it."""

    activities: list[DialogActivity]
    transmissions: list[DialogTransmission]
    seen: list[DialogSeenLog]


def _seen_since(row: Dialog, seen: list[DialogSeenLog], since: datetime, viewer: Viewer | None
                ) -> list[dict[str, Any]]:
    latest: dict[str, DialogSeenLog] = {}
    for entry in seen:
        if entry.seen_at >= since and (entry.end_user_id not in latest
                                       or entry.seen_at > latest[entry.end_user_id].seen_at):
            latest[entry.end_user_id] = entry
    return [seen_entry(entry, viewer or Viewer()) for entry in sorted(latest.values(), key=lambda item: item.seen_at)]


def _transmission_counts(transmissions: list[DialogTransmission]) -> tuple[int, int]:
    from_party = sum(1 for item in transmissions if item.type in FROM_PARTY_TRANSMISSIONS)
    return len(transmissions) - from_party, from_party


def opened_transmissions(activities: list[DialogActivity]) -> set[Any]:
    return {item.transmission_id for item in activities
            if item.type == ActivityType.TRANSMISSION_OPENED and item.transmission_id is not None}


def content_seen(row: Dialog, parts: DialogParts) -> bool:
    """Whether someone has seen the dialog since its content last changed, and nobody marked it unopened."""
    return (SystemLabel.MARKED_AS_UNOPENED not in row.system_labels
            and any(entry.seen_at >= row.content_updated_at for entry in parts.seen))


def unopened_content(row: Dialog, parts: DialogParts) -> bool:
    """Dialogporten's `hasUnopenedContent`: a transmission from the service owner that no `TransmissionOpened`
    activity reports opened (for a correspondence, also no `CorrespondenceOpened` activity yet)."""
    opened = opened_transmissions(parts.activities)
    if any(item.type not in FROM_PARTY_TRANSMISSIONS and item.id not in opened for item in parts.transmissions):
        return True
    return row.service_resource_type == CORRESPONDENCE_RESOURCE_TYPE and not any(
        item.type == ActivityType.CORRESPONDENCE_OPENED and item.transmission_id is None for item in parts.activities)


def dialog(row: Dialog, parts: DialogParts, viewer: Viewer | None, *, service_owner: bool) -> dict[str, Any]:
    """The whole dialog (service owner's `Dialog` or end user's `Dialog`)."""
    from_owner, from_party = _transmission_counts(parts.transmissions)
    opened = opened_transmissions(parts.activities)
    document: dict[str, Any] = {
        "id": str(row.id), "revision": str(row.revision), "org": row.org,
        "serviceResource": row.service_resource, "serviceResourceType": row.service_resource_type,
        "party": row.party, "progress": row.progress, "process": row.process,
        "precedingProcess": row.preceding_process, "extendedStatus": row.extended_status,
        "externalReference": row.external_reference,
        "visibleFrom": timestamp(row.visible_from), "dueAt": timestamp(row.due_at),
        "expiresAt": timestamp(row.expires_at), "createdAt": timestamp(row.created_at),
        "updatedAt": timestamp(row.updated_at), "contentUpdatedAt": timestamp(row.content_updated_at),
        "status": row.status, "systemLabel": row.system_label, "isApiOnly": row.is_api_only,
        "hasUnopenedContent": unopened_content(row, parts),
        "content": content(row.content, CONTENT_FIELDS, viewer),
        "fromServiceOwnerTransmissionsCount": from_owner, "fromPartyTransmissionsCount": from_party,
        "attachments": [attachment(item) for item in row.attachments],
        "transmissions": [transmission(item, opened, viewer) for item in parts.transmissions],
        "guiActions": [gui_action(item, viewer) for item in row.gui_actions],
        "apiActions": [api_action(item, viewer) for item in row.api_actions],
        "activities": [activity(item) for item in parts.activities],
        "seenSinceLastUpdate": _seen_since(row, parts.seen, row.updated_at, viewer),
        "seenSinceLastContentUpdate": _seen_since(row, parts.seen, row.content_updated_at, viewer),
        "isContentSeen": content_seen(row, parts),
        "endUserContext": {"revision": str(row.end_user_context_revision), "systemLabels": row.system_labels},
    }
    if service_owner:
        document = {"id": document.pop("id"), "idempotentKey": row.idempotent_key, **document}
        document["deletedAt"] = timestamp(row.deleted_at)
        document["searchTags"] = [{"value": tag} for tag in row.search_tags]
        document["serviceOwnerContext"] = {
            "serviceOwnerLabels": [{"value": label} for label in row.service_owner_labels],
            "revision": str(row.service_owner_context_revision)}
    else:
        del document["visibleFrom"]
        document["content"] = {name: value for name, value in document["content"].items()
                               if not name.startswith("nonSensitive")}
        for item in document["transmissions"]:
            del item["idempotentKey"]
    return document


def list_item(row: Dialog, parts: DialogParts, viewer: Viewer | None, *, service_owner: bool,
              non_sensitive_only: bool = False) -> dict[str, Any]:
    """One dialog in a search result (`DialogListItem`): its summary content and latest activity. An end user's
    has no non-sensitive texts of its own, but shows them in place of the others when `non_sensitive_only` (their
    login is below the level the service requires)."""
    from_owner, from_party = _transmission_counts(parts.transmissions)
    latest = max(parts.activities, key=lambda item: item.created_at, default=None)
    item: dict[str, Any] = {
        "id": str(row.id), "org": row.org, "serviceResource": row.service_resource,
        "serviceResourceType": row.service_resource_type, "party": row.party, "progress": row.progress,
        "process": row.process, "precedingProcess": row.preceding_process,
        "guiAttachmentCount": sum(1 for attachment in row.attachments
                                  if any(url["consumerType"] == "Gui" for url in attachment.get("urls", []))),
        "extendedStatus": row.extended_status, "externalReference": row.external_reference,
        "createdAt": timestamp(row.created_at), "updatedAt": timestamp(row.updated_at),
        "contentUpdatedAt": timestamp(row.content_updated_at), "dueAt": timestamp(row.due_at),
        "status": row.status, "systemLabel": row.system_label, "isApiOnly": row.is_api_only,
        "hasUnopenedContent": unopened_content(row, parts),
        "fromServiceOwnerTransmissionsCount": from_owner, "fromPartyTransmissionsCount": from_party,
        "latestActivity": activity(latest) if latest is not None else None,
        "content": content(non_sensitive(row.content) if non_sensitive_only else row.content,
                           SUMMARY_FIELDS if service_owner else END_USER_SUMMARY_FIELDS),
        "seenSinceLastUpdate": _seen_since(row, parts.seen, row.updated_at, viewer),
        "seenSinceLastContentUpdate": _seen_since(row, parts.seen, row.content_updated_at, viewer),
        "isContentSeen": content_seen(row, parts),
        "endUserContext": {"revision": str(row.end_user_context_revision), "systemLabels": row.system_labels},
    }
    if service_owner:
        item["revision"] = str(row.revision)
        item["visibleFrom"] = timestamp(row.visible_from)
        item["deletedAt"] = timestamp(row.deleted_at)
        item["serviceOwnerContext"] = {
            "serviceOwnerLabels": [{"value": label} for label in row.service_owner_labels],
            "revision": str(row.service_owner_context_revision)}
    return item


def one(items: list[dict[str, Any]], item_id: Any, kind: str) -> dict[str, Any]:
    """The item of a dialog's list with `item_id`, or 404 (Dialogporten's `Entity '<kind>' with key ... not
    found`)."""
    for item in items:
        if item["id"] == str(item_id):
            return item
    raise NotFound(f"Entity '{kind}' with key '{item_id}' not found.", code="not_found", title="Not found.")
