"""A person acting for an organisation through the API (an Altinn token with the broker's scopes and
`onBehalfOf`) has the rights the resource's policy gives them there: Lars, daglig leder of the sender, sends a
file as his organisation's system would (streamed and resumable); Ingrid, daglig leder of the recipient, finds,
downloads and confirms it; Kari, only a board member, is refused until Ingrid delegates an access package."""

from __future__ import annotations

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service_delegations
from felles.core.audit import Actor
from felles.registers.population import DEMO_PERSONS
from tests.broker.conftest import API, INGRID, READ, RECIPIENT, SENDER, WRITE, initialize_body, md5
from tests.conftest import bearer

KARI, LARS = DEMO_PERSONS[0], DEMO_PERSONS[7]
FOR_SENDER, FOR_RECIPIENT = {"onBehalfOf": f"0192:{SENDER}"}, {"onBehalfOf": f"0192:{RECIPIENT}"}


async def test_persons_send_receive_and_confirm_for_their_organisations(client, database, resource, token):
    lars = bearer(token(scopes=[WRITE, READ], person=LARS.identifier))
    ingrid = bearer(token(scopes=[READ], person=INGRID.identifier))
    data = b"arsregnskap\n" * 1000

    # Without onBehalfOf a person's token acts for nobody.
    missing = await client.post(f"{API}/filetransfer", json=initialize_body(), headers=lars)
    assert missing.status_code == 400 and missing.json()["code"] == "on_behalf_of_required"

    created = await client.post(f"{API}/filetransfer", json=initialize_body(checksum=md5(data)), headers=lars,
                                params=FOR_SENDER)
    assert created.status_code == 200, created.text
    transfer_id = created.json()["fileTransferId"]
    uploaded = await client.post(f"{API}/filetransfer/{transfer_id}/upload", content=data, params=FOR_SENDER,
                                 headers={**lars, "Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 200, uploaded.text

    found = await client.get(f"{API}/filetransfer", headers=ingrid, params=FOR_RECIPIENT)
    assert found.status_code == 200 and found.json() == [transfer_id]
    downloaded = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=ingrid, params=FOR_RECIPIENT)
    assert downloaded.status_code == 200 and downloaded.content == data
    confirmed = await client.post(f"{API}/filetransfer/{transfer_id}/confirmdownload", headers=ingrid,
                                  params=FOR_RECIPIENT)
    assert confirmed.status_code == 200, confirmed.text
    details = (await client.get(f"{API}/filetransfer/{transfer_id}/details", headers=lars, params=FOR_SENDER)).json()
    assert details["fileTransferStatus"] == "AllConfirmedDownloaded"
    assert details["recipients"][0]["currentRecipientFileTransferStatusCode"] == "DownloadConfirmed"

    # Ingrid does not act for the sender; Lars's sender rights do not make him a recipient.
    assert (await client.get(f"{API}/filetransfer/{transfer_id}", headers=ingrid,
                             params=FOR_SENDER)).status_code == 403
    assert (await client.get(f"{API}/filetransfer", headers=ingrid, params=FOR_SENDER)).json() == []
    refused = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=lars, params=FOR_SENDER)
    assert refused.status_code == 403


async def test_a_person_uploads_resumably_for_the_organisation(client, resource, token):
    lars = bearer(token(scopes=[WRITE], person=LARS.identifier))
    data = b"x" * 1000
    created = await client.post(f"{API}/filetransfer", json=initialize_body(checksum=md5(data)), headers=lars,
                                params=FOR_SENDER)
    transfer_id = created.json()["fileTransferId"]
    tus = {**lars, "Tus-Resumable": "1.0.0"}
    upload = await client.post(f"{API}/filetransfer/upload/tus/{transfer_id}", params=FOR_SENDER,
                               headers={**tus, "Upload-Length": str(len(data))})
    assert upload.status_code == 201, upload.text
    location = upload.headers["location"].removeprefix("http://felles.test")
    assert location.endswith(f"?onBehalfOf={SENDER}")  # the further requests act for the same organisation
    patched = await client.patch(location, content=data, headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204 and patched.headers["upload-offset"] == str(len(data))


async def test_a_delegated_package_gives_a_person_the_organisations_rights(client, database, resource, token,
                                                                           sender_headers):
    created = await client.post(f"{API}/filetransfer", json=initialize_body(), headers=sender_headers)
    transfer_id = created.json()["fileTransferId"]
    await client.post(f"{API}/filetransfer/{transfer_id}/upload", content=b"data",
                      headers={**sender_headers, "Content-Type": "application/octet-stream"})
    kari = bearer(token(scopes=[READ], person=KARI.identifier))  # only a board member of the recipient
    refused = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=kari, params=FOR_RECIPIENT)
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
    await service_delegations.delegate_package(
        database, Actor(f"person:{INGRID.identifier}"), INGRID.identifier,
        authorization_schemas.PackageDelegationCreate(party=RECIPIENT, to=KARI.identifier,
                                                      package="ordinaer-post-til-virksomheten"))
    allowed = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=kari, params=FOR_RECIPIENT)
    assert allowed.status_code == 200 and allowed.content == b"data"


async def test_an_organisations_token_acts_for_itself_only(client, resource, sender_headers):
    other = await client.get(f"{API}/filetransfer", headers=sender_headers, params=FOR_RECIPIENT)
    assert other.status_code == 403 and other.json()["code"] == "not_your_party"
    same = await client.get(f"{API}/filetransfer", headers=sender_headers, params=FOR_SENDER)
    assert same.status_code == 200
    bad = await client.get(f"{API}/filetransfer", headers=sender_headers, params={"onBehalfOf": "nobody"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_on_behalf_of"
