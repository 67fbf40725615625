"""The Correspondence API's models, with the field names, enums and statuses of Altinn's Correspondence API v1
(`InitializeCorrespondencesExt`, `CorrespondenceOverviewExt` ...).

Altinn's API is ASP.NET, which reads JSON property names case-insensitively (Altinn's own Bruno collection sends
`Recipients`, `IgnoreReservation`, `SendReminder`) and enums by name or by number (`"notificationChannel": 3`);
the request models here read them the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

PERSON_URN = "urn:altinn:person:identifier-no:"
ORGANIZATION_URN = "urn:altinn:organization:identifier-no:"
MAX_RECIPIENTS = 500
MAX_ATTACHMENTS = 100
MAX_PROPERTIES = 10


class CorrespondenceStatus(StrEnum):
    """Altinn's `CorrespondenceStatusExt`."""

    INITIALIZED = "Initialized"
    READY_FOR_PUBLISH = "ReadyForPublish"
    PUBLISHED = "Published"
    FETCHED = "Fetched"
    READ = "Read"
    REPLIED = "Replied"
    CONFIRMED = "Confirmed"
    PURGED_BY_RECIPIENT = "PurgedByRecipient"
    PURGED_BY_ALTINN = "PurgedByAltinn"
    ARCHIVED = "Archived"
    RESERVED = "Reserved"
    FAILED = "Failed"
    ATTACHMENTS_DOWNLOADED = "AttachmentsDownloaded"


class AttachmentStatus(StrEnum):
    """Altinn's `AttachmentStatusExt`."""

    INITIALIZED = "Initialized"
    UPLOAD_PROCESSING = "UploadProcessing"
    PUBLISHED = "Published"
    PURGED = "Purged"
    FAILED = "Failed"
    EXPIRED = "Expired"


class Language(StrEnum):
    NB = "nb"
    NN = "nn"
    EN = "en"


class NotificationTemplate(StrEnum):
    """`NotificationTemplateExt` (0, 1): the sender's own texts, or Altinn's standard notice."""

    CUSTOM_MESSAGE = "CustomMessage"
    GENERIC_ALTINN_MESSAGE = "GenericAltinnMessage"


class NotificationChannel(StrEnum):
    """`NotificationChannelExt` (0-4)."""

    EMAIL = "Email"
    SMS = "Sms"
    EMAIL_PREFERRED = "EmailPreferred"
    SMS_PREFERRED = "SmsPreferred"
    EMAIL_AND_SMS = "EmailAndSms"


class ReferenceType(StrEnum):
    """`ReferenceTypeExt` (0-6)."""

    GENERIC = "Generic"
    ALTINN_APP_INSTANCE = "AltinnAppInstance"
    ALTINN_BROKER_FILE_TRANSFER = "AltinnBrokerFileTransfer"
    DIALOGPORTEN_DIALOG_ID = "DialogportenDialogId"
    DIALOGPORTEN_PROCESS_ID = "DialogportenProcessId"
    DIALOGPORTEN_TRANSMISSION_ID = "DialogportenTransmissionId"
    DIALOGPORTEN_TRANSMISSION_TYPE = "DialogportenTransmissionType"


def _dotnet_enum(enum: type[StrEnum]) -> Any:
    """An enum read as .NET reads it: by number (its position) or by name, case-insensitively."""
    members = list(enum)

    def read(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            index = int(value)
            return members[index] if 0 <= index < len(members) else value
        if isinstance(value, str):
            for member in members:
                if member.value.lower() == value.strip().lower():
                    return member
        return value

    return BeforeValidator(read)


class AltinnModel(BaseModel):
    """A request model that reads property names case-insensitively and ignores unknown ones, as ASP.NET does."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {name.lower(): name for name in cls.model_fields}
        return {names.get(str(key).lower(), key): value for key, value in data.items()}


class ExternalReference(AltinnModel):
    referenceValue: str = Field(min_length=1, max_length=500)
    referenceType: Annotated[ReferenceType, _dotnet_enum(ReferenceType)] = ReferenceType.GENERIC


class ReplyOption(AltinnModel):
    """A link the recipient may answer through (`CorrespondenceReplyOptionExt`)."""

    linkURL: str = Field(min_length=1, max_length=255)
    linkText: str | None = Field(default=None, max_length=255)


class NotificationRequest(AltinnModel):
    """`InitializeCorrespondenceNotificationExt`: a notice (and maybe a reminder) by e-mail or SMS. Texts may use
    `$recipientName$`, `$recipientNumber$` and `$sendersName$`."""

    notificationTemplate: Annotated[NotificationTemplate, _dotnet_enum(NotificationTemplate)]
    emailSubject: str | None = Field(default=None, max_length=512)
    emailBody: str | None = Field(default=None, max_length=10_000)
    smsBody: str | None = Field(default=None, max_length=2144)
    sendReminder: bool = False
    reminderEmailSubject: str | None = Field(default=None, max_length=512)
    reminderEmailBody: str | None = Field(default=None, max_length=10_000)
    reminderSmsBody: str | None = Field(default=None, max_length=2144)
    notificationChannel: Annotated[NotificationChannel, _dotnet_enum(NotificationChannel)] = NotificationChannel.EMAIL
    reminderNotificationChannel: Annotated[NotificationChannel | None, _dotnet_enum(NotificationChannel)] = None
    sendersReference: str | None = Field(default=None, max_length=200)
    requestedSendTime: datetime | None = None


class AttachmentCreate(AltinnModel):
    """A new attachment of a correspondence (`InitializeCorrespondenceAttachmentExt`); its bytes come in the
    same multipart request (`/correspondence/upload`), in order."""

    fileName: str = Field(min_length=1, max_length=255)
    displayName: str | None = Field(default=None, max_length=255)
    isEncrypted: bool = False
    checksum: str | None = Field(default=None, max_length=64)
    sendersReference: str = Field(min_length=1, max_length=4096)
    expirationTime: datetime | None = None


class ContentCreate(AltinnModel):
    language: Annotated[Language, _dotnet_enum(Language)] = Language.NB
    messageTitle: str = Field(min_length=1, max_length=255)
    messageSummary: str | None = Field(default=None, max_length=255)
    messageBody: str = Field(min_length=1, max_length=30_000, description="Plain text or markdown (no HTML)")
    attachments: list[AttachmentCreate] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class CorrespondenceCreate(AltinnModel):
    """`BaseCorrespondenceExt`: what every recipient of one request gets."""

    resourceId: str = Field(min_length=1, max_length=255)
    sender: str | None = Field(default=None, max_length=100, description="Deprecated: the token says who sends")
    sendersReference: str = Field(min_length=1, max_length=4096)
    messageSender: str | None = Field(default=None, max_length=256,
                                      description="The name shown as the sender (sending on behalf of)")
    content: ContentCreate
    requestedPublishTime: datetime | None = None
    allowSystemDeleteAfter: datetime | None = None
    dueDateTime: datetime | None = None
    externalReferences: list[ExternalReference] = Field(default_factory=list, max_length=50)
    propertyList: dict[str, str] = Field(default_factory=dict)
    replyOptions: list[ReplyOption] = Field(default_factory=list, max_length=20)
    notification: NotificationRequest | None = None
    ignoreReservation: bool | None = False
    isConfirmationNeeded: bool = False
    isConfidential: bool = False
    allowForwarding: bool = True


class CorrespondencesCreate(AltinnModel):
    """`InitializeCorrespondencesExt`: one correspondence to each of up to 500 recipients."""

    correspondence: CorrespondenceCreate
    recipients: list[str] = Field(min_length=1, max_length=MAX_RECIPIENTS, examples=[[ORGANIZATION_URN + "310244007"]],
                                  description="urn:altinn:organization:identifier-no:{orgnr} or "
                                              "urn:altinn:person:identifier-no:{fødselsnummer}")
    existingAttachments: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    idempotentKey: uuid.UUID | None = None


class InitializedNotification(BaseModel):
    orderId: uuid.UUID
    isReminder: bool
    status: str


class InitializedCorrespondence(BaseModel):
    correspondenceId: uuid.UUID
    status: CorrespondenceStatus
    recipient: str
    notifications: list[InitializedNotification] = Field(
        default_factory=list, description="Orders are placed when the correspondence is published; see details")


class CorrespondencesInitialized(BaseModel):
    """`InitializeCorrespondencesResponseExt`."""

    correspondences: list[InitializedCorrespondence]
    attachmentIds: list[uuid.UUID]


class StatusEventPublic(BaseModel):
    status: str
    statusText: str
    statusChanged: datetime


class CorrespondenceAttachmentPublic(BaseModel):
    id: uuid.UUID
    fileName: str
    displayName: str | None = None
    isEncrypted: bool
    checksum: str | None = None
    sendersReference: str
    dataLocationType: str = "AltinnCorrespondenceAttachment"
    status: AttachmentStatus
    statusText: str
    statusChanged: datetime
    created: datetime
    expirationTime: datetime | None = None


class ContentPublic(BaseModel):
    language: str
    messageTitle: str
    messageSummary: str | None = None
    messageBody: str
    attachments: list[CorrespondenceAttachmentPublic]


class NotificationPublic(BaseModel):
    """The notification order chain a correspondence placed with Altinn Notifications."""

    notificationOrderId: uuid.UUID
    shipmentId: uuid.UUID
    reminderShipmentId: uuid.UUID | None = None
    requestedSendTime: datetime
    created: datetime


class CorrespondenceOverview(BaseModel):
    """`CorrespondenceOverviewExt`."""

    correspondenceId: uuid.UUID
    status: CorrespondenceStatus
    statusText: str
    statusChanged: datetime
    resourceId: str
    sender: str = Field(examples=["0192:310244007"])
    sendersReference: str
    messageSender: str | None = None
    content: ContentPublic
    requestedPublishTime: datetime
    allowSystemDeleteAfter: datetime | None = None
    dueDateTime: datetime | None = None
    externalReferences: list[dict[str, str]]
    propertyList: dict[str, str]
    replyOptions: list[dict[str, str | None]]
    notifications: list[NotificationPublic]
    ignoreReservation: bool
    isConfirmationNeeded: bool
    isConfidential: bool
    allowForwarding: bool
    recipient: str
    created: datetime
    published: datetime | None = None


class CorrespondenceDetails(CorrespondenceOverview):
    """`CorrespondenceDetailsExt`: the overview with the whole status history."""

    statusHistory: list[StatusEventPublic]


class CorrespondenceIds(BaseModel):
    """`CorrespondencesExt`: the ids a list query found, newest first."""

    ids: list[uuid.UUID]


class AttachmentInitialize(AltinnModel):
    """`InitializeAttachmentExt`: an attachment to upload once and share among correspondences."""

    resourceId: str = Field(min_length=1, max_length=255)
    fileName: str = Field(min_length=1, max_length=255)
    displayName: str | None = Field(default=None, max_length=255)
    isEncrypted: bool = False
    checksum: str | None = Field(default=None, max_length=64)
    sendersReference: str = Field(min_length=1, max_length=4096)
    expirationTime: datetime | None = None


class AttachmentOverview(BaseModel):
    """`AttachmentOverviewExt`."""

    attachmentId: uuid.UUID
    resourceId: str
    fileName: str
    displayName: str | None = None
    isEncrypted: bool
    checksum: str | None = None
    sendersReference: str
    sender: str
    status: AttachmentStatus
    statusText: str
    statusChanged: datetime
    dataLocationType: str = "AltinnCorrespondenceAttachment"
    correspondenceIds: list[uuid.UUID]
    expirationTime: datetime | None = None


class AttachmentDetails(AttachmentOverview):
    """`AttachmentDetailsExt`: the overview with the status history."""

    statusHistory: list[StatusEventPublic]
