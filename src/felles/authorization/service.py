"""Use cases of Altinn Autorisasjon: the resource registry, decisions, delegations and authorized parties.

Writes happen in one transaction each, with an audit entry; a change to a policy or a delegation drops the
affected per-process caches (``decision.invalidate_policy``, ``pip.invalidate``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select

from felles.authorization import decision, pip
from felles.authorization import schemas as s
from felles.authorization.catalogue import (
    ACCESS_MANAGER_PACKAGE,
    MAIN_ADMINISTRATOR_PACKAGE,
    PACKAGE_URN,
    load_catalogue,
)
from felles.authorization.models import (
    AccessList,
    AccessListMember,
    AccessListResource,
    AccessPackage,
    Delegation,
    Resource,
)
from felles.authorization.parties import kind_of, parties_by_identifier, party_by
from felles.authorization.xacml import Request, Response, XacmlSyntaxError
from felles.authorization.xacml.engine import PolicyStore
from felles.authorization.xacml.policies import BrokenPolicy
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from felles.core.ids import uuid7

RESOURCE_AUDIT = "authorization.resource"
DELEGATION_AUDIT = "authorization.delegation"


# --- resource registry ----------------------------------------------------------------------------------------
def _check_owner(owner_organization: str | None, resource: s.ServiceResource | Resource) -> None:
    """Only the competent authority (the service owner's organisation) may change a resource."""
    expected = (resource.hasCompetentAuthority.organization if isinstance(resource, s.ServiceResource)
                else resource.owner_organization_number)
    if owner_organization is None or owner_organization != expected:
        raise Forbidden("Only the resource's competent authority may change it.", code="not_resource_owner")


def _public(row: Resource) -> s.ServiceResource:
    document = dict(row.document)
    document["versionId"] = row.version_id
    return s.ServiceResource.model_validate(document)


async def create_resource(database: Database, actor: Actor, owner_organization: str | None,
                          resource: s.ServiceResource) -> s.ServiceResource:
    _check_owner(owner_organization, resource)
    now = utcnow()
    async with database.transaction() as session:
        if await session.get(Resource, resource.identifier) is not None:
            raise Conflict(f"Resource {resource.identifier} already exists.", code="resource_exists")
        row = Resource(identifier=resource.identifier, created_at=now, updated_at=now, version_id=1,
                       policy_version=0)
        _fill(row, resource)
        session.add(row)
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
        _check_owner(owner_organization, resource)
        if if_match is not None and if_match != row.version_id:
            raise PreconditionFailed("The resource has changed since it was read.", code="version_mismatch")
        _fill(row, resource)
        row.version_id += 1
        row.updated_at = utcnow()
        await audit.record(session, actor, action="update", resource=RESOURCE_AUDIT,
                           subjects=[row.owner_organization_number or ""], detail={"identifier": identifier})
    decision.invalidate_policy(identifier)
    return _public(row)


async def delete_resource(database: Database, actor: Actor, owner_organization: str | None, identifier: str) -> None:
    async with database.transaction() as session:
        row = await session.get(Resource, identifier, with_for_update=True)
        if row is None:
            raise NotFound(f"No resource {identifier}.", code="resource_not_found")
        _check_owner(owner_organization, row)
        await session.delete(row)
        await audit.record(session, actor, action="delete", resource=RESOURCE_AUDIT,
                           subjects=[row.owner_organization_number or ""], detail={"identifier": identifier})
    decision.invalidate_policy(identifier)


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


def validate_policy(policy_xml: bytes) -> None:
    """A policy must be one XACML 3.0 ``<Policy>`` the engine compiles."""
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
        await audit.record(session, actor, action="update_policy", resource=RESOURCE_AUDIT,
                           subjects=[row.owner_organization_number or ""],
                           detail={"identifier": identifier, "policyVersion": version})
    decision.invalidate_policy(identifier)
    return version


async def get_policy(database: Database, identifier: str) -> str:
    async with database.transaction() as session:
        row = await session.get(Resource, identifier)
    if row is None or not row.policy_xml:
        raise NotFound(f"No policy for resource {identifier}.", code="policy_not_found")
    return row.policy_xml


# --- access lists ---------------------------------------------------------------------------------------------
async def _check_list_owner(session: Any, owner: str, owner_organization: str | None) -> None:
    """The caller's organisation must be the competent authority of the owner code's resources."""
    found = await session.scalar(select(Resource.identifier).where(
        Resource.owner_code == owner.lower(), Resource.owner_organization_number == owner_organization).limit(1))
    if found is None:
        raise Forbidden(f"Only service owner {owner} may manage its access lists.", code="not_list_owner")


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
    return await get_access_list(database, owner, identifier)


async def get_access_list(database: Database, owner: str, identifier: str) -> s.AccessListPublic:
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
    return await get_access_list(database, owner, identifier)


async def connect_resource(database: Database, actor: Actor, owner_organization: str | None, owner: str,
                           identifier: str, resource: str, actions: list[str] | None) -> s.AccessListPublic:
    async with database.transaction() as session:
        await _check_list_owner(session, owner, owner_organization)
        row = await _access_list(session, owner, identifier)
        if await session.get(Resource, resource) is None:
            raise NotFound(f"No resource {resource}.", code="resource_not_found")
        await session.execute(delete(AccessListResource).where(
            AccessListResource.access_list_id == row.id, AccessListResource.resource_identifier == resource))
        session.add(AccessListResource(access_list_id=row.id, resource_identifier=resource,
                                       actions=actions or None))
        row.version += 1
        await audit.record(session, actor, action="connect_access_list", resource=RESOURCE_AUDIT,
                           subjects=[owner_organization or ""],
                           detail={"owner": owner, "identifier": identifier, "resource": resource})
    return await get_access_list(database, owner, identifier)


# --- decisions ------------------------------------------------------------------------------------------------
async def authorize(database: Database, request: Request,
                    instances: decision.InstanceSource | None = None) -> Response:
    """Decide an XACML request (single or MultiRequests) as Altinn's PDP does."""
    return await decision.AltinnDecisionPoint(database, instances).decide(request)


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


async def _administrator_access(database: Database, person: str | None, party: str) -> pip.PartyAccess:
    """What the acting person holds for ``party``; Forbidden unless a main administrator or access manager."""
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may manage access.", code="person_required")
    access = (await pip.subject_access(database, person, with_persons=kind_of(party) == "person")).for_party(party)
    is_self = person == party
    if not (is_self or access.via_key_role or access.is_main_administrator
            or ACCESS_MANAGER_PACKAGE in access.packages):
        raise Forbidden("Only the main administrator or an access manager of the party may manage its access.",
                        code="not_access_manager")
    return access


async def delegate_package(database: Database, actor: Actor, person: str | None,
                           body: s.PackageDelegationCreate) -> s.DelegationPublic:
    """Give an access package on behalf of ``body.party``. The giver must be allowed to delegate it: through
    a role that lets them (key roles, the main administrator), or as an access manager holding it."""
    _check_identifier(body.party, "party")
    _check_identifier(body.to, "to")
    catalogue = await load_catalogue(database)
    code = _package_code(body.package)
    package = catalogue.packages.get(code)
    if package is None:
        raise NotFound(f"No access package {body.package}.", code="package_not_found")
    if not package.is_assignable:
        raise InvalidInput(f"Package {code} comes only through a role; it cannot be given.",
                           code="package_not_assignable")
    if code == MAIN_ADMINISTRATOR_PACKAGE and kind_of(body.to) != "person":
        raise InvalidInput("The main administrator must be a person.", code="main_administrator_not_person")
    if body.to == body.party:
        raise InvalidInput("A party cannot give access to itself.", code="self_delegation")
    access = await _administrator_access(database, person, body.party)
    may = (code in access.delegable_packages
           or (package.is_delegable and code in access.packages and (
               access.via_key_role or access.is_main_administrator or ACCESS_MANAGER_PACKAGE in access.packages))
           or (person == body.party and package.is_delegable and code in access.packages))
    if not may:
        raise Forbidden(f"You may not give the package {code} on behalf of {body.party}.",
                        code="package_not_delegable_by_you")
    return await _store_delegation(database, actor, body.party, body.to, f"package:{code}", package=code)


async def delegate_rights(database: Database, actor: Actor, person: str | None,
                          body: s.RightDelegationCreate) -> list[s.DelegationPublic]:
    """Give single rights (resource + actions). The resource must be delegable and the giver must themself be
    permitted each action for the party (what you do not have, you cannot give)."""
    _check_identifier(body.party, "party")
    _check_identifier(body.to, "to")
    if body.to == body.party:
        raise InvalidInput("A party cannot give access to itself.", code="self_delegation")
    async with database.transaction() as session:
        resource = await session.get(Resource, body.resource)
    if resource is None:
        raise NotFound(f"No resource {body.resource}.", code="resource_not_found")
    if not resource.delegable:
        raise InvalidInput(f"Resource {body.resource} is not delegable.", code="resource_not_delegable")
    await _administrator_access(database, person, body.party)
    assert person is not None
    for action in body.actions:
        if not await is_permitted(database, person, body.party, body.resource, action):
            raise Forbidden(f"You may not give {action} on {body.resource}: you do not have it yourself.",
                            code="right_not_delegable_by_you")
    return [await _store_delegation(database, actor, body.party, body.to, f"resource:{body.resource}:{action}",
                                    resource=body.resource, action=action)
            for action in dict.fromkeys(body.actions)]


async def is_permitted(database: Database, subject: str, party: str, resource: str, action: str) -> bool:
    """Whether ``subject`` may do ``action`` on ``resource`` for ``party`` (one decision, obligations aside)."""
    subject_id = "urn:altinn:person:identifier-no" if kind_of(subject) == "person" else (
        "urn:altinn:organization:identifier-no" if kind_of(subject) == "organization" else decision.SYSTEM_USER)
    party_id = "urn:altinn:person:identifier-no" if kind_of(party) == "person" else \
        "urn:altinn:organization:identifier-no"
    from felles.authorization.xacml import request_from_json

    request = request_from_json({"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": subject_id, "Value": subject}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                   "Value": action}]}],
        "Resource": [{"Attribute": [{"AttributeId": decision.RESOURCE_ID, "Value": resource},
                                    {"AttributeId": party_id, "Value": party}]}],
    }})
    return (await authorize(database, request)).decision.value == "Permit"


async def _store_delegation(database: Database, actor: Actor, party: str, to: str, right_key: str, *,
                            package: str | None = None, resource: str | None = None,
                            action: str | None = None) -> s.DelegationPublic:
    async with database.transaction() as session:
        existing = (await session.scalars(select(Delegation).where(
            Delegation.to_party == to, Delegation.from_party == party, Delegation.right_key == right_key))).first()
        if existing is None:
            existing = Delegation(id=uuid7(), from_party=party, to_party=to, to_kind=kind_of(to),
                                  package_code=package, resource_identifier=resource, action=action,
                                  right_key=right_key, delegated_by=actor.actor, created_at=utcnow())
            session.add(existing)
            await parties_by_identifier(session, [party, to])
            await audit.record(session, actor, action="delegate", resource=DELEGATION_AUDIT,
                               subjects=[party, to], detail={"right": right_key})
    pip.invalidate()
    return _delegation_public(existing)


def _delegation_public(row: Delegation) -> s.DelegationPublic:
    return s.DelegationPublic(id=row.id, fromParty=row.from_party, toParty=row.to_party,
                              package=PACKAGE_URN + row.package_code if row.package_code else None,
                              resource=row.resource_identifier, action=row.action, delegatedBy=row.delegated_by,
                              created=row.created_at.isoformat())


async def revoke_delegation(database: Database, actor: Actor, person: str | None, delegation_id: uuid.UUID) -> None:
    """Revoke a delegation: by an administrator of the party that gave it, or by its receiver."""
    async with database.transaction() as session:
        row = await session.get(Delegation, delegation_id)
    if row is None:
        raise NotFound("No such delegation.", code="delegation_not_found")
    if person != row.to_party:
        await _administrator_access(database, person, row.from_party)
    async with database.transaction() as session:
        await session.execute(delete(Delegation).where(Delegation.id == delegation_id))
        await audit.record(session, actor, action="revoke", resource=DELEGATION_AUDIT,
                           subjects=[row.from_party, row.to_party], detail={"right": row.right_key})
    pip.invalidate()


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
    sub_units: dict[str, list[str]] = {}
    async with database.transaction() as session:
        from felles.authorization.models import Party

        mains = [p for p in parties if details.get(p) and details[p].kind == "organization"]
        for start in range(0, len(mains), 1000):
            for identifier, parent in (await session.execute(
                    select(Party.identifier, Party.parent_identifier)
                    .where(Party.parent_identifier.in_(mains[start:start + 1000])))).all():
                sub_units.setdefault(parent, []).append(identifier)
    missing = [u for units in sub_units.values() for u in units if u not in details]
    if missing:
        details = {**details, **await pip.party_details(database, missing)}

    def build(identifier: str, party: pip.PartyAccess, parent_id: int | None) -> s.AuthorizedParty | None:
        ref = details.get(identifier)
        if ref is None:
            return None
        kind = {"person": "Person", "organization": "Organization"}.get(ref.kind, "SystemUser")
        return s.AuthorizedParty(
            partyUuid=ref.party_uuid, name=ref.name or identifier, partyId=ref.party_id, type=kind,  # type: ignore[arg-type]
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
