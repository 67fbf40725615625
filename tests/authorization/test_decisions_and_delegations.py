from datetime import date

from sqlalchemy import select

from felles.core.audit import AuditEntry
from felles.core.tokens import Issuer
from tests.authorization.world import (
    ACME,
    ACME_BRANCH,
    OTHER_COMPANY,
    REFERENCE,
    SKD,
    add_guardianship,
    add_organizations,
    add_parent,
    add_persons,
    add_roles,
    person_number,
)
from tests.conftest import bearer

WRITE = "altinn:resourceregistry/resource.write"
AUTHORIZE = "altinn:authorization/authorize"
RESOURCE = "ttd-accesspackage-resource"  # read/write for holders of the package "ansettelsesforhold"
POLICY = (REFERENCE / "pdp" / "resources" / "ttd-accesspackage-resource.policy.xml").read_bytes()
LEADER = person_number(date(1970, 5, 17), 1)
EMPLOYEE = person_number(date(1985, 3, 3), 2)
BOARD_MEMBER = person_number(date(1960, 2, 2), 3)
CHILD = person_number(date(2015, 6, 1), 4)
WARD = person_number(date(1940, 1, 1), 5)


async def world(client, database, token) -> None:
    await add_organizations(database, (ACME, "AS", None), (ACME_BRANCH, "BEDR", ACME), (OTHER_COMPANY, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)), (EMPLOYEE, date(1985, 3, 3)),
                      (BOARD_MEMBER, date(1960, 2, 2)), (CHILD, date(2015, 6, 1)), (WARD, date(1940, 1, 1)))
    await add_roles(database, (ACME, "DAGL", LEADER), (ACME, "MEDL", BOARD_MEMBER))
    owner = bearer(token(scopes=[WRITE], org=SKD))
    document = {"identifier": RESOURCE, "title": {"nb": "Ansettelsesforhold", "nn": "Tilsetjing", "en": "Employment"},
                "hasCompetentAuthority": {"organization": SKD, "orgcode": "skd"},
                "resourceType": "GenericAccessResource"}
    assert (await client.post("/resourceregistry/api/v1/resource", json=document, headers=owner)).status_code == 201
    assert (await client.put(f"/resourceregistry/api/v1/resource/{RESOURCE}/policy", content=POLICY,
                             headers={**owner, "Content-Type": "application/xml"})).status_code == 200


def request(person: str, party: str, action: str = "read", resource: str = RESOURCE) -> dict:
    return {"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": person}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": action}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": resource},
                                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party}]}],
    }}


async def decide(client, token, body: dict) -> list[dict]:
    response = await client.post("/authorization/api/v1/authorize", json=body,
                                 headers=bearer(token(scopes=[AUTHORIZE], org=SKD)))
    assert response.status_code == 200, response.text
    return response.json()["Response"]


async def test_key_role_gets_the_package_through_enhetsregisteret(client, database, token):
    await world(client, database, token)
    (leader,) = await decide(client, token, request(LEADER, ACME))
    assert leader["Decision"] == "Permit"
    assert leader["Obligations"][0]["attributeAssignment"][0] == {
        "attributeId": "urn:altinn:obligation-assignment:1", "value": "2",
        "category": "urn:altinn:minimum-authenticationlevel",
        "dataType": "http://www.w3.org/2001/XMLSchema#integer", "issuer": None}
    # A sub-unit inherits its main unit's roles; a board member (MEDL) gets no package; nor does anyone elsewhere.
    assert (await decide(client, token, request(LEADER, ACME_BRANCH)))[0]["Decision"] == "Permit"
    assert (await decide(client, token, request(BOARD_MEMBER, ACME)))[0]["Decision"] == "NotApplicable"
    assert (await decide(client, token, request(LEADER, OTHER_COMPANY)))[0]["Decision"] == "NotApplicable"
    assert (await decide(client, token, request(LEADER, ACME, action="delete")))[0]["Decision"] == "NotApplicable"


async def test_multi_requests_answer_in_reference_order(client, database, token):
    await world(client, database, token)
    body = {"Request": {
        "AccessSubject": [{"Id": "s1", "Attribute": [{"AttributeId": "urn:altinn:person:identifier-no",
                                                      "Value": LEADER}]}],
        "Action": [{"Id": "a1", "Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                               "Value": "read"}]}],
        "Resource": [{"Id": f"r{i}", "Attribute": [
            {"AttributeId": "urn:altinn:resource", "Value": RESOURCE},
            {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party, "IncludeInResult": True}]}
            for i, party in enumerate((OTHER_COMPANY, ACME, ACME_BRANCH))],
        "MultiRequests": {"RequestReference": [{"ReferenceId": ["s1", "a1", f"r{i}"]} for i in range(3)]},
    }}
    results = await decide(client, token, body)
    assert [r["Decision"] for r in results] == ["NotApplicable", "Permit", "Permit"]
    assert [r["Category"][0]["Attribute"][0]["Value"] for r in results] == [OTHER_COMPANY, ACME, ACME_BRANCH]


async def test_authorize_needs_its_scope_and_reports_bad_requests_as_indeterminate(client, database, token):
    await world(client, database, token)
    refused = await client.post("/authorization/api/v1/authorize", json=request(LEADER, ACME),
                                headers=bearer(token(scopes=[WRITE], org=SKD)))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    (broken,) = await decide(client, token, {"Request": {"AccessSubject": "nonsense"}})
    assert broken["Decision"] == "Indeterminate"
    assert broken["Status"]["StatusCode"]["Value"].endswith("syntax-error")
    (unknown,) = await decide(client, token, request(LEADER, ACME, resource="no-such-resource"))
    assert unknown["Decision"] == "Indeterminate"
    assert unknown["Status"]["StatusCode"]["Value"].endswith("processing-error")


async def test_a_new_policy_takes_effect_at_once(client, database, token):
    await world(client, database, token)
    assert (await decide(client, token, request(LEADER, ACME)))[0]["Decision"] == "Permit"
    stricter = POLICY.replace(b">ansettelsesforhold<", b">lonn-personopplysninger-saerlig-kategori<")
    owner = bearer(token(scopes=[WRITE], org=SKD))
    await client.put(f"/resourceregistry/api/v1/resource/{RESOURCE}/policy", content=stricter,
                     headers={**owner, "Content-Type": "application/xml"})
    # DAGL of an AS holds lonn-personopplysninger-saerlig-kategori too; a policy for "ordinaer-post..."
    # would not be given to anyone but the main administrator.
    assert (await decide(client, token, request(LEADER, ACME)))[0]["Decision"] == "Permit"
    confidential = POLICY.replace(b">ansettelsesforhold<", b">post-til-virksomheten-med-taushetsbelagt-innhold<")
    await client.put(f"/resourceregistry/api/v1/resource/{RESOURCE}/policy", content=confidential,
                     headers={**owner, "Content-Type": "application/xml"})
    assert (await decide(client, token, request(LEADER, ACME)))[0]["Decision"] == "NotApplicable"


async def test_main_administrator_gives_and_revokes_a_package(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=LEADER))
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "NotApplicable"
    given = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", headers=leader,
                              json={"party": ACME, "to": EMPLOYEE,
                                    "package": "urn:altinn:accesspackage:ansettelsesforhold"})
    assert given.status_code == 201, given.text
    assert given.json()["package"] == "urn:altinn:accesspackage:ansettelsesforhold"
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "Permit"
    # The package was given by ACME, not by the other company.
    assert (await decide(client, token, request(EMPLOYEE, OTHER_COMPANY)))[0]["Decision"] == "NotApplicable"
    listed = await client.get(f"/accessmanagement/api/v1/enduser/delegations?party={ACME}", headers=leader)
    assert [d["toParty"] for d in listed.json()] == [EMPLOYEE]
    revoked = await client.delete(f"/accessmanagement/api/v1/enduser/delegations/{given.json()['id']}",
                                  headers=leader)
    assert revoked.status_code == 204
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "NotApplicable"
    async with database.transaction() as session:
        audited = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.resource == "authorization.delegation")))
    assert sorted(audited) == ["delegate", "revoke"]


async def test_only_administrators_delegate_and_only_what_they_may(client, database, token):
    await world(client, database, token)
    board_member = bearer(token(scopes=[], person=BOARD_MEMBER))
    body = {"party": ACME, "to": EMPLOYEE, "package": "ansettelsesforhold"}
    refused = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", json=body,
                                headers=board_member)
    assert refused.status_code == 403 and refused.json()["code"] == "not_access_manager"
    leader = bearer(token(scopes=[], person=LEADER))
    # Client packages arrive only through the accountant's role; no one can give them.
    client_package = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", headers=leader,
                                       json={**body, "package": "regnskapsforer-med-signeringsrettighet"})
    assert client_package.status_code == 400 and client_package.json()["code"] == "package_not_assignable"
    # An access manager may give packages they hold, not the ones they do not.
    manager = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", headers=leader,
                                json={**body, "to": BOARD_MEMBER, "package": "tilgangsstyrer"})
    assert manager.status_code == 201, manager.text
    still_refused = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", json=body,
                                      headers=board_member)
    assert still_refused.status_code == 403 and still_refused.json()["code"] == "package_not_delegable_by_you"
    # An organisation's token is no end-user token: refused as a Maskinporten token, and as an Altinn one.
    for issuer, status in ((Issuer.MASKINPORTEN, 401), (Issuer.ALTINN, 403)):
        orgs = bearer(token(scopes=[AUTHORIZE, "altinn:portal/enduser"], org=SKD, issuer=issuer))
        not_a_person = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", json=body,
                                         headers=orgs)
        assert not_a_person.status_code == status, not_a_person.text


async def test_single_rights_only_if_the_giver_has_them(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=LEADER))
    given = await client.post("/accessmanagement/api/v1/enduser/delegations/rights", headers=leader,
                              json={"party": ACME, "to": EMPLOYEE, "resource": RESOURCE, "actions": ["read"]})
    assert given.status_code == 201, given.text
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "Permit"
    assert (await decide(client, token, request(EMPLOYEE, ACME, action="write")))[0]["Decision"] == "NotApplicable"
    cannot = await client.post("/accessmanagement/api/v1/enduser/delegations/rights", headers=leader,
                               json={"party": ACME, "to": EMPLOYEE, "resource": RESOURCE, "actions": ["delete"]})
    assert cannot.status_code == 403 and cannot.json()["code"] == "right_not_delegable_by_you"


async def test_guardians_and_parents_get_packages_from_folkeregisteret(database):
    from felles.authorization import pip

    await add_persons(database, (LEADER, date(1970, 5, 17)), (CHILD, date(2015, 6, 1)), (WARD, date(1940, 1, 1)))
    await add_parent(database, LEADER, CHILD)
    await add_guardianship(database, LEADER, WARD, [("nav", "pensjon"), ("skatteetaten", "skatt")])
    access = await pip.subject_access(database, LEADER)
    assert "vergemal-nav-pensjon" in access.parties[WARD].packages
    assert "vergemal-skatteetaten-skatt" in access.parties[WARD].packages
    assert not any(p.startswith("innbygger-") for p in access.parties[WARD].packages)
    assert "innbygger-skatteforhold-privatpersoner" in access.parties[CHILD].packages
    assert {"priv", "regna"} <= access.parties[LEADER].rolecodes


async def test_authorized_parties_lists_main_units_with_sub_units(client, database, token):
    await world(client, database, token)
    leader = bearer(token(scopes=[], person=LEADER))
    await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", headers=leader,
                      json={"party": ACME, "to": EMPLOYEE, "package": "ansettelsesforhold"})
    mine = await client.get("/accessmanagement/api/v1/enduser/authorizedparties?includeAccessPackages=true",
                            headers=leader)
    assert mine.status_code == 200, mine.text
    by_number = {p["organizationNumber"] or p["personId"]: p for p in mine.json()}
    assert set(by_number) == {ACME, LEADER}
    acme = by_number[ACME]
    assert acme["type"] == "Organization" and acme["unitType"] == "AS" and acme["name"] == f"Org {ACME}"
    assert "dagl" in acme["authorizedRoles"] and "ansettelsesforhold" in acme["authorizedAccessPackages"]
    assert [s["organizationNumber"] for s in acme["subunits"]] == [ACME_BRANCH]
    assert acme["subunits"][0]["parentId"] == acme["partyId"]
    service_owner = await client.post(
        "/accessmanagement/api/v1/resourceowner/authorizedparties",
        json={"type": "urn:altinn:person:identifier-no", "value": EMPLOYEE},
        headers=bearer(token(scopes=["altinn:accessmanagement/authorizedparties.resourceowner"], org=SKD)))
    assert service_owner.status_code == 200, service_owner.text
    assert [p["organizationNumber"] for p in service_owner.json() if p["type"] == "Organization"] == [ACME]
