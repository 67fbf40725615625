"""Data elements over the app API, as app-lib serves them: form data read, patched (JSON Patch, one element or
several) and replaced as JSON or XML; files uploaded within their data type's rules; bad input refused with a
problem and nothing kept; the app's policy and the party in the path decide who may do what."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from felles.apps import access
from felles.apps import data as data_service
from felles.apps.deployment import AppCatalogue
from felles.core.blobs import open_blob_store
from felles.core.db import Database
from felles.core.tokens import Principal
from felles.storage import service as storage
from felles.storage.models import DataElement, InstanceEvent
from tests.apps.data.conftest import KARI, new_instance

PDF = b"%PDF-1.4 a small document"


async def _blob_keys(settings, instance_id) -> set[str]:
    blobs = open_blob_store(settings)
    return {blob.key async for blob in blobs.list(f"{storage.DATA_BLOB_PREFIX}{instance_id}/")}


async def _element_types(database: Database, instance_id) -> list[str]:
    async with database.transaction() as session:
        rows = await session.scalars(select(DataElement.data_type).where(DataElement.instance_id == instance_id))
        return sorted(rows.all())


def _upload(name: str = "Test Doc 2025.pdf", content_type: str = "application/pdf") -> dict[str, str]:
    return {"Content-Type": content_type, "Content-Disposition": f'attachment; filename="{name}"'}


async def test_form_data_reads_with_every_property_and_patches_like_app_frontend(
        client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    empty = await client.get(f"{path}/data/{element}", headers=kari)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"property1": None, "property2": None, "property3": None}

    patch = [{"op": "test", "path": "/property1", "value": None},
             {"op": "replace", "path": "/property1", "value": "Kari"}]
    patched = await client.patch(f"{path}/data/{element}", headers=kari, json={"patch": patch})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["newDataModel"] == {"property1": "Kari", "property2": None, "property3": None}
    assert body["instance"]["id"] == f"{deployed.kari_party}/{instance}"
    required = body["validationIssues"]["Required"]
    assert [(issue["field"], issue["dataElementId"]) for issue in required] == [("property2", str(element))]

    multiple = await client.patch(f"{path}/data", headers=kari, json={"patches": [
        {"dataElementId": str(element), "patch": [{"op": "add", "path": "/property2", "value": "Nordmann"}]}]})
    assert multiple.status_code == 200, multiple.text
    assert multiple.json()["newDataModels"] == [
        {"dataElementId": str(element), "data": {"property1": "Kari", "property2": "Nordmann", "property3": None}}]
    assert {pair["source"] for pair in multiple.json()["validationIssues"]} == {"Schema", "Required", "Expression"}
    stored = await client.get(f"{path}/data/{element}", headers={**kari, "Accept": "application/xml"})
    assert b"<property2>Nordmann</property2>" in stored.content


async def test_a_failing_patch_changes_nothing(client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = f"{deployed.path(instance)}/data/{element}"
    failed_test = await client.patch(path, headers=kari, json={"patch": [
        {"op": "replace", "path": "/property1", "value": "x"}, {"op": "test", "path": "/property2", "value": "y"}]})
    assert failed_test.status_code == 409 and failed_test.json()["code"] == "patch_test_failed"
    missing = await client.patch(path, headers=kari, json={"patch": [{"op": "remove", "path": "/nothing/here"}]})
    assert missing.status_code == 422 and missing.json()["code"] == "patch_failed"
    unfitting = await client.patch(path, headers=kari, json={"patch": [
        {"op": "add", "path": "/notInTheModel", "value": 1}]})
    assert unfitting.status_code == 422 and unfitting.json()["code"] == "patch_result_invalid"
    assert (await client.get(path, headers=kari)).json()["property1"] is None


async def test_put_takes_json_or_xml_and_refuses_what_does_not_fit(client, database, settings, deployed,
                                                                    kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = f"{deployed.path(instance)}/data/{element}"
    put = await client.put(path, headers=kari, json={"property1": "a", "property2": "b"})
    assert put.status_code == 201, put.text
    assert put.json()["contentType"] == "application/xml" and put.json()["dataType"] == "model"
    xml = b'<?xml version="1.0"?><model><property1>c</property1><property2>d</property2></model>'
    put_xml = await client.put(path, headers={**kari, "Content-Type": "application/xml"}, content=xml)
    assert put_xml.status_code == 201, put_xml.text
    keys = await _blob_keys(settings, instance)
    for content, content_type, code in [
        (b"<model><property1>unclosed</model>", "application/xml", "invalid_form_data"),
        (b'{"property1": ', "application/json", "invalid_form_data"),
        (b'{"unknown": 1}', "application/json", "invalid_form_data"),
        (b"<other />", "application/xml", "invalid_form_data"),
        (b"a,b", "text/csv", "unsupported_content_type"),
    ]:
        refused = await client.put(path, headers={**kari, "Content-Type": content_type}, content=content)
        assert refused.status_code == 400, (content, refused.text)
        assert refused.headers["content-type"] == "application/problem+json" and refused.json()["code"] == code
    assert (await client.get(path, headers=kari)).json() == {"property1": "c", "property2": "d", "property3": None}
    assert await _blob_keys(settings, instance) == keys  # the refused bodies left no bytes behind


async def test_attachments_are_uploaded_read_back_and_deleted(client, database, settings, deployed, kari) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    uploaded = await client.post(f"{path}/data/type/attachment", headers={**kari, **_upload()}, content=PDF)
    assert uploaded.status_code == 200, uploaded.text
    body = uploaded.json()
    new_id = body["newDataElementId"]
    element = next(item for item in body["instance"]["data"] if item["id"] == new_id)
    assert (element["filename"], element["contentType"], element["size"]) == ("Test Doc 2025.pdf",
                                                                              "application/pdf", len(PDF))
    assert element["contentHash"].startswith("md5:") and body["newDataModels"] == []

    downloaded = await client.get(f"{path}/data/{new_id}", headers=kari)
    assert downloaded.content == PDF and downloaded.headers["content-type"] == "application/pdf"
    assert 'filename="Test Doc 2025.pdf"' in downloaded.headers["content-disposition"]

    older = await client.post(f"{path}/data", params={"dataType": "attachment"},
                              headers={**kari, **_upload("note.txt", "text/plain")}, content=b"hello")
    assert older.status_code == 201 and older.json()["dataType"] == "attachment"
    assert older.headers["location"].endswith(f"/data/{older.json()['id']}")

    deleted = await client.delete(f"{path}/data/{new_id}", headers=kari)
    assert deleted.status_code == 200, deleted.text
    assert new_id not in {item["id"] for item in deleted.json()["instance"]["data"]}
    assert (await client.get(f"{path}/data/{new_id}", headers=kari)).status_code == 404
    assert len(await _blob_keys(settings, instance)) == 2  # the form data and note.txt
    async with database.transaction() as session:
        events = (await session.scalars(select(InstanceEvent.event_type).where(
            InstanceEvent.instance_id == instance).order_by(InstanceEvent.id))).all()
    assert events == ["Created", "Created", "Deleted"]


async def test_files_outside_their_data_types_rules_are_refused_and_nothing_is_kept(
        client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    attachment = f"{path}/data/type/attachment"
    cases = [
        ({"Content-Type": "application/pdf", "Content-Disposition": "attachment; filename=Test Doc 2025.pdf"}, PDF,
         400, "missing_file_name"),
        ({"Content-Type": "application/pdf"}, PDF, 400, "content_type_not_allowed"),
        (_upload("picture.jpg", "image/jpeg"), b"jpeg", 400, "content_type_not_allowed"),
        (_upload("document.pdf", "image/png"), PDF, 400, "invalid_file_name_format"),
        (_upload("noextension", "application/pdf"), PDF, 400, "invalid_file_name_format"),
        (_upload(), b"", 400, "data_element_empty"),
        (_upload(), b"x" * (1024 * 1024 + 1), 400, "data_element_too_large"),
    ]
    for headers, content, status, code in cases:
        refused = await client.post(attachment, headers={**kari, **headers}, content=content)
        assert refused.status_code == status, (code, refused.text)
        assert refused.json()["code"] == code
        [issue] = refused.json()["uploadValidationIssues"]  # Altinn's DataPostErrorResponse
        assert issue["source"] == "DataRestrictionValidation" and issue["severity"] == 1
        assert issue["code"].replace("_", "").lower() == code.replace("_", "").lower()
    streamed = await client.post(attachment, headers={**kari, **_upload()},
                                 content=_chunks(b"x" * 65536, 17))  # no Content-Length: counted as it streams
    assert streamed.status_code == 413 and streamed.json()["code"] == "data_too_large"
    unknown = await client.post(f"{path}/data/type/nonsense", headers={**kari, **_upload()}, content=PDF)
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_data_type"
    pdf_receipt = await client.post(f"{path}/data/type/ref-data-as-pdf", headers={**kari, **_upload()}, content=PDF)
    assert pdf_receipt.status_code == 403
    assert await _element_types(database, instance) == ["model"]
    assert [f"/{element}/" in key for key in await _blob_keys(settings, instance)] == [True]  # the form's only

    for _ in range(2):
        assert (await client.post(attachment, headers={**kari, **_upload()}, content=PDF)).status_code == 200
    third = await client.post(attachment, headers={**kari, **_upload()}, content=PDF)
    assert third.status_code == 409 and third.json()["code"] == "max_count_exceeded"
    second_model = await client.post(f"{path}/data/type/model", headers=kari, json={})
    assert second_model.status_code == 409


async def _chunks(chunk: bytes, count: int):
    for _ in range(count):
        yield chunk


async def test_who_may_do_what_is_decided_by_the_policy_and_the_path(client, database, settings, deployed, kari,
                                                                     ola) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    assert (await client.get(f"{path}/data/{element}")).status_code == 401
    others = await client.get(f"{path}/data/{element}", headers=ola)
    assert others.status_code == 403 and others.json()["code"] == "not_permitted"
    assert (await client.put(f"{path}/data/{element}", headers=ola, json={})).status_code == 403
    wrong_party = await client.get(f"{deployed.path(instance, deployed.ola_party)}/data/{element}", headers=kari)
    assert wrong_party.status_code == 404
    other_app = await client.get(f"/ttd/no-such-app/instances/{deployed.kari_party}/{instance}/data/{element}",
                                 headers=kari)
    assert other_app.status_code == 404
    assert (await client.get(f"{path}/data/{uuid.uuid4()}", headers=kari)).status_code == 404


async def test_a_locked_element_and_the_main_form_cannot_change(client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = f"{deployed.path(instance)}/data/{element}"
    main = await client.delete(path, headers=kari)
    assert main.status_code == 400 and main.json()["code"] == "main_data_element"
    async with database.transaction() as session:
        (await session.get(DataElement, element)).locked = True
    for response in (await client.put(path, headers=kari, json={"property1": "x"}),
                     await client.patch(path, headers=kari, json={"patch": [
                         {"op": "add", "path": "/property1", "value": "x"}]})):
        assert response.status_code == 409 and response.json()["code"] == "data_element_locked"
    assert (await client.get(path, headers=kari)).json()["property1"] is None


async def test_tags_are_added_set_and_removed(client, database, settings, deployed, kari) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    uploaded = await client.post(f"{path}/data/type/attachment", headers={**kari, **_upload()}, content=PDF)
    tags = f"{path}/data/{uploaded.json()['newDataElementId']}/tags"
    added = await client.post(tags, headers=kari, json="kvittering")
    assert added.status_code == 201 and added.json() == {"tags": ["kvittering"]}
    replaced = await client.put(tags, headers=kari, json={"tags": ["faktura", "faktura", "bilde"]})
    assert replaced.status_code == 200 and replaced.json()["tags"] == ["faktura", "bilde"]
    assert replaced.json()["validationIssues"] == [{"source": "File", "issues": []}]
    assert (await client.delete(f"{tags}/faktura", headers=kari)).status_code == 204
    assert (await client.get(tags, headers=kari)).json() == {"tags": ["bilde"]}
    refused = await client.post(tags, headers=kari, json="not a tag!")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_tag"


async def test_no_changes_once_the_process_has_ended(app, client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    saved = await data_service.save_form_data(await _ref(app, database, deployed, instance), element,
                                              {"property1": "a"})  # as the form pages save
    assert saved == {"property1": "a", "property2": None, "property3": None}
    async with database.transaction() as session:
        row = await storage.instance_row(session, instance, lock=True)
        storage.set_process_in_transaction(row, {**row.process, "currentTask": None, "ended": "2026-12-05T08:00:00Z",
                                                 "endEvent": "EndEvent_1"}, "1337")
    refused = await client.put(f"{path}/data/{element}", headers=kari, json={"property1": "b"})
    assert refused.status_code == 409 and refused.json()["code"] == "instance_not_active"
    assert (await client.get(f"{path}/data/{element}", headers=kari)).json()["property1"] == "a"


async def _ref(app, database, deployed, instance) -> data_service.InstanceRef:
    runtime = app.state.runtime
    caller = await access.caller_of(database, Principal("person", person_identifier=KARI, authentication_level=3))
    return data_service.InstanceRef(runtime, AppCatalogue(database, runtime.settings.data_dir / "apps"),
                                    deployed.app_id, caller, deployed.kari_party, instance)


async def test_a_data_type_may_require_an_action_of_its_own(client, database, settings, deployed, kari) -> None:
    instance, _ = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    refused = await client.post(f"{path}/data/type/signers-only", headers={**kari, **_upload("a.txt", "text/plain")},
                                content=b"x")
    assert refused.status_code == 403 and "sign" in refused.json()["detail"]  # the policy gives Kari no `sign`
    stored = await client.post(f"{path}/data/type/signers-read", headers={**kari, **_upload("b.txt", "text/plain")},
                               content=b"y")
    assert stored.status_code == 200
    unreadable = await client.get(f"{path}/data/{stored.json()['newDataElementId']}", headers=kari)
    assert unreadable.status_code == 403


async def test_a_new_form_is_prefilled_from_the_registers(client, database, settings, deployed, kari) -> None:
    instance, _ = await new_instance(database, settings, deployed, with_form=False)
    created = await client.post(f"{deployed.path(instance)}/data/type/model", headers=kari, json={"property2": "b"})
    assert created.status_code == 200, created.text
    [model] = created.json()["newDataModels"]
    assert model["data"]["property2"] == "b" and isinstance(model["data"]["property1"], str)  # Kari's first name
    assert model["data"]["property1"]
