"""Storage's API for service owners: the query over their own apps' instances (paged, filtered), one instance with
its events and process history, the complete confirmation and the substatus; another owner, an organisation that
owns no services and a token without the scope get nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from felles.core.clock import clock
from felles.core.db import Database
from felles.storage import service as storage
from tests.conftest import bearer
from tests.storage.test_instances import COMPANY, KARI, new_instance

TTD = "405003309"  # Testdepartementet: the service owner "ttd"
SKD = "974761076"  # Skatteetaten: "skd"
NOT_AN_OWNER = "309999908"
READ = "altinn:serviceowner/instances.read"
WRITE = "altinn:serviceowner/instances.write"
INSTANCES = "/storage/api/v1/instances"


@pytest.fixture
def ttd(token):
    return bearer(token(scopes=[READ, WRITE], org=TTD))


async def test_the_query_pages_the_owners_instances_with_a_next_link(client, database: Database, ttd) -> None:
    created = []
    for _ in range(3):
        created.append(await new_instance(database, COMPANY))
        clock.advance(timedelta(seconds=1))
    await new_instance(database, KARI, app_id="skd/other")
    first = await client.get(INSTANCES, params={"org": "ttd", "size": 2}, headers=ttd)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["count"] == 2 and [i["id"] for i in page["instances"]] == [
        f"{COMPANY.party_id}/{instance.id}" for instance in created[:2]]
    second = await client.get(page["next"].removeprefix("http://localhost:8000"), headers=ttd)
    assert [i["id"] for i in second.json()["instances"]] == [f"{COMPANY.party_id}/{created[2].id}"]
    assert "next" not in second.json()

    filtered = await client.get(INSTANCES, headers=ttd, params={
        "appId": "ttd/signing-test", "process.currentTask": "Task_1", "process.isComplete": "false",
        "instanceOwner.partyId": COMPANY.party_id, "lastChanged": "gt:2000-01-01T00:00:00Z"})
    assert filtered.json()["count"] == 3
    bad = await client.get(INSTANCES, headers=ttd, params={"lastChanged": "after:yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_last_changed"


async def test_an_owner_sees_neither_another_owners_instances_nor_queries_them(client, database, ttd, token) -> None:
    skds = await new_instance(database, KARI, app_id="skd/other")
    assert (await client.get(f"{INSTANCES}/{KARI.party_id}/{skds.id}", headers=ttd)).status_code == 404
    refused = await client.get(INSTANCES, params={"org": "skd"}, headers=ttd)
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_apps"
    skd = bearer(token(scopes=[READ], org=SKD))
    assert (await client.get(f"{INSTANCES}/{KARI.party_id}/{skds.id}", headers=skd)).status_code == 200
    stranger = bearer(token(scopes=[READ], org=NOT_AN_OWNER))
    assert (await client.get(INSTANCES, headers=stranger)).json()["code"] == "not_service_owner"
    unscoped = bearer(token(scopes=["altinn:events.subscribe"], org=TTD))
    assert (await client.get(INSTANCES, headers=unscoped)).status_code == 403


async def test_complete_and_substatus_are_recorded_once_with_their_events(client, database, ttd, token) -> None:
    instance = await new_instance(database, COMPANY)
    path = f"{INSTANCES}/{COMPANY.party_id}/{instance.id}"
    read_only = bearer(token(scopes=[READ], org=TTD))
    assert (await client.post(f"{path}/complete", headers=read_only)).status_code == 403
    for _ in range(2):  # a retried confirmation confirms once
        completed = await client.post(f"{path}/complete", headers=ttd)
        assert completed.status_code == 200, completed.text
    confirmations = completed.json()["completeConfirmations"]
    assert [item["stakeholderId"] for item in confirmations] == ["ttd"]
    substatus = await client.put(f"{path}/substatus", headers=ttd,
                                 json={"label": "Behandles", "description": "Søknaden er til behandling"})
    assert substatus.json()["status"]["substatus"] == {"label": "Behandles",
                                                       "description": "Søknaden er til behandling"}
    events = (await client.get(f"{path}/events", headers=ttd)).json()["instanceEvents"]
    kinds = [event["eventType"] for event in events]
    assert kinds.count("ConfirmedComplete") == 1 and kinds[-1] == "SubstatusUpdated"
    assert events[-1]["user"]["orgId"] == "ttd"
    history = (await client.get(f"{path}/process/history", headers=ttd)).json()["processHistory"]
    assert [(item["eventType"], item["elementId"]) for item in history] == [
        ("StartEvent", "StartEvent_1"), ("StartTask", "Task_1")]


async def test_application_metadata_is_public(client, database: Database) -> None:
    from felles.apps import deployment
    from tests.conftest import REFERENCE

    deployed = await deployment.deploy_folder(
        database, REFERENCE / "altinn-apps" / "app-template-v8", "test", name="ttd/template-app"
    )
    org, app = deployed.app_id.split("/")
    metadata = await client.get(f"/storage/api/v1/applications/{org}/{app}")
    assert metadata.status_code == 200 and metadata.json()["id"] == deployed.app_id
    listed = await client.get(f"/storage/api/v1/applications/{org}")
    assert [item["id"] for item in listed.json()["applications"]] == [deployed.app_id]
    missing = await client.get("/storage/api/v1/applications/ttd/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "application_not_found"
    assert storage.STORAGE_PATH == "/storage/api/v1"


async def test_the_owner_reads_by_guid_and_one_event_and_sets_texts_and_values(client, database, ttd,
                                                                             token) -> None:
    instance = await new_instance(database, COMPANY)
    path = f"{INSTANCES}/{COMPANY.party_id}/{instance.id}"
    by_guid = await client.get(f"{INSTANCES}/{instance.id}", headers=ttd)
    assert by_guid.status_code == 200 and by_guid.json()["id"] == f"{COMPANY.party_id}/{instance.id}"
    skd = bearer(token(scopes=[READ, WRITE], org=SKD))
    assert (await client.get(f"{INSTANCES}/{instance.id}", headers=skd)).status_code == 404

    substatus = await client.put(f"{path}/substatus", headers=ttd, json={"label": "Behandles"})
    assert substatus.status_code == 200
    events = (await client.get(f"{path}/events", headers=ttd)).json()["instanceEvents"]
    one = await client.get(f"{path}/events/{events[-1]['id']}", headers=ttd)
    assert one.status_code == 200 and one.json()["eventType"] == "SubstatusUpdated"
    assert (await client.get(f"{path}/events/{instance.id}", headers=ttd)).status_code == 404
    assert (await client.get(f"{path}/events/{events[-1]['id']}", headers=skd)).status_code == 404

    texts = await client.put(f"{path}/presentationtexts", headers=ttd,
                             json={"texts": {"Saksnummer": "2026/17", "Sted": "Fjordvik"}})
    assert texts.status_code == 200 and texts.json()["presentationTexts"] == {"Saksnummer": "2026/17",
                                                                              "Sted": "Fjordvik"}
    removed = await client.put(f"{path}/presentationtexts", headers=ttd, json={"texts": {"Sted": ""}})
    assert removed.json()["presentationTexts"] == {"Saksnummer": "2026/17"}
    values = await client.put(f"{path}/datavalues", headers=ttd, json={"values": {"belop": "5000"}})
    assert values.status_code == 200 and values.json()["dataValues"] == {"belop": "5000"}
    assert "dataValues" not in (await client.put(f"{path}/datavalues", headers=ttd,
                                                 json={"values": {"belop": None}})).json()
    read_only = bearer(token(scopes=[READ], org=TTD))
    assert (await client.put(f"{path}/datavalues", headers=read_only, json={"values": {}})).status_code == 403
    too_long = await client.put(f"{path}/presentationtexts", headers=ttd, json={"texts": {"x": "y" * 1001}})
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid_presentation_texts"
    assert (await client.get("/storage/api/v1/applications")).status_code == 200
