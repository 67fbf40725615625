"""Dialogporten's GraphQL API, served from its published SDL: every query and mutation the real Arbeidsflate sends
to Dialogporten (`arbeidsflate-queries/`) validates against our schema and answers over HTTP, the typed errors,
and the `dialogEvents` subscription over server-sent events with a dialog token."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from graphql import build_schema, parse, print_schema, validate

from felles.app import create_app
from felles.dialogporten.graphql import SDL, schema
from tests.conftest import REFERENCE, bearer, serve_app
from tests.dialogporten.conftest import (
    COMPANY_URN,
    DIALOGS,
    END_USER,
    INGRID,
    KARI,
    KARI_URN,
    OLA,
    create_dialog,
    dialog_body,
)

QUERIES = REFERENCE / "api-specs/dialogporten/arbeidsflate-queries"
PUBLISHED_SDL = REFERENCE / "api-specs/dialogporten/schema.verified.graphql"
# Arbeidsflate's operations that Dialogporten answers; the rest go to the inbox's own back end (its profile,
# saved searches, favourites, notification settings, the resource registry lists).
DIALOGPORTEN_FILES = ("dialog.graphql", "dialogLookup.graphql", "dialogs.graphql", "parties.graphql",
                      "systemLabel.graphql")
GRAPHQL = "/dialogporten/graphql"
OLA_URN = f"urn:altinn:person:identifier-no:{OLA.identifier}"


def _fragments() -> dict[str, str]:
    fragments = {}
    for path in QUERIES.glob("*.graphql"):
        text = path.read_text(encoding="utf-8-sig")
        for match in re.finditer(r"^fragment (\w+) on .*?^}", text, flags=re.MULTILINE | re.DOTALL):
            fragments[match.group(1)] = match.group(0)
    return fragments


def _operations() -> dict[str, str]:
    """Each Dialogporten operation with the fragments it spreads (transitively), as Arbeidsflate sends it."""
    fragments = _fragments()
    operations = {}
    for name in DIALOGPORTEN_FILES:
        text = (QUERIES / name).read_text(encoding="utf-8-sig")
        for match in re.finditer(r"^(?:query|mutation) (\w+).*?^}", text, flags=re.MULTILINE | re.DOTALL):
            body, needed, queue = match.group(0), [], list(re.findall(r"\.\.\.(\w+)", match.group(0)))
            while queue:
                fragment = queue.pop()
                if fragment not in needed and fragment in fragments:
                    needed.append(fragment)
                    queue += re.findall(r"\.\.\.(\w+)", fragments[fragment])
            operations[match.group(1)] = "\n".join([body, *(fragments[fragment] for fragment in needed)])
    return operations


OPERATIONS = _operations()


def test_the_schema_is_dialogportens_published_sdl():
    assert print_schema(schema) == print_schema(build_schema(PUBLISHED_SDL.read_text(encoding="utf-8-sig")))
    assert SDL == PUBLISHED_SDL.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_arbeidsflates_operation_validates_against_the_schema(name):
    assert validate(schema, parse(OPERATIONS[name])) == []


def test_every_dialogporten_operation_of_arbeidsflate_is_covered():
    assert sorted(OPERATIONS) == ["bulkUpdateSystemLabels", "dialogAccessInfo", "dialogLookup",
                                  "getAllDialogsForParties", "getDialogById", "parties", "updateSystemLabel"]


@pytest.fixture
def kari(token):
    return bearer(token(scopes=[END_USER], person=KARI.identifier))


async def run(client, headers, name, **variables):
    response = await client.post(GRAPHQL, json={"query": OPERATIONS[name], "variables": variables},
                                 headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert "errors" not in result, result
    return result["data"]


@pytest.mark.usefixtures("resources")
async def test_arbeidsflates_operations_answer(client, owner_headers, kari):
    dialog_id = await create_dialog(client, owner_headers)
    await create_dialog(client, owner_headers, party=COMPANY_URN)  # Kari, a board member, may not read it

    found = (await run(client, kari, "getAllDialogsForParties", partyURIs=[KARI_URN], limit=10,
                       label=["DEFAULT"]))["searchDialogs"]
    assert [item["id"] for item in found["items"]] == [dialog_id] and found["hasNextPage"] is False
    item = found["items"][0]
    assert item["status"] == "IN_PROGRESS" and item["content"]["title"]["value"][0]["languageCode"] == "nb"
    assert item["endUserContext"]["systemLabels"] == ["DEFAULT"]

    dialog = (await run(client, kari, "getDialogById", id=dialog_id))["dialogById"]
    assert dialog["errors"] == [] and dialog["dialog"]["id"] == dialog_id
    assert dialog["dialog"]["dialogToken"]
    assert {action["action"]: action["isAuthorized"] for action in dialog["dialog"]["guiActions"]} == {
        "read": True, "sign": False}

    parties = (await run(client, kari, "parties"))["parties"]
    assert any(party["party"] == KARI_URN and party["isCurrentEndUser"] for party in parties)

    lookup = (await run(client, kari, "dialogLookup", instanceRef=f"urn:altinn:dialog-id:{dialog_id}"))
    assert lookup["dialogLookup"]["lookup"]["dialogId"] == dialog_id
    access = (await run(client, kari, "dialogAccessInfo", instanceRef=f"urn:altinn:dialog-id:{dialog_id}"))
    assert access["dialogLookup"]["lookup"]["serviceOwner"]["code"] == "ttd"

    labelled = await run(client, kari, "updateSystemLabel", dialogId=dialog_id, addLabels=["ARCHIVE"],
                         removeLabels=[])
    assert labelled["setSystemLabel"]["success"] is True
    archived = (await run(client, kari, "getAllDialogsForParties", label=["ARCHIVE"]))["searchDialogs"]["items"]
    assert [item["id"] for item in archived] == [dialog_id]
    bulk = await run(client, kari, "bulkUpdateSystemLabels", dialogs=[{"dialogId": dialog_id}],
                     addLabels=["BIN"], removeLabels=[])
    assert bulk["bulkSetSystemLabels"]["success"] is True


@pytest.mark.usefixtures("resources")
async def test_refusals_are_the_payloads_typed_errors(client, owner_headers, kari, token):
    dialog_id = await create_dialog(client, owner_headers)
    ingrid = bearer(token(scopes=[END_USER], person=INGRID.identifier))
    missing = (await run(client, ingrid, "getDialogById", id=dialog_id))["dialogById"]
    assert missing["dialog"] is None and missing["errors"][0]["__typename"] == "DialogByIdNotFound"
    too_many = await client.post(GRAPHQL, headers=kari, json={
        "query": "query($p: [String!]) { searchDialogs(input: {party: $p}) { items { id } errors { __typename "
                 "message } } }", "variables": {"p": [KARI_URN] * 101}})
    assert too_many.json()["data"]["searchDialogs"]["errors"][0]["__typename"] == "SearchDialogValidationError"
    foreign = await client.post(GRAPHQL, headers=kari, json={
        "query": "query($p: [String!]) { searchDialogs(input: {party: $p}) { items { id } errors { __typename } } }",
        "variables": {"p": [OLA_URN]}})
    assert foreign.json()["data"]["searchDialogs"]["errors"][0]["__typename"] == "SearchDialogForbidden"
    unknown = await run(client, kari, "updateSystemLabel", dialogId=str(uuid.uuid4()), addLabels=["BIN"],
                        removeLabels=[])
    assert unknown["setSystemLabel"]["success"] is False
    limits = await client.post(GRAPHQL, headers=kari, json={"query": "{ limits { endUserSearch { "
                                                                     "maxPartyFilterValues } } }"})
    assert limits.json()["data"]["limits"]["endUserSearch"]["maxPartyFilterValues"] == 100
    invalid = await client.post(GRAPHQL, headers=kari, json={"query": "{ nothing }"})
    assert invalid.status_code == 400 and invalid.json()["errors"]
    assert (await client.post(GRAPHQL, json={"query": "{ limits { endUserSearch { maxOrgFilterValues } } }"})
            ).status_code == 401


@pytest.mark.usefixtures("resources")
def test_dialog_events_arrive_over_server_sent_events(token, settings):
    owner = bearer(token(scopes=["digdir:dialogporten.serviceprovider"], org="405003309"))
    kari = bearer(token(scopes=[END_USER], person=KARI.identifier))
    # Its own app: the server's loop runs in another thread, where the test's database connections cannot go.
    served = serve_app(create_app(settings, run_worker=False))
    with served as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        created = http.post(DIALOGS, json=dialog_body(), headers=owner)
        assert created.status_code == 201, created.text
        dialog_id = created.json()
        dialog_token = http.get(f"/dialogporten/api/v1/enduser/dialogs/{dialog_id}", headers=kari).json()[
            "dialogToken"]
        subscription = {"query": "subscription($id: UUID!) { dialogEvents(dialogId: $id) { id type } }",
                        "variables": {"id": dialog_id}}
        refused = http.post(GRAPHQL, json=subscription, headers={**kari, "Accept": "text/event-stream"})
        assert refused.status_code == 401

        def change_then_delete() -> None:
            time.sleep(1.5)
            http.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner,
                      json={"type": "FormSaved", "performedBy": {"actorType": "ServiceOwner"}})
            time.sleep(1.5)
            http.delete(f"{DIALOGS}/{dialog_id}", headers=owner)

        writer = threading.Thread(target=change_then_delete)
        writer.start()
        received = []
        with http.stream("POST", GRAPHQL, json=subscription,
                         headers={"Authorization": f"Bearer {dialog_token}", "Accept": "text/event-stream"}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: {"):
                    received.append(json.loads(line.removeprefix("data: "))["data"]["dialogEvents"]["type"])
        writer.join()
    assert received == ["DIALOG_UPDATED", "DIALOG_DELETED"]


def test_the_packaged_sdl_is_in_the_package():
    assert Path(__file__).resolve().parents[2].joinpath("src/felles/dialogporten/schema.graphql").exists()
