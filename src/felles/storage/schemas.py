"""Storage's JSON shapes, field for field as Altinn's `Altinn.Platform.Storage.Interface.Models` serialise them
(camelCase, nulls left out: responses are built with `exclude_none`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FILE_SCAN_RESULTS = ("NotApplicable", "Pending", "Clean", "Infected")
# Altinn's InstanceEventType values (the misspelt "Submited" is Altinn's own).
INSTANCE_EVENT_TYPES = (
    "None", "Created", "Saved", "Submited", "Deleted", "Undeleted", "ConfirmedComplete", "SubstatusUpdated", "Signed",
    "SentToSign", "SentToPayment", "SentToSendIn", "SentToFormFill", "InstanceForwarded", "InstanceRightRevoked",
    "NotificationSentSms", "MessageArchived", "MessageRead",
)


class StorageModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class InstanceOwner(StorageModel):
    partyId: str
    personNumber: str | None = None
    organisationNumber: str | None = None
    username: str | None = None
    externalIdentifier: str | None = None


class ResourceLinks(StorageModel):
    apps: str | None = None
    platform: str | None = None


class ValidationStatus(StorageModel):
    timestamp: datetime | None = None
    canCompleteTask: bool = False


class ProcessElementInfo(StorageModel):
    flow: int | None = None
    started: datetime | None = None
    elementId: str | None = None
    name: str | None = None
    altinnTaskType: str | None = None
    ended: datetime | None = None
    validated: ValidationStatus | None = None
    flowType: str | None = None


class ProcessState(StorageModel):
    started: datetime | None = None
    startEvent: str | None = None
    currentTask: ProcessElementInfo | None = None
    ended: datetime | None = None
    endEvent: str | None = None


class Substatus(StorageModel):
    label: str | None = None
    description: str | None = None


class InstanceStatus(StorageModel):
    isArchived: bool = False
    archived: datetime | None = None
    isSoftDeleted: bool = False
    softDeleted: datetime | None = None
    isHardDeleted: bool = False
    hardDeleted: datetime | None = None
    readStatus: Literal["Unread", "Read", "UpdatedSinceLastReview"] = "Read"
    substatus: Substatus | None = None


class CompleteConfirmation(StorageModel):
    stakeholderId: str
    confirmedOn: datetime


class KeyValueEntry(StorageModel):
    key: str
    value: str


class DataElementPublic(StorageModel):
    id: str
    instanceGuid: str
    dataType: str
    filename: str | None = None
    contentType: str
    blobStoragePath: str | None = None
    selfLinks: ResourceLinks | None = None
    size: int
    contentHash: str | None = None
    locked: bool = False
    refs: list[str] | None = None
    isRead: bool = True
    tags: list[str] = Field(default_factory=list)
    userDefinedMetadata: list[KeyValueEntry] | None = None
    metadata: list[KeyValueEntry] | None = None
    fileScanResult: Literal["NotApplicable", "Pending", "Clean", "Infected"] | None = None
    created: datetime | None = None
    createdBy: str | None = None
    lastChanged: datetime | None = None
    lastChangedBy: str | None = None


class InstancePublic(StorageModel):
    id: str  # "{instanceOwnerPartyId}/{instanceGuid}"
    instanceOwner: InstanceOwner
    appId: str
    org: str
    selfLinks: ResourceLinks | None = None
    dueBefore: datetime | None = None
    visibleAfter: datetime | None = None
    process: ProcessState | None = None
    status: InstanceStatus
    completeConfirmations: list[CompleteConfirmation] | None = None
    data: list[DataElementPublic] = Field(default_factory=list)
    presentationTexts: dict[str, str] | None = None
    dataValues: dict[str, str] | None = None
    created: datetime | None = None
    createdBy: str | None = None
    lastChanged: datetime | None = None
    lastChangedBy: str | None = None


class PlatformUser(StorageModel):
    userId: int | None = None
    orgId: str | None = None
    authenticationLevel: int | None = None
    endUserSystemId: int | None = None
    nationalIdentityNumber: str | None = None
    systemUserId: uuid.UUID | None = None
    systemUserOwnerOrgNo: str | None = None
    systemUserName: str | None = None


class InstanceEventPublic(StorageModel):
    id: uuid.UUID | None = None
    instanceId: str
    dataId: str | None = None
    created: datetime | None = None
    eventType: str
    instanceOwnerPartyId: str | None = None
    user: PlatformUser = Field(default_factory=PlatformUser)
    relatedUser: PlatformUser | None = None
    processInfo: ProcessState | None = None
    additionalInfo: dict[str, Any] | None = None


class DataElementList(StorageModel):
    """`GET …/dataelements`: Altinn's DataElementList."""
    dataElements: list[DataElementPublic]


READ_STATUSES = ("Unread", "Read", "UpdatedSinceLastReview")


class InstanceEventList(StorageModel):
    instanceEvents: list[InstanceEventPublic]


class ProcessHistoryItem(StorageModel):
    eventType: str
    elementId: str | None = None
    occured: datetime | None = None  # Altinn's spelling
    started: datetime | None = None
    ended: datetime | None = None
    performedBy: str | None = None


class ProcessHistoryList(StorageModel):
    processHistory: list[ProcessHistoryItem]


class QueryResponse(StorageModel):
    """A page of `GET /storage/api/v1/instances`: Altinn's `QueryResponse<Instance>`."""
    instances: list[InstancePublic]
    count: int
    self: str | None = None
    next: str | None = None


class ApplicationList(StorageModel):
    applications: list[dict[str, Any]]


class PresentationTexts(BaseModel):
    """Storage's PresentationTexts: texts shown with the instance in the inbox; an empty value removes one."""

    texts: dict[str, str | None] = Field(default_factory=dict, max_length=100)


class DataValues(BaseModel):
    """Storage's DataValues: values of the instance its service owner searches and shows; an empty one removes."""

    values: dict[str, str | None] = Field(default_factory=dict, max_length=100)
