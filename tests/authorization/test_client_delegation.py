"""Client delegation (klientdelegering): an accountant, auditor or business manager organisation gets its
clients' packages through Enhetsregisteret; its client administrators register employees as its agents and pass
the packages on to them; the client's administrators see and take them back."""

from datetime import date

from sqlalchemy import select, update

from felles.core.audit import AuditEntry
from felles.events.models import CloudEventRecord
from felles.registers.models import Role
from tests.authorization.world import (
    REFERENCE,
    SKD,
    add_organization_roles,
    add_organizations,
    add_persons,
    add_roles,
    decide_over_http,
    organization_number,
    person_number,
)
from tests.conftest import bearer

WRITE = "altinn:resourceregistry/resource.write"
RESOURCE = "ttd-accesspackage-resource"
# read/write for holders of the package regnskapsforer-lonn
POLICY = (REFERENCE / "pdp" / "resources" / "ttd-accesspackage-resource.policy.xml").read_bytes().replace(
    b">ansettelsesforhold<", b">regnskapsforer-lonn<")
FIRM = organization_number(93000001)
CLIENT = organization_number(93000101)
AUDITED_CLIENT = organization_number(93000201)
HOUSING_CLIENT = organization_number(93000301)  # a borettslag with the firm as forretningsfører
FIRM_LEADER = person_number(date(1971, 4, 4), 11)
EMPLOYEE = person_number(date(1990, 9, 9), 12)
CLIENT_LEADER = person_number(date(1965, 3, 3), 13)
OTHER_EMPLOYEE = person_number(date(1992, 2, 2), 14)
UNREGISTERED = person_number(date(1980, 8, 8), 15)  # a valid number Folkeregisteret does not have
BASE = "/accessmanagement/api/v1/enduser/clientdelegations"
URN = "urn:altinn:accesspackage:"


async def world(client, database, token) -> None:
    await add_organizations(database, (FIRM, "AS", None), (CLIENT, "AS", None), (AUDITED_CLIENT, "AS", None),
                            (HOUSING_CLIENT, "BRL", None))
    await add_persons(database, (FIRM_LEADER, date(1971, 4, 4)), (EMPLOYEE, date(1990, 9, 9)),
                      (CLIENT_LEADER, date(1965, 3, 3)), (OTHER_EMPLOYEE, date(1992, 2, 2)))
    await add_roles(database, (FIRM, "DAGL", FIRM_LEADER), (CLIENT, "DAGL", CLIENT_LEADER))
    await add_organization_roles(database, (CLIENT, "REGN", FIRM), (AUDITED_CLIENT, "REVI", FIRM),
                                 (HOUSING_CLIENT, "FFØR", FIRM))
    owner = bearer(token(scopes=[WRITE], org=SKD))
    document = {"identifier": RESOURCE, "title": {"nb": "Lønn", "nn": "Løn", "en": "Salary"},
                "hasCompetentAuthority": {"organization": SKD, "orgcode": "skd"},
                "resourceType": "GenericAccessResource"}
    assert (await client.post("/resourceregistry/api/v1/resource", json=document, headers=owner)).status_code == 201
    assert (await client.put(f"/resourceregistry/api/v1/resource/{RESOURCE}/policy", content=POLICY,
                             headers={**owner, "Content-Type": "application/xml"})).status_code == 200


def last_name(person: str) -> str:
    """The family name tests.authorization.world gives a person."""
    return person[-5:]


async def add_agent(client, headers, person: str):
    return await client.post(f"{BASE}/agents?party={FIRM}", headers=headers,
                             json={"personIdentifier": person, "lastName": last_name(person)})


async def decide(client, token, subject: str, party: str) -> str:
    return await decide_over_http(client, token, subject, party, RESOURCE)


async def audited(database, resource: str) -> list[str]:
    async with database.transaction() as session:
        return list(await session.scalars(select(AuditEntry.action).where(AuditEntry.resource == resource)
                                          .order_by(AuditEntry.id)))


async def event_types(database) -> list[str]:
    async with database.transaction() as session:
        return list(await session.scalars(select(CloudEventRecord.type).order_by(CloudEventRecord.sequence)))


async def test_the_firm_holds_its_clients_packages_and_passes_one_client_on_to_an_employee(client, database, token):
    await world(client, database, token)
    # The firm itself acts for its client; its people do not until the client administrator says so.
    assert await decide(client, token, FIRM, CLIENT) == "Permit"
    assert await decide(client, token, FIRM_LEADER, CLIENT) == "NotApplicable"
    assert await decide(client, token, EMPLOYEE, CLIENT) == "NotApplicable"
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    assert (await add_agent(client, leader, EMPLOYEE)).status_code == 200
    clients = await client.get(f"{BASE}/clients?party={FIRM}", headers=leader)
    assert clients.status_code == 200, clients.text
    access = {c["organizationNumber"]: c["access"] for c in clients.json()}
    assert access == {
        CLIENT: [{"role": "regnskapsforer", "packages": [
            URN + "regnskapsforer-lonn", URN + "regnskapsforer-med-signeringsrettighet",
            URN + "regnskapsforer-uten-signeringsrettighet"]}],
        AUDITED_CLIENT: [{"role": "revisor", "packages": [URN + "ansvarlig-revisor", URN + "revisormedarbeider"]}],
        HOUSING_CLIENT: [{"role": "forretningsforer", "packages": [URN + "forretningsforer-eiendom"]}],
    }
    given = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                              headers=leader,
                              json={"values": [{"role": "regnskapsforer", "packages": [URN + "regnskapsforer-lonn"]}]})
    assert given.status_code == 201, given.text
    (delegation,) = given.json()
    assert delegation["fromParty"] == CLIENT and delegation["facilitator"] == FIRM
    assert delegation["facilitatorRole"] == "regnskapsforer"
    assert await decide(client, token, EMPLOYEE, CLIENT) == "Permit"
    assert await decide(client, token, EMPLOYEE, AUDITED_CLIENT) == "NotApplicable"
    employee = bearer(token(scopes=[], person=EMPLOYEE))
    mine = await client.get(f"{BASE}/my/clients", headers=employee)
    assert mine.json() == [{"provider": FIRM, "providerName": f"Org {FIRM}", "client": CLIENT,
                            "clientName": f"Org {CLIENT}", "packages": [URN + "regnskapsforer-lonn"]}]
    parties = await client.get("/accessmanagement/api/v1/enduser/authorizedparties?includeAccessPackages=true",
                               headers=employee)
    by_number = {p["organizationNumber"]: p for p in parties.json() if p["type"] == "Organization"}
    assert by_number[CLIENT]["authorizedAccessPackages"] == ["regnskapsforer-lonn"]
    assert "clientdelegation.created" in (await event_types(database))[-1]
    # Only a client administrator may pass clients on, and only what the firm holds for that client.
    refused = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                                headers=employee,
                                json={"values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]}]})
    assert refused.status_code == 403 and refused.json()["code"] == "not_client_administrator"
    wrong = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                              headers=leader, json={"values": [{"role": "revisor", "packages": ["ansvarlig-revisor"]}]})
    assert wrong.status_code == 400 and wrong.json()["code"] == "package_not_held_for_client"
    # When the firm no longer holds the role, what it passed on stops counting.
    async with database.transaction() as session:
        await session.execute(update(Role).where(Role.holder_organization_number == FIRM).values(resigned=True))
    from felles.authorization import pip

    pip.invalidate()
    assert await decide(client, token, EMPLOYEE, CLIENT) == "NotApplicable"
    assert await decide(client, token, FIRM, CLIENT) == "NotApplicable"


async def test_all_clients_at_once_and_taking_them_back(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    assert (await add_agent(client, leader, EMPLOYEE)).status_code == 200
    given = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}", headers=leader, json={
        "values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]},
                   {"role": "revisor", "packages": ["revisormedarbeider"]}]})
    assert given.status_code == 201, given.text
    assert sorted((d["fromParty"], d["package"]) for d in given.json()) == [
        (CLIENT, URN + "regnskapsforer-lonn"), (AUDITED_CLIENT, URN + "revisormedarbeider")]
    assert await decide(client, token, EMPLOYEE, CLIENT) == "Permit"
    listed = await client.get(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}", headers=leader)
    assert len(listed.json()) == 2
    removed = await client.delete(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                                  headers=leader)
    assert removed.status_code == 204
    assert await decide(client, token, EMPLOYEE, CLIENT) == "NotApplicable"
    remaining = await client.get(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}", headers=leader)
    assert [d["fromParty"] for d in remaining.json()] == [AUDITED_CLIENT]
    assert (await event_types(database))[-1] == "altinn.accessmanagement.clientdelegation.deleted"
    # The firm's client administrator may also revoke one delegation by its id, though the client gave it.
    revoked = await client.delete(f"/accessmanagement/api/v1/enduser/delegations/{remaining.json()[0]['id']}",
                                  headers=leader)
    assert revoked.status_code == 204
    assert (await client.get(f"{BASE}/agents/accesspackages?party={FIRM}", headers=leader)).json() == []


async def test_the_clients_administrator_sees_and_removes_what_the_firm_passed_on(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    assert (await add_agent(client, leader, EMPLOYEE)).status_code == 200
    await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}", headers=leader,
                      json={"values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]}]})
    client_leader = bearer(token(scopes=[], person=CLIENT_LEADER))
    providers = await client.get(f"{BASE}/clientproviders?party={CLIENT}", headers=client_leader)
    assert providers.status_code == 200, providers.text
    (provider,) = providers.json()
    assert provider["organizationNumber"] == FIRM and provider["access"][0]["role"] == "regnskapsforer"
    assert [d["toParty"] for d in provider["delegations"]] == [EMPLOYEE]
    # Someone else's client is not theirs to see.
    other = await client.get(f"{BASE}/clientproviders?party={AUDITED_CLIENT}", headers=client_leader)
    assert other.status_code == 403
    removed = await client.delete(f"{BASE}/clientproviders?party={CLIENT}&provider={FIRM}", headers=client_leader)
    assert removed.status_code == 204
    assert await decide(client, token, EMPLOYEE, CLIENT) == "NotApplicable"
    assert await audited(database, "authorization.delegation") == ["delegate", "revoke"]
    # The firm's own role comes from Enhetsregisteret and stays.
    assert await decide(client, token, FIRM, CLIENT) == "Permit"


async def test_agents_are_registered_by_fodselsnummer_and_last_name_and_listed(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    added = await add_agent(client, leader, EMPLOYEE)
    assert added.status_code == 200, added.text
    assignment = added.json()
    assert (assignment["role"], assignment["fromParty"], assignment["toParty"]) == (
        "urn:altinn:role:agent", FIRM, EMPLOYEE)
    # Adding again answers with the registration there is, and changes nothing.
    again = await add_agent(client, leader, EMPLOYEE)
    assert again.status_code == 200 and again.json() == assignment
    # Altinn's own guide spells the key "personidentifier"; the last name is compared without regard to case.
    other = await client.post(f"{BASE}/agents?party={FIRM}", headers=leader, json={
        "personidentifier": OTHER_EMPLOYEE, "lastName": f" {last_name(OTHER_EMPLOYEE).upper()} "})
    assert other.status_code == 200, other.text
    listed = await client.get(f"{BASE}/agents?party={FIRM}", headers=leader)
    assert listed.status_code == 200, listed.text
    assert [(a["personIdentifier"], a["name"], a["delegations"]) for a in listed.json()] == [
        (EMPLOYEE, f"Test {last_name(EMPLOYEE)}", []), (OTHER_EMPLOYEE, f"Test {last_name(OTHER_EMPLOYEE)}", [])]
    assert listed.json()[0]["agentAddedAt"] == assignment["agentAddedAt"]
    assert await audited(database, "authorization.client_agent") == ["create", "create", "read"]
    assert [t for t in await event_types(database) if ".agent." in t] == [
        "altinn.accessmanagement.clientdelegation.agent.added"] * 2
    # The list shows what the firm has passed on to each agent.
    await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}", headers=leader,
                      json={"values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]}]})
    listed = {a["personIdentifier"]: a for a in (await client.get(f"{BASE}/agents?party={FIRM}",
                                                                    headers=leader)).json()}
    assert [(d["fromParty"], d["package"]) for d in listed[EMPLOYEE]["delegations"]] == [
        (CLIENT, URN + "regnskapsforer-lonn")]
    assert listed[OTHER_EMPLOYEE]["delegations"] == []


async def test_an_agent_must_be_a_person_in_folkeregisteret_with_that_last_name(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    refusals = [
        {"personIdentifier": UNREGISTERED, "lastName": last_name(UNREGISTERED)},  # no such person
        {"personIdentifier": EMPLOYEE, "lastName": "Nordmann"},  # the wrong last name
        {"personIdentifier": EMPLOYEE[:-1] + str((int(EMPLOYEE[-1]) + 1) % 10),  # a broken checksum
         "lastName": last_name(EMPLOYEE)},
    ]
    for body in refusals:
        refused = await client.post(f"{BASE}/agents?party={FIRM}", headers=leader, json=body)
        # One answer for all, as Altinn gives: the API does not tell whether the number belongs to anyone.
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "person_not_matched"
    missing = await client.post(f"{BASE}/agents?party={FIRM}", headers=leader, json={"personIdentifier": EMPLOYEE})
    assert missing.status_code == 422
    assert (await client.get(f"{BASE}/agents?party={FIRM}", headers=leader)).json() == []
    assert "create" not in await audited(database, "authorization.client_agent")


async def test_client_packages_go_only_to_the_firms_agents(client, database, token):
    await world(client, database, token)
    other_firm = organization_number(93000401)  # the firm's leader leads this one too
    await add_organizations(database, (other_firm, "AS", None))
    await add_roles(database, (other_firm, "DAGL", FIRM_LEADER))
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    values = {"values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]}]}
    refused = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                                headers=leader, json=values)
    assert refused.status_code == 400 and refused.json()["code"] == "agent_not_registered"
    every_client = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}", headers=leader,
                                     json=values)
    assert every_client.status_code == 400 and every_client.json()["code"] == "agent_not_registered"
    assert (await client.get(f"{BASE}/agents/accesspackages?party={FIRM}", headers=leader)).json() == []
    assert await decide(client, token, EMPLOYEE, CLIENT) == "NotApplicable"
    # Another firm's agent is not this firm's agent.
    assert (await client.post(f"{BASE}/agents?party={other_firm}", headers=leader, json={
        "personIdentifier": EMPLOYEE, "lastName": last_name(EMPLOYEE)})).status_code == 200
    refused = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                                headers=leader, json=values)
    assert refused.status_code == 400 and refused.json()["code"] == "agent_not_registered"
    assert (await add_agent(client, leader, EMPLOYEE)).status_code == 200
    given = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                              headers=leader, json=values)
    assert given.status_code == 201, given.text
    assert await decide(client, token, EMPLOYEE, CLIENT) == "Permit"


async def test_removing_an_agent_takes_back_every_client_package_it_holds_from_the_firm(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    for person in (EMPLOYEE, OTHER_EMPLOYEE):
        assert (await add_agent(client, leader, person)).status_code == 200
        given = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={person}", headers=leader, json={
            "values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]},
                       {"role": "revisor", "packages": ["revisormedarbeider"]}]})
        assert given.status_code == 201, given.text
    assert await decide(client, token, EMPLOYEE, CLIENT) == "Permit"
    # Without cascade an agent still holding client packages stays, as Altinn answers.
    kept = await client.delete(f"{BASE}/agents?party={FIRM}&to={EMPLOYEE}&cascade=false", headers=leader)
    assert kept.status_code == 400 and kept.json()["code"] == "agent_has_delegations"
    assert await decide(client, token, EMPLOYEE, CLIENT) == "Permit"
    events_before = len(await event_types(database))
    removed = await client.delete(f"{BASE}/agents?party={FIRM}&to={EMPLOYEE}", headers=leader)
    assert removed.status_code == 204, removed.text
    assert await decide(client, token, EMPLOYEE, CLIENT) == "NotApplicable"
    assert await decide(client, token, EMPLOYEE, AUDITED_CLIENT) == "NotApplicable"
    employee = bearer(token(scopes=[], person=EMPLOYEE))
    assert (await client.get(f"{BASE}/my/clients", headers=employee)).json() == []
    # The other agent keeps theirs.
    assert await decide(client, token, OTHER_EMPLOYEE, CLIENT) == "Permit"
    agents = (await client.get(f"{BASE}/agents?party={FIRM}", headers=leader)).json()
    assert [a["personIdentifier"] for a in agents] == [OTHER_EMPLOYEE]
    assert (await client.get(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}", headers=leader)).json() == []
    # Each package taken back is audited and announced as any revocation, then the agent's removal.
    assert (await event_types(database))[events_before:] == [
        "altinn.accessmanagement.clientdelegation.deleted", "altinn.accessmanagement.clientdelegation.deleted",
        "altinn.accessmanagement.clientdelegation.agent.removed"]
    assert (await audited(database, "authorization.delegation")).count("revoke") == 2
    assert (await audited(database, "authorization.client_agent"))[-2] == "delete"
    # Gone is gone: no second removal, and no packages until they are added again.
    again = await client.delete(f"{BASE}/agents?party={FIRM}&to={EMPLOYEE}", headers=leader)
    assert again.status_code == 404 and again.json()["code"] == "agent_not_found"
    refused = await client.post(f"{BASE}/agents/accesspackages?party={FIRM}&to={EMPLOYEE}&from={CLIENT}",
                                headers=leader,
                                json={"values": [{"role": "regnskapsforer", "packages": ["regnskapsforer-lonn"]}]})
    assert refused.status_code == 400 and refused.json()["code"] == "agent_not_registered"


async def test_an_agent_holding_nothing_is_removed_even_without_cascade(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    assert (await add_agent(client, leader, EMPLOYEE)).status_code == 200
    removed = await client.delete(f"{BASE}/agents?party={FIRM}&to={EMPLOYEE}&cascade=false", headers=leader)
    assert removed.status_code == 204, removed.text
    assert (await client.get(f"{BASE}/agents?party={FIRM}", headers=leader)).json() == []


async def test_only_the_firms_client_administrators_manage_its_agents(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=FIRM_LEADER))
    assert (await add_agent(client, leader, EMPLOYEE)).status_code == 200
    # An agent is no administrator; nor is the client's own leader (an administrator of another organisation).
    for outsider in (EMPLOYEE, CLIENT_LEADER):
        headers = bearer(token(scopes=[], person=outsider))
        responses = [
            await client.get(f"{BASE}/agents?party={FIRM}", headers=headers),
            await add_agent(client, headers, OTHER_EMPLOYEE),
            await client.delete(f"{BASE}/agents?party={FIRM}&to={EMPLOYEE}", headers=headers),
        ]
        for response in responses:
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "not_client_administrator"
    # The firm's leader administers the firm, not its client.
    other = await client.get(f"{BASE}/agents?party={CLIENT}", headers=leader)
    assert other.status_code == 403
    assert [a["personIdentifier"] for a in (await client.get(f"{BASE}/agents?party={FIRM}", headers=leader)).json()
            ] == [EMPLOYEE]
    # Without a token there is no answer at all.
    assert (await client.get(f"{BASE}/agents?party={FIRM}")).status_code == 401
