"""The end users' API: a person sees exactly the dialogs of the parties they may act for whose service resource
the decision point lets them read (by role, package and delegation), reads a dialog (seen log, unread marker,
what each action allows, a dialog token), files dialogs with system labels, and gets clear problems."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service_delegations
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.tokens import Issuer
from tests.conftest import bearer, forget_cached_authorization
from tests.dialogporten.conftest import (
    COMPANY,
    COMPANY_URN,
    DIALOGS,
    END_USER,
    ENDUSER_DIALOGS,
    INGRID,
    KARI,
    KARI_URN,
    OLA,
    RESOURCE_URN,
    TTD,
    create_dialog,
)

pytestmark = pytest.mark.usefixtures("resources")
INGRID_URN = f"urn:altinn:person:identifier-no:{INGRID.identifier}"


@pytest.fixture
def person(token):
    return lambda who: bearer(token(scopes=[END_USER], person=who.identifier))


async def listed(client, headers, **params) -> list[str]:
    response = await client.get(ENDUSER_DIALOGS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_each_person_sees_exactly_the_dialogs_of_the_parties_they_may_read(client, database, owner_headers,
                                                                                 person):
    karis = await create_dialog(client, owner_headers)
    companys = await create_dialog(client, owner_headers, party=COMPANY_URN)
    ingrids = await create_dialog(client, owner_headers, party=INGRID_URN)
    assert await listed(client, person(KARI)) == [karis]  # a board member (MEDL) only: not the company's
    assert set(await listed(client, person(INGRID))) == {companys, ingrids}  # daglig leder
    assert await listed(client, person(OLA)) == []
    assert (await client.get(f"{ENDUSER_DIALOGS}/{karis}", headers=person(OLA))).status_code == 404

    # Ingrid gives Ola the package for the company's ordinary mail: he may read its dialogs, not sign them.
    await service_delegations.delegate_package(
        database, Actor(f"person:{INGRID.identifier}"), INGRID.identifier,
        authorization_schemas.PackageDelegationCreate(party=COMPANY, to=OLA.identifier,
                                                      package="ordinaer-post-til-virksomheten"))
    forget_cached_authorization()
    assert await listed(client, person(OLA)) == [companys]
    dialog = (await client.get(f"{ENDUSER_DIALOGS}/{companys}", headers=person(OLA))).json()
    assert {action["action"]: action["isAuthorized"] for action in dialog["guiActions"]} == {
        "read": True, "sign": False}
    dialog = (await client.get(f"{ENDUSER_DIALOGS}/{companys}", headers=person(INGRID))).json()
    assert {action["action"]: action["isAuthorized"] for action in dialog["guiActions"]} == {
        "read": True, "sign": True}
    assert await listed(client, person(INGRID), party=[COMPANY_URN]) == [companys]


async def test_reading_a_dialog_writes_the_seen_log_and_marks_its_content_seen(client, owner_headers, person,
                                                                                 settings):
    dialog_id = await create_dialog(client, owner_headers)
    item = (await client.get(ENDUSER_DIALOGS, headers=person(KARI))).json()["items"][0]
    assert item["isContentSeen"] is False and item["hasUnopenedContent"] is True
    response = await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=person(KARI))
    assert response.status_code == 200
    dialog = response.json()
    assert dialog["isContentSeen"] is True and "idempotentKey" not in dialog
    assert dialog["seenSinceLastUpdate"][0]["seenBy"]["actorId"] == KARI_URN
    assert dialog["seenSinceLastUpdate"][0]["isCurrentEndUser"] is True
    assert dialog["content"]["mainContentReference"] is None
    again = (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=person(KARI))).json()
    assert len(again["seenSinceLastUpdate"]) == 1
    seen_log = (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}/seenlog", headers=person(KARI))).json()
    assert len(seen_log) == 1
    by_owner = (await client.get(f"{DIALOGS}/{dialog_id}/seenlog", headers=owner_headers)).json()
    assert by_owner[0]["seenBy"]["actorId"] == KARI_URN and "isCurrentEndUser" not in by_owner[0]

    # A save that does not change the content leaves it seen; a new transmission is unseen content again, and
    # stays unopened until the service owner reports it opened.
    await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers,
                      json={"type": "FormSaved", "performedBy": {"actorType": "ServiceOwner"}})
    assert await listed(client, person(KARI), isContentSeen="true") == [dialog_id]
    sent = await client.post(f"{DIALOGS}/{dialog_id}/transmissions", headers=owner_headers, json={
        "type": "Information", "sender": {"actorType": "ServiceOwner"},
        "content": {"title": {"value": [{"value": "Nytt brev", "languageCode": "nb"}]}}})
    assert await listed(client, person(KARI), isContentSeen="false") == [dialog_id]
    for transmission in (dialog["transmissions"][0]["id"], sent.json()):
        await client.post(f"{DIALOGS}/{dialog_id}/activities", headers=owner_headers, json={
            "type": "TransmissionOpened", "transmissionId": transmission,
            "performedBy": {"actorType": "PartyRepresentative", "actorId": KARI_URN}})
    item = (await client.get(ENDUSER_DIALOGS, headers=person(KARI))).json()["items"][0]
    assert item["hasUnopenedContent"] is False and item["isContentSeen"] is False

    # The dialog token names Kari, the party, the dialog and what she may do, signed with the published keys.
    keys = KeySet.import_key_set((await client.get("/dialogporten/api/v1/.well-known/jwks.json")).json())
    claims = jwt.decode(dialog["dialogToken"], keys, algorithms=["RS256"]).claims
    assert claims["c"] == KARI_URN and claims["p"] == KARI_URN and claims["i"] == dialog_id
    assert claims["iss"] == settings.base_url.rstrip("/") + "/dialogporten/api/v1"
    assert set(claims["a"].split(";")) == {"read", "write"}


async def test_hidden_dialogs_are_not_found_and_deleted_ones_gone(client, owner_headers, person):
    later = await create_dialog(client, owner_headers, visibleFrom=(utcnow() + timedelta(days=1)).isoformat())
    deleted = await create_dialog(client, owner_headers)
    await client.delete(f"{DIALOGS}/{deleted}", headers=owner_headers)
    assert await listed(client, person(KARI)) == []
    for dialog_id in (later, str(uuid.uuid4())):
        assert (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=person(KARI))).status_code == 404
    # A deleted dialog is gone (410) for one who may read it, as in Dialogporten; to anyone else it is not found.
    assert (await client.get(f"{ENDUSER_DIALOGS}/{deleted}", headers=person(KARI))).status_code == 410
    assert (await client.get(f"{ENDUSER_DIALOGS}/{deleted}", headers=person(OLA))).status_code == 404


async def test_system_labels_file_dialogs_one_at_a_time_and_in_bulk(client, owner_headers, person):
    first, second = await create_dialog(client, owner_headers), await create_dialog(client, owner_headers)
    revision = (await client.get(f"{ENDUSER_DIALOGS}/{first}", headers=person(KARI))).json()["endUserContext"][
        "revision"]
    stale = await client.put(f"{ENDUSER_DIALOGS}/{first}/context/systemlabels", json={"addLabels": ["Archive"]},
                             headers={**person(KARI), "If-Match": str(uuid.uuid4())})
    assert stale.status_code == 412
    archived = await client.put(f"{ENDUSER_DIALOGS}/{first}/context/systemlabels", json={"addLabels": ["Archive"]},
                                headers={**person(KARI), "If-Match": revision})
    assert archived.status_code == 204
    assert await listed(client, person(KARI), systemLabel=["Archive"]) == [first]
    assert await listed(client, person(KARI), systemLabel=["Default"]) == [second]
    both = await client.post(f"{ENDUSER_DIALOGS}/context/systemlabels/actions/bulkset", headers=person(KARI),
                             json={"dialogs": [{"dialogId": first}, {"dialogId": second}],
                                   "addLabels": ["Bin", "MarkedAsUnopened"]})
    assert both.status_code == 204
    assert set(await listed(client, person(KARI), systemLabel=["Bin"])) == {first, second}
    assert set(await listed(client, person(KARI), systemLabel=["MarkedAsUnopened"])) == {first, second}
    log = (await client.get(f"{ENDUSER_DIALOGS}/{first}/context/labellog", headers=person(KARI))).json()
    assert [(entry["name"], entry["action"]) for entry in log][:2] == [("systemlabel:Archive", "set"),
                                                                        ("systemlabel:Default", "remove")]
    two_folders = await client.put(f"{ENDUSER_DIALOGS}/{first}/context/systemlabels",
                                   json={"systemLabels": ["Bin", "Archive"]}, headers=person(KARI))
    assert two_folders.status_code == 400
    foreign = await client.post(f"{ENDUSER_DIALOGS}/context/systemlabels/actions/bulkset", headers=person(OLA),
                                json={"dialogs": [{"dialogId": first}], "addLabels": ["Archive"]})
    assert foreign.status_code == 404


async def test_parties_lists_the_person_and_who_they_act_for(client, person):
    parties = (await client.get("/dialogporten/api/v1/enduser/parties", headers=person(INGRID))).json()
    listed_parties = {party["party"]: party for party in parties["authorizedParties"]}
    assert listed_parties[INGRID_URN]["isCurrentEndUser"] is True
    assert listed_parties[COMPANY_URN]["partyType"] == "Organization"
    assert parties["authorizedParties"][0]["party"] == INGRID_URN
    # As Dialogporten answers: no sub-units is null, not an empty list.
    assert listed_parties[INGRID_URN]["subParties"] is None
    assert listed_parties[COMPANY_URN]["hasOnlyAccessToSubParties"] is False


async def test_service_resources_are_those_the_person_may_read_with_the_roles_and_packages_that_give_access(
        client, owner_headers, person):
    await create_dialog(client, owner_headers)  # Kari's own
    await create_dialog(client, owner_headers, party=COMPANY_URN)
    path = "/dialogporten/api/v1/enduser/serviceresources"

    async def ids(who, **params) -> list[str]:
        response = await client.get(path, params=params, headers=person(who))
        assert response.status_code == 200, response.text
        return [item["serviceResource"]["id"] for item in response.json()["items"]]

    assert await ids(KARI) == [RESOURCE_URN]
    assert await ids(KARI, party=[COMPANY_URN]) == []  # a board member may not read the company's
    assert await ids(INGRID, party=[COMPANY_URN]) == [RESOURCE_URN]  # its daglig leder may
    assert await ids(KARI, party=["urn:altinn:organization:identifier-no:974761076"]) == []  # not hers: ignored
    bad = await client.get(path, params={"party": ["urn:altinn:person:identifier-no:123"]}, headers=person(KARI))
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert (await client.get(path)).status_code == 401

    (item,) = (await client.get(path, headers={**person(KARI), "Accept-Language": "en"})).json()["items"]
    assert item["serviceResource"]["name"] == [{"value": "Dialogporten test", "languageCode": "en"}]
    assert item["serviceOwner"]["code"] == "ttd"
    assert {role["urn"] for role in item["roles"]} == {
        "urn:altinn:rolecode:priv", "urn:altinn:rolecode:dagl", "urn:altinn:rolecode:lede"}
    (package,) = item["accessPackages"]
    assert package["urn"] == "urn:altinn:accesspackage:ordinaer-post-til-virksomheten" and package["name"]


async def test_the_open_metadata_lists_the_service_resources_in_use(client, owner_headers):
    metadata = "/dialogporten/api/v1/metadata/serviceresources"
    assert (await client.get(metadata)).json() == {"items": []}
    await create_dialog(client, owner_headers)
    (item,) = (await client.get(metadata)).json()["items"]  # no token needed: public metadata, as in Dialogporten
    assert item["serviceResource"]["id"] == RESOURCE_URN and item["serviceOwner"]["orgNumber"] == TTD


@pytest.mark.parametrize(("params", "status"), [
    ({"party": ["urn:altinn:person:identifier-no:123"]}, 400),
    ({"party": ["urn:altinn:organization:identifier-no:974761076"]}, 403),
    ({"party": [KARI_URN] * 101}, 400),
    ({"org": ["ttd"] * 21}, 400),
])
async def test_bad_party_filters_are_clear_problems(client, person, params, status):
    response = await client.get(ENDUSER_DIALOGS, params=params, headers=person(KARI))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_only_persons_with_the_scope_use_the_end_user_api(client, token):
    assert (await client.get(ENDUSER_DIALOGS, headers=bearer(token(scopes=["other"], person=KARI.identifier)))
            ).status_code == 403
    assert (await client.get(ENDUSER_DIALOGS, headers=bearer(token(scopes=[END_USER], org="405003309")))
            ).status_code in (401, 403)
    idporten = bearer(token(scopes=[END_USER], person=KARI.identifier, issuer=Issuer.IDPORTEN))
    assert (await client.get(ENDUSER_DIALOGS, headers=idporten)).status_code == 200
