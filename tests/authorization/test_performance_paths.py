"""The paths made fast for large party lists and the decision API keep their answers: authorized parties read
the registers in bulk (in chunks of a thousand) and a MultiRequest still gets one result per request."""

from __future__ import annotations

from datetime import date

from felles.authorization import parties, pip, service
from felles.authorization.catalogue import load_catalogue
from felles.authorization.models import Delegation
from felles.authorization.xacml import request_from_json
from felles.core.clock import utcnow
from felles.core.ids import uuid7
from felles.registers import service as registers
from tests.authorization.test_register_changes import ACTOR, LEADER, add_resource
from tests.authorization.world import ACME, add_organizations, add_persons, organization_number

ACCOUNTANT = LEADER
CLIENTS = 1_200  # more than one chunk of a thousand


async def test_an_accountant_with_more_than_a_thousand_clients_gets_every_client_with_its_register_facts(database):
    clients, base = [], 92_000_000
    for _ in range(CLIENTS):
        number = organization_number(base)
        base = int(number[:8]) + 1
        clients.append(number)
    await add_organizations(database, *((number, "AS", None) for number in clients))
    await add_persons(database, (ACCOUNTANT, date(1970, 5, 17)))
    await load_catalogue(database)  # the packages the delegations name
    async with database.transaction() as session:
        session.add_all(Delegation(id=uuid7(), from_party=number, to_party=ACCOUNTANT, to_kind="person",
                                   package_code="regnskapsforer-lonn", right_key="package:regnskapsforer-lonn",
                                   delegated_by="test", created_at=utcnow()) for number in clients)

    for _ in range(2):  # the first computation gives out party ids; the second reads them again
        found = {p.organizationNumber: p for p in await service.authorized_parties(database, ACTOR, ACCOUNTANT)}
        assert set(found) == {*clients, None}  # None: the accountant themself
        assert all(found[c].name == f"Org {c}" and found[c].unitType == "AS" for c in clients)
        assert all(found[c].authorizedAccessPackages == ["regnskapsforer-lonn"] for c in clients)
        assert len({found[c].partyId for c in clients}) == CLIENTS
        pip.invalidate()
        parties.forget_details()


async def test_a_multi_request_gets_one_result_per_individual_request(database):
    await add_organizations(database, (ACME, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)))
    await add_resource(database, "employment", "ansettelsesforhold")
    await registers.register_role(database, ACTOR, ACME, "DAGL", person=LEADER)
    body = {"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": LEADER}]}],
        "Action": [{"Id": "read", "Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                                 "Value": "read"}]},
                   {"Id": "sign", "Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                                 "Value": "sign"}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": "employment"},
                                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": ACME}]}],
        "MultiRequests": {"RequestReference": [{"ReferenceId": ["read"]}, {"ReferenceId": ["sign"]}]},
    }}
    response = await service.authorize(database, request_from_json(body))
    assert [r.decision.value for r in response.results] == ["Permit", "NotApplicable"]
