"""Property test: for random registers, roles (of persons, and of organisations for their clients), packages,
delegations and client delegations, every decision of the real decision point (context handler, information
point, compiled policies, delegation pass) for persons and organisations equals a brute-force oracle computed
straight from the reference catalogue; and nothing is permitted that no rule, role, package or delegation
grants. Confidential packages never come from roles, nor through a key role in an organisation given them."""

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
ORG_FORMS = dict(zip(ORGS, ["AS", "AS", "BRL"], strict=True))  # a borettslag has a forretningsfører
PERSONS = [person_number(date(1960 + i, 1 + i, 1 + i), i) for i in range(3)]
ER_ROLES = ["DAGL", "LEDE", "MEDL", "REGN", "REVI", "KONT"]
CLIENT_ER_ROLES = ["REGN", "REVI", "FFØR"]
CONFIDENTIAL_PACKAGE = "post-til-virksomheten-med-taushetsbelagt-innhold"
PACKAGES = ["ansettelsesforhold", "skattegrunnlag", "regnskapsforer-lonn", "revisormedarbeider", CONFIDENTIAL_PACKAGE]
# (role, package) a firm passes on to an employee; the last pair is one no role gives (the PIP must ignore it).
CLIENT_GRANTS = [("regnskapsforer", "regnskapsforer-lonn"), ("revisor", "ansvarlig-revisor"),
                 ("forretningsforer", "forretningsforer-eiendom"), ("regnskapsforer", "ansvarlig-revisor")]
ACTIONS = ["read", "write"]
# resource -> [(action, attribute, value)]: one rule per entry, Permit.
RULES = {
    "res-role": [("read", "urn:altinn:rolecode", "regna"), ("write", "urn:altinn:rolecode", "dagl")],
    "res-package": [("read", "urn:altinn:accesspackage", "ansettelsesforhold"),
                    ("write", "urn:altinn:accesspackage", "skattegrunnlag")],
    "res-client": [("read", "urn:altinn:accesspackage", "regnskapsforer-lonn"),
                   ("read", "urn:altinn:rolecode", "a0237"),
                   ("write", "urn:altinn:accesspackage", "ansvarlig-revisor")],
    "res-post": [("read", "urn:altinn:accesspackage", CONFIDENTIAL_PACKAGE),
                 ("write", "urn:altinn:accesspackage", "forretningsforer-eiendom")],
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
# Assignable and delegable, yet no role has access: only an explicit delegation gives them.
CONFIDENTIAL = {p["code"] for p in REFERENCE["packages"] if p["isAssignable"] and p["isDelegable"]
                and not any(pkg == p["code"] and access for _, pkg, _, access, _ in REFERENCE["rolePackages"])}


def role_grants(codes: list[str], form: str) -> tuple[set[str], set[str]]:
    """(rolecodes, packages) that holding these Enhetsregisteret roles in an organisation of ``form`` gives."""
    er = [ROLE_OF_CODE[code.lower()] for code in codes]
    rolecodes = {code.lower() for code in codes} | {gets for has, gets in REFERENCE["roleMap"] if has in er}
    packages = {pkg for role, pkg, role_form, access, _ in REFERENCE["rolePackages"]
                if role in er and access and role_form in (None, form)}
    return rolecodes, packages


def oracle_permits(facts: dict, subject: str, org: str, resource: str, action: str) -> bool:
    form = ORG_FORMS[org]
    rights = set()
    if subject in PERSONS:
        rolecodes, packages = role_grants([code for o, code, p in facts["roles"] if o == org and p == subject], form)
        key_orgs = {o for o, code, p in facts["roles"] if p == subject and ROLE_OF_CODE[code.lower()] in KEY_ROLES}
        for firm, client, employee, role, package in facts["client_delegations"]:
            firm_holds = (client, next(c for c in CLIENT_ER_ROLES if ROLE_OF_CODE[c.lower()] == role), firm)
            if client == org and employee == subject and firm_holds in facts["org_roles"] \
                    and package in role_grants([firm_holds[1]], form)[1]:
                packages.add(package)
    else:
        rolecodes, packages = role_grants(
            [code for client, code, holder in facts["org_roles"] if client == org and holder == subject], form)
        key_orgs = set()
    for giver, receiver, package, right_resource, right_action in facts["delegations"]:
        if giver == org and (receiver == subject or (receiver in key_orgs and package not in CONFIDENTIAL)):
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
    # (client, role code, firm holding it)
    "org_roles": st.lists(st.tuples(st.sampled_from(ORGS), st.sampled_from(CLIENT_ER_ROLES), st.sampled_from(ORGS))
                          .filter(lambda r: r[0] != r[2]), max_size=4, unique=True),
    # (firm, client, employee, role, package)
    "client_delegations": st.lists(
        st.tuples(st.sampled_from(ORGS), st.sampled_from(ORGS), st.sampled_from(PERSONS),
                  st.sampled_from(CLIENT_GRANTS)).map(lambda d: (d[0], d[1], d[2], *d[3])),
        max_size=4, unique_by=lambda d: (d[0], d[1], d[2], d[4])),
})


async def _reset(database, facts: dict) -> None:
    await load_catalogue(database)  # seeded on first use, then kept between examples
    now = utcnow()
    async with database.transaction() as session:
        for table in (Delegation, Role, Resource, Organization, Person):  # parties are kept: same ids each time
            await session.execute(delete(table))
        for org in ORGS:
            session.add(Organization(organization_number=org, name=org, organization_form=ORG_FORMS[org],
                                     registered_on=date(2020, 1, 1), updated_at=now))
        for person in PERSONS:
            session.add(Person(national_identity_number=person, given_name="P", family_name=person,
                               birth_date=date(1970, 1, 1), gender="mann", status="bosatt", updated_at=now))
        await session.flush()
        for position, (org, code, person) in enumerate(facts["roles"]):
            session.add(Role(id=uuid7(), organization_number=org, role_code=code, person=person,
                             position=position, registered_on=date(2020, 1, 1)))
        for position, (client, code, firm) in enumerate(facts["org_roles"]):
            session.add(Role(id=uuid7(), organization_number=client, role_code=code, holder_organization_number=firm,
                             position=100 + position, registered_on=date(2020, 1, 1)))
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
        for firm, client, employee, role, package in facts["client_delegations"]:
            session.add(Delegation(id=uuid7(), from_party=client, to_party=employee, to_kind="person",
                                   package_code=package, right_key=f"client:{firm}:package:{package}",
                                   delegated_by="test", created_at=now, facilitator=firm, facilitator_role=role))
    decision.invalidate_policy()
    pip.invalidate()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=facts_strategy)
async def test_every_decision_equals_the_brute_force_oracle(database, facts):
    await _reset(database, facts)  # the catalogue is seeded on first use and kept between examples
    point = decision.AltinnDecisionPoint(database)
    references, expected = [], []
    body = {"Request": {"AccessSubject": [], "Action": [], "Resource": [],
                        "MultiRequests": {"RequestReference": references}}}
    subjects = PERSONS + ORGS
    for i, subject in enumerate(subjects):
        kind = "person" if subject in PERSONS else "organization"
        body["Request"]["AccessSubject"].append({"Id": f"s{i}", "Attribute": [
            {"AttributeId": f"urn:altinn:{kind}:identifier-no", "Value": subject}]})
    for action in ACTIONS:
        body["Request"]["Action"].append({"Id": action, "Attribute": [
            {"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": action}]})
    for j, org in enumerate(ORGS):
        for resource in RULES:
            body["Request"]["Resource"].append({"Id": f"{resource}-{j}", "Attribute": [
                {"AttributeId": "urn:altinn:resource", "Value": resource},
                {"AttributeId": "urn:altinn:organization:identifier-no", "Value": org}]})
    for i, subject in enumerate(subjects):
        for action in ACTIONS:
            for j, org in enumerate(ORGS):
                for resource in RULES:
                    references.append({"ReferenceId": [f"s{i}", action, f"{resource}-{j}"]})
                    expected.append(oracle_permits(facts, subject, org, resource, action))
    response = await point.decide(request_from_json(body))
    got = [r.decision.value == "Permit" for r in response.results]
    assert all(r.decision.value in ("Permit", "NotApplicable") for r in response.results)
    assert got == expected
    # Nothing without a grant: with no roles and no delegations nobody may do anything.
    if not any(facts.values()):
        assert not any(got)
    # Confidential post (given only as the package here) is read only by those it was given to: a person, or
    # the organisation itself — never a key-role holder through the organisation.
    given = {(giver, receiver) for giver, receiver, package, _, _ in facts["delegations"]
             if package == CONFIDENTIAL_PACKAGE}
    if not any((resource, action) == ("res-post", "read") for _, _, _, resource, action in facts["delegations"]):
        for (subject, org, resource, action), permitted in zip(
                [(s_, o, r, a) for s_ in subjects for a in ACTIONS for o in ORGS for r in RULES], got, strict=True):
            if resource == "res-post" and action == "read" and permitted:
                assert (org, subject) in given
