"""Access requests (be om tilgang): Draft → Pending → Approved (the delegation made) or Rejected; the requester
may withdraw. Every status change is audited and published as an event."""

from sqlalchemy import select

from felles.core.audit import AuditEntry
from felles.events.models import CloudEventRecord
from tests.authorization.test_decisions_and_delegations import (
    ACME,
    BOARD_MEMBER,
    EMPLOYEE,
    LEADER,
    RESOURCE,
    decide,
    request,
    world,
)
from tests.conftest import bearer

BASE = "/accessmanagement/api/v1/enduser/request"


async def test_a_request_is_drafted_submitted_and_approved_into_a_delegation(client, database, token):
    await world(client, database, token)
    employee = bearer(token(scopes=[], person=EMPLOYEE))
    leader = bearer(token(scopes=[], person=LEADER))
    drafted = await client.post(f"{BASE}/package", headers=employee,
                                json={"party": ACME, "package": "ansettelsesforhold", "message": "Til lønnskjøring"})
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert draft["status"] == "Draft" and draft["type"] == "package" and draft["requester"] == EMPLOYEE
    # A draft is the requester's own until sent.
    assert (await client.get(f"{BASE}/received?party={ACME}", headers=leader)).json() == []
    sent = await client.put(f"{BASE}/draft/confirm?id={draft['id']}", headers=employee)
    assert sent.status_code == 200 and sent.json()["status"] == "Pending"
    again = await client.put(f"{BASE}/draft/confirm?id={draft['id']}", headers=employee)
    assert again.status_code == 409 and again.json()["code"] == "request_status_conflict"
    received = await client.get(f"{BASE}/received?party={ACME}&status=Pending", headers=leader)
    assert [r["id"] for r in received.json()] == [draft["id"]]
    not_admin = await client.get(f"{BASE}/received?party={ACME}", headers=bearer(token(scopes=[],
                                                                                           person=BOARD_MEMBER)))
    assert not_admin.status_code == 403
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "NotApplicable"
    approved = await client.put(f"{BASE}/received/approve?party={ACME}&id={draft['id']}", headers=leader)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "Approved" and approved.json()["delegationId"]
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "Permit"
    mine = await client.get(f"{BASE}/sent", headers=employee)
    assert [r["status"] for r in mine.json()] == ["Approved"]
    async with database.transaction() as session:
        events = list(await session.scalars(select(CloudEventRecord.type).order_by(CloudEventRecord.sequence)))
        audited = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.resource == "authorization.access_request").order_by(AuditEntry.id)))
    assert events == ["altinn.accessmanagement.request.draft", "altinn.accessmanagement.request.pending",
                      "altinn.accessmanagement.delegation.created", "altinn.accessmanagement.request.approved"]
    assert audited == ["draft", "pending", "approved"]


async def test_rejected_and_withdrawn_requests_give_nothing(client, database, token):
    await world(client, database, token)
    employee = bearer(token(scopes=[], person=EMPLOYEE))
    leader = bearer(token(scopes=[], person=LEADER))
    asked = (await client.post(f"{BASE}/resource", headers=employee,
                               json={"party": ACME, "resource": RESOURCE, "action": "read"})).json()
    assert asked["type"] == "resource" and asked["action"] == "read"
    await client.put(f"{BASE}/draft/confirm?id={asked['id']}", headers=employee)
    rejected = await client.put(f"{BASE}/received/reject?party={ACME}&id={asked['id']}", headers=leader)
    assert rejected.json()["status"] == "Rejected" and rejected.json()["handledBy"]
    late = await client.put(f"{BASE}/sent/withdraw?id={asked['id']}", headers=employee)
    assert late.status_code == 409
    withdrawn_draft = (await client.post(f"{BASE}/package", headers=employee,
                                         json={"party": ACME, "package": "ansettelsesforhold"})).json()
    withdrawn = await client.put(f"{BASE}/sent/withdraw?id={withdrawn_draft['id']}", headers=employee)
    assert withdrawn.json()["status"] == "Withdrawn"
    pending = (await client.post(f"{BASE}/package", headers=employee,
                                 json={"party": ACME, "package": "ansettelsesforhold"})).json()
    await client.put(f"{BASE}/draft/confirm?id={pending['id']}", headers=employee)
    await client.put(f"{BASE}/sent/withdraw?id={pending['id']}", headers=employee)
    too_late = await client.put(f"{BASE}/received/approve?party={ACME}&id={pending['id']}", headers=leader)
    assert too_late.status_code == 409
    assert (await decide(client, token, request(EMPLOYEE, ACME)))[0]["Decision"] == "NotApplicable"
    # Someone else cannot touch your request, nor see it.
    other = bearer(token(scopes=[], person=BOARD_MEMBER))
    assert (await client.put(f"{BASE}/sent/withdraw?id={pending['id']}", headers=other)).status_code == 404
    assert (await client.get(f"{BASE}?id={pending['id']}", headers=other)).status_code == 403
    statuses = [r["status"] for r in (await client.get(f"{BASE}/sent", headers=employee)).json()]
    assert statuses == ["Withdrawn", "Withdrawn", "Rejected"]


async def test_what_cannot_be_given_cannot_be_asked_for_or_approved(client, database, token):
    await world(client, database, token)
    employee = bearer(token(scopes=[], person=EMPLOYEE))
    client_package = await client.post(f"{BASE}/package", headers=employee,
                                       json={"party": ACME, "package": "regnskapsforer-lonn"})
    assert client_package.status_code == 400 and client_package.json()["code"] == "package_not_assignable"
    unknown = await client.post(f"{BASE}/resource", headers=employee,
                                json={"party": ACME, "resource": "no-such-resource", "action": "read"})
    assert unknown.status_code == 404
    # The leader does not hold "delete" on the resource, so cannot approve a request for it.
    asked = (await client.post(f"{BASE}/resource", headers=employee,
                               json={"party": ACME, "resource": RESOURCE, "action": "delete"})).json()
    await client.put(f"{BASE}/draft/confirm?id={asked['id']}", headers=employee)
    refused = await client.put(f"{BASE}/received/approve?party={ACME}&id={asked['id']}",
                               headers=bearer(token(scopes=[], person=LEADER)))
    assert refused.status_code == 403 and refused.json()["code"] == "right_not_delegable_by_you"
    still = await client.get(f"{BASE}?id={asked['id']}", headers=employee)
    assert still.json()["status"] == "Pending"
