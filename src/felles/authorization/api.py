"""HTTP API of Altinn Autorisasjon, at Altinn's paths: the resource registry, the decision point (XACML JSON
profile), access management (delegations) and authorized parties."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from felles.authorization import schemas, service
from felles.authorization.xacml import (
    XacmlSyntaxError,
    parse_request_xml,
    request_from_json,
    response_to_json,
    response_to_xml,
)
from felles.authorization.xacml.model import STATUS_SYNTAX_ERROR, Decision, Result, Status
from felles.authorization.xacml.model import Response as XacmlResponse
from felles.core.errors import InvalidInput
from felles.core.runtime import DatabaseDep
from felles.core.tokens import Principal, require_person, require_scope

router = APIRouter()

RESOURCE_WRITE = "altinn:resourceregistry/resource.write"
ACCESS_LIST_WRITE = "altinn:resourceregistry/accesslist.write"
AUTHORIZE = "altinn:authorization/authorize"
AUTHORIZE_ADMIN = "altinn:authorization/authorize.admin"
AUTHORIZED_PARTIES_RESOURCE_OWNER = "altinn:accessmanagement/authorizedparties.resourceowner"

ResourceWriter = Annotated[Principal, require_scope(RESOURCE_WRITE)]
AccessListWriter = Annotated[Principal, require_scope(ACCESS_LIST_WRITE)]
Authorizer = Annotated[Principal, require_scope(AUTHORIZE, AUTHORIZE_ADMIN)]
Person = Annotated[Principal, require_person()]
ResourceOwner = Annotated[Principal, require_scope(AUTHORIZED_PARTIES_RESOURCE_OWNER)]
XACML_EXAMPLE = {"Request": {
    "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": "02027210212"}]}],
    "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "read"}]}],
    "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": "ske-innrapportering-boligsameie"},
                                {"AttributeId": "urn:altinn:organization:identifier-no", "Value": "910000012"}]}],
}}


# --- resource registry ----------------------------------------------------------------------------------------
@router.get("/resourceregistry/api/v1/resource/resourcelist", tags=["resource registry"],
            operation_id="resourceregistry_list_resources")
async def list_resources(database: DatabaseDep) -> list[schemas.ServiceResource]:
    """Every visible resource of the registry."""
    return await service.list_resources(database)


@router.get("/resourceregistry/api/v1/resource/{identifier}", tags=["resource registry"],
            operation_id="resourceregistry_get_resource")
async def get_resource(identifier: str, database: DatabaseDep) -> schemas.ServiceResource:
    return await service.get_resource(database, identifier)


@router.post("/resourceregistry/api/v1/resource", status_code=201, tags=["resource registry"],
             operation_id="resourceregistry_create_resource")
async def create_resource(resource: schemas.ServiceResource, principal: ResourceWriter,
                          database: DatabaseDep) -> schemas.ServiceResource:
    """Register a resource; only its competent authority (the token's organisation) may."""
    return await service.create_resource(database, principal.audit_actor, principal.organization_number, resource)


@router.put("/resourceregistry/api/v1/resource/{identifier}", tags=["resource registry"],
            operation_id="resourceregistry_update_resource")
async def update_resource(identifier: str, resource: schemas.ServiceResource, principal: ResourceWriter,
                          database: DatabaseDep,
                          if_match: Annotated[str | None, Header(description="versionId last read")] = None,
                          ) -> schemas.ServiceResource:
    version = None
    if if_match is not None:
        try:
            version = int(if_match.strip('W/"'))
        except ValueError:
            raise InvalidInput("If-Match must be the resource's versionId.", code="invalid_if_match") from None
    return await service.update_resource(database, principal.audit_actor, principal.organization_number,
                                         identifier, resource, if_match=version)


@router.delete("/resourceregistry/api/v1/resource/{identifier}", status_code=204, tags=["resource registry"],
               operation_id="resourceregistry_delete_resource")
async def delete_resource(identifier: str, principal: ResourceWriter, database: DatabaseDep) -> Response:
    await service.delete_resource(database, principal.audit_actor, principal.organization_number, identifier)
    return Response(status_code=204)


@router.get("/resourceregistry/api/v1/resource/{identifier}/policy", tags=["resource registry"],
            operation_id="resourceregistry_get_policy",
            responses={200: {"content": {"application/xml": {}}, "description": "The XACML 3.0 policy"}})
async def get_policy(identifier: str, database: DatabaseDep) -> Response:
    return Response(await service.get_policy(database, identifier), media_type="application/xml")


@router.put("/resourceregistry/api/v1/resource/{identifier}/policy", tags=["resource registry"],
            operation_id="resourceregistry_put_policy",
            openapi_extra={"requestBody": {"required": True, "content": {"application/xml": {
                "schema": {"type": "string", "description": "One XACML 3.0 <Policy>"}}}}})
async def put_policy(identifier: str, request: Request, principal: ResourceWriter,
                     database: DatabaseDep) -> dict[str, Any]:
    """Upload the resource's XACML policy (the body is the policy document)."""
    version = await service.put_policy(database, principal.audit_actor, principal.organization_number,
                                       identifier, await request.body())
    return {"identifier": identifier, "policyVersion": version}


@router.put("/resourceregistry/api/v1/access-lists/{owner}/{identifier}", tags=["resource registry"],
            operation_id="resourceregistry_upsert_access_list")
async def upsert_access_list(owner: str, identifier: str, body: schemas.AccessListCreate,
                             principal: AccessListWriter, database: DatabaseDep) -> schemas.AccessListPublic:
    return await service.upsert_access_list(database, principal.audit_actor, principal.organization_number,
                                            owner, identifier, body)


@router.get("/resourceregistry/api/v1/access-lists/{owner}/{identifier}", tags=["resource registry"],
            operation_id="resourceregistry_get_access_list")
async def get_access_list(owner: str, identifier: str, principal: AccessListWriter,
                          database: DatabaseDep) -> schemas.AccessListPublic:
    return await service.get_access_list(database, owner, identifier)


@router.put("/resourceregistry/api/v1/access-lists/{owner}/{identifier}/members", tags=["resource registry"],
            operation_id="resourceregistry_set_access_list_members")
async def set_members(owner: str, identifier: str, body: schemas.AccessListMembers, principal: AccessListWriter,
                      database: DatabaseDep) -> schemas.AccessListPublic:
    return await service.set_access_list_members(database, principal.audit_actor, principal.organization_number,
                                                 owner, identifier, body.data)


@router.put("/resourceregistry/api/v1/access-lists/{owner}/{identifier}/resource-connections/{resource}",
            tags=["resource registry"], operation_id="resourceregistry_connect_access_list_resource")
async def connect_resource(owner: str, identifier: str, resource: str, body: schemas.ResourceConnection,
                           principal: AccessListWriter, database: DatabaseDep) -> schemas.AccessListPublic:
    return await service.connect_resource(database, principal.audit_actor, principal.organization_number,
                                          owner, identifier, resource, body.actionFilters)


# --- decisions ------------------------------------------------------------------------------------------------
def _syntax_error(message: str) -> XacmlResponse:
    return XacmlResponse([Result(Decision.INDETERMINATE, Status(STATUS_SYNTAX_ERROR, message))])


@router.post("/authorization/api/v1/authorize", tags=["authorization"], operation_id="authorization_authorize")
async def authorize(principal: Authorizer, database: DatabaseDep,
                    body: Annotated[dict[str, Any], Body(examples=[XACML_EXAMPLE])]) -> dict[str, Any]:
    """The decision point for service owners (XACML JSON profile, MultiRequests). Obligations such as
    ``urn:altinn:minimum-authenticationlevel`` are returned for the caller to enforce. A request that cannot
    be read gets Indeterminate (syntax-error), as in Altinn."""
    try:
        request = request_from_json(body)
    except XacmlSyntaxError as exc:
        return response_to_json(_syntax_error(str(exc)))
    return response_to_json(await service.authorize(database, request))


@router.post("/authorization/api/v1/decision", tags=["authorization"], operation_id="authorization_decision",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}},
                 "application/xml": {"schema": {"type": "string"}}}}})
async def decide(request: Request, principal: Authorizer, database: DatabaseDep) -> Response:
    """The platform's decision endpoint: a XACML 3.0 request as XML or in the JSON profile (the content type
    decides), answered in the same format."""
    raw = await request.body()
    is_xml = "xml" in request.headers.get("content-type", "")
    try:
        parsed = parse_request_xml(raw) if is_xml else request_from_json(raw)
    except (XacmlSyntaxError, ValueError) as exc:
        result = _syntax_error(str(exc))
    else:
        result = await service.authorize(database, parsed)
    if is_xml:
        return Response(response_to_xml(result), media_type="application/xml")
    return JSONResponse(json.loads(json.dumps(response_to_json(result))))


# --- access management ----------------------------------------------------------------------------------------
@router.get("/accessmanagement/api/v1/meta/info/accesspackages", tags=["access management"],
            operation_id="accessmanagement_list_access_packages")
async def list_access_packages(database: DatabaseDep) -> list[schemas.AccessPackagePublic]:
    """The access-package catalogue (tilgangspakker)."""
    return await service.list_access_packages(database)


@router.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", status_code=201,
             tags=["access management"], operation_id="accessmanagement_delegate_package")
async def delegate_package(body: schemas.PackageDelegationCreate, principal: Person,
                           database: DatabaseDep) -> schemas.DelegationPublic:
    """Give an access package on behalf of a party (main administrator, access manager, key role)."""
    return await service.delegate_package(database, principal.audit_actor, principal.person_identifier, body)


@router.post("/accessmanagement/api/v1/enduser/delegations/rights", status_code=201, tags=["access management"],
             operation_id="accessmanagement_delegate_rights")
async def delegate_rights(body: schemas.RightDelegationCreate, principal: Person,
                          database: DatabaseDep) -> list[schemas.DelegationPublic]:
    """Give single rights (resource + actions) that you have yourself on behalf of a party."""
    return await service.delegate_rights(database, principal.audit_actor, principal.person_identifier, body)


@router.get("/accessmanagement/api/v1/enduser/delegations", tags=["access management"],
            operation_id="accessmanagement_list_delegations")
async def list_delegations(principal: Person, database: DatabaseDep,
                           party: Annotated[str | None, Query(description="Given by this party")] = None,
                           to: Annotated[str | None, Query(description="Received by this party")] = None,
                           ) -> list[schemas.DelegationPublic]:
    return await service.list_delegations(database, principal.person_identifier, party=party, to=to)


@router.delete("/accessmanagement/api/v1/enduser/delegations/{delegation_id}", status_code=204,
               tags=["access management"], operation_id="accessmanagement_revoke_delegation")
async def revoke_delegation(delegation_id: uuid.UUID, principal: Person, database: DatabaseDep) -> Response:
    await service.revoke_delegation(database, principal.audit_actor, principal.person_identifier, delegation_id)
    return Response(status_code=204)


@router.get("/accessmanagement/api/v1/enduser/authorizedparties", tags=["access management"],
            operation_id="accessmanagement_enduser_authorized_parties")
async def enduser_authorized_parties(principal: Person, database: DatabaseDep,
                                     includeAccessPackages: bool = False, includeRoles: bool = True,
                                     includeResources: bool = True) -> list[schemas.AuthorizedParty]:
    """Every party the logged-in person can act for (avgiverliste), sub-units under their main unit."""
    assert principal.person_identifier is not None
    return await service.authorized_parties(
        database, principal.audit_actor, principal.person_identifier,
        include_access_packages=includeAccessPackages, include_roles=includeRoles,
        include_resources=includeResources)


@router.post("/accessmanagement/api/v1/resourceowner/authorizedparties", tags=["access management"],
             operation_id="accessmanagement_resourceowner_authorized_parties")
async def resourceowner_authorized_parties(query: schemas.AuthorizedPartiesQuery, principal: ResourceOwner,
                                           database: DatabaseDep, includeAccessPackages: bool = False,
                                           includeRoles: bool = True, includeResources: bool = True,
                                           ) -> list[schemas.AuthorizedParty]:
    """Service owners: the parties a person, organisation or system user can act for."""
    subject = await service.resolve_subject(database, query)
    return await service.authorized_parties(
        database, principal.audit_actor, subject, include_access_packages=includeAccessPackages,
        include_roles=includeRoles, include_resources=includeResources)
