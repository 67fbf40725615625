"""The resource registry's reads of what a policy grants (policy/rules, policy/rights, policy/subjects and
bysubjects), on real Altinn policies uploaded through the API; the expected values are read off the XML."""

import json
import re

import pytest

from tests.authorization.world import REFERENCE, SKD
from tests.conftest import bearer

WRITE = "altinn:resourceregistry/resource.write"
RESOURCES = "/resourceregistry/api/v1/resource"
POLICIES = REFERENCE / "resourceregistry" / "policies"
RESOURCE_TEMPLATE = REFERENCE / "resourceregistry" / "resources" / "ske-innrapportering-boligsameie.json"
ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
ROLECODE = "urn:altinn:rolecode"
ACCESS_PACKAGE = "urn:altinn:accesspackage"
ACCESS_MANAGEMENT = "altinn_access_management"
ANNUAL_ACCOUNTS = "app_brg_aarsregnskap-vanlig-202406"
SIGNING = "app_ttd_signering-brukerstyrt"
POLICY_FILES = {
    ACCESS_MANAGEMENT: POLICIES / "altinn_access_management.xml",
    ANNUAL_ACCOUNTS: POLICIES / "app_brg_aarsregnskap-vanlig-202406.policy.xml",
    SIGNING: POLICIES / "app_ttd_signering-brukerstyrt.policy.xml",
}
# Rule 1 of the annual-accounts app names these 17 subjects, in this order (rule 3 adds the org brg).
ANNUAL_ACCOUNTS_SUBJECTS = [
    *((ROLECODE, code) for code in ("regna", "utinn", "a0239", "a0240", "a0237", "a0238", "REPR", "KONT", "MEDL",
                                    "FFØR", "NEST")),
    *((ACCESS_PACKAGE, package) for package in (
        "regnskap-okonomi-rapport", "regnskapsforer-med-signeringsrettighet",
        "regnskapsforer-uten-signeringsrettighet", "regnskapsforer-lonn", "ansvarlig-revisor",
        "revisormedarbeider")),
]
ANNUAL_ACCOUNTS_APP = [{"type": "urn:altinn:org", "value": "brg"},
                       {"type": "urn:altinn:app", "value": "aarsregnskap-vanlig-202406"}]


async def _register(client, owner: dict[str, str], identifier: str, policy: bytes | None) -> None:
    document = {**json.loads(RESOURCE_TEMPLATE.read_text(encoding="utf-8")), "identifier": identifier}
    created = await client.post(RESOURCES, json=document, headers=owner)
    assert created.status_code == 201, created.text
    if policy is not None:
        stored = await client.put(f"{RESOURCES}/{identifier}/policy", content=policy,
                                  headers={**owner, "Content-Type": "application/xml"})
        assert stored.status_code == 200, stored.text


@pytest.fixture
async def owner(client, token) -> dict[str, str]:
    """Skatteetaten's token, with the three reference policies uploaded and one resource without a policy."""
    headers = bearer(token(scopes=[WRITE], org=SKD))
    for identifier, path in POLICY_FILES.items():
        await _register(client, headers, identifier, path.read_bytes())
    await _register(client, headers, "skd-without-policy", None)
    return headers


def _type_value(attribute_type: str, value: str) -> dict[str, str]:
    return {"type": attribute_type, "value": value}


def _match(attribute_type: str, value: str) -> dict[str, str]:
    return {"type": attribute_type, "value": value, "urn": f"{attribute_type}:{value}"}


def _resource_match(identifier: str) -> dict[str, str]:
    return _match("urn:altinn:resource", identifier)


async def test_rules_flatten_each_subject_action_and_resource_of_a_rule(client, owner):
    rules = await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy/rules")
    assert rules.status_code == 200, rules.text
    # One Permit rule: role ADMAI may read and write altinn_access_management.
    assert rules.json() == [
        {"subject": [_type_value(ROLECODE, "ADMAI")], "action": _type_value(ACTION_ID, action),
         "resource": [_type_value("urn:altinn:resource", ACCESS_MANAGEMENT)]}
        for action in ("read", "write")]

    app_rules = (await client.get(f"{RESOURCES}/{ANNUAL_ACCOUNTS}/policy/rules")).json()
    # Rule 1: 17 subjects x 4 actions x 1 resource; rule 2: 17 x 6 x 3 (two tasks and the end event);
    # rule 3: the org brg x 3 actions x 1.
    assert len(app_rules) == 17 * 4 + 17 * 6 * 3 + 3
    assert app_rules[0] == {"subject": [_type_value(ROLECODE, "regna")],
                            "action": _type_value(ACTION_ID, "instantiate"), "resource": ANNUAL_ACCOUNTS_APP}
    assert app_rules[1]["action"] == _type_value(ACTION_ID, "read")  # actions vary before subjects, as in Altinn
    assert app_rules[-1] == {"subject": [_type_value("urn:altinn:org", "brg")],
                             "action": _type_value(ACTION_ID, "instantiate"), "resource": ANNUAL_ACCOUNTS_APP}
    signing_tasks = {task["value"] for rule in app_rules for task in rule["resource"]
                     if task["type"] in ("urn:altinn:task", "urn:altinn:end-event")}
    assert signing_tasks == {"Utfylling", "Signering", "EndEvent_1"}


async def test_a_rule_naming_resource_and_action_in_one_all_of_is_read_too(client, owner):
    rules = (await client.get(f"{RESOURCES}/{SIGNING}/policy/rules")).json()
    # Rule 3 of the signing app: REGNA or DAGL may delete; org, app and action share one AllOf.
    deletes = [rule for rule in rules if rule["action"] == _type_value(ACTION_ID, "delete")]
    assert deletes == [
        {"subject": [_type_value(ROLECODE, role)], "action": _type_value(ACTION_ID, "delete"),
         "resource": [_type_value("urn:altinn:org", "ttd"), _type_value("urn:altinn:app", "signering-brukerstyrt")]}
        for role in ("REGNA", "DAGL")]


async def test_rights_group_the_rules_by_action_and_resource_with_their_subjects(client, owner):
    rights = await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy/rights")
    assert rights.status_code == 200, rights.text
    assert rights.json() == [
        {"action": _type_value(ACTION_ID, "read"), "resource": [_type_value("urn:altinn:resource", ACCESS_MANAGEMENT)],
         "subjects": [{"subjectAttributes": [_type_value(ROLECODE, "ADMAI")]}],
         "rightKey": "read;altinn_access_management;87af48dba4489709decf70505b14a47d",
         "subjectTypes": [ROLECODE]},
        {"action": _type_value(ACTION_ID, "write"), "resource": [_type_value("urn:altinn:resource", ACCESS_MANAGEMENT)],
         "subjects": [{"subjectAttributes": [_type_value(ROLECODE, "ADMAI")]}],
         "rightKey": "write;altinn_access_management;9718676a3db7c50ab68483f703b92a88",
         "subjectTypes": [ROLECODE]},
    ]

    app_rights = (await client.get(f"{RESOURCES}/{ANNUAL_ACCOUNTS}/policy/rights")).json()
    # Rule 1: 4 actions on the app; rule 2: 6 actions on each of 3 process steps; rule 3 adds only "complete".
    assert len(app_rights) == 4 + 6 * 3 + 1
    read_app = next(right for right in app_rights
                    if right["action"]["value"] == "read" and right["resource"] == ANNUAL_ACCOUNTS_APP)
    # Read on the app: rule 1's 17 subjects and, from rule 3, the service owner brg.
    assert read_app["subjects"] == [{"subjectAttributes": [_type_value(*subject)]}
                                    for subject in [*ANNUAL_ACCOUNTS_SUBJECTS, ("urn:altinn:org", "brg")]]
    assert read_app["subjectTypes"] == [ACCESS_PACKAGE, "urn:altinn:org", ROLECODE]
    # Altinn's key: resource values ordered by URN (app before org), then the MD5 of action and URNs.
    assert read_app["rightKey"] == "read;aarsregnskap-vanlig-202406;brg;544b659da3b07b3e48c71483d56e3b42"
    complete = [right for right in app_rights if right["action"]["value"] == "complete"]
    assert [right["subjects"] for right in complete] == [
        [{"subjectAttributes": [_type_value("urn:altinn:org", "brg")]}]]


async def test_subjects_are_every_subject_a_permit_rule_names_in_lower_case(client, owner):
    subjects = await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy/subjects")
    assert subjects.status_code == 200, subjects.text
    assert subjects.json() == {"links": {"next": None}, "data": [_match(ROLECODE, "admai")]}

    app_subjects = (await client.get(f"{RESOURCES}/{ANNUAL_ACCOUNTS}/policy/subjects")).json()
    assert app_subjects["data"] == [_match(kind, value.lower())
                                    for kind, value in [*ANNUAL_ACCOUNTS_SUBJECTS, ("urn:altinn:org", "brg")]]


async def test_bysubjects_finds_the_resources_whose_policies_grant_each_subject(client, owner):
    asked = ["urn:altinn:rolecode:REGNA", "urn:altinn:rolecode:admai", "urn:altinn:accesspackage:ansvarlig-revisor",
             "urn:altinn:rolecode:dagl", "urn:altinn:rolecode:revi"]
    found = await client.post(f"{RESOURCES}/bysubjects", json=asked)
    assert found.status_code == 200, found.text
    assert found.json() == {"links": {"next": None}, "data": [
        {"subject": _match(ROLECODE, "regna"),
         "resources": [_resource_match(ANNUAL_ACCOUNTS), _resource_match(SIGNING)]},
        {"subject": _match(ROLECODE, "admai"), "resources": [_resource_match(ACCESS_MANAGEMENT)]},
        {"subject": _match(ACCESS_PACKAGE, "ansvarlig-revisor"), "resources": [_resource_match(ANNUAL_ACCOUNTS)]},
        {"subject": _match(ROLECODE, "dagl"), "resources": [_resource_match(SIGNING)]},
        # REVI (auditor) is in none of the policies: left out, as in Altinn.
    ]}
    # Altinn's clients post to "bysubjects/".
    with_slash = await client.post(f"{RESOURCES}/bysubjects/", json=asked)
    assert with_slash.status_code == 200 and with_slash.json() == found.json()
    refused = await client.post(f"{RESOURCES}/bysubjects", json=["dagl"])
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_subject"


async def test_a_new_policy_or_a_deleted_resource_changes_what_is_found(client, owner):
    """Summaries are kept per policy version: a replaced policy is read anew, a deleted resource is gone."""
    asked = ["urn:altinn:rolecode:admai", "urn:altinn:accesspackage:ansettelsesforhold", "urn:altinn:rolecode:dagl"]
    await client.post(f"{RESOURCES}/bysubjects", json=asked)  # summarises the current policies
    replaced = await client.put(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy",
                                content=(REFERENCE / "pdp" / "resources" / "ttd-accesspackage-resource.policy.xml")
                                .read_bytes(), headers={**owner, "Content-Type": "application/xml"})
    assert replaced.status_code == 200 and replaced.json()["policyVersion"] == 2
    assert (await client.delete(f"{RESOURCES}/{SIGNING}", headers=owner)).status_code == 204
    found = (await client.post(f"{RESOURCES}/bysubjects", json=asked)).json()
    assert found["data"] == [{"subject": _match(ACCESS_PACKAGE, "ansettelsesforhold"),
                              "resources": [_resource_match(ACCESS_MANAGEMENT)]}]
    subjects = (await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy/subjects")).json()
    assert subjects["data"] == [_match(ACCESS_PACKAGE, "ansettelsesforhold")]


@pytest.mark.parametrize("read", ["rules", "rights", "subjects"])
async def test_unknown_resources_and_resources_without_a_policy_are_404(client, owner, read):
    unknown = await client.get(f"{RESOURCES}/no-such-resource/policy/{read}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "resource_not_found"
    assert unknown.headers["content-type"].startswith("application/problem+json")
    without = await client.get(f"{RESOURCES}/skd-without-policy/policy/{read}")
    assert without.status_code == 404 and without.json()["code"] == "policy_not_found"


async def test_what_a_policy_grants_is_as_public_as_the_policy_itself(client, owner):
    """GET policy needs no token (as in Altinn), so neither do the reads derived from it; changing a policy
    still takes the service owner's write scope."""
    assert (await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy")).status_code == 200
    for read in ("rules", "rights", "subjects"):
        anonymous = await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy/{read}")
        with_token = await client.get(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy/{read}", headers=owner)
        assert anonymous.status_code == 200 and anonymous.json() == with_token.json()
    assert (await client.post(f"{RESOURCES}/bysubjects", json=["urn:altinn:rolecode:admai"])).status_code == 200
    policy = POLICY_FILES[ACCESS_MANAGEMENT].read_bytes()
    unauthenticated = await client.put(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy", content=policy,
                                       headers={"Content-Type": "application/xml"})
    assert unauthenticated.status_code == 401


async def test_the_minimum_authentication_level_is_the_policys_obligation(client, owner, database):
    """What a service enforces besides the decision: the level in the policy's first
    `urn:altinn:minimum-authenticationlevel` obligation (0 when it names none); a resource without a policy has
    none to tell. A replaced policy is read anew."""
    from felles.authorization import service

    asked = [ACCESS_MANAGEMENT, ANNUAL_ACCOUNTS, SIGNING, "skd-without-policy", "no-such-resource"]
    # The annual accounts app also names a level for organisations (-org), which is not the person's level.
    assert await service.minimum_authentication_levels(database, asked) == {
        ACCESS_MANAGEMENT: 2, ANNUAL_ACCOUNTS: 3, SIGNING: 2}
    policy = POLICY_FILES[ACCESS_MANAGEMENT].read_text(encoding="utf-8-sig")
    stepped_up = policy.replace('#integer">2</xacml:AttributeValue>', '#integer">4</xacml:AttributeValue>', 1)
    without = re.sub(r"<xacml:ObligationExpressions>.*</xacml:ObligationExpressions>", "", policy, flags=re.DOTALL)
    for replacement, level in ((stepped_up, 4), (without, 0)):
        replaced = await client.put(f"{RESOURCES}/{ACCESS_MANAGEMENT}/policy", content=replacement.encode(),
                                    headers={**owner, "Content-Type": "application/xml"})
        assert replaced.status_code == 200, replaced.text
        assert await service.minimum_authentication_levels(database, [ACCESS_MANAGEMENT]) == {
            ACCESS_MANAGEMENT: level}
