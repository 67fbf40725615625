"""The resolvers of the inbox's own GraphQL schema (`schema.graphql`): Arbeidsflate's profile, favourites, saved
searches, settings and notification addresses, answered from the profile component's service.

As Arbeidsflate's back end does, a mutation that cannot be done answers `{success: false, message}` rather than a
GraphQL error; a query that cannot be answered gives a GraphQL error with the problem's code.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ariadne import MutationType, QueryType, load_schema_from_path, make_executable_schema
from graphql import GraphQLResolveInfo, GraphQLSchema
from pydantic import ValidationError

from felles.authorization import service as authorization
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import InvalidInput, Problem
from felles.profile import addresses, schemas
from felles.profile import service as profile

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


@dataclass(frozen=True)
class Context:
    """What every resolver gets: the database, the settings and the logged-in person (fødselsnummer)."""

    database: Database
    settings: Settings
    person: str


Info = GraphQLResolveInfo[Context]
query = QueryType()
mutation = MutationType()


def _context(info: Info) -> Context:
    return info.context


def _party_uuid(value: Any, name: str = "partyUuid") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{name} is not a UUID.", code="invalid_party_uuid") from None


def _message(error: Exception) -> str:
    if isinstance(error, Problem):
        return error.detail
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in error.errors())
    return str(error)


async def _outcome(action: Callable[[], Awaitable[Any]], message: str | None = None) -> dict[str, Any]:
    """`Response` of a mutation: success, or the reason it failed."""
    try:
        await action()
    except (Problem, ValidationError) as error:
        return {"success": False, "message": _message(error)}
    return {"success": True, "message": message}


# --- queries ------------------------------------------------------------------------------------------------------
def _group(group: schemas.GroupResponse, person: str) -> dict[str, Any]:
    return {"id": group.groupId, "name": group.name, "isFavorite": group.isFavorite, "profilePid": person,
            "parties": [str(party) for party in group.parties]}


@query.field("profile")
async def resolve_profile(_: Any, info: Info) -> dict[str, Any]:
    context = _context(info)
    # Independent reads: together, so the answer waits for the slowest rather than for their sum.
    user, groups, updated_at = await asyncio.gather(
        profile.current_user(context.database, context.person), profile.groups(context.database, context.person),
        profile.settings_updated_at(context.database, context.person))
    return {"language": user.profileSettingPreference.language or "nb",
            "updatedAt": updated_at.isoformat() if updated_at else None,
            "groups": [_group(group, context.person) for group in groups],
            "user": user.model_dump(mode="json")}


@query.field("organizations")
async def resolve_organizations(_: Any, info: Info) -> list[dict[str, Any]]:
    """The service owners (Altinn's orgs list), with their names in each language."""
    owners = await authorization.list_service_owners(_context(info).database)
    return [{"id": owner.orgcode, "orgnr": owner.organization, "environments": ["production"],
             "name": {language: owner.name.get(language) or owner.name.get("nb") for language in ("nb", "nn", "en")},
             "logo": None, "homepage": None, "contact": None} for owner in owners]


@query.field("savedSearches")
async def resolve_saved_searches(_: Any, info: Info) -> list[dict[str, Any]]:
    context = _context(info)
    return [search.model_dump(mode="json") for search in await profile.saved_searches(context.database,
                                                                                       context.person)]


@query.field("notificationsettingsForCurrentUser")
async def resolve_notification_settings(_: Any, info: Info) -> list[dict[str, Any]]:
    context = _context(info)
    return [setting.model_dump(mode="json")
            for setting in await addresses.notification_settings(context.database, context.person)]


@query.field("verifiedAddresses")
async def resolve_verified_addresses(_: Any, info: Info) -> list[dict[str, Any]]:
    context = _context(info)
    return [{"value": address.value, "addressType": address.type.value}
            for address in await addresses.verified_addresses(context.database, context.person)]


@query.field("getNotificationAddressByOrgNumber")
async def resolve_organization_addresses(_: Any, info: Info, orgnr: str | None = None
                                         ) -> dict[str, Any] | None:
    """Like Arbeidsflate's back end: no number, no answer; a refusal answers with its status."""
    if not orgnr:
        return None
    context = _context(info)
    if not (orgnr.isdigit() and len(orgnr) == 9):
        return {"organizationNumber": None, "notificationAddresses": None, "status": 400}
    try:
        found = await addresses.organization_addresses(context.database, context.person, orgnr)
    except Problem as refusal:
        return {"organizationNumber": None, "notificationAddresses": None, "status": refusal.status}
    return {**found.model_dump(mode="json"), "status": None}


@query.field("partyUsername")
async def resolve_party_username(_: Any, info: Info,
                                 partyUuid: str | None = None) -> dict[str, Any] | None:
    if not partyUuid:
        return None
    context = _context(info)
    return {"username": await profile.username_of(context.database, context.person, _party_uuid(partyUuid))}


# --- mutations: settings and favourites -----------------------------------------------------------------------------
async def _patch(info: Info, **changes: Any) -> dict[str, Any]:
    context = _context(info)

    async def change() -> None:
        await profile.patch_settings(context.database, context.person, schemas.ProfileSettingsPatch(**changes))

    return await _outcome(change)


@mutation.field("updateLanguage")
async def resolve_update_language(_: Any, info: Info, language: str | None = None) -> dict[str, Any]:
    return await _patch(info, language=language)


@mutation.field("setShouldShowSubEntities")
async def resolve_show_sub_entities(_: Any, info: Info,
                                    shouldShowDeletedEntities: bool | None = None) -> dict[str, Any]:
    return await _patch(info, shouldShowDeletedEntities=shouldShowDeletedEntities)


@mutation.field("setShowClientUnits")
async def resolve_show_client_units(_: Any, info: Info,
                                    shouldShowClientUnits: bool | None = None) -> dict[str, Any]:
    return await _patch(info, showClientUnits=shouldShowClientUnits)


@mutation.field("setPreSelectedParty")
async def resolve_preselected_party(_: Any, info: Info, operationType: str,
                                    partyUuid: str | None = None) -> dict[str, Any]:
    if not partyUuid:
        return {"success": False, "message": "partyUuid is required"}
    if operationType not in ("set", "unset"):
        return {"success": False, "message": 'operationType must be "set" or "unset"'}
    try:
        chosen = _party_uuid(partyUuid)
    except InvalidInput as refusal:
        return {"success": False, "message": refusal.detail}
    return await _patch(info, preselectedPartyUuid=chosen if operationType == "set" else None)


@mutation.field("addFavoriteParty")
async def resolve_add_favorite(_: Any, info: Info, partyId: str | None = None
                               ) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.add_to_group(context.database, context.person,
                                                       _party_uuid(partyId, "partyId")),
                          "FavoriteParty added successfully")


@mutation.field("addFavoritePartyToGroup")
async def resolve_add_to_group(_: Any, info: Info, partyId: str | None = None,
                               groupName: str | None = None) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.add_to_group(context.database, context.person,
                                                       _party_uuid(partyId, "partyId"), groupName or ""),
                          "FavoriteParty added successfully")


@mutation.field("deleteFavoriteParty")
async def resolve_delete_favorite(_: Any, info: Info, partyId: str | None = None
                                  ) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.remove_favorite(context.database, context.person,
                                                          _party_uuid(partyId, "partyId")),
                          "Favorite Party deleted successfully")


@mutation.field("setUsername")
async def resolve_set_username(_: Any, info: Info, username: str | None = None) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.set_username(context.database, context.person, username),
                          "Username updated successfully")


@mutation.field("updateSIPrivatePhoneNumber")
async def resolve_private_phone(_: Any, info: Info, value: str | None = None) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.set_private_phone_number(context.database, context.person, value or None),
                          "Phone number updated successfully")


# --- mutations: saved searches ---------------------------------------------------------------------------------------
@mutation.field("createSavedSearch")
async def resolve_create_saved_search(_: Any, info: Info, name: str | None = None,
                                      data: dict[str, Any] | None = None) -> dict[str, Any]:
    if data is None:
        raise InvalidInput("Data are required to create a saved search.", code="saved_search_data_required")
    context = _context(info)
    try:
        parsed = schemas.SavedSearchData.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(_message(error), code="invalid_saved_search") from None
    created = await profile.create_saved_search(context.database, context.person, name or "", parsed)
    return created.model_dump(mode="json")


@mutation.field("updateSavedSearch")
async def resolve_update_saved_search(_: Any, info: Info, id: int,
                                      name: str | None = None) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.rename_saved_search(context.database, context.person, id, name or ""),
                          "Saved search updated successfully")


@mutation.field("deleteSavedSearch")
async def resolve_delete_saved_search(_: Any, info: Info, id: int) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: profile.delete_saved_search(context.database, context.person, id),
                          "Saved search deleted successfully")


# --- mutations: notification addresses ------------------------------------------------------------------------------
@mutation.field("updateNotificationSetting")
async def resolve_update_notification_setting(_: Any, info: Info,
                                              data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Change the fields given for the party (as a PATCH of Profile's setting)."""
    context = _context(info)
    if not data or not data.get("partyUuid"):
        return {"success": False, "message": "partyUuid is required"}

    async def change() -> None:
        fields = {key: value for key, value in data.items() if key not in ("userId", "partyUuid")}
        request = schemas.NotificationSettingsRequest.model_validate(fields)
        await addresses.save_notification_setting(context.database, context.person, _party_uuid(data["partyUuid"]),
                                                  request, replace=False)

    return await _outcome(change, "NotificationSetting updated successfully")


@mutation.field("deleteNotificationSetting")
async def resolve_delete_notification_setting(_: Any, info: Info,
                                              partyUuid: str | None = None) -> dict[str, Any]:
    context = _context(info)
    return await _outcome(lambda: addresses.delete_notification_setting(context.database, context.person,
                                                                        _party_uuid(partyUuid)),
                          "NotificationSetting deleted successfully")


@mutation.field("sendVerificationCode")
async def resolve_send_code(_: Any, info: Info, data: dict[str, Any] | None = None) -> dict[str, Any]:
    context = _context(info)
    try:
        request = schemas.AddressCodeSendRequest.model_validate(data or {})
    except ValidationError as error:
        return {"success": False, "message": _message(error)}
    sent = await addresses.send_verification_code(context.database, context.settings, context.person, request)
    if sent.status == "cooldown":
        return {"success": False, "message": "Too many requests, please try again later",
                "retryAfter": sent.retry_after}
    if sent.status == "already_verified":
        return {"success": False, "message": "The address is already verified"}
    return {"success": True, "message": "Verification code sent"}


@mutation.field("verifyAddress")
async def resolve_verify_address(_: Any, info: Info, data: dict[str, Any] | None = None
                                 ) -> dict[str, Any]:
    context = _context(info)
    try:
        request = schemas.AddressVerificationRequest.model_validate(data or {})
    except ValidationError:
        return {"success": False, "message": "invalid_code"}
    if not await addresses.verify_address(context.database, context.settings, context.person, request):
        return {"success": False, "message": "invalid_code"}
    return {"success": True}


def build_schema() -> GraphQLSchema:
    """The executable schema: the SDL file with these resolvers bound."""
    return make_executable_schema(load_schema_from_path(str(SCHEMA_FILE)), query, mutation)
