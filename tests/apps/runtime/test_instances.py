"""Instantiation and the instance over the app API: for a party from the register, checked against the app's
party types and policy; its form data created and prefilled; read, listed as active, deleted, completed."""

from __future__ import annotations

import uuid

from lxml import etree
from sqlalchemy import update

from felles.authorization import service as authorization
from felles.core.db import Database
from felles.storage import service as storage
from felles.storage.models import DataElement
from tests.apps.runtime.conftest import APP_ID, FJORDKRAFT, KARI, OLA

INSTANCES = f"/{APP_ID}/instances"


async def party_id(database: Database, identifier: str) -> int:
    return (await authorization.party_of(database, identifier)).party_id


async def test_instantiation_starts_the_process_with_prefilled_form_data(client, database, soknad, kari) -> None:
    kari_party = await party_id(database, KARI)
    created = await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)
    assert created.status_code == 201, created.text
    instance = created.json()
    guid = instance["id"].split("/")[1]
    assert instance["id"] == f"{kari_party}/{guid}"
    assert created.headers["location"].endswith(f"/{APP_ID}/instances/{kari_party}/{guid}")
    assert instance["instanceOwner"] == {"partyId": str(kari_party), "personNumber": KARI}
    task = instance["process"]["currentTask"]
    assert (task["elementId"], task["altinnTaskType"], task["flow"], task["name"]) == ("Task_1", "data", 2,
                                                                                       "Utfylling")
    assert instance["process"]["startEvent"] == "StartEvent_1"
    (element,) = instance["data"]
    assert (element["dataType"], element["contentType"], element["locked"]) == ("skjema", "application/xml", False)

    async with database.transaction() as session:
        row = await storage.instance_row(session, uuid.UUID(guid))
        stored = await storage.data_element_row(session, row, uuid.UUID(element["id"]))
    xml = etree.fromstring(await storage.read_data_bytes(client._transport.app.state.runtime.blobs, stored))
    assert xml.tag == "Skjema" and xml.findtext("fodselsnummer") == KARI
    assert xml.findtext("navn") == "Kari Nordmann"  # from Folkeregisteret, per skjema.prefill.json

    events = await storage.events_of(database, uuid.UUID(guid), party_id=kari_party)
    assert [event.eventType for event in events.instanceEvents] == ["Created", "process_StartEvent",
                                                                   "process_StartTask"]
    read = await client.get(f"{INSTANCES}/{kari_party}/{guid}", headers=kari)
    assert read.status_code == 200 and read.json()["id"] == instance["id"]


async def test_a_json_template_the_simplified_api_and_multipart_data_instantiate_too(client, database, soknad,
                                                                                      kari) -> None:
    kari_party = await party_id(database, KARI)
    by_number = await client.post(INSTANCES, json={"instanceOwner": {"personNumber": KARI}}, headers=kari)
    assert by_number.status_code == 201, by_number.text
    assert by_number.json()["instanceOwner"]["partyId"] == str(kari_party)

    simplified = await client.post(f"{INSTANCES}/create", headers=kari, json={
        "instanceOwner": {"partyId": str(kari_party)}, "prefill": {"belop": 2500, "formal": "Kajakk"}})
    assert simplified.status_code == 201, simplified.text
    guid = simplified.json()["id"].split("/")[1]
    state = await client.get(f"{INSTANCES}/{kari_party}/{guid}", headers=kari)
    assert state.json()["data"][0]["dataType"] == "skjema"

    xml = b'<?xml version="1.0"?><Skjema><navn>Kari</navn><belop>12</belop></Skjema>'
    multipart = await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari, files={
        "skjema": ("skjema.xml", xml, "application/xml"), "vedlegg": ("brev.txt", b"Hei", "text/plain")})
    assert multipart.status_code == 201, multipart.text
    data = {element["dataType"]: element for element in multipart.json()["data"]}
    assert set(data) == {"skjema", "vedlegg"} and data["vedlegg"]["filename"] == "brev.txt"
    assert data["vedlegg"]["size"] == 3


async def test_the_party_must_be_one_the_app_takes_and_the_caller_may_act_for(client, database, soknad, kari,
                                                                              ola, ingrid) -> None:
    company = await party_id(database, FJORDKRAFT)
    refused = await client.post(INSTANCES, params={"instanceOwnerPartyId": company}, headers=ingrid)
    assert refused.status_code == 403 and refused.json()["code"] == "party_type_not_allowed"
    kari_party = await party_id(database, KARI)
    for_another = await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=ola)
    assert for_another.status_code == 403 and for_another.json()["code"] == "not_permitted"
    missing = await client.post(INSTANCES, params={"instanceOwnerPartyId": 2_000_000_000}, headers=kari)
    assert missing.status_code == 404 and missing.json()["code"] == "party_not_found"

    created = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    guid = created["id"].split("/")[1]
    assert (await client.get(f"{INSTANCES}/{kari_party}/{guid}", headers=ola)).status_code == 403
    ola_party = await party_id(database, OLA)
    assert (await client.get(f"{INSTANCES}/{ola_party}/{guid}", headers=ola)).status_code == 404


async def test_bad_input_is_a_clear_problem_and_creates_nothing(client, database, soknad, kari) -> None:
    kari_party = await party_id(database, KARI)
    cases = [
        ({}, {"content": b""}, "instance_owner_missing"),
        ({}, {"content": b"{not json", "headers": {"content-type": "application/json"}}, "invalid_instance_template"),
        ({}, {"content": b"<x/>", "headers": {"content-type": "text/plain"}}, "unsupported_content_type"),
        ({}, {"json": {"instanceOwner": {"partyId": "abc"}}}, "invalid_instance_owner"),
        ({"instanceOwnerPartyId": kari_party}, {"files": {"skjema": ("s.xml", b"<Skjema><x>", "application/xml")}},
         "invalid_form_data"),
        ({"instanceOwnerPartyId": kari_party}, {"files": {"skjema": ("s.xml", b"<Annet/>", "application/xml")}},
         "invalid_form_data"),
        ({"instanceOwnerPartyId": kari_party}, {"files": {"ukjent": ("u.txt", b"x", "text/plain")}},
         "unknown_data_type"),
        ({"instanceOwnerPartyId": kari_party}, {"files": {"vedlegg": ("v.exe", b"MZ", "application/x-msdownload")}},
         "content_type_not_allowed"),
    ]
    for params, request, code in cases:
        headers = {**kari, **request.pop("headers", {})}
        response = await client.post(INSTANCES, params=params, headers=headers, **request)
        assert response.status_code == 400, (code, response.text)
        assert response.headers["content-type"] == "application/problem+json" and response.json()["code"] == code
    too_large = await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari,
                                  files={"vedlegg": ("v.txt", b"x" * (1024 * 1024 + 1), "text/plain")})
    assert too_large.status_code == 413
    active = await client.get(f"{INSTANCES}/{kari_party}/active", headers=kari)
    assert active.status_code == 200 and active.json() == []


async def test_active_delete_complete_and_substatus(client, database, soknad, kari, ttd) -> None:
    kari_party = await party_id(database, KARI)
    first = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    second = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    active = (await client.get(f"{INSTANCES}/{kari_party}/active", headers=kari)).json()
    assert {item["id"] for item in active} == {first["id"], second["id"]}
    assert {item["lastChangedBy"] for item in active} == {"Kari Nordmann"}

    deleted = await client.delete(f"{INSTANCES}/{first['id']}", headers=kari)
    assert deleted.status_code == 200 and deleted.json()["status"]["isSoftDeleted"] is True
    assert [item["id"] for item in (await client.get(f"{INSTANCES}/{kari_party}/active", headers=kari)).json()] == [
        second["id"]]
    in_the_bin = await client.get(f"{INSTANCES}/{first['id']}", headers=kari)
    assert in_the_bin.status_code == 200 and in_the_bin.json()["status"]["isSoftDeleted"] is True
    moved = await client.put(f"{INSTANCES}/{first['id']}/process/next", headers=kari)
    assert moved.status_code == 404
    hard = await client.delete(f"{INSTANCES}/{first['id']}", params={"hard": "true"}, headers=kari)
    assert hard.status_code == 200 and hard.json()["status"]["isHardDeleted"] is True
    assert (await client.get(f"{INSTANCES}/{first['id']}", headers=kari)).status_code == 404

    refused = await client.post(f"{INSTANCES}/{second['id']}/complete", headers=kari)
    assert refused.status_code == 403
    for _ in range(2):  # a retried confirmation confirms once
        completed = await client.post(f"{INSTANCES}/{second['id']}/complete", headers=ttd)
        assert completed.status_code == 200, completed.text
    assert [item["stakeholderId"] for item in completed.json()["completeConfirmations"]] == ["ttd"]

    not_owner = await client.put(f"{INSTANCES}/{second['id']}/substatus", headers=kari, json={"label": "x"})
    assert not_owner.status_code == 403
    substatus = await client.put(f"{INSTANCES}/{second['id']}/substatus", headers=ttd,
                                 json={"label": "Behandles", "description": "Til behandling"})
    assert substatus.json()["status"]["substatus"] == {"label": "Behandles", "description": "Til behandling"}
    guid = uuid.UUID(second["id"].split("/")[1])
    kinds = [event.eventType for event in
             (await storage.events_of(database, guid, party_id=kari_party)).instanceEvents]
    assert kinds.count("ConfirmedComplete") == 1 and kinds[-1] == "SubstatusUpdated"


async def test_a_manager_instantiates_for_the_company_with_its_register_values(client, database, deploy_variant,
                                                                              ingrid) -> None:
    app_id = await deploy_variant("runtime-company", party_types='"organisation": true')
    company = await party_id(database, FJORDKRAFT)
    created = await client.post(f"/{app_id}/instances", headers=ingrid,
                                json={"instanceOwner": {"organisationNumber": FJORDKRAFT}})
    assert created.status_code == 201, created.text
    instance = created.json()
    assert instance["instanceOwner"] == {"partyId": str(company), "organisationNumber": FJORDKRAFT}
    async with database.transaction() as session:
        row = await storage.instance_row(session, uuid.UUID(instance["id"].split("/")[1]))
        element = await storage.data_element_row(session, row, uuid.UUID(instance["data"][0]["id"]))
    xml = etree.fromstring(await storage.read_data_bytes(client._transport.app.state.runtime.blobs, element))
    assert (xml.findtext("organisasjonsnummer"), xml.findtext("virksomhet")) == (FJORDKRAFT, "Fjordkraft Demo AS")
    assert xml.findtext("fodselsnummer") is None  # Folkeregisteret does not apply to a company


async def test_read_status_and_is_read_follow_what_the_owners_side_has_seen(client, database, soknad, kari,
                                                                           ttd) -> None:
    """Storage's rules: what the app or its service owner writes is unseen (isRead false), an instance read
    before is then UpdatedSinceLastReview, or Unread when none of its data is seen; the owner's side reading the
    instance or a data element makes it Read (and the element read); the service owner's reads change nothing."""
    kari_party = await party_id(database, KARI)
    created = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    (form,) = created["data"]
    assert (created["status"]["readStatus"], form["isRead"]) == ("UpdatedSinceLastReview", False)
    path = f"{INSTANCES}/{created['id']}"

    async def status() -> tuple[str, dict[str, bool]]:
        instance = (await client.get(f"/storage/api/v1/instances/{created['id']}", headers=ttd)).json()
        return instance["status"]["readStatus"], {item["dataType"]: item["isRead"] for item in instance["data"]}

    assert (await client.get(f"{path}/data/{form['id']}", headers=ttd)).status_code == 200
    assert await status() == ("UpdatedSinceLastReview", {"skjema": False})  # the service owner's read
    assert (await client.get(f"{path}/data/{form['id']}", headers=kari)).status_code == 200
    assert await status() == ("Read", {"skjema": True})

    saved = await client.put(f"{path}/data/{form['id']}", headers=ttd, json={"navn": "Kari", "belop": 10})
    assert saved.status_code in (200, 201), saved.text
    assert await status() == ("Unread", {"skjema": False})  # changed by the agency, and nothing else seen
    assert (await client.get(path, headers=kari)).status_code == 200
    assert await status() == ("Read", {"skjema": False})  # the instance read, not the form

    added = await client.post(f"{path}/data/type/vedlegg", headers={
        **ttd, "Content-Type": "text/plain", "Content-Disposition": 'attachment; filename="svar.txt"'},
        content=b"Svar")
    assert added.status_code == 200, added.text
    assert await status() == ("UpdatedSinceLastReview", {"skjema": False, "vedlegg": False})

    by_agency = await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=ttd)
    assert by_agency.status_code == 201, by_agency.text
    assert by_agency.json()["status"]["readStatus"] == "Unread"


async def test_the_file_scan_result_is_each_scanned_files_and_the_worst_of_them(client, database, soknad, kari,
                                                                              ola) -> None:
    kari_party = await party_id(database, KARI)
    created = (await client.post(INSTANCES, params={"instanceOwnerPartyId": kari_party}, headers=kari)).json()
    path = f"{INSTANCES}/{created['id']}"
    nothing = (await client.get(f"{path}/filescanresult", headers=kari)).json()
    assert nothing == {"id": created["id"], "fileScanResult": "NotApplicable", "data": []}
    files = []
    for name in ("a.txt", "b.txt"):
        added = await client.post(f"{path}/data/type/vedlegg", content=b"x", headers={
            **kari, "Content-Type": "text/plain", "Content-Disposition": f'attachment; filename="{name}"'})
        assert added.status_code == 200, added.text
        files.append(uuid.UUID(added.json()["newDataElementId"]))

    async def verdicts(*results: str) -> dict[str, object]:
        async with database.transaction() as session:
            for element_id, result in zip(files, results, strict=True):
                await session.execute(update(DataElement).where(DataElement.id == element_id)
                                      .values(file_scan_result=result))
        return (await client.get(f"{path}/filescanresult", headers=kari)).json()

    assert (await verdicts("Clean", "Clean"))["fileScanResult"] == "Clean"
    pending = await verdicts("Clean", "Pending")
    assert pending["fileScanResult"] == "Pending"
    assert pending["data"] == [{"id": str(files[0]), "fileScanResult": "Clean"},
                               {"id": str(files[1]), "fileScanResult": "Pending"}]
    assert (await verdicts("Infected", "Pending"))["fileScanResult"] == "Infected"
    assert (await client.get(f"{path}/filescanresult", headers=ola)).status_code == 403
