"""The virus scan of uploaded files with a real clamd (a signature database of the EICAR test file only): a file
of a data type with `enableFileScan` is Pending until the scan job has run, then Clean or Infected; an infected
file is never delivered and blocks the task; a failing scanner leaves it Pending and the job retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from felles.core.config import Settings, get_settings
from felles.core.jobs import Job, JobStatus, Worker
from tests.apps.data.conftest import new_instance
from tests.core.test_virusscan import EICAR, clamd, settings_scanning_with_clamd  # noqa: F401 - the real clamd fixture

CLEAN = b"an ordinary text file\n"


@pytest.fixture
def settings(data_dir, database_url, clamd, monkeypatch) -> Iterator[Settings]:  # noqa: F811 - clamd is a fixture
    yield from settings_scanning_with_clamd(clamd, data_dir, database_url, monkeypatch)


def _upload(name: str) -> dict[str, str]:
    return {"Content-Type": "text/plain", "Content-Disposition": f'attachment; filename="{name}"'}


async def test_files_are_pending_until_scanned_and_infected_ones_are_never_delivered(
        client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    await client.put(f"{path}/data/{element}", headers=kari, json={"property1": "a", "property2": "b"})
    clean = (await client.post(f"{path}/data/type/scanned", headers={**kari, **_upload("note.txt")},
                               content=CLEAN)).json()
    infected = (await client.post(f"{path}/data/type/scanned", headers={**kari, **_upload("eicar.txt")},
                                  content=EICAR)).json()
    states = {item["id"]: item.get("fileScanResult") for item in infected["instance"]["data"]}
    assert states[clean["newDataElementId"]] == states[infected["newDataElementId"]] == "Pending"
    pending = (await client.get(f"{path}/validate", headers=kari)).json()
    assert sorted(issue["code"] for issue in pending) == ["DataElementFileScanPending"] * 2

    assert await Worker(database).run_until_idle() >= 2
    clean_id, infected_id = clean["newDataElementId"], infected["newDataElementId"]
    deleted = await client.delete(f"{path}/data/{clean_id}", headers=kari)  # read the states from its instance
    states = {item["id"]: item.get("fileScanResult") for item in deleted.json()["instance"]["data"]}
    assert states[infected_id] == "Infected"
    refused = await client.get(f"{path}/data/{infected_id}", headers=kari)
    assert refused.status_code == 403 and refused.json()["code"] == "file_infected"
    blocking = (await client.get(f"{path}/validate", headers=kari)).json()
    assert [(issue["code"], issue["dataElementId"]) for issue in blocking] == [
        ("DataElementFileInfected", infected_id)]
    assert (await client.delete(f"{path}/data/{infected_id}", headers=kari)).status_code == 200
    assert (await client.get(f"{path}/validate", headers=kari)).json() == []


async def test_a_clean_file_is_marked_clean(client, database, settings, deployed, kari) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    uploaded = (await client.post(f"{path}/data/type/scanned", headers={**kari, **_upload("note.txt")},
                                  content=CLEAN)).json()
    await Worker(database).run_until_idle()
    again = (await client.post(f"{path}/data/type/anything", headers={**kari, **_upload("other.txt")},
                               content=CLEAN)).json()
    states = {item["id"]: item.get("fileScanResult") for item in again["instance"]["data"]}
    assert states[uploaded["newDataElementId"]] == "Clean"
    assert states[again["newDataElementId"]] is None  # a data type without enableFileScan: NotApplicable


async def test_an_unreachable_scanner_leaves_the_file_pending_and_the_job_to_retry(
        client, database, settings, deployed, kari, monkeypatch, tmp_path) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    await client.post(f"{path}/data/type/scanned", headers={**kari, **_upload("note.txt")}, content=CLEAN)
    monkeypatch.setenv("FELLES_CLAMD_ADDRESS", str(tmp_path / "no-clamd.sock"))
    get_settings.cache_clear()
    await Worker(database).run_until_idle()
    async with database.transaction() as session:
        job = (await session.scalars(select(Job).where(Job.kind == "apps.scan_data_element"))).one()
    assert job.status == JobStatus.PENDING and job.attempts == 1 and "no-clamd.sock" in (job.last_error or "")
    issues = (await client.get(f"{path}/validate", headers=kari)).json()
    assert "DataElementFileScanPending" in {issue["code"] for issue in issues}
