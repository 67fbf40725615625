"""Attachments: the multipart upload with new attachments, the attachment API (initialize, streamed upload,
overview, details, download, purge) and existing attachments shared by correspondences."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile

from sqlalchemy import func, select

from felles.correspondence.models import Correspondence, CorrespondenceAttachment
from tests.correspondence.conftest import (
    API,
    COMPANY,
    KARI,
    RESOURCE,
    organization,
    person,
    request_body,
    run_jobs,
)

FILE = b"Innholdet i vedlegget.\n" * 1000


def form(*recipients: str, files: int = 1, **extra: str) -> dict[str, str]:
    fields = {
        "correspondence.resourceId": RESOURCE, "correspondence.sendersReference": "sak-1",
        "correspondence.content.language": "nb", "correspondence.content.messageTitle": "Vedtak",
        "correspondence.content.messageBody": "Se **vedlegget**.",
    }
    for index, recipient in enumerate(recipients or [person(KARI.identifier)]):
        fields[f"recipients[{index}]"] = recipient
    for index in range(files):
        fields[f"correspondence.content.attachments[{index}].fileName"] = f"vedlegg-{index}.txt"
        fields[f"correspondence.content.attachments[{index}].sendersReference"] = f"vedlegg-{index}"
    fields.update(extra)
    return fields


async def test_a_correspondence_uploaded_with_its_attachment_is_published_and_the_recipient_downloads_it(
        client, database, resource, sender, reader, job_settings):
    response = await client.post(f"{API}/correspondence/upload", headers=sender, data=form(organization(COMPANY),
                                 person(KARI.identifier)), files=[("Attachments", ("vedlegg-0.txt", FILE))])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {item["status"] for item in answer["correspondences"]} == {"Initialized"}
    (attachment_id,) = answer["attachmentIds"]
    await run_jobs(database)
    kari_id = answer["correspondences"][1]["correspondenceId"]
    kari = reader(KARI.identifier)
    overview = (await client.get(f"{API}/correspondence/{kari_id}", headers=kari)).json()
    assert overview["status"] == "Published"
    assert [item["fileName"] for item in overview["content"]["attachments"]] == ["vedlegg-0.txt"]
    assert overview["content"]["attachments"][0]["checksum"] == hashlib.md5(FILE).hexdigest()
    download = await client.get(f"{API}/correspondence/{kari_id}/attachment/{attachment_id}/download", headers=kari)
    assert download.status_code == 200
    assert download.content == FILE
    assert "vedlegg-0.txt" in download.headers["content-disposition"]
    history = (await client.get(f"{API}/correspondence/{kari_id}/details", headers=kari)).json()["statusHistory"]
    assert [event["status"] for event in history] == [
        "Initialized", "ReadyForPublish", "Published", "Fetched", "AttachmentsDownloaded"]
    # One attachment, shared by both recipients' correspondences.
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(CorrespondenceAttachment)) == 1


async def test_the_attachment_api_uploads_once_shares_and_purges_only_when_unused(
        client, database, resource, sender, job_settings):
    created = await client.post(f"{API}/attachment", headers=sender, json={
        "resourceId": RESOURCE, "fileName": "test-document.pdf", "sendersReference": "746011"})
    assert created.status_code == 200, created.text
    attachment_id = created.json()
    uploaded = await client.post(f"{API}/attachment/{attachment_id}/upload", content=FILE,
                                 headers={**sender, "Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["status"] == "UploadProcessing"
    again = await client.post(f"{API}/attachment/{attachment_id}/upload", content=b"other",
                              headers={**sender, "Content-Type": "application/octet-stream"})
    assert again.status_code == 409
    await run_jobs(database)
    details = (await client.get(f"{API}/attachment/{attachment_id}/details", headers=sender)).json()
    assert [event["status"] for event in details["statusHistory"]] == ["Initialized", "UploadProcessing", "Published"]
    assert (await client.get(f"{API}/attachment/{attachment_id}/download", headers=sender)).content == FILE
    body = request_body(person(KARI.identifier), organization(COMPANY))
    body["existingAttachments"] = [attachment_id]
    sent = await client.post(f"{API}/correspondence", json=body, headers=sender)
    assert sent.status_code == 200, sent.text
    assert {item["status"] for item in sent.json()["correspondences"]} == {"ReadyForPublish"}
    overview = (await client.get(f"{API}/attachment/{attachment_id}", headers=sender)).json()
    assert len(overview["correspondenceIds"]) == 2
    in_use = await client.delete(f"{API}/attachment/{attachment_id}", headers=sender)
    assert in_use.status_code == 409 and in_use.json()["code"] == "attachment_in_use"

    unused = (await client.post(f"{API}/attachment", headers=sender, json={
        "resourceId": RESOURCE, "fileName": "unused.txt", "sendersReference": "x"})).json()
    assert (await client.delete(f"{API}/attachment/{unused}", headers=sender)).status_code == 200
    assert (await client.get(f"{API}/attachment/{unused}", headers=sender)).json()["status"] == "Purged"


async def test_a_wrong_checksum_or_a_missing_file_is_refused_and_nothing_is_created(
        client, database, resource, sender, token):
    wrong = form(**{"correspondence.content.attachments[0].checksum": "0" * 32})
    refused = await client.post(f"{API}/correspondence/upload", headers=sender, data=wrong,
                                files=[("Attachments", ("vedlegg-0.txt", FILE))])
    assert refused.status_code == 400 and refused.json()["code"] == "checksum_mismatch"
    missing = await client.post(f"{API}/correspondence/upload", headers=sender, data=form(files=2),
                                files=[("Attachments", ("vedlegg-0.txt", FILE))])
    assert missing.status_code == 400 and missing.json()["code"] == "missing_attachment_data"
    other_sender = await client.get(f"{API}/attachment/{uuid.uuid4()}", headers=sender)
    assert other_sender.status_code == 404
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Correspondence)) == 0
        assert await session.scalar(select(func.count()).select_from(CorrespondenceAttachment)) == 0


async def test_download_all_gives_every_attachment_in_one_zip(client, database, resource, sender, reader,
                                                               job_settings):
    fields = form(files=2)
    fields["correspondence.content.attachments[1].fileName"] = "vedlegg-0.txt"  # the same name twice
    response = await client.post(f"{API}/correspondence/upload", headers=sender, data=fields, files=[
        ("Attachments", ("vedlegg-0.txt", FILE)), ("Attachments", ("vedlegg-0.txt", b"andre vedlegg"))])
    assert response.status_code == 200, response.text
    await run_jobs(database)
    identifier = response.json()["correspondences"][0]["correspondenceId"]
    kari = reader(KARI.identifier)
    download = await client.get(f"{API}/correspondence/{identifier}/attachments/downloadall", headers=kari)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    contents = sorted(archive.read(name) for name in archive.namelist())
    assert contents == sorted([FILE, b"andre vedlegg"])
    assert len(set(archive.namelist())) == 2
    history = (await client.get(f"{API}/correspondence/{identifier}/details", headers=kari)).json()["statusHistory"]
    assert history[-1]["status"] == "AttachmentsDownloaded"
