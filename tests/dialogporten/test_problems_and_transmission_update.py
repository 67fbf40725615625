"""Dialogporten's own problem format on its API (`type`, `title`, `status`, `instance`, `traceId`, `errors`, as its
recorded error responses have them; no Felles-only fields), and the replacement of a transmission
(`PUT .../transmissions/{id}`) with its scope, revision, silent updates and refusals."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.conftest import bearer
from tests.dialogporten.conftest import DIALOGS, END_USER, ENDUSER_DIALOGS, KARI, OLA, SERVICE_PROVIDER, create_dialog

pytestmark = pytest.mark.usefixtures("resources")
CHANGE = "digdir:dialogporten.serviceprovider.changetransmissions"
NEW = {"type": "Submission", "externalReference": "ny-ref", "sender": {"actorType": "ServiceOwner"},
       "content": {"title": {"value": [{"value": "Oppdatert melding", "languageCode": "nb"}]}}}


@pytest.fixture
def changer(token):
    return bearer(token(scopes=[SERVICE_PROVIDER, CHANGE], org="405003309"))


async def _first_transmission(client, owner_headers, dialog_id: str) -> str:
    listed = await client.get(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers)
    return str(listed.json()[0]["id"])


async def test_problems_are_dialogportens_problem_details(client, owner_headers, token):
    missing = str(uuid.uuid4())
    response = await client.get(f"{DIALOGS}/{missing}", headers=owner_headers)
    problem = response.json()
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert set(problem) == {"type", "title", "status", "instance", "traceId", "errors"}
    assert problem["title"] == "Resource not found." and problem["instance"] == f"{DIALOGS}/{missing}"
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", problem["traceId"])
    assert missing in problem["errors"]["DialogEntity"][0]

    stale = await client.put(f"{DIALOGS}/{await create_dialog(client, owner_headers)}",
                             headers={**owner_headers, "If-Match": str(uuid.uuid4())},
                             json={"content": NEW["content"]})
    assert stale.status_code == 412 and set(stale.json()) == {"type", "title", "status", "instance", "traceId"}

    too_large = await client.post(DIALOGS, headers={**owner_headers, "Content-Type": "application/json"},
                                  content=b'{"x": "' + b"a" * 2_000_000 + b'"}')
    assert too_large.status_code == 413
    assert re.fullmatch(r"Payload too large\. The maximum allowed size is \d+ bytes\.", too_large.json()["title"])

    kari = bearer(token(scopes=[END_USER], person=KARI.identifier))
    foreign = await client.get(ENDUSER_DIALOGS, params={"party": f"urn:altinn:person:identifier-no:"
                                                                 f"{OLA.identifier}"}, headers=kari)
    assert foreign.status_code == 403 and foreign.json()["errors"]["PartyNotAuthorized"]


async def test_a_transmission_is_replaced_with_the_scope_for_it(client, owner_headers, changer, token):
    dialog_id = await create_dialog(client, owner_headers)
    transmission_id = await _first_transmission(client, owner_headers, dialog_id)
    path = f"{DIALOGS}/{dialog_id}/transmissions/{transmission_id}"
    before = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()

    assert (await client.put(path, headers=owner_headers, json=NEW)).status_code == 403  # without the scope
    stale = await client.put(path, headers={**changer, "If-Match": str(uuid.uuid4())}, json=NEW)
    assert stale.status_code == 412

    replaced = await client.put(path, headers={**changer, "If-Match": before["revision"]}, json=NEW)
    assert replaced.status_code == 204, replaced.text
    assert replaced.headers["ETag"] != before["revision"]
    got = (await client.get(path, headers=owner_headers)).json()
    assert got["id"] == transmission_id and got["type"] == "Submission" and got["externalReference"] == "ny-ref"
    assert got["content"]["title"]["value"][0]["value"] == "Oppdatert melding"
    after = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()
    assert after["contentUpdatedAt"] > before["contentUpdatedAt"]  # news for the end user

    silent = await client.put(path, headers=changer, json={**NEW, "externalReference": "stille",
                                                           "isSilentUpdate": True})
    assert silent.status_code == 204
    quiet = (await client.get(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).json()
    assert quiet["contentUpdatedAt"] == after["contentUpdatedAt"] and quiet["revision"] != after["revision"]
    assert (await client.get(path, headers=owner_headers)).json()["externalReference"] == "stille"


async def test_replacing_a_transmission_refuses_what_dialogporten_refuses(client, owner_headers, changer,
                                                                         other_owner_headers, token):
    dialog_id = await create_dialog(client, owner_headers)
    transmission_id = await _first_transmission(client, owner_headers, dialog_id)
    path = f"{DIALOGS}/{dialog_id}/transmissions/{transmission_id}"

    unknown = await client.put(f"{DIALOGS}/{dialog_id}/transmissions/{uuid.uuid4()}", headers=changer, json=NEW)
    assert unknown.status_code == 404 and "DialogTransmission" in unknown.json()["errors"]
    dangling = await client.put(path, headers=changer, json={**NEW, "relatedTransmissionId": transmission_id})
    assert dangling.status_code == 422 and "DialogTransmission" in dangling.json()["errors"]
    invalid = await client.put(path, headers=changer, json={**NEW, "type": "Nope"})
    assert invalid.status_code == 400 and "dto.type" in invalid.json()["errors"]
    other = bearer(token(scopes=[SERVICE_PROVIDER, CHANGE], org="991825827"))
    assert (await client.put(path, headers=other, json=NEW)).status_code == 404  # another owner's dialog

    assert (await client.delete(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).status_code == 204
    gone = await client.put(path, headers=changer, json=NEW)
    assert gone.status_code == 410 and gone.json()["title"] == "Resource no longer available."
