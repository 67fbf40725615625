"""Notification addresses: the e-mail address and mobile number a person wants notices for a party at, the
addresses they proved to hold with a code. (The lookup Varsling makes of them is `service.user_contact_points`.)

Verification follows Altinn Profile: a six-digit code goes to the address (e-mail or SMS, through Varsling); only
its keyed hash is stored; it lives `CODE_LIFETIME`, allows `MAX_FAILED_ATTEMPTS` wrong tries, and a new one is
sent no sooner than `RESEND_COOLDOWN` after the last; a person has at most `MAX_LIVE_CODES` live codes at once. An
address must be verified before it can be a party's notification address.

The code goes out as a Varsling order that this component places in its own transaction, as a job of Varsling's
kind `notifications.order` (a name, not an import: Varsling asks this component for addresses, and an import
each way would make a circle).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import service as authorization
from felles.core import audit
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.core.i18n import translate
from felles.core.ids import uuid7
from felles.core.jobs import enqueue
from felles.profile import schemas
from felles.profile.models import PartyNotificationSetting, ProfileSettings, VerificationCode, VerifiedAddress
from felles.profile.service import acting_parties, acting_party, actor_of, once_more_on_conflict
from felles.registers import service as registers

CODE_LIFETIME = timedelta(minutes=15)
RESEND_COOLDOWN = timedelta(seconds=60)
MAX_FAILED_ATTEMPTS = 5
# Live codes one person may have at once, across addresses: each sends a message to someone, so a person cannot
# make Varsling send to a long list of addresses.
MAX_LIVE_CODES = 10
NOTIFICATION_ORDER_JOB = "notifications.order"  # Varsling's job kind for orders placed by other components
ORDER_CREATOR = "felles-profile"
ADDRESSES_AUDIT = "profile.notification_addresses"


def normalized(address: str) -> str:
    """Addresses are compared trimmed and in lower case, as Altinn Profile stores them."""
    return address.strip().lower()


# --- verification --------------------------------------------------------------------------------------------------
def _code_hash(settings: Settings, code_id: uuid.UUID, code: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeSent:
    """What became of a request for a code: `sent`, `already_verified`, or `cooldown` with the seconds left."""

    status: str
    retry_after: int = 0


async def _is_verified(session: AsyncSession, person: str, address_type: str, address: str) -> bool:
    return await session.get(VerifiedAddress, (person, address_type, normalized(address))) is not None


def _order(language: str, address_type: schemas.AddressType, address: str, code: str,
           code_id: uuid.UUID) -> dict[str, Any]:
    """The Varsling order (`OrderChainCreate`) that carries the code to the address, in the person's language."""
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    text = translate("profile.verification.message", language, code=code, minutes=minutes)
    if address_type is schemas.AddressType.EMAIL:
        recipient: dict[str, Any] = {"recipientEmail": {"emailAddress": address, "emailSettings": {
            "subject": translate("profile.verification.subject", language), "body": text,
            "sendingTimePolicy": "Anytime"}}}
    else:
        recipient = {"recipientSms": {"phoneNumber": address, "smsSettings": {
            "sender": "Altinn", "body": text, "sendingTimePolicy": "Anytime"}}}
    return {"idempotencyId": f"profile-verification-{code_id}", "sendersReference": "address-verification",
            "recipient": recipient}


async def send_verification_code(database: Database, settings: Settings, person: str,
                                 request: schemas.AddressCodeSendRequest) -> CodeSent:
    """Send a new code to the address (`users/current/verification/send`); an earlier code stops working."""
    address, address_type = normalized(request.value), request.type.value
    now = utcnow()
    code, code_id = f"{secrets.randbelow(1_000_000):06d}", uuid7()
    try:
        async with database.transaction() as session:
            if await _is_verified(session, person, address_type, address):
                return CodeSent("already_verified")
            existing = await session.scalar(select(VerificationCode).where(
                VerificationCode.person == person, VerificationCode.address_type == address_type,
                VerificationCode.address == address).with_for_update())
            if existing is not None:
                waited = now - existing.created_at
                if waited < RESEND_COOLDOWN:
                    return CodeSent("cooldown", max(1, int((RESEND_COOLDOWN - waited).total_seconds())))
                await session.delete(existing)
                await session.flush()
            live = list(await session.scalars(select(VerificationCode.expires_at).where(
                VerificationCode.person == person, VerificationCode.expires_at > now)
                .order_by(VerificationCode.expires_at)))
            if len(live) >= MAX_LIVE_CODES:
                return CodeSent("cooldown", max(1, int((live[0] - now).total_seconds())))
            session.add(VerificationCode(id=code_id, person=person, address_type=address_type, address=address,
                                         code_hash=_code_hash(settings, code_id, code), failed_attempts=0,
                                         created_at=now, expires_at=now + CODE_LIFETIME))
            language = await session.scalar(select(ProfileSettings.language)
                                            .where(ProfileSettings.person == person))
            await enqueue(session, NOTIFICATION_ORDER_JOB, {
                "creator": ORDER_CREATOR, "order": _order(language or "nb", request.type, address, code, code_id)})
            await audit.record(session, actor_of(person), action="create", resource=ADDRESSES_AUDIT,
                               subjects=[person], detail={"verification_code_for": address_type})
    except IntegrityError:
        # Another request for the same address stored its code at the same moment: that one goes out.
        return CodeSent("cooldown", int(RESEND_COOLDOWN.total_seconds()))
    return CodeSent("sent")


async def verify_address(database: Database, settings: Settings, person: str,
                         request: schemas.AddressVerificationRequest) -> bool:
    """Check a code (`users/current/verification/verify`): True verifies the address. A wrong code counts
    against the code's tries; an expired or spent code never verifies."""
    address, address_type = normalized(request.value), request.type.value
    async with database.transaction() as session:
        stored = await session.scalar(select(VerificationCode).where(
            VerificationCode.person == person, VerificationCode.address_type == address_type,
            VerificationCode.address == address).with_for_update())
        if stored is None or stored.expires_at <= utcnow() or stored.failed_attempts >= MAX_FAILED_ATTEMPTS:
            return False
        if not hmac.compare_digest(stored.code_hash, _code_hash(settings, stored.id, request.verificationCode)):
            stored.failed_attempts += 1
            return False
        await session.delete(stored)
        if not await _is_verified(session, person, address_type, address):
            session.add(VerifiedAddress(person=person, address_type=address_type, address=address,
                                        verified_at=utcnow()))
        await audit.record(session, actor_of(person), action="update", resource=ADDRESSES_AUDIT, subjects=[person],
                           detail={"verified": address_type})
    return True


async def verified_addresses(database: Database, person: str) -> list[schemas.VerifiedAddressResponse]:
    async with database.transaction() as session:
        rows = await session.execute(select(VerifiedAddress.address_type, VerifiedAddress.address)
                                     .where(VerifiedAddress.person == person)
                                     .order_by(VerifiedAddress.address_type, VerifiedAddress.address))
        return [schemas.VerifiedAddressResponse(value=address, type=schemas.AddressType(kind))
                for kind, address in rows]


# --- notification settings per party -------------------------------------------------------------------------------
async def _status(session: AsyncSession, person: str, address_type: str,
                  address: str | None) -> schemas.VerificationStatus | None:
    if not address:
        return None
    verified = await _is_verified(session, person, address_type, address)
    return schemas.VerificationStatus.VERIFIED if verified else schemas.VerificationStatus.UNVERIFIED


async def _setting(session: AsyncSession, user_id: int, row: PartyNotificationSetting
                   ) -> schemas.NotificationSettingsResponse:
    return schemas.NotificationSettingsResponse(
        userId=user_id, partyUuid=row.party_uuid, emailAddress=row.email, phoneNumber=row.phone,
        resourceIncludeList=list(row.resources),
        emailVerificationStatus=await _status(session, row.person, schemas.AddressType.EMAIL.value, row.email),
        smsVerificationStatus=await _status(session, row.person, schemas.AddressType.SMS.value, row.phone))


async def _user_id(database: Database, person: str) -> int:
    party = await authorization.party_of(database, person)
    return party.user_id or party.party_id


async def notification_settings(database: Database, person: str) -> list[schemas.NotificationSettingsResponse]:
    """Every party's notification addresses the person registered (`notificationsettings/parties`)."""
    user_id = await _user_id(database, person)
    async with database.transaction() as session:
        rows = await session.scalars(select(PartyNotificationSetting).where(PartyNotificationSetting.person == person)
                                     .order_by(PartyNotificationSetting.created_at))
        found = [await _setting(session, user_id, row) for row in rows]
        await audit.record(session, actor_of(person), action="read", resource=ADDRESSES_AUDIT, subjects=[person])
    return found


async def notification_setting(database: Database, person: str,
                               party_uuid: uuid.UUID) -> schemas.NotificationSettingsResponse:
    await acting_party(database, person, party_uuid)
    user_id = await _user_id(database, person)
    async with database.transaction() as session:
        row = await session.get(PartyNotificationSetting, (person, party_uuid))
        if row is None:
            raise NotFound("Notification addresses not found for the specified user and party.",
                           code="notification_setting_not_found")
        return await _setting(session, user_id, row)


async def save_notification_setting(database: Database, person: str, party_uuid: uuid.UUID,
                                    request: schemas.NotificationSettingsRequest, *, replace: bool) -> bool:
    """Set the person's addresses for a party they may act for: `replace` (PUT) sets every field, else (PATCH)
    only the fields given. Each address must be verified. True when the setting is new."""
    party = await acting_party(database, person, party_uuid)
    given = request.model_dump(exclude_unset=True) if not replace else request.model_dump()
    async def write() -> bool:
        now = utcnow()
        async with database.transaction() as session:
            for field, address_type in (("emailAddress", schemas.AddressType.EMAIL),
                                        ("phoneNumber", schemas.AddressType.SMS)):
                if given.get(field) and not await _is_verified(session, person, address_type.value, given[field]):
                    raise InvalidInput(f"Provided {'email address' if field == 'emailAddress' else 'phone number'} "
                                       "is not verified.", code="address_not_verified", status=422)
            row = await session.get(PartyNotificationSetting, (person, party_uuid), with_for_update=True)
            created = row is None
            if row is None:
                row = PartyNotificationSetting(person=person, party_uuid=party_uuid, party=party.identifier,
                                               resources=[], created_at=now)
                session.add(row)
            if "emailAddress" in given:
                row.email = normalized(given["emailAddress"]) if given["emailAddress"] else None
            if "phoneNumber" in given:
                row.phone = given["phoneNumber"] or None
            if "resourceIncludeList" in given:
                row.resources = list(given["resourceIncludeList"] or [])
            if not row.email and not row.phone:
                raise InvalidInput("The notification setting for a party must include either emailAddress, "
                                   "phoneNumber, or both.", code="address_required")
            row.party, row.updated_at = party.identifier, now
            await audit.record(session, actor_of(person), action="update", resource=ADDRESSES_AUDIT,
                               subjects=[person, party.identifier])
        return created

    return await once_more_on_conflict(write)


async def delete_notification_setting(database: Database, person: str, party_uuid: uuid.UUID) -> None:
    async with database.transaction() as session:
        result = await session.execute(delete(PartyNotificationSetting).where(
            PartyNotificationSetting.person == person, PartyNotificationSetting.party_uuid == party_uuid))
        if not int(getattr(result, "rowcount", 0) or 0):
            raise NotFound("Notification addresses not found for the specified user and party.",
                           code="notification_setting_not_found")
        await audit.record(session, actor_of(person), action="delete", resource=ADDRESSES_AUDIT, subjects=[person])


async def organization_addresses(database: Database, person: str,
                                 organization_number: str) -> schemas.OrganizationResponse:
    """An organisation's own notification addresses (from Enhetsregisteret), for a person who may act for it."""
    if organization_number not in {party.identifier for party in (await acting_parties(database, person)).values()}:
        raise NotFound("No notification addresses for that organisation among the parties you may act for.",
                       code="organization_not_found")
    found = (await registers.organization_notification_addresses(database, [organization_number])).get(
        organization_number)
    addresses = []
    if found is not None:
        if found["email"]:
            addresses.append(schemas.NotificationAddressResponse(notificationAddressId=1, email=found["email"]))
        if found["mobile"]:
            mobile = str(found["mobile"])
            country, phone = ("+47", mobile.removeprefix("+47")) if mobile.startswith("+47") else (None, mobile)
            addresses.append(schemas.NotificationAddressResponse(notificationAddressId=2, countryCode=country,
                                                                 phone=phone))
    return schemas.OrganizationResponse(organizationNumber=organization_number, notificationAddresses=addresses)
