"""Use cases of Altinn Autorisasjon: the resource registry, decisions, delegations (client delegations among
them, to the agents a firm has registered), access requests and authorized parties.

Writes happen in one transaction each, with an audit entry; every delegation change and every access-request
status publishes an event (``altinn.accessmanagement.*``) in that transaction. A change to a resource or a
delegation is announced in its transaction (``core.cache_invalidation``): every process drops its caches.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import dcat, decision, pip, service_owners
from felles.authorization import schemas as s
from felles.authorization.catalogue import (
    ACCESS_MANAGER_PACKAGE,
    CLIENT_ADMINISTRATOR_PACKAGE,
    MAIN_ADMINISTRATOR_PACKAGE,
    PACKAGE_URN,
    load_catalogue,
)
from felles.authorization.models import (
    AccessList,
    AccessListMember,
    AccessListResource,
    AccessPackage,
    AccessRequest,
    AuthorizationRole,
    ClientAgent,
    Delegation,
    Estate,
    EstateRole,
    Resource,
    ServiceOwner,
)
from felles.authorization.parties import PartyRef, kind_of, parties_by_identifier, party_by, party_details
from felles.authorization.parties import sub_units as sub_units_of
from felles.authorization.policy_summary import AttributeValue, PolicySummary, SummaryCache, summarize
from felles.authorization.xacml import Request, Response, XacmlSyntaxError, request_from_json
from felles.authorization.xacml.engine import PolicyStore
from felles.authorization.xacml.model import ACTION_ID
from felles.authorization.xacml.policies import BrokenPolicy
from felles.core import audit, cache_invalidation
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database, insert_for
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, Problem
from felles.core.ids import uuid7
from felles.events import service as events
from felles.registers import service as registers

RESOURCE_AUDIT = "authorization.resource"
SERVICE_OWNER_AUDIT = "authorization.service_owner"
# Where the registry serves a resource (the export names each resource by this URL).
RESOURCE_PATH = "/resourceregistry/api/v1/resource"
DELEGATION_AUDIT = "authorization.delegation"
REQUEST_AUDIT = "authorization.access_request"
CLIENT_ADMINISTRATOR_ROLECODE = "kladm"
EVENT_SOURCE = "urn:altinn:accessmanagement"
EVENT_RESOURCE = "urn:altinn:resource:altinn_access_management"
EVENT_PUBLISHER = "/system/authorization"
DELEGATION_CREATED = "altinn.accessmanagement.delegation.created"
DELEGATION_DELETED = "altinn.accessmanagement.delegation.deleted"
CLIENT_DELEGATION_CREATED = "altinn.accessmanagement.clientdelegation.created"
CLIENT_DELEGATION_DELETED = "altinn.accessmanagement.clientdelegation.deleted"
CLIENT_AGENT_ADDED = "altinn.accessmanagement.clientdelegation.agent.added"
CLIENT_AGENT_REMOVED = "altinn.accessmanagement.clientdelegation.agent.removed"
CLIENT_AGENT_AUDIT = "authorization.client_agent"
# Altinn 3's role a firm assigns to the persons it may pass its clients' packages on to.
AGENT_ROLE = "urn:altinn:role:agent"
REQUEST_EVENT_PREFIX = "altinn.accessmanagement.request."  # + draft, pending, approved, rejected, withdrawn


# --- resource registry ----------------------------------------------------------------------------------------
def _check_owner(owner_organization: str | None, row: Resource) -> None:
    """Only the competent authority (the service owner's organisation) may change a resource."""
    if owner_organization is None or owner_organization != row.owner_organization_number:
        raise Forbidden("Only the resource's competent authority may change it.", code="not_resource_owner")


async def _registered_owner(session: AsyncSession, owner_organization: str | None) -> ServiceOwner:
    """The caller's entry in the registry of service owners; an organisation not in it owns nothing."""
    found = await service_owners.by_organization(session, owner_organization) if owner_organization else None
    if found is None:
        raise Forbidden(f"Organisation {owner_organization or '(none)'} is not a registered service owner, "
                        "so it cannot own resources or access lists.", code="not_service_owner")
    return found


async def _with_authority(session: AsyncSession, owner_organization: str | None,
                          resource: s.ServiceResource) -> s.ServiceResource:
    """The resource with its competent authority filled from the registry by the caller's organisation number.
    A body naming another owner is refused, never trusted."""
    owner = await _registered_owner(session, owner_organization)
    claimed = resource.hasCompetentAuthority
    if claimed.organization != owner.organization_number or claimed.orgcode.lower() != owner.orgcode:
        raise Forbidden(f"hasCompetentAuthority must be your own organisation ({owner.orgcode}, "
                        f"{owner.organization_number}).", code="not_resource_owner")
    return resource.model_copy(update={"hasCompetentAuthority": s.CompetentAuthority(
        organization=owner.organization_number, orgcode=owner.orgcode, name=dict(owner.name))})


def _service_owner_public(row: ServiceOwner) -> s.ServiceOwnerPublic:
    return s.ServiceOwnerPublic(orgcode=row.orgcode, organization=row.organization_number, name=dict(row.name))


async def add_service_owner(database: Database, actor: Actor, owner: s.ServiceOwnerPublic) -> s.ServiceOwnerPublic:
    """Register a service owner (an operator's task); its code and organisation number must both be new."""
    async with database.transaction() as session:
        await service_owners.seed(session)
        taken = await session.scalar(select(ServiceOwner).where(
            (ServiceOwner.orgcode == owner.orgcode) | (ServiceOwner.organization_number == owner.organization)))
        if taken is not None:
            raise Conflict(f"Service owner {taken.orgcode} ({taken.organization_number}) is registered already.",
                           code="service_owner_exists")
        row = ServiceOwner(orgcode=owner.orgcode, organization_number=owner.organization, name=owner.name)
        session.add(row)
        await audit.record(session, actor, action="create", resource=SERVICE_OWNER_AUDIT,
                           subjects=[owner.organization], detail={"orgcode": owner.orgcode})
    return _service_owner_public(row)


async def service_owner_code(database: Database, organization_number: str) -> str | None:
    """The code (`ttd`, `skd` …) under which an organisation owns services, or None when it owns none."""
    async with database.transaction() as session:
        await service_owners.seed(session)
        owner = await service_owners.by_organization(session, organization_number)
    return owner.orgcode if owner is not None else None


async def list_service_owners(database: Database) -> list[s.ServiceOwnerPublic]:
    """The registry of service owners, by code (seeded if it is empty: read often, by mirrors and pages)."""
    query = select(ServiceOwner).order_by(ServiceOwner.orgcode)
    async with database.transaction() as session:
        rows = list(await session.scalars(query))
        if not rows:
            await service_owners.seed(session)
            rows = list(await session.scalars(query))
        return [_service_owner_public(row) for row in rows]


def _public(row: Resource) -> s.ServiceResource:
    document = dict(row.document)
    document["versionId"] = row.version_id
    return s.ServiceResource.model_validate(document)


async def create_resource(database: Database, actor: Actor, owner_organization: str | None,
                          resource: s.ServiceResource) -> s.ServiceResource:
    now = utcnow()
    async with database.transaction() as session:
        resource = await _with_authority(session, owner_organization, resource)
        if await session.get(Resource, resource.identifier) is not None:
            raise Conflict(f"Resource {resource.identifier} already exists.", code="resource_exists")
        row = Resource(identifier=resource.identifier, created_at=now, updated_at=now, version_id=1,
                       policy_version=0)
        _fill(row, resource)
        session.add(row)
        await cache_invalidation.announce(session, decision.POLICY_TOPIC)
        await audit.record(session, actor, action="create", resource=RESOURCE_AUDIT,
                           subjects=[resource.hasCompetentAuthority.organization],
                           detail={"identifier": resource.identifier})
    return _public(row)


def _fill(row: Resource, resource: s.ServiceResource) -> None:
    row.resource_type = resource.resourceType.value
    row.owner_organization_number = resource.hasCompetentAuthority.organization
    row.owner_code = resource.hasCompetentAuthority.orgcode.lower()
    row.document = resource.model_dump(mode="json", exclude={"versionId"}, exclude_none=True)
    row.delegable, row.visible = resource.delegable, resource.visible
    row.access_list_mode = resource.accessListMode


async def update_resource(database: Database, actor: Actor, owner_organization: str | None, identifier: str,
                          resource: s.ServiceResource, *, if_match: int | None = None) -> s.ServiceResource:
    if resource.identifier != identifier:
        raise InvalidInput("The identifier in the body must match the path.", code="identifier_mismatch")
    async with database.transaction() as session:
        row = await session.get(Resource, identifier, with_for_update=True)
        if row is None:
            raise NotFound(f"No resource {identifier}.", code="resource_not_found")
        _check_owner(owner_organization, row)
        resource = await _with_authority(session, owner_organization, resource)
        if if_match is not None and if_match != row.version_id:
            raise PreconditionFailed("The resource has changed since it was read.", code="version_mismatch")
        _fill(row, resource)
        row.version_id += 1
        row.updated_at = utcnow()
        await cache_invalidation.announce(session, decision.POLICY_TOPIC)
        await audit.record(session, actor, action="update", resource=RESOURCE_AUDIT,
                           subjects=[row.owner_organization_number or ""], detail={"identifier": identifier})
    return _public(row)


async def delete_resource(database: Database, actor: Actor, owner_organization: str | None, identifier: str) -> None:
    async with database.transaction() as session:
        row = await session.get(Resource, identifier, with_for_update=True)
        if row is None:
            raise NotFound(f"No resource {identifier}.", code="resource_not_found")
        _check_owner(owner_organization, row)
        await session.delete(row)
        await cache_invalidation.announce(session, decision.POLICY_TOPIC)
        await audit.record(session, actor, action="delete", resource=RESOURCE_AUDIT,
                           subjects=[row.owner_organization_number or ""], detail={"identifier": identifier})


async def get_resource(database: Database, identifier: str) -> s.ServiceResource:
    async with database.transaction() as session:
        row = await session.get(Resource, identifier)
    if row is None:
        raise NotFound(f"No resource {identifier}.", code="resource_not_found")
    return _public(row)


async def list_resources(database: Database, *, include_hidden: bool = False) -> list[s.ServiceResource]:
    """The resource list (``resourcelist``): every visible resource, by identifier."""
    query = select(Resource).order_by(Resource.identifier)
    if not include_hidden:
        query = query.where(Resource.visible.is_(True))
    async with database.transaction() as session:
        return [_public(row) for row in await session.scalars(query)]


def _contains(texts: Iterable[str], needle: str | None) -> bool:
    return needle is None or any(needle.casefold() in text.casefold() for text in texts)


async def search_resources(database: Database, search: s.ResourceSearch) -> list[s.ServiceResource]:
    """Altinn's resource ``Search``: the visible resources matching every criterion given, text criteria as
    case-insensitive substrings of any language's text."""
    return [
        resource for resource in await list_resources(database)
        if _contains([resource.identifier], search.id)
        and _contains(resource.title.values(), search.title)
        and _contains(resource.description.values(), search.description)
        and _contains((keyword.word for keyword in resource.keywords), search.keyword)
        and (search.resourceType is None or resource.resourceType == search.resourceType)
    ]


async def export_resources(database: Database, base_url: str) -> str:
    """The visible resources as a CPSV-AP-NO catalogue in Turtle, each named by its URL in this registry."""
    return dcat.catalogue_turtle(await list_resources(database), f"{base_url.rstrip('/')}{RESOURCE_PATH}/")


# Real resource policies are a few kilobytes; a policy is read whole on every decision and summary.
MAX_POLICY_BYTES = 1024 * 1024


def validate_policy(policy_xml: bytes) -> None:
    """A policy must be one XACML 3.0 ``<Policy>`` of at most ``MAX_POLICY_BYTES`` the engine compiles."""
    if len(policy_xml) > MAX_POLICY_BYTES:
        raise Problem(f"A policy may be at most {MAX_POLICY_BYTES // 1024} KiB.", status=413,
                      code="policy_too_large", title="Policy too large")
    try:
        compiled = PolicyStore().compile(policy_xml)
    except XacmlSyntaxError as exc:
        raise InvalidInput(f"The policy is not XML: {exc}", code="invalid_policy") from None
    if isinstance(compiled, BrokenPolicy) or compiled.is_policy_set:
        reason = compiled.message if isinstance(compiled, BrokenPolicy) else "a PolicySet is not accepted"
        raise InvalidInput(f"The policy is not a valid XACML 3.0 Policy: {reason}", code="invalid_policy")


async def put_policy(database: Database, actor: Actor, owner_organization: str | None, identifier: str,
                     policy_xml: bytes) -> int:
    """Store the resource's policy (replacing the previous one); returns its new version."""
    validate_policy(policy_xml)
    async with database.transaction() as session:
        row = await session.get(Resource, identifier, with_for_update=True)
        if row is None:
            raise NotFound(f"No resource {identifier}.", code="resource_not_found")
        _check_owner(owner_organization, row)
        row.policy_xml = policy_xml.decode("utf-8-sig")
        row.policy_version += 1
        row.updated_at = utcnow()
        version = row.policy_version
        await cache_invalidation.announce(session, decision.POLICY_TOPIC)
        await audit.record(session, actor, action="update_policy", resource=RESOURCE_AUDIT,
                           subjects=[row.owner_organization_number or ""],
                           detail={"identifier": identifier, "policyVersion": version})
    return version


async def register_app_resource_in_transaction(session: AsyncSession, actor: Actor, org: str, app: str,
                                              title: dict[str, str], policy_xml: bytes) -> str:
    """Make a deployed app's policy resource ``app_{org}_{app}`` of the registry (as Altinn does at deploy), in the
    deployer's transaction; a new version replaces the policy. The owner comes from the service-owner registry."""
    validate_policy(policy_xml)
    await service_owners.seed(session)
    owner = await service_owners.by_code(session, org)
    if owner is None:
        raise Forbidden(f"{org} is not a registered service owner, so it cannot deploy apps.",
                        code="not_service_owner")
    identifier = f"{APP_RESOURCE_PREFIX}{org}_{app}"
    resource = s.ServiceResource(
        identifier=identifier, title=title or {"nb": app}, resourceType=s.ResourceType.ALTINN_APP,
        hasCompetentAuthority=s.CompetentAuthority(organization=owner.organization_number, orgcode=owner.orgcode,
                                                   name=dict(owner.name)))
    now = utcnow()
    row = await session.get(Resource, identifier, with_for_update=True)
    if row is None:
        row = Resource(identifier=identifier, created_at=now, version_id=1, policy_version=0)
        session.add(row)
    else:
        row.version_id += 1
    _fill(row, resource)
    row.policy_xml = policy_xml.decode("utf-8-sig")
    row.policy_version += 1
    row.updated_at = now
    await cache_invalidation.announce(session, decision.POLICY_TOPIC)
    await audit.record(session, actor, action="deploy_app", resource=RESOURCE_AUDIT,
                       subjects=[owner.organization_number], detail={"identifier": identifier})
    return identifier


async def get_policy(database: Database, identifier: str) -> str:
    async with database.transaction() as session:
        row = await session.get(Resource, identifier)
    if row is None or not row.policy_xml:
        raise NotFound(f"No policy for resource {identifier}.", code="policy_not_found")
    return row.policy_xml


# --- what a resource's policy grants: rules, rights and subjects ----------------------------------------------
_POLICIES_PER_READ = 500  # policy documents read per query when summaries are missing
_summaries = SummaryCache()


async def _policy_summaries(database: Database, identifiers: Collection[str] | None = None
                            ) -> list[tuple[str, PolicySummary]]:
    """(identifier, summary) of every resource with a policy (or of ``identifiers`` only), by identifier. Only
    the policy versions this process has not summarised yet are read and analysed."""
    versions = (select(Resource.identifier, Resource.created_at, Resource.policy_version)
                .where(Resource.policy_version > 0).order_by(Resource.identifier))
    if identifiers is not None:
        versions = versions.where(Resource.identifier.in_(sorted(identifiers)))
    async with database.transaction() as session:
        keys = {row.identifier: (database.url, row.identifier, row.created_at, row.policy_version)
                for row in await session.execute(versions)}
        found = {resource: _summaries.get(key) for resource, key in keys.items()}
        missing = [resource for resource, summary in found.items() if summary is None]
        for start in range(0, len(missing), _POLICIES_PER_READ):
            documents = await session.execute(select(Resource.identifier, Resource.policy_xml).where(
                Resource.identifier.in_(missing[start:start + _POLICIES_PER_READ])))
            for resource, policy_xml in documents:
                found[resource] = summary = summarize(policy_xml or "")
                _summaries.add(keys[resource], summary)
    return [(resource, summary) for resource, summary in found.items() if summary is not None]


async def _policy_summary(database: Database, identifier: str) -> PolicySummary:
    summaries = await _policy_summaries(database, [identifier])
    if summaries:
        return summaries[0][1]
    async with database.transaction() as session:
        exists = await session.scalar(select(Resource.identifier).where(Resource.identifier == identifier))
    if exists is None:
        raise NotFound(f"No resource {identifier}.", code="resource_not_found")
    raise NotFound(f"Resource {identifier} has no policy.", code="policy_not_found")


async def minimum_authentication_levels(database: Database, identifiers: Iterable[str]) -> dict[str, int]:
    """The authentication level (0-4) each resource's policy requires of a user of its rights (its
    ``urn:altinn:minimum-authenticationlevel`` obligation, 0 when it names none), for the resources that have a
    policy: the level a service enforces besides the decision (the PDP only returns the obligation)."""
    return {resource: summary.minimum_authentication_level
            for resource, summary in await _policy_summaries(database, set(identifiers))}


def _type_value(attribute: AttributeValue) -> s.UrnTypeValue:
    return s.UrnTypeValue(type=attribute.type, value=attribute.value)


def _attribute_match(attribute: AttributeValue) -> s.AttributeMatchV2:
    return s.AttributeMatchV2(type=attribute.type, value=attribute.value, urn=attribute.urn)


async def get_policy_rules(database: Database, identifier: str) -> list[s.PolicyRule]:
    """The resource policy's Permit rules flattened (Altinn's ``policy/rules``): one entry per combination of
    subject, action and resource a rule names."""
    summary = await _policy_summary(database, identifier)
    return [s.PolicyRule(subject=[_type_value(a) for a in rule.subject], action=_type_value(rule.action),
                         resource=[_type_value(a) for a in rule.resource]) for rule in summary.rules]


async def get_policy_rights(database: Database, identifier: str) -> list[s.PolicyRight]:
    """The rights (action + resource) the resource policy grants, each with the subjects it grants it to."""
    summary = await _policy_summary(database, identifier)
    return [s.PolicyRight(
        action=_type_value(right.action), resource=[_type_value(a) for a in right.resource],
        subjects=[s.PolicySubject(subjectAttributes=[_type_value(a) for a in subject]) for subject in right.subjects],
        rightKey=right.key, subjectTypes=right.subject_types) for right in summary.rights]


async def get_policy_subjects(database: Database, identifier: str) -> s.Paginated[s.AttributeMatchV2]:
    """The roles, access packages, organisations ... the resource policy grants something to."""
    summary = await _policy_summary(database, identifier)
    return s.Paginated[s.AttributeMatchV2](data=[_attribute_match(subject) for subject in summary.subjects])


def _subject_urn(value: str) -> str:
    parts = value.split(":")
    if len(parts) < 3 or parts[0].lower() != "urn" or not all(parts):
        raise InvalidInput(f"{value!r} is not a subject URN such as urn:altinn:rolecode:dagl.",
                           code="invalid_subject")
    return value.lower()


async def find_resources_for_subjects(database: Database, subjects: list[str]) -> s.Paginated[s.SubjectResources]:
    """For each subject URN (case-insensitive), the resources whose policies grant it something; subjects no
    policy names are left out, as in Altinn's ``bysubjects``."""
    wanted = {_subject_urn(subject): None for subject in subjects}
    found: dict[str, tuple[AttributeValue, list[str]]] = {}
    for resource, summary in await _policy_summaries(database):
        for subject in summary.subjects_among(wanted.keys()):
            found.setdefault(subject.urn.lower(), (subject, []))[1].append(resource)
    return s.Paginated[s.SubjectResources](data=[
        s.SubjectResources(subject=_attribute_match(subject), resources=[
            _attribute_match(AttributeValue(decision.RESOURCE_ID, resource)) for resource in resources])
        for subject, resources in (found[urn] for urn in wanted if urn in found)])


# --- access lists ---------------------------------------------------------------------------------------------
async def _check_list_owner(session: AsyncSession, owner: str, owner_organization: str | None) -> ServiceOwner:
    """Only the service owner registered under the code ``owner`` may read or change its access lists."""
    registered = await _registered_owner(session, owner_organization)
    if registered.orgcode != owner.lower():
        raise Forbidden(f"Only service owner {owner} may manage its access lists.", code="not_list_owner")
    return registered


async def _access_list(session: Any, owner: str, identifier: str) -> AccessList:
    row = (await session.scalars(select(AccessList).where(
        AccessList.owner == owner.lower(), AccessList.identifier == identifier))).first()
    if row is None:
        raise NotFound(f"No access list {owner}/{identifier}.", code="access_list_not_found")
    return row  # type: ignore[no-any-return]


async def upsert_access_list(database: Database, actor: Actor, owner_organization: str | None, owner: str,
                             identifier: str, body: s.AccessListCreate) -> s.AccessListPublic:
    now = utcnow()
    async with database.transaction() as session:
        await _check_list_owner(session, owner, owner_organization)
        row = (await session.scalars(select(AccessList).where(
            AccessList.owner == owner.lower(), AccessList.identifier == identifier))).first()
        if row is None:
            row = AccessList(id=uuid7(), owner=owner.lower(), identifier=identifier, name=body.name,
                             description=body.description, version=1, created_at=now, updated_at=now)
            session.add(row)
        else:
            row.name, row.description, row.version, row.updated_at = body.name, body.description, row.version + 1, now
        await audit.record(session, actor, action="upsert_access_list", resource=RESOURCE_AUDIT,
                           subjects=[owner_organization or ""], detail={"owner": owner, "identifier": identifier})
    return await _access_list_public(database, owner, identifier)


async def get_access_list(database: Database, owner_organization: str | None, owner: str,
                          identifier: str) -> s.AccessListPublic:
    """An access list with its members and resources, for its owner only."""
    async with database.transaction() as session:
        await _check_list_owner(session, owner, owner_organization)
    return await _access_list_public(database, owner, identifier)


async def _access_list_public(database: Database, owner: str, identifier: str) -> s.AccessListPublic:
    async with database.transaction() as session:
        row = await _access_list(session, owner, identifier)
        members = list(await session.scalars(select(AccessListMember.organization_number).where(
            AccessListMember.access_list_id == row.id).order_by(AccessListMember.organization_number)))
        connections = (await session.execute(select(AccessListResource.resource_identifier,
                                                    AccessListResource.actions)
                                             .where(AccessListResource.access_list_id == row.id))).all()
    return s.AccessListPublic(
        id=row.id, owner=row.owner, identifier=row.identifier, name=row.name, description=row.description,
        version=row.version, members=members,
        resourceConnections=[{"resourceIdentifier": r, "actions": a} for r, a in connections])


async def set_access_list_members(database: Database, actor: Actor, owner_organization: str | None, owner: str,
                                  identifier: str, members: list[str]) -> s.AccessListPublic:
    """Replace the members (organisation numbers) of an access list."""
    if any(not (m.isdigit() and len(m) == 9) for m in members):
        raise InvalidInput("Access list members are organisation numbers.", code="invalid_member")
    async with database.transaction() as session:
        await _check_list_owner(session, owner, owner_organization)
        row = await _access_list(session, owner, identifier)
        await session.execute(delete(AccessListMember).where(AccessListMember.access_list_id == row.id))
        for member in dict.fromkeys(members):
            session.add(AccessListMember(access_list_id=row.id, organization_number=member))
        row.version += 1
        await audit.record(session, actor, action="set_access_list_members", resource=RESOURCE_AUDIT,
                           subjects=list(dict.fromkeys(members)) or [owner_organization or ""],
                           detail={"owner": owner, "identifier": identifier})
    return await _access_list_public(database, owner, identifier)


async def connect_resource(database: Database, actor: Actor, owner_organization: str | None, owner: str,
                           identifier: str, resource: str, actions: list[str] | None) -> s.AccessListPublic:
    async with database.transaction() as session:
        registered = await _check_list_owner(session, owner, owner_organization)
        row = await _access_list(session, owner, identifier)
        connected = await session.get(Resource, resource)
        if connected is None:
            raise NotFound(f"No resource {resource}.", code="resource_not_found")
        if connected.owner_organization_number != registered.organization_number:
            raise Forbidden(f"Resource {resource} is not {owner}'s: an access list opens only its owner's "
                            "resources.", code="not_resource_owner")
        await session.execute(delete(AccessListResource).where(
            AccessListResource.access_list_id == row.id, AccessListResource.resource_identifier == resource))
        session.add(AccessListResource(access_list_id=row.id, resource_identifier=resource,
                                       actions=actions or None))
        row.version += 1
        await audit.record(session, actor, action="connect_access_list", resource=RESOURCE_AUDIT,
                           subjects=[owner_organization or ""],
                           detail={"owner": owner, "identifier": identifier, "resource": resource})
    return await _access_list_public(database, owner, identifier)


# --- decisions ------------------------------------------------------------------------------------------------
async def authorize(database: Database, request: Request,
                    instances: decision.InstanceSource | None = None) -> Response:
    """Decide an XACML request (single or MultiRequests) as Altinn's PDP does."""
    return await decision.AltinnDecisionPoint(database, instances).decide(request)


async def authorize_access_list(database: Database,
                                query: s.AccessListAuthorizationRequest) -> s.AccessListAuthorizationResponse:
    """Altinn's access-list authorization: is the subject organisation on an access list connected to the resource
    (for the action, where the connection names actions)? A person cannot be on an access list: NotApplicable."""
    if query.resource.type != decision.RESOURCE_ID:
        raise InvalidInput(f"resource.type must be {decision.RESOURCE_ID}.", code="invalid_resource")
    if query.action is not None and query.action.type != ACTION_ID:
        raise InvalidInput(f"action.type must be {ACTION_ID}.", code="invalid_action")
    async with database.transaction() as session:
        if await session.scalar(select(Resource.identifier).where(
                Resource.identifier == query.resource.value)) is None:
            raise NotFound(f"No resource {query.resource.value}.", code="resource_not_found")
        if query.subject.type == decision.ORGANIZATION_ID:
            subject = query.subject.value
            _check_identifier(subject, "subject")
        elif query.subject.type == decision.PARTY_UUID:
            try:
                ref = await party_by(session, party_uuid=uuid.UUID(query.subject.value))
            except ValueError:
                raise InvalidInput("subject.value must be a party UUID.", code="invalid_party") from None
            if ref is None:
                raise NotFound(f"No party {query.subject.value}.", code="party_not_found")
            subject = ref.identifier
        else:
            raise InvalidInput(f"subject.type must be {decision.ORGANIZATION_ID} or {decision.PARTY_UUID}.",
                               code="invalid_subject")
    if kind_of(subject) != "organization":
        result = "NotApplicable"
    else:
        action = query.action.value if query.action is not None else ""
        authorized = await pip.on_access_list(database, query.resource.value, subject, action)
        result = "Authorized" if authorized else "NotAuthorized"
    return s.AccessListAuthorizationResponse(**query.model_dump(), result=result)


async def role_names(database: Database, codes: list[str]) -> dict[str, dict[str, str]]:
    """The names of roles by the codes authorized parties list them with (`dagl`, `priv` ...)."""
    await load_catalogue(database)  # seeds the catalogue on first use
    async with database.transaction() as session:
        rows = (await session.execute(select(AuthorizationRole.legacy_code, AuthorizationRole.name).where(
            AuthorizationRole.legacy_code.in_([code.lower() for code in codes])))).all()
    return {code: name for code, name in rows if code}


# --- access packages and delegations --------------------------------------------------------------------------
async def list_access_packages(database: Database) -> list[s.AccessPackagePublic]:
    await load_catalogue(database)  # seeds the catalogue on first use
    async with database.transaction() as session:
        rows = list(await session.scalars(select(AccessPackage).order_by(AccessPackage.code)))
    return [s.AccessPackagePublic(id=p.id, urn=PACKAGE_URN + p.code, code=p.code, name=p.name,
                                  description=p.description, area=p.area_urn, isDelegable=p.is_delegable,
                                  isAssignable=p.is_assignable) for p in rows]


def _package_code(value: str) -> str:
    return value.removeprefix(PACKAGE_URN)


def _check_identifier(value: str, what: str) -> None:
    if kind_of(value) == "systemuser":
        try:
            uuid.UUID(value)
        except ValueError:
            raise InvalidInput(f"{what} must be a fødselsnummer, an organisation number or a UUID.",
                               code="invalid_party") from None
    elif len(value) not in (9, 11):
        raise InvalidInput(f"{what} must be a fødselsnummer or an organisation number.", code="invalid_party")


async def _access_for(database: Database, person: str, party: str) -> pip.PartyAccess:
    return (await pip.subject_access(database, person, with_persons=kind_of(party) == "person")).for_party(party)


def _manages_access(person: str, party: str, access: pip.PartyAccess) -> bool:
    return (person == party or access.via_key_role or access.is_main_administrator
            or ACCESS_MANAGER_PACKAGE in access.packages)


async def may_manage_access(database: Database, person: str, party: str) -> bool:
    """Whether ``person`` may manage ``party``'s access (Altinn's access-management write): the party
    themself, a key role or main administrator of it, or a person given the access-manager package."""
    return _manages_access(person, party, await _access_for(database, person, party))


async def _administrator_access(database: Database, person: str | None, party: str) -> pip.PartyAccess:
    """What the acting person holds for ``party``; Forbidden unless a main administrator or access manager."""
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may manage access.", code="person_required")
    access = await _access_for(database, person, party)
    if not _manages_access(person, party, access):
        raise Forbidden("Only the main administrator or an access manager of the party may manage its access.",
                        code="not_access_manager")
    return access


async def _check_may_give_package(database: Database, person: str | None, party: str, to: str, code: str) -> None:
    """The giver must be allowed to delegate the package: through a role that lets them (key roles, the main
    administrator), or as an access manager holding it."""
    _check_identifier(party, "party")
    _check_identifier(to, "to")
    catalogue = await load_catalogue(database)
    package = catalogue.packages.get(code)
    if package is None:
        raise NotFound(f"No access package {code}.", code="package_not_found")
    if not package.is_assignable:
        raise InvalidInput(f"Package {code} comes only through a role; it cannot be given.",
                           code="package_not_assignable")
    if code == MAIN_ADMINISTRATOR_PACKAGE and kind_of(to) != "person":
        raise InvalidInput("The main administrator must be a person.", code="main_administrator_not_person")
    if to == party:
        raise InvalidInput("A party cannot give access to itself.", code="self_delegation")
    access = await _administrator_access(database, person, party)
    may = (code in access.delegable_packages
           or (package.is_delegable and code in access.packages and (
               access.via_key_role or access.is_main_administrator or ACCESS_MANAGER_PACKAGE in access.packages))
           or (person == party and package.is_delegable and code in access.packages))
    if not may:
        raise Forbidden(f"You may not give the package {code} on behalf of {party}.",
                        code="package_not_delegable_by_you")


async def _check_may_give_right(database: Database, person: str | None, party: str, to: str, resource: str,
                                actions: list[str]) -> None:
    """The resource must be delegable and the giver must themself be permitted each action for the party
    (what you do not have, you cannot give)."""
    _check_identifier(party, "party")
    _check_identifier(to, "to")
    if to == party:
        raise InvalidInput("A party cannot give access to itself.", code="self_delegation")
    async with database.transaction() as session:
        row = await session.get(Resource, resource)
    if row is None:
        raise NotFound(f"No resource {resource}.", code="resource_not_found")
    if not row.delegable:
        raise InvalidInput(f"Resource {resource} is not delegable.", code="resource_not_delegable")
    await _administrator_access(database, person, party)
    assert person is not None
    for action in actions:
        if not await is_permitted(database, person, party, resource, action):
            raise Forbidden(f"You may not give {action} on {resource}: you do not have it yourself.",
                            code="right_not_delegable_by_you")


async def delegate_package(database: Database, actor: Actor, person: str | None,
                           body: s.PackageDelegationCreate) -> s.DelegationPublic:
    """Give an access package on behalf of ``body.party`` (see ``_check_may_give_package`` for who may)."""
    code = _package_code(body.package)
    await _check_may_give_package(database, person, body.party, body.to, code)
    async with database.transaction() as session:
        row = await _add_delegation(session, actor, body.party, body.to, package=code)
    return _delegation_public(row)


async def delegate_rights(database: Database, actor: Actor, person: str | None,
                          body: s.RightDelegationCreate) -> list[s.DelegationPublic]:
    """Give single rights (resource + actions) that the giver has themself on behalf of ``body.party``."""
    actions = list(dict.fromkeys(body.actions))
    await _check_may_give_right(database, person, body.party, body.to, body.resource, actions)
    async with database.transaction() as session:
        rows = [await _add_delegation(session, actor, body.party, body.to, resource=body.resource, action=action)
                for action in actions]
    return [_delegation_public(row) for row in rows]


_IDENTIFIER_ATTRIBUTES = {"person": decision.PERSON_ID, "organization": decision.ORGANIZATION_ID,
                          "systemuser": decision.SYSTEM_USER}


def _identifier_attribute(identifier: str) -> dict[str, str]:
    """A fødselsnummer, organisation number or system user UUID as the XACML attribute that names it."""
    return {"AttributeId": _IDENTIFIER_ATTRIBUTES[kind_of(identifier)], "Value": identifier}


async def is_permitted(database: Database, subject: str, party: str | None, resource: str, action: str) -> bool:
    """Whether ``subject`` may do ``action`` on ``resource`` for ``party`` (one decision, obligations aside).
    Without a party the decision is about the subject itself, as Altinn asks for `requestconsent`: the policy
    then sees the subject's party type and access lists."""
    return await _is_permitted(database, [_identifier_attribute(subject)], party, resource, action)


async def _is_permitted(database: Database, subject: list[dict[str, str]], party: str | None, resource: str,
                        action: str) -> bool:
    resource_attributes = [{"AttributeId": decision.RESOURCE_ID, "Value": resource}]
    if party is not None:
        resource_attributes.append(_identifier_attribute(party))
    request = request_from_json({"Request": {
        "AccessSubject": [{"Attribute": subject}],
        "Action": [{"Attribute": [{"AttributeId": ACTION_ID, "Value": action}]}],
        "Resource": [{"Attribute": resource_attributes}],
    }})
    return (await authorize(database, request)).decision.value == "Permit"


async def party_by_id(database: Database, party_id: int) -> PartyRef | None:
    """The party with Altinn's ``partyId`` and what the registers say of it, or None when no party has it."""
    async with database.transaction() as session:
        found = await party_by(session, party_id=party_id)
    return await party_of(database, found.identifier) if found is not None else None


async def party_of(database: Database, identifier: str) -> PartyRef:
    """The party (``partyId``, name, type …) of a fødselsnummer or organisation number, registered on first use."""
    return (await party_details(database, [identifier]))[identifier]


async def may_use_app(database: Database, subject: str, party: str, org: str, app: str, action: str, *,
                      task: str | None = None, end_event: str | None = None,
                      service_owner: str | None = None) -> bool:
    """Whether ``subject`` may do ``action`` (instantiate, read, write, confirm, sign, pay, complete …) in app
    ``org/app`` for ``party``, at the instance's current ``task`` or ended at ``end_event``, by the app's policy.
    ``service_owner`` is the caller's service-owner code, which app policies grant rights to (urn:altinn:org)."""
    resource_attributes = [{"AttributeId": decision.ORG, "Value": org}, {"AttributeId": decision.APP, "Value": app},
                           _identifier_attribute(party)]
    if task is not None:
        resource_attributes.append({"AttributeId": decision.TASK, "Value": task})
    if end_event is not None:
        resource_attributes.append({"AttributeId": decision.END_EVENT, "Value": end_event})
    subject_attributes = [_identifier_attribute(subject)]
    if service_owner is not None:
        subject_attributes.append({"AttributeId": decision.ORG, "Value": service_owner})
    request = request_from_json({"Request": {
        "AccessSubject": [{"Attribute": subject_attributes}],
        "Action": [{"Attribute": [{"AttributeId": ACTION_ID, "Value": action}]}],
        "Resource": [{"Attribute": resource_attributes}],
    }})
    return (await authorize(database, request)).decision.value == "Permit"


# --- the decisions Altinn Events asks for ---------------------------------------------------------------------
SUBSCRIBE_ACTION = "subscribe"  # reading a party's events of a resource (Altinn's SubscriptionXacmlMapper)
PUBLISH_ACTION = "publish"  # publishing events of a resource (Altinn Events' publish check)
APP_RESOURCE_PREFIX = "app_"  # an app's resource: app_{org}_{app}


class EventDecisions:
    """Altinn Events' questions to the decision point; registered with the events component below."""

    async def may_subscribe(self, database: Database, subject: str, party: str, resource: str) -> bool:
        return await is_permitted(database, subject, party, resource, SUBSCRIBE_ACTION)

    async def may_publish(self, database: Database, subject: str, resource: str) -> bool:
        """A service owner publishes for its own resources (an app's resource is its org's); anyone else needs
        a Permit for ``publish`` on the resource. A service owner is also named by its code
        (``urn:altinn:org``), as the policies of apps grant it."""
        async with database.transaction() as session:
            owner = (await service_owners.by_organization(session, subject)
                     if kind_of(subject) == "organization" else None)
            registered = (await session.execute(select(Resource.owner_organization_number)
                                                .where(Resource.identifier == resource))).first()
        if registered is not None:
            if registered.owner_organization_number == subject:
                return True
        elif owner is not None and resource.startswith(f"{APP_RESOURCE_PREFIX}{owner.orgcode}_"):
            return True
        attributes = [_identifier_attribute(subject)]
        if owner is not None:
            attributes.append({"AttributeId": decision.ORG, "Value": owner.orgcode})
        return await _is_permitted(database, attributes, None, resource, PUBLISH_ACTION)


events.use_authorizer(EventDecisions())


def _right_key(package: str | None, resource: str | None, action: str | None, facilitator: str | None) -> str:
    """One delegation of a thing from one party to another; a client delegation per firm it came through."""
    right = f"package:{package}" if package is not None else f"resource:{resource}:{action}"
    return f"client:{facilitator}:{right}" if facilitator is not None else right


async def _add_delegation(session: AsyncSession, actor: Actor, party: str, to: str, *, package: str | None = None,
                          resource: str | None = None, action: str | None = None, facilitator: str | None = None,
                          facilitator_role: str | None = None) -> Delegation:
    """Store a delegation in the caller's transaction (audited, with its event); an existing one is kept."""
    right_key = _right_key(package, resource, action, facilitator)
    existing = (await session.scalars(select(Delegation).where(
        Delegation.to_party == to, Delegation.from_party == party, Delegation.right_key == right_key))).first()
    if existing is not None:
        return existing
    row = Delegation(id=uuid7(), from_party=party, to_party=to, to_kind=kind_of(to), package_code=package,
                     resource_identifier=resource, action=action, right_key=right_key, delegated_by=actor.actor,
                     created_at=utcnow(), facilitator=facilitator, facilitator_role=facilitator_role)
    session.add(row)
    await cache_invalidation.announce(session, pip.ACCESS_TOPIC)
    await parties_by_identifier(session, [party, to])
    await audit.record(session, actor, action="delegate", resource=DELEGATION_AUDIT, subjects=[party, to],
                       detail={"right": right_key})
    await _publish(session, CLIENT_DELEGATION_CREATED if facilitator else DELEGATION_CREATED, party, to,
                   _delegation_public(row).model_dump(mode="json", exclude_none=True))
    return row


async def _remove_delegation(session: AsyncSession, actor: Actor, row: Delegation) -> None:
    """Delete a delegation in the caller's transaction (audited, with its event)."""
    await session.execute(delete(Delegation).where(Delegation.id == row.id))
    await cache_invalidation.announce(session, pip.ACCESS_TOPIC)
    await audit.record(session, actor, action="revoke", resource=DELEGATION_AUDIT,
                       subjects=[row.from_party, row.to_party], detail={"right": row.right_key})
    await _publish(session, CLIENT_DELEGATION_DELETED if row.facilitator else DELEGATION_DELETED, row.from_party,
                   row.to_party, _delegation_public(row).model_dump(mode="json", exclude_none=True))


def _delegation_public(row: Delegation) -> s.DelegationPublic:
    return s.DelegationPublic(id=row.id, fromParty=row.from_party, toParty=row.to_party,
                              package=PACKAGE_URN + row.package_code if row.package_code else None,
                              resource=row.resource_identifier, action=row.action, delegatedBy=row.delegated_by,
                              created=row.created_at.isoformat(), facilitator=row.facilitator,
                              facilitatorRole=row.facilitator_role)


async def revoke_delegation(database: Database, actor: Actor, person: str | None, delegation_id: uuid.UUID) -> None:
    """Revoke a delegation: by an administrator of the party that gave it, by its receiver, or (a client
    delegation) by a client administrator of the firm it was passed on through."""
    async with database.transaction() as session:
        row = await session.get(Delegation, delegation_id)
    if row is None:
        raise NotFound("No such delegation.", code="delegation_not_found")
    if person != row.to_party:
        if row.facilitator is None or not await _is_client_administrator(database, person, row.facilitator):
            await _administrator_access(database, person, row.from_party)
    async with database.transaction() as session:
        await _remove_delegation(session, actor, row)


async def list_delegations(database: Database, person: str | None, *, party: str | None = None,
                           to: str | None = None) -> list[s.DelegationPublic]:
    """Delegations given by ``party`` (for its administrators) or received by ``to`` (for the receiver)."""
    if party is None and to is None:
        raise InvalidInput("Give party or to.", code="missing_filter")
    if party is not None:
        await _administrator_access(database, person, party)
    if to is not None and to != person:
        await _administrator_access(database, person, to)
    query = select(Delegation).order_by(Delegation.id)
    if party is not None:
        query = query.where(Delegation.from_party == party)
    if to is not None:
        query = query.where(Delegation.to_party == to)
    async with database.transaction() as session:
        return [_delegation_public(row) for row in await session.scalars(query)]


# --- events ---------------------------------------------------------------------------------------------------
def _event_party(identifier: str) -> str:
    """A party as Altinn Events names subjects, so the party itself may read the event."""
    kind = kind_of(identifier)
    return {"person": "/person/", "organization": "/org/"}.get(kind, "/systemuser/") + identifier


async def _publish(session: AsyncSession, event_type: str, party: str, other: str, data: dict[str, Any]) -> None:
    """An access-management event about ``party`` (the one giving or asked) and ``other`` (the receiver), in
    the transaction of the change."""
    await events.publish_in_transaction(
        session, source=EVENT_SOURCE, type=event_type, subject=_event_party(party),
        alternativesubject=_event_party(other), resource=EVENT_RESOURCE, data=data, publisher=EVENT_PUBLISHER)


# --- client delegation (klientdelegering) --------------------------------------------------------------------
async def _is_client_administrator(database: Database, person: str | None, firm: str) -> bool:
    """Klientadministrator of ``firm``: its main administrator, a key role (they hold KLADM), or a person
    given the package ``klientadministrator``."""
    if person is None:
        return False
    access = (await pip.subject_access(database, person, with_persons=False)).for_party(firm)
    return (access.is_main_administrator or CLIENT_ADMINISTRATOR_ROLECODE in access.rolecodes
            or CLIENT_ADMINISTRATOR_PACKAGE in access.packages)


async def _client_administrator_access(database: Database, person: str | None, firm: str) -> None:
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may manage clients.", code="person_required")
    if not await _is_client_administrator(database, person, firm):
        raise Forbidden("Only a client administrator of the organisation may manage its clients.",
                        code="not_client_administrator")


async def _clients_of(database: Database, firm: str) -> dict[str, dict[str, set[str]]]:
    """client → role (regnskapsforer, revisor, forretningsforer) → the packages the firm holds for it."""
    catalogue = await load_catalogue(database)
    access = await pip.subject_access(database, firm, with_persons=False)
    clients: dict[str, dict[str, set[str]]] = {}
    for client, party in access.parties.items():
        ref = access.details.get(client)
        for role in party.roles & pip.CLIENT_ROLES:
            packages = catalogue.packages_of_role(role, ref.unit_type if ref else None)[0]
            if packages:
                clients.setdefault(client, {})[role] = packages
    return clients


def _role_packages(roles: dict[str, set[str]]) -> list[s.ClientRolePackages]:
    return [s.ClientRolePackages(role=role, packages=sorted(PACKAGE_URN + p for p in packages))
            for role, packages in sorted(roles.items())]


async def list_clients(database: Database, person: str | None, party: str) -> list[s.ClientPublic]:
    """Klientadministrasjon: the clients of accountant, auditor or business manager ``party`` — each with the
    roles it holds for the client, the packages they give, and what it has passed on to its employees. For a
    client administrator of ``party``."""
    await _client_administrator_access(database, person, party)
    clients = await _clients_of(database, party)
    details = await pip.party_details(database, list(clients))
    given: dict[str, list[s.DelegationPublic]] = {}
    async with database.transaction() as session:
        for row in await session.scalars(select(Delegation).where(Delegation.facilitator == party)
                                         .order_by(Delegation.to_party, Delegation.id)):
            given.setdefault(row.from_party, []).append(_delegation_public(row))
    result = []
    for client in sorted(clients):
        ref = details.get(client)
        result.append(s.ClientPublic(organizationNumber=client, name=ref.name if ref else None,
                                     unitType=ref.unit_type if ref else None, access=_role_packages(clients[client]),
                                     delegations=given.get(client, [])))
    return result


def _agent_assignment_public(row: ClientAgent) -> s.AgentAssignmentPublic:
    return s.AgentAssignmentPublic(id=row.id, role=AGENT_ROLE, fromParty=row.firm, toParty=row.person,
                                   agentAddedAt=row.added_at.isoformat())


async def _locked_agent(session: AsyncSession, firm: str, person: str) -> ClientAgent | None:
    """``person``'s registration as an agent of ``firm``, locked until the caller's transaction ends
    (PostgreSQL): a delegation to the agent and the agent's removal then happen one after the other."""
    return (await session.scalars(select(ClientAgent).where(ClientAgent.firm == firm, ClientAgent.person == person)
                                  .with_for_update())).first()


async def _require_agent(session: AsyncSession, firm: str, person: str) -> None:
    """400 unless ``person`` is an agent of ``firm``, as Altinn answers (MissingAssignment)."""
    if await _locked_agent(session, firm, person) is None:
        raise InvalidInput(f"{person} is not registered as an agent of {firm}: add them as an agent first.",
                           code="agent_not_registered")


def _person_not_matched() -> InvalidInput:
    # One answer for an unknown number and a wrong last name, as Altinn gives: the API does not tell who has a
    # number.
    return InvalidInput("No person with that fødselsnummer and last name.", code="person_not_matched")


async def _person_named(database: Database, actor: Actor, identifier: str, last_name: str) -> str:
    """The fødselsnummer of the person Folkeregisteret has under ``identifier`` with ``last_name``."""
    try:
        found = await registers.get_person(database, actor, "".join(identifier.split()))
    except (NotFound, InvalidInput):
        raise _person_not_matched() from None
    if found.navn.etternavn.casefold() != last_name.strip().casefold():
        raise _person_not_matched()
    return found.identifikasjonsnummer


async def list_agents(database: Database, actor: Actor, person: str | None, party: str) -> list[s.AgentPublic]:
    """The persons registered as agents (medarbeidere) of firm ``party``, each with the client packages the
    firm has passed on to them. For a client administrator of ``party``."""
    await _client_administrator_access(database, person, party)
    async with database.transaction() as session:
        agents = list(await session.scalars(select(ClientAgent).where(ClientAgent.firm == party)
                                            .order_by(ClientAgent.added_at, ClientAgent.id)))
        given: dict[str, list[s.DelegationPublic]] = {}
        for row in await session.scalars(select(Delegation).where(Delegation.facilitator == party)
                                         .order_by(Delegation.from_party, Delegation.id)):
            given.setdefault(row.to_party, []).append(_delegation_public(row))
        await audit.record(session, actor, action="read", resource=CLIENT_AGENT_AUDIT,
                           subjects=[agent.person for agent in agents])
    details = await pip.party_details(database, [agent.person for agent in agents])
    return [s.AgentPublic(personIdentifier=agent.person,
                          name=details[agent.person].name if agent.person in details else None,
                          agentAddedAt=agent.added_at.isoformat(), delegations=given.get(agent.person, []))
            for agent in agents]


async def add_agent(database: Database, actor: Actor, person: str | None, party: str,
                    body: s.AgentCreate) -> s.AgentAssignmentPublic:
    """Register a person, named by fødselsnummer and last name as Folkeregisteret has them, as an agent of
    firm ``party``: the firm may then pass client packages on to them. Adding an agent again answers with the
    registration there is. For a client administrator of ``party``."""
    await _client_administrator_access(database, person, party)
    agent = await _person_named(database, actor, body.personIdentifier, body.lastName)
    async with database.transaction() as session:
        added = await session.scalar(
            insert_for(session, ClientAgent)
            .values(id=uuid7(), firm=party, person=agent, added_by=actor.actor, added_at=utcnow())
            .on_conflict_do_nothing(index_elements=["firm", "person"]).returning(ClientAgent.id))
        row = (await session.scalars(select(ClientAgent).where(ClientAgent.firm == party,
                                                               ClientAgent.person == agent))).one()
        if added is not None:
            await audit.record(session, actor, action="create", resource=CLIENT_AGENT_AUDIT, subjects=[party, agent])
            await _publish(session, CLIENT_AGENT_ADDED, party, agent,
                           _agent_assignment_public(row).model_dump(mode="json"))
    return _agent_assignment_public(row)


async def remove_agent(database: Database, actor: Actor, person: str | None, party: str, to: str, *,
                       cascade: bool = True) -> None:
    """Remove ``to`` as an agent of firm ``party`` and, in the same transaction, every client package the firm
    has passed on to them (each audited, with its event). With ``cascade`` false an agent still holding client
    packages stays, as Altinn answers (DelegationHasActiveConnections). For a client administrator of
    ``party``."""
    await _client_administrator_access(database, person, party)
    async with database.transaction() as session:
        # Locked first: a delegation to this agent being made now is either in before the query below reads the
        # agent's delegations, or finds the agent gone.
        agent = await _locked_agent(session, party, to)
        if agent is None:
            raise NotFound(f"{to} is not an agent of {party}.", code="agent_not_found")
        held = list(await session.scalars(select(Delegation).where(
            Delegation.facilitator == party, Delegation.to_party == to).order_by(Delegation.id)))
        if held and not cascade:
            raise InvalidInput(f"{to} still holds {len(held)} client package(s) from {party}; remove them first, "
                               "or remove the agent with cascade=true.", code="agent_has_delegations")
        for row in held:
            await _remove_delegation(session, actor, row)
        await session.execute(delete(ClientAgent).where(ClientAgent.id == agent.id))
        await audit.record(session, actor, action="delete", resource=CLIENT_AGENT_AUDIT, subjects=[party, to],
                           detail={"delegationsRemoved": len(held)})
        await _publish(session, CLIENT_AGENT_REMOVED, party, to,
                       _agent_assignment_public(agent).model_dump(mode="json"))


async def delegate_to_agent(database: Database, actor: Actor, person: str | None, party: str, to: str,
                            values: list[s.ClientRolePackages], *, client: str | None = None,
                            ) -> list[s.DelegationPublic]:
    """Pass client packages of firm ``party`` on to its agent ``to`` (see ``add_agent``): for one ``client``, or
    for every current client when ``client`` is None (then each package goes to the clients whose role gives
    it). For a client administrator of ``party``."""
    await _client_administrator_access(database, person, party)
    _check_identifier(to, "to")
    if kind_of(to) != "person":
        raise InvalidInput("Client packages are passed on to persons (the firm's agents).",
                           code="agent_not_person")
    async with database.transaction() as session:
        await _require_agent(session, party, to)
    clients = await _clients_of(database, party)
    if client is not None and client not in clients:
        raise NotFound(f"{client} is not a client of {party}.", code="client_not_found")
    wanted = [(value.role, _package_code(package)) for value in values for package in value.packages]
    targets = [client] if client is not None else sorted(clients)
    grants = [(c, role, package) for c in targets for role, package in wanted
              if package in clients[c].get(role, set())]
    if client is not None and len(grants) < len(wanted):
        missing = sorted(f"{role}:{package}" for role, package in wanted
                         if package not in clients[client].get(role, set()))
        raise InvalidInput(f"{party} does not hold these for {client}: {', '.join(missing)}.",
                           code="package_not_held_for_client")
    if not grants:
        raise InvalidInput(f"{party} holds none of these packages for any client.", code="package_not_held_for_client")
    async with database.transaction() as session:
        await _require_agent(session, party, to)  # still an agent, and stays one until these are in
        rows = [await _add_delegation(session, actor, c, to, package=package, facilitator=party,
                                      facilitator_role=role) for c, role, package in grants]
    return [_delegation_public(row) for row in rows]


async def remove_agent_delegations(database: Database, actor: Actor, person: str | None, party: str, to: str, *,
                                   client: str | None = None, packages: list[str] | None = None) -> int:
    """Take back client packages firm ``party`` passed on to ``to``: of one ``client`` or all, only
    ``packages`` or all. For a client administrator of ``party``. Returns how many were removed."""
    await _client_administrator_access(database, person, party)
    query = select(Delegation).where(Delegation.facilitator == party, Delegation.to_party == to)
    if client is not None:
        query = query.where(Delegation.from_party == client)
    if packages:
        query = query.where(Delegation.package_code.in_([_package_code(p) for p in packages]))
    return await _remove_delegations(database, actor, query)


async def _remove_delegations(database: Database, actor: Actor, query: Any) -> int:
    async with database.transaction() as session:
        rows = list(await session.scalars(query))
        for row in rows:
            await _remove_delegation(session, actor, row)
    return len(rows)


async def list_agent_delegations(database: Database, person: str | None, party: str, *,
                                 to: str | None = None) -> list[s.DelegationPublic]:
    """Client packages firm ``party`` has passed on (to ``to`` only, if given). For a client administrator."""
    await _client_administrator_access(database, person, party)
    query = select(Delegation).where(Delegation.facilitator == party).order_by(Delegation.from_party, Delegation.id)
    if to is not None:
        query = query.where(Delegation.to_party == to)
    async with database.transaction() as session:
        return [_delegation_public(row) for row in await session.scalars(query)]


async def list_client_providers(database: Database, person: str | None, party: str) -> list[s.ClientProviderPublic]:
    """For client ``party``'s administrators: every accountant, auditor and business manager organisation
    holding a role for it (from Enhetsregisteret), the packages that gives them, and which of their employees
    they have passed them on to."""
    await _administrator_access(database, person, party)
    catalogue = await load_catalogue(database)
    try:
        roles = await registers.get_roles(database, party)
    except (NotFound, InvalidInput):
        roles = None
    form = (await pip.party_details(database, [party]))[party].unit_type
    providers: dict[str, dict[str, set[str]]] = {}
    names: dict[str, str | None] = {}
    for group in roles.rollegrupper if roles else []:
        for rolle in group.roller:
            role = catalogue.er_role(rolle.type.kode)
            if rolle.enhet is None or rolle.fratraadt or role not in pip.CLIENT_ROLES:
                continue
            provider = rolle.enhet.organisasjonsnummer
            names[provider] = rolle.enhet.navn[0] if rolle.enhet.navn else None
            packages = catalogue.packages_of_role(role, form)[0]
            if packages:
                providers.setdefault(provider, {})[role] = packages
    given: dict[str, list[s.DelegationPublic]] = {}
    async with database.transaction() as session:
        for row in await session.scalars(select(Delegation).where(
                Delegation.from_party == party, Delegation.facilitator.is_not(None))
                .order_by(Delegation.to_party, Delegation.id)):
            given.setdefault(row.facilitator or "", []).append(_delegation_public(row))
    return [s.ClientProviderPublic(organizationNumber=provider, name=names.get(provider),
                                   access=_role_packages(providers.get(provider, {})),
                                   delegations=given.get(provider, []))
            for provider in sorted(set(providers) | set(given))]


async def remove_client_provider_delegations(database: Database, actor: Actor, person: str | None, party: str,
                                             provider: str) -> int:
    """For client ``party``'s administrators: take back every package ``provider`` has passed on to its
    employees for ``party``. (The provider's own role comes from Enhetsregisteret and stays.) Returns how
    many were removed."""
    await _administrator_access(database, person, party)
    return await _remove_delegations(database, actor, select(Delegation).where(
        Delegation.from_party == party, Delegation.facilitator == provider))


async def list_my_clients(database: Database, person: str) -> list[s.MyClientPublic]:
    """For an employee: the clients firms have passed packages on to them for, with the packages that still
    count (the firm still holds its role for the client)."""
    access = await pip.subject_access(database, person, with_persons=False)
    async with database.transaction() as session:
        rows = (await session.execute(select(Delegation.facilitator, Delegation.from_party, Delegation.package_code)
                                      .where(Delegation.to_party == person, Delegation.facilitator.is_not(None))
                                      .order_by(Delegation.facilitator, Delegation.from_party))).all()
    grouped: dict[tuple[str, str], set[str]] = {}
    for provider, client, package in rows:
        if provider is not None and package in access.for_party(client).packages:
            grouped.setdefault((provider, client), set()).add(package)
    details = await pip.party_details(database, list({i for key in grouped for i in key}))
    return [s.MyClientPublic(provider=provider, providerName=details[provider].name if provider in details else None,
                             client=client, clientName=details[client].name if client in details else None,
                             packages=sorted(PACKAGE_URN + p for p in packages))
            for (provider, client), packages in grouped.items()]


# --- access requests ------------------------------------------------------------------------------------------
def _request_public(row: AccessRequest) -> s.AccessRequestPublic:
    return s.AccessRequestPublic(
        id=row.id, type="package" if row.package_code else "resource", party=row.party, requester=row.requester,
        package=PACKAGE_URN + row.package_code if row.package_code else None, resource=row.resource_identifier,
        action=row.action, status=s.AccessRequestStatus(row.status), message=row.message,
        handledBy=row.handled_by, delegationId=row.delegation_id, created=row.created_at.isoformat(),
        lastChanged=row.updated_at.isoformat())


async def _record_request_change(session: AsyncSession, actor: Actor, row: AccessRequest) -> None:
    await audit.record(session, actor, action=row.status.lower(), resource=REQUEST_AUDIT,
                       subjects=[row.party, row.requester], detail={"request": str(row.id)})
    await _publish(session, f"{REQUEST_EVENT_PREFIX}{row.status.lower()}", row.party, row.requester,
                   _request_public(row).model_dump(mode="json", exclude_none=True))


async def request_package(database: Database, actor: Actor, person: str | None,
                          body: s.PackageRequestCreate) -> s.AccessRequestPublic:
    """A person asks ``body.party`` for an access package; the request starts as a Draft."""
    code = _package_code(body.package)
    catalogue = await load_catalogue(database)
    package = catalogue.packages.get(code)
    if package is None:
        raise NotFound(f"No access package {body.package}.", code="package_not_found")
    if not package.is_assignable:
        raise InvalidInput(f"Package {code} comes only through a role; it cannot be asked for.",
                           code="package_not_assignable")
    return await _create_request(database, actor, person, body.party, body.message, package=code)


async def request_resource(database: Database, actor: Actor, person: str | None,
                           body: s.ResourceRequestCreate) -> s.AccessRequestPublic:
    """A person asks ``body.party`` for one right (resource + action); the request starts as a Draft."""
    async with database.transaction() as session:
        resource = await session.get(Resource, body.resource)
    if resource is None:
        raise NotFound(f"No resource {body.resource}.", code="resource_not_found")
    if not resource.delegable:
        raise InvalidInput(f"Resource {body.resource} is not delegable.", code="resource_not_delegable")
    return await _create_request(database, actor, person, body.party, body.message, resource=body.resource,
                                 action=body.action)


async def _create_request(database: Database, actor: Actor, person: str | None, party: str, message: str | None,
                          **wanted: str) -> s.AccessRequestPublic:
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may ask for access.", code="person_required")
    _check_identifier(party, "party")
    if party == person:
        raise InvalidInput("You cannot ask yourself for access.", code="self_request")
    now = utcnow()
    async with database.transaction() as session:
        row = AccessRequest(id=uuid7(), party=party, requester=person, package_code=wanted.get("package"),
                            resource_identifier=wanted.get("resource"), action=wanted.get("action"),
                            status=s.AccessRequestStatus.DRAFT.value, message=message, created_at=now,
                            updated_at=now)
        session.add(row)
        await parties_by_identifier(session, [party, person])
        await _record_request_change(session, actor, row)
    return _request_public(row)


async def get_access_request(database: Database, person: str | None, request_id: uuid.UUID) -> s.AccessRequestPublic:
    """One request, for its requester or (once submitted) the asked party's administrators."""
    async with database.transaction() as session:
        row = await session.get(AccessRequest, request_id)
    if row is None:
        raise NotFound("No such access request.", code="request_not_found")
    if person != row.requester:
        if row.status == s.AccessRequestStatus.DRAFT:
            raise NotFound("No such access request.", code="request_not_found")
        await _administrator_access(database, person, row.party)
    return _request_public(row)


async def _change_request(database: Database, actor: Actor, request_id: uuid.UUID,
                          allowed_from: set[s.AccessRequestStatus], to: s.AccessRequestStatus, *,
                          requester: str | None = None, party_check: Any = None) -> s.AccessRequestPublic:
    """Move a request from one of ``allowed_from`` to ``to`` in one transaction; ``party_check(session, row)``
    runs inside it (an approval stores its delegation there)."""
    async with database.transaction() as session:
        row = await session.get(AccessRequest, request_id, with_for_update=True)
        if row is None or (requester is not None and row.requester != requester):
            raise NotFound("No such access request.", code="request_not_found")
        if s.AccessRequestStatus(row.status) not in allowed_from:
            raise Conflict(f"The request is {row.status}; it cannot become {to.value}.",
                           code="request_status_conflict")
        if party_check is not None:
            await party_check(session, row)
        row.status, row.updated_at = to.value, utcnow()
        if requester is None:
            row.handled_by = actor.actor
        await _record_request_change(session, actor, row)
    return _request_public(row)


async def submit_access_request(database: Database, actor: Actor, person: str | None,
                                request_id: uuid.UUID) -> s.AccessRequestPublic:
    """The requester sends a Draft to the party: it becomes Pending."""
    return await _change_request(database, actor, request_id, {s.AccessRequestStatus.DRAFT},
                                 s.AccessRequestStatus.PENDING, requester=person or "")


async def withdraw_access_request(database: Database, actor: Actor, person: str | None,
                                  request_id: uuid.UUID) -> s.AccessRequestPublic:
    """The requester takes back a Draft or Pending request: it becomes Withdrawn."""
    return await _change_request(database, actor, request_id,
                                 {s.AccessRequestStatus.DRAFT, s.AccessRequestStatus.PENDING},
                                 s.AccessRequestStatus.WITHDRAWN, requester=person or "")


async def _received_request(database: Database, person: str | None, party: str,
                            request_id: uuid.UUID) -> AccessRequest:
    """A submitted request to ``party``, for its administrators."""
    await _administrator_access(database, person, party)
    async with database.transaction() as session:
        row = await session.get(AccessRequest, request_id)
    if row is None or row.party != party or row.status == s.AccessRequestStatus.DRAFT:
        raise NotFound("No such access request.", code="request_not_found")
    return row


async def approve_access_request(database: Database, actor: Actor, person: str | None, party: str,
                                 request_id: uuid.UUID) -> s.AccessRequestPublic:
    """An administrator of ``party`` approves a Pending request: the package or right is delegated to the
    requester (the approver must be allowed to give it) and the request becomes Approved, in one
    transaction."""
    row = await _received_request(database, person, party, request_id)
    if row.package_code is not None:
        await _check_may_give_package(database, person, party, row.requester, row.package_code)
    else:
        await _check_may_give_right(database, person, party, row.requester, row.resource_identifier or "",
                                    [row.action or ""])

    async def delegate(session: AsyncSession, locked: AccessRequest) -> None:
        delegation = await _add_delegation(session, actor, party, locked.requester, package=locked.package_code,
                                           resource=locked.resource_identifier, action=locked.action)
        locked.delegation_id = delegation.id

    result = await _change_request(database, actor, request_id, {s.AccessRequestStatus.PENDING},
                                   s.AccessRequestStatus.APPROVED, party_check=delegate)
    return result


async def reject_access_request(database: Database, actor: Actor, person: str | None, party: str,
                                request_id: uuid.UUID) -> s.AccessRequestPublic:
    """An administrator of ``party`` rejects a Pending request."""
    await _received_request(database, person, party, request_id)
    return await _change_request(database, actor, request_id, {s.AccessRequestStatus.PENDING},
                                 s.AccessRequestStatus.REJECTED)


async def list_sent_access_requests(database: Database, person: str | None, *,
                                    status: list[s.AccessRequestStatus] | None = None) -> list[s.AccessRequestPublic]:
    """The logged-in person's own requests, newest first (``status`` filters)."""
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten has access requests.", code="person_required")
    query = select(AccessRequest).where(AccessRequest.requester == person)
    return await _list_requests(database, query, status)


async def list_received_access_requests(database: Database, person: str | None, party: str, *,
                                        status: list[s.AccessRequestStatus] | None = None,
                                        ) -> list[s.AccessRequestPublic]:
    """Requests submitted to ``party`` (drafts are the requester's own), newest first, for its
    administrators and access managers (``status`` filters)."""
    await _administrator_access(database, person, party)
    query = select(AccessRequest).where(AccessRequest.party == party,
                                        AccessRequest.status != s.AccessRequestStatus.DRAFT.value)
    return await _list_requests(database, query, status)


async def _list_requests(database: Database, query: Any,
                         status: list[s.AccessRequestStatus] | None) -> list[s.AccessRequestPublic]:
    if status:
        query = query.where(AccessRequest.status.in_([value.value for value in status]))
    async with database.transaction() as session:
        return [_request_public(row) for row in await session.scalars(query.order_by(AccessRequest.id.desc()))]


# --- authorized parties ---------------------------------------------------------------------------------------
async def resolve_subject(database: Database, query: s.AuthorizedPartiesQuery) -> str:
    """The identifier (fnr, orgnr or system user UUID) behind a service owner's subject reference."""
    if query.type in ("urn:altinn:person:identifier-no", "urn:altinn:organization:identifier-no",
                      "urn:altinn:systemuser:uuid"):
        _check_identifier(query.value, "value")
        return query.value
    try:
        async with database.transaction() as session:
            ref = await party_by(
                session,
                party_uuid=uuid.UUID(query.value) if query.type == "urn:altinn:party:uuid" else None,
                party_id=int(query.value) if query.type == "urn:altinn:partyid" else None,
                user_id=int(query.value) if query.type == "urn:altinn:userid" else None)
    except ValueError:
        raise InvalidInput(f"{query.value} is not a valid {query.type}.", code="invalid_party") from None
    if ref is None:
        raise NotFound(f"No party {query.type}:{query.value}.", code="party_not_found")
    return ref.identifier


async def authorized_parties(database: Database, actor: Actor, subject: str, *,
                             include_access_packages: bool = True, include_roles: bool = True,
                             include_resources: bool = True) -> list[s.AuthorizedParty]:
    """Every party ``subject`` can act for, with its roles, packages and delegated resources; sub-units
    nested under their main unit (Altinn's avgiverliste)."""
    access = await pip.subject_access(database, subject)
    parties = {k: v for k, v in access.parties.items() if not v.is_empty}
    details = access.details
    # Sub-units of main units the subject has access to are listed under them.
    mains = [p for p in parties if details.get(p) and details[p].kind == "organization"]
    sub_units = await sub_units_of(database, mains)
    missing = [u for units in sub_units.values() for u in units if u not in details]
    if missing:
        details = {**details, **await pip.party_details(database, missing)}

    def build(identifier: str, party: pip.PartyAccess, parent_id: int | None) -> s.AuthorizedParty | None:
        ref = details.get(identifier)
        if ref is None:
            return None
        kind = {"person": "Person", "organization": "Organization"}.get(ref.kind, "SystemUser")
        return s.AuthorizedParty(
            partyUuid=ref.party_uuid, name=ref.name or identifier, partyId=ref.party_id, type=kind,
            organizationNumber=identifier if ref.kind == "organization" else None,
            personId=identifier if ref.kind == "person" else None,
            dateOfBirth=ref.birth_date.isoformat() if ref.birth_date else None,
            unitType=ref.unit_type, isDeleted=ref.is_deleted, parentId=parent_id,
            authorizedAccessPackages=sorted(party.packages) if include_access_packages else [],
            authorizedRoles=sorted(party.rolecodes) if include_roles else [],
            authorizedResources=sorted({r for r, _ in party.rights}) if include_resources else [],
        )

    result = []
    for identifier in sorted(parties, key=lambda i: ((details[i].name or i) if i in details else i, i)):
        ref = details.get(identifier)
        if ref is not None and ref.parent_identifier and ref.parent_identifier in parties:
            continue  # listed under its main unit
        item = build(identifier, parties[identifier], None)
        if item is None:
            continue
        for unit in sorted(sub_units.get(identifier, [])):
            inherited = pip.PartyAccess()
            inherited.merge(parties[identifier])
            if unit in parties:
                inherited.merge(parties[unit])
            child = build(unit, inherited, item.partyId)
            if child is not None:
                item.subunits.append(child)
        result.append(item)
    await _audit_authorized_parties(database, actor, subject)
    return result


async def _audit_authorized_parties(database: Database, actor: Actor, subject: str) -> None:
    async with database.transaction() as session:
        await audit.record(session, actor, action="read", resource="authorization.authorized_parties",
                           subjects=[subject])


# --- digitalt dødsbo (OED) roles, as oed-authz -------------------------------------------------------------------
ESTATE_ROLE_AUDIT = "authorization.estate_role"
ESTATE_EVENT_TYPES = frozenset({"no.altinn.events.digitalt-dodsbo.v1.heir-roles-updated",
                                "no.altinn.events.digitalt-dodsbo.v1.case-status-updated"})
VALIDATE_SUBSCRIPTION_EVENT = "platform.events.validatesubscription"
# oed-authz's namespace of court roles, and the earlier one that Altinn's policies (oed-role-formuesfullmakt)
# still match.
COURT_ROLE_PREFIXES = ("urn:domstolene:digitaltdodsbo:", "urn:digitaltdodsbo:")


def _estate_of(subject: str | None) -> str:
    """The deceased's fødselsnummer from the event's subject, ``/person/{number}`` (or the bare number)."""
    parts = [part.strip() for part in (subject or "").split("/") if part.strip()]
    number = parts[1] if len(parts) == 2 and parts[0] == "person" else "/".join(parts)
    if len(number) != 11 or not number.isdigit():
        raise InvalidInput("The event's subject must be /person/ followed by the deceased's fødselsnummer.",
                           code="invalid_estate")
    return number


async def update_estate_roles(database: Database, actor: Actor, event: s.EstateCloudEvent) -> s.EstateRolesUpdated:
    """Digitalt dødsbo's event: the probate court's roles in an estate as they now are. Roles the event no
    longer names are removed and new ones added, stamped with the event's time. Events may arrive out of order
    or twice: one no newer than the last applied to the estate changes nothing."""
    if event.type == VALIDATE_SUBSCRIPTION_EVENT:
        return s.EstateRolesUpdated()
    if event.type not in ESTATE_EVENT_TYPES:
        raise InvalidInput(f"Unknown event type {event.type}; expected one of {', '.join(sorted(ESTATE_EVENT_TYPES))}.",
                           code="unknown_event_type")
    if event.data is None:
        raise InvalidInput("The event has no data.", code="event_data_missing")
    estate = _estate_of(event.subject)
    wanted: set[tuple[str, str]] = set()
    for heir in event.data.heirRoles:
        if not heir.role.startswith(COURT_ROLE_PREFIXES):
            raise InvalidInput(f"Role {heir.role} is not a probate court role (urn:domstolene:digitaltdodsbo:...).",
                               code="invalid_estate_role")
        wanted.add((heir.nin, heir.role))
    async with database.transaction() as session:
        first = await session.scalar(insert_for(session, Estate).values(
            estate=estate, case_id=event.data.caseId, last_event_at=event.time)
            .on_conflict_do_nothing(index_elements=["estate"]).returning(Estate.estate))
        if first is None:
            # Locked: events for one estate are applied one after the other.
            known = (await session.scalars(select(Estate).where(Estate.estate == estate).with_for_update())).one()
            if known.last_event_at >= event.time:
                return s.EstateRolesUpdated(estateSsn=estate, outdated=True)
            known.last_event_at, known.case_id = event.time, event.data.caseId
        current = {(row.recipient, row.role_code): row for row in await session.scalars(
            select(EstateRole).where(EstateRole.estate == estate))}
        added = sorted(wanted - current.keys())
        removed = sorted(current.keys() - wanted)
        if added:
            await session.execute(insert_for(session, EstateRole).values(
                [{"id": uuid7(), "estate": estate, "recipient": recipient, "role_code": role,
                  "created_at": event.time} for recipient, role in added])
                .on_conflict_do_nothing(index_elements=["estate", "recipient", "role_code"]))
        if removed:
            await session.execute(delete(EstateRole).where(EstateRole.id.in_([current[key].id for key in removed])))
        if added or removed:
            await audit.record(session, actor, action="update", resource=ESTATE_ROLE_AUDIT,
                               subjects=sorted({estate, *(recipient for recipient, _ in added + removed)}),
                               detail={"eventId": event.id, "caseId": event.data.caseId,
                                       "added": [list(key) for key in added],
                                       "removed": [list(key) for key in removed]})
    return s.EstateRolesUpdated(estateSsn=estate, added=len(added), removed=len(removed))


def _require_one_of(estate: str | None, recipient: str | None) -> None:
    if estate is None and recipient is None:
        raise InvalidInput("Name the estate, the recipient or both.", code="estate_or_recipient_required")


async def estate_role_assignments(database: Database, body: s.PipRequest) -> s.PipResponse:
    """oed-authz's information point: the roles given in the estate ``from`` to ``to`` (either may be left
    out), as Altinn Authorization reads them."""
    _require_one_of(body.from_, body.to)
    rows = await pip.estate_roles(database, estate=body.from_, recipient=body.to)
    return s.PipResponse(roleAssignments=[s.PipRoleAssignment(role=row.role_code, from_=row.estate, to=row.recipient,
                                                              created=row.created_at) for row in rows])


async def search_estate_roles(database: Database, body: s.RolesSearchRequest) -> s.RolesSearchResponse:
    """The probate court's roles for an estate, a recipient or both — the lookup banks and others make."""
    _require_one_of(body.estateSsn, body.recipientSsn)
    rows = await pip.estate_roles(database, estate=body.estateSsn, recipient=body.recipientSsn)
    return s.RolesSearchResponse(roleAssignments=[
        s.RoleAssignment(estateSsn=row.estate, recipientSsn=row.recipient, role=row.role_code, created=row.created_at)
        for row in rows])
