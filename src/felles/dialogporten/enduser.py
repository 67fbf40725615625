"""Dialogporten for end users: search over the parties a person can act for, read a dialog (which writes the
seen log), its activities, transmissions and seen log, the system labels that file it (Innboks, Arkiv,
Papirkurv), the parties list, and the dialog token that lets the person's browser call the service's own
front-channel endpoints on the dialog.

An end user sees a dialog only while it is visible (not deleted, past `visibleFrom`, before `expiresAt`) and
only when the decision point lets them read its service resource for its party; any other dialog is simply not
found, so that nobody learns it exists. One who logged in below the level its service resource requires may not
open it or its parts (403), and sees its non-sensitive title and summary in lists."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization_service
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Forbidden, Gone, InvalidInput, NotFound, PreconditionFailed, Unauthorized
from felles.core.ids import uuid7
from felles.core.paging import ContinuationTokens
from felles.core.tokens import SIGNING_ALGORITHM, PlatformKeys, Principal
from felles.dialogporten import access, counts, search, views
from felles.dialogporten import schemas as s
from felles.dialogporten.models import Dialog, DialogLabelAssignment, DialogSeenLog
from felles.dialogporten.service import AUDIT_RESOURCE, parts_of, party_identifier, publish, validation_failed

END_USER_SCOPE = "digdir:dialogporten"
ISSUER_PATH = "/dialogporten/api/v1"  # the dialog token's issuer, under the platform's base URL
DIALOG_TOKEN_SECONDS = 600


def visible(now: datetime, *, deleted_too: bool = False) -> Any:
    """The condition on dialogs that an end user sees now (deleted ones too, with `deleted_too`)."""
    shown = and_(or_(Dialog.visible_from.is_(None), Dialog.visible_from <= now),
                 or_(Dialog.expires_at.is_(None), Dialog.expires_at > now))
    return shown if deleted_too else and_(Dialog.deleted_at.is_(None), shown)


def _check_parties(requested: list[str], authorized: dict[str, Any], *, foreign_allowed: bool = False) -> None:
    invalid = [party for party in requested if party_identifier(party) is None]
    if invalid:
        raise InvalidInput(f"Not a party: {', '.join(invalid[:5])}.", code="invalid_party",
                           extra={"errors": {"party": [f"'{party}' is not a valid party urn." for party in invalid]}})
    foreign = [party for party in requested if party not in authorized]
    if foreign and not foreign_allowed:
        raise Forbidden(f"You cannot act for {', '.join(foreign[:5])}.", code="party_not_authorized")


async def _readable(session: AsyncSession, decisions: access.Decisions, parties: list[str],
                    now: datetime) -> Any:
    """A condition matching the dialogs of `parties` whose service resource the person may read for its party;
    None when there is none. Parties that may read the same resources share one clause."""
    pairs = (await session.execute(select(Dialog.party, Dialog.service_resource).where(
        Dialog.party.in_(parties), visible(now)).distinct())).all()
    readable: dict[str, set[str]] = defaultdict(set)
    for party, resource in pairs:
        if await decisions.may_read(party, resource):
            readable[party].add(resource)
    grouped: dict[frozenset[str], list[str]] = defaultdict(list)
    for party, resources in readable.items():
        grouped[frozenset(resources)].append(party)
    if not grouped:
        return None
    return or_(*(and_(Dialog.party.in_(sorted(members)), Dialog.service_resource.in_(sorted(resources)))
                 for resources, members in grouped.items()))


async def search_dialogs(database: Database, principal: Principal, filters: search.DialogFilters, *,
                         tokens: ContinuationTokens) -> dict[str, Any]:
    """The dialogs of the person's parties (all of them, or those `filters.party` names), newest content first."""
    person = access.person_of(principal)
    filters.check_limits(search.END_USER_LIMITS)
    return await search_parties(database, access.Decisions(database, person), access.end_user_urn(principal),
                                await _acting_for(database, principal, filters.party), filters, tokens=tokens,
                                authentication_level=principal.authentication_level)


async def _acting_for(database: Database, principal: Principal, requested: list[str]) -> list[str]:
    """The parties asked for, or all the person can act for when none is; 400/403 for one they cannot."""
    authorized = access.flattened(await access.authorized_parties(database, principal))
    _check_parties(requested, authorized)
    return requested or list(authorized)


async def search_parties(database: Database, decisions: access.Decisions, end_user: str, parties: list[str],
                         filters: search.DialogFilters, *, tokens: ContinuationTokens,
                         authentication_level: int) -> dict[str, Any]:
    """The visible dialogs of `parties` that `decisions` let the end user read, filtered, a page at a time; a
    dialog whose service requires a higher level than the end user's login shows its non-sensitive texts."""
    filters.deleted = s.DeletedFilter.EXCLUDE
    # The parties' dialogs are read once already (which resources they hold): words are checked on those rows.
    filters.search_through_index = False
    now = utcnow()
    page = search.DialogPage([], None, search.parse_order(filters.order_by, "contentUpdatedAt_desc"))
    parts: dict[uuid.UUID, views.DialogParts] = {}
    async with database.transaction() as session:
        readable = await _readable(session, decisions, parties, now)
        if readable is not None:
            query, order, size = search.page_query(filters, tokens, "contentUpdatedAt_desc",
                                                   select(Dialog).where(readable, visible(now)))
            page = search.paged(list(await session.scalars(query)), order, size, tokens)
            parts = await parts_of(session, [row.id for row in page.rows])
    viewer = views.Viewer(end_user=end_user)
    levels = await access.minimum_authentication_levels(database, {row.service_resource for row in page.rows})
    return page.document([views.list_item(row, parts[row.id], viewer, service_owner=False,
                                          non_sensitive_only=authentication_level < levels[row.service_resource])
                          for row in page.rows])


async def unread_counts(database: Database, principal: Principal, folders: Mapping[str, search.DialogFilters], *,
                        parties: list[str]) -> dict[str, int]:
    """How many unread dialogs each of `folders` holds among those the person's list would show them: visible
    dialogs of `parties` (all they can act for if none) whose service resource the decision point lets them
    read. Counted in the database; the decision point is asked once per party and service resource."""
    person = access.person_of(principal)
    within = and_(Dialog.party.in_(await _acting_for(database, principal, parties)), visible(utcnow()))
    async with database.transaction() as session:
        groups = await counts.unread_by_party_and_resource(session, within, folders)
    decisions = access.Decisions(database, person)
    totals = dict.fromkeys(folders, 0)
    for group in groups:
        if await decisions.may_read(group.party, group.service_resource):
            for key, count in group.by_folder.items():
                totals[key] += count
    return totals


async def _readable_dialog(session: AsyncSession, decisions: access.Decisions, dialog_id: uuid.UUID,
                           now: datetime, *, opened_by: Principal | None = None) -> Dialog:
    """The dialog if the person may read it; 410 when it is deleted (as Dialogporten answers), but only to one who
    may read it: to anyone else it is not found. Opened (its details or parts, not its labels), 403 when
    `opened_by` logged in below the level its service resource requires."""
    row = await session.scalar(select(Dialog).where(Dialog.id == dialog_id, visible(now, deleted_too=True)))
    if row is None or not await decisions.may_read(row.party, row.service_resource):
        raise NotFound(f"Dialog with key '{dialog_id}' not found.", code="dialog_not_found", title="Not found.")
    if row.deleted_at is not None:
        raise Gone(f"Entity 'DialogEntity' with the following key(s) is removed: ({dialog_id}).",
                   code="dialog_deleted", extra={"errors": {"DialogEntity": [
                       f"Entity 'DialogEntity' with the following key(s) is removed: ({dialog_id})."]}})
    if opened_by is not None:
        await access.check_authentication_level(decisions.database, opened_by, row.service_resource)
    return row


def dialog_token(keys: PlatformKeys, base_url: str, principal: Principal, row: Dialog,
                 permitted: frozenset[tuple[str, str | None]]) -> str:
    """Dialogporten's dialog token: a short-lived JWT naming the person (`c`), their level (`l`), the party
    (`p`), the service resource (`s`), the dialog (`i`) and the actions they may do (`a`), which the service's
    front-channel endpoints verify with the key set at `/.well-known/jwks.json`."""
    now = int(time.time())
    actions = sorted(action if attribute is None else f"{action},{attribute}" for action, attribute in permitted)
    claims = {
        "jti": str(uuid7()), "c": access.end_user_urn(principal), "l": principal.authentication_level,
        "p": row.party, "s": row.service_resource, "i": str(row.id), "a": ";".join(actions),
        "iss": base_url.rstrip("/") + ISSUER_PATH, "iat": now, "nbf": now, "exp": now + DIALOG_TOKEN_SECONDS,
    }
    header = {"alg": SIGNING_ALGORITHM, "kid": keys.signing_key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, keys.signing_key, algorithms=[SIGNING_ALGORITHM])


async def get_dialog(database: Database, principal: Principal, dialog_id: uuid.UUID, *, keys: PlatformKeys,
                     base_url: str) -> dict[str, Any]:
    """A dialog as the person may see it, with a dialog token; the first look since its last update is written
    to its seen log (and published as `dialogporten.dialog.seen.v1`)."""
    person = access.person_of(principal)
    decisions = access.Decisions(database, person)
    end_user = access.end_user_urn(principal)
    now = utcnow()
    async with database.transaction() as session:
        row = await _readable_dialog(session, decisions, dialog_id, now, opened_by=principal)
        parts = (await parts_of(session, [row.id]))[row.id]
        if not any(entry.end_user_id == end_user and entry.seen_at >= row.updated_at for entry in parts.seen):
            name = (await authorization_service.party_of(database, person)).name
            entry = DialogSeenLog(id=uuid7(), dialog_id=row.id, seen_at=now, end_user_id=end_user,
                                  end_user_name=name, is_via_service_owner=False)
            session.add(entry)
            parts.seen.append(entry)
            if s.SystemLabel.MARKED_AS_UNOPENED in row.system_labels:
                row.system_labels = [label for label in row.system_labels
                                     if label != s.SystemLabel.MARKED_AS_UNOPENED]
            await publish(session, row, "seen", base_url)
        await audit.record(session, Actor(f"person:{person}"), action="read", resource=AUDIT_RESOURCE,
                           subjects=[party_identifier(row.party) or row.party], detail={"dialogId": str(row.id)})
    permitted = await decisions.permitted_actions(row.party, row.service_resource, access.action_pairs(
        row.gui_actions, row.api_actions, [item.authorization_attribute for item in parts.transmissions]))
    viewer = views.Viewer(end_user=end_user, permitted=permitted)
    document = views.dialog(row, parts, viewer, service_owner=False)
    document["dialogToken"] = dialog_token(keys, base_url, principal, row, permitted)
    return document


async def _dialog_parts(database: Database, principal: Principal, dialog_id: uuid.UUID
                        ) -> tuple[views.DialogParts, views.Viewer]:
    """A readable dialog's appended parts, and the viewer they are shown to."""
    person = access.person_of(principal)
    decisions = access.Decisions(database, person)
    async with database.transaction() as session:
        row = await _readable_dialog(session, decisions, dialog_id, utcnow(), opened_by=principal)
        parts = (await parts_of(session, [row.id]))[row.id]
    permitted = await decisions.permitted_actions(
        row.party, row.service_resource, [(access.READ, item.authorization_attribute) for item in parts.transmissions])
    return parts, views.Viewer(end_user=access.end_user_urn(principal), permitted=permitted)


async def list_activities(database: Database, principal: Principal, dialog_id: uuid.UUID, *,
                          full: bool = False) -> list[dict[str, Any]]:
    """A readable dialog's activity history, as a list shows it (or `full`, as one is got by id)."""
    parts, _viewer = await _dialog_parts(database, principal, dialog_id)
    return [views.activity(item) if full else views.activity_list_item(item, end_user=True)
            for item in parts.activities]


async def list_transmissions(database: Database, principal: Principal,
                             dialog_id: uuid.UUID) -> list[dict[str, Any]]:
    """A readable dialog's transmissions; one the person may not read shows no attachments."""
    parts, viewer = await _dialog_parts(database, principal, dialog_id)
    return [views.transmission_item(item, viewer) for item in parts.transmissions]


async def list_seen_log(database: Database, principal: Principal, dialog_id: uuid.UUID) -> list[dict[str, Any]]:
    """Who has seen a readable dialog, and when."""
    parts, viewer = await _dialog_parts(database, principal, dialog_id)
    return [views.seen_entry(item, viewer) for item in parts.seen]


def _next_labels(current: list[str], change: s.SystemLabelsSet) -> list[str]:
    """The labels after a change: a whole new set, or labels added and removed. One folder label (Default, Bin,
    Archive) at a time; removing the folder puts the dialog back in Default."""
    if change.systemLabels and (change.addLabels or change.removeLabels):
        raise validation_failed({"systemLabels": ["Give either 'systemLabels' or 'addLabels'/'removeLabels'."]})
    if change.systemLabels:
        wanted = [label.value for label in change.systemLabels]
    else:
        removed = {label.value for label in change.removeLabels}
        wanted = [label for label in current if label not in removed]
        added = [label.value for label in change.addLabels]
        if any(label in s.FOLDER_LABELS for label in added):
            wanted = [label for label in wanted if label not in s.FOLDER_LABELS]
        wanted += [label for label in added if label not in wanted]
    folders = [label for label in wanted if label in s.FOLDER_LABELS]
    if len(folders) > 1:
        raise validation_failed({"systemLabels": ["Only one of Default, Bin and Archive may be set."]})
    sent = s.SystemLabel.SENT.value
    if (sent in wanted) != (sent in current):
        if not (change.systemLabels and sent in current):
            raise validation_failed({"systemLabels": [
                "Dialogporten sets 'Sent' itself when the party sends something; it cannot be set or removed."]})
        wanted.append(sent)  # a whole new set of labels keeps it
    if not folders:
        wanted.insert(0, s.SystemLabel.DEFAULT.value)
    return list(dict.fromkeys(wanted))


def relabel(session: AsyncSession, row: Dialog, change: s.SystemLabelsSet, performed_by: dict[str, Any]) -> None:
    """Apply a label change to a dialog and log each label set or removed."""
    labels = _next_labels(row.system_labels, change)
    now = utcnow()
    for name, action in [*((label, "set") for label in labels if label not in row.system_labels),
                         *((label, "remove") for label in row.system_labels if label not in labels)]:
        session.add(DialogLabelAssignment(id=uuid7(), dialog_id=row.id, created_at=now,
                                          name=s.LABEL_LOG_PREFIX + name, action=action, performed_by=performed_by))
    row.system_labels = labels
    row.system_label = next(label for label in labels if label in s.FOLDER_LABELS)
    row.end_user_context_revision = uuid7()


def _performer(principal: Principal, name: str | None) -> dict[str, Any]:
    return {"actorType": s.ActorType.PARTY_REPRESENTATIVE.value, "actorName": name,
            "actorId": access.end_user_urn(principal)}


async def set_system_labels(database: Database, principal: Principal, dialog_id: uuid.UUID,
                            change: s.SystemLabelsSet, *, if_match: str | None) -> Dialog:
    """File a dialog (Innboks, Arkiv, Papirkurv) or mark it unopened, at the end-user context's revision."""
    person = access.person_of(principal)
    decisions = access.Decisions(database, person)
    name = (await authorization_service.party_of(database, person)).name
    async with database.transaction() as session:
        row = await _readable_dialog(session, decisions, dialog_id, utcnow())
        _check_context(row, if_match)
        relabel(session, row, change, _performer(principal, name))
    return row


async def bulk_set_system_labels(database: Database, principal: Principal, change: s.SystemLabelsBulkSet) -> None:
    """The same label change on many dialogs at once (all or none)."""
    person = access.person_of(principal)
    decisions = access.Decisions(database, person)
    name = (await authorization_service.party_of(database, person)).name
    async with database.transaction() as session:
        for item in change.dialogs:
            row = await _readable_dialog(session, decisions, item.dialogId, utcnow())
            _check_context(row, str(item.endUserContextRevision) if item.endUserContextRevision else None)
            relabel(session, row, change, _performer(principal, name))


def _check_context(row: Dialog, if_match: str | None) -> None:
    if if_match is not None and if_match.strip().strip('"') not in (str(row.end_user_context_revision), "*"):
        raise PreconditionFailed(f"The end-user context of dialog {row.id} has changed since that revision.",
                                 code="revision_mismatch", title="Precondition failed.")


async def label_log(database: Database, principal: Principal, dialog_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every label change on the dialog, oldest first (Dialogporten's label assignment log)."""
    person = access.person_of(principal)
    decisions = access.Decisions(database, person)
    async with database.transaction() as session:
        row = await _readable_dialog(session, decisions, dialog_id, utcnow(), opened_by=principal)
        entries = await session.scalars(select(DialogLabelAssignment).where(DialogLabelAssignment.dialog_id == row.id)
                                        .order_by(DialogLabelAssignment.created_at, DialogLabelAssignment.id))
        return [{"createdAt": views.timestamp(entry.created_at), "name": entry.name, "action": entry.action,
                 "performedBy": views.actor(entry.performed_by)} for entry in entries]


def _party_document(party: access.AuthorizedParty, current: str) -> dict[str, Any]:
    """A party as Dialogporten lists it: `subParties` is null, not empty, for a party without sub-units."""
    urn = access.party_urn(party)
    return {
        "party": urn, "partyUuid": str(party.partyUuid), "partyId": party.partyId, "partyType": party.type,
        "isDeleted": party.isDeleted, "hasKeyRole": False, "isCurrentEndUser": urn == current,
        "isMainAdministrator": False, "isAccessManager": False,
        "hasOnlyAccessToSubParties": party.onlyHierarchyElementWithNoAccess,
        "name": party.name, "dateOfBirth": party.dateOfBirth,
        "subParties": [_party_document(unit, current) for unit in party.subunits] or None,
    }


async def parties(database: Database, principal: Principal) -> dict[str, Any]:
    """The parties the person can act for (`authorizedParties`), themself first."""
    current = access.end_user_urn(principal)
    listed = [_party_document(party, current) for party in await access.authorized_parties(database, principal)
              if party.type != "SystemUser"]
    listed.sort(key=lambda item: not item["isCurrentEndUser"])
    return {"authorizedParties": listed}


def localized(texts: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "languageCode": language} for language, value in texts.items()]


async def resource_metadata(database: Database, service_resource: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A service resource and its owner as Dialogporten describes them (from the resource registry; the
    authentication level its policy requires)."""
    identifier = service_resource.removeprefix(access.RESOURCE_PREFIX)
    resource = await authorization_service.get_resource(database, identifier)
    owner = resource.hasCompetentAuthority
    level = (await access.minimum_authentication_levels(database, [service_resource]))[service_resource]
    return ({"id": service_resource, "resourceType": str(resource.resourceType.value),
             "status": resource.status or "Completed", "isDelegable": resource.delegable,
             "minimumAuthenticationLevel": level, "name": localized(resource.title),
             "links": {"metadata": f"/resourceregistry/api/v1/resource/{identifier}"}},
            {"orgNumber": owner.organization, "code": owner.orgcode, "name": localized(owner.name or {})})


ROLE_PREFIX, PACKAGE_PREFIX = "urn:altinn:rolecode:", "urn:altinn:accesspackage:"
PACKAGES_PATH = "/accessmanagement/api/v1/meta/info/accesspackages"


async def policy_subjects(database: Database, identifier: str) -> list[str]:
    """The roles, access packages ... the service's policy grants something to, as lower-case urns (none for a
    service without a policy of its own in the registry)."""
    try:
        return [match.urn.lower() for match in
                (await authorization_service.get_policy_subjects(database, identifier)).data]
    except NotFound:
        return []


async def _policy_grants(database: Database, identifier: str
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The roles and the access packages the service's policy grants something to, named as the catalogue names
    them (none for a service without a policy of its own)."""
    subjects = await policy_subjects(database, identifier)
    subjects_link = {"metadata": f"/resourceregistry/api/v1/resource/{identifier}/policy/subjects"}
    codes = [urn.removeprefix(ROLE_PREFIX) for urn in subjects if urn.startswith(ROLE_PREFIX)]
    role_names = await authorization_service.role_names(database, codes) if codes else {}
    roles = [{"urn": ROLE_PREFIX + code, "name": localized(role_names.get(code, {})), "links": subjects_link}
             for code in codes]
    wanted = [urn.removeprefix(PACKAGE_PREFIX) for urn in subjects if urn.startswith(PACKAGE_PREFIX)]
    catalogue = ({package.code: package for package in await authorization_service.list_access_packages(database)}
                 if wanted else {})
    packages = [{"urn": PACKAGE_PREFIX + code, "name": localized(catalogue[code].name if code in catalogue else {}),
                 "links": {"metadata": PACKAGES_PATH}} for code in wanted]
    return roles, packages


async def _metadata_items(database: Database, service_resources: list[str]) -> list[dict[str, Any]]:
    items = []
    for service_resource in sorted(service_resources):
        resource, owner = await resource_metadata(database, service_resource)
        roles, packages = await _policy_grants(database, access.resource_of(service_resource, None))
        items.append({"serviceResource": resource, "roles": roles, "accessPackages": packages,
                      "serviceOwner": owner})
    return items


async def service_resources(database: Database, principal: Principal, parties: list[str]) -> dict[str, Any]:
    """The service resources of the dialogs the person may read for `parties` (all their parties if none; parties
    they cannot act for are left out, as Dialogporten ignores them), with the roles and packages that give access."""
    person = access.person_of(principal)
    authorized = access.flattened(await access.authorized_parties(database, principal))
    _check_parties(parties, authorized, foreign_allowed=True)
    asked = [party for party in parties if party in authorized] if parties else list(authorized)
    decisions = access.Decisions(database, person)
    async with database.transaction() as session:
        pairs = (await session.execute(select(Dialog.party, Dialog.service_resource).where(
            Dialog.party.in_(asked), visible(utcnow())).distinct())).all()
    readable = {resource for party, resource in pairs if await decisions.may_read(party, resource)}
    return {"isFullCatalogueFallback": False, "items": await _metadata_items(database, list(readable))}


async def service_resources_in_use(database: Database) -> dict[str, Any]:
    """Every service resource some dialog not deleted belongs to: Dialogporten's open metadata."""
    async with database.transaction() as session:
        in_use = list(await session.scalars(select(Dialog.service_resource).where(
            Dialog.deleted_at.is_(None)).distinct()))
    return {"items": await _metadata_items(database, in_use)}


async def dialog_events(database: Database, dialog_id: uuid.UUID, *, poll_seconds: float) -> Any:
    """`DialogUpdated` each time the dialog gets a new revision, and `DialogDeleted` (the last) when it is
    deleted: what Dialogporten's `dialogEvents` subscription sends."""
    async with database.transaction() as session:
        row = await session.get(Dialog, dialog_id)
        revision = row.revision if row is not None else None
    while revision is not None:
        await asyncio.sleep(poll_seconds)
        async with database.transaction() as session:
            current = (await session.execute(select(Dialog.revision, Dialog.deleted_at)
                                             .where(Dialog.id == dialog_id))).first()
        if current is None or current.deleted_at is not None:
            yield {"id": str(dialog_id), "type": "DialogDeleted"}
            return
        if current.revision != revision:
            revision = current.revision
            yield {"id": str(dialog_id), "type": "DialogUpdated"}


def verify_dialog_token(keys: PlatformKeys, base_url: str, token: str) -> dict[str, Any]:
    """The claims of a dialog token this Dialogporten issued and that is valid now, or 401."""
    try:
        claims = jwt.decode(token, keys.public_set, algorithms=[SIGNING_ALGORITHM]).claims
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": base_url.rstrip("/") + ISSUER_PATH},
                              exp={"essential": True}).validate(claims)
    except (JoseError, ValueError) as exc:
        raise Unauthorized("A valid dialog token is needed (Authorization: Bearer <dialog token>).",
                           code="invalid_dialog_token", headers={"WWW-Authenticate": "Bearer"}) from exc
    return dict(claims)
