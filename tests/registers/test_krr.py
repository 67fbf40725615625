from datetime import date, timedelta

from sqlalchemy import select

from felles.core.audit import AuditEntry, AuditSubject
from felles.core.clock import clock
from felles.core.tokens import Issuer
from felles.registers.identifiers import make_person_identifier
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from felles.registers.schemas import PersonLookupResponse
from tests.conftest import bearer

CONTACT = "krr:global/kontaktinformasjon.read"
DIGITAL_POST = "krr:global/digitalpost.read"
KARI, OLA, SOFIE = DEMO_PERSONS[0], DEMO_PERSONS[1], DEMO_PERSONS[2]
RESERVED = DEMO_PERSONS[8]


async def lookup(client, token, identifiers, scopes=(CONTACT,)):
    return await client.post("/rest/v2/personer", json={"personidentifikatorer": identifiers},
                             headers=bearer(token(scopes=list(scopes), org="991825827")))


async def test_lookup_returns_krr_fields_for_registered_reserved_and_unknown_persons(client, database, token):
    await seed_demo_personas(database)
    unknown = make_person_identifier(date(1990, 1, 1), 300, synthetic=True)
    response = await lookup(client, token, [KARI.identifier, RESERVED.identifier, unknown])
    assert response.status_code == 200
    # The service builds KRR's JSON itself for speed; it must still be exactly the documented schema.
    assert PersonLookupResponse.model_validate(response.json()).model_dump(mode="json", exclude_none=True) \
        == response.json()
    kari, reserved, missing = response.json()["personer"]
    assert kari["personidentifikator"] == KARI.identifier
    assert kari["reservasjon"] == "NEI" and kari["status"] == "AKTIV" and kari["varslingsstatus"] == "KAN_VARSLES"
    assert kari["kontaktinformasjon"]["epostadresse"] == KARI.email
    assert kari["kontaktinformasjon"]["mobiltelefonnummer"] == KARI.mobile
    assert {"epostadresse_oppdatert", "epostadresse_sist_verifisert"} <= kari["kontaktinformasjon"].keys()
    assert kari["spraak"] == "nb"
    assert reserved["reservasjon"] == "JA" and reserved["varslingsstatus"] == "KAN_IKKE_VARSLES"
    assert missing == {"personidentifikator": unknown, "status": "IKKE_REGISTRERT",
                       "varslingsstatus": "KAN_IKKE_VARSLES"}


async def test_contact_details_need_their_scope_but_reservation_is_always_given(client, database, token):
    await seed_demo_personas(database)
    person = (await lookup(client, token, [KARI.identifier], scopes=[DIGITAL_POST])).json()["personer"][0]
    assert person["reservasjon"] == "NEI"
    assert "kontaktinformasjon" not in person and "spraak" not in person


async def test_contact_details_unconfirmed_for_18_months_cannot_be_used(client, database, token):
    await seed_demo_personas(database)
    clock.advance(timedelta(days=600))
    person = (await lookup(client, token, [KARI.identifier])).json()["personer"][0]
    assert person["varslingsstatus"] == "KAN_IKKE_VARSLES"
    assert person["kontaktinformasjon"]["epostadresse"] == KARI.email


async def test_invalid_identifiers_are_refused_naming_each_and_its_rule(client, database, token):
    broken = KARI.identifier[:-1] + str((int(KARI.identifier[-1]) + 1) % 10)
    response = await lookup(client, token, [KARI.identifier, broken, "123"])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_identifier"
    assert {(e["identifier"], e["rule"]) for e in body["invalidIdentifiers"]} == {
        (broken, "check_digit_2"), ("123", "length")}


async def test_batches_hold_one_to_a_thousand_persons(client, database, token):
    too_many = await lookup(client, token, [KARI.identifier] * 1001)
    assert too_many.status_code == 422 and too_many.json()["code"] == "validation_failed"
    assert (await lookup(client, token, [])).status_code == 422
    repeated = await lookup(client, token, [KARI.identifier] * 1000)
    assert repeated.status_code == 200 and len(repeated.json()["personer"]) == 1


async def test_lookups_need_a_valid_token_with_a_krr_scope(client, database, token):
    body = {"personidentifikatorer": [KARI.identifier]}
    missing = await client.post("/rest/v2/personer", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    forged = await client.post("/rest/v2/personer", json=body, headers=bearer("eyJhbGciOiJub25lIn0.e30."))
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"
    expired = await client.post("/rest/v2/personer", json=body,
                                headers=bearer(token(scopes=[CONTACT], org="991825827", lifetime=-5)))
    assert expired.status_code == 401
    wrong_scope = await client.post("/rest/v2/personer", json=body,
                                    headers=bearer(token(scopes=["altinn:events.publish"], org="991825827")))
    assert wrong_scope.status_code == 403 and wrong_scope.json()["code"] == "insufficient_scope"


async def test_every_lookup_is_audited_and_the_person_can_see_who_looked(client, database, token):
    await seed_demo_personas(database)
    await client.post("/rest/v2/personer", json={"personidentifikatorer": [KARI.identifier, OLA.identifier]},
                      headers=bearer(token(scopes=[CONTACT], org="991825827", supplier="987464291")))
    async with database.transaction() as session:
        (entry,) = (await session.scalars(select(AuditEntry))).all()
        subjects = (await session.scalars(select(AuditSubject.subject))).all()
    assert set(subjects) == {KARI.identifier, OLA.identifier}
    entries = [entry]
    assert all(e.actor == "organization:987464291" and e.on_behalf_of == "organization:991825827" for e in entries)
    mine = await client.get("/audit/api/v1/me", headers=bearer(token(scopes=[], person=KARI.identifier)))
    assert mine.status_code == 200
    assert [(i["actor"], i["onBehalfOf"], i["resource"]) for i in mine.json()["items"]] == [
        ("organization:987464291", "organization:991825827", "krr.contact_information")]
    others = await client.get("/audit/api/v1/entries", headers=bearer(token(scopes=[], person=KARI.identifier)))
    assert others.status_code == 403


async def test_a_person_updates_their_own_contact_information_and_reservation(client, database, token):
    await seed_demo_personas(database)
    headers = bearer(token(scopes=["krr:user/kontaktinformasjon.read", "krr:user/kontaktinformasjon.write"],
                           person=OLA.identifier, issuer=Issuer.IDPORTEN))
    updated = await client.patch("/rest/v1/person", headers=headers,
                                 json={"epostadresse": "ola@nytt.eksempel.no", "reservasjon": "JA", "spraak": "nn"})
    assert updated.status_code == 200
    body = updated.json()
    assert body["reservasjon"] == "JA" and body["varslingsstatus"] == "KAN_IKKE_VARSLES" and body["spraak"] == "nn"
    assert body["kontaktinformasjon"]["epostadresse"] == "ola@nytt.eksempel.no"
    assert (await client.get("/rest/v1/person", headers=headers)).json() == body
    bad = await client.patch("/rest/v1/person", headers=headers, json={"epostadresse": "not-an-address"})
    assert bad.status_code == 422
    empty = await client.patch("/rest/v1/person", headers=headers, json={})
    assert empty.status_code == 400 and empty.json()["code"] == "empty_update"
    read_only = bearer(token(scopes=["krr:user/kontaktinformasjon.read"], person=OLA.identifier,
                             issuer=Issuer.IDPORTEN))
    assert (await client.patch("/rest/v1/person", headers=read_only, json={"spraak": "en"})).status_code == 403
    # A Maskinporten token is not for KRR's end-user API, whatever its scope.
    organization = bearer(token(scopes=["krr:user/kontaktinformasjon.write"], org="991825827"))
    assert (await client.patch("/rest/v1/person", headers=organization, json={"spraak": "en"})).status_code == 401
    feed = await client.get("/rest/v2/hendelser/feed", headers=bearer(token(scopes=[CONTACT], org="991825827")))
    (change,) = feed.json()["hendelser"]
    assert change["hendelsestype"] == "kontaktinformasjonEndret" and change["identifikator"] == OLA.identifier
    assert change["data"] == {"endret": ["epostadresse", "reservasjon", "spraak"]}
