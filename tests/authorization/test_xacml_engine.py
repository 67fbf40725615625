"""Behaviour of the decision engine beyond the conformance suite: the index, the attribute provider (PIP),
the JSON profile as Altinn uses it, and how errors surface."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from felles.authorization.xacml import (
    AttributeKey,
    Decision,
    EvaluationContext,
    EvaluationError,
    PolicyDecisionPoint,
    PolicyStore,
    parse_request_xml,
    request_from_json,
    response_to_json,
    response_to_xml,
)
from felles.authorization.xacml.conformance import compare_responses
from felles.authorization.xacml.xml_io import parse_response_xml

NS = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
STRING = "http://www.w3.org/2001/XMLSchema#string"
ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
DENY_OVERRIDES = "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"
MIN_AUTH_LEVEL = "urn:altinn:minimum-authenticationlevel"


def match(category: str, attribute_id: str, value: str, must_be_present: bool = False) -> str:
    return (
        f'<Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal">'
        f'<AttributeValue DataType="{STRING}">{value}</AttributeValue>'
        f'<AttributeDesignator AttributeId="{attribute_id}" Category="{category}" DataType="{STRING}" '
        f'MustBePresent="{str(must_be_present).lower()}"/></Match>'
    )


def any_of(*all_ofs: list[str]) -> str:
    return "<AnyOf>" + "".join("<AllOf>" + "".join(m) + "</AllOf>" for m in all_ofs) + "</AnyOf>"


def rule(rule_id: str, effect: str, *any_ofs: str) -> str:
    return f'<Rule RuleId="{rule_id}" Effect="{effect}"><Target>{"".join(any_ofs)}</Target></Rule>'


def policy(policy_id: str, *rules: str, algorithm: str = DENY_OVERRIDES, extra: str = "") -> str:
    return (f'<Policy xmlns="{NS}" PolicyId="{policy_id}" Version="1.0" RuleCombiningAlgId="{algorithm}">'
            f'<Target/>{"".join(rules)}{extra}</Policy>')


def app_rule(rule_id: str, role: str, org: str, app: str, actions: Iterable[str]) -> str:
    return rule(
        rule_id, "Permit",
        any_of([match(SUBJECT, "urn:altinn:rolecode", role)]),
        any_of([match(RESOURCE, "urn:altinn:org", org), match(RESOURCE, "urn:altinn:app", app)]),
        any_of(*[[match(ACTION, ACTION_ID, a)] for a in actions]),
    )


AUTH_LEVEL_OBLIGATION = (
    '<ObligationExpressions><ObligationExpression ObligationId="urn:altinn:obligation:authenticationLevel1" '
    'FulfillOn="Permit"><AttributeAssignmentExpression AttributeId="urn:altinn:obligation-assignment:1" '
    f'Category="{MIN_AUTH_LEVEL}"><AttributeValue DataType="http://www.w3.org/2001/XMLSchema#integer">2'
    '</AttributeValue></AttributeAssignmentExpression></ObligationExpression></ObligationExpressions>'
)


def altinn_request(role: str | None = None, org: str = "skd", app: str = "taxreport", action: str = "read",
                   userid: str = "1337", partyid: str = "500000") -> dict[str, Any]:
    subject = [{"AttributeId": "urn:altinn:userid", "Value": userid}]
    if role:
        subject.append({"AttributeId": "urn:altinn:rolecode", "Value": role})
    return {"Request": {
        "AccessSubject": [{"Attribute": subject}],
        "Action": [{"Attribute": [{"AttributeId": ACTION_ID, "Value": action}]}],
        "Resource": [{"Attribute": [
            {"AttributeId": "urn:altinn:org", "Value": org},
            {"AttributeId": "urn:altinn:app", "Value": app},
            {"AttributeId": "urn:altinn:partyid", "Value": partyid},
        ]}],
    }}


def app_store() -> PolicyStore:
    store = PolicyStore()
    store.add(policy("skd-taxreport",
                     app_rule("r1", "dagl", "skd", "taxreport", ["read", "write"]),
                     app_rule("r2", "regna", "skd", "taxreport", ["read"]),
                     extra=AUTH_LEVEL_OBLIGATION))
    store.add(policy("ttd-other", app_rule("r1", "priv", "ttd", "other", ["read", "sign"])))
    return store


# ---------------------------------------------------------------- decisions and obligations


def test_permit_carries_the_minimum_authentication_level_obligation_in_altinn_json_shape() -> None:
    pdp = PolicyDecisionPoint(app_store())
    body = response_to_json(pdp.decide(request_from_json(altinn_request(role="dagl", action="write"))))
    assert body["Response"][0]["Decision"] == "Permit"
    assert body["Response"][0]["Obligations"] == [{
        "id": "urn:altinn:obligation:authenticationLevel1",
        "attributeAssignment": [{
            "attributeId": "urn:altinn:obligation-assignment:1", "value": "2", "category": MIN_AUTH_LEVEL,
            "dataType": "http://www.w3.org/2001/XMLSchema#integer", "issuer": None,
        }],
    }]


def test_a_role_without_the_action_is_not_applicable_and_gets_no_obligation() -> None:
    pdp = PolicyDecisionPoint(app_store())
    response = pdp.decide(request_from_json(altinn_request(role="regna", action="write")))
    assert response.decision == Decision.NOT_APPLICABLE
    assert response.results[0].obligations == []


def test_the_index_skips_policies_of_other_apps() -> None:
    store = app_store()
    ctx = EvaluationContext(request_from_json(altinn_request(org="ttd", app="other")).attributes)
    assert [p.id for p in store.candidates(ctx)] == ["ttd-other"]


def test_multi_requests_are_answered_in_reference_order_with_echoed_attributes() -> None:
    document = altinn_request(role="regna")
    request = document["Request"]
    request["AccessSubject"][0]["Id"] = "s1"
    request["Resource"][0]["Id"] = "r1"
    request["Action"] = [
        {"Id": "a1", "Attribute": [{"AttributeId": ACTION_ID, "Value": "write", "IncludeInResult": True}]},
        {"Id": "a2", "Attribute": [{"AttributeId": ACTION_ID, "Value": "read", "IncludeInResult": True}]},
    ]
    request["MultiRequests"] = {"RequestReference": [{"ReferenceId": ["s1", "a1", "r1"]},
                                                     {"ReferenceId": ["s1", "a2", "r1"]}]}
    body = response_to_json(PolicyDecisionPoint(app_store()).decide(request_from_json(json.dumps(document))))
    assert [r["Decision"] for r in body["Response"]] == ["NotApplicable", "Permit"]
    assert [r["Category"][0]["Attribute"][0]["Value"] for r in body["Response"]] == ["write", "read"]


def test_a_reference_to_an_unknown_id_is_indeterminate_not_a_crash() -> None:
    document = altinn_request(role="dagl")
    document["Request"]["MultiRequests"] = {"RequestReference": [{"ReferenceId": ["nope"]}]}
    response = PolicyDecisionPoint(app_store()).decide(request_from_json(document))
    assert response.decision == Decision.INDETERMINATE


def test_a_missing_required_attribute_makes_the_rule_indeterminate_with_missing_attribute() -> None:
    store = PolicyStore()
    store.add(policy("p", rule("r", "Permit", any_of([match(SUBJECT, "urn:altinn:userid", "1", True)]))))
    response = PolicyDecisionPoint(store).decide(request_from_json({"Request": {"Action": [
        {"Attribute": [{"AttributeId": ACTION_ID, "Value": "read"}]}]}}))
    assert response.decision == Decision.INDETERMINATE
    assert response.results[0].status.code == "urn:oasis:names:tc:xacml:1.0:status:missing-attribute"


def test_a_policy_that_is_not_valid_xacml_answers_syntax_error() -> None:
    store = PolicyStore()
    store.add(f'<Policy xmlns="{NS}" PolicyId="broken" RuleCombiningAlgId="no-such-algorithm"><Target/></Policy>')
    response = PolicyDecisionPoint(store).decide(request_from_json(altinn_request()))
    assert response.decision == Decision.INDETERMINATE
    assert response.results[0].status.code == "urn:oasis:names:tc:xacml:1.0:status:syntax-error"


def test_json_data_types_are_inferred_from_json_values() -> None:
    request = request_from_json({"Request": {"Resource": [{"Attribute": [
        {"AttributeId": "a", "Value": 3}, {"AttributeId": "b", "Value": True}, {"AttributeId": "c", "Value": 2.5},
        {"AttributeId": "d", "Value": ["x", "y"]}, {"AttributeId": "e", "Value": "P1D", "DataType": "dayTimeDuration"},
    ]}]}})
    types = {a.attribute_id: a.data_type.rpartition("#")[2] for a in request.attributes[0].attributes}
    assert types == {"a": "integer", "b": "boolean", "c": "double", "d": "string", "e": "dayTimeDuration"}


def test_xml_response_round_trips_through_the_reader() -> None:
    pdp = PolicyDecisionPoint(app_store())
    response = pdp.decide(request_from_json(altinn_request(role="dagl")))
    assert compare_responses(parse_response_xml(response_to_xml(response)), response) == []


def test_xml_requests_are_read_like_json_ones() -> None:
    xml = f'''<Request xmlns="{NS}" ReturnPolicyIdList="true" CombinedDecision="false">
      <Attributes Category="{SUBJECT}"><Attribute AttributeId="urn:altinn:rolecode" IncludeInResult="false">
        <AttributeValue DataType="{STRING}">dagl</AttributeValue></Attribute></Attributes>
      <Attributes Category="{RESOURCE}">
        <Attribute AttributeId="urn:altinn:org" IncludeInResult="false">
          <AttributeValue DataType="{STRING}">skd</AttributeValue></Attribute>
        <Attribute AttributeId="urn:altinn:app" IncludeInResult="false">
          <AttributeValue DataType="{STRING}">taxreport</AttributeValue></Attribute>
      </Attributes>
      <Attributes Category="{ACTION}"><Attribute AttributeId="{ACTION_ID}" IncludeInResult="false">
        <AttributeValue DataType="{STRING}">read</AttributeValue></Attribute></Attributes>
    </Request>'''
    response = PolicyDecisionPoint(app_store()).decide(parse_request_xml(xml))
    assert response.decision == Decision.PERMIT
    assert [p.id for p in response.results[0].policy_identifiers or []] == ["skd-taxreport"]


# ---------------------------------------------------------------- the attribute provider (PIP)


class RolesInRegister:
    """Roles a user holds for a party, as the Altinn PIP answers for urn:altinn:rolecode."""

    def __init__(self, roles: dict[tuple[str, str], list[str]]) -> None:
        self.roles = roles
        self.asked: list[AttributeKey] = []

    def _lookup(self, key: AttributeKey, context: EvaluationContext) -> list[str]:
        self.asked.append(key)
        if key.attribute_id != "urn:altinn:rolecode":
            return []
        users = context.request_values(SUBJECT, "urn:altinn:userid")
        parties = context.request_values(RESOURCE, "urn:altinn:partyid")
        return [r for u in users for p in parties for r in self.roles.get((u, p), [])]

    def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> list[str]:
        return self._lookup(key, context)


class RolesFromService(RolesInRegister):
    async def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> list[str]:  # type: ignore[override]
        await asyncio.sleep(0)
        return self._lookup(key, context)


class UnreachableRegister:
    def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> list[str]:
        raise EvaluationError("urn:oasis:names:tc:xacml:1.0:status:processing-error", "register is down")


def test_roles_missing_from_the_request_come_from_the_attribute_provider_once() -> None:
    provider = RolesInRegister({("1337", "500000"): ["regna", "dagl"]})
    pdp = PolicyDecisionPoint(app_store(), attribute_provider=provider)
    assert pdp.decide(request_from_json(altinn_request(action="write"))).decision == Decision.PERMIT
    assert [k.attribute_id for k in provider.asked] == ["urn:altinn:rolecode"]


def test_the_provider_is_asked_about_the_party_in_the_request() -> None:
    provider = RolesInRegister({("1337", "500000"): ["dagl"]})
    pdp = PolicyDecisionPoint(app_store(), attribute_provider=provider)
    response = pdp.decide(request_from_json(altinn_request(action="write", partyid="999")))
    assert response.decision == Decision.NOT_APPLICABLE


def test_a_failing_provider_makes_the_decision_indeterminate() -> None:
    pdp = PolicyDecisionPoint(app_store(), attribute_provider=UnreachableRegister())
    response = pdp.decide(request_from_json(altinn_request(action="write")))
    assert response.decision == Decision.INDETERMINATE
    assert response.results[0].status.message == "register is down"


async def test_an_async_provider_is_asked_for_the_attributes_the_applicable_policy_reads() -> None:
    provider = RolesFromService({("1337", "500000"): ["dagl"]})
    response = await PolicyDecisionPoint(app_store()).decide_async(
        request_from_json(altinn_request(action="write")), provider)
    assert response.decision == Decision.PERMIT
    assert {(k.category, k.attribute_id) for k in provider.asked} == {(SUBJECT, "urn:altinn:rolecode")}


# ---------------------------------------------------------------- the index never changes a decision

ORGS, APPS, ACTIONS, ROLES = ["skd", "ttd"], ["a", "b", "c"], ["read", "write", "sign"], ["dagl", "regna", "priv"]
rule_spec = st.tuples(st.sampled_from(["Permit", "Deny"]), st.sampled_from(ROLES), st.sampled_from(ORGS),
                      st.sampled_from(APPS), st.sets(st.sampled_from(ACTIONS), min_size=1))
ALGORITHMS = [
    "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides",
    "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:permit-overrides",
    "urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable",
    "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-unless-permit",
]


@settings(max_examples=60, deadline=None)
@given(rules=st.lists(rule_spec, min_size=2, max_size=8), algorithm=st.sampled_from(ALGORITHMS),
       role=st.sampled_from(ROLES), org=st.sampled_from(ORGS), app=st.sampled_from(APPS),
       action=st.sampled_from(ACTIONS))
def test_indexed_decisions_equal_evaluating_every_rule_in_order(
    rules: list[tuple[str, str, str, str, set[str]]], algorithm: str, role: str, org: str, app: str, action: str,
) -> None:
    store = PolicyStore()
    compiled = store.add(policy("p", *[
        app_rule(f"r{i}", r, o, a, sorted(acts)).replace('Effect="Permit"', f'Effect="{effect}"')
        for i, (effect, r, o, a, acts) in enumerate(rules)
    ], algorithm=algorithm))
    assert compiled.index is not None
    request = request_from_json(altinn_request(role=role, org=org, app=app, action=action))
    indexed = PolicyDecisionPoint(store).decide(request).decision

    # The oracle: every rule evaluated in document order, each one's applicability computed directly.
    effects = [effect for effect, r, o, a, acts in rules if r == role and o == org and a == app and action in acts]
    if "deny-unless-permit" in algorithm:
        expected = Decision.PERMIT if "Permit" in effects else Decision.DENY
    elif not effects:
        expected = Decision.NOT_APPLICABLE
    elif "first-applicable" in algorithm:
        expected = Decision(effects[0])
    elif "deny-overrides" in algorithm:
        expected = Decision.DENY if "Deny" in effects else Decision.PERMIT
    else:
        expected = Decision.PERMIT if "Permit" in effects else Decision.DENY
    assert indexed == expected
