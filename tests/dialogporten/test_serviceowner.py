"""The service owners' API: create, read, replace, patch (If-Match), soft delete, restore, purge, freeze,
appended activities and transmissions, labels, search with limits and continuation tokens, and the problems
bad input gets."""

from __future__ import annotations

import uuid

import pytest

from felles.core.tokens import Issuer
from tests.conftest import bearer
from tests.dialogporten.conftest import (
    COMPANY_URN,
    DIALOGS,
    KARI_URN,
    OTHER_RESOURCE,
    RESOURCE_URN,
    SERVICE_PROVIDER,
    create_dialog,
    dialog_body,
)

pytestmark = pytest.mark.usefixtures("resources")


async def test_a_created_dialog_reads_back_as_dialogporten_shows_it(client, owner_headers):
    response = await client.post(DIALOGS, json=dialog_body(idempotentKey="key-1"), headers=owner_headers)
    assert response.status_code == 201, response.text
    dialog_id = response.json()
    assert response.headers["Location"] == f"{DIALOGS}/{dialog_id}"
    got = await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)
    assert got.status_code == 200
    dialog = got.json()
    assert got.headers["ETag"] == dialog["revision"] == response.headers["ETag"]
    assert dialog["org"] == "ttd" and dialog["serviceResourceType"] == "genericaccessresource"
    assert dialog["party"] == KARI_URN and dialog["status"] == "InProgress" and dialog["idempotentKey"] == "key-1"
    assert dialog["content"]["title"] == {"value": [{"value": "Skjema for rapportering av et eller annet",
                                                     "languageCode": "nb"}],
                                          "mediaType": "text/plain", "isAuthorized": None}
    assert dialog["content"]["additionalInfo"] is None
    assert dialog["attachments"][0]["urls"][0]["consumerType"] == "Gui"
    assert [action["priority"] for action in dialog["guiActions"]] == ["Primary", "Secondary"]
    assert dialog["guiActions"][1]["httpMethod"] == "POST" and dialog["guiActions"][0]["httpMethod"] == "GET"
    assert dialog["apiActions"][0]["endpoints"][0]["deprecated"] is False
    assert dialog["transmissions"][0]["sender"] == {"actorType": "ServiceOwner", "actorName": None, "actorId": None}
    assert dialog["fromServiceOwnerTransmissionsCount"] == 1 and dialog["fromPartyTransmissionsCount"] == 0
    assert [activity["type"] for activity in dialog["activities"]] == ["DialogCreated"]
    assert dialog["systemLabel"] == "Default" and dialog["endUserContext"]["systemLabels"] == ["Default"]
    assert dialog["hasUnopenedContent"] is True and dialog["seenSinceLastUpdate"] == []
    assert dialog["deletedAt"] is None and dialog["searchTags"] == [{"value": "rapportering"}]


async def test_the_idempotent_key_and_the_id_are_used_once(client, owner_headers):
    first = await client.post(DIALOGS, json=dialog_body(idempotentKey="same"), headers=owner_headers)
    again = await client.post(DIALOGS, json=dialog_body(idempotentKey="same"), headers=owner_headers)
    assert again.status_code == 409
    assert first.json() in again.json()["errors"]["IdempotentKey"][0]
    chosen = str(uuid.uuid4())
    assert (await client.post(DIALOGS, json=dialog_body(id=chosen), headers=owner_headers)).status_code == 201
    assert (await client.post(DIALOGS, json=dialog_body(id=chosen), headers=owner_headers)).status_code == 409


async def test_invalid_dialogs_get_every_field_named(client, owner_headers):
    body = dialog_body(serviceResource="ttd-dialogporten", party="urn:altinn:person:identifier-no:12345678901",
                       progress=101)
    body["attachments"][0]["displayName"][0]["languageCode"] = "no"
    del body["content"]
    response = await client.post(DIALOGS, json=body, headers=owner_headers)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert "dto.progress" in errors and "dto.attachments[0].displayName[0].languageCode" in errors
    body = dialog_body(serviceResource="ttd-dialogporten", party="urn:altinn:person:identifier-no:12345678901")
    errors = (await client.post(DIALOGS, json=body, headers=owner_headers)).json()["errors"]
    # Both fields' form is wrong, and one answer says so (as Dialogporten's); no resource is looked up.
    assert set(errors) == {"dto.party", "dto.serviceResource"}
    errors = (await client.post(DIALOGS, json=dialog_body(serviceResource="ttd-x"), headers=owner_headers)
              ).json()["errors"]
    assert errors["dto.serviceResource"] == ["'ServiceResource' must start with 'urn:altinn:resource:'."]
    unknown = await client.post(DIALOGS, json=dialog_body(serviceResource="urn:altinn:resource:nope"),
                                headers=owner_headers)
    assert unknown.status_code == 400


async def test_only_the_resource_owner_writes_and_reads_its_dialogs(client, owner_headers, other_owner_headers,
                                                                    token):
    foreign = await client.post(DIALOGS, json=dialog_body(serviceResource=f"urn:altinn:resource:{OTHER_RESOURCE}"),
                                headers=owner_headers)
    assert foreign.status_code == 403
    dialog_id = await create_dialog(client, owner_headers)
    assert (await client.get(f"{DIALOGS}/{dialog_id}", headers=other_owner_headers)).status_code == 404
    assert (await client.delete(f"{DIALOGS}/{dialog_id}", headers=other_owner_headers)).status_code == 404
    not_an_owner = bearer(token(scopes=[SERVICE_PROVIDER], org="910753614"))
    assert (await client.post(DIALOGS, json=dialog_body(), headers=not_an_owner)).status_code == 403
    no_scope = bearer(token(scopes=["digdir:dialogporten"], org="405003309"))
    assert (await client.get(f"{DIALOGS}/{dialog_id}", headers=no_scope)).status_code == 403
    person = bearer(token(scopes=[SERVICE_PROVIDER], person="12838404268", issuer=Issuer.IDPORTEN))
    assert (await client.get(f"{DIALOGS}/{dialog_id}", headers=person)).status_code == 401
    assert (await client.get(f"{DIALOGS}/{dialog_id}")).status_code == 401


async def test_replace_and_patch_need_the_current_revision(client, owner_headers):
    dialog_id = await create_dialog(client, owner_headers)
    revision = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).headers["ETag"]
    body = dialog_body(status="Completed", progress=100, transmissions=[], activities=[])
    for key in ("serviceResource", "party"):
        del body[key]
    stale = await client.put(f"{DIALOGS}/{dialog_id}", json=body,
                             headers={**owner_headers, "If-Match": str(uuid.uuid4())})
    assert stale.status_code == 412
    replaced = await client.put(f"{DIALOGS}/{dialog_id}", json=body, headers={**owner_headers, "If-Match": revision})
    assert replaced.status_code == 204 and replaced.headers["ETag"] != revision
    dialog = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()
    assert dialog["status"] == "Completed" and dialog["progress"] == 100
    assert len(dialog["transmissions"]) == 1  # appended parts stay

    patch = [{"op": "replace", "path": "/status", "value": "RequiresAttention"},
             {"op": "add", "path": "/transmissions/-", "value": {
                 "type": "Submission", "sender": {"actorType": "PartyRepresentative", "actorName": "Kari"},
                 "content": {"title": {"value": [{"value": "Svar", "languageCode": "nb"}]}}}}]
    stale = await client.patch(f"{DIALOGS}/{dialog_id}", json=patch, headers={**owner_headers, "If-Match": revision})
    assert stale.status_code == 412
    patched = await client.patch(f"{DIALOGS}/{dialog_id}", json=patch,
                                 headers={**owner_headers, "If-Match": replaced.headers["ETag"]})
    assert patched.status_code == 204, patched.text
    dialog = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()
    assert dialog["status"] == "RequiresAttention" and dialog["fromPartyTransmissionsCount"] == 1

    invalid = await client.patch(f"{DIALOGS}/{dialog_id}", json=[{"op": "replace", "path": "/nothing/here",
                                                                  "value": 1}], headers=owner_headers)
    assert invalid.status_code == 400
    wrong_type = await client.patch(f"{DIALOGS}/{dialog_id}", json=[{"op": "replace", "path": "/progress",
                                                                     "value": "lots"}], headers=owner_headers)
    assert wrong_type.status_code == 400 and "dto.progress" in wrong_type.json()["errors"]
    assert (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()["progress"] == 100


async def test_an_activity_id_is_used_once(client, owner_headers):
    activity_id = str(uuid.uuid4())
    dialog_id = await create_dialog(client, owner_headers, activities=[
        {"id": activity_id, "type": "Information", "performedBy": {"actorType": "ServiceOwner"},
         "description": [{"value": "Noe skjedde", "languageCode": "nb"}]}])
    again = await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers,
                              json={"id": activity_id, "type": "Information",
                                    "performedBy": {"actorType": "ServiceOwner"}})
    assert again.status_code == 422 and activity_id in again.json()["errors"]["DialogActivity"][0]
    added = await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers,
                              json={"type": "FormSaved", "performedBy": {"actorType": "ServiceOwner"}})
    assert added.status_code == 201
    listed = (await client.get(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers)).json()
    assert [item["type"] for item in listed] == ["Information", "FormSaved"]
    opened = await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers,
                               json={"type": "TransmissionOpened", "performedBy": {"actorType": "ServiceOwner"},
                                     "transmissionId": str(uuid.uuid4())})
    assert opened.status_code == 422


async def test_only_correspondence_reports_a_correspondence_opened_or_confirmed(client, owner_headers, token):
    opened = {"type": "CorrespondenceOpened", "performedBy": {"actorType": "PartyRepresentative"}}
    confirmed = {"type": "CorrespondenceConfirmed", "performedBy": {"actorType": "PartyRepresentative"}}
    message = ("Use of CorrespondenceConfirmed or CorrespondenceOpened activity types requires the scope "
               "digdir:dialogporten.correspondence.")
    created = await client.post(DIALOGS, json=dialog_body(activities=[opened]), headers=owner_headers)
    assert created.status_code == 403 and created.json()["errors"] == {"Forbidden": [message]}
    dialog_id = await create_dialog(client, owner_headers)
    added = await client.post(f"{DIALOGS}/{dialog_id}/activities", json=confirmed, headers=owner_headers)
    assert added.status_code == 403 and added.json()["errors"] == {"Forbidden": [message]}
    body = dialog_body(transmissions=[], activities=[opened])
    for key in ("serviceResource", "party"):
        del body[key]
    assert (await client.put(f"{DIALOGS}/{dialog_id}", json=body, headers=owner_headers)).status_code == 403
    patch = [{"op": "add", "path": "/activities/-", "value": opened}]
    assert (await client.patch(f"{DIALOGS}/{dialog_id}", json=patch, headers=owner_headers)).status_code == 403
    # Other activities are any service owner's to write, and nothing was written by the refused calls.
    information = {"type": "Information", "performedBy": {"actorType": "ServiceOwner"}}
    assert (await client.post(f"{DIALOGS}/{dialog_id}/activities", json=information,
                              headers=owner_headers)).status_code == 201
    listed = (await client.get(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers)).json()
    assert [item["type"] for item in listed] == ["DialogCreated", "Information"]

    correspondence = bearer(token(scopes=[SERVICE_PROVIDER, "digdir:dialogporten.correspondence"], org="405003309"))
    assert (await client.post(f"{DIALOGS}/{dialog_id}/activities", json=opened,
                              headers=correspondence)).status_code == 201
    assert (await client.patch(f"{DIALOGS}/{dialog_id}", json=[{"op": "add", "path": "/activities/-",
                                                               "value": confirmed}],
                               headers=correspondence)).status_code == 204
    listed = (await client.get(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers)).json()
    assert [item["type"] for item in listed][-2:] == ["CorrespondenceOpened", "CorrespondenceConfirmed"]


async def test_transmissions_answer_each_other_and_keep_their_idempotent_key(client, owner_headers):
    dialog_id = await create_dialog(client, owner_headers, transmissions=[])
    first = await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers, json={
        "type": "Request", "idempotentKey": "t-1", "sender": {"actorType": "ServiceOwner"},
        "content": {"title": {"value": [{"value": "Spørsmål", "languageCode": "nb"}]}},
        "attachments": [{"name": "a", "urls": [{"url": "https://x.no/a.pdf", "consumerType": "Api"}]}]})
    assert first.status_code == 201, first.text
    answer = await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers, json={
        "type": "Submission", "relatedTransmissionId": first.json(), "sender": {"actorType": "PartyRepresentative"},
        "content": {"title": {"value": [{"value": "Svar", "languageCode": "nb"}]}}})
    assert answer.status_code == 201
    repeated = await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers, json={
        "type": "Request", "idempotentKey": "t-1", "sender": {"actorType": "ServiceOwner"},
        "content": {"title": {"value": [{"value": "Igjen", "languageCode": "nb"}]}}})
    assert repeated.status_code == 409
    dangling = await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers, json={
        "type": "Submission", "relatedTransmissionId": str(uuid.uuid4()),
        "sender": {"actorType": "PartyRepresentative"},
        "content": {"title": {"value": [{"value": "Svar", "languageCode": "nb"}]}}})
    assert dangling.status_code == 422
    listed = (await client.get(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers)).json()
    assert [item["relatedTransmissionId"] for item in listed] == [None, first.json()]
    assert listed[0]["attachments"][0]["urls"][0]["consumerType"] == "Api"


async def test_delete_restore_purge_and_freeze(client, owner_headers, token):
    dialog_id = await create_dialog(client, owner_headers)
    assert (await client.delete(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).status_code == 204
    dialog = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()
    assert dialog["deletedAt"] is not None
    gone = await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers,
                             json={"type": "FormSaved", "performedBy": {"actorType": "ServiceOwner"}})
    assert gone.status_code == 410
    listed = (await client.get(DIALOGS, headers=owner_headers)).json()["items"]
    assert dialog_id not in [item["id"] for item in listed]
    deleted = (await client.get(DIALOGS, params={"deleted": "Only"}, headers=owner_headers)).json()["items"]
    assert [item["id"] for item in deleted] == [dialog_id]
    assert (await client.post(f"{DIALOGS}/{dialog_id}/actions/restore", headers=owner_headers)).status_code == 204
    assert (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()["deletedAt"] is None

    assert (await client.post(f"{DIALOGS}/{dialog_id}/actions/freeze", headers=owner_headers)).status_code == 204
    frozen = await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers,
                               json={"type": "FormSaved", "performedBy": {"actorType": "ServiceOwner"}})
    assert frozen.status_code == 403
    admin = bearer(token(scopes=[SERVICE_PROVIDER, "digdir:dialogporten.serviceprovider.admin"], org="405003309"))
    allowed = await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=admin,
                                json={"type": "FormSaved", "performedBy": {"actorType": "ServiceOwner"}})
    assert allowed.status_code == 201

    assert (await client.post(f"{DIALOGS}/{dialog_id}/actions/purge", headers=owner_headers)).status_code == 204
    assert (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).status_code == 404


async def test_service_owner_labels(client, owner_headers):
    dialog_id = await create_dialog(client, owner_headers,
                                    serviceOwnerContext={"serviceOwnerLabels": [{"value": "sak-1"}]})
    labels = await client.get(f"{DIALOGS}/{dialog_id}/context/labels", headers=owner_headers)
    assert labels.json() == [{"value": "sak-1"}]
    added = await client.post(f"{DIALOGS}/{dialog_id}/context/labels", json={"value": "sak-2"},
                              headers={**owner_headers, "If-Match": labels.headers["ETag"]})
    assert added.status_code == 204
    reserved = await client.post(f"{DIALOGS}/{dialog_id}/context/labels", json={"value": "digdir:mine"},
                                 headers=owner_headers)
    assert reserved.status_code == 400
    found = (await client.get(DIALOGS, params={"serviceOwnerLabels": ["sak-2"]}, headers=owner_headers)).json()
    assert [item["id"] for item in found["items"]] == [dialog_id]
    assert (await client.delete(f"{DIALOGS}/{dialog_id}/context/labels/sak-1", headers=owner_headers)
            ).status_code == 204
    assert (await client.delete(f"{DIALOGS}/{dialog_id}/context/labels/sak-1", headers=owner_headers)
            ).status_code == 404


async def test_search_filters_and_pages_with_continuation_tokens(client, owner_headers, other_owner_headers):
    ids = [await create_dialog(client, owner_headers, externalReference=f"ref-{number}",
                               party=COMPANY_URN if number % 2 else KARI_URN) for number in range(5)]
    first = (await client.get(DIALOGS, params={"limit": 2}, headers=owner_headers)).json()
    assert first["hasNextPage"] is True and first["orderBy"] == "createdAt_desc,id_desc"
    seen = [item["id"] for item in first["items"]]
    token = first["continuationToken"]
    while token:
        page = (await client.get(DIALOGS, params={"limit": 2, "continuationToken": token}, headers=owner_headers)
                ).json()
        seen += [item["id"] for item in page["items"]]
        token = page["continuationToken"]
    assert seen == list(reversed(ids))
    companies = (await client.get(DIALOGS, params={"party": [COMPANY_URN]}, headers=owner_headers)).json()
    assert {item["party"] for item in companies["items"]} == {COMPANY_URN} and len(companies["items"]) == 2
    by_reference = (await client.get(DIALOGS, params={"externalReference": "ref-3"}, headers=owner_headers)).json()
    assert [item["id"] for item in by_reference["items"]] == [ids[3]]
    assert (await client.get(DIALOGS, params={"search": "sammendrag"}, headers=owner_headers)).json()["items"]
    assert not (await client.get(DIALOGS, params={"search": "finnes ikke"}, headers=owner_headers)).json()["items"]
    assert not (await client.get(DIALOGS, headers=other_owner_headers)).json()["items"]
    item = first["items"][0]
    assert item["content"]["title"]["value"][0]["value"].startswith("Skjema")
    assert item["latestActivity"]["type"] == "DialogCreated" and item["guiAttachmentCount"] == 1


@pytest.mark.parametrize("params", [
    {"party": [KARI_URN] * 101}, {"serviceResource": [RESOURCE_URN] * 21}, {"limit": 1001}, {"limit": 0},
    {"continuationToken": "forged"}, {"orderBy": "title_desc"}, {"search": "ab"}, {"status": "Unknown"},
    {"createdAfter": "yesterday"}])
async def test_bad_search_parameters_are_clear_problems(client, owner_headers, params):
    response = await client.get(DIALOGS, params=params, headers=owner_headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_limits_are_published(client):
    limits = (await client.get("/dialogporten/api/v1/metadata/limits")).json()
    assert limits["endUserSearch"]["maxPartyFilterValues"] == 100
    assert set(limits["serviceOwnerSearch"]) == {"maxPartyFilterValues", "maxServiceResourceFilterValues",
                                                 "maxExtendedStatusFilterValues"}
