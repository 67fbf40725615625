"""Signing at app-lib's paths: the signees of the current signing task and their state, the data elements to sign,
and the organisations the caller may sign for."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from felles.apps import signing, task_actions
from felles.apps.actions_api import INSTANCE, PROBLEMS, InstanceCallDep
from felles.core.tokens import AuthenticatedRoute
from felles.storage.schemas import DataElementPublic

router = APIRouter(tags=["app signing"], route_class=AuthenticatedRoute)


class SigneeState(BaseModel):
    name: str | None
    organization: str | None
    delegationSuccessful: bool
    notificationStatus: Literal["NotSent", "Sent", "Failed"]
    partyId: int
    signedTime: str | None


class SigningStateResponse(BaseModel):
    signeeStates: list[SigneeState]


class SigningDataElementsResponse(BaseModel):
    dataElements: list[DataElementPublic]


class AuthorizedOrganizationDetails(BaseModel):
    orgNumber: str
    orgName: str | None
    partyId: int


class SigningAuthorizedOrganizationsResponse(BaseModel):
    organizations: list[AuthorizedOrganizationDetails]


@router.get(INSTANCE + "/signing", operation_id="app_signing_state", responses=PROBLEMS,
            response_model=SigningStateResponse)
async def signing_state(call: InstanceCallDep) -> dict[str, object]:
    """The signees of the current signing task and whether each has signed (SigningStateResponse)."""
    async with task_actions.current_task(call, "read") as ctx:
        return {"signeeStates": await signing.signee_states(ctx)}


@router.get(INSTANCE + "/signing/data-elements", operation_id="app_signing_data_elements", responses=PROBLEMS,
            response_model=SigningDataElementsResponse, response_model_exclude_none=True)
async def signing_data_elements(call: InstanceCallDep) -> dict[str, object]:
    """The data elements the current signing task signs (SigningDataElementsResponse)."""
    async with task_actions.current_task(call, "read") as ctx:
        return {"dataElements": [task_actions.public_element(ctx, element)
                                 for element in await signing.elements_to_sign(ctx)]}


@router.get(INSTANCE + "/signing/organizations", operation_id="app_signing_organizations", responses=PROBLEMS,
            response_model=SigningAuthorizedOrganizationsResponse)
async def signing_organizations(call: InstanceCallDep) -> dict[str, object]:
    """The organisations among the signees the caller may sign for (SigningAuthorizedOrganizationsResponse)."""
    async with task_actions.current_task(call, "read") as ctx:
        return {"organizations": await signing.organisations_of_caller(ctx)}
