"""HTTP API of Altinn Profile at its paths (`/profile/api/v1/users/current/...`): the person's profile and
settings, favourite parties, notification addresses per party and address verification. Like Altinn's
`PortalEndUserAccess`, it takes the person's Altinn end-user token with the portal's scope; a person reads and
changes only their own profile, and names only parties they may act for."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from felles.core.errors import InvalidInput
from felles.core.runtime import RuntimeDep
from felles.core.tokens import (
    ALTINN_END_USER_ISSUERS,
    PORTAL_END_USER_SCOPE,
    AcceptedTokens,
    AuthenticatedRoute,
    Principal,
    require_person,
)
from felles.profile import addresses, schemas, service

router = APIRouter(tags=["profile"], route_class=AuthenticatedRoute)

BASE = "/profile/api/v1"
CURRENT = BASE + "/users/current"
PROFILE_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/profile",))
Person = Annotated[Principal, require_person(PROFILE_TOKENS, PORTAL_END_USER_SCOPE)]


def _pid(person: Principal) -> str:
    assert person.person_identifier is not None  # require_person
    return person.person_identifier


@router.get(CURRENT, operation_id="profile_get_current_user")
async def current_user(person: Person, runtime: RuntimeDep) -> schemas.UserProfile:
    """The logged-in person: ids, contact details from KRR and profile settings."""
    return await service.current_user(runtime.database, _pid(person))


@router.patch(CURRENT + "/profilesettings", operation_id="profile_patch_settings")
async def patch_settings(body: schemas.ProfileSettingsPatch, person: Person,
                         runtime: RuntimeDep) -> schemas.ProfileSettingPreference:
    """Change some settings: language, the pre-selected party, whether sub-units, deleted units and client units
    are shown, whether to be asked for a party at login."""
    return await service.patch_settings(runtime.database, _pid(person), body)


@router.put(CURRENT + "/profilesettings", operation_id="profile_put_settings")
async def put_settings(body: schemas.ProfileSettingsPut, person: Person,
                       runtime: RuntimeDep) -> schemas.ProfileSettingPreference:
    """Set every setting at once (a null pre-selected party clears it)."""
    whole = schemas.ProfileSettingsPatch.model_validate(body.model_dump())
    return await service.patch_settings(runtime.database, _pid(person), whole)


@router.get(CURRENT + "/party-groups/favorites", operation_id="profile_get_favorites")
async def favorites(person: Person, runtime: RuntimeDep) -> schemas.GroupResponse:
    return await service.favorites(runtime.database, _pid(person))


@router.put(CURRENT + "/party-groups/favorites/{partyUuid}", operation_id="profile_add_favorite", status_code=204,
            responses={201: {"description": "Added"}, 204: {"description": "Already a favourite"}})
async def add_favorite(partyUuid: uuid.UUID, person: Person, runtime: RuntimeDep) -> Response:
    added = await service.add_to_group(runtime.database, _pid(person), partyUuid)
    return Response(status_code=201 if added else 204)


@router.delete(CURRENT + "/party-groups/favorites/{partyUuid}", operation_id="profile_delete_favorite",
               status_code=204)
async def delete_favorite(partyUuid: uuid.UUID, person: Person, runtime: RuntimeDep) -> Response:
    await service.remove_favorite(runtime.database, _pid(person), partyUuid)
    return Response(status_code=204)


# --- notification addresses per party -------------------------------------------------------------------------
SETTINGS = CURRENT + "/notificationsettings/parties"


@router.get(SETTINGS, operation_id="profile_list_notification_settings")
async def notification_settings(person: Person, runtime: RuntimeDep) -> list[schemas.NotificationSettingsResponse]:
    return await addresses.notification_settings(runtime.database, _pid(person))


@router.get(SETTINGS + "/{partyUuid}", operation_id="profile_get_notification_setting")
async def notification_setting(partyUuid: uuid.UUID, person: Person,
                               runtime: RuntimeDep) -> schemas.NotificationSettingsResponse:
    return await addresses.notification_setting(runtime.database, _pid(person), partyUuid)


async def _save(party_uuid: uuid.UUID, body: schemas.NotificationSettingsRequest, person: Principal,
                runtime: RuntimeDep, *, replace: bool) -> Response:
    created = await addresses.save_notification_setting(runtime.database, _pid(person), party_uuid, body,
                                                        replace=replace)
    if created:
        return Response(status_code=201, headers={"Location": f"{SETTINGS}/{party_uuid}"})
    return Response(status_code=204)


@router.put(SETTINGS + "/{partyUuid}", operation_id="profile_put_notification_setting", status_code=204,
            responses={201: {"description": "Created"}, 422: {"description": "An address is not verified"}})
async def put_notification_setting(partyUuid: uuid.UUID, body: schemas.NotificationSettingsRequest,
                                   person: Person, runtime: RuntimeDep) -> Response:
    """Set the person's e-mail address and/or phone number for a party; each must be verified first."""
    return await _save(partyUuid, body, person, runtime, replace=True)


@router.patch(SETTINGS + "/{partyUuid}", operation_id="profile_patch_notification_setting", status_code=204,
              responses={201: {"description": "Created"}, 422: {"description": "An address is not verified"}})
async def patch_notification_setting(partyUuid: uuid.UUID, body: schemas.NotificationSettingsRequest,
                                     person: Person, runtime: RuntimeDep) -> Response:
    """Change the fields given; an empty address removes it (one of the two must remain)."""
    return await _save(partyUuid, body, person, runtime, replace=False)


@router.delete(SETTINGS + "/{partyUuid}", operation_id="profile_delete_notification_setting")
async def delete_notification_setting(partyUuid: uuid.UUID, person: Person,
                                      runtime: RuntimeDep) -> Response:
    await addresses.delete_notification_setting(runtime.database, _pid(person), partyUuid)
    return Response(status_code=200)


# --- address verification ------------------------------------------------------------------------------------------
VERIFICATION = CURRENT + "/verification"
NOT_SENT = "Verification code could not be sent"


@router.get(VERIFICATION + "/verified-addresses", operation_id="profile_verified_addresses")
async def verified_addresses(person: Person, runtime: RuntimeDep) -> list[schemas.VerifiedAddressResponse]:
    return await addresses.verified_addresses(runtime.database, _pid(person))


@router.post(VERIFICATION + "/send", operation_id="profile_send_verification_code", status_code=204,
             responses={422: {"description": "Already verified"}, 429: {"description": "Sent too recently"}})
async def send_code(body: schemas.AddressCodeSendRequest, person: Person, runtime: RuntimeDep) -> Response:
    """Send a six-digit code to the address, by e-mail or SMS (one request per address a minute)."""
    sent = await addresses.send_verification_code(runtime.database, runtime.settings, _pid(person), body)
    if sent.status == "already_verified":
        raise InvalidInput("The address is already verified for this user.", code="address_already_verified",
                           status=422, title=NOT_SENT)
    if sent.status == "cooldown":
        seconds = addresses.RESEND_COOLDOWN.seconds
        raise InvalidInput(f"Code resending attempts for an address are limited to 1 request per {seconds} "
                           f"seconds. Please wait {sent.retry_after}s before requesting a new code.",
                           code="verification_code_cooldown", status=429, title=NOT_SENT,
                           extra={"retryAfterSeconds": sent.retry_after},
                           headers={"Retry-After": str(sent.retry_after)})
    return Response(status_code=204)


@router.post(VERIFICATION + "/verify", operation_id="profile_verify_address", status_code=204,
             responses={422: {"description": "The code does not verify the address"}})
async def verify(body: schemas.AddressVerificationRequest, person: Person, runtime: RuntimeDep) -> Response:
    if not await addresses.verify_address(runtime.database, runtime.settings, _pid(person), body):
        raise InvalidInput("The given verification code does not validate for the given address.",
                           code="verification_failed", status=422, title="Address could not be verified")
    return Response(status_code=204)


@router.get(BASE + "/organizations/{orgnr}/notificationaddresses/mandatory",
            operation_id="profile_organization_notification_addresses")
async def organization_addresses(orgnr: Annotated[str, Path(pattern=r"^[0-9]{9}$")], person: Person,
                                 runtime: RuntimeDep) -> schemas.OrganizationResponse:
    """An organisation's own notification addresses, for a person who may act for it."""
    return await addresses.organization_addresses(runtime.database, _pid(person), orgnr)
