"""Delegations in Altinn Autorisasjon: access packages and rights a party's access manager gives to a person or
organisation, their revocation and listing; each change audited and published as an event in its transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import pip
from felles.authorization import schemas as s
from felles.authorization.catalogue import (
    ACCESS_MANAGER_PACKAGE,
    MAIN_ADMINISTRATOR_PACKAGE,
    PACKAGE_URN,
    PackageInfo,
    load_catalogue,
)
from felles.authorization.models import (
    Delegation,
    Resource,
)
from felles.authorization.parties import kind_of, parties_by_identifier
from felles.authorization.service import (
    CLIENT_DELEGATION_CREATED,
    CLIENT_DELEGATION_DELETED,
    DELEGATION_AUDIT,
    DELEGATION_CREATED,
    DELEGATION_DELETED,
    administrator_access,
    check_identifier,
    is_client_administrator,
    is_permitted,
    package_code_of,
    publish_event,
)
from felles.core import audit, cache_invalidation
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7


async def check_assignable(database: Database, code: str, named: str, refused: str) -> PackageInfo:
    """The package of the catalogue, which may be given or asked for: 404 for one the catalogue lacks (`named` as
    the caller named it), 400 for one that comes only through a role (it cannot be `refused`)."""
    package = (await load_catalogue(database)).packages.get(code)
    if package is None:
        raise NotFound(f"No access package {named}.", code="package_not_found")
    if not package.is_assignable:
        raise InvalidInput(f"Package {code} comes only through a role; it cannot be {refused}.",
                           code="package_not_assignable")
    return package


async def check_may_give_package(database: Database, person: str | None, party: str, to: str, code: str) -> None:
    """The giver must be allowed to delegate the package: through a role that lets them (key roles, the main
    administrator), or as an access manager holding it."""
    check_identifier(party, "party")
    check_identifier(to, "to")
    package = await check_assignable(database, code, code, "given")
    if code == MAIN_ADMINISTRATOR_PACKAGE and kind_of(to) != "person":
        raise InvalidInput("The main administrator must be a person.", code="main_administrator_not_person")
    if to == party:
        raise InvalidInput("A party cannot give access to itself.", code="self_delegation")
    access = await administrator_access(database, person, party)
    may = (code in access.delegable_packages
           or (package.is_delegable and code in access.packages and (
               access.via_key_role or access.is_main_administrator or ACCESS_MANAGER_PACKAGE in access.packages))
           or (person == party and package.is_delegable and code in access.packages))
    if not may:
        raise Forbidden(f"You may not give the package {code} on behalf of {party}.",
                        code="package_not_delegable_by_you")


async def check_may_give_right(database: Database, person: str | None, party: str, to: str, resource: str,
                                actions: list[str]) -> None:
    """The resource must be delegable and the giver must themself be permitted each action for the party
    (what you do not have, you cannot give)."""
    check_identifier(party, "party")
    check_identifier(to, "to")
    if to == party:
        raise InvalidInput("A party cannot give access to itself.", code="self_delegation")
    async with database.transaction() as session:
        row = await session.get(Resource, resource)
    if row is None:
        raise NotFound(f"No resource {resource}.", code="resource_not_found")
    if not row.delegable:
        raise InvalidInput(f"Resource {resource} is not delegable.", code="resource_not_delegable")
    await administrator_access(database, person, party)
    assert person is not None
    for action in actions:
        if not await is_permitted(database, person, party, resource, action):
            raise Forbidden(f"You may not give {action} on {resource}: you do not have it yourself.",
                            code="right_not_delegable_by_you")


async def delegate_package(database: Database, actor: Actor, person: str | None,
                           body: s.PackageDelegationCreate) -> s.DelegationPublic:
    """Give an access package on behalf of ``body.party`` (see ``check_may_give_package`` for who may)."""
    code = package_code_of(body.package)
    await check_may_give_package(database, person, body.party, body.to, code)
    async with database.transaction() as session:
        row = await add_delegation(session, actor, body.party, body.to, package=code)
    return delegation_public(row)


async def delegate_rights(database: Database, actor: Actor, person: str | None,
                          body: s.RightDelegationCreate) -> list[s.DelegationPublic]:
    """Give single rights (resource + actions) that the giver has themself on behalf of ``body.party``."""
    actions = list(dict.fromkeys(body.actions))
    await check_may_give_right(database, person, body.party, body.to, body.resource, actions)
    async with database.transaction() as session:
        rows = [await add_delegation(session, actor, body.party, body.to, resource=body.resource, action=action)
                for action in actions]
    return [delegation_public(row) for row in rows]


def _right_key(package: str | None, resource: str | None, action: str | None, facilitator: str | None) -> str:
    """One delegation of a thing from one party to another; a client delegation per firm it came through."""
    right = f"package:{package}" if package is not None else f"resource:{resource}:{action}"
    return f"client:{facilitator}:{right}" if facilitator is not None else right


async def add_delegation(session: AsyncSession, actor: Actor, party: str, to: str, *, package: str | None = None,
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
    await publish_event(session, CLIENT_DELEGATION_CREATED if facilitator else DELEGATION_CREATED, party, to,
                   delegation_public(row).model_dump(mode="json", exclude_none=True))
    return row


async def remove_delegation(session: AsyncSession, actor: Actor, row: Delegation) -> None:
    """Delete a delegation in the caller's transaction (audited, with its event)."""
    await session.execute(delete(Delegation).where(Delegation.id == row.id))
    await cache_invalidation.announce(session, pip.ACCESS_TOPIC)
    await audit.record(session, actor, action="revoke", resource=DELEGATION_AUDIT,
                       subjects=[row.from_party, row.to_party], detail={"right": row.right_key})
    await publish_event(session, CLIENT_DELEGATION_DELETED if row.facilitator else DELEGATION_DELETED, row.from_party,
                   row.to_party, delegation_public(row).model_dump(mode="json", exclude_none=True))


def delegation_public(row: Delegation) -> s.DelegationPublic:
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
        if row.facilitator is None or not await is_client_administrator(database, person, row.facilitator):
            await administrator_access(database, person, row.from_party)
    async with database.transaction() as session:
        await remove_delegation(session, actor, row)


async def list_delegations(database: Database, person: str | None, *, party: str | None = None,
                           to: str | None = None) -> list[s.DelegationPublic]:
    """Delegations given by ``party`` (for its administrators) or received by ``to`` (for the receiver)."""
    if party is None and to is None:
        raise InvalidInput("Give party or to.", code="missing_filter")
    if party is not None:
        await administrator_access(database, person, party)
    if to is not None and to != person:
        await administrator_access(database, person, to)
    query = select(Delegation).order_by(Delegation.id)
    if party is not None:
        query = query.where(Delegation.from_party == party)
    if to is not None:
        query = query.where(Delegation.to_party == to)
    async with database.transaction() as session:
        return [delegation_public(row) for row in await session.scalars(query)]
