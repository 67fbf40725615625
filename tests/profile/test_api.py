"""Altinn Profile's end-user API: the person's profile and settings, favourites, notification addresses per party
and verification of addresses by code, at Profile's paths and with its JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

from felles.authorization import service as authorization_service
from felles.core.clock import clock
from tests.conftest import bearer
from tests.profile.conftest import COMPANY, CURRENT, INGRID, KARI, OLA, SETTINGS, VERIFICATION, code_sent_to

pytestmark = pytest.mark.usefixtures("people", "varsling_outbox")
FAVORITES = CURRENT + "/party-groups/favorites"


async def party_uuid(database, identifier: str) -> str:
    return str((await authorization_service.party_of(database, identifier)).party_uuid)


async def test_the_current_user_is_the_logged_in_person_with_krr_contact_details(client, as_person):
    response = await client.get(CURRENT, headers=as_person(KARI.identifier))
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["party"]["ssn"] == KARI.identifier and user["party"]["partyTypeName"] == 1
    assert user["party"]["person"]["firstName"] == "Kari" and user["party"]["person"]["lastName"] == "Nordmann"
    assert user["userId"] == user["partyId"] and user["userUuid"] == user["party"]["partyUuid"]
    assert user["email"] == KARI.email and user["isReserved"] is False
    assert user["profileSettingPreference"] == {
        "language": None, "preSelectedPartyId": 0, "doNotPromptForParty": False, "preselectedPartyUuid": None,
        "showClientUnits": False, "shouldShowSubEntities": False, "shouldShowDeletedEntities": False}


async def test_settings_change_only_where_given_and_the_preselected_party_must_be_ones_own(
        client, database, as_person):
    ingrid = as_person(INGRID.identifier)
    company = await party_uuid(database, COMPANY)
    changed = await client.patch(CURRENT + "/profilesettings", headers=ingrid,
                                 json={"language": "EN", "preselectedPartyUuid": company, "showClientUnits": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "en" and changed.json()["preselectedPartyUuid"] == company
    again = await client.patch(CURRENT + "/profilesettings", headers=ingrid, json={"shouldShowDeletedEntities": True})
    preferences = (await client.get(CURRENT, headers=ingrid)).json()["profileSettingPreference"]
    assert again.status_code == 200 and preferences["language"] == "en" and preferences["showClientUnits"]
    assert preferences["shouldShowDeletedEntities"] and preferences["preSelectedPartyId"] > 0
    # Ola may not act for Fjordkraft: he cannot choose it, and his settings stay as they were.
    refused = await client.patch(CURRENT + "/profilesettings", headers=as_person(OLA.identifier),
                                 json={"preselectedPartyUuid": company})
    assert refused.status_code == 403 and refused.json()["code"] == "party_not_authorized"
    assert (await client.get(CURRENT, headers=as_person(OLA.identifier))).json()[
        "profileSettingPreference"]["preselectedPartyUuid"] is None


@pytest.mark.parametrize("body", [{}, {"language": "de"}, {"language": None}, {"showClientUnits": "maybe"},
                                  {"preselectedPartyUuid": "not-a-uuid"}, {"unknown": True}, []])
async def test_bad_settings_are_refused_with_a_problem(client, as_person, body):
    response = await client.patch(CURRENT + "/profilesettings", headers=as_person(KARI.identifier), json=body)
    assert response.status_code in (400, 422) and response.headers["content-type"] == "application/problem+json"
    preferences = (await client.get(CURRENT, headers=as_person(KARI.identifier))).json()["profileSettingPreference"]
    assert preferences["language"] is None and preferences["showClientUnits"] is False


async def test_favourites_are_parties_one_may_act_for(client, database, as_person):
    ingrid, company = as_person(INGRID.identifier), await party_uuid(database, COMPANY)
    assert (await client.put(f"{FAVORITES}/{company}", headers=ingrid)).status_code == 201
    assert (await client.put(f"{FAVORITES}/{company}", headers=ingrid)).status_code == 204
    assert (await client.get(FAVORITES, headers=ingrid)).json() == {
        "groupId": (await client.get(FAVORITES, headers=ingrid)).json()["groupId"], "name": "__favoritter__",
        "isFavorite": True, "parties": [company]}
    refused = await client.put(f"{FAVORITES}/{company}", headers=as_person(OLA.identifier))
    assert refused.status_code == 403
    assert (await client.get(FAVORITES, headers=as_person(OLA.identifier))).json()["parties"] == []
    assert (await client.delete(f"{FAVORITES}/{company}", headers=ingrid)).status_code == 204
    missing = await client.delete(f"{FAVORITES}/{company}", headers=ingrid)
    assert missing.status_code == 404 and missing.json()["code"] == "favorite_not_found"


async def test_an_address_is_verified_by_the_code_sent_to_it_before_it_becomes_a_partys_address(
        client, database, as_person):
    ingrid, company = as_person(INGRID.identifier), await party_uuid(database, COMPANY)
    address = "Ingrid.Varsel@Fjordkraft.eksempel.no"
    unverified = await client.put(f"{SETTINGS}/{company}", headers=ingrid, json={"emailAddress": address})
    assert unverified.status_code == 422 and unverified.json()["code"] == "address_not_verified"

    sent = await client.post(VERIFICATION + "/send", headers=ingrid, json={"value": address, "type": "Email"})
    assert sent.status_code == 204, sent.text
    too_soon = await client.post(VERIFICATION + "/send", headers=ingrid, json={"value": address, "type": "Email"})
    assert too_soon.status_code == 429 and 0 < int(too_soon.headers["retry-after"]) <= 60
    assert too_soon.json()["retryAfterSeconds"] == int(too_soon.headers["retry-after"])
    code = await code_sent_to(database, address.lower())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = await client.post(VERIFICATION + "/verify", headers=ingrid,
                                json={"value": address, "type": "Email", "verificationCode": wrong})
    assert refused.status_code == 422 and refused.json()["code"] == "verification_failed"
    verified = await client.post(VERIFICATION + "/verify", headers=ingrid,
                                 json={"value": address, "type": "Email", "verificationCode": code})
    assert verified.status_code == 204, verified.text
    assert (await client.get(VERIFICATION + "/verified-addresses", headers=ingrid)).json() == [
        {"value": address.lower(), "type": "Email"}]
    again = await client.post(VERIFICATION + "/send", headers=ingrid, json={"value": address, "type": "Email"})
    assert again.status_code == 422 and again.json()["code"] == "address_already_verified"

    created = await client.put(f"{SETTINGS}/{company}", headers=ingrid,
                               json={"emailAddress": address, "resourceIncludeList": ["urn:altinn:resource:ske-mva"]})
    assert created.status_code == 201 and created.headers["location"].endswith(company)
    setting = (await client.get(f"{SETTINGS}/{company}", headers=ingrid)).json()
    assert setting["emailAddress"] == address.lower() and setting["emailVerificationStatus"] == "Verified"
    assert setting["phoneNumber"] is None and setting["smsVerificationStatus"] is None
    assert setting["resourceIncludeList"] == ["urn:altinn:resource:ske-mva"]
    assert [s["partyUuid"] for s in (await client.get(SETTINGS, headers=ingrid)).json()] == [company]
    phone = await client.patch(f"{SETTINGS}/{company}", headers=ingrid, json={"phoneNumber": "+4791112222"})
    assert phone.status_code == 422
    emptied = await client.patch(f"{SETTINGS}/{company}", headers=ingrid, json={"emailAddress": None})
    assert emptied.status_code == 400 and emptied.json()["code"] == "address_required"
    assert (await client.delete(f"{SETTINGS}/{company}", headers=ingrid)).status_code == 200
    assert (await client.get(f"{SETTINGS}/{company}", headers=ingrid)).status_code == 404
    assert (await client.delete(f"{SETTINGS}/{company}", headers=ingrid)).status_code == 404


async def test_a_code_dies_after_five_wrong_tries_and_when_it_expires(client, database, as_person):
    kari = as_person(KARI.identifier)
    phone = "+4791234599"
    assert (await client.post(VERIFICATION + "/send", headers=kari, json={"value": phone, "type": "Sms"})).status_code \
        == 204
    code = await code_sent_to(database, phone)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    for _ in range(5):
        response = await client.post(VERIFICATION + "/verify", headers=kari,
                                     json={"value": phone, "type": "Sms", "verificationCode": wrong})
        assert response.status_code == 422
    spent = await client.post(VERIFICATION + "/verify", headers=kari,
                              json={"value": phone, "type": "Sms", "verificationCode": code})
    assert spent.status_code == 422
    clock.advance(timedelta(minutes=2))  # past the resend cooldown: a new code, which then expires
    assert (await client.post(VERIFICATION + "/send", headers=kari, json={"value": phone, "type": "Sms"})).status_code \
        == 204
    fresh = await code_sent_to(database, phone)
    clock.advance(timedelta(minutes=16))
    expired = await client.post(VERIFICATION + "/verify", headers=kari,
                                json={"value": phone, "type": "Sms", "verificationCode": fresh})
    assert expired.status_code == 422
    assert (await client.get(VERIFICATION + "/verified-addresses", headers=kari)).json() == []


async def test_notification_settings_only_for_parties_one_may_act_for(client, database, as_person):
    company = await party_uuid(database, COMPANY)
    ola = as_person(OLA.identifier)
    for method in ("GET", "PUT", "PATCH"):
        response = await client.request(method, f"{SETTINGS}/{company}", headers=ola,
                                        json={"emailAddress": "ola@eksempel.no"} if method != "GET" else None)
        assert response.status_code == 403, (method, response.text)
    mine = await client.get(f"/profile/api/v1/organizations/{COMPANY}/notificationaddresses/mandatory",
                            headers=as_person(INGRID.identifier))
    assert mine.status_code == 200 and mine.json()["notificationAddresses"][0]["email"].startswith("post@")
    other = await client.get(f"/profile/api/v1/organizations/{COMPANY}/notificationaddresses/mandatory", headers=ola)
    assert other.status_code == 404


@pytest.mark.parametrize(("path", "body"), [
    (VERIFICATION + "/send", {"value": "not-an-address", "type": "Email"}),
    (VERIFICATION + "/send", {"value": "12345678", "type": "Sms"}),
    (VERIFICATION + "/send", {"value": "kari@eksempel.no", "type": "Fax"}),
    (VERIFICATION + "/send", {"value": "kari@eksempel.no"}),
    (VERIFICATION + "/verify", {"value": "kari@eksempel.no", "type": "Email", "verificationCode": "12a456"}),
    (VERIFICATION + "/verify", {"value": "kari@eksempel.no", "type": "Email"}),
])
async def test_bad_verification_requests_get_a_problem(client, as_person, path, body):
    response = await client.post(path, headers=as_person(KARI.identifier), json=body)
    assert response.status_code in (400, 422) and response.headers["content-type"] == "application/problem+json"


async def test_only_the_persons_altinn_token_with_the_portal_scope_opens_the_profile(client, token):
    assert (await client.get(CURRENT)).status_code == 401
    organisation = await client.get(CURRENT, headers=bearer(token(scopes=["altinn:portal/enduser"], org=COMPANY)))
    assert organisation.status_code in (401, 403)
    other_scope = bearer(token(scopes=["altinn:instances.read"], person=KARI.identifier))
    no_scope = await client.get(CURRENT, headers=other_scope)
    assert no_scope.status_code == 403


async def test_a_person_cannot_have_codes_sent_to_a_long_list_of_addresses(client, database, as_person):
    kari = as_person(KARI.identifier)
    for number in range(10):
        sent = await client.post(VERIFICATION + "/send", headers=kari,
                                 json={"value": f"kari{number}@eksempel.no", "type": "Email"})
        assert sent.status_code == 204
    refused = await client.post(VERIFICATION + "/send", headers=kari, json={"value": "kari10@eksempel.no",
                                                                            "type": "Email"})
    assert refused.status_code == 429 and 840 < int(refused.headers["retry-after"]) <= 900
    clock.advance(timedelta(minutes=16))  # the codes expire: new ones may go out
    assert (await client.post(VERIFICATION + "/send", headers=kari, json={"value": "kari10@eksempel.no",
                                                                          "type": "Email"})).status_code == 204


async def test_put_sets_every_setting_and_wants_them_all(client, as_person):
    kari = as_person(KARI.identifier)
    whole = {"language": "nn", "doNotPromptForParty": True, "preselectedPartyUuid": None, "showClientUnits": True,
             "shouldShowSubEntities": True, "shouldShowDeletedEntities": False}
    response = await client.put(CURRENT + "/profilesettings", headers=kari, json=whole)
    assert response.status_code == 200 and response.json() == {**whole, "preSelectedPartyId": 0}
    partial = await client.put(CURRENT + "/profilesettings", headers=kari, json={"language": "en"})
    assert partial.status_code in (400, 422)
    assert (await client.get(CURRENT, headers=kari)).json()["profileSettingPreference"]["language"] == "nn"
