"""A file transfer end to end through the API, as a sender's and a recipient's case systems make it: initialize,
upload, overview, search, download (whole and by range), confirm; statuses with their history, and the events."""

from __future__ import annotations

import uuid

from felles.core.jobs import Worker
from tests.broker.conftest import (
    API,
    RECIPIENT,
    RESOURCE,
    SENDER,
    events_of,
    initialize,
    md5,
    overview,
    upload,
)

DATA = b"Arkivuttrekk 2026\n" * 1000


async def test_a_transfer_goes_from_initialized_to_all_confirmed_downloaded(
        client, database, resource, sender_headers, recipient_headers):
    transfer_id = await initialize(client, sender_headers, checksum=md5(DATA))
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Initialized"
    # The recipient sees nothing before the file is published.
    hidden = await client.get(f"{API}/filetransfer/{transfer_id}", headers=recipient_headers)
    assert hidden.status_code == 404

    uploaded = await upload(client, sender_headers, transfer_id, DATA)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {"fileTransferId": transfer_id}

    seen = await overview(client, recipient_headers, transfer_id)
    assert seen["fileTransferStatus"] == "Published"
    assert seen["fileTransferSize"] == len(DATA) and seen["checksum"] == md5(DATA)
    assert seen["sender"] == f"0192:{SENDER}" and seen["propertyList"] == {"caseNumber": "123"}
    assert [(r["recipient"], r["currentRecipientFileTransferStatusCode"]) for r in seen["recipients"]] == [
        (f"0192:{RECIPIENT}", "Initialized")]

    found = await client.get(f"{API}/filetransfer", params={"resourceId": RESOURCE}, headers=recipient_headers)
    assert found.status_code == 200 and found.json() == [transfer_id]

    downloaded = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=recipient_headers)
    assert downloaded.status_code == 200 and downloaded.content == DATA
    assert downloaded.headers["accept-ranges"] == "bytes"
    assert "rapport.txt" in downloaded.headers["content-disposition"]

    confirmed = await client.post(f"{API}/filetransfer/{transfer_id}/confirmdownload", headers=recipient_headers)
    assert confirmed.status_code == 200 and confirmed.content == b""

    details = (await client.get(f"{API}/filetransfer/{transfer_id}/details", headers=sender_headers)).json()
    assert details["fileTransferStatus"] == "AllConfirmedDownloaded"
    assert [event["fileTransferStatus"] for event in details["fileTransferStatusHistory"]] == [
        "Initialized", "UploadStarted", "UploadProcessing", "Published", "AllConfirmedDownloaded"]
    assert [event["recipientFileTransferStatusCode"] for event in details["recipientFileTransferStatusHistory"]] == [
        "DownloadStarted", "DownloadConfirmed"]
    assert await events_of(database, transfer_id) == [
        ("filetransferinitialized", SENDER), ("uploadprocessing", SENDER), ("published", SENDER),
        ("published", RECIPIENT), ("downloadconfirmed", SENDER), ("downloadconfirmed", RECIPIENT),
        ("allconfirmeddownloaded", SENDER), ("allconfirmeddownloaded", RECIPIENT)]


async def test_a_range_download_answers_206_with_those_bytes(client, resource, sender_headers, recipient_headers):
    transfer_id = await initialize(client, sender_headers)
    await upload(client, sender_headers, transfer_id, DATA)
    url = f"{API}/filetransfer/{transfer_id}/download"
    first = await client.get(url, headers={**recipient_headers, "Range": "bytes=0-9"})
    assert first.status_code == 206 and first.content == DATA[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(DATA)}" and first.headers["content-length"] == "10"
    tail = await client.get(url, headers={**recipient_headers, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == DATA[-5:]
    beyond = await client.get(url, headers={**recipient_headers, "Range": f"bytes={len(DATA)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(DATA)}"


async def test_a_wrong_checksum_ends_failed_with_the_reason(client, database, resource, sender_headers):
    transfer_id = await initialize(client, sender_headers, checksum="0" * 32)
    refused = await upload(client, sender_headers, transfer_id, DATA)
    assert refused.status_code == 400 and refused.json()["code"] == "checksum_mismatch"
    failed = await overview(client, sender_headers, transfer_id)
    assert failed["fileTransferStatus"] == "Failed"
    assert failed["fileTransferStatusText"] == (
        f"Checksum mismatch: the sender gave {'0' * 32}, the file's MD5 is {md5(DATA)}")
    assert ("uploadfailed", SENDER) in await events_of(database, transfer_id)


async def test_search_filters_by_status_and_role(client, resource, sender_headers, recipient_headers):
    published = await initialize(client, sender_headers)
    await upload(client, sender_headers, published, DATA)
    waiting = await initialize(client, sender_headers)
    mine = await client.get(f"{API}/filetransfer", params={"resourceId": RESOURCE, "role": "Sender"},
                            headers=sender_headers)
    assert mine.json() == [published, waiting]
    only_initialized = await client.get(f"{API}/filetransfer", params={"status": "Initialized"},
                                        headers=sender_headers)
    assert only_initialized.json() == [waiting]
    newest_first = await client.get(f"{API}/filetransfer", params={"orderAscending": "false"}, headers=sender_headers)
    assert newest_first.json() == [waiting, published]
    received = await client.get(f"{API}/filetransfer", params={"recipientStatus": "Initialized"},
                                headers=recipient_headers)
    assert received.json() == [published]


async def test_purge_after_all_confirmed_and_the_grace_period(client, database, resource, sender_headers,
                                                             recipient_headers, owner_headers, job_settings):
    from datetime import timedelta

    from felles.core.clock import clock

    configured = await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers,
                                  json={"PurgeFileTransferGracePeriod": "PT1H"})
    assert configured.status_code == 200, configured.text
    transfer_id = await initialize(client, sender_headers)
    await upload(client, sender_headers, transfer_id, DATA)
    await client.post(f"{API}/filetransfer/{transfer_id}/confirmdownload", headers=recipient_headers)
    worker = Worker(database)
    await worker.run_until_idle()
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "AllConfirmedDownloaded"
    clock.advance(timedelta(hours=1, minutes=1))
    await worker.run_until_idle()
    purged = await overview(client, sender_headers, transfer_id)
    assert purged["fileTransferStatus"] == "Purged"
    gone = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=recipient_headers)
    assert gone.status_code == 409
    assert ("filepurged", RECIPIENT) in await events_of(database, transfer_id)


async def test_purge_after_the_time_to_live_tells_of_unconfirmed_downloads(
        client, database, resource, sender_headers, owner_headers, job_settings):
    from datetime import timedelta

    from felles.core.clock import clock

    await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers, json={"fileTransferTimeToLive": "P1D"})
    transfer_id = await initialize(client, sender_headers)
    await upload(client, sender_headers, transfer_id, DATA)
    clock.advance(timedelta(days=1, minutes=1))
    await Worker(database).run_until_idle()
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Purged"
    assert ("fileneverconfirmeddownloaded", RECIPIENT) in await events_of(database, transfer_id)


async def test_an_unknown_transfer_is_not_found(client, resource, sender_headers):
    missing = await client.get(f"{API}/filetransfer/{uuid.uuid4()}", headers=sender_headers)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
