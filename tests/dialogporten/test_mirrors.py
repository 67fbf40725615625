"""Mirrors: an app instance and a correspondence each appear as a dialog and stay in step with it, through the
jobs Storage and Correspondence queue with their changes; replays change nothing; only the parties that may
read the source see the dialog."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select

from felles.authorization import service as authorization
from felles.core.jobs import Job, Worker, enqueue
from felles.core.tokens import Principal
from felles.dialogporten import mirrors
from felles.dialogporten.models import Dialog, DialogMirror
from felles.events.models import CloudEventRecord
from felles.storage import service as storage
from tests.apps.runtime import conftest as runtime_fixtures
from tests.apps.runtime.conftest import APP_ID, KARI, OLA
from tests.conftest import bearer
from tests.correspondence import conftest as correspondence_fixtures
from tests.correspondence.conftest import person, send_published

# The app runtime's and Correspondence's fixtures, used here as they are there.
soknad, kari, ttd = runtime_fixtures.soknad, runtime_fixtures.kari, runtime_fixtures.ttd
resource, sender = correspondence_fixtures.resource, correspondence_fixtures.sender
reader = correspondence_fixtures.reader

INSTANCES = f"/{APP_ID}/instances"
ENDUSER_DIALOGS = "/dialogporten/api/v1/enduser/dialogs"
CORRESPONDENCE = "/correspondence/api/v1/correspondence"


async def run_jobs(database) -> int:
    return await Worker(database, concurrency=4).run_until_idle()


def end_user(token, identifier: str) -> dict[str, str]:
    return bearer(token(scopes=["digdir:dialogporten"], person=identifier))


async def dialog_of(client, token, database, source_type: str, source_id: str, who: str = KARI
                    ) -> dict[str, Any]:
    dialog_id = await mirrors.mirrored_dialog_id(database, source_type, uuid.UUID(source_id))
    assert dialog_id is not None, f"no dialog mirrors {source_type} {source_id}"
    response = await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=end_user(token, who))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def dialog_events(database, dialog_id: str) -> list[str]:
    async with database.transaction() as session:
        rows = await session.scalars(select(CloudEventRecord.type).where(
            CloudEventRecord.resource_instance == dialog_id).order_by(CloudEventRecord.sequence))
        return list(rows)


async def fill_in_and_submit(client, headers, instance) -> None:
    """Save the form and take the instance on from its data task, as its owner would."""
    saved = await client.put(f"{INSTANCES}/{instance['id']}/data/{instance['data'][0]['id']}", headers=headers,
                             json={"navn": "Kari", "belop": 10})
    assert saved.status_code in (200, 201), saved.text
    submitted = await client.put(f"{INSTANCES}/{instance['id']}/process/next", headers=headers)
    assert submitted.status_code == 200, submitted.text


async def test_an_instance_is_mirrored_through_create_submit_complete_and_delete(client, database, soknad, kari,
                                                                                 ttd, token) -> None:
    kari_party = (await authorization.party_of(database, KARI)).party_id
    instance = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    guid = instance["id"].split("/")[1]
    await run_jobs(database)

    dialog = await dialog_of(client, token, database, "instance", guid)
    assert dialog["status"] == "Draft"  # the party is filling in the form
    assert dialog["endUserContext"]["systemLabels"] == ["Default"]
    assert dialog["serviceResource"] == "urn:altinn:resource:app_ttd_runtime-soknad"
    assert dialog["party"] == f"urn:altinn:person:identifier-no:{KARI}"
    primary = next(action for action in dialog["guiActions"] if action["priority"] == "Primary")
    assert primary["url"].endswith(f"/{APP_ID}/instance/{kari_party}/{guid}")
    assert any(action["isDeleteDialogAction"] for action in dialog["guiActions"])
    assert [item["type"] for item in dialog["activities"]] == ["DialogCreated"]
    (attachment,) = dialog["attachments"]  # the form's data element
    assert attachment["urls"][0]["url"].endswith(f"/data/{instance['data'][0]['id']}")

    await fill_in_and_submit(client, kari, instance)
    await run_jobs(database)
    dialog = await dialog_of(client, token, database, "instance", guid)
    assert dialog["status"] == "Awaiting"  # submitted, not yet confirmed by the service owner
    assert not any(action["isDeleteDialogAction"] for action in dialog["guiActions"])
    (transmission,) = dialog["transmissions"]
    assert transmission["type"] == "Submission" and transmission["attachments"]
    assert "Sent" in dialog["endUserContext"]["systemLabels"]  # the submission files it under Sendt
    assert "FormSubmitted" in [item["type"] for item in dialog["activities"]]

    completed = await client.post(f"{INSTANCES}/{instance['id']}/complete", headers=ttd)
    assert completed.status_code == 200, completed.text
    await run_jobs(database)
    assert (await dialog_of(client, token, database, "instance", guid))["status"] == "Completed"

    deleted = await client.delete(f"{INSTANCES}/{instance['id']}", headers=kari)
    assert deleted.status_code == 200, deleted.text
    await run_jobs(database)
    dialog_id = str(await mirrors.mirrored_dialog_id(database, "instance", uuid.UUID(guid)))
    gone = await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=end_user(token, KARI))
    assert gone.status_code in (404, 410)
    events = await dialog_events(database, dialog_id)
    assert events[0] == "dialogporten.dialog.created.v1"
    assert events.count("dialogporten.dialog.updated.v1") >= 2  # submitted, completed
    assert "dialogporten.dialog.transmission.created.v1" in events
    assert events[-1] == "dialogporten.dialog.deleted.v1"


async def test_the_delete_action_of_an_instance_dialog_takes_the_dialog_token_and_deletes_the_instance(
        client, database, soknad, kari, token) -> None:
    kari_party = (await authorization.party_of(database, KARI)).party_id
    ola_party = (await authorization.party_of(database, OLA)).party_id
    drafts = [(await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
              for _ in range(2)]
    guid, other_guid = (draft["id"].split("/")[1] for draft in drafts)
    await run_jobs(database)
    dialog = await dialog_of(client, token, database, "instance", guid)
    delete = next(action for action in dialog["guiActions"] if action["isDeleteDialogAction"])
    assert delete["isAuthorized"] and delete["httpMethod"] == "DELETE"
    assert delete["authorizationAttribute"] == "urn:altinn:task:Task_1"  # decided at the task the form is in
    assert delete["url"].endswith(f"/storage/dialogporten/api/v1/instance/{kari_party}/{guid}")
    path = delete["url"].removeprefix("http://testserver")
    dialog_token = bearer(dialog["dialogToken"])
    other_token = bearer((await dialog_of(client, token, database, "instance", other_guid))["dialogToken"])

    refusals = {
        "no token": await client.delete(path),
        "an access token": await client.delete(path, headers=kari),
        "another dialog's token": await client.delete(path, headers=other_token),
        "another party in the path": await client.delete(path.replace(f"/{kari_party}/", f"/{ola_party}/"),
                                                         headers=dialog_token),
    }
    assert {why: answer.status_code for why, answer in refusals.items()} == {
        "no token": 401, "an access token": 401, "another dialog's token": 403, "another party in the path": 404}
    assert refusals["another dialog's token"].json()["code"] == "dialog_token_mismatch"

    deleted = await client.delete(path, headers=dialog_token)
    assert deleted.status_code == 204, deleted.text
    # The dialog is gone at once; the instance is soft deleted, its Deleted event by Kari.
    gone = await client.get(f"{ENDUSER_DIALOGS}/{dialog['id']}", headers=end_user(token, KARI))
    assert gone.status_code == 410
    instance = (await client.get(f"{INSTANCES}/{kari_party}/{guid}", headers=kari)).json()
    assert instance["status"]["isSoftDeleted"]
    events = (await storage.events_of(database, uuid.UUID(guid), party_id=kari_party)).instanceEvents
    assert events[-1].eventType == "Deleted" and events[-1].user.nationalIdentityNumber == KARI
    assert await run_jobs(database) >= 1  # Storage's own mirror job finds the dialog already deleted
    assert (await client.delete(path, headers=dialog_token)).status_code == 204  # a retry changes nothing
    assert (await dialog_of(client, token, database, "instance", other_guid))["status"] == "Draft"


async def test_a_dialog_token_without_the_delete_action_deletes_nothing(client, database, soknad, kari,
                                                                         token) -> None:
    kari_party = (await authorization.party_of(database, KARI)).party_id
    instance = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    guid = instance["id"].split("/")[1]
    await fill_in_and_submit(client, kari, instance)
    await run_jobs(database)
    dialog = await dialog_of(client, token, database, "instance", guid)  # submitted: no delete action
    refused = await client.delete(f"/storage/dialogporten/api/v1/instance/{kari_party}/{guid}",
                                  headers=bearer(dialog["dialogToken"]))
    assert refused.status_code == 403 and refused.json()["code"] == "dialog_token_mismatch"
    assert not (await client.get(f"{INSTANCES}/{instance['id']}", headers=kari)).json()["status"]["isSoftDeleted"]


async def test_a_replayed_mirror_job_writes_one_dialog_and_publishes_nothing_more(client, database, soknad, kari,
                                                                                  token) -> None:
    kari_party = (await authorization.party_of(database, KARI)).party_id
    instance = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    guid = instance["id"].split("/")[1]
    await run_jobs(database)
    dialog_id = str(await mirrors.mirrored_dialog_id(database, "instance", uuid.UUID(guid)))
    revision = (await dialog_of(client, token, database, "instance", guid))["revision"]  # (Kari has seen it)
    before = await dialog_events(database, dialog_id)

    async with database.transaction() as session:
        for _ in range(2):
            await enqueue(session, mirrors.MIRROR_INSTANCE_JOB, {"instance": guid, "org": "ttd"})
    assert await run_jobs(database) == 2
    async with database.transaction() as session:
        dialogs = await session.scalar(select(func.count()).select_from(Dialog).where(
            Dialog.id == uuid.UUID(dialog_id)))
        records = await session.scalar(select(func.count()).select_from(DialogMirror).where(
            DialogMirror.source_id == uuid.UUID(guid)))
        dead = await session.scalar(select(func.count()).select_from(Job).where(Job.status == "dead"))
    assert (dialogs, records, dead) == (1, 1, 0)
    assert await dialog_events(database, dialog_id) == before
    assert (await dialog_of(client, token, database, "instance", guid))["revision"] == revision


async def test_another_party_cannot_see_a_mirrored_instance(client, database, soknad, kari, token) -> None:
    kari_party = (await authorization.party_of(database, KARI)).party_id
    instance = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    guid = instance["id"].split("/")[1]
    await run_jobs(database)
    dialog_id = await mirrors.mirrored_dialog_id(database, "instance", uuid.UUID(guid))

    karis = (await client.get(ENDUSER_DIALOGS, headers=end_user(token, KARI))).json()["items"]
    assert str(dialog_id) in [item["id"] for item in karis]
    olas = (await client.get(ENDUSER_DIALOGS, headers=end_user(token, OLA))).json()["items"]
    assert str(dialog_id) not in [item["id"] for item in olas]
    assert (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=end_user(token, OLA))).status_code == 404
    asked = await client.get(ENDUSER_DIALOGS, params={"party": f"urn:altinn:person:identifier-no:{KARI}"},
                             headers=end_user(token, OLA))
    assert asked.status_code in (200, 403) and str(dialog_id) not in [
        item["id"] for item in asked.json().get("items", [])]


async def test_a_correspondence_is_mirrored_through_publish_read_confirm_and_archive(client, database, resource,
                                                                                      sender, reader,
                                                                                      token) -> None:
    kari = correspondence_fixtures.KARI.identifier
    (correspondence_id,) = await send_published(client, database, sender, person(kari), isConfirmationNeeded=True)
    await run_jobs(database)

    dialog = await dialog_of(client, token, database, "correspondence", correspondence_id, kari)
    assert dialog["status"] == "RequiresAttention"  # it waits for Kari's confirmation
    assert dialog["serviceResource"] == f"urn:altinn:resource:{resource}"
    (transmission,) = dialog["transmissions"]
    assert transmission["type"] == "Information"
    assert transmission["content"]["title"]["value"][0]["value"] == "Vedtak i saken din"
    assert dialog["content"]["senderName"]["value"][0]["value"]
    dialog_id = dialog["id"]

    read = await client.post(f"{CORRESPONDENCE}/{correspondence_id}/markasread", headers=reader(kari))
    assert read.status_code == 200, read.text
    await run_jobs(database)
    dialog = await dialog_of(client, token, database, "correspondence", correspondence_id, kari)
    seen_log = (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}/seenlog", headers=end_user(token, kari))).json()
    # Besides Kari's own looks at the dialog, her read of the message, as Correspondence recorded it.
    assert [entry["seenBy"]["actorId"] for entry in seen_log if entry["isViaServiceOwner"]] == [
        f"urn:altinn:person:identifier-no:{kari}"]
    assert "CorrespondenceOpened" in [item["type"] for item in dialog["activities"]]
    assert "dialogporten.dialog.seen.v1" in await dialog_events(database, dialog_id)

    confirmed = await client.post(f"{CORRESPONDENCE}/{correspondence_id}/confirm", headers=reader(kari))
    assert confirmed.status_code == 200, confirmed.text
    await run_jobs(database)
    dialog = await dialog_of(client, token, database, "correspondence", correspondence_id, kari)
    assert dialog["status"] == "NotApplicable"
    assert "CorrespondenceConfirmed" in [item["type"] for item in dialog["activities"]]

    archived = await client.post(f"{CORRESPONDENCE}/{correspondence_id}/archive", headers=reader(kari))
    assert archived.status_code == 200, archived.text
    await run_jobs(database)
    dialog = await dialog_of(client, token, database, "correspondence", correspondence_id, kari)
    assert "Archive" in dialog["endUserContext"]["systemLabels"]


async def test_a_correspondence_dialog_is_seen_only_by_its_recipients(client, database, resource, sender,
                                                                       token) -> None:
    (correspondence_id,) = await send_published(client, database, sender, person(KARI))
    await run_jobs(database)
    dialog_id = await mirrors.mirrored_dialog_id(database, "correspondence", uuid.UUID(correspondence_id))
    assert dialog_id is not None
    hidden = await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=end_user(token, OLA))
    assert hidden.status_code == 404
    # A replayed job for it changes nothing.
    async with database.transaction() as session:
        await enqueue(session, mirrors.MIRROR_CORRESPONDENCE_JOB, {"correspondence": correspondence_id})
    before = await dialog_events(database, str(dialog_id))
    await run_jobs(database)
    assert await dialog_events(database, str(dialog_id)) == before


async def test_correspondence_sent_before_the_mirrors_existed_is_mirrored_when_asked(client, database, resource,
                                                                                    sender) -> None:
    (correspondence_id,) = await send_published(client, database, sender, person(KARI))
    await run_jobs(database)
    async with database.transaction() as session:  # as in a data folder filled before this version
        await session.execute(delete(DialogMirror))
    assert await mirrors.mirrored_dialog_id(database, "correspondence", uuid.UUID(correspondence_id)) is None

    owner = Principal("organization", organization_number=correspondence_fixtures.SERVICE_OWNER,
                      scopes=frozenset(correspondence_fixtures.WRITE))
    assert await mirrors.mirror_sent_correspondences(database, owner) == 1
    await run_jobs(database)
    dialog_id = await mirrors.mirrored_dialog_id(database, "correspondence", uuid.UUID(correspondence_id))
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Dialog).where(Dialog.id == dialog_id)) == 1


async def instances_made_before_the_mirrors(client, database, kari, count: int) -> list[str]:
    """`count` of Kari's instances as a data folder filled before the mirrors existed has them: no mirror job
    was queued for them, and no dialog mirrors them."""
    kari_party = (await authorization.party_of(database, KARI)).party_id
    guids = []
    for _ in range(count):
        created = await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)
        assert created.status_code == 201, created.text
        guids.append(created.json()["id"].split("/")[1])
    async with database.transaction() as session:
        await session.execute(delete(Job).where(Job.kind == mirrors.MIRROR_INSTANCE_JOB))
    return guids


async def test_instances_made_before_the_mirrors_existed_are_queued_once_a_page_at_a_time(client, database,
                                                                                          soknad, kari) -> None:
    first, *others = await instances_made_before_the_mirrors(client, database, kari, 3)
    async with database.transaction() as session:  # one is mirrored already, as a change since would have done
        await enqueue(session, mirrors.MIRROR_INSTANCE_JOB, {"instance": first, "org": "ttd"})
    assert await run_jobs(database) == 1

    pages: list[int] = []
    assert await mirrors.mirror_unmirrored_instances(database, page_size=2, progress=pages.append) == 2
    assert pages == [2, 1]  # every instance looked at, two at a time
    assert await mirrors.mirror_unmirrored_instances(database) == 0  # their jobs wait: none queued twice
    assert await mirrors.mirror_unmirrored_instances(database, org="skd") == 0  # no instance of skd's apps
    assert await run_jobs(database) == 2
    for guid in others:
        assert await mirrors.mirrored_dialog_id(database, "instance", uuid.UUID(guid)) is not None
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Dialog)) == 3
    assert await mirrors.mirror_unmirrored_instances(database, org="ttd") == 0  # all mirrored: nothing to do
    assert await run_jobs(database) == 0
