"""Who may ask the inbox's GraphQL endpoint, and what bad requests get: a person from their portal session or
Altinn token, each only about themself and the parties they may act for."""

from __future__ import annotations

import pytest

from felles.authorization import service as authorization_service
from felles.core.tokens import Issuer
from tests.conftest import bearer
from tests.portal.login import log_in
from tests.profile.conftest import COMPANY, INGRID, KARI, OLA

GRAPHQL = "/inbox/api/graphql"
PROFILE = "query { profile { language user { party { ssn } } groups { name parties } } }"
pytestmark = pytest.mark.usefixtures("people", "varsling_outbox")


async def test_without_a_login_the_endpoint_answers_401_with_a_problem(client, token):
    response = await client.post(GRAPHQL, json={"query": PROFILE})
    assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
    id_porten = bearer(token(scopes=["altinn:portal/enduser"], person=KARI.identifier, issuer=Issuer.IDPORTEN))
    assert (await client.post(GRAPHQL, json={"query": PROFILE}, headers=id_porten)).status_code == 401
    organisation = bearer(token(scopes=["altinn:portal/enduser"], org=COMPANY))
    assert (await client.post(GRAPHQL, json={"query": PROFILE}, headers=organisation)).status_code in (401, 403)


async def test_the_portal_session_opens_the_endpoint_for_json_posts_only(client):
    await log_in(client, "/accessmanagement/ui/consent", KARI.identifier)
    answer = await client.post(GRAPHQL, json={"query": PROFILE})
    assert answer.status_code == 200 and answer.json()["data"]["profile"]["user"]["party"]["ssn"] == KARI.identifier
    # A form post (which any site can make a browser send, cookie included) changes nothing.
    form = await client.post(GRAPHQL, data={"query": 'mutation { updateLanguage(language: "en") { success } }'})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    assert (await client.post(GRAPHQL, json={"query": PROFILE})).json()["data"]["profile"]["language"] == "nb"


async def test_a_person_cannot_favourite_or_choose_a_party_they_may_not_act_for(client, database, as_person):
    company = str((await authorization_service.party_of(database, COMPANY)).party_uuid)
    ola = as_person(OLA.identifier)
    for mutation in (f'mutation {{ addFavoriteParty(partyId: "{company}") {{ success message }} }}',
                     f'mutation {{ setPreSelectedParty(partyUuid: "{company}", operationType: "set") '
                     "{ success message } }"):
        answer = (await client.post(GRAPHQL, json={"query": mutation}, headers=ola)).json()["data"]
        assert next(iter(answer.values())) == {"success": False, "message": "You may not act for this party."}
    profile = (await client.post(GRAPHQL, json={"query": PROFILE}, headers=ola)).json()["data"]["profile"]
    assert profile["groups"] == [{"name": "__favoritter__", "parties": []}]


async def test_a_person_cannot_touch_anothers_saved_search(client, as_person):
    created = await client.post(GRAPHQL, headers=as_person(INGRID.identifier), json={
        "query": 'mutation { createSavedSearch(name: "Mine", data: {searchString: "mva"}) { id } }'})
    search_id = created.json()["data"]["createSavedSearch"]["id"]
    ola = as_person(OLA.identifier)
    for mutation in (f"mutation {{ deleteSavedSearch(id: {search_id}) {{ success }} }}",
                     f'mutation {{ updateSavedSearch(id: {search_id}, name: "Hans") {{ success }} }}'):
        answer = await client.post(GRAPHQL, json={"query": mutation}, headers=ola)
        assert next(iter(answer.json()["data"].values()))["success"] is False
    assert (await client.post(GRAPHQL, json={"query": "{ savedSearches { id } }"}, headers=ola)).json()[
        "data"]["savedSearches"] == []
    mine = await client.post(GRAPHQL, json={"query": "{ savedSearches { name } }"},
                             headers=as_person(INGRID.identifier))
    assert mine.json()["data"]["savedSearches"] == [{"name": "Mine"}]


@pytest.mark.parametrize(("body", "status"), [
    ({"query": "{ profile { "}, 400),
    ({"query": "{ dialogs { id } }"}, 400),
    ({"query": "{ profile { language } }", "variables": [1]}, 400),
    ({"variables": {}}, 400),
    ({"query": "x" * 20_001}, 400),
])
async def test_bad_requests_get_a_clear_400(client, as_person, body, status):
    response = await client.post(GRAPHQL, json=body, headers=as_person(KARI.identifier))
    assert response.status_code == status
    answer = response.json()
    assert answer.get("errors") or answer.get("code"), answer


async def test_bad_input_to_a_mutation_says_why_and_changes_nothing(client, as_person):
    kari = as_person(KARI.identifier)
    for mutation, field in (('mutation { updateLanguage(language: "de") { success message } }', "updateLanguage"),
                            ('mutation { sendVerificationCode(data: {value: "nope", type: "Email"}) '
                             "{ success message } }", "sendVerificationCode"),
                            ('mutation { setPreSelectedParty(partyUuid: "x", operationType: "set") '
                             "{ success message } }", "setPreSelectedParty"),
                            ('mutation { setUsername(username: "1a") { success message } }', "setUsername")):
        answer = (await client.post(GRAPHQL, json={"query": mutation}, headers=kari)).json()
        assert answer["data"][field]["success"] is False and answer["data"][field]["message"], answer
    too_many = ", ".join(f'{{id: "f{i}", value: "v"}}' for i in range(101))
    answer = (await client.post(GRAPHQL, headers=kari, json={
        "query": f'mutation {{ createSavedSearch(name: "x", data: {{filters: [{too_many}]}}) {{ id }} }}'})).json()
    assert answer["data"] == {"createSavedSearch": None}
    assert answer["errors"][0]["extensions"]["code"] == "invalid_saved_search"
    profile = (await client.post(GRAPHQL, json={"query": "{ profile { language } savedSearches { id } }"},
                                 headers=kari)).json()["data"]
    assert profile == {"profile": {"language": "nb"}, "savedSearches": []}
