"""HTTP API of Altinn Autorisasjon, at Altinn's paths: the resource registry, the decision point (XACML JSON
profile), access management (delegations, client delegations, access requests) and authorized parties."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from felles.authorization import (
    schemas,
    service,
    service_access_requests,
    service_client_delegation,
    service_delegations,
    service_oed,
)
from felles.authorization.dcat import TURTLE_MEDIA_TYPE
from felles.authorization.xacml import (
    XacmlSyntaxError,
    parse_request_xml,
    request_from_json,
    response_to_json,
    response_to_xml,
)
from felles.authorization.xacml.model import STATUS_SYNTAX_ERROR, Decision, Result, Status
from felles.authorization.xacml.model import Response as XacmlResponse
from felles.core.body_limit import declare_body_limit
from felles.core.cache_invalidation import listen_while_serving
from felles.core.errors import InvalidInput
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import (
    ALTINN_API_ISSUERS,
    ALTINN_END_USER_ISSUERS,
    PORTAL_END_USER_SCOPE,
    AcceptedTokens,
    AuthenticatedRoute,
    Principal,
    require_person,
    require_scope,
)

# While the server runs, other processes' changes to resources, delegations and registers clear its caches.
router = APIRouter(lifespan=listen_while_serving, route_class=AuthenticatedRoute)

RESOURCE_WRITE = "altinn:resourceregistry/resource.write"
ACCESS_LIST_WRITE = "altinn:resourceregistry/accesslist.write"
AUTHORIZE = "altinn:authorization/authorize"
AUTHORIZE_ADMIN = "altinn:authorization/authorize.admin"
AUTHORIZED_PARTIES_RESOURCE_OWNER = "altinn:accessmanagement/authorizedparties.resourceowner"
ESTATE_ROLES_INTERNAL = "altinn:dd:internal"  # Digitalt dødsbo itself
ESTATE_ROLES_LOOKUP = "altinn:dd:authlookup"  # banks and others who look up the court's roles

# Altinn's end-user scopes besides the portal's: an end-user system the person logged in to with ID-porten
# (exchanged to an Altinn token) reads their authorized parties, or administers client delegations, with them.
AUTHORIZED_PARTIES_END_USER = "altinn:accessmanagement/authorizedparties"
CLIENT_DELEGATIONS_READ = "altinn:clientdelegations.read"
CLIENT_DELEGATIONS_WRITE = "altinn:clientdelegations.write"
MY_CLIENTS_READ = "altinn:clientdelegations/myclients.read"

RESOURCE_REGISTRY_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/resourceregistry",))
AUTHORIZATION_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/authorization",))
ACCESS_MANAGEMENT_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/accessmanagement",))
ACCESS_MANAGEMENT_END_USER_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/accessmanagement",))
ESTATE_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/oed",))

ResourceWriter = Annotated[Principal, require_scope(RESOURCE_REGISTRY_TOKENS, RESOURCE_WRITE)]
AccessListWriter = Annotated[Principal, require_scope(RESOURCE_REGISTRY_TOKENS, ACCESS_LIST_WRITE)]
Authorizer = Annotated[Principal, require_scope(AUTHORIZATION_TOKENS, AUTHORIZE, AUTHORIZE_ADMIN)]
Person = Annotated[Principal, require_person(ACCESS_MANAGEMENT_END_USER_TOKENS, PORTAL_END_USER_SCOPE)]
PartiesReader = Annotated[Principal, require_person(ACCESS_MANAGEMENT_END_USER_TOKENS, PORTAL_END_USER_SCOPE,
                                                    AUTHORIZED_PARTIES_END_USER)]
ClientDelegationReader = Annotated[Principal, require_person(ACCESS_MANAGEMENT_END_USER_TOKENS, PORTAL_END_USER_SCOPE,
                                                             CLIENT_DELEGATIONS_READ, CLIENT_DELEGATIONS_WRITE)]
ClientDelegationWriter = Annotated[Principal, require_person(ACCESS_MANAGEMENT_END_USER_TOKENS, PORTAL_END_USER_SCOPE,
                                                             CLIENT_DELEGATIONS_WRITE)]
MyClientsReader = Annotated[Principal, require_person(ACCESS_MANAGEMENT_END_USER_TOKENS, PORTAL_END_USER_SCOPE,
                                                      MY_CLIENTS_READ)]
ResourceOwner = Annotated[Principal, require_scope(ACCESS_MANAGEMENT_TOKENS, AUTHORIZED_PARTIES_RESOURCE_OWNER)]
EstateRoleKeeper = Annotated[Principal, require_scope(ESTATE_TOKENS, ESTATE_ROLES_INTERNAL)]
EstateRoleReader = Annotated[Principal, require_scope(ESTATE_TOKENS, ESTATE_ROLES_INTERNAL, ESTATE_ROLES_LOOKUP)]
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


@router.get("/resourceregistry/api/v1/resource/search", tags=["resource registry"],
            operation_id="resourceregistry_search_resources")
async def search_resources(search: Annotated[schemas.ResourceSearch, Query()],
                           database: DatabaseDep) -> list[schemas.ServiceResource]:
    """Visible resources matching every criterion given (text criteria: case-insensitive parts)."""
    return await service.search_resources(database, search)


@router.get("/resourceregistry/api/v1/resource/export", tags=["resource registry"],
            operation_id="resourceregistry_export_resources",
            responses={200: {"content": {TURTLE_MEDIA_TYPE: {}},
                             "description": "The visible resources as a CPSV-AP-NO catalogue in Turtle"}})
async def export_resources(runtime: RuntimeDep) -> Response:
    """The registry as RDF (public services, CPSV-AP-NO), for data.norge.no to harvest."""
    turtle = await service.export_resources(runtime.database, runtime.settings.base_url)
    return Response(turtle, media_type=TURTLE_MEDIA_TYPE)


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


# What a policy grants is as public as the policy it is read from (in Altinn too, these reads need no token).
@router.get("/resourceregistry/api/v1/resource/{identifier}/policy/rules", tags=["resource registry"],
            operation_id="resourceregistry_get_policy_rules")
async def get_policy_rules(identifier: str, database: DatabaseDep) -> list[schemas.PolicyRule]:
    """The policy's Permit rules flattened: one entry per combination of subject, action and resource a rule
    names."""
    return await service.get_policy_rules(database, identifier)


@router.get("/resourceregistry/api/v1/resource/{identifier}/policy/rights", tags=["resource registry"],
            operation_id="resourceregistry_get_policy_rights")
async def get_policy_rights(identifier: str, database: DatabaseDep) -> list[schemas.PolicyRight]:
    """The rights (an action on the resource) the policy grants, each with the subjects it grants it to."""
    return await service.get_policy_rights(database, identifier)


@router.get("/resourceregistry/api/v1/resource/{identifier}/policy/subjects", tags=["resource registry"],
            operation_id="resourceregistry_get_policy_subjects")
async def get_policy_subjects(identifier: str,
                              database: DatabaseDep) -> schemas.Paginated[schemas.AttributeMatchV2]:
    """The roles, access packages, organisations ... the policy grants something to (values in lower case)."""
    return await service.get_policy_subjects(database, identifier)


# Altinn's clients post to "bysubjects/" (ASP.NET ignores the trailing slash); a redirect would drop their body.
@router.post("/resourceregistry/api/v1/resource/bysubjects/", include_in_schema=False)
@router.post("/resourceregistry/api/v1/resource/bysubjects", tags=["resource registry"],
             operation_id="resourceregistry_find_resources_for_subjects")
async def find_resources_for_subjects(
        subjects: Annotated[list[str], Body(max_length=1000, examples=[["urn:altinn:rolecode:dagl",
                                                                        "urn:altinn:accesspackage:regnskapsforer-lonn"]])],
        database: DatabaseDep) -> schemas.Paginated[schemas.SubjectResources]:
    """For each subject URN given, the resources whose policies grant it something."""
    return await service.find_resources_for_subjects(database, subjects)


# A policy upload may pass the platform's default body limit by a little, so that a policy over its own limit is
# refused as such (policy_too_large) and not as any large body; the multipart form around it needs room too.
declare_body_limit(service.RESOURCE_PATH, 2 * service.MAX_POLICY_BYTES)


async def _policy_upload(request: Request) -> bytes:
    """The uploaded policy: the body itself, or the ``policyFile`` part of a multipart form (as Altinn's
    registry takes it). At most one byte more than a policy may have is read, so the service can refuse a
    too large one without this process holding all of it."""
    limit = service.MAX_POLICY_BYTES + 1
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("policyFile")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("The form has no file named policyFile.", code="policy_file_missing")
            return await upload.read(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


@router.put("/resourceregistry/api/v1/resource/{identifier}/policy", tags=["resource registry"],
            operation_id="resourceregistry_put_policy",
            responses={413: {"description": "The policy is larger than the registry takes"}},
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/xml": {"schema": {"type": "string", "description": "One XACML 3.0 <Policy>"}},
                "multipart/form-data": {"schema": {
                    "type": "object", "required": ["policyFile"],
                    "properties": {"policyFile": {"type": "string", "format": "binary",
                                                  "description": "One XACML 3.0 <Policy>"}}}}}}})
async def put_policy(identifier: str, request: Request, principal: ResourceWriter,
                     database: DatabaseDep) -> dict[str, Any]:
    """Upload the resource's XACML policy: the body is the policy document, or a multipart form carries it as
    ``policyFile``. A policy may be at most 1 MB."""
    version = await service.put_policy(database, principal.audit_actor, principal.organization_number,
                                       identifier, await _policy_upload(request))
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
    """An access list with its members; only its owner may read it."""
    return await service.get_access_list(database, principal.organization_number, owner, identifier)


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
                 "application/xml": {"schema": {"type": "string"}}}}},
             responses={200: {"description": "The decision, in the request's format", "content": {
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


@router.post("/authorization/api/v1/accesslist/accessmanagement/authorization", tags=["authorization"],
             operation_id="authorization_access_list_authorization")
async def authorize_access_list(body: schemas.AccessListAuthorizationRequest, principal: Authorizer,
                                database: DatabaseDep) -> schemas.AccessListAuthorizationResponse:
    """Whether an organisation may use a resource through the service owner's access lists (the check access
    management makes before a delegation), as Altinn's access-list authorization."""
    return await service.authorize_access_list(database, body)


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
    return await service_delegations.delegate_package(database, principal.audit_actor, principal.person_identifier,
                                                      body)


@router.post("/accessmanagement/api/v1/enduser/delegations/rights", status_code=201, tags=["access management"],
             operation_id="accessmanagement_delegate_rights")
async def delegate_rights(body: schemas.RightDelegationCreate, principal: Person,
                          database: DatabaseDep) -> list[schemas.DelegationPublic]:
    """Give single rights (resource + actions) that you have yourself on behalf of a party."""
    return await service_delegations.delegate_rights(database, principal.audit_actor, principal.person_identifier, body)


@router.get("/accessmanagement/api/v1/enduser/delegations", tags=["access management"],
            operation_id="accessmanagement_list_delegations")
async def list_delegations(principal: Person, database: DatabaseDep,
                           party: Annotated[str | None, Query(description="Given by this party")] = None,
                           to: Annotated[str | None, Query(description="Received by this party")] = None,
                           ) -> list[schemas.DelegationPublic]:
    return await service_delegations.list_delegations(database, principal.person_identifier, party=party, to=to)


@router.delete("/accessmanagement/api/v1/enduser/delegations/{delegation_id}", status_code=204,
               tags=["access management"], operation_id="accessmanagement_revoke_delegation")
async def revoke_delegation(delegation_id: uuid.UUID, principal: Person, database: DatabaseDep) -> Response:
    await service_delegations.revoke_delegation(database, principal.audit_actor, principal.person_identifier,
                                                delegation_id)
    return Response(status_code=204)


# --- client delegation (klientdelegering) --------------------------------------------------------------------
CLIENT_DELEGATIONS = "/accessmanagement/api/v1/enduser/clientdelegations"
AgentFirm = Annotated[str, Query(alias="party", description="Organisation number of the accountant, auditor or "
                                 "business manager firm")]
Agent = Annotated[str, Query(alias="to", description="Fødselsnummer of the agent (the firm's employee)")]
ClientQuery = Annotated[str | None, Query(alias="from", description="The client's organisation number; "
                                          "without it, every client")]


@router.get(f"{CLIENT_DELEGATIONS}/clients", tags=["client delegation"],
            operation_id="accessmanagement_list_clients")
async def list_clients(party: AgentFirm, principal: ClientDelegationReader,
                       database: DatabaseDep) -> list[schemas.ClientPublic]:
    """The firm's clients: the roles it holds for each (REGN, REVI, FFØR), the packages they give and what it
    has passed on to its employees. For the firm's client administrators."""
    return await service_client_delegation.list_clients(database, principal.person_identifier, party)


@router.get(f"{CLIENT_DELEGATIONS}/agents", tags=["client delegation"], operation_id="accessmanagement_list_agents")
async def list_agents(party: AgentFirm, principal: ClientDelegationReader,
                      database: DatabaseDep) -> list[schemas.AgentPublic]:
    """The persons registered as the firm's agents (medarbeidere), with the client packages passed on to each.
    For the firm's client administrators."""
    return await service_client_delegation.list_agents(database, principal.audit_actor, principal.person_identifier,
                                                       party)


@router.post(f"{CLIENT_DELEGATIONS}/agents", tags=["client delegation"], operation_id="accessmanagement_add_agent")
async def add_agent(party: AgentFirm, body: schemas.AgentCreate, principal: ClientDelegationWriter,
                    database: DatabaseDep) -> schemas.AgentAssignmentPublic:
    """Register a person (fødselsnummer and last name, as in Folkeregisteret) as the firm's agent, so client
    packages may be passed on to them. Adding an agent again answers with the registration there is."""
    return await service_client_delegation.add_agent(database, principal.audit_actor, principal.person_identifier,
                                                     party, body)


@router.delete(f"{CLIENT_DELEGATIONS}/agents", status_code=204, tags=["client delegation"],
               operation_id="accessmanagement_remove_agent")
async def remove_agent(party: AgentFirm, to: Agent, principal: ClientDelegationWriter, database: DatabaseDep,
                       cascade: Annotated[bool, Query(description="Also take back the client packages passed on "
                                                      "to the agent; when false, an agent holding any stays")] = True,
                       ) -> Response:
    """Remove an agent, and with it every client package the firm has passed on to them."""
    await service_client_delegation.remove_agent(database, principal.audit_actor, principal.person_identifier, party,
                                                 to, cascade=cascade)
    return Response(status_code=204)


@router.get(f"{CLIENT_DELEGATIONS}/agents/accesspackages", tags=["client delegation"],
            operation_id="accessmanagement_list_agent_packages")
async def list_agent_packages(party: AgentFirm, principal: ClientDelegationReader, database: DatabaseDep,
                              to: Annotated[str | None, Query(description="Only to this employee")] = None,
                              ) -> list[schemas.DelegationPublic]:
    """Client packages the firm has passed on to its employees."""
    return await service_client_delegation.list_agent_delegations(database, principal.person_identifier, party, to=to)


@router.post(f"{CLIENT_DELEGATIONS}/agents/accesspackages", status_code=201, tags=["client delegation"],
             operation_id="accessmanagement_delegate_to_agent")
async def delegate_to_agent(party: AgentFirm, to: Agent, body: schemas.ClientDelegationInput,
                            principal: ClientDelegationWriter, database: DatabaseDep,
                            client: ClientQuery = None) -> list[schemas.DelegationPublic]:
    """Pass a client's packages (or those of every client) on to one of the firm's agents, who may then act
    for it."""
    return await service_client_delegation.delegate_to_agent(database, principal.audit_actor,
                                                             principal.person_identifier, party, to,
                                                             body.values, client=client)


@router.delete(f"{CLIENT_DELEGATIONS}/agents/accesspackages", status_code=204, tags=["client delegation"],
               operation_id="accessmanagement_remove_agent_packages")
async def remove_agent_packages(party: AgentFirm, to: Agent, principal: ClientDelegationWriter, database: DatabaseDep,
                                client: ClientQuery = None,
                                package: Annotated[list[str] | None, Query(description="Only these packages")] = None,
                                ) -> Response:
    """Take back client packages passed on to an employee."""
    await service_client_delegation.remove_agent_delegations(database, principal.audit_actor,
                                                             principal.person_identifier, party, to,
                                                             client=client, packages=package)
    return Response(status_code=204)


@router.get(f"{CLIENT_DELEGATIONS}/my/clients", tags=["client delegation"],
            operation_id="accessmanagement_my_clients")
async def my_clients(principal: MyClientsReader, database: DatabaseDep) -> list[schemas.MyClientPublic]:
    """The clients firms have passed packages on to the logged-in person for."""
    assert principal.person_identifier is not None
    return await service_client_delegation.list_my_clients(database, principal.person_identifier)


@router.get(f"{CLIENT_DELEGATIONS}/clientproviders", tags=["client delegation"],
            operation_id="accessmanagement_list_client_providers")
async def list_client_providers(principal: Person, database: DatabaseDep,
                                party: Annotated[str, Query(description="The client's organisation number")],
                                ) -> list[schemas.ClientProviderPublic]:
    """For a client's administrators: its accountants, auditors and business managers, their packages and
    which of their employees they passed them on to."""
    return await service_client_delegation.list_client_providers(database, principal.person_identifier, party)


@router.delete(f"{CLIENT_DELEGATIONS}/clientproviders", status_code=204, tags=["client delegation"],
               operation_id="accessmanagement_remove_client_provider_delegations")
async def remove_client_provider_delegations(
        principal: Person, database: DatabaseDep,
        party: Annotated[str, Query(description="The client's organisation number")],
        provider: Annotated[str, Query(description="The firm's organisation number")]) -> Response:
    """For a client's administrators: take back everything a firm passed on to its employees for the client."""
    await service_client_delegation.remove_client_provider_delegations(database, principal.audit_actor,
                                                                       principal.person_identifier, party, provider)
    return Response(status_code=204)


# --- access requests ------------------------------------------------------------------------------------------
REQUESTS = "/accessmanagement/api/v1/enduser/request"
RequestId = Annotated[uuid.UUID, Query(alias="id", description="The request's id")]
AskedParty = Annotated[str, Query(alias="party", description="The party asked (organisation number or "
                                  "fødselsnummer)")]
StatusFilter = Annotated[list[schemas.AccessRequestStatus] | None, Query(alias="status")]


@router.post(f"{REQUESTS}/package", status_code=201, tags=["access requests"],
             operation_id="accessmanagement_request_package")
async def request_package(body: schemas.PackageRequestCreate, principal: Person,
                          database: DatabaseDep) -> schemas.AccessRequestPublic:
    """Ask a party for an access package (a Draft until confirmed)."""
    return await service_access_requests.request_package(database, principal.audit_actor, principal.person_identifier,
                                                         body)


@router.post(f"{REQUESTS}/resource", status_code=201, tags=["access requests"],
             operation_id="accessmanagement_request_resource")
async def request_resource(body: schemas.ResourceRequestCreate, principal: Person,
                           database: DatabaseDep) -> schemas.AccessRequestPublic:
    """Ask a party for one right on a resource (a Draft until confirmed)."""
    return await service_access_requests.request_resource(database, principal.audit_actor, principal.person_identifier,
                                                          body)


@router.get(REQUESTS, tags=["access requests"], operation_id="accessmanagement_get_request")
async def get_request(request_id: RequestId, principal: Person, database: DatabaseDep) -> schemas.AccessRequestPublic:
    return await service_access_requests.get_access_request(database, principal.person_identifier, request_id)


@router.put(f"{REQUESTS}/draft/confirm", tags=["access requests"], operation_id="accessmanagement_confirm_request")
async def confirm_request(request_id: RequestId, principal: Person,
                          database: DatabaseDep) -> schemas.AccessRequestPublic:
    """Send a Draft to the party: it becomes Pending."""
    return await service_access_requests.submit_access_request(database, principal.audit_actor,
                                                               principal.person_identifier, request_id)


@router.get(f"{REQUESTS}/sent", tags=["access requests"], operation_id="accessmanagement_list_sent_requests")
async def list_sent_requests(principal: Person, database: DatabaseDep,
                             status: StatusFilter = None) -> list[schemas.AccessRequestPublic]:
    """The logged-in person's own requests, newest first."""
    return await service_access_requests.list_sent_access_requests(database, principal.person_identifier, status=status)


@router.put(f"{REQUESTS}/sent/withdraw", tags=["access requests"], operation_id="accessmanagement_withdraw_request")
async def withdraw_request(request_id: RequestId, principal: Person,
                           database: DatabaseDep) -> schemas.AccessRequestPublic:
    """Take back a Draft or Pending request."""
    return await service_access_requests.withdraw_access_request(database, principal.audit_actor,
                                                                 principal.person_identifier, request_id)


@router.get(f"{REQUESTS}/received", tags=["access requests"], operation_id="accessmanagement_list_received_requests")
async def list_received_requests(party: AskedParty, principal: Person, database: DatabaseDep,
                                 status: StatusFilter = None) -> list[schemas.AccessRequestPublic]:
    """Requests to a party, for its administrators and access managers, newest first."""
    return await service_access_requests.list_received_access_requests(database, principal.person_identifier, party,
                                                                       status=status)


@router.put(f"{REQUESTS}/received/approve", tags=["access requests"],
            operation_id="accessmanagement_approve_request")
async def approve_request(party: AskedParty, request_id: RequestId, principal: Person,
                          database: DatabaseDep) -> schemas.AccessRequestPublic:
    """Approve a Pending request: the package or right is delegated to the requester."""
    return await service_access_requests.approve_access_request(database, principal.audit_actor,
                                                                principal.person_identifier, party, request_id)


@router.put(f"{REQUESTS}/received/reject", tags=["access requests"], operation_id="accessmanagement_reject_request")
async def reject_request(party: AskedParty, request_id: RequestId, principal: Person,
                         database: DatabaseDep) -> schemas.AccessRequestPublic:
    """Reject a Pending request."""
    return await service_access_requests.reject_access_request(database, principal.audit_actor,
                                                               principal.person_identifier, party, request_id)


@router.get("/accessmanagement/api/v1/enduser/authorizedparties", tags=["access management"],
            operation_id="accessmanagement_enduser_authorized_parties")
async def enduser_authorized_parties(principal: PartiesReader, database: DatabaseDep,
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


# --- digitalt dødsbo (OED) roles, at oed-authz's paths --------------------------------------------------------
@router.post("/oed/api/v1/eventhandler", tags=["digitalt dødsbo"], operation_id="oed_handle_event")
async def handle_estate_event(event: schemas.EstateCloudEvent, principal: EstateRoleKeeper,
                              database: DatabaseDep) -> schemas.EstateRolesUpdated:
    """Digitalt dødsbo's CloudEvent with the probate court's roles in an estate as they now are
    (``heir-roles-updated``, ``case-status-updated``); the subscription's validation event is acknowledged."""
    return await service_oed.update_estate_roles(database, principal.audit_actor, event)


@router.post("/oed/api/v1/pip", tags=["digitalt dødsbo"], operation_id="oed_pip")
async def estate_role_assignments(body: schemas.PipRequest, principal: EstateRoleKeeper,
                                  database: DatabaseDep) -> schemas.PipResponse:
    """The roles between a deceased (``from``) and a recipient (``to``), either of which may be left out."""
    return await service_oed.estate_role_assignments(database, body)


@router.post("/oed/api/v1/authorization/roles/search", tags=["digitalt dødsbo"], operation_id="oed_search_roles")
async def search_estate_roles(body: schemas.RolesSearchRequest, principal: EstateRoleReader,
                              database: DatabaseDep) -> schemas.RolesSearchResponse:
    """The probate court's roles (formuesfullmakt, skifteattest ...) for an estate, a recipient or both."""
    return await service_oed.search_estate_roles(database, body)
