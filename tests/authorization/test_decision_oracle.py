"""Property test: for random registers, roles, packages and delegations, every decision of the real decision
point (context handler, information point, compiled policies, delegation pass) equals a brute-force oracle
computed straight from the reference catalogue; and nothing is permitted that no rule, role, package or
delegation grants."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from felles.authorization import decision, pip
from felles.authorization.catalogue import DATA_FILE, load_catalogue
from felles.authorization.models import Delegation, Resource
from felles.authorization.xacml import request_from_json
from felles.core.clock import utcnow
from felles.core.ids import uuid7
from felles.registers.models import Organization, Person, Role
from tests.authorization.world import organization_number, person_number

ORGS = [organization_number(92000000 + 17 * i) for i in range(3)]
PERSONS = [person_number(date(1960 + i, 1 + i, 1 + i), i) for i in range(3)]
ER_ROLES = ["DAGL", "LEDE", "MEDL", "REGN", "REVI", "KONT"]
PACKAGES = ["ansettelsesforhold", "skattegrunnlag", "regnskapsforer-lonn", "revisormedarbeider"]
ACTIONS = ["read", "write"]
# resource -> [(action, attribute, value)]: one rule per entry, Permit.
RULES = {
    "res-role": [("read", "urn:altinn:rolecode", "regna"), ("write", "urn:altinn:rolecode", "dagl")],
    "res-package": [("read", "urn:altinn:accesspackage", "ansettelsesforhold"),
                    ("write", "urn:altinn:accesspackage", "skattegrunnlag")],
    "res-client": [("read", "urn:altinn:accesspackage", "regnskapsforer-lonn"),
                   ("read", "urn:altinn:rolecode", "a0237")],
}


SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
STRING = "http://www.w3.org/2001/XMLSchema#string"


def _match(function: str, value: str, attribute: str, category: str) -> str:
    return (f'<AnyOf><AllOf><Match MatchId="{function}"><AttributeValue DataType="{STRING}">{value}</AttributeValue>'
            f'<AttributeDesignator AttributeId="{attribute}" Category="{category}" DataType="{STRING}" '
            'MustBePresent="false"/></Match></AllOf></AnyOf>')


def policy_xml(resource: str) -> str:
    rules = []
    for index, (action, attribute, value) in enumerate(RULES[resource]):
        matches = (
            _match("urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case", value, attribute, SUBJECT)
            + _match("urn:oasis:names:tc:xacml:1.0:function:string-equal", resource, "urn:altinn:resource",
                     RESOURCE_CATEGORY)
            + _match("urn:oasis:names:tc:xacml:1.0:function:string-equal", action,
                     "urn:oasis:names:tc:xacml:1.0:action:action-id", ACTION_CATEGORY))
        rules.append(f'<Rule RuleId="r{index}" Effect="Permit"><Target>{matches}</Target></Rule>')
    return (f'<Policy xmlns="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicyId="{resource}" Version="1.0" '
            'RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">'
            f'<Target/>{"".join(rules)}</Policy>')


# --- the oracle: straight from the reference data file, no Felles code ---------------------------------------
REFERENCE = json.loads(DATA_FILE.read_text(encoding="utf-8"))
ROLE_OF_CODE = {r["legacyCode"]: r["code"] for r in REFERENCE["roles"] if r["legacyCode"]}
KEY_ROLES = {r["code"] for r in REFERENCE["roles"] if r["isKeyRole"]}


def oracle_permits(facts: dict, person: str, org: str, resource: str, action: str) -> bool:
    er = [ROLE_OF_CODE[code.lower()] for o, code, p in facts["roles"] if o == org and p == person]
    rolecodes = {code.lower() for o, code, p in facts["roles"] if o == org and p == person}
    rolecodes |= {gets for has, gets in REFERENCE["roleMap"] if has in er}
    packages = {pkg for role, pkg, form, access, _ in REFERENCE["rolePackages"]
                if role in er and access and form in (None, "AS")}
    key_orgs = {o for o, code, p in facts["roles"] if p == person and ROLE_OF_CODE[code.lower()] in KEY_ROLES}
    rights = set()
    for giver, receiver, package, right_resource, right_action in facts["delegations"]:
        if giver == org and (receiver == person or receiver in key_orgs):
            if package:
                packages.add(package)
            else:
                rights.add((right_resource, right_action))
    for rule_action, attribute, value in RULES[resource]:
        if rule_action == action and value in (rolecodes if attribute.endswith("rolecode") else packages):
            return True
    return (resource, action) in rights


facts_strategy = st.fixed_dictionaries({
    "roles": st.lists(st.tuples(st.sampled_from(ORGS), st.sampled_from(ER_ROLES), st.sampled_from(PERSONS)),
                      max_size=6, unique=True),
    "delegations": st.lists(st.one_of(
        st.tuples(st.sampled_from(ORGS), st.sampled_from(PERSONS + ORGS), st.sampled_from(PACKAGES),
                  st.none(), st.none()),
        st.tuples(st.sampled_from(ORGS), st.sampled_from(PERSONS + ORGS), st.none(), st.sampled_from(list(RULES)),
                  st.sampled_from(ACTIONS)),
    ), max_size=5, unique_by=lambda d: (d[0], d[1], d[2], d[3], d[4])),
})


async def _reset(database, facts: dict) -> None:
    await load_catalogue(database)  # seeded on first use, then kept between examples
    now = utcnow()
    async with database.transaction() as session:
        for table in (Delegation, Role, Resource, Organization, Person):  # parties are kept: same ids each time
            await session.execute(delete(table))
        for org in ORGS:
            session.add(Organization(organization_number=org, name=org, organization_form="AS",
                                     registered_on=date(2020, 1, 1), updated_at=now))
        for person in PERSONS:
            session.add(Person(national_identity_number=person, given_name="P", family_name=person,
                               birth_date=date(1970, 1, 1), gender="mann", status="bosatt", updated_at=now))
        await session.flush()
        for position, (org, code, person) in enumerate(facts["roles"]):
            session.add(Role(id=uuid7(), organization_number=org, role_code=code, person=person,
                             position=position, registered_on=date(2020, 1, 1)))
        for resource in RULES:
            session.add(Resource(identifier=resource, resource_type="GenericAccessResource", document={},
                                 policy_xml=policy_xml(resource), policy_version=1, created_at=now,
                                 updated_at=now))
        await session.flush()
        for giver, receiver, package, resource, action in facts["delegations"]:
            key = f"package:{package}" if package else f"resource:{resource}:{action}"
            session.add(Delegation(id=uuid7(), from_party=giver, to_party=receiver, to_kind="x", package_code=package,
                                   resource_identifier=resource, action=action, right_key=key,
                                   delegated_by="test", created_at=now))
    decision.invalidate_policy()
    pip.invalidate()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=facts_strategy)
async def test_every_decision_equals_the_brute_force_oracle(database, facts):
    await _reset(database, facts)  # the catalogue is seeded on first use and kept between examples
    point = decision.AltinnDecisionPoint(database)
    references, expected = [], []
    body = {"Request": {"AccessSubject": [], "Action": [], "Resource": [],
                        "MultiRequests": {"RequestReference": references}}}
    for i, person in enumerate(PERSONS):
        body["Request"]["AccessSubject"].append({"Id": f"s{i}", "Attribute": [
            {"AttributeId": "urn:altinn:person:identifier-no", "Value": person}]})
    for action in ACTIONS:
        body["Request"]["Action"].append({"Id": action, "Attribute": [
            {"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": action}]})
    for j, org in enumerate(ORGS):
        for resource in RULES:
            body["Request"]["Resource"].append({"Id": f"{resource}-{j}", "Attribute": [
                {"AttributeId": "urn:altinn:resource", "Value": resource},
                {"AttributeId": "urn:altinn:organization:identifier-no", "Value": org}]})
    for i, person in enumerate(PERSONS):
        for action in ACTIONS:
            for j, org in enumerate(ORGS):
                for resource in RULES:
                    references.append({"ReferenceId": [f"s{i}", action, f"{resource}-{j}"]})
                    expected.append(oracle_permits(facts, person, org, resource, action))
    response = await point.decide(request_from_json(body))
    got = [r.decision.value == "Permit" for r in response.results]
    assert all(r.decision.value in ("Permit", "NotApplicable") for r in response.results)
    assert got == expected
    # Nothing without a grant: with no roles and no delegations nobody may do anything.
    if not facts["roles"] and not facts["delegations"]:
        assert not any(got)
