"""Deploying apps over HTTP: a service owner sends its app folder zipped and gets the version it became.

The service owner is the organisation of the Maskinporten token (its consumer), looked up in the registry of
service owners: an app is deployed only under the caller's own code, whatever the archive says. The archive is
checked as `felles app deploy` checks a folder, and refused whole with every problem listed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.body_limit import declare_body_limit
from felles.core.errors import Forbidden, Problem
from felles.core.runtime import DatabaseDep
from felles.core.tokens import ALTINN_API_ISSUERS, AcceptedTokens, AuthenticatedRoute, Principal, require_scope

router = APIRouter(prefix="/apps/api/v1", tags=["apps deployment"], route_class=AuthenticatedRoute)

DEPLOY_SCOPE = "altinn:appdeploy"
DEPLOY_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/apps",))
DEPLOYMENTS_PATH = "/apps/api/v1/deployments"
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/octet-stream"})
PROBLEMS = {401: {"description": "No valid token"},
            403: {"description": "Missing scope, or the caller owns no services"}}

# A zipped app is never larger than it unpacks to; the archive's own limits are checked as it is unpacked.
declare_body_limit(DEPLOYMENTS_PATH, deployment.MAX_ARCHIVE_BYTES)


class ServiceOwner(BaseModel):
    code: str
    organization_number: str


async def service_owner(database: DatabaseDep,
                        principal: Annotated[Principal, require_scope(DEPLOY_TOKENS, DEPLOY_SCOPE)]) -> ServiceOwner:
    """The caller's service-owner code, from the registry by the token's organisation (never from the body)."""
    number = principal.organization_number
    code = await authorization.service_owner_code(database, number) if number else None
    if number is None or code is None:
        raise Forbidden("Only a service owner deploys apps, with its own Maskinporten token.",
                        code="not_a_service_owner")
    return ServiceOwner(code=code, organization_number=number)


ServiceOwnerDep = Annotated[ServiceOwner, Depends(service_owner)]


class AppDeploymentPublic(BaseModel):
    """One deployed version of an app."""

    id: str = Field(description='The app, "org/app"')
    org: str
    app: str
    version: int = Field(description="Counts up from 1 with each deployment that changes the app")
    created: datetime = Field(description="When this version was deployed")
    createdBy: str = Field(description="Who deployed it")


class AppPublic(AppDeploymentPublic):
    """A deployed app at its newest version."""

    versions: int = Field(description="How many versions have been deployed")


def _public(app_id: str, version: int, created: datetime, created_by: str) -> dict[str, object]:
    org, app = app_id.split("/", 1)
    return {"id": app_id, "org": org, "app": app, "version": version, "created": created, "createdBy": created_by}


@router.post("/deployments", operation_id="apps_deploy", response_model=AppDeploymentPublic,
             status_code=status.HTTP_201_CREATED,
             responses={**PROBLEMS, 200: {"description": "The same app was deployed before: no new version",
                                          "model": AppDeploymentPublic},
                        400: {"description": "Not a zip, or an app with problems (each one listed)"},
                        413: {"description": "The archive is too large"},
                        415: {"description": "The body is not a zip archive"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/zip": {
                 "schema": {"type": "string", "format": "binary",
                            "description": "The app folder (or its repository, with App/ inside) zipped"}}}}})
async def deploy_app(request: Request, response: Response, database: DatabaseDep,
                     owner: ServiceOwnerDep) -> dict[str, object]:
    """Deploy a zipped app folder as the app's next version, under the caller's own service-owner code."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ZIP_TYPES:
        raise Problem("Send the app folder zipped, as application/zip.", status=415, code="unsupported_media_type",
                      title="Unsupported media type")
    deployed = await deployment.deploy(database, await request.body(), f"organization:{owner.organization_number}",
                                       org=owner.code)
    if not deployed.created:
        response.status_code = status.HTTP_200_OK
    return _public(deployed.app_id, deployed.version, deployed.deployed_at, deployed.deployed_by)


@router.get("/deployments", operation_id="apps_deployments", response_model=list[AppPublic], responses=PROBLEMS)
async def list_deployments(database: DatabaseDep, owner: ServiceOwnerDep) -> list[dict[str, object]]:
    """The caller's deployed apps, each at its newest version."""
    return [{**_public(app.app_id, app.version, app.deployed_at, app.deployed_by), "versions": app.versions}
            for app in await deployment.list_deployed(database) if app.app_id.split("/", 1)[0] == owner.code]
