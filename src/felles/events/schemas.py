"""API models of Altinn Events: CloudEvents 1.0 with Altinn's extension attributes, and subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CloudEvent(BaseModel):
    """A CloudEvent 1.0 as Altinn Events takes it (`application/cloudevents+json`). Altinn's extension
    attributes: `resource`, `resourceinstance`, `alternativesubject`."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, max_length=200, description="Unique per event; a repeated id is "
                           "stored once. Generated for app events when absent.")
    specversion: str = Field(default="1.0", pattern=r"^1\.0$")
    source: str = Field(min_length=1, max_length=500)
    type: str = Field(min_length=1, max_length=200)
    subject: str | None = Field(default=None, max_length=500)
    time: datetime | None = None
    resource: str | None = Field(default=None, max_length=500)
    resourceinstance: str | None = Field(default=None, max_length=500)
    alternativesubject: str | None = Field(default=None, max_length=500)
    datacontenttype: str | None = None
    dataschema: str | None = None
    data: Any = None


class SubscriptionCreate(BaseModel):
    """`SubscriptionRequestModel`: a webhook and the filters of the events to send it."""

    endPoint: str = Field(max_length=2000)
    resourceFilter: str | None = Field(default=None, max_length=500)
    subjectFilter: str | None = Field(default=None, max_length=500)
    alternativeSubjectFilter: str | None = Field(default=None, max_length=500)
    typeFilter: str | None = Field(default=None, max_length=200)
    sourceFilter: str | None = Field(default=None, max_length=500, description="A source prefix.")


class SubscriptionPublic(BaseModel):
    id: int
    endPoint: str
    resourceFilter: str | None = None
    subjectFilter: str | None = None
    alternativeSubjectFilter: str | None = None
    typeFilter: str | None = None
    sourceFilter: str | None = None
    consumer: str
    createdBy: str
    created: datetime
    validated: bool


class SubscriptionList(BaseModel):
    count: int
    subscriptions: list[SubscriptionPublic]
