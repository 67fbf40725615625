"""The consent API's models, with the field names of Altinn's consent API (`ConsentRequestDetails` ...)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

PERSON_URN = "urn:altinn:person:identifier-no:"
ORGANIZATION_URN = "urn:altinn:organization:identifier-no:"


class ConsentStatus(StrEnum):
    """Altinn's `ConsentRequestStatusType`."""

    CREATED = "Created"
    REJECTED = "Rejected"
    ACCEPTED = "Accepted"
    REVOKED = "Revoked"
    DELETED = "Deleted"
    EXPIRED = "Expired"


class ConsentResourceAttribute(BaseModel):
    type: Literal["urn:altinn:resource"] = "urn:altinn:resource"
    value: str = Field(min_length=1, max_length=100, description="A resource of type Consent in the registry")
    version: str | None = Field(default=None, max_length=20)


class ConsentRight(BaseModel):
    """One right asked for: actions on resources, with the metadata the resource's consent template needs."""

    model_config = ConfigDict(populate_by_name=True)

    action: list[str] = Field(min_length=1, max_length=10, examples=[["consent"]])
    resource: list[ConsentResourceAttribute] = Field(min_length=1, max_length=10)
    # Altinn's own examples spell it both ways.
    metadata: dict[str, str] | None = Field(default=None, validation_alias=AliasChoices("metadata", "metaData"))


class ConsentRequestCreate(BaseModel):
    """`ConsentRequest` as a data consumer posts it."""

    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID = Field(description="Chosen by the consumer, unique per request (UUIDv7 recommended)")
    from_: str = Field(alias="from", max_length=100, examples=[PERSON_URN + "02056260016"],
                       description="The party asked: urn:altinn:person:identifier-no:{fødselsnummer}, or "
                                   "urn:altinn:organization:identifier-no:{orgnr} (answered by a person who may "
                                   "consent for it)")
    requiredDelegator: str | None = Field(
        default=None, max_length=100, examples=[PERSON_URN + "02056260016"],
        description="The one person who may answer: urn:altinn:person:identifier-no:{fødselsnummer}")
    to: str = Field(max_length=100, examples=[ORGANIZATION_URN + "910753614"],
                    description="The data consumer: urn:altinn:organization:identifier-no:{orgnr}")
    validTo: datetime = Field(description="When the consent ends; must be in the future")
    consentRights: list[ConsentRight] = Field(min_length=1, max_length=20)
    requestMessage: dict[Literal["nb", "nn", "en"], str] | None = Field(
        default=None, description="A message to the person, by language")
    redirectUrl: str = Field(max_length=2000, description="Where the person is sent after answering")
    portalViewMode: Literal["Hide", "Show"] = "Hide"


class ConsentRequestEventPublic(BaseModel):
    consentEventID: uuid.UUID
    created: datetime
    performedBy: str
    eventType: str
    consentRequestID: uuid.UUID


class ConsentRequestDetails(BaseModel):
    """A request and, once accepted, the consent: Altinn's `ConsentRequestDetails`."""

    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    from_: str = Field(alias="from")
    requiredDelegator: str | None = None
    to: str
    validTo: datetime
    consentRights: list[ConsentRight]
    requestMessage: dict[str, str] | None = None
    redirectUrl: str
    templateId: str | None = None
    portalViewMode: str
    status: ConsentStatus
    consented: datetime | None = None
    consentRequestEvents: list[ConsentRequestEventPublic] = Field(default_factory=list)
    viewUri: str = Field(description="The page where the person answers")
