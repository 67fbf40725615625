"""Bad input gets a clear problem and changes nothing: an unknown recipient, a wrong content type, an upload after
cancel or a second time, a file over the resource's limit (refused before a byte is stored), malformed fields."""

from __future__ import annotations

from sqlalchemy import func, select

from felles.broker.models import FileTransfer, FileTransferPart
from tests.broker.conftest import API, OUTSIDER, RESOURCE, initialize, initialize_body, overview, upload, urn


async def count(database, model) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_unknown_recipient_is_refused_and_nothing_is_stored(client, database, resource, sender_headers):
    refused = await client.post(f"{API}/filetransfer", headers=sender_headers,
                                json=initialize_body(recipients=[urn(OUTSIDER)]))
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "unknown_recipient" and OUTSIDER in refused.json()["detail"]
    assert await count(database, FileTransfer) == 0


async def test_malformed_metadata_is_refused(client, database, resource, sender_headers):
    for body in (initialize_body(sender="123"), initialize_body(recipients=[]), initialize_body(fileName=""),
                 initialize_body(checksum="not-md5"), initialize_body(resourceId="no-such-resource"),
                 initialize_body(propertyList={str(n): "x" for n in range(11)}), initialize_body(extra=1)):
        response = await client.post(f"{API}/filetransfer", headers=sender_headers, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "traceback" not in response.text.lower()
    assert await count(database, FileTransfer) == 0


async def test_a_wrong_content_type_is_refused(client, database, resource, sender_headers):
    transfer_id = await initialize(client, sender_headers)
    refused = await client.post(f"{API}/filetransfer/{transfer_id}/upload", content=b"data",
                                headers={**sender_headers, "Content-Type": "text/plain"})
    assert refused.status_code == 415 and refused.json()["code"] == "unsupported_media_type"
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Initialized"


async def test_an_upload_after_cancel_is_refused(client, database, resource, sender_headers):
    transfer_id = await initialize(client, sender_headers)
    cancelled = await client.delete(f"{API}/filetransfer/{transfer_id}", headers=sender_headers)
    assert cancelled.status_code == 200
    refused = await upload(client, sender_headers, transfer_id, b"too late")
    assert refused.status_code == 409 and refused.json()["code"] == "upload_not_allowed"
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Cancelled"
    assert await count(database, FileTransferPart) == 0


async def test_a_second_upload_is_refused(client, database, resource, sender_headers):
    transfer_id = await initialize(client, sender_headers)
    assert (await upload(client, sender_headers, transfer_id, b"first")).status_code == 200
    again = await upload(client, sender_headers, transfer_id, b"second")
    assert again.status_code == 409


async def test_a_file_over_the_limit_is_refused_before_it_is_stored(client, database, data_dir, resource,
                                                                     sender_headers, owner_headers):
    await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers, json={"maxFileTransferSize": 1000})
    transfer_id = await initialize(client, sender_headers)
    before = {path for path in (data_dir / "blobs").rglob("*") if path.is_file()}
    refused = await upload(client, sender_headers, transfer_id, b"x" * 1001)
    assert refused.status_code == 413 and refused.json()["code"] == "file_transfer_too_large"
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Initialized"
    tus = await client.post(f"{API}/filetransfer/upload/tus/{transfer_id}",
                            headers={**sender_headers, "Tus-Resumable": "1.0.0", "Upload-Length": "1001"})
    assert tus.status_code == 413
    assert await count(database, FileTransferPart) == 0
    assert {path for path in (data_dir / "blobs").rglob("*") if path.is_file()} == before


async def test_a_streamed_body_without_length_over_the_limit_fails_and_keeps_nothing(
        client, database, resource, sender_headers, owner_headers):
    await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers, json={"maxFileTransferSize": 1000})
    transfer_id = await initialize(client, sender_headers)

    async def chunked():
        for _ in range(5):
            yield b"y" * 300

    refused = await client.post(f"{API}/filetransfer/{transfer_id}/upload", content=chunked(),
                                headers={**sender_headers, "Content-Type": "application/octet-stream"})
    assert refused.status_code == 413
    assert (await overview(client, sender_headers, transfer_id))["fileTransferStatus"] == "Failed"
    assert await count(database, FileTransferPart) == 0


async def test_a_bad_search_filter_is_refused(client, resource, sender_headers):
    for params in ({"status": "Sent"}, {"from": "yesterday"}, {"from": "2026-01-01T00:00:00"}):
        response = await client.get(f"{API}/filetransfer", params=params, headers=sender_headers)
        assert response.status_code in (400, 422), params
