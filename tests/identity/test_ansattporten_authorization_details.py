"""Ansattporten's representation (RAR type ansattporten:altinn:resource): Altinn's decision point decides per
resource and action which organisations a person may represent; the person chooses among them in the
organisation chooser; the tokens and the token response say which were chosen, in Ansattporten's shape."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.authorization.world import (
    ACME,
    ACME_BRANCH,
    DELEGABLE_RESOURCE,
    OTHER_COMPANY,
    add_delegable_resource,
    add_organizations,
    add_persons,
    add_roles,
    person_number,
)
from tests.identity.conftest import REDIRECT, authorize_parameters, pkce, register_login_client
from tests.identity.test_idporten import basic

LEADER = person_number(date(1970, 5, 17), 1)  # daglig leder of ACME (and of OTHER_COMPANY in some tests)
BOARD_MEMBER = person_number(date(1960, 2, 2), 3)  # styremedlem of ACME: the policy grants her nothing
RESOURCE = f"urn:altinn:resource:{DELEGABLE_RESOURCE}"
CHOOSER = "/ansattporten/organizations/"


async def world(database, *, leader_of_other: bool = False) -> Any:
    await add_organizations(database, (ACME, "AS", None), (ACME_BRANCH, "BEDR", ACME), (OTHER_COMPANY, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)), (BOARD_MEMBER, date(1960, 2, 2)))
    roles = [(ACME, "DAGL", LEADER), (ACME, "MEDL", BOARD_MEMBER)]
    if leader_of_other:
        roles.append((OTHER_COMPANY, "DAGL", LEADER))
    await add_roles(database, *roles)
    await add_delegable_resource(database)
    return await register_login_client(database, integration_type="ansattporten", client_id="employer-service")


def details(resource: str = RESOURCE, **options: Any) -> str:
    return json.dumps([{"type": "ansattporten:altinn:resource", "resource": resource, **options}])


async def authorize(http, rp, authorization_details: str) -> tuple[str, dict[str, str], Any]:
    """/authorize and TestID; the verifier, the parameters and the response that follows the login."""
    verifier, challenge = pkce()
    parameters = authorize_parameters(rp.client_id, challenge, authorization_details=authorization_details)
    response = await http.get("/ansattporten/authorize", params=parameters)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/ansattporten/login/"), location
    return verifier, parameters, location


async def log_in(http, rp, authorization_details: str, pid: str) -> tuple[str, dict[str, str], str]:
    """Log in; the verifier, the parameters and where the browser goes next (the chooser or the client)."""
    verifier, parameters, login = await authorize(http, rp, authorization_details)
    response = await http.post(f"{login}/testid", data={"pid": pid, "level": "3"})
    assert response.status_code == 303, response.text
    return verifier, parameters, response.headers["location"]


def callback_of(location: str) -> dict[str, str]:
    assert location.startswith(REDIRECT), location
    return dict(parse_qsl(urlsplit(location).query))


async def tokens(http, rp, verifier: str, callback: dict[str, str]) -> dict[str, Any]:
    response = await http.post("/ansattporten/token", headers=basic(rp.client_id, rp.client_secret), data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier})
    assert response.status_code == 200, response.text
    return response.json()


async def claims_of(http, token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, KeySet.import_key_set((await http.get("/ansattporten/jwks")).json())).claims)


def offered(page: str) -> list[str]:
    return re.findall(r'name="orgno" id="orgno-(\d{9})"', page)


async def test_a_board_member_the_policy_grants_nothing_represents_only_herself(client, database):
    rp = await world(database)
    verifier, _, chooser = await log_in(client, rp, details(), BOARD_MEMBER)
    assert chooser.startswith(CHOOSER)
    # Nothing to choose: straight back to the service, as herself.
    response = await client.get(chooser)
    assert response.status_code == 303
    answer = await tokens(client, rp, verifier, callback_of(response.headers["location"]))
    assert answer["authorization_details"] == [{"type": "ansattporten:altinn:resource"}]
    assert (await claims_of(client, answer["id_token"]))["authorization_details"] == answer["authorization_details"]


async def test_representation_required_without_an_organisation_tells_her_and_the_client(client, database):
    rp = await world(database)
    _, parameters, chooser = await log_in(client, rp, details(representation_is_required=True), BOARD_MEMBER)
    page = await client.get(chooser)
    assert page.status_code == 200 and offered(page.text) == []
    assert "krever at du representerer en virksomhet" in page.text
    back = await client.post(chooser, data={"action": "cancel"})
    callback = callback_of(back.headers["location"])
    assert callback["error"] == "access_denied" and "representation_is_required" in callback["error_description"]
    assert callback["state"] == parameters["state"] and "code" not in callback
    # The choice is used once.
    assert "finished" in (await client.get(chooser)).text


async def test_the_daglig_leder_gets_the_company_in_ansattportens_shape(client, database):
    rp = await world(database)
    required_main_unit = details(representation_is_required=True, organizationform="enterprise", actions="read")
    verifier, _, chooser = await log_in(client, rp, required_main_unit, LEADER)
    response = await client.get(chooser)  # one organisation, and representation required: no choice to make
    assert response.status_code == 303
    answer = await tokens(client, rp, verifier, callback_of(response.headers["location"]))
    assert answer["authorization_details"] == [{
        "type": "ansattporten:altinn:resource", "resource": RESOURCE, "resource_name": "Ansettelsesforhold",
        "authorized_parties": [{"orgno": {"authority": "iso6523-actorid-upis", "ID": f"0192:{ACME}"},
                                "name": f"Org {ACME}", "unit_type": "AS", "resource": DELEGABLE_RESOURCE,
                                "actions": ["read"]}]}]
    for token in (answer["id_token"], answer["access_token"]):
        assert (await claims_of(client, token))["authorization_details"] == answer["authorization_details"]


async def test_an_action_the_policy_does_not_grant_gives_no_organisation(client, database):
    rp = await world(database)
    verifier, _, chooser = await log_in(client, rp, details(actions=["read", "delete"]), LEADER)
    response = await client.get(chooser)
    answer = await tokens(client, rp, verifier, callback_of(response.headers["location"]))
    assert answer["authorization_details"] == [{"type": "ansattporten:altinn:resource"}]


async def test_an_unknown_resource_or_bad_options_are_refused_to_the_client(client, database):
    rp = await world(database)
    for bad, said in ((details("urn:altinn:resource:no-such-resource"), "no-such-resource"),
                      (details(allow_multiple_organizations="yes"), "allow_multiple_organizations"),
                      (details(organizationform="department"), "organizationform"),
                      (details("urn:altinn:resource:"), "urn:altinn:resource:{id}")):
        _, challenge = pkce()
        response = await client.get("/ansattporten/authorize", params=authorize_parameters(
            rp.client_id, challenge, authorization_details=bad))
        callback = callback_of(response.headers["location"])
        assert callback["error"] == "invalid_authorization_details", bad
        assert said in callback["error_description"]


async def test_with_several_organisations_the_person_chooses_and_gets_only_the_chosen(client, database):
    rp = await world(database, leader_of_other=True)
    verifier, _, chooser = await log_in(client, rp, details(), LEADER)
    page = await client.get(chooser)
    assert page.status_code == 200
    assert sorted(offered(page.text)) == sorted([ACME, ACME_BRANCH, OTHER_COMPANY])
    assert 'type="radio"' in page.text and 'value="self"' in page.text
    two = await client.post(chooser, data={"action": "choose", "orgno": [ACME, OTHER_COMPANY]})
    assert two.status_code == 400 and "bare velge én" in two.text
    stranger = await client.post(chooser, data={"action": "choose", "orgno": "910000047"})
    assert stranger.status_code == 400
    chosen = await client.post(chooser, data={"action": "choose", "orgno": OTHER_COMPANY})
    answer = await tokens(client, rp, verifier, callback_of(chosen.headers["location"]))
    (detail,) = answer["authorization_details"]
    assert [party["orgno"]["ID"] for party in detail["authorized_parties"]] == [f"0192:{OTHER_COMPANY}"]


async def test_allow_multiple_organizations_lets_the_person_choose_several(client, database):
    rp = await world(database, leader_of_other=True)
    verifier, _, chooser = await log_in(client, rp, details(allow_multiple_organizations=True,
                                                            organizationform="enterprise"), LEADER)
    page = await client.get(chooser)
    assert sorted(offered(page.text)) == sorted([ACME, OTHER_COMPANY]) and 'type="checkbox"' in page.text
    chosen = await client.post(chooser, data={"action": "choose", "orgno": [ACME, OTHER_COMPANY]})
    answer = await tokens(client, rp, verifier, callback_of(chosen.headers["location"]))
    (detail,) = answer["authorization_details"]
    assert sorted(party["orgno"]["ID"] for party in detail["authorized_parties"]) == \
        sorted([f"0192:{ACME}", f"0192:{OTHER_COMPANY}"])


async def test_the_chooser_answers_only_the_browser_that_logged_in(client, database, app):
    import httpx

    rp = await world(database, leader_of_other=True)
    _, _, chooser = await log_in(client, rp, details(), LEADER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://felles.test") as other:
        response = await other.post(chooser, data={"action": "choose", "orgno": ACME})
    assert response.status_code == 400 and "location" not in response.headers


async def test_the_chooser_reads_in_nynorsk_and_english(client, database):
    rp = await world(database, leader_of_other=True)
    _, _, chooser = await log_in(client, rp, details(), LEADER)
    assert "Vel verksemd" in (await client.get(chooser, params={"lang": "nn"})).text
    assert "Choose organisation" in (await client.get(chooser, params={"lang": "en"})).text


async def test_a_pushed_request_for_an_unknown_resource_is_refused(client, database):
    rp = await world(database)
    _, challenge = pkce()
    response = await client.post("/ansattporten/par", headers=basic(rp.client_id, rp.client_secret),
                                 data=authorize_parameters(rp.client_id, challenge, authorization_details=details(
                                     "urn:altinn:resource:no-such-resource")))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"


async def test_a_login_by_sso_goes_through_the_chooser_too(client, database):
    rp = await world(database, leader_of_other=True)
    _, _, chooser = await log_in(client, rp, details(), LEADER)
    await client.post(chooser, data={"action": "self"})
    verifier, challenge = pkce()
    again = await client.get("/ansattporten/authorize", params=authorize_parameters(
        rp.client_id, challenge, authorization_details=details()))
    assert again.headers["location"].startswith(CHOOSER) and again.headers["location"] != chooser
    chosen = await client.post(again.headers["location"], data={"action": "choose", "orgno": ACME})
    answer = await tokens(client, rp, verifier, callback_of(chosen.headers["location"]))
    assert answer["authorization_details"][0]["authorized_parties"][0]["orgno"]["ID"] == f"0192:{ACME}"


async def test_ansattporten_orgno_stays_empty_for_a_login_with_a_national_identity_number(client, database):
    """The employer comes from the e-mail domain of a work account (Entra ID); TestID has none, so no chooser
    and an empty object, never a company guessed from the person's roles."""
    rp = await world(database)
    verifier, _, callback = await log_in(client, rp, json.dumps([{"type": "ansattporten:orgno"}]), LEADER)
    answer = await tokens(client, rp, verifier, callback_of(callback))
    assert answer["authorization_details"] == [{"type": "ansattporten:orgno"}]
