"""Varsling uses the notification addresses persons registered in their profile for an organisation: a notice to
the organisation about a resource also goes to each person who registered an address for it, may read the
resource for it, and did not limit their address to other resources; KRR and Enhetsregisteret stay the base."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from felles.authorization import service as authorization_service
from felles.core.audit import Actor
from felles.notifications.models import Notification, NotificationOrder
from felles.notifications.service import CREATE_SCOPE
from tests.conftest import REFERENCE, bearer
from tests.profile.conftest import COMPANY, INGRID, SETTINGS, VERIFICATION, code_sent_to, run_jobs

pytestmark = pytest.mark.usefixtures("people", "varsling_outbox")
AGENCY = "974761076"
RESOURCE = "fjordkraft-lonn"
OTHER_RESOURCE = "fjordkraft-mva"
POLICY = (REFERENCE / "altinn-authorization/pdp/resources/ttd-accesspackage-resource.policy.xml").read_text("utf-8-sig")
ADDRESS = "ingrid.lonn@fjordkraft.eksempel.no"


async def add_resource(database, identifier: str) -> None:
    """A resource whose policy lets holders of the access package `ansettelsesforhold` read and write."""
    actor = Actor(f"organization:{AGENCY}")
    document = {"identifier": identifier, "title": {"nb": identifier}, "resourceType": "GenericAccessResource",
                "hasCompetentAuthority": {"organization": AGENCY, "orgcode": "skd"}}
    await authorization_service.create_resource(database, actor, AGENCY,
                                                authorization_service.s.ServiceResource.model_validate(document))
    await authorization_service.put_policy(database, actor, AGENCY, identifier,
                                           POLICY.replace("ttd-accesspackage-resource", identifier).encode())


async def destinations(database, reference: str) -> set[str]:
    async with database.transaction() as session:
        rows = await session.scalars(select(Notification.destination).join(
            NotificationOrder, Notification.order_id == NotificationOrder.id).where(
            NotificationOrder.senders_reference == reference))
        return {row for row in rows if row}


async def order_to_company(client, token, reference: str, resource: str | None) -> None:
    recipient = {"orgNumber": COMPANY, "channelSchema": "EmailOnly",
                 "emailSettings": {"subject": "Lønn", "body": "Ny melding om lønn."}}
    if resource:
        recipient["resourceId"] = f"urn:altinn:resource:{resource}"
    response = await client.post("/notifications/api/v1/future/orders",
                                  headers=bearer(token(scopes=[CREATE_SCOPE], org=AGENCY)),
                                  json={"idempotencyId": reference, "sendersReference": reference,
                                        "recipient": {"recipientOrganization": recipient}})
    assert response.status_code == 201, response.text


async def test_a_notice_about_a_resource_reaches_the_persons_own_address_for_the_organisation(
        client, database, as_person, token):
    await add_resource(database, RESOURCE)
    await add_resource(database, OTHER_RESOURCE)
    assert await authorization_service.is_permitted(database, INGRID.identifier, COMPANY, RESOURCE, "read")
    ingrid = as_person(INGRID.identifier)
    company_uuid = str((await authorization_service.party_of(database, COMPANY)).party_uuid)
    await client.post(VERIFICATION + "/send", headers=ingrid, json={"value": ADDRESS, "type": "Email"})
    code = await code_sent_to(database, ADDRESS)
    assert (await client.post(VERIFICATION + "/verify", headers=ingrid, json={
        "value": ADDRESS, "type": "Email", "verificationCode": code})).status_code == 204
    saved = await client.put(f"{SETTINGS}/{company_uuid}", headers=ingrid, json={
        "emailAddress": ADDRESS, "resourceIncludeList": [f"urn:altinn:resource:{RESOURCE}"]})
    assert saved.status_code == 201

    await order_to_company(client, token, "about-lonn", RESOURCE)
    await order_to_company(client, token, "about-mva", OTHER_RESOURCE)
    await order_to_company(client, token, "about-nothing", None)
    await run_jobs(database)
    official = f"post@{COMPANY}.eksempel.no"
    assert await destinations(database, "about-lonn") == {official, ADDRESS}
    assert await destinations(database, "about-mva") == {official}  # her address is for the other resource only
    assert await destinations(database, "about-nothing") == {official}  # Altinn asks Profile only with a resource


async def test_a_person_who_may_no_longer_read_the_resource_gets_no_notice(client, database, as_person, token):
    await add_resource(database, RESOURCE)
    ingrid = as_person(INGRID.identifier)
    company_uuid = str((await authorization_service.party_of(database, COMPANY)).party_uuid)
    await client.post(VERIFICATION + "/send", headers=ingrid, json={"value": ADDRESS, "type": "Email"})
    code = await code_sent_to(database, ADDRESS)
    await client.post(VERIFICATION + "/verify", headers=ingrid,
                      json={"value": ADDRESS, "type": "Email", "verificationCode": code})
    assert (await client.put(f"{SETTINGS}/{company_uuid}", headers=ingrid,
                             json={"emailAddress": ADDRESS})).status_code == 201
    # The policy changes: now only holders of another package may read it (Ingrid, daglig leder, may still act
    # for the company, but not read this resource).
    await authorization_service.put_policy(
        database, Actor(f"organization:{AGENCY}"), AGENCY, RESOURCE,
        POLICY.replace("ttd-accesspackage-resource", RESOURCE).replace(">ansettelsesforhold<", ">no-such-package<")
        .encode())
    assert not await authorization_service.is_permitted(database, INGRID.identifier, COMPANY, RESOURCE, "read")
    await order_to_company(client, token, "after-change", RESOURCE)
    await run_jobs(database)
    assert ADDRESS not in await destinations(database, "after-change")
    # the order went out to the organisation's own address all the same
    assert f"post@{COMPANY}.eksempel.no" in await destinations(database, "after-change")
