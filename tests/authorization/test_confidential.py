"""Confidential post (taushetsbelagt post): no role gives it; only an explicit delegation does, and one given
to an organisation does not reach its key-role holders by itself."""

from datetime import date

from felles.authorization import pip
from felles.authorization.catalogue import load_catalogue
from tests.authorization.test_decisions_and_delegations import (
    ACME,
    EMPLOYEE,
    LEADER,
    OTHER_COMPANY,
    POLICY,
    RESOURCE,
    SKD,
    WRITE,
    decide,
    request,
    world,
)
from tests.authorization.world import add_persons, add_roles, person_number
from tests.conftest import bearer

CONFIDENTIAL = "post-til-virksomheten-med-taushetsbelagt-innhold"
OTHER_LEADER = person_number(date(1975, 7, 7), 6)


async def test_the_catalogue_has_one_confidential_package(database):
    assert pip.confidential_packages(await load_catalogue(database)) == frozenset({CONFIDENTIAL})


async def test_key_roles_get_confidential_post_only_when_someone_is_given_it(client, database, token):
    await world(client, database, token)
    await add_persons(database, (OTHER_LEADER, date(1975, 7, 7)))
    await add_roles(database, (OTHER_COMPANY, "DAGL", OTHER_LEADER))
    owner = bearer(token(scopes=[WRITE], org=SKD))
    await client.put(f"/resourceregistry/api/v1/resource/{RESOURCE}/policy",
                     content=POLICY.replace(b">ansettelsesforhold<", f">{CONFIDENTIAL}<".encode()),
                     headers={**owner, "Content-Type": "application/xml"})
    assert (await decide(client, token, request(LEADER, ACME)))[0]["Decision"] == "NotApplicable"
    leader = bearer(token(scopes=[], person=LEADER))
    # The main administrator (DAGL holds HADM) may give it without having it: to another organisation ...
    to_org = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", headers=leader,
                               json={"party": ACME, "to": OTHER_COMPANY, "package": CONFIDENTIAL})
    assert to_org.status_code == 201, to_org.text
    org_subject = request(LEADER, ACME)
    org_subject["Request"]["AccessSubject"][0]["Attribute"][0] = {
        "AttributeId": "urn:altinn:organization:identifier-no", "Value": OTHER_COMPANY}
    assert (await decide(client, token, org_subject))[0]["Decision"] == "Permit"
    # ... whose managing director still gets nothing by that alone,
    assert (await decide(client, token, request(OTHER_LEADER, ACME)))[0]["Decision"] == "NotApplicable"
    # ... and to a named person, who then reads it.
    to_person = await client.post("/accessmanagement/api/v1/enduser/delegations/accesspackages", headers=leader,
                                  json={"party": ACME, "to": EMPLOYEE, "package": CONFIDENTIAL})
    assert to_person.status_code == 201, to_person.text
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "Permit"
    assert (await decide(client, token, request(LEADER, ACME)))[0]["Decision"] == "NotApplicable"
