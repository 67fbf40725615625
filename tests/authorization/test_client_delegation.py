"""Client delegation (klientdelegering): an accountant, auditor or business manager organisation gets its
clients' packages through Enhetsregisteret; its client administrators pass them on to employees; the client's
administrators see and take them back."""

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
    organization_number,
    person_number,
)
from tests.conftest import bearer

WRITE = "altinn:resourceregistry/resource.write"
AUTHORIZE = "altinn:authorization/authorize"
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
BASE = "/accessmanagement/api/v1/enduser/clientdelegations"
URN = "urn:altinn:accesspackage:"


async def world(client, database, token) -> None:
    await add_organizations(database, (FIRM, "AS", None), (CLIENT, "AS", None), (AUDITED_CLIENT, "AS", None),
                            (HOUSING_CLIENT, "BRL", None))
    await add_persons(database, (FIRM_LEADER, date(1971, 4, 4)), (EMPLOYEE, date(1990, 9, 9)),
                      (CLIENT_LEADER, date(1965, 3, 3)))
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


async def decide(client, token, subject: str, party: str) -> str:
    subject_id = "person" if len(subject) == 11 else "organization"
    body = {"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": f"urn:altinn:{subject_id}:identifier-no",
                                          "Value": subject}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "read"}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": RESOURCE},
                                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party}]}],
    }}
    response = await client.post("/authorization/api/v1/authorize", json=body,
                                 headers=bearer(token(scopes=[AUTHORIZE], org=SKD)))
    assert response.status_code == 200, response.text
    return response.json()["Response"][0]["Decision"]


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
    async with database.transaction() as session:
        audited = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.resource == "authorization.delegation").order_by(AuditEntry.id)))
    assert audited == ["delegate", "revoke"]
    # The firm's own role comes from Enhetsregisteret and stays.
    assert await decide(client, token, FIRM, CLIENT) == "Permit"
