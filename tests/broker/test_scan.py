"""The virus scan during processing, with a real clamd (a signature database of the EICAR test file only): a
transfer that uses the scan stays UploadProcessing until the job has scanned it, then is Published, or Failed
with the signature found; a resource approved for it lets the sender turn the scan off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

from felles.broker.models import BrokerResource
from felles.core.config import Settings
from felles.core.jobs import Worker
from tests.broker.conftest import API, RESOURCE, SENDER, events_of, initialize, overview, upload
from tests.core.test_virusscan import EICAR, SIGNATURE, clamd, settings_scanning_with_clamd  # noqa: F401 - the real clamd fixture


@pytest.fixture
def settings(data_dir, database_url, clamd, monkeypatch) -> Iterator[Settings]:  # noqa: F811 - clamd is a fixture
    yield from settings_scanning_with_clamd(clamd, data_dir, database_url, monkeypatch)


async def test_a_clean_file_is_published_after_the_scan_and_an_infected_one_fails(
        client, database, resource, sender_headers, recipient_headers):
    clean = await initialize(client, sender_headers)
    infected = await initialize(client, sender_headers)
    assert (await upload(client, sender_headers, clean, b"an ordinary report\n")).status_code == 200
    assert (await upload(client, sender_headers, infected, EICAR)).status_code == 200
    assert (await overview(client, sender_headers, clean))["fileTransferStatus"] == "UploadProcessing"
    assert (await client.get(f"{API}/filetransfer/{clean}/download", headers=recipient_headers)).status_code == 404

    await Worker(database).run_until_idle()
    assert (await overview(client, recipient_headers, clean))["fileTransferStatus"] == "Published"
    failed = await overview(client, sender_headers, infected)
    assert failed["fileTransferStatus"] == "Failed"
    assert failed["fileTransferStatusText"].startswith(f"Upload failed: Malware detected: {SIGNATURE}")
    assert ("uploadfailed", SENDER) in await events_of(database, infected)
    assert (await client.get(f"{API}/filetransfer/{infected}", headers=recipient_headers)).status_code == 404


async def test_the_scan_may_be_turned_off_only_where_the_resource_is_approved_for_it(
        client, database, resource, sender_headers, owner_headers):
    refused = await client.post(f"{API}/filetransfer", headers=sender_headers, json={
        "fileName": "a.txt", "resourceId": RESOURCE, "sender": f"0192:{SENDER}",
        "recipients": ["0192:310000009"], "disableVirusScan": True})
    assert refused.status_code == 400
    # The platform's operators approve a resource for it (no API: Altinn does it by hand).
    await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers, json={"fileTransferTimeToLive": "P1D"})
    async with database.transaction() as session:
        await session.execute(update(BrokerResource).values(approved_for_disabled_virus_scan=True))
    transfer_id = await initialize(client, sender_headers, disableVirusScan=True)
    await upload(client, sender_headers, transfer_id, EICAR)
    unscanned = await overview(client, sender_headers, transfer_id)
    assert unscanned["fileTransferStatus"] == "Published" and unscanned["useVirusScan"] is False
