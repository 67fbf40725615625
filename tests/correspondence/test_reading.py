"""Reading and the recipient's actions: a test per status transition, who may read (the PDP: the person
themself, a daglig leder for the company, confidential post only with its package), lists with filters, and the
events and audit entries each step writes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service_delegations
from felles.core.audit import Actor, AuditEntry
from felles.core.clock import clock, utcnow
from felles.core.jobs import enqueue
from felles.core.tokens import Principal
from felles.correspondence import service_reading
from felles.events.models import CloudEventRecord
from tests.conftest import bearer
from tests.correspondence.conftest import (
    AISHA,
    API,
    COMPANY,
    INGRID,
    KARI,
    OLA,
    organization,
    person,
    run_jobs,
    send,
    send_published,
)


def history(details) -> list[str]:
    return [event["status"] for event in details.json()["statusHistory"]]


async def event_types(database, correspondence_id: str) -> list[str]:
    async with database.transaction() as session:
        return list(await session.scalars(select(CloudEventRecord.type).where(
            CloudEventRecord.resource_instance == correspondence_id).order_by(CloudEventRecord.sequence)))


async def test_published_fetched_read_confirmed_archived(client, database, resource, sender, reader, job_settings):
    (identifier,) = await send_published(client, database, sender, isConfirmationNeeded=True)
    kari = reader(KARI.identifier)
    assert (await client.get(f"{API}/correspondence/{identifier}", headers=kari)).json()["status"] == "Published"
    refused = await client.post(f"{API}/correspondence/{identifier}/archive", headers=kari)
    assert refused.status_code == 409 and refused.json()["code"] == "confirmation_required"
    assert (await client.post(f"{API}/correspondence/{identifier}/markasread", headers=kari)).status_code == 200
    assert (await client.post(f"{API}/correspondence/{identifier}/markasread", headers=kari)).status_code == 200
    assert (await client.post(f"{API}/correspondence/{identifier}/confirm", headers=kari)).status_code == 200
    assert (await client.post(f"{API}/correspondence/{identifier}/archive", headers=kari)).status_code == 200
    details = await client.get(f"{API}/correspondence/{identifier}/details", headers=kari)
    assert details.json()["status"] == "Archived"
    assert history(details) == ["Initialized", "ReadyForPublish", "Published", "Fetched", "Read", "Confirmed",
                                "Archived"]
    assert await event_types(database, identifier) == [f"no.altinn.correspondence.{name}" for name in (
        "correspondenceinitialized", "correspondencepublished", "correspondencereceiverread",
        "correspondencereceiverconfirmed", "correspondencearchived")]
    async with database.transaction() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.resource == "correspondence")))
    assert {"read", "confirm", "archive"} <= set(actions)


async def test_confirm_needs_a_correspondence_that_asks_for_it(client, database, resource, sender, reader,
                                                               job_settings):
    (identifier,) = await send_published(client, database, sender)
    refused = await client.post(f"{API}/correspondence/{identifier}/confirm", headers=reader(KARI.identifier))
    assert refused.status_code == 400 and refused.json()["code"] == "confirmation_not_needed"


async def test_replied_through_a_reply_option(client, database, resource, sender, reader, job_settings):
    (identifier,) = await send_published(client, database, sender, replyOptions=[
        {"linkURL": "https://skatteetaten.example/svar", "linkText": "Svar"}])
    kari = Principal("person", person_identifier=KARI.identifier, scopes=frozenset({"altinn:correspondence.read"}))
    url = await service_reading.reply(database, kari, uuid.UUID(identifier), 0)
    assert url == "https://skatteetaten.example/svar"
    details = await client.get(f"{API}/correspondence/{identifier}/details", headers=reader(KARI.identifier))
    assert details.json()["status"] == "Replied"
    assert history(details)[-2:] == ["Read", "Replied"]


async def test_purged_by_the_recipient_is_gone_for_them_and_stays_for_the_sender(
        client, database, resource, sender, reader, job_settings):
    (identifier,) = await send_published(client, database, sender)
    kari = reader(KARI.identifier)
    assert (await client.delete(f"{API}/correspondence/{identifier}/purge", headers=kari)).status_code == 200
    assert (await client.get(f"{API}/correspondence/{identifier}", headers=kari)).status_code == 404
    details = await client.get(f"{API}/correspondence/{identifier}/details", headers=sender)
    assert details.json()["status"] == "PurgedByRecipient"
    assert (await client.get(f"{API}/correspondence", params={"role": "Recipient"}, headers=kari)).json() == {
        "ids": []}


async def test_the_sender_withdraws_before_publishing_and_not_after(client, database, resource, sender, reader,
                                                                    job_settings):
    later = await send(client, sender, requestedPublishTime=(utcnow() + timedelta(days=1)).isoformat())
    identifier = later["correspondences"][0]["correspondenceId"]
    await run_jobs(database)
    assert (await client.get(f"{API}/correspondence/{identifier}", headers=reader(KARI.identifier))).status_code == 404
    assert (await client.delete(f"{API}/correspondence/{identifier}/purge", headers=sender)).status_code == 200
    clock.advance(timedelta(days=2))
    await run_jobs(database)
    details = await client.get(f"{API}/correspondence/{identifier}/details", headers=sender)
    assert history(details) == ["Initialized", "ReadyForPublish", "PurgedByAltinn"]
    (published,) = await send_published(client, database, sender)
    refused = await client.delete(f"{API}/correspondence/{published}/purge", headers=sender)
    assert refused.status_code == 409 and refused.json()["code"] == "correspondence_published"


async def test_purged_by_altinn_after_allow_system_delete_after(client, database, resource, sender, job_settings):
    (identifier,) = await send_published(client, database, sender, dueDateTime=None,
                                         allowSystemDeleteAfter=(utcnow() + timedelta(days=30)).isoformat())
    clock.advance(timedelta(days=31))
    await run_system_delete(database)
    details = await client.get(f"{API}/correspondence/{identifier}/details", headers=sender)
    assert details.json()["status"] == "PurgedByAltinn"


async def run_system_delete(database) -> None:
    async with database.transaction() as session:
        await enqueue(session, "correspondence.system_delete", {})
    await run_jobs(database)


async def test_only_those_the_policy_lets_read_a_partys_post(client, database, resource, sender, reader,
                                                             job_settings):
    kari_id, company_id = await send_published(client, database, sender, person(KARI.identifier),
                                               organization(COMPANY))
    assert (await client.get(f"{API}/correspondence/{kari_id}", headers=reader(OLA.identifier))).status_code == 403
    # Ingrid, daglig leder, reads the company's post; Aisha, a board member, does not.
    assert (await client.get(f"{API}/correspondence/{company_id}", headers=reader(INGRID.identifier))
            ).status_code == 200
    assert (await client.get(f"{API}/correspondence/{company_id}", headers=reader(AISHA.identifier))
            ).status_code == 403
    listed = await client.get(f"{API}/correspondence", params={"role": "Recipient", "onBehalfOf": organization(
        COMPANY)}, headers=reader(INGRID.identifier))
    assert listed.json()["ids"] == [company_id]
    assert (await client.get(f"{API}/correspondence", params={"role": "Recipient", "onBehalfOf": organization(
        COMPANY)}, headers=reader(AISHA.identifier))).json()["ids"] == []
    assert (await client.get(f"{API}/correspondence", params={"role": "Recipient"},
                             headers=reader(KARI.identifier))).json()["ids"] == [kari_id]
    content = await client.get(f"{API}/correspondence/{kari_id}/content", headers=reader(KARI.identifier))
    assert content.text.startswith("# Vedtak")


async def test_confidential_post_needs_its_package(client, database, resource, sender, reader, job_settings):
    (company_id,) = await send_published(client, database, sender, organization(COMPANY), isConfidential=True)
    assert (await client.get(f"{API}/correspondence/{company_id}", headers=reader(INGRID.identifier))
            ).status_code == 403
    # Ingrid, main administrator, gives Aisha the package for confidential post: Aisha reads it, Ingrid still not.
    await service_delegations.delegate_package(
        database, Actor(f"person:{INGRID.identifier}"), INGRID.identifier,
        authorization_schemas.PackageDelegationCreate(
            party=COMPANY, to=AISHA.identifier, package="post-til-virksomheten-med-taushetsbelagt-innhold"))
    assert (await client.get(f"{API}/correspondence/{company_id}", headers=reader(AISHA.identifier))
            ).status_code == 200
    assert (await client.get(f"{API}/correspondence/{company_id}", headers=reader(INGRID.identifier))
            ).status_code == 403


async def test_reading_needs_a_recipients_token(client, database, resource, sender, token, job_settings):
    (identifier,) = await send_published(client, database, sender)
    assert (await client.get(f"{API}/correspondence/{identifier}")).status_code == 401
    other_sender = bearer(token(scopes=["altinn:correspondence.write", "altinn:serviceowner"], org="991825827"))
    assert (await client.get(f"{API}/correspondence/{identifier}", headers=other_sender)).status_code == 403


async def test_at_the_due_date_the_sender_hears_of_what_was_never_read_or_confirmed(
        client, database, resource, sender, reader, job_settings):
    read_id, unread_id = await send_published(client, database, sender, person(KARI.identifier),
                                              person(OLA.identifier), isConfirmationNeeded=True)
    assert (await client.post(f"{API}/correspondence/{read_id}/confirm",
                              headers=reader(KARI.identifier))).status_code == 200
    clock.advance(timedelta(days=15))
    await run_jobs(database)
    assert "no.altinn.correspondence.correspondencereceiverneverread" not in await event_types(database, read_id)
    assert (await event_types(database, unread_id))[-2:] == [
        "no.altinn.correspondence.correspondencereceiverneverread",
        "no.altinn.correspondence.correspondencereceiverneverconfirmed"]
