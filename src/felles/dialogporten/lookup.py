"""Dialogporten's reference lookup (`dialogLookup` in GraphQL, `GET .../dialoglookup` for end users and service
owners): the dialog an app instance (`urn:altinn:instance-id:{partyId}/{uuid}`), a correspondence
(`urn:altinn:correspondence-id:{uuid}`) or a dialog id (`urn:altinn:dialog-id:{uuid}`) names.

The answer names the dialog by its canonical reference, as Dialogporten does: the app instance's if the dialog
mirrors one, else the correspondence's, else the dialog's own, so that an instance delegation can be given on
what the dialog stands for. An end user is told why they may see it (the roles, access packages and delegations
that meet the service's policy); a deleted dialog is theirs no more. A service owner sees its own dialogs,
deleted ones too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization_service
from felles.authorization.schemas import AuthorizedParty
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.errors import Forbidden, InvalidInput, NotFound
from felles.core.tokens import Principal
from felles.dialogporten import access, views
from felles.dialogporten.enduser import (
    PACKAGE_PREFIX,
    ROLE_PREFIX,
    localized,
    policy_subjects,
    resource_metadata,
    visible,
)
from felles.dialogporten.models import Dialog, DialogMirror
from felles.dialogporten.service import service_owner
from felles.storage import service as storage_service

INSTANCE, CORRESPONDENCE, DIALOG = "instance", "correspondence", "dialog"
PREFIXES = {INSTANCE: "urn:altinn:instance-id:", CORRESPONDENCE: "urn:altinn:correspondence-id:",
            DIALOG: "urn:altinn:dialog-id:"}
NOT_SUPPORTED = ("InstanceRef must be a supported identifier: 'urn:altinn:instance-id:{partyId}/{uuid}', "
                 "'urn:altinn:correspondence-id:{uuid}' or 'urn:altinn:dialog-id:{uuid}'.")


@dataclass(frozen=True)
class InstanceRef:
    """A parsed reference: what it names (`instance`, `correspondence`, `dialog`), its id, and for an instance
    the party id it is stored under."""

    kind: str
    id: uuid.UUID
    party_id: int | None = None


def parse(value: str) -> InstanceRef:
    """The reference `value` names, or 400 with Dialogporten's message."""
    lowered = value.strip().lower()
    for kind, prefix in PREFIXES.items():
        if not lowered.startswith(prefix):
            continue
        rest = lowered.removeprefix(prefix)
        party = None
        if kind == INSTANCE:
            party_text, _, rest = rest.partition("/")
            if not party_text.isdigit() or len(party_text) > 18:
                break
            party = int(party_text)
        if len(rest) != 36:  # the hyphenated form only, as Dialogporten parses it
            break
        try:
            return InstanceRef(kind, uuid.UUID(rest), party)
        except ValueError:
            break
    raise InvalidInput(NOT_SUPPORTED, code="invalid_instance_ref", extra={"errors": {"InstanceRef": [NOT_SUPPORTED]}})


def _not_found(value: str) -> NotFound:
    return NotFound(f"No dialog was found for '{value[:200]}'.", code="dialog_not_found", title="Not found.")


@dataclass(frozen=True)
class Resolved:
    dialog: Dialog
    canonical: str


async def _resolve(database: Database, session: AsyncSession, ref: InstanceRef, value: str,
                   shown: Any = None) -> Resolved:
    """The dialog the reference names (among those meeting the condition `shown`, if given) and its canonical
    reference; 404 when none does (or the instance is stored under another party than the reference says)."""
    if ref.kind == DIALOG:
        dialog_id: uuid.UUID | None = ref.id
        mirror = await session.scalar(select(DialogMirror).where(DialogMirror.dialog_id == ref.id,
                                                                 DialogMirror.fingerprint != ""))
    else:
        mirror = await session.scalar(select(DialogMirror).where(
            DialogMirror.source_type == ref.kind, DialogMirror.source_id == ref.id, DialogMirror.fingerprint != ""))
        dialog_id = mirror.dialog_id if mirror is not None else None
    dialog = await session.scalar(select(Dialog).where(Dialog.id == dialog_id, true() if shown is None else shown))
    if dialog is None:
        raise _not_found(value)
    if mirror is None:
        return Resolved(dialog, PREFIXES[DIALOG] + str(dialog.id))
    if mirror.source_type == CORRESPONDENCE:
        return Resolved(dialog, PREFIXES[CORRESPONDENCE] + str(mirror.source_id))
    party_id = await _instance_party(database, dialog.org, mirror.source_id)
    if party_id is None or (ref.party_id is not None and ref.party_id != party_id):
        raise _not_found(value)
    return Resolved(dialog, f"{PREFIXES[INSTANCE]}{party_id}/{mirror.source_id}")


async def _instance_party(database: Database, org: str, instance_id: uuid.UUID) -> int | None:
    """The party id the instance is stored under (None if Storage no longer has it)."""
    try:
        instance = await storage_service.get_instance_by_guid_for_org(database, org, instance_id,
                                                                      get_settings().base_url.rstrip("/"))
    except NotFound:
        return None
    return int(instance.instanceOwner.partyId)


def _texts(content: dict[str, Any], name: str) -> list[dict[str, str]]:
    return list((content.get(name) or {}).get("value", []))


def _described(dialog: Dialog, canonical: str, resource: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "dialogId": str(dialog.id), "instanceRef": canonical, "party": dialog.party,
        "title": _texts(dialog.content, "title"),
        "serviceResource": {"id": access.resource_of(dialog.service_resource, None),
                            **{key: resource[key] for key in ("isDelegable", "minimumAuthenticationLevel", "name")}},
        "serviceOwner": owner,
    }


async def for_end_user(database: Database, principal: Principal, value: str) -> dict[str, Any]:
    """The dialog `value` names, if visible and the person may read it (403 if they may not), with the evidence of
    why they may."""
    person = access.person_of(principal)
    ref = parse(value)
    async with database.transaction() as session:
        found = await _resolve(database, session, ref, value, shown=visible(utcnow()))
    dialog = found.dialog
    if not await access.Decisions(database, person).may_read(dialog.party, dialog.service_resource):
        raise Forbidden(f"You are not authorized for '{value[:200]}'.", code="dialog_lookup_forbidden")
    resource, owner = await resource_metadata(database, dialog.service_resource)
    described = _described(dialog, found.canonical, resource, owner)
    if principal.authentication_level < resource["minimumAuthenticationLevel"]:
        described["title"] = _texts(views.non_sensitive(dialog.content), "title")  # below the service's level
    described["authorizationEvidence"] = await _evidence(database, principal, dialog.party, resource)
    return described


async def for_service_owner(database: Database, principal: Principal, value: str) -> dict[str, Any]:
    """The service owner's dialog `value` names, deleted or not; 403 if another service owner's."""
    owner = await service_owner(database, principal)
    ref = parse(value)
    async with database.transaction() as session:
        found = await _resolve(database, session, ref, value)
    if found.dialog.org != owner.code:
        raise Forbidden("The dialog is another service owner's.", code="not_dialog_owner")
    described = _described(found.dialog, found.canonical,
                           *await resource_metadata(database, found.dialog.service_resource))
    return {**described, "nonSensitiveTitle": _texts(found.dialog.content, "nonSensitiveTitle") or None}


async def _evidence(database: Database, principal: Principal, party: str,
                    resource: dict[str, Any]) -> dict[str, Any]:
    """Why the person may see the dialog: their roles and access packages for the party that the service's
    policy names, or the service (`resource`, as `resource_metadata` describes it) delegated to them. Felles
    delegates no single instances, so no evidence is an instance delegation."""
    identifier = access.resource_of(resource["id"], None)
    person = access.person_of(principal)
    listed = await authorization_service.authorized_parties(database, Actor(f"person:{person}"), person)
    held: AuthorizedParty | None = access.flattened(listed).get(party)
    subjects = set(await policy_subjects(database, identifier))
    items: list[dict[str, Any]] = []
    if held is not None:
        role_names = await authorization_service.role_names(database, held.authorizedRoles)
        items += [{"grantType": "Role", "subject": ROLE_PREFIX + code, "name": localized(role_names.get(code, {})),
                   "links": None} for code in held.authorizedRoles if ROLE_PREFIX + code.lower() in subjects]
        packages = {package.code: package for package in await authorization_service.list_access_packages(database)}
        items += [{"grantType": "AccessPackage", "subject": PACKAGE_PREFIX + code,
                   "name": localized(packages[code].name if code in packages else {}), "links": None}
                  for code in held.authorizedAccessPackages if PACKAGE_PREFIX + code.lower() in subjects]
        if identifier in held.authorizedResources:
            items.append({"grantType": "ResourceDelegation", "subject": resource["id"], "name": resource["name"],
                          "links": resource["links"]})
    kinds = {item["grantType"] for item in items}
    return {"currentAuthenticationLevel": principal.authentication_level, "viaRole": "Role" in kinds,
            "viaAccessPackage": "AccessPackage" in kinds, "viaResourceDelegation": "ResourceDelegation" in kinds,
            "viaInstanceDelegation": False, "evidence": items}


LOCALIZED = ("title", "nonSensitiveTitle")


def in_languages(document: dict[str, Any], accept_language: str | None) -> dict[str, Any]:
    """The answer's texts cut to the languages `Accept-Language` names (all of them if it names none they have),
    as Dialogporten trims the title, the service's, the owner's, the roles' and the access packages' names."""
    wanted = [part.split(";")[0].strip().lower()[:2] for part in (accept_language or "").split(",")]
    wanted = [language for language in wanted if language and language != "*"]
    if not wanted:
        return document

    def trimmed(texts: list[dict[str, str]] | None) -> list[dict[str, str]] | None:
        if not texts:
            return texts
        kept = [text for text in texts if text["languageCode"].lower()[:2] in wanted]
        return kept or texts

    result = {**document, **{name: trimmed(document.get(name)) for name in LOCALIZED if name in document}}
    for part in ("serviceResource", "serviceOwner"):
        result[part] = {**document[part], "name": trimmed(document[part].get("name"))}
    for part in ("roles", "accessPackages"):
        if part in document:
            result[part] = [{**item, "name": trimmed(item.get("name"))} for item in document[part]]
    return result
