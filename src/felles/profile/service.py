"""Use cases of the user profile: who the person is (`users/current`), their settings, their party groups and
favourites, the inbox's saved searches, and the persons' own notification addresses Varsling asks for
(`user_contact_points`). Setting those addresses and verifying them is in `felles.profile.addresses`; both modules
make up this component's service.

A person reads and changes only their own profile: every function takes the person's fødselsnummer from their
login. A party enters a favourite group, the pre-selected party or a notification setting only if the person may
act for it (`felles.authorization`'s authorized parties, sub-units included).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from felles.profile import schemas
from felles.profile.models import PartyGroup, PartyGroupMember, PartyNotificationSetting, ProfileSettings, SavedSearch
from felles.registers import service as registers

T = TypeVar("T")
RESOURCE_PREFIX = "urn:altinn:resource:"
FAVORITES_NAME = "__favoritter__"  # Altinn Profile's name of the favourites group
MAX_SAVED_SEARCHES = 100
MAX_GROUPS = 50
PARTY_TYPES = {"person": 1, "organization": 2}
SUB_UNIT_TYPE = 4
PROFILE_AUDIT = "profile.user"


def actor_of(person: str) -> Actor:
    return Actor(f"person:{person}")


async def once_more_on_conflict(write: Callable[[], Awaitable[T]]) -> T:
    """Run a write that first creates a row; if another request created the same row at the same moment (a key
    conflict), run it again, now as an update of that row."""
    try:
        return await write()
    except IntegrityError:
        return await write()


# --- the parties a person may act for ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ActingParty:
    """A party the person may act for, as the profile needs it."""

    party_uuid: uuid.UUID
    party_id: int
    identifier: str  # organisation number or fødselsnummer
    name: str
    kind: str  # Person | Organization
    is_sub_unit: bool
    is_deleted: bool


async def acting_parties(database: Database, person: str) -> dict[uuid.UUID, ActingParty]:
    """Every party the person may act for (sub-units included), by party UUID."""
    found: dict[uuid.UUID, ActingParty] = {}
    for party in await authorization.authorized_parties(database, actor_of(person), person, include_resources=False):
        for item, sub_unit in [(party, False), *((unit, True) for unit in party.subunits)]:
            found[item.partyUuid] = ActingParty(
                item.partyUuid, item.partyId, item.organizationNumber or item.personId or "", item.name, item.type,
                sub_unit, item.isDeleted)
    return found


async def acting_party(database: Database, person: str, party_uuid: uuid.UUID) -> ActingParty:
    """The party, if the person may act for it; else `Forbidden` (whether it exists is not told)."""
    party = (await acting_parties(database, person)).get(party_uuid)
    if party is None:
        raise Forbidden("You may not act for this party.", code="party_not_authorized")
    return party


# --- the user and their settings ---------------------------------------------------------------------------------
def _preferences(row: ProfileSettings | None) -> schemas.ProfileSettingPreference:
    if row is None:
        return schemas.ProfileSettingPreference()
    return schemas.ProfileSettingPreference(
        language=row.language, preSelectedPartyId=row.preselected_party_id or 0,
        doNotPromptForParty=row.do_not_prompt_for_party, preselectedPartyUuid=row.preselected_party_uuid,
        showClientUnits=row.show_client_units, shouldShowSubEntities=row.should_show_sub_entities,
        shouldShowDeletedEntities=row.should_show_deleted_entities)


async def _settings_row(session: AsyncSession, person: str, *, for_update: bool = False) -> ProfileSettings | None:
    return await session.get(ProfileSettings, person, with_for_update=for_update)


def _new_settings(person: str) -> ProfileSettings:
    return ProfileSettings(person=person, do_not_prompt_for_party=False, show_client_units=False,
                           should_show_sub_entities=False, should_show_deleted_entities=False, updated_at=utcnow())


def _person_of(found: Any, identifier: str, contact: dict[str, Any]) -> schemas.Person:
    navn = found.navn
    address = found.bostedsadresse
    name = " ".join(part for part in (navn.fornavn, navn.mellomnavn, navn.etternavn) if part)
    return schemas.Person(
        ssn=identifier, name=name, firstName=navn.fornavn, middleName=navn.mellomnavn, lastName=navn.etternavn,
        mobileNumber=contact.get("mobiltelefonnummer"),
        mailingAddress=address.adressenavn if address else None,
        mailingPostalCode=address.postnummer if address else None,
        mailingPostalCity=address.poststed if address else None,
        addressMunicipalNumber=address.kommunenummer if address else None,
        addressStreetName=address.adressenavn if address else None,
        addressPostalCode=address.postnummer if address else None,
        addressCity=address.poststed if address else None,
        dateOfDeath=found.doedsdato.isoformat() if found.doedsdato else None,
    )


async def current_user(database: Database, person: str) -> schemas.UserProfile:
    """`users/current`: the person's ids, what Folkeregisteret and KRR say of them, and their settings."""
    party = await authorization.party_of(database, person)
    found = await registers.get_person(database, actor_of(person), person)
    krr = await registers.own_contact_information(database, person)
    contact = krr.get("kontaktinformasjon", {})
    async with database.transaction() as session:
        settings = await _settings_row(session, person)
        await audit.record(session, actor_of(person), action="read", resource=PROFILE_AUDIT, subjects=[person])
    details = _person_of(found, person, contact)
    return schemas.UserProfile(
        userId=party.user_id or party.party_id, userUuid=party.party_uuid,
        userName=(settings.username if settings is not None else None) or "",
        isReserved=krr.get("reservasjon") == "JA", phoneNumber=contact.get("mobiltelefonnummer"),
        email=contact.get("epostadresse"), partyId=party.party_id,
        party=schemas.Party(partyId=party.party_id, partyUuid=party.party_uuid, partyTypeName=PARTY_TYPES["person"],
                            ssn=person, name=details.name, isDeleted=party.is_deleted, person=details),
        profileSettingPreference=_preferences(settings),
    )


async def settings_of(database: Database, person: str) -> schemas.ProfileSettingPreference:
    async with database.transaction() as session:
        return _preferences(await _settings_row(session, person))


async def patch_settings(database: Database, person: str,
                         patch: schemas.ProfileSettingsPatch) -> schemas.ProfileSettingPreference:
    """Change the settings given (`PATCH users/current/profilesettings`). A pre-selected party must be one the
    person may act for."""
    changes = patch.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("Nothing to change: give at least one setting.", code="empty_update")
    preselected = None
    if changes.get("preselectedPartyUuid") is not None:
        preselected = await acting_party(database, person, changes["preselectedPartyUuid"])
    columns = {"language": "language", "doNotPromptForParty": "do_not_prompt_for_party",
               "preselectedPartyUuid": "preselected_party_uuid", "showClientUnits": "show_client_units",
               "shouldShowSubEntities": "should_show_sub_entities",
               "shouldShowDeletedEntities": "should_show_deleted_entities"}
    async def write() -> schemas.ProfileSettingPreference:
        async with database.transaction() as session:
            row = await _settings_row(session, person, for_update=True)
            if row is None:
                row = _new_settings(person)
                session.add(row)
            for field, value in changes.items():
                if value is None and field != "preselectedPartyUuid":
                    raise InvalidInput(f"{field} cannot be null.", code="invalid_setting")
                setattr(row, columns[field], value.value if isinstance(value, schemas.Language) else value)
            if "preselectedPartyUuid" in changes:
                row.preselected_party_id = preselected.party_id if preselected is not None else None
            row.updated_at = utcnow()
            await audit.record(session, actor_of(person), action="update", resource=PROFILE_AUDIT,
                               subjects=[person], detail={"fields": sorted(changes)})
            return _preferences(row)

    return await once_more_on_conflict(write)


async def settings_updated_at(database: Database, person: str) -> datetime | None:
    """When the person last changed a setting (None: never)."""
    async with database.transaction() as session:
        return await session.scalar(select(ProfileSettings.updated_at).where(ProfileSettings.person == person))


async def language_of(database: Database, person: str) -> str | None:
    """The language the person chose in their profile, if any (Varsling and the inbox speak it)."""
    async with database.transaction() as session:
        return await session.scalar(select(ProfileSettings.language).where(ProfileSettings.person == person))


async def username_of(database: Database, person: str, party_uuid: uuid.UUID) -> str | None:
    """The username of a person party the asker may act for (their own, most often)."""
    party = await acting_party(database, person, party_uuid)
    if party.kind != "Person":
        return None
    async with database.transaction() as session:
        return await session.scalar(select(ProfileSettings.username).where(ProfileSettings.person == party.identifier))


async def set_username(database: Database, person: str, username: str | None) -> None:
    """Choose a username (6–64 characters, starting with a letter) or clear it with None; each is unique."""
    if username is not None and not schemas.USERNAME_PATTERN.match(username):
        raise InvalidInput("A username has 6-64 characters, starts with a letter and holds only letters, digits "
                           "and . _ - @.", code="invalid_username")
    try:
        async with database.transaction() as session:
            row = await _settings_row(session, person, for_update=True)
            if row is None:
                row = _new_settings(person)
                session.add(row)
            row.username, row.updated_at = username, utcnow()
            await audit.record(session, actor_of(person), action="update", resource=PROFILE_AUDIT,
                               subjects=[person], detail={"fields": ["username"]})
    except IntegrityError:
        raise Conflict("That username is taken.", code="username_taken") from None


async def set_private_phone_number(database: Database, person: str, phone: str | None) -> None:
    """The phone number for notices to the person themself when Altinn has no KRR entry for them."""
    if phone is not None:
        try:
            phone = schemas.check_address(schemas.AddressType.SMS, phone)
        except ValueError as error:
            raise InvalidInput(str(error), code="invalid_phone_number") from None
    async with database.transaction() as session:
        row = await _settings_row(session, person, for_update=True)
        if row is None:
            row = _new_settings(person)
            session.add(row)
        row.private_phone_number, row.updated_at = phone, utcnow()


# --- party groups and favourites ---------------------------------------------------------------------------------
async def _group(session: AsyncSession, person: str, name: str, *, favorite: bool, create: bool) -> PartyGroup | None:
    row: PartyGroup | None = await session.scalar(
        select(PartyGroup).where(PartyGroup.person == person, PartyGroup.name == name))
    if row is None and create:
        count = await session.scalar(select(func.count()).select_from(PartyGroup).where(PartyGroup.person == person))
        if (count or 0) >= MAX_GROUPS:
            raise InvalidInput(f"At most {MAX_GROUPS} groups.", code="too_many_groups")
        row = PartyGroup(person=person, name=name, is_favorite=favorite, created_at=utcnow())
        session.add(row)
        await session.flush()
    return row


async def groups(database: Database, person: str) -> list[schemas.GroupResponse]:
    """The person's party groups, favourites first (an empty favourites group when they have none)."""
    async with database.transaction() as session:
        rows = list(await session.scalars(select(PartyGroup).where(PartyGroup.person == person)
                                          .order_by(PartyGroup.is_favorite.desc(), PartyGroup.id)))
        members = await session.execute(select(PartyGroupMember.group_id, PartyGroupMember.party_uuid)
                                        .where(PartyGroupMember.group_id.in_([row.id for row in rows]))
                                        .order_by(PartyGroupMember.created_at))
    by_group: dict[int, list[uuid.UUID]] = {}
    for group_id, party_uuid in members:
        by_group.setdefault(group_id, []).append(party_uuid)
    found = [schemas.GroupResponse(groupId=row.id, name=row.name, isFavorite=row.is_favorite,
                                   parties=by_group.get(row.id, [])) for row in rows]
    if not any(group.isFavorite for group in found):
        found.insert(0, schemas.GroupResponse(groupId=0, name=FAVORITES_NAME, isFavorite=True, parties=[]))
    return found


async def favorites(database: Database, person: str) -> schemas.GroupResponse:
    """`party-groups/favorites`."""
    return (await groups(database, person))[0]


async def add_to_group(database: Database, person: str, party_uuid: uuid.UUID,
                       group_name: str = FAVORITES_NAME) -> bool:
    """Put a party the person may act for in a group (the favourites by default); True if it was not there."""
    group_name = group_name.strip()
    if not group_name or len(group_name) > 100:
        raise InvalidInput("A group name has 1-100 characters.", code="invalid_group_name")
    await acting_party(database, person, party_uuid)
    try:
        async with database.transaction() as session:
            group = await _group(session, person, group_name, favorite=group_name == FAVORITES_NAME, create=True)
            assert group is not None
            if await session.get(PartyGroupMember, (group.id, party_uuid)) is not None:
                return False
            session.add(PartyGroupMember(group_id=group.id, party_uuid=party_uuid, created_at=utcnow()))
            await audit.record(session, actor_of(person), action="update", resource=PROFILE_AUDIT,
                               subjects=[person], detail={"group": group_name, "added": str(party_uuid)})
    except IntegrityError:
        return False  # the same addition, made at the same moment by another request, came first
    return True


async def remove_favorite(database: Database, person: str, party_uuid: uuid.UUID) -> None:
    """Take a party out of the favourites; `NotFound` if it was not there."""
    async with database.transaction() as session:
        group = await _group(session, person, FAVORITES_NAME, favorite=True, create=False)
        removed = 0
        if group is not None:
            result = await session.execute(delete(PartyGroupMember).where(
                PartyGroupMember.group_id == group.id, PartyGroupMember.party_uuid == party_uuid))
            removed = int(getattr(result, "rowcount", 0) or 0)
        if not removed:
            raise NotFound("Party not found in favorites.", code="favorite_not_found")


# --- saved searches (the inbox's) ---------------------------------------------------------------------------------
def _saved_search(row: SavedSearch) -> schemas.SavedSearchPublic:
    return schemas.SavedSearchPublic(id=row.id, name=row.name, data=schemas.SavedSearchData.model_validate(row.data),
                                     createdAt=row.created_at.isoformat(), updatedAt=row.updated_at.isoformat())


def _search_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("A saved search's name has 1-200 characters.", code="invalid_saved_search_name")
    return name


async def saved_searches(database: Database, person: str) -> list[schemas.SavedSearchPublic]:
    """The person's saved searches, the last changed first."""
    async with database.transaction() as session:
        rows = await session.scalars(select(SavedSearch).where(SavedSearch.person == person)
                                     .order_by(SavedSearch.updated_at.desc(), SavedSearch.id.desc()))
        return [_saved_search(row) for row in rows]


async def create_saved_search(database: Database, person: str, name: str,
                              data: schemas.SavedSearchData) -> schemas.SavedSearchPublic:
    name = _search_name(name)
    now = utcnow()
    async with database.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(SavedSearch)
                                     .where(SavedSearch.person == person))
        if (count or 0) >= MAX_SAVED_SEARCHES:
            raise InvalidInput(f"At most {MAX_SAVED_SEARCHES} saved searches.", code="too_many_saved_searches")
        row = SavedSearch(person=person, name=name, data=data.model_dump(mode="json", exclude_none=True),
                          created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        return _saved_search(row)


async def rename_saved_search(database: Database, person: str, search_id: int, name: str) -> None:
    name = _search_name(name)
    async with database.transaction() as session:
        row = await session.get(SavedSearch, search_id, with_for_update=True)
        if row is None or row.person != person:
            raise NotFound("No such saved search.", code="saved_search_not_found")
        row.name, row.updated_at = name, utcnow()


async def delete_saved_search(database: Database, person: str, search_id: int) -> None:
    async with database.transaction() as session:
        result = await session.execute(delete(SavedSearch).where(SavedSearch.id == search_id,
                                                                 SavedSearch.person == person))
        if not int(getattr(result, "rowcount", 0) or 0):
            raise NotFound("No such saved search.", code="saved_search_not_found")


# --- the lookup Varsling makes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UserContactPoint:
    """A person's own notification address for an organisation (Altinn's user-registered contact point)."""

    person: str
    email: str | None
    mobile: str | None


async def user_contact_points(database: Database, organization_numbers: list[str],
                              resource: str) -> dict[str, list[UserContactPoint]]:
    """For Varsling: per organisation, the notification addresses persons registered for it, of those who did
    not limit theirs to other resources and whom the resource's policy lets read for the organisation (as Altinn
    Notifications asks Profile, then the PDP). `resource` is `urn:altinn:resource:<id>` or the bare id."""
    identifier = resource.removeprefix(RESOURCE_PREFIX)
    urn = RESOURCE_PREFIX + identifier
    async with database.transaction() as session:
        rows = list(await session.scalars(select(PartyNotificationSetting).where(
            PartyNotificationSetting.party.in_(list(dict.fromkeys(organization_numbers))))))
    found: dict[str, list[UserContactPoint]] = {}
    for row in rows:
        if row.resources and urn not in row.resources:
            continue
        if not await authorization.is_permitted(database, row.person, row.party, identifier, "read"):
            continue
        found.setdefault(row.party, []).append(UserContactPoint(row.person, row.email, row.phone))
    return found
