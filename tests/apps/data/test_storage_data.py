"""Storage's data paths for the service owner: the list of an instance's data elements, their bytes (marked read;
an infected file never), their lock (which the app then respects), and the instance's read status."""

from __future__ import annotations

from sqlalchemy import update

from felles.storage.models import DataElement
from tests.apps.data.conftest import new_instance
from tests.conftest import bearer

TTD, SKD = "405003309", "974761076"
READ, WRITE = "altinn:serviceowner/instances.read", "altinn:serviceowner/instances.write"
STORAGE = "/storage/api/v1/instances"


async def test_the_service_owner_reads_locks_and_marks(client, database, settings, deployed, kari, token) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    uploaded = (await client.post(f"{path}/data/type/attachment", content=b"hello", headers={
        **kari, "Content-Type": "text/plain",
        "Content-Disposition": "attachment; filename*=UTF-8''s%C3%B8knad.txt"})).json()
    file_id = uploaded["newDataElementId"]
    ttd = bearer(token(scopes=[READ, WRITE], org=TTD))
    base = f"{STORAGE}/{deployed.kari_party}/{instance}"

    listed = (await client.get(f"{base}/dataelements", headers=ttd)).json()["dataElements"]
    assert {item["dataType"] for item in listed} == {"model", "attachment"}
    downloaded = await client.get(f"{base}/data/{file_id}", headers=ttd)
    assert downloaded.status_code == 200 and downloaded.content == b"hello"
    assert "s%C3%B8knad.txt" in downloaded.headers["content-disposition"]
    assert b"<model" in (await client.get(f"{base}/data/{element}", headers=ttd)).content

    locked = await client.put(f"{base}/data/{element}/lock", headers=ttd)
    assert locked.status_code == 200 and locked.json()["locked"] is True
    refused = await client.put(f"{path}/data/{element}", headers=kari, json={"property1": "x"})
    assert refused.status_code == 409 and refused.json()["code"] == "data_element_locked"
    unlocked = await client.delete(f"{base}/data/{element}/lock", headers=ttd)
    assert unlocked.json()["locked"] is False
    assert (await client.put(f"{path}/data/{element}", headers=kari, json={"property1": "x"})).status_code == 201

    status = await client.put(f"{base}/readstatus", params={"status": "Unread"}, headers=ttd)
    assert status.status_code == 200 and status.json()["status"]["readStatus"] == "Unread"
    bad = await client.put(f"{base}/readstatus", params={"status": "Sort of"}, headers=ttd)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_read_status"


async def test_others_and_infected_files_get_nothing(client, database, settings, deployed, kari, token) -> None:
    instance, element = await new_instance(database, settings, deployed)
    base = f"{STORAGE}/{deployed.kari_party}/{instance}"
    skd = bearer(token(scopes=[READ, WRITE], org=SKD))
    assert (await client.get(f"{base}/data/{element}", headers=skd)).status_code == 404
    assert (await client.put(f"{base}/data/{element}/lock", headers=skd)).status_code == 404
    read_only = bearer(token(scopes=[READ], org=TTD))
    assert (await client.put(f"{base}/data/{element}/lock", headers=read_only)).status_code == 403
    assert (await client.get(f"{base}/dataelements", headers=kari)).status_code in (401, 403)
    async with database.transaction() as session:
        await session.execute(update(DataElement).where(DataElement.id == element).values(
            file_scan_result="Infected"))
    infected = await client.get(f"{base}/data/{element}", headers=bearer(token(scopes=[READ], org=TTD)))
    assert infected.status_code == 403 and infected.json()["code"] == "file_infected"


async def test_is_read_is_the_instance_owners(client, database, settings, deployed, kari, token) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    ttd = bearer(token(scopes=[READ, WRITE], org=TTD))
    added = await client.post(f"{path}/data/type/attachment", content=b"from the agency", headers={
        **ttd, "Content-Type": "text/plain", "Content-Disposition": 'attachment; filename="svar.txt"'})
    assert added.status_code == 200, added.text
    file_id = added.json()["newDataElementId"]
    unread = added.json()["instance"]
    assert {item["id"]: item["isRead"] for item in unread["data"]}[file_id] is False
    assert unread["status"]["readStatus"] == "UpdatedSinceLastReview"
    base = f"{STORAGE}/{deployed.kari_party}/{instance}"
    assert (await client.get(f"{base}/data/{file_id}", headers=ttd)).status_code == 200  # the agency's read...
    assert (await client.get(f"{path}/data/{file_id}", headers=ttd)).status_code == 200
    still = (await client.get(f"{base}/dataelements", headers=ttd)).json()["dataElements"]
    assert {item["id"]: item["isRead"] for item in still}[file_id] is False  # ...is not the owner's
    assert (await client.get(f"{path}/data/{file_id}", headers=kari)).content == b"from the agency"
    seen = (await client.get(f"{base}/dataelements", headers=ttd)).json()["dataElements"]
    assert all(item["isRead"] for item in seen)
