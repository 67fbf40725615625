"""The API models of Dialogporten, named and shaped as its OpenAPI documents (v1.119) name them.

Only what a client sends is modelled (Dialogporten refuses unknown fields: `additionalProperties: false`); the
answers are built as JSON documents in `views`, field for field as Dialogporten writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, field_validator

from felles.registers.identifiers import is_valid_organization_number, is_valid_person_identifier

RESOURCE_PREFIX = "urn:altinn:resource:"
PERSON_PREFIX = "urn:altinn:person:identifier-no:"
ORGANIZATION_PREFIX = "urn:altinn:organization:identifier-no:"

SHORT_TEXT = 255
LONG_TEXT = 1023
# The languages Dialogporten takes (ISO 639 codes its localization validator knows); the platform's three first.
LANGUAGES = frozenset({"nb", "nn", "en", "se", "sv", "da", "de", "fr", "fi", "es", "pl", "lt", "uk", "ru"})


class DialogStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    DRAFT = "Draft"
    REQUIRES_ATTENTION = "RequiresAttention"
    COMPLETED = "Completed"
    NOT_APPLICABLE = "NotApplicable"
    AWAITING = "Awaiting"


class DialogStatusInput(StrEnum):
    """What a service owner may send; `New` and `Sent` are older names, stored as InProgress and Awaiting."""

    NEW = "New"
    IN_PROGRESS = "InProgress"
    DRAFT = "Draft"
    SENT = "Sent"
    REQUIRES_ATTENTION = "RequiresAttention"
    COMPLETED = "Completed"
    NOT_APPLICABLE = "NotApplicable"
    AWAITING = "Awaiting"


STATUS_ALIASES = {"New": "InProgress", "Sent": "Awaiting"}


class SystemLabel(StrEnum):
    DEFAULT = "Default"
    BIN = "Bin"
    ARCHIVE = "Archive"
    MARKED_AS_UNOPENED = "MarkedAsUnopened"
    SENT = "Sent"


# Default, Bin and Archive exclude each other (the dialog's folder); the others sit beside one of them.
FOLDER_LABELS = frozenset({SystemLabel.DEFAULT, SystemLabel.BIN, SystemLabel.ARCHIVE})


class ActivityType(StrEnum):
    DIALOG_CREATED = "DialogCreated"
    DIALOG_CLOSED = "DialogClosed"
    INFORMATION = "Information"
    TRANSMISSION_OPENED = "TransmissionOpened"
    PAYMENT_MADE = "PaymentMade"
    SIGNATURE_PROVIDED = "SignatureProvided"
    DIALOG_OPENED = "DialogOpened"
    DIALOG_DELETED = "DialogDeleted"
    DIALOG_RESTORED = "DialogRestored"
    SENT_TO_SIGNING = "SentToSigning"
    SENT_TO_FORM_FILL = "SentToFormFill"
    SENT_TO_SEND_IN = "SentToSendIn"
    SENT_TO_PAYMENT = "SentToPayment"
    FORM_SUBMITTED = "FormSubmitted"
    FORM_SAVED = "FormSaved"
    CORRESPONDENCE_OPENED = "CorrespondenceOpened"
    CORRESPONDENCE_CONFIRMED = "CorrespondenceConfirmed"


class TransmissionType(StrEnum):
    INFORMATION = "Information"
    ACCEPTANCE = "Acceptance"
    REJECTION = "Rejection"
    REQUEST = "Request"
    ALERT = "Alert"
    DECISION = "Decision"
    SUBMISSION = "Submission"
    CORRECTION = "Correction"


# How the label log names a system label (`systemlabel:Archive`).
LABEL_LOG_PREFIX = "systemlabel:"
# Transmissions of these types come from the party; the others from the service owner.
FROM_PARTY_TRANSMISSIONS = frozenset({TransmissionType.SUBMISSION, TransmissionType.CORRECTION})


class ActorType(StrEnum):
    PARTY_REPRESENTATIVE = "PartyRepresentative"
    SERVICE_OWNER = "ServiceOwner"


class GuiActionPriority(StrEnum):
    PRIMARY = "Primary"
    SECONDARY = "Secondary"
    TERTIARY = "Tertiary"


class HttpVerb(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
    OPTIONS = "OPTIONS"
    TRACE = "TRACE"
    CONNECT = "CONNECT"


class AttachmentUrlConsumerType(StrEnum):
    GUI = "Gui"
    API = "Api"


class DeletedFilter(StrEnum):
    EXCLUDE = "Exclude"
    INCLUDE = "Include"
    ONLY = "Only"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Localization(Strict):
    value: str = Field(min_length=1, max_length=4095)
    languageCode: str

    @field_validator("languageCode")
    @classmethod
    def _known_language(cls, value: str) -> str:
        code = value.lower().split("-")[0].split("_")[0]
        if code not in LANGUAGES:
            raise ValueError(f"'{value}' is not a language code Dialogporten knows (e.g. nb, nn, en)")
        return code


def _one_per_language(values: list[Localization] | None) -> list[Localization] | None:
    if values is not None and len({value.languageCode for value in values}) != len(values):
        raise ValueError("each language may appear only once")
    return values


class ContentValue(Strict):
    value: list[Localization] = Field(min_length=1)
    mediaType: str = "text/plain"

    @field_validator("value")
    @classmethod
    def _languages_once(cls, value: list[Localization]) -> list[Localization] | None:
        return _one_per_language(value)


class DialogContentCreate(Strict):
    """CreateDialogContent: `title` is required; summary, title and sender name are plain text."""

    title: ContentValue
    nonSensitiveTitle: ContentValue | None = None
    summary: ContentValue | None = None
    nonSensitiveSummary: ContentValue | None = None
    senderName: ContentValue | None = None
    additionalInfo: ContentValue | None = None
    extendedStatus: ContentValue | None = None
    mainContentReference: ContentValue | None = None


class TransmissionContentCreate(Strict):
    title: ContentValue
    summary: ContentValue | None = None
    contentReference: ContentValue | None = None


class Actor(Strict):
    actorType: ActorType
    actorName: str | None = Field(default=None, max_length=SHORT_TEXT)
    actorId: str | None = Field(default=None, max_length=SHORT_TEXT)


class AttachmentUrlCreate(Strict):
    id: uuid.UUID | None = None
    url: AnyUrl
    mediaType: str | None = Field(default=None, max_length=SHORT_TEXT)
    consumerType: AttachmentUrlConsumerType


class AttachmentCreate(Strict):
    id: uuid.UUID | None = None
    displayName: list[Localization] | None = None
    name: str | None = Field(default=None, max_length=SHORT_TEXT)
    urls: list[AttachmentUrlCreate] = Field(default_factory=list, min_length=1)
    expiresAt: datetime | None = None


class GuiActionCreate(Strict):
    id: uuid.UUID | None = None
    action: str = Field(min_length=1, max_length=SHORT_TEXT)
    url: AnyUrl
    authorizationAttribute: str | None = Field(default=None, max_length=SHORT_TEXT)
    isDeleteDialogAction: bool = False
    httpMethod: HttpVerb | None = None
    priority: GuiActionPriority
    title: list[Localization] | None = Field(default=None, min_length=1)
    prompt: list[Localization] | None = None


class ApiActionEndpointCreate(Strict):
    id: uuid.UUID | None = None
    version: str | None = Field(default=None, max_length=SHORT_TEXT)
    url: AnyUrl
    httpMethod: HttpVerb
    documentationUrl: AnyUrl | None = None
    requestSchema: AnyUrl | None = None
    responseSchema: AnyUrl | None = None
    deprecated: bool = False
    sunsetAt: datetime | None = None


class ApiActionCreate(Strict):
    id: uuid.UUID | None = None
    action: str = Field(min_length=1, max_length=SHORT_TEXT)
    authorizationAttribute: str | None = Field(default=None, max_length=SHORT_TEXT)
    name: str | None = Field(default=None, max_length=SHORT_TEXT)
    endpoints: list[ApiActionEndpointCreate] = Field(default_factory=list)


class ActivityCreate(Strict):
    id: uuid.UUID | None = None
    createdAt: datetime | None = None
    extendedType: AnyUrl | None = None
    type: ActivityType
    transmissionId: uuid.UUID | None = None
    performedBy: Actor
    description: list[Localization] | None = None


class NavigationalActionCreate(Strict):
    title: list[Localization] = Field(min_length=1)
    url: AnyUrl
    expiresAt: datetime | None = None


class TransmissionFields(Strict):
    """What a transmission is made of, as created and as replaced."""

    idempotentKey: str | None = Field(default=None, min_length=1, max_length=36)
    createdAt: datetime | None = None
    authorizationAttribute: str | None = Field(default=None, max_length=SHORT_TEXT)
    extendedType: AnyUrl | None = None
    externalReference: str | None = Field(default=None, max_length=SHORT_TEXT)
    relatedTransmissionId: uuid.UUID | None = None
    type: TransmissionType
    sender: Actor
    content: TransmissionContentCreate
    attachments: list[AttachmentCreate] = Field(default_factory=list)
    navigationalActions: list[NavigationalActionCreate] = Field(default_factory=list)


class TransmissionCreate(TransmissionFields):
    id: uuid.UUID | None = None


class TransmissionUpdate(TransmissionFields):
    """UpdateTransmissionRequest: the transmission as it should be; a silent update is no news for the end user
    (the dialog's content-updated time and the events stay as they were)."""

    isSilentUpdate: bool = False


class Label(Strict):
    value: str = Field(min_length=3, max_length=SHORT_TEXT)


class ServiceOwnerContextCreate(Strict):
    serviceOwnerLabels: list[Label] = Field(default_factory=list, max_length=20)


class DialogUpdate(Strict):
    """UpdateDialog: the whole dialog as it should be (PUT); what is not sent is removed. Activities and
    transmissions are appended: the ones already there stay."""

    progress: int | None = Field(default=None, ge=0, le=100)
    extendedStatus: str | None = Field(default=None, max_length=SHORT_TEXT)
    externalReference: str | None = Field(default=None, max_length=SHORT_TEXT)
    visibleFrom: datetime | None = None
    dueAt: datetime | None = None
    expiresAt: datetime | None = None
    isApiOnly: bool = False
    process: str | None = Field(default=None, max_length=SHORT_TEXT)
    precedingProcess: str | None = Field(default=None, max_length=SHORT_TEXT)
    status: DialogStatusInput | None = None
    content: DialogContentCreate | None = None
    searchTags: list[Label] = Field(default_factory=list)
    attachments: list[AttachmentCreate] = Field(default_factory=list)
    transmissions: list[TransmissionCreate] = Field(default_factory=list)
    guiActions: list[GuiActionCreate] = Field(default_factory=list)
    apiActions: list[ApiActionCreate] = Field(default_factory=list)
    activities: list[ActivityCreate] = Field(default_factory=list)


class DialogCreate(DialogUpdate):
    """CreateDialog."""

    id: uuid.UUID | None = None
    idempotentKey: str | None = Field(default=None, min_length=1, max_length=36)
    serviceResource: str = Field(max_length=SHORT_TEXT)
    party: str = Field(max_length=SHORT_TEXT)
    createdAt: datetime | None = None
    updatedAt: datetime | None = None
    systemLabel: SystemLabel | None = None
    serviceOwnerContext: ServiceOwnerContextCreate | None = None

    # Checked here too (not only in the service) so that one answer lists every broken rule, as Dialogporten's.
    @field_validator("serviceResource")
    @classmethod
    def _resource_urn(cls, value: str) -> str:
        if not value.startswith(RESOURCE_PREFIX):
            raise ValueError(f"'ServiceResource' must start with '{RESOURCE_PREFIX}'.")
        return value

    @field_validator("party")
    @classmethod
    def _party_urn(cls, value: str) -> str:
        for prefix, valid in ((PERSON_PREFIX, is_valid_person_identifier),
                              (ORGANIZATION_PREFIX, is_valid_organization_number)):
            if value.startswith(prefix) and valid(value.removeprefix(prefix)):
                return value
        raise ValueError(f"'Party' must be on format '{ORGANIZATION_PREFIX}{{norwegian org-nr}}' or "
                         f"'{PERSON_PREFIX}{{norwegian f-nr/d-nr}}' with valid values, respectively.")


class SystemLabelsSet(Strict):
    """SetDialogSystemLabelRequest: either the whole set (`systemLabels`) or what to add and remove."""

    systemLabels: list[SystemLabel] = Field(default_factory=list)
    addLabels: list[SystemLabel] = Field(default_factory=list)
    removeLabels: list[SystemLabel] = Field(default_factory=list)


class ServiceOwnerSystemLabelsSet(SystemLabelsSet):
    performedBy: Actor | None = None


class DialogRevision(Strict):
    dialogId: uuid.UUID
    endUserContextRevision: uuid.UUID | None = None


class SystemLabelsBulkSet(SystemLabelsSet):
    """BulkSetSystemLabel: the same change to many dialogs (at most 100), each at a known revision."""

    dialogs: list[DialogRevision] = Field(min_length=1, max_length=100)


class JsonPatchOperation(BaseModel):
    op: str
    path: str
    value: Any = None
    from_: str | None = Field(default=None, alias="from")
