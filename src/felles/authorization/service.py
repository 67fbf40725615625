"""Use cases of Altinn Autorisasjon: the resource registry, what policies grant, access lists, decisions, the
decisions Altinn Events asks for, and authorized parties. Delegations are in `service_delegations`, client
delegation in `service_client_delegation`, access requests in `service_access_requests` and digitalt dødsbo's roles
in `service_oed`.

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
    PACKAGE_URN,
    load_catalogue,
)
from felles.authorization.models import (
    AccessList,
    AccessListMember,
    AccessListResource,
    AccessPackage,
    AuthorizationRole,
    Resource,
    ServiceOwner,
)
from felles.authorization.parties import PartyRef, kind_of, party_by, party_details
from felles.authorization.parties import sub_units as sub_units_of
from felles.authorization.policy_summary import AttributeValue, PolicySummary, SummaryCache, summarize
from felles.authorization.xacml import Request, Response, XacmlSyntaxError, request_from_json
from felles.authorization.xacml.engine import PolicyStore
from felles.authorization.xacml.model import ACTION_ID
from felles.authorization.xacml.policies import BrokenPolicy
from felles.core import audit, cache_invalidation
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, Problem
from felles.core.ids import uuid7
from felles.events import service as events

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
            check_identifier(subject, "subject")
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


def package_code_of(value: str) -> str:
    return value.removeprefix(PACKAGE_URN)


def check_identifier(value: str, what: str) -> None:
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


async def administrator_access(database: Database, person: str | None, party: str) -> pip.PartyAccess:
    """What the acting person holds for ``party``; Forbidden unless a main administrator or access manager."""
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may manage access.", code="person_required")
    access = await _access_for(database, person, party)
    if not _manages_access(person, party, access):
        raise Forbidden("Only the main administrator or an access manager of the party may manage its access.",
                        code="not_access_manager")
    return access


async def is_client_administrator(database: Database, person: str | None, firm: str) -> bool:
    """Klientadministrator of ``firm``: its main administrator, a key role (they hold KLADM), or a person
    given the package ``klientadministrator``."""
    if person is None:
        return False
    access = (await pip.subject_access(database, person, with_persons=False)).for_party(firm)
    return (access.is_main_administrator or CLIENT_ADMINISTRATOR_ROLECODE in access.rolecodes
            or CLIENT_ADMINISTRATOR_PACKAGE in access.packages)


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


# --- events ---------------------------------------------------------------------------------------------------
def _event_party(identifier: str) -> str:
    """A party as Altinn Events names subjects, so the party itself may read the event."""
    kind = kind_of(identifier)
    return {"person": "/person/", "organization": "/org/"}.get(kind, "/systemuser/") + identifier


async def publish_event(session: AsyncSession, event_type: str, party: str, other: str, data: dict[str, Any]) -> None:
    """An access-management event about ``party`` (the one giving or asked) and ``other`` (the receiver), in
    the transaction of the change."""
    await events.publish_in_transaction(
        session, source=EVENT_SOURCE, type=event_type, subject=_event_party(party),
        alternativesubject=_event_party(other), resource=EVENT_RESOURCE, data=data, publisher=EVENT_PUBLISHER)


# --- authorized parties ---------------------------------------------------------------------------------------
async def resolve_subject(database: Database, query: s.AuthorizedPartiesQuery) -> str:
    """The identifier (fnr, orgnr or system user UUID) behind a service owner's subject reference."""
    if query.type in ("urn:altinn:person:identifier-no", "urn:altinn:organization:identifier-no",
                      "urn:altinn:systemuser:uuid"):
        check_identifier(query.value, "value")
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
