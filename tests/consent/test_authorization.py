"""Who may ask and who may answer, decided by each consent resource's XACML policy: an organisation asked is
answered by a person who may consent for it (its daglig leder, say); a person asked consents only if the policy
lets private persons; a requiredDelegator alone may answer an open request; a consumer the policy does not let
ask (`requestconsent`) is refused."""

from __future__ import annotations

import pytest

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.core.audit import Actor, search_entries
from felles.registers.population import DEMO_PERSONS
from tests.conftest import bearer
from tests.consent.conftest import (
    BFF,
    COMPANY,
    CONSUMER,
    CONSUMER_PATH,
    FOR_ORGANIZATIONS,
    INCOME,
    INGRID,
    KARI,
    OTHER_ORGANIZATION,
    READ,
    SERVICE_OWNER,
    WRITE,
    create_request,
    make_access_manager,
    request_body,
)

pytestmark = pytest.mark.usefixtures("resources")
PER = DEMO_PERSONS[5]  # styreleder (LEDE) of the demo company
ORGANIZATION_URN = "urn:altinn:organization:identifier-no:"
PERSON_URN = "urn:altinn:person:identifier-no:"
ACCOUNTS = [{"action": ["consent"], "resource": [{"type": "urn:altinn:resource", "value": FOR_ORGANIZATIONS}]}]


def history(details: dict) -> list[tuple[str, str]]:
    return [(event["eventType"], event["performedBy"]) for event in details["consentRequestEvents"]]


async def test_the_daglig_leder_answers_for_the_organisation_and_a_board_member_may_not(
        client, database, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers, consentRights=ACCOUNTS,
                                   **{"from": ORGANIZATION_URN + COMPANY})
    assert created["from"] == ORGANIZATION_URN + COMPANY
    request = f"{BFF}/consentrequests/{created['id']}"

    # Kari is only a board member (MEDL): the policy lets DAGL and LEDE consent, so she may neither see nor answer.
    for call in (client.get(request, headers=person_headers(KARI.identifier)),
                 client.post(f"{request}/accept", headers=person_headers(KARI.identifier))):
        refused = await call
        assert refused.status_code == 403 and refused.json()["code"] == "consent_not_permitted"
        assert FOR_ORGANIZATIONS in refused.json()["detail"] and refused.json()["resource"] == FOR_ORGANIZATIONS

    seen = await client.get(request, headers=person_headers(INGRID.identifier))
    assert seen.status_code == 200 and seen.json()["status"] == "Created"
    accepted = await client.post(f"{request}/accept", headers=person_headers(INGRID.identifier))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "Accepted"
    assert history(accepted.json())[-1] == ("Accepted", PERSON_URN + INGRID.identifier)

    kari_revokes = await client.post(f"{BFF}/consents/{created['id']}/revoke", headers=person_headers(KARI.identifier))
    assert kari_revokes.status_code == 403 and kari_revokes.json()["code"] == "consent_not_permitted"
    revoked = await client.post(f"{BFF}/consents/{created['id']}/revoke", headers=person_headers(INGRID.identifier))
    assert revoked.status_code == 200 and revoked.json()["status"] == "Revoked"

    # The audit log names Ingrid acting for the company, under the company.
    async with database.transaction() as session:
        entries = [record.entry for record in await search_entries(session, subject=COMPANY, actor=None, after=None,
                                                                   limit=20)
                   if record.entry.action.startswith("consent.")]
    assert sorted((entry.action, entry.actor, entry.on_behalf_of) for entry in entries) == [
        ("consent.accepted", f"person:{INGRID.identifier}", f"organization:{COMPANY}"),
        ("consent.created", f"organization:{CONSUMER}", None),
        ("consent.revoked", f"person:{INGRID.identifier}", f"organization:{COMPANY}"),
    ]


async def test_the_events_of_an_organisations_consent_name_the_organisation(
        client, consumer_headers, person_headers, token):
    created = await create_request(client, consumer_headers, consentRights=ACCOUNTS,
                                   **{"from": ORGANIZATION_URN + COMPANY})
    await client.post(f"{BFF}/consentrequests/{created['id']}/reject", headers=person_headers(INGRID.identifier))
    reader = bearer(token(scopes=["altinn:events.subscribe"], org=CONSUMER))
    events = (await client.get("/events/api/v1/events", headers=reader, params={
        "resource": "urn:altinn:resource:altinn-consent", "after": "0", "size": 10})).json()
    assert [event["type"] for event in events] == ["no.altinn.consent.request.created",
                                                    "no.altinn.consent.request.rejected"]
    assert {event["alternativesubject"] for event in events} == {ORGANIZATION_URN + COMPANY}


async def test_a_policy_that_does_not_let_private_persons_consent_refuses_the_person_asked(
        client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers, consentRights=ACCOUNTS)
    assert created["from"] == PERSON_URN + KARI.identifier
    for call in ("accept", "reject"):
        refused = await client.post(f"{BFF}/consentrequests/{created['id']}/{call}",
                                    headers=person_headers(KARI.identifier))
        assert refused.status_code == 403 and refused.json()["code"] == "consent_not_permitted"
    # Skatteetaten's policy lets her consent for herself (role priv).
    income = await create_request(client, consumer_headers)
    accepted = await client.post(f"{BFF}/consentrequests/{income['id']}/accept",
                                 headers=person_headers(KARI.identifier))
    assert accepted.status_code == 200


async def test_only_the_required_delegator_answers_an_open_request(client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers, consentRights=ACCOUNTS, requiredDelegator=PERSON_URN
                                   + PER.identifier, **{"from": ORGANIZATION_URN + COMPANY})
    assert created["requiredDelegator"] == PERSON_URN + PER.identifier
    request = f"{BFF}/consentrequests/{created['id']}"
    for call in (client.get(request, headers=person_headers(INGRID.identifier)),
                 client.post(f"{request}/accept", headers=person_headers(INGRID.identifier))):
        refused = await call
        assert refused.status_code == 403 and refused.json()["code"] == "not_required_delegator"

    accepted = await client.post(f"{request}/accept", headers=person_headers(PER.identifier))
    assert accepted.status_code == 200, accepted.text
    # Once given, the consent is the company's: its daglig leder may see it and revoke it.
    assert (await client.get(request, headers=person_headers(INGRID.identifier))).status_code == 200
    revoked = await client.post(f"{BFF}/consents/{created['id']}/revoke", headers=person_headers(INGRID.identifier))
    assert revoked.status_code == 200 and history(revoked.json())[-1] == ("Revoked", PERSON_URN + INGRID.identifier)


async def test_a_required_delegator_still_needs_the_right_to_consent(client, consumer_headers, person_headers):
    created = await create_request(client, consumer_headers, consentRights=ACCOUNTS, requiredDelegator=PERSON_URN
                                   + KARI.identifier, **{"from": ORGANIZATION_URN + COMPANY})
    refused = await client.post(f"{BFF}/consentrequests/{created['id']}/accept",
                                headers=person_headers(KARI.identifier))
    assert refused.status_code == 403 and refused.json()["code"] == "consent_not_permitted"


ACCESS_LIST_POLICY = """<?xml version="1.0" encoding="utf-8"?>
<xacml:Policy xmlns:xacml="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" PolicyId="urn:altinn:policyid:1"
    Version="1.0" RuleCombiningAlgId="urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides">
  <xacml:Target/>
  {rules}
</xacml:Policy>"""
RULE = """<xacml:Rule RuleId="urn:altinn:resource:{resource}:ruleid:{action}" Effect="Permit"><xacml:Target>
    <xacml:AnyOf><xacml:AllOf><xacml:Match MatchId="urn:oasis:names:tc:xacml:3.0:function:string-equal-ignore-case">
      <xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{value}</xacml:AttributeValue>
      <xacml:AttributeDesignator AttributeId="{subject}" DataType="http://www.w3.org/2001/XMLSchema#string"
          Category="urn:oasis:names:tc:xacml:1.0:subject-category:access-subject" MustBePresent="false"/>
    </xacml:Match></xacml:AllOf></xacml:AnyOf>
    <xacml:AnyOf><xacml:AllOf><xacml:Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal">
      <xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{resource}</xacml:AttributeValue>
      <xacml:AttributeDesignator AttributeId="urn:altinn:resource" DataType="http://www.w3.org/2001/XMLSchema#string"
          Category="urn:oasis:names:tc:xacml:3.0:attribute-category:resource" MustBePresent="false"/>
    </xacml:Match></xacml:AllOf></xacml:AnyOf>
    <xacml:AnyOf><xacml:AllOf><xacml:Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal">
      <xacml:AttributeValue DataType="http://www.w3.org/2001/XMLSchema#string">{action}</xacml:AttributeValue>
      <xacml:AttributeDesignator AttributeId="urn:oasis:names:tc:xacml:1.0:action:action-id"
          Category="urn:oasis:names:tc:xacml:3.0:attribute-category:action"
          DataType="http://www.w3.org/2001/XMLSchema#string" MustBePresent="false"/>
    </xacml:Match></xacml:AllOf></xacml:AnyOf>
  </xacml:Target></xacml:Rule>"""


async def list_of_banks(database, name: str, *, connected_for: list[str] | None = None) -> None:
    """Skatteetaten's access list ``name`` with the consumer bank as its one member; connected to the income
    resource for the actions ``connected_for``, when given."""
    owner = Actor(f"organization:{SERVICE_OWNER}")
    await authorization_service.upsert_access_list(database, owner, SERVICE_OWNER, "skd", name,
                                                   authorization_schemas.AccessListCreate(name="Banker"))
    if connected_for is not None:
        await authorization_service.connect_resource(database, owner, SERVICE_OWNER, "skd", name, INCOME,
                                                     connected_for)
    await authorization_service.set_access_list_members(database, owner, SERVICE_OWNER, "skd", name, [CONSUMER])


async def ask_as_the_bank_and_as_another(client, token):
    """The bank on the list asks (and is let), then another organisation: its refusal."""
    bank = await client.post(CONSUMER_PATH, json=request_body(), headers=bearer(token(scopes=[WRITE, READ],
                                                                                      org=CONSUMER)))
    assert bank.status_code == 201, bank.text
    other = OTHER_ORGANIZATION
    refused = await client.post(CONSUMER_PATH, headers=bearer(token(scopes=[WRITE, READ], org=other)),
                                json=request_body(to=ORGANIZATION_URN + other))
    assert refused.status_code == 403
    return refused


async def test_only_consumers_the_policy_lets_ask_may_request_consent(database, client, token):
    """Skatteetaten lets only the banks on its access list ask for income consents (Altinn's `requestconsent`
    by access-list membership); persons consent for themselves (priv)."""
    owner = Actor(f"organization:{SERVICE_OWNER}")
    rules = (RULE.format(resource=INCOME, action="requestconsent", subject="urn:altinn:access-list",
                         value="skd:samtykke-banker")
             + RULE.format(resource=INCOME, action="consent", subject="urn:altinn:rolecode", value="priv"))
    await authorization_service.put_policy(database, owner, SERVICE_OWNER, INCOME,
                                           ACCESS_LIST_POLICY.format(rules=rules).encode())
    await list_of_banks(database, "samtykke-banker")

    refused = await ask_as_the_bank_and_as_another(client, token)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "consent_request_not_permitted" and refused.json()["resource"] == INCOME
    assert INCOME in refused.json()["detail"] and "requestconsent" in refused.json()["detail"]


async def test_a_resource_in_access_list_mode_takes_requests_only_from_consumers_on_its_list(
        database, client, token):
    """Access-list mode on a consent resource: its policy lets any organisation ask, but only the consumers on
    an access list connected to the resource may."""
    owner = Actor(f"organization:{SERVICE_OWNER}")
    resource = (await authorization_service.get_resource(database, INCOME)).model_copy(
        update={"accessListMode": "Enabled"})
    await authorization_service.update_resource(database, owner, SERVICE_OWNER, INCOME, resource)
    await list_of_banks(database, "inntekt-banker", connected_for=["requestconsent"])

    refused = await ask_as_the_bank_and_as_another(client, token)
    assert refused.json()["code"] == "consent_request_not_permitted"


async def test_an_access_manager_of_the_organisation_sees_and_revokes_its_consent_but_does_not_answer(
        client, database, consumer_headers, person_headers):
    """Altinn lets whoever manages the party's access revoke its consents. Kari, a board member the policy does
    not let consent, is made access manager (tilgangsstyrer) of the company by its daglig leder."""
    open_request = await create_request(client, consumer_headers, consentRights=ACCOUNTS,
                                        **{"from": ORGANIZATION_URN + COMPANY})
    created = await create_request(client, consumer_headers, consentRights=ACCOUNTS,
                                   **{"from": ORGANIZATION_URN + COMPANY})
    accepted = await client.post(f"{BFF}/consentrequests/{created['id']}/accept",
                                 headers=person_headers(INGRID.identifier))
    assert accepted.status_code == 200, accepted.text
    consent = f"{BFF}/consents/{created['id']}/revoke"
    assert (await client.post(consent, headers=person_headers(KARI.identifier))).status_code == 403

    await make_access_manager(database, KARI.identifier)
    for call in (client.get(f"{BFF}/consentrequests/{open_request['id']}", headers=person_headers(KARI.identifier)),
                 client.post(f"{BFF}/consentrequests/{open_request['id']}/accept",
                             headers=person_headers(KARI.identifier))):
        refused = await call
        assert refused.status_code == 403 and refused.json()["code"] == "consent_not_permitted"
    seen = await client.get(f"{BFF}/consentrequests/{created['id']}", headers=person_headers(KARI.identifier))
    assert seen.status_code == 200 and seen.json()["status"] == "Accepted"
    revoked = await client.post(consent, headers=person_headers(KARI.identifier))
    assert revoked.status_code == 200, revoked.text
    assert history(revoked.json())[-1] == ("Revoked", PERSON_URN + KARI.identifier)
