"""Authentication levels: a service resource's policy may require a login at a minimum level (its
`urn:altinn:minimum-authenticationlevel` obligation). A person who logged in below it may not open the dialog or
its parts (Dialogporten's 403 "Altinn authentication level too low."), sees its non-sensitive title and summary in
lists and lookups, and the service's metadata names the level it requires."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.dialogporten.conftest import (
    DIALOGS,
    END_USER,
    ENDUSER_DIALOGS,
    HIGH_LEVEL_RESOURCE_URN,
    KARI,
    KARI_URN,
    OLA,
    RESOURCE_URN,
    create_dialog,
)

pytestmark = pytest.mark.usefixtures("high_level_resource")
TOO_LOW = {"Forbidden": ["Altinn authentication level too low."]}
GRAPHQL = "/dialogporten/graphql"
SENSITIVE = {"title": {"value": [{"value": "Vedtak om barnevern", "languageCode": "nb"}]},
             "summary": {"value": [{"value": "Vedtaket gjelder barnet ditt.", "languageCode": "nb"}]},
             "nonSensitiveTitle": {"value": [{"value": "Melding fra kommunen", "languageCode": "nb"}]},
             "nonSensitiveSummary": {"value": [{"value": "Logg inn med høyt nivå for å lese.",
                                                "languageCode": "nb"}]}}


def kari_at(token, level: int) -> dict[str, str]:
    return bearer(token(scopes=[END_USER], person=KARI.identifier, level=level))


async def test_below_the_services_level_a_dialog_and_its_parts_are_403_but_not_its_existence(client, owner_headers,
                                                                                           token):
    dialog_id = await create_dialog(client, owner_headers, serviceResource=HIGH_LEVEL_RESOURCE_URN)
    high = kari_at(token, 4)
    dialog = (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=high)).json()
    activity, transmission = dialog["activities"][0]["id"], dialog["transmissions"][0]["id"]
    seen = dialog["seenSinceLastUpdate"][0]["id"]
    parts = ["", "/activities", f"/activities/{activity}", "/transmissions", f"/transmissions/{transmission}",
             "/seenlog", f"/seenlog/{seen}", "/context/labellog"]
    substantial = kari_at(token, 3)
    for part in parts:
        refused = await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}{part}", headers=substantial)
        assert refused.status_code == 403, (part, refused.text)
        assert refused.json()["errors"] == TOO_LOW and refused.json()["title"] == "Forbidden."
        assert (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}{part}", headers=high)).status_code == 200, part
    # Refused looks are not seen: only the level 4 look is in the seen log.
    seen_log = (await client.get(f"{DIALOGS}/{dialog_id}/seenlog", headers=owner_headers)).json()
    assert len(seen_log) == 1
    # Someone who may not read it at all still finds nothing, whatever their level; a deleted one is gone.
    ola = bearer(token(scopes=[END_USER], person=OLA.identifier, level=2))
    assert (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=ola)).status_code == 404
    assert (await client.delete(f"{DIALOGS}/{dialog_id}", headers=owner_headers)).status_code == 204
    assert (await client.get(f"{ENDUSER_DIALOGS}/{dialog_id}", headers=substantial)).status_code == 410
    # A service whose policy names no level asks for none.
    ordinary = await create_dialog(client, owner_headers)
    assert (await client.get(f"{ENDUSER_DIALOGS}/{ordinary}", headers=kari_at(token, 2))).status_code == 200


async def test_a_list_shows_the_non_sensitive_texts_below_the_services_level(client, owner_headers, token):
    graded = await create_dialog(client, owner_headers, serviceResource=HIGH_LEVEL_RESOURCE_URN, content=SENSITIVE)
    untitled = await create_dialog(client, owner_headers, serviceResource=HIGH_LEVEL_RESOURCE_URN, content={
        "title": {"value": [{"value": "Uten ugradert tittel", "languageCode": "nb"}]}})
    ordinary = await create_dialog(client, owner_headers, content=SENSITIVE)

    async def listed(level: int) -> dict[str, dict[str, str | None]]:
        response = await client.get(ENDUSER_DIALOGS, headers=kari_at(token, level))
        assert response.status_code == 200, response.text
        items = {item["id"]: item["content"] for item in response.json()["items"]}
        assert not any(name.startswith("nonSensitive") for content in items.values() for name in content)
        return {key: {"title": content["title"]["value"][0]["value"],
                      "summary": content["summary"]["value"][0]["value"] if content["summary"] else None}
                for key, content in items.items()}

    substantial = await listed(3)
    assert substantial[graded] == {"title": "Melding fra kommunen", "summary": "Logg inn med høyt nivå for å lese."}
    assert substantial[untitled]["title"] == "Uten ugradert tittel"  # it has no other title to show
    assert substantial[ordinary]["title"] == "Vedtak om barnevern"  # its service asks for no level
    high = await listed(4)
    assert high[graded] == {"title": "Vedtak om barnevern", "summary": "Vedtaket gjelder barnet ditt."}

    found = await client.post(GRAPHQL, headers=kari_at(token, 3), json={
        "query": "query($p: [String!]) { searchDialogs(input: {party: $p}) { items { id content { title { value "
                 "{ value } } } } } }", "variables": {"p": [KARI_URN]}})
    titles = {item["id"]: item["content"]["title"]["value"][0]["value"]
              for item in found.json()["data"]["searchDialogs"]["items"]}
    assert titles[graded] == "Melding fra kommunen"


async def test_graphql_and_lookup_answer_as_dialogporten_below_the_level(client, owner_headers, token):
    dialog_id = await create_dialog(client, owner_headers, serviceResource=HIGH_LEVEL_RESOURCE_URN,
                                    content=SENSITIVE)
    query = {"query": "query($id: UUID!) { dialogById(dialogId: $id) { dialog { id } errors { __typename message "
                      "} } }", "variables": {"id": dialog_id}}
    refused = (await client.post(GRAPHQL, headers=kari_at(token, 3), json=query)).json()["data"]["dialogById"]
    assert refused == {"dialog": None, "errors": [{"__typename": "DialogByIdForbiddenAuthLevelTooLow",
                                                   "message": "Altinn authentication level too low."}]}
    allowed = (await client.post(GRAPHQL, headers=kari_at(token, 4), json=query)).json()["data"]["dialogById"]
    assert allowed["dialog"] == {"id": dialog_id}

    lookup = "/dialogporten/api/v1/enduser/dialoglookup"
    reference = {"instanceRef": f"urn:altinn:dialog-id:{dialog_id}"}
    below = (await client.get(lookup, params=reference, headers=kari_at(token, 3))).json()
    assert below["title"] == SENSITIVE["nonSensitiveTitle"]["value"]
    assert below["serviceResource"]["minimumAuthenticationLevel"] == 4
    assert below["authorizationEvidence"]["currentAuthenticationLevel"] == 3
    above = (await client.get(lookup, params=reference, headers=kari_at(token, 4))).json()
    assert above["title"] == SENSITIVE["title"]["value"]


async def test_the_service_metadata_names_the_level_its_policy_requires(client, owner_headers, token):
    await create_dialog(client, owner_headers, serviceResource=HIGH_LEVEL_RESOURCE_URN)
    await create_dialog(client, owner_headers)
    response = await client.post(GRAPHQL, headers=kari_at(token, 3), json={
        "query": "{ serviceResources { items { serviceResource { id minimumAuthenticationLevel } } } }"})
    assert response.status_code == 200, response.text
    levels = {item["serviceResource"]["id"]: item["serviceResource"]["minimumAuthenticationLevel"]
              for item in response.json()["data"]["serviceResources"]["items"]}
    assert levels == {HIGH_LEVEL_RESOURCE_URN: 4, RESOURCE_URN: 0}
