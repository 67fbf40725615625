"""The `Sent` label: Dialogporten adds it itself when the party's transmission (Submission or Correction) is
added to a dialog, however it is added, and logs it; no other transmission sets it, and end users may neither set
nor remove it, though filing the dialog elsewhere keeps it."""

from __future__ import annotations

import pytest

from tests.dialogporten.conftest import DIALOGS, ENDUSER_DIALOGS, KARI, create_dialog
from tests.dialogporten.test_mirrors import end_user

pytestmark = pytest.mark.usefixtures("resources")

PARTY = {"actorType": "PartyRepresentative", "actorName": "Kari Nordmann"}


def transmission(kind: str, sender: dict[str, str]) -> dict[str, object]:
    return {"type": kind, "sender": sender, "content": {"title": {"value": [{"value": kind, "languageCode": "nb"}]}}}


async def labels(client, token, dialog_id: str) -> list[str]:
    dialog = await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=end_user(token, KARI.identifier))
    assert dialog.status_code == 200, dialog.text
    return list(dialog.json()["endUserContext"]["systemLabels"])


async def test_the_partys_submission_files_the_dialog_as_sent_and_logs_it(client, owner_headers, token) -> None:
    dialog_id = await create_dialog(client, owner_headers)  # its one transmission is the owner's Information
    assert await labels(client, token, dialog_id) == ["Default"]

    added = await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers,
                              json=transmission("Submission", PARTY))
    assert added.status_code == 201, added.text
    assert await labels(client, token, dialog_id) == ["Default", "Sent"]
    log = (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}/context/labellog",
                            headers=end_user(token, KARI.identifier))).json()
    assert [(entry["name"], entry["action"]) for entry in log][-1] == ("systemlabel:Sent", "set")
    listed = await client.get(ENDUSER_DIALOGS, params={"systemLabel": "Sent"},
                              headers=end_user(token, KARI.identifier))
    assert dialog_id in [item["id"] for item in listed.json()["items"]]

    # Another submission changes nothing more: the label is there once, logged once.
    await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers,
                      json=transmission("Correction", PARTY))
    assert await labels(client, token, dialog_id) == ["Default", "Sent"]
    log = (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}/context/labellog",
                            headers=end_user(token, KARI.identifier))).json()
    assert [entry["name"] for entry in log].count("systemlabel:Sent") == 1


async def test_a_correction_in_a_new_dialog_or_an_update_files_it_as_sent(client, owner_headers, token) -> None:
    created = await create_dialog(client, owner_headers, transmissions=[transmission("Correction", PARTY)])
    assert "Sent" in await labels(client, token, created)

    other = await create_dialog(client, owner_headers)
    body = (await client.get(f"{DIALOGS}/{other}", headers=owner_headers)).json()
    patch = [{"op": "add", "path": "/transmissions/-", "value": transmission("Submission", PARTY)}]
    patched = await client.patch(f"{DIALOGS}/{other}", headers=owner_headers | {"If-Match": body["revision"]},
                                 json=patch)
    assert patched.status_code == 204, patched.text
    assert "Sent" in await labels(client, token, other)


async def test_the_owners_own_messages_do_not_file_it_as_sent(client, owner_headers, token) -> None:
    dialog_id = await create_dialog(client, owner_headers, transmissions=[
        transmission(kind, {"actorType": "ServiceOwner"}) for kind in ("Information", "Request", "Decision")])
    assert await labels(client, token, dialog_id) == ["Default"]


async def test_an_end_user_neither_sets_nor_removes_sent_but_filing_keeps_it(client, owner_headers, token) -> None:
    plain = await create_dialog(client, owner_headers)
    headers = end_user(token, KARI.identifier)
    refused = await client.put(f"{ENDUSER_DIALOGS}/{plain}/context/systemlabels", headers=headers,
                               json={"addLabels": ["Sent"]})
    assert refused.status_code == 400 and "cannot be set or removed" in refused.text

    sent = await create_dialog(client, owner_headers, transmissions=[transmission("Submission", PARTY)])
    kept = await client.put(f"{ENDUSER_DIALOGS}/{sent}/context/systemlabels", headers=headers,
                            json={"removeLabels": ["Sent"]})
    assert kept.status_code == 400
    archived = await client.put(f"{ENDUSER_DIALOGS}/{sent}/context/systemlabels", headers=headers,
                                json={"systemLabels": ["Archive"]})
    assert archived.status_code == 204, archived.text
    assert sorted(await labels(client, token, sent)) == ["Archive", "Sent"]
