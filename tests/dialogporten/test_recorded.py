"""Dialogporten's recorded end-to-end responses (`recorded/`, 49 files): each is replayed against Felles as the
call it records, and the answer's shape (its keys, recursively, with list items compared to the first recorded
item) must be the recorded one. A response we do not reproduce yet is a strict xfail that names the
difference; the pass count is printed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REFERENCE, bearer
from tests.dialogporten.conftest import (
    DIALOGS,
    END_USER,
    ENDUSER_DIALOGS,
    HIGH_LEVEL_RESOURCE_URN,
    KARI,
    SERVICE_PROVIDER,
    dialog_body,
)

RECORDED = REFERENCE / "api-specs/dialogporten/recorded"
FILES = sorted(RECORDED.rglob("*.verified.json"))
# Why a recorded response is not reproduced (file name → the difference); none at present.
DIFFERENCES: dict[str, str] = {}
GRAPHQL = "/dialogporten/graphql"
# The GraphQL recording is Dialogporten's .NET client's `parties` result, every field of AuthorizedParty and
# AuthorizedSubParty, serialised with the client's PascalCase property names.
PARTY_FIELDS = ("party partyUuid partyId name dateOfBirth partyType isDeleted hasKeyRole isCurrentEndUser "
                "isMainAdministrator isAccessManager")
PARTIES_QUERY = f"{{ parties {{ {PARTY_FIELDS} hasOnlyAccessToSubParties subParties {{ {PARTY_FIELDS} }} }} }}"


CHANGE_TRANSMISSIONS = "digdir:dialogporten.serviceprovider.changetransmissions"
# The replacement the recorded `UpdateTransmissionTests` sends (its answer is the transmission got afterwards).
UPDATED_TRANSMISSION = {
    "type": "Submission", "extendedType": "https://digdir.com/updated-transmission-type",
    "externalReference": "updated-external-reference",
    "sender": {"actorType": "PartyRepresentative", "actorName": "DIGITALISERINGSDIREKTORATET",
               "actorId": "urn:altinn:organization:identifier-no:991825827"},
    "content": {"title": {"value": [{"value": "Oppdatert forsendelsestittel", "languageCode": "nb"}]},
                "summary": {"value": [{"value": "Oppdatert oppsummering", "languageCode": "nb"}]}},
    "attachments": [{"displayName": [{"value": "New attachment", "languageCode": "nb"}], "name": "new-attachment",
                     "urls": [{"url": "https://digdir.com/new-attachment-url", "mediaType": "application/pdf",
                               "consumerType": "Gui"}], "expiresAt": "2099-01-01T00:00:00Z"}],
    "navigationalActions": [{"title": [{"value": "Updated action title", "languageCode": "nb"}],
                             "url": "https://digdir.com/updated-action-url", "expiresAt": "2099-01-01T00:00:00Z"}],
}


def pascal_case(value: Any) -> Any:
    """A GraphQL answer as the .NET client's objects serialise: every property name PascalCase."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: pascal_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal_case(item) for item in value]
    return value


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None if value is None else type(value).__name__.replace("int", "number").replace("float", "number")


def differences(recorded: Any, ours: Any, path: str = "$") -> list[str]:
    """Where the shapes differ (a null on either side matches any value)."""
    if recorded is None or ours is None:
        return []
    if isinstance(recorded, dict) and isinstance(ours, dict):
        found = [f"{path}.{key} missing" for key in recorded if key not in ours]
        found += [f"{path}.{key} extra" for key in ours if key not in recorded]
        for key in recorded.keys() & ours.keys():
            found += differences(recorded[key], ours[key], f"{path}.{key}")
        return found
    if isinstance(recorded, list) and isinstance(ours, list):
        return differences(recorded[0], ours[0], f"{path}[0]") if recorded and ours else []
    return [] if type(recorded) is type(ours) else [f"{path}: {type(recorded).__name__} != {type(ours).__name__}"]


class Scenario:
    """A dialog as the recordings have it (with transmissions, activities and an end user's look), and the calls."""

    def __init__(self, client: httpx.AsyncClient, owner: dict[str, str], kari: dict[str, str]) -> None:
        self.client, self.owner, self.kari = client, owner, kari

    async def start(self) -> None:
        body = dialog_body(serviceOwnerContext={"serviceOwnerLabels": [{"value": "initial-label"}]})
        body["content"]["additionalInfo"] = {"value": [{"value": "Mer", "languageCode": "nb"}]}
        self.created = await self.client.post(DIALOGS, json=body, headers=self.owner)
        self.id = self.created.json()
        listed = await self.client.get(f"{DIALOGS}/{self.id}/transmissions", headers=self.owner)
        self.transmission = listed.json()[0]["id"]
        await self.client.post(f"{DIALOGS}/{self.id}/transmissions", headers=self.owner, json={
            "type": "Submission", "relatedTransmissionId": self.transmission, "externalReference": "second",
            "sender": {"actorType": "PartyRepresentative", "actorName": "Kari"},
            "content": {"title": {"value": [{"value": "Svar", "languageCode": "nb"}]}}})
        self.activity = (await self.client.get(f"{DIALOGS}/{self.id}/activities", headers=self.owner)).json()[0]["id"]
        await self.client.get(f"{ENDUSER_DIALOGS}/{self.id}", headers=self.kari)
        self.seen = (await self.client.get(f"{DIALOGS}/{self.id}/seenlog", headers=self.owner)).json()[0]["id"]
        await self.client.put(f"{ENDUSER_DIALOGS}/{self.id}/context/systemlabels", json={"addLabels": ["Bin"]},
                              headers=self.kari)

    async def get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(path.format(dialog=self.id, transmission=self.transmission,
                                                 activity=self.activity, seen=self.seen), headers=headers)

    async def deleted(self) -> str:
        dialog_id = (await self.client.post(DIALOGS, json=dialog_body(), headers=self.owner)).json()
        await self.client.delete(f"{DIALOGS}/{dialog_id}", headers=self.owner)
        return str(dialog_id)

    def calls(self) -> dict[str, Callable[[], Awaitable[httpx.Response]]]:
        owner, kari, client = self.owner, self.kari, self.client
        dialog, enduser = DIALOGS + "/{dialog}", ENDUSER_DIALOGS + "/{dialog}"
        missing = str(uuid.uuid4())

        async def created() -> httpx.Response:
            return self.created

        # What the recorded requests break: a language code, an empty text, a long name, no URLs, no title, a
        # long process, a progress over 100 (and, on create, the resource and the party).
        broken = {"progress": 101, "process": "urn:" + "p" * 1020, "content": {
            "summary": {"value": [{"value": "Sammendrag", "languageCode": "nb"}]}},
            "attachments": [{"displayName": [{"value": "Vedlegg", "languageCode": "no"},
                                             {"value": "", "languageCode": "nb"}],
                             "name": "n" * 256, "urls": []}]}

        async def bad_create() -> httpx.Response:
            return await client.post(DIALOGS, headers=owner, json=dialog_body(
                serviceResource="nope", party="urn:altinn:person:identifier-no:1", **broken))

        async def bad_update() -> httpx.Response:
            return await client.put(f"{DIALOGS}/{self.id}", headers=owner, json=broken)

        async def stale() -> httpx.Response:
            return await client.put(f"{DIALOGS}/{self.id}", headers={**owner, "If-Match": str(uuid.uuid4())},
                                    json={"content": dialog_body()["content"]})

        async def duplicate_key() -> httpx.Response:
            await client.post(DIALOGS, headers=owner, json=dialog_body(idempotentKey="duplicate"))
            return await client.post(DIALOGS, headers=owner, json=dialog_body(idempotentKey="duplicate"))

        async def duplicate_activity() -> httpx.Response:
            return await client.post(f"{DIALOGS}/{self.id}/activities", headers=owner, json={
                "id": self.activity, "type": "Information", "performedBy": {"actorType": "ServiceOwner"}})

        async def duplicate_activity_update() -> httpx.Response:
            return await client.put(f"{DIALOGS}/{self.id}", headers=owner, json={
                "content": dialog_body()["content"], "activities": [
                    {"id": self.activity, "type": "Information", "performedBy": {"actorType": "ServiceOwner"}}]})

        async def duplicate_transmission_key() -> httpx.Response:
            transmission = {"type": "Information", "idempotentKey": "same", "sender": {"actorType": "ServiceOwner"},
                            "content": {"title": {"value": [{"value": "T", "languageCode": "nb"}]}}}
            await client.post(f"{DIALOGS}/{self.id}/transmissions", headers=owner, json=transmission)
            return await client.put(f"{DIALOGS}/{self.id}", headers=owner, json={
                "content": dialog_body()["content"], "transmissions": [transmission]})

        async def activity_on_deleted() -> httpx.Response:
            return await client.post(f"{DIALOGS}/{await self.deleted()}/activities", headers=owner,
                                     json={"type": "Information", "performedBy": {"actorType": "ServiceOwner"}})

        async def update_deleted() -> httpx.Response:
            return await client.put(f"{DIALOGS}/{await self.deleted()}", headers=owner,
                                    json={"content": dialog_body()["content"]})

        async def enduser_deleted() -> httpx.Response:
            return await client.get(f"{ENDUSER_DIALOGS}/{await self.deleted()}", headers=kari)

        async def too_large() -> httpx.Response:
            return await client.post(DIALOGS, headers={**owner, "Content-Type": "application/json"},
                                     content=b'{"x": "' + b"a" * 30_000_000 + b'"}')

        async def correspondence_activity() -> httpx.Response:
            return await client.put(f"{DIALOGS}/{self.id}", headers=owner, json={
                "content": dialog_body()["content"], "activities": [
                    {"type": "CorrespondenceOpened", "performedBy": {"actorType": "ServiceOwner"}}]})

        async def transmission_update() -> httpx.Response:
            path = f"{DIALOGS}/{self.id}/transmissions/{self.transmission}"
            replaced = await client.put(path, headers=bearer(self.transmission_changer), json=UPDATED_TRANSMISSION)
            assert replaced.status_code == 204, replaced.text
            return await client.get(path, headers=owner)

        async def other_org() -> httpx.Response:
            return await client.get(f"{DIALOGS}/{self.id}", headers=bearer(self.other_owner))

        async def graphql_parties() -> httpx.Response:
            answered = await client.post(GRAPHQL, json={"query": PARTIES_QUERY}, headers=kari)
            assert answered.status_code == 200 and "errors" not in answered.json(), answered.text
            return httpx.Response(200, json=pascal_case(answered.json()["data"]))

        async def auth_level() -> httpx.Response:
            # A dialog of a service that needs a level 4 login, opened by Kari at level 3, as the recording does.
            created = await client.post(DIALOGS, headers=owner, json=dialog_body(
                serviceResource=HIGH_LEVEL_RESOURCE_URN))
            return await client.get(f"{ENDUSER_DIALOGS}/{created.json()}", headers=kari)

        def fetch(path: str, headers: dict[str, str]) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: self.get(path, headers)

        return {
            "Create_Complex_Dialog_Then_Get_Verify_Snapshot.created-response": created,
            "Create_Simple_Dialog_Then_Get_Verify_Snapshot.created-response": created,
            "Create_Complex_Dialog_Then_Get_Verify_Snapshot": fetch(dialog, owner),
            "Create_Simple_Dialog_Then_Get_Verify_Snapshot": fetch(dialog, owner),
            "Patch_Dialog_Then_Get_Verify_Snapshot": fetch(dialog, owner),
            "Put_Dialog_Then_Get_Verify_Snapshot": fetch(dialog, owner),
            "ServiceOwner/Dialogs/Queries/Get/Snapshots/GetDialogTests": fetch(dialog, owner),
            "EndUser/Dialogs/Queries/Get/Snapshots/GetDialogTests": fetch(enduser, kari),
            "ServiceOwner/Activities/Queries/Snapshots/GetActivityTests": fetch(dialog + "/activities/{activity}",
                                                                                owner),
            "ServiceOwner/Activities/Queries/Snapshots/SearchActivityTests": fetch(dialog + "/activities", owner),
            "EndUser/Activities/Queries/Snapshots/GetActivityTests": fetch(enduser + "/activities/{activity}", kari),
            "EndUser/Activities/Queries/Snapshots/SearchActivityTests": fetch(enduser + "/activities", kari),
            "ServiceOwner/SeenLogs/Queries/Snapshots/GetSeenLogTests": fetch(dialog + "/seenlog/{seen}", owner),
            "ServiceOwner/SeenLogs/Queries/Snapshots/SearchSeenLogTests": fetch(dialog + "/seenlog", owner),
            "EndUser/SeenLogs/Queries/Snapshots/GetSeenLogTests": fetch(enduser + "/seenlog/{seen}", kari),
            "EndUser/SeenLogs/Queries/Snapshots/SearchSeenLogTests": fetch(enduser + "/seenlog", kari),
            "ServiceOwner/Transmissions/Queries/Snapshots/GetTransmissionTests": fetch(
                dialog + "/transmissions/{transmission}", owner),
            "ServiceOwner/Transmissions/Queries/Snapshots/SearchTransmissionTests": fetch(dialog + "/transmissions",
                                                                                          owner),
            "CreateTransmissionTests.Create_Transmissions_Verify_Snapshot.created-response": created,
            "CreateTransmissionTests.Create_Transmissions_Verify_Snapshot": fetch(dialog + "/transmissions", owner),
            "UpdateTransmissionTests": transmission_update,
            "EndUser/Transmissions/Queries/Snapshots/GetTransmissionTests": fetch(
                enduser + "/transmissions/{transmission}", kari),
            "EndUser/Transmissions/Queries/Snapshots/SearchTransmissionTests": fetch(enduser + "/transmissions",
                                                                                     kari),
            "GetServiceOwnerLabelsSnapshotTests": fetch(dialog + "/context/labels", owner),
            "SearchLabelAssignmentLogSnapshotTests": fetch(enduser + "/context/labellog", kari),
            "EndUser/AccessManagement": fetch("/dialogporten/api/v1/enduser/parties", kari),
            "GraphQl.E2E.Tests/Features/AccessManagement": graphql_parties,
            "Should_Return_412": stale,
            "Should_Return_404_For_Update_On_Non_Existent_Dialog": fetch(f"{DIALOGS}/{missing}", owner),
            "ServiceOwner/ErrorResponse/Snapshots/ErrorResponseSnapshotTests.Should_Return_404_Error_Response_In":
                fetch(f"{DIALOGS}/{missing}", owner),
            "Should_Return_422_For_Update_With_Duplicate_Activity_Id": duplicate_activity_update,
            "Should_Return_422_For_Duplicate_Activity": duplicate_activity,
            "Should_Return_410_Error_Response_In_ProblemDetails_Format_When_Creating": activity_on_deleted,
            "Should_Return_400_For_Invalid_Dialog_Creation": bad_create,
            "Should_Return_400_For_Invalid_Dialog_Update": bad_update,
            "Should_Return_413": too_large,
            "Should_Return_410_For_Update_On_Deleted_Dialog": update_deleted,
            "Should_Return_409_For_Duplicate_Dialog_Id": duplicate_key,
            "Should_Return_403_For_Update_With_Correspondence": correspondence_activity,
            "Should_Return_409_For_Update_With_Duplicate_Transmission": duplicate_transmission_key,
            "Should_Return_404_Error_Response_For_Other_Orgs_Dialog": other_org,
            "Should_Return_403_For_Inadequate_Auth_Level": auth_level,
            "EndUser/ErrorResponse/Snapshots/ErrorResponseSnapshotTests.Should_Return_404_Error_Response_In":
                fetch(f"{ENDUSER_DIALOGS}/{missing}", kari),
            "Should_Return_404_Error_Response_For_NonExistent_Activity": fetch(enduser + f"/activities/{missing}",
                                                                                kari),
            "Should_Return_404_Error_Response_For_Activities_On_NonExistent_Dialog": fetch(
                f"{ENDUSER_DIALOGS}/{missing}/activities", kari),
            "EndUser/ErrorResponse/Snapshots/ErrorResponseSnapshotTests.Should_Return_410": enduser_deleted,
        }


def _call_for(path: Path, calls: dict[str, Any]) -> Any:
    name = str(path.relative_to(RECORDED)).removesuffix(".verified.json")
    matches = [key for key in calls if key in name]
    return calls[max(matches, key=len)] if matches else None


def _reason(path: Path) -> str | None:
    name = str(path.relative_to(RECORDED))
    return next((reason for key, reason in DIFFERENCES.items() if key in name), None)


@pytest.mark.usefixtures("resources", "high_level_resource")
@pytest.mark.parametrize("path", [
    pytest.param(path, id=("GraphQl." if "GraphQl" in str(path) else "") + path.name.removesuffix(".verified.json"),
                 marks=[pytest.mark.xfail(strict=True, reason=_reason(path))] if _reason(path) else [])
    for path in FILES])
async def test_the_recorded_response_shape_is_reproduced(client, token, path):
    kari = bearer(token(scopes=[END_USER], person=KARI.identifier))
    scenario = Scenario(client, bearer(token(scopes=[SERVICE_PROVIDER], org="405003309")), kari)
    scenario.other_owner = token(scopes=[SERVICE_PROVIDER], org="991825827")
    scenario.transmission_changer = token(scopes=[SERVICE_PROVIDER, CHANGE_TRANSMISSIONS], org="405003309")
    await scenario.start()
    call = _call_for(path, scenario.calls())
    assert call is not None, f"no call replays {path.name}"
    response = await call()
    recorded = json.loads(path.read_text(encoding="utf-8-sig"))
    found = differences(shape(recorded), shape(response.json()))
    if isinstance(recorded, dict) and "status" in recorded and "traceId" in recorded:
        found += [] if response.status_code == recorded["status"] else [
            f"status {response.status_code} != {recorded['status']}"]
    assert found == [], response.text


def test_every_recording_is_replayed():
    assert len(FILES) == 49
