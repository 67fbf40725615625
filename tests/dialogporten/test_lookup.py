"""Dialogporten's reference lookup: an app instance's, a correspondence's or a dialog's reference leads to the
dialog and its canonical reference (the instance's, else the correspondence's, else the dialog's), for end users
with the evidence of their access and for service owners with deleted dialogs too; a bad reference, another
party's dialog and another owner's dialog are refused clearly."""

from __future__ import annotations

import uuid

import pytest

from felles.authorization import service as authorization
from tests.apps.runtime import conftest as runtime_fixtures
from tests.apps.runtime.conftest import APP_ID, KARI, OLA
from tests.conftest import bearer
from tests.correspondence import conftest as correspondence_fixtures
from tests.correspondence.conftest import person, send_published
from tests.dialogporten.conftest import COMPANY_URN, DIALOGS, INGRID, create_dialog
from tests.dialogporten.test_graphql import run
from tests.dialogporten.test_mirrors import end_user, run_jobs

soknad, kari, ttd = runtime_fixtures.soknad, runtime_fixtures.kari, runtime_fixtures.ttd
resource, sender = correspondence_fixtures.resource, correspondence_fixtures.sender

END_USER_LOOKUP = "/dialogporten/api/v1/enduser/dialoglookup"
OWNER_LOOKUP = "/dialogporten/api/v1/serviceowner/dialoglookup"
PERSON = "urn:altinn:person:identifier-no:"


async def test_an_instance_is_found_by_its_own_reference_and_by_its_dialogs(client, database, soknad, kari,
                                                                           token) -> None:
    kari_party = (await authorization.party_of(database, KARI)).party_id
    instance = (await client.post(f"/{APP_ID}/instances", params={"instanceOwnerPartyId": kari_party},
                                  headers=kari)).json()
    await run_jobs(database)
    reference = f"urn:altinn:instance-id:{instance['id']}"

    found = await client.get(END_USER_LOOKUP, params={"instanceRef": reference}, headers=end_user(token, KARI))
    assert found.status_code == 200, found.text
    lookup = found.json()
    assert lookup["instanceRef"] == reference and lookup["party"] == PERSON + KARI
    assert lookup["serviceResource"]["id"] == "app_ttd_runtime-soknad"  # without the resource prefix
    dialog_id = lookup["dialogId"]
    # The dialog's own id leads to the same dialog, named by the instance it mirrors.
    again = await client.get(END_USER_LOOKUP, params={"instanceRef": f"urn:altinn:dialog-id:{dialog_id}"},
                             headers=end_user(token, KARI))
    assert again.json()["instanceRef"] == reference and again.json()["dialogId"] == dialog_id

    # The same instance under another party id is no instance.
    guid = instance["id"].split("/")[1]
    elsewhere = await client.get(END_USER_LOOKUP, params={"instanceRef": f"urn:altinn:instance-id:{kari_party + 1}/"
                                                                         f"{guid}"}, headers=end_user(token, KARI))
    assert elsewhere.status_code == 404
    # Ola may not read Kari's form: refused, as Dialogporten refuses it.
    olas = await client.get(END_USER_LOOKUP, params={"instanceRef": reference}, headers=end_user(token, OLA))
    assert olas.status_code == 403 and olas.headers["content-type"].startswith("application/problem+json")


async def test_a_correspondence_is_found_by_its_reference_in_rest_and_graphql(client, database, resource, sender,
                                                                             token) -> None:
    (correspondence_id,) = await send_published(client, database, sender, person(KARI))
    await run_jobs(database)
    reference = f"urn:altinn:correspondence-id:{correspondence_id}"

    found = await client.get(END_USER_LOOKUP, params={"instanceRef": reference.upper().replace("URN:ALTINN:",
                                                                                                "urn:altinn:")},
                             headers=end_user(token, KARI))
    assert found.status_code == 200, found.text
    assert found.json()["instanceRef"] == reference
    graphql = await run(client, end_user(token, KARI), "dialogLookup", instanceRef=reference)
    assert graphql["dialogLookup"] == {"lookup": {"instanceRef": reference, "dialogId": found.json()["dialogId"],
                                                  "serviceResource": {"id": resource, "isDelegable": True}},
                                       "errors": []}
    hidden = await run(client, end_user(token, OLA), "dialogLookup", instanceRef=reference)
    assert hidden["dialogLookup"]["lookup"] is None
    assert hidden["dialogLookup"]["errors"][0]["message"].startswith("You are not authorized")


@pytest.mark.usefixtures("resources")
async def test_the_evidence_names_the_role_that_meets_the_policy(client, owner_headers, token) -> None:
    dialog_id = await create_dialog(client, owner_headers, party=COMPANY_URN)
    reference = f"urn:altinn:dialog-id:{dialog_id}"

    found = await client.get(END_USER_LOOKUP, params={"instanceRef": reference},
                             headers=end_user(token, INGRID.identifier) | {"Accept-Language": "en"})
    assert found.status_code == 200, found.text
    lookup = found.json()
    assert lookup["instanceRef"] == reference and lookup["party"] == COMPANY_URN
    assert lookup["serviceResource"]["name"] == [{"value": "Dialogporten test", "languageCode": "en"}]
    evidence = lookup["authorizationEvidence"]
    # Ingrid is the company's daglig leder, a role the service's policy names; no delegation gave her access.
    assert evidence["viaRole"] is True and evidence["viaResourceDelegation"] is False
    assert "urn:altinn:rolecode:dagl" in [item["subject"] for item in evidence["evidence"]
                                         if item["grantType"] == "Role"]
    assert all(item["name"] for item in evidence["evidence"])
    assert evidence["currentAuthenticationLevel"] == 3


@pytest.mark.usefixtures("resources")
async def test_a_service_owner_looks_up_its_own_dialogs_deleted_too(client, owner_headers, other_owner_headers,
                                                                   token) -> None:
    dialog_id = await create_dialog(client, owner_headers)
    reference = f"urn:altinn:dialog-id:{dialog_id}"
    assert (await client.delete(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).status_code == 204

    owners = await client.get(OWNER_LOOKUP, params={"instanceRef": reference}, headers=owner_headers)
    assert owners.status_code == 200, owners.text
    assert owners.json()["dialogId"] == dialog_id and "authorizationEvidence" not in owners.json()
    assert owners.json()["title"][0]["value"] == "Skjema for rapportering av et eller annet"
    other = await client.get(OWNER_LOOKUP, params={"instanceRef": reference}, headers=other_owner_headers)
    assert other.status_code == 403
    # To the end user the deleted dialog is gone.
    karis = await client.get(END_USER_LOOKUP, params={"instanceRef": reference},
                             headers=end_user(token, KARI))
    assert karis.status_code == 404
    # An end user's token is not a service owner's.
    assert (await client.get(OWNER_LOOKUP, params={"instanceRef": reference},
                             headers=end_user(token, KARI))).status_code in (401, 403)


GUID = "0193d7a4-5f4e-7c1b-9a63-3f1c2b9e8d11"


@pytest.mark.parametrize("reference", ["urn:altinn:dialog-id:not-a-uuid", f"urn:altinn:instance-id:{GUID}",
                                       f"urn:altinn:instance-id:x/{GUID}", f"dialog-id:{GUID}", "",
                                       "urn:altinn:correspondence-id:" + GUID.replace("-", "")])
async def test_a_reference_dialogporten_does_not_support_is_a_clear_400(client, token, reference) -> None:
    answer = await client.get(END_USER_LOOKUP, params={"instanceRef": reference}, headers=end_user(token, KARI))
    assert answer.status_code == 400
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "must be a supported identifier" in problem["errors"]["InstanceRef"][0]
    typed = await run(client, end_user(token, KARI), "dialogLookup", instanceRef=reference)
    assert typed["dialogLookup"]["lookup"] is None and "supported identifier" in typed["dialogLookup"]["errors"][0][
        "message"]


async def test_an_unknown_reference_is_not_found(client, token) -> None:
    answer = await client.get(END_USER_LOOKUP, params={"instanceRef": f"urn:altinn:dialog-id:{uuid.uuid4()}"},
                              headers=bearer(token(scopes=["digdir:dialogporten"], person=KARI)))
    assert answer.status_code == 404
    assert answer.json()["errors"]
