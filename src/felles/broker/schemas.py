"""API models of the broker, with Altinn Broker's JSON field names (its `*Ext` models) and statuses.

Altinn's API is ASP.NET's, which reads JSON property names case-insensitively: its own Bruno collection sends
`"MaxFileTransferSize"` where the OpenAPI says `maxFileTransferSize`. Request models here read both.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ORGANIZATION_URN = "urn:altinn:organization:identifier-no:"
LEGACY_ORGANIZATION_PREFIX = "0192:"
_ORGANIZATION = re.compile(r"^(?:0192:|urn:altinn:organization:identifier-no:)(\d{9})$")
_DURATION = re.compile(r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
MAX_PROPERTIES = 10


class FileTransferStatus(StrEnum):
    INITIALIZED = "Initialized"
    UPLOAD_STARTED = "UploadStarted"
    UPLOAD_PROCESSING = "UploadProcessing"
    PUBLISHED = "Published"
    CANCELLED = "Cancelled"
    ALL_CONFIRMED_DOWNLOADED = "AllConfirmedDownloaded"
    PURGED = "Purged"
    FAILED = "Failed"


class RecipientFileTransferStatus(StrEnum):
    INITIALIZED = "Initialized"
    DOWNLOAD_STARTED = "DownloadStarted"
    DOWNLOAD_CONFIRMED = "DownloadConfirmed"


class Role(StrEnum):
    """Which side of a transfer a search looks at."""

    SENDER = "Sender"
    RECIPIENT = "Recipient"
    BOTH = "Both"


def organization_number(value: str) -> str:
    """The organisation number in `0192:<orgnr>` or `urn:altinn:organization:identifier-no:<orgnr>`."""
    found = _ORGANIZATION.match(value.strip())
    if found is None:
        raise ValueError(f"{value!r} is not an organisation (0192:<orgnr> or {ORGANIZATION_URN}<orgnr>)")
    return found.group(1)


def duration_seconds(value: str) -> float:
    """An ISO 8601 duration (`P30D`, `PT2H`) in seconds; years count 365 days and months 30."""
    found = _DURATION.match(value)
    if found is None:
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P30D or PT2H")
    years, months, weeks, days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return float((((years * 365 + months * 30 + weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds)


class _CaseInsensitiveRequest(BaseModel):
    """A request body whose property names may start with a capital, as ASP.NET accepts them."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _camel_case(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {(key[:1].lower() + key[1:]) if isinstance(key, str) else key: value for key, value in data.items()}
        return data


class FileTransferInitialize(_CaseInsensitiveRequest):
    """Altinn's `FileTransferInitalizeExt`: the metadata of a file transfer, before its file."""

    fileName: str = Field(min_length=1, max_length=255, description="The filename including extension")
    resourceId: str = Field(min_length=1, max_length=255, description="The Altinn resource ID")
    sendersFileTransferReference: str | None = Field(default=None, min_length=1, max_length=4096)
    sender: str = Field(min_length=1, description="The sender organisation: 0192:<orgnr> or its URN")
    recipients: list[str] = Field(min_length=1, max_length=500, description="The recipient organisations")
    propertyList: dict[str, str] | None = Field(default=None, description="Up to ten key-value pairs")
    checksum: str | None = Field(default=None, description="MD5 checksum of the file (hex)")
    disableVirusScan: bool | None = None

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        organization_number(value)
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, values: list[str]) -> list[str]:
        for value in values:
            organization_number(value)
        return values

    @field_validator("propertyList")
    @classmethod
    def _properties(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if len(value) > MAX_PROPERTIES:
            raise ValueError(f"at most {MAX_PROPERTIES} properties")
        for key, text in value.items():
            if not 1 <= len(key) <= 50 or len(text) > 300:
                raise ValueError("property names are 1-50 characters and values at most 300")
        return value

    @field_validator("checksum")
    @classmethod
    def _checksum(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", value):
            raise ValueError("an MD5 checksum is 32 hexadecimal digits")
        return value.lower() if value is not None else None


class FileTransferInitializeResponse(BaseModel):
    fileTransferId: uuid.UUID


class RecipientFileTransferStatusDetails(BaseModel):
    recipient: str
    currentRecipientFileTransferStatusCode: RecipientFileTransferStatus
    currentRecipientFileTransferStatusText: str
    currentRecipientFileTransferStatusChanged: datetime


class FileTransferOverview(BaseModel):
    """Altinn's `FileTransferOverviewExt`."""

    fileTransferId: uuid.UUID
    resourceId: str
    fileName: str
    sendersFileTransferReference: str | None
    checksum: str | None
    useVirusScan: bool
    fileTransferSize: int
    fileTransferStatus: FileTransferStatus
    fileTransferStatusText: str
    fileTransferStatusChanged: datetime
    created: datetime
    expirationTime: datetime
    sender: str
    recipients: list[RecipientFileTransferStatusDetails]
    propertyList: dict[str, str]


class FileTransferStatusEvent(BaseModel):
    fileTransferStatus: FileTransferStatus
    fileTransferStatusText: str
    fileTransferStatusChanged: datetime


class RecipientFileTransferStatusEvent(BaseModel):
    recipient: str
    recipientFileTransferStatusCode: RecipientFileTransferStatus
    recipientFileTransferStatusText: str
    recipientFileTransferStatusChanged: datetime


class FileTransferDetails(FileTransferOverview):
    """Altinn's `FileTransferStatusDetailsExt`: the overview with the status history of the transfer and of
    each recipient."""

    fileTransferStatusHistory: list[FileTransferStatusEvent]
    recipientFileTransferStatusHistory: list[RecipientFileTransferStatusEvent]


class ResourceConfiguration(_CaseInsensitiveRequest):
    """Altinn's `ResourceExt`: the broker settings of a resource. Durations are ISO 8601 (`P30D`, `PT2H`)."""

    maxFileTransferSize: int | None = Field(default=None, ge=1, description="The largest file in bytes")
    fileTransferTimeToLive: str | None = Field(default=None, description="How long a transfer lives, e.g. P30D")
    purgeFileTransferAfterAllRecipientsConfirmed: bool | None = None
    purgeFileTransferGracePeriod: str | None = Field(default=None, description="At most PT24H; default PT2H")
    useManifestFileShim: bool | None = None
    externalServiceCodeLegacy: str | None = Field(default=None, max_length=100)
    externalServiceEditionCodeLegacy: int | None = None
    requiredParty: str | None = Field(default=None, max_length=100)

    @field_validator("fileTransferTimeToLive", "purgeFileTransferGracePeriod")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class ServiceOwnerInitialize(_CaseInsensitiveRequest):
    """Altinn's `ServiceOwnerInitializeExt`."""

    name: str = Field(min_length=1, max_length=255)
    deletionTime: str | None = None

    @field_validator("deletionTime")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class StorageProvider(BaseModel):
    type: str
    deploymentStatus: str
    deploymentEnvironment: str


class ServiceOwnerOverview(BaseModel):
    name: str
    storageProviders: list[StorageProvider]
