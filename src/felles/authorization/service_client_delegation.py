"""Client delegation (klientdelegering): a firm's client administrators register agents and pass the packages its
clients gave the firm on to them; each change audited and published as an event in its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization import pip
from felles.authorization import schemas as s
from felles.authorization.catalogue import (
    PACKAGE_URN,
    load_catalogue,
)
from felles.authorization.models import (
    ClientAgent,
    Delegation,
)
from felles.authorization.parties import kind_of
from felles.authorization.service import (
    AGENT_ROLE,
    CLIENT_AGENT_ADDED,
    CLIENT_AGENT_AUDIT,
    CLIENT_AGENT_REMOVED,
    administrator_access,
    check_identifier,
    is_client_administrator,
    package_code_of,
    publish_event,
)
from felles.authorization.service_delegations import add_delegation, delegation_public, remove_delegation
from felles.core import audit
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database, insert_for
from felles.core.errors import Forbidden, InvalidInput, NotFound
from felles.core.ids import uuid7
from felles.registers import service as registers

# --- client delegation (klientdelegering) --------------------------------------------------------------------


async def _client_administrator_access(database: Database, person: str | None, firm: str) -> None:
    if person is None:
        raise Forbidden("Only a person logged in with ID-porten may manage clients.", code="person_required")
    if not await is_client_administrator(database, person, firm):
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
            given.setdefault(row.from_party, []).append(delegation_public(row))
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
            given.setdefault(row.to_party, []).append(delegation_public(row))
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
            await publish_event(session, CLIENT_AGENT_ADDED, party, agent,
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
            await remove_delegation(session, actor, row)
        await session.execute(delete(ClientAgent).where(ClientAgent.id == agent.id))
        await audit.record(session, actor, action="delete", resource=CLIENT_AGENT_AUDIT, subjects=[party, to],
                           detail={"delegationsRemoved": len(held)})
        await publish_event(session, CLIENT_AGENT_REMOVED, party, to,
                       _agent_assignment_public(agent).model_dump(mode="json"))


async def delegate_to_agent(database: Database, actor: Actor, person: str | None, party: str, to: str,
                            values: list[s.ClientRolePackages], *, client: str | None = None,
                            ) -> list[s.DelegationPublic]:
    """Pass client packages of firm ``party`` on to its agent ``to`` (see ``add_agent``): for one ``client``, or
    for every current client when ``client`` is None (then each package goes to the clients whose role gives
    it). For a client administrator of ``party``."""
    await _client_administrator_access(database, person, party)
    check_identifier(to, "to")
    if kind_of(to) != "person":
        raise InvalidInput("Client packages are passed on to persons (the firm's agents).",
                           code="agent_not_person")
    async with database.transaction() as session:
        await _require_agent(session, party, to)
    clients = await _clients_of(database, party)
    if client is not None and client not in clients:
        raise NotFound(f"{client} is not a client of {party}.", code="client_not_found")
    wanted = [(value.role, package_code_of(package)) for value in values for package in value.packages]
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
        rows = [await add_delegation(session, actor, c, to, package=package, facilitator=party,
                                      facilitator_role=role) for c, role, package in grants]
    return [delegation_public(row) for row in rows]


async def remove_agent_delegations(database: Database, actor: Actor, person: str | None, party: str, to: str, *,
                                   client: str | None = None, packages: list[str] | None = None) -> int:
    """Take back client packages firm ``party`` passed on to ``to``: of one ``client`` or all, only
    ``packages`` or all. For a client administrator of ``party``. Returns how many were removed."""
    await _client_administrator_access(database, person, party)
    query = select(Delegation).where(Delegation.facilitator == party, Delegation.to_party == to)
    if client is not None:
        query = query.where(Delegation.from_party == client)
    if packages:
        query = query.where(Delegation.package_code.in_([package_code_of(p) for p in packages]))
    return await _remove_delegations(database, actor, query)


async def _remove_delegations(database: Database, actor: Actor, query: Any) -> int:
    async with database.transaction() as session:
        rows = list(await session.scalars(query))
        for row in rows:
            await remove_delegation(session, actor, row)
    return len(rows)


async def list_agent_delegations(database: Database, person: str | None, party: str, *,
                                 to: str | None = None) -> list[s.DelegationPublic]:
    """Client packages firm ``party`` has passed on (to ``to`` only, if given). For a client administrator."""
    await _client_administrator_access(database, person, party)
    query = select(Delegation).where(Delegation.facilitator == party).order_by(Delegation.from_party, Delegation.id)
    if to is not None:
        query = query.where(Delegation.to_party == to)
    async with database.transaction() as session:
        return [delegation_public(row) for row in await session.scalars(query)]


async def list_client_providers(database: Database, person: str | None, party: str) -> list[s.ClientProviderPublic]:
    """For client ``party``'s administrators: every accountant, auditor and business manager organisation
    holding a role for it (from Enhetsregisteret), the packages that gives them, and which of their employees
    they have passed them on to."""
    await administrator_access(database, person, party)
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
            given.setdefault(row.facilitator or "", []).append(delegation_public(row))
    return [s.ClientProviderPublic(organizationNumber=provider, name=names.get(provider),
                                   access=_role_packages(providers.get(provider, {})),
                                   delegations=given.get(provider, []))
            for provider in sorted(set(providers) | set(given))]


async def remove_client_provider_delegations(database: Database, actor: Actor, person: str | None, party: str,
                                             provider: str) -> int:
    """For client ``party``'s administrators: take back every package ``provider`` has passed on to its
    employees for ``party``. (The provider's own role comes from Enhetsregisteret and stays.) Returns how
    many were removed."""
    await administrator_access(database, person, party)
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
