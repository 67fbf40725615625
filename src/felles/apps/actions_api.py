"""User actions at app-lib's path: `POST /{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}/actions` with a
UserActionRequest (`sign`, `pay`, an app's server action), answered with a UserActionResponse."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from felles.apps import task_actions
from felles.apps.dependencies import AppDep, CallerDep, catalogue
from felles.core.params import IntegerId
from felles.core.runtime import RuntimeDep
from felles.core.tokens import AuthenticatedRoute
from felles.storage.schemas import InstancePublic

router = APIRouter(tags=["app actions"], route_class=AuthenticatedRoute)
INSTANCE = "/{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "No action named, or a malformed request"}, 401: {"description": "No valid token"},
    403: {"description": "The app's policy does not permit the action in the current task"},
    404: {"description": "No such instance, or no handler for the action"},
    409: {"description": "The instance is in no task, or the action cannot be done in it now"},
}
Language = Annotated[str | None, Query(max_length=10, description="The user's language (nb, nn, en)")]


async def instance_call(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                        instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID,
                        language: Language = None) -> task_actions.InstanceCall:
    # async although it awaits nothing: FastAPI runs a plain function dependency in its thread pool.
    return task_actions.InstanceCall(runtime, catalogue(request), app, caller, instanceOwnerPartyId, instanceGuid,
                                     language or "nb")


InstanceCallDep = Annotated[task_actions.InstanceCall, Depends(instance_call)]


class UserActionRequest(BaseModel):
    """app-lib's UserActionRequest."""

    model_config = ConfigDict(extra="forbid")
    action: str | None = Field(None, max_length=100)
    buttonId: str | None = Field(None, max_length=200)
    metadata: dict[str, str] | None = None
    ignoredValidators: list[str] | None = None
    onBehalfOf: str | None = Field(None, pattern=r"^\d{9}$", description="The organisation acted for")


class UserActionResponse(BaseModel):
    """app-lib's UserActionResponse."""

    instance: InstancePublic
    updatedDataModels: dict[str, Any] | None = None
    updatedValidationIssues: dict[str, Any] | None = None
    clientActions: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None
    redirectUrl: str | None = None


@router.post(INSTANCE + "/actions", operation_id="app_perform_action", responses=PROBLEMS,
             response_model=UserActionResponse, response_model_exclude_none=True)
async def perform_action(call: InstanceCallDep, body: UserActionRequest) -> dict[str, Any]:
    """Do a user action in the instance's current task (UserActionResponse)."""
    return await task_actions.perform_action(call, task_actions.UserAction(
        body.action or "", body.buttonId, dict(body.metadata or {}), body.onBehalfOf))
