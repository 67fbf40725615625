"""The service owner's setup (service owner, resource settings), who may do what through the resource's policy
and the scopes, Altinn's rate limits, and the form-data upload."""

from __future__ import annotations

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization import service_delegations
from felles.broker import service
from felles.core.audit import Actor
from tests.broker.conftest import (
    API,
    INGRID,
    OUTSIDER,
    READ,
    RECIPIENT,
    RESOURCE,
    SENDER,
    SERVICE_OWNER_SCOPE,
    WRITE,
    initialize,
    initialize_body,
    md5,
    overview,
    upload,
)
from tests.conftest import bearer


async def test_the_service_owner_configures_its_resource(client, resource, owner_headers, sender_headers):
    assert (await client.get(f"{API}/serviceowner", headers=owner_headers)).status_code == 404
    created = await client.post(f"{API}/serviceowner", headers=owner_headers, json={"Name": "ttd"})
    assert created.status_code == 200 and created.content == b""
    again = await client.post(f"{API}/serviceowner", headers=owner_headers, json={"name": "ttd"})
    assert again.status_code == 409
    owner = (await client.get(f"{API}/serviceowner", headers=owner_headers)).json()
    assert owner["name"] == "ttd" and owner["storageProviders"][0]["deploymentStatus"] == "Ready"

    defaults = (await client.get(f"{API}/resource/{RESOURCE}", headers=owner_headers)).json()
    assert defaults["fileTransferTimeToLive"] == "P30D" and defaults["purgeFileTransferGracePeriod"] == "PT2H"
    assert defaults["maxFileTransferSize"] == service.MAX_FILE_TRANSFER_SIZE
    configured = await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers, json={
        "MaxFileTransferSize": 2147483648, "FileTransferTimeToLive": "P7D",
        "PurgeFileTransferAfterAllRecipientsConfirmed": False, "PurgeFileTransferGracePeriod": "PT3H"})
    assert configured.status_code == 200
    stored = (await client.get(f"{API}/resource/{RESOURCE}", headers=owner_headers)).json()
    assert stored["maxFileTransferSize"] == 2147483648 and stored["fileTransferTimeToLive"] == "P7D"
    assert stored["purgeFileTransferAfterAllRecipientsConfirmed"] is False

    for body in ({"maxFileTransferSize": 51 * 1000**3}, {"purgeFileTransferGracePeriod": "PT25H"},
                 {"fileTransferTimeToLive": "thirty days"}):
        refused = await client.put(f"{API}/resource/{RESOURCE}", headers=owner_headers, json=body)
        assert refused.status_code in (400, 422), body
    # Only the resource's own service owner, and only with the service-owner scope.
    assert (await client.put(f"{API}/resource/{RESOURCE}", headers=sender_headers, json={})).status_code == 403


async def test_another_service_owner_may_not_configure_the_resource(client, resource, token):
    other = bearer(token(scopes=[SERVICE_OWNER_SCOPE], org="974761076"))  # Skatteetaten
    refused = await client.put(f"{API}/resource/{RESOURCE}", headers=other, json={"fileTransferTimeToLive": "P1D"})
    assert refused.status_code == 403 and refused.json()["code"] == "not_resource_owner"


async def test_the_sender_must_be_the_caller_and_permitted_by_the_policy(client, database, resource, token,
                                                                        sender_headers, recipient_headers):
    as_other = await client.post(f"{API}/filetransfer", headers=sender_headers,
                                 json=initialize_body(sender=f"0192:{RECIPIENT}"))
    assert as_other.status_code == 403 and as_other.json()["code"] == "not_sender"
    outsider = bearer(token(scopes=[WRITE, READ], org=OUTSIDER))
    refused = await client.post(f"{API}/filetransfer", headers=outsider,
                                json=initialize_body(sender=f"0192:{OUTSIDER}", recipients=[f"0192:{SENDER}"]))
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
    read_only = bearer(token(scopes=[READ], org=SENDER))
    assert (await client.post(f"{API}/filetransfer", headers=read_only, json=initialize_body())).status_code == 403


async def test_only_a_recipient_downloads_and_others_see_nothing(client, database, resource, token, sender_headers,
                                                               recipient_headers):
    transfer_id = await initialize(client, sender_headers)
    await upload(client, sender_headers, transfer_id, b"hemmelig")
    sender_download = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=sender_headers)
    assert sender_download.status_code == 403
    outsider = bearer(token(scopes=[READ], org=OUTSIDER))
    assert (await client.get(f"{API}/filetransfer/{transfer_id}", headers=outsider)).status_code == 404
    assert (await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=outsider)).status_code == 404
    assert (await client.get(f"{API}/filetransfer", headers=outsider)).json() == []
    write_only = bearer(token(scopes=[WRITE], org=RECIPIENT))
    assert (await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=write_only)).status_code == 403


async def test_a_recipient_the_policy_no_longer_permits_is_refused(client, database, resource, sender_headers,
                                                                  recipient_headers):
    from felles.authorization.decision import ORGANIZATION_ID
    from felles.authorization.demo import policy_xml

    transfer_id = await initialize(client, sender_headers)
    await upload(client, sender_headers, transfer_id, b"data")
    await authorization_service.put_policy(database, Actor("organization:405003309"), "405003309", RESOURCE,
                                           policy_xml(RESOURCE, [([(ORGANIZATION_ID, SENDER)], ["read", "write"])]))
    refused = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=recipient_headers)
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"


async def test_a_person_acts_for_the_organisation_through_role_and_delegated_package(client, database, resource,
                                                                                     sender_headers):
    transfer_id = await initialize(client, sender_headers)
    await upload(client, sender_headers, transfer_id, b"data")
    ingrid = service.Caller.person(INGRID.identifier, RECIPIENT)  # daglig leder of the recipient
    seen = await service.overview(database, ingrid, uuid_of(transfer_id))
    assert seen.fileTransferStatus == "Published"
    kari = service.Caller.person("12838404268", RECIPIENT)  # only a board member there
    assert not await service.is_permitted(database, kari, RESOURCE, "read")
    await service_delegations.delegate_package(
        database, Actor(f"person:{INGRID.identifier}"), INGRID.identifier,
        authorization_schemas.PackageDelegationCreate(party=RECIPIENT, to="12838404268",
                                                      package="ordinaer-post-til-virksomheten"))
    assert await service.is_permitted(database, kari, RESOURCE, "read")
    await service.confirm_download(database, _settings(), kari, uuid_of(transfer_id))
    assert (await service.overview(database, ingrid, uuid_of(transfer_id))).fileTransferStatus == \
        "AllConfirmedDownloaded"


def uuid_of(value: str):
    import uuid

    return uuid.UUID(value)


def _settings():
    from felles.core.config import get_settings

    return get_settings()


async def test_the_rate_limit_answers_429_with_retry_after(client, resource, recipient_headers):
    for _ in range(10):
        assert (await client.get(f"{API}/filetransfer", headers=recipient_headers)).status_code == 200
    limited = await client.get(f"{API}/filetransfer", headers=recipient_headers)
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_initialize_and_upload_in_one_form_data_request(client, resource, sender_headers, recipient_headers):
    data = b"skjema og fil i ett\n" * 100
    sent = await client.post(f"{API}/filetransfer/upload", headers=sender_headers, data={
        "Metadata.FileName": "samlet.txt", "Metadata.ResourceId": RESOURCE,
        "Metadata.SendersFileTransferReference": "CaseFiles-123", "Metadata.Sender": f"0192:{SENDER}",
        "Metadata.Recipients": f"0192:{RECIPIENT}", "Metadata.DisableVirusScan": "false",
        "Metadata.Checksum": md5(data)}, files={"FileTransfer": ("samlet.txt", data)})
    assert sent.status_code == 200, sent.text
    transfer_id = sent.json()["fileTransferId"]
    seen = await overview(client, recipient_headers, transfer_id)
    assert seen["fileTransferStatus"] == "Published" and seen["fileName"] == "samlet.txt"
    downloaded = await client.get(f"{API}/filetransfer/{transfer_id}/download", headers=recipient_headers)
    assert downloaded.content == data
