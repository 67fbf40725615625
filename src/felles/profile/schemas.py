"""API models of Altinn Profile (`/profile/api/v1`), with its JSON field names, and the inbox's saved searches."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

# Altinn Profile's address rules: e-mail as RFC 5321 allows in length, a phone number in international form.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
PHONE_PATTERN = re.compile(r"^\+[1-9][0-9]{7,14}$")
RESOURCE_PATTERN = re.compile(r"^urn:altinn:resource:[a-z0-9_-]{4,}$")
MAX_RESOURCES = 100


class AddressType(StrEnum):
    EMAIL = "Email"
    SMS = "Sms"


class VerificationStatus(StrEnum):
    LEGACY = "Legacy"
    VERIFIED = "Verified"
    UNVERIFIED = "Unverified"


class Language(StrEnum):
    NB = "nb"
    NN = "nn"
    EN = "en"


def check_address(address_type: AddressType, value: str) -> str:
    """An e-mail address or phone number as Profile accepts it, or ValueError."""
    pattern = EMAIL_PATTERN if address_type is AddressType.EMAIL else PHONE_PATTERN
    if not pattern.match(value.strip()):
        raise ValueError("not a valid e-mail address" if address_type is AddressType.EMAIL
                         else "not a valid phone number in international form (+4799999999)")
    return value.strip()


# --- the user -------------------------------------------------------------------------------------------------
class ProfileSettingPreference(BaseModel):
    language: str | None = None
    preSelectedPartyId: int = 0
    doNotPromptForParty: bool = False
    preselectedPartyUuid: uuid.UUID | None = None
    showClientUnits: bool = False
    shouldShowSubEntities: bool = False
    shouldShowDeletedEntities: bool = False


class Person(BaseModel):
    """Register's `Person`, as Profile embeds it in the user's party."""

    ssn: str
    name: str
    firstName: str
    middleName: str | None = None
    lastName: str
    telephoneNumber: str | None = None
    mobileNumber: str | None = None
    mailingAddress: str | None = None
    mailingPostalCode: str | None = None
    mailingPostalCity: str | None = None
    addressMunicipalNumber: str | None = None
    addressMunicipalName: str | None = None
    addressStreetName: str | None = None
    addressHouseNumber: str | None = None
    addressHouseLetter: str | None = None
    addressPostalCode: str | None = None
    addressCity: str | None = None
    dateOfDeath: str | None = None


class Party(BaseModel):
    partyId: int
    partyUuid: uuid.UUID
    partyTypeName: int  # Register's PartyType: 1 Person, 2 Organisation, 3 SelfIdentified, 4 SubUnit
    orgNumber: str | None = None
    ssn: str | None = None
    unitType: str | None = None
    name: str
    isDeleted: bool = False
    onlyHierarchyElementWithNoAccess: bool = False
    person: Person | None = None


class UserProfile(BaseModel):
    """`users/current`: who is logged in, their KRR contact details and their settings."""

    userId: int
    userUuid: uuid.UUID
    userName: str
    externalIdentity: str = ""
    isReserved: bool
    phoneNumber: str | None = None
    email: str | None = None
    partyId: int
    party: Party
    userType: int = 1  # SSNIdentified
    profileSettingPreference: ProfileSettingPreference


class ProfileSettingsPatch(BaseModel):
    """`ProfileSettingsPatchRequest`: only the fields given change; `preselectedPartyUuid: null` clears it."""

    model_config = ConfigDict(extra="forbid")

    language: Language | None = None
    doNotPromptForParty: bool | None = None
    preselectedPartyUuid: uuid.UUID | None = None
    showClientUnits: bool | None = None
    shouldShowSubEntities: bool | None = None
    shouldShowDeletedEntities: bool | None = None

    @field_validator("language", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class ProfileSettingsPut(ProfileSettingsPatch):
    """`ProfileSettingPutRequest`: every setting given (the pre-selected party may be null)."""

    language: Language
    doNotPromptForParty: bool
    preselectedPartyUuid: uuid.UUID | None = None
    showClientUnits: bool
    shouldShowSubEntities: bool
    shouldShowDeletedEntities: bool


# --- party groups -----------------------------------------------------------------------------------------------
class GroupResponse(BaseModel):
    groupId: int
    name: str
    isFavorite: bool
    parties: list[uuid.UUID]


# --- notification settings per party ----------------------------------------------------------------------------
Resource = Annotated[str, StringConstraints(pattern=RESOURCE_PATTERN.pattern)]


class NotificationSettingsRequest(BaseModel):
    """PUT and PATCH of `notificationsettings/parties/{partyUuid}`. On PATCH only the fields given change (an
    empty or null address removes it); PUT replaces the whole setting. E-mail or phone must remain."""

    model_config = ConfigDict(extra="forbid")

    emailAddress: str | None = Field(default=None, max_length=320)
    phoneNumber: str | None = Field(default=None, max_length=20)
    resourceIncludeList: list[Resource] | None = Field(default=None, max_length=MAX_RESOURCES)

    @field_validator("emailAddress")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_address(AddressType.EMAIL, value) if value else None

    @field_validator("phoneNumber")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return check_address(AddressType.SMS, value) if value else None

    @field_validator("resourceIncludeList")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("resourceIncludeList cannot contain duplicates")
        return value


class NotificationSettingsResponse(BaseModel):
    userId: int
    partyUuid: uuid.UUID
    emailAddress: str | None = None
    phoneNumber: str | None = None
    resourceIncludeList: list[str] | None = None
    needsConfirmation: bool = False
    emailVerificationStatus: VerificationStatus | None = None
    smsVerificationStatus: VerificationStatus | None = None


# --- address verification ---------------------------------------------------------------------------------------
class AddressCodeSendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=5, max_length=320)
    type: AddressType

    @model_validator(mode="after")
    def _valid_address(self) -> AddressCodeSendRequest:
        self.value = check_address(self.type, self.value)
        return self


class AddressVerificationRequest(AddressCodeSendRequest):
    verificationCode: str = Field(pattern=r"^\d{6}$")


class VerifiedAddressResponse(BaseModel):
    value: str
    type: AddressType


# --- an organisation's own notification addresses (Enhetsregisteret's, as Profile keeps them) ----------------
class NotificationAddressResponse(BaseModel):
    notificationAddressId: int
    countryCode: str | None = None
    email: str | None = None
    phone: str | None = None


class OrganizationResponse(BaseModel):
    organizationNumber: str
    notificationAddresses: list[NotificationAddressResponse]


# --- the inbox's saved searches (Arbeidsflate keeps them in its own back end) ------------------------------------
class SearchFilter(BaseModel):
    id: str | None = Field(default=None, max_length=200)
    value: str | None = Field(default=None, max_length=500)


class SavedSearchData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    searchString: str | None = Field(default=None, max_length=500)
    fromView: str | None = Field(default=None, max_length=200)
    urn: list[Annotated[str, StringConstraints(max_length=200)]] | None = Field(default=None, max_length=100)
    filters: list[SearchFilter] | None = Field(default=None, max_length=100)


class SavedSearchPublic(BaseModel):
    id: int
    name: str
    data: SavedSearchData
    createdAt: str
    updatedAt: str


# The operations of `setPreSelectedParty`.
PreselectOperation = Literal["set", "unset"]
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._@-]{5,63}$", re.IGNORECASE)
