from datetime import date

import pytest

from felles.core import audit
from felles.core.audit import Actor
from felles.core.errors import InvalidInput, NotFound
from felles.registers import service as registers
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from tests.conftest import bearer

READ = "folkeregister:deling/offentligmedhjemmel"
WRITE = "felles:folkeregisteret.write"
KARI, OLA, SOFIE, EMIL, INGRID, PER = DEMO_PERSONS[:6]


def reader(token):
    return bearer(token(scopes=[READ], org="974760673"))


def writer(token):
    return bearer(token(scopes=[WRITE], org="974760673"))


async def feed(client, token, seq=0):
    response = await client.get(f"/folkeregisteret/api/v1/hendelser/feed?seq={seq}", headers=reader(token))
    assert response.status_code == 200
    return response.json()


async def test_a_person_carries_family_relations_both_ways(client, database, token):
    await seed_demo_personas(database)
    kari = (await client.get(f"/folkeregisteret/api/v1/personer/{KARI.identifier}", headers=reader(token))).json()
    assert kari["navn"] == {"fornavn": "Kari", "etternavn": "Nordmann"}
    assert kari["status"] == "bosatt" and kari["bostedsadresse"]["poststed"] == "BERGEN"
    assert {(r["relatertPersonsIdentifikator"], r["relatertPersonsRolle"], r["minRolleForPerson"])
            for r in kari["foreldreBarnRelasjon"]} == {(SOFIE.identifier, "barn", "mor"),
                                                       (EMIL.identifier, "barn", "mor")}
    sofie = (await client.get(f"/folkeregisteret/api/v1/personer/{SOFIE.identifier}", headers=reader(token))).json()
    assert {(r["relatertPersonsIdentifikator"], r["relatertPersonsRolle"]) for r in sofie["foreldreBarnRelasjon"]} \
        == {(KARI.identifier, "mor"), (OLA.identifier, "far")}


async def test_a_birth_enters_the_register_and_the_feed(client, database, token):
    await seed_demo_personas(database)
    start = (await feed(client, token))["nesteSekvensnummer"]
    born = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
        "navn": {"fornavn": "Nora", "etternavn": "Nordmann"}, "foedselsdato": "2026-01-01", "kjoenn": "kvinne",
        "mor": KARI.identifier, "far": OLA.identifier,
    })
    assert born.status_code == 201, born.text
    nora = born.json()
    assert nora["identifikasjonsnummer"][2] in "89"  # a synthetic number (+80 on the month)
    assert {r["relatertPersonsRolle"] for r in nora["foreldreBarnRelasjon"]} == {"mor", "far"}
    (event,) = (await feed(client, token, start))["hendelser"]
    assert event["hendelsestype"] == "foedsel" and event["identifikator"] == nora["identifikasjonsnummer"]
    assert event["data"]["foreldre"] == {"mor": KARI.identifier, "far": OLA.identifier}
    again = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
        "identifikasjonsnummer": nora["identifikasjonsnummer"], "navn": {"fornavn": "X", "etternavn": "Y"},
        "foedselsdato": "2026-01-01", "kjoenn": "kvinne"})
    assert again.status_code == 409
    orphan = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
        "navn": {"fornavn": "X", "etternavn": "Y"}, "foedselsdato": "2026-01-01", "kjoenn": "mann",
        "mor": "01010112345"})
    assert orphan.status_code == 422 and "check_digit" in orphan.text


async def test_a_wrongly_registered_death_is_corrected_and_both_appear_in_the_feed(client, database, token):
    await seed_demo_personas(database)
    path = f"/folkeregisteret/api/v1/personer/{PER.identifier}/doedsfall"
    assert (await client.put(path, headers=writer(token), json={"doedsdato": "2026-01-02"})).status_code == 204
    dead = (await client.get(f"/folkeregisteret/api/v1/personer/{PER.identifier}", headers=reader(token))).json()
    assert dead["status"] == "doed" and dead["doedsdato"] == "2026-01-02"
    krr = await client.post("/rest/v2/personer", json={"personidentifikatorer": [PER.identifier]},
                            headers=bearer(token(scopes=["krr:global/kontaktinformasjon.read"], org="974760673")))
    assert krr.json()["personer"][0]["status"] == "SLETTET"
    assert (await client.put(path, headers=writer(token), json={"doedsdato": "2026-01-02"})).status_code == 409
    assert (await client.delete(path, headers=writer(token))).status_code == 204
    alive = (await client.get(f"/folkeregisteret/api/v1/personer/{PER.identifier}", headers=reader(token))).json()
    assert alive["status"] == "bosatt" and "doedsdato" not in alive
    events = (await feed(client, token))["hendelser"]
    assert [(e["hendelsestype"], e["identifikator"]) for e in events] == [
        ("doedsfall", PER.identifier), ("doedsfallKorrigert", PER.identifier)]
    assert events[1]["data"] == {"annullertDoedsdato": "2026-01-02"}
    assert (await client.delete(path, headers=writer(token))).status_code == 409
    future = await client.put(path, headers=writer(token), json={"doedsdato": "2999-01-01"})
    assert future.status_code == 400 and future.json()["code"] == "invalid_date_of_death"


async def test_moves_and_guardianships_are_registered_and_fed(client, database, token):
    await seed_demo_personas(database)
    base = f"/folkeregisteret/api/v1/personer/{INGRID.identifier}"
    moved = await client.put(f"{base}/bostedsadresse", headers=writer(token), json={
        "adressenavn": "Sjøgata 3", "postnummer": "9008", "poststed": "TROMSØ", "kommunenummer": "5501"})
    assert moved.status_code == 204
    added = await client.post(f"{base}/vergemaal", headers=writer(token), json={
        "verge": PER.identifier, "type": "voksen", "omfang": "oekonomiskeInteresser",
        "tjenesteomraade": [{"tjenesteoppgave": "bankkonto", "tjenestevirksomhet": "bank"}]})
    assert added.status_code == 201
    guardianship = added.json()
    ingrid = (await client.get(base, headers=reader(token))).json()
    assert ingrid["bostedsadresse"]["kommunenummer"] == "5501"
    assert [g["verge"]["foedselsEllerDNummer"] for g in ingrid["vergemaalEllerFremtidsfullmakt"]] == [PER.identifier]
    per = (await client.get(f"/folkeregisteret/api/v1/personer/{PER.identifier}", headers=reader(token))).json()
    assert per["vergeFor"] == [INGRID.identifier]
    ended = await client.delete(f"{base}/vergemaal/{guardianship['id']}", headers=writer(token))
    assert ended.status_code == 204
    assert (await client.delete(f"{base}/vergemaal/{guardianship['id']}", headers=writer(token))).status_code == 404
    assert (await client.get(base, headers=reader(token))).json()["vergemaalEllerFremtidsfullmakt"] == []
    types = [e["hendelsestype"] for e in (await feed(client, token))["hendelser"]]
    assert types == ["flytting", "vergemaalOpprettet", "vergemaalOpphoert"]
    self_guardian = await client.post(f"{base}/vergemaal", headers=writer(token), json={
        "verge": INGRID.identifier, "type": "voksen", "omfang": "personligeInteresser"})
    assert self_guardian.status_code == 400


async def test_bulk_lookup_search_and_the_rights_they_need(client, database, token):
    await seed_demo_personas(database)
    bulk = await client.post("/folkeregisteret/api/v1/personer/bulkoppslag", headers=reader(token),
                             json={"foedselsEllerDNummer": [KARI.identifier, "01817099991", OLA.identifier]})
    assert bulk.status_code in (200, 400)
    valid_unknown = "47906701517"
    bulk = await client.post("/folkeregisteret/api/v1/personer/bulkoppslag", headers=reader(token),
                             json={"foedselsEllerDNummer": [KARI.identifier, valid_unknown, OLA.identifier]})
    assert bulk.status_code == 200
    assert {p["identifikasjonsnummer"] for p in bulk.json()["personer"]} == {KARI.identifier, OLA.identifier}
    assert bulk.json()["ikkeFunnet"] == [valid_unknown]
    hits = await client.get("/folkeregisteret/api/v1/personer?navn=kari%20nord", headers=reader(token))
    assert [h["identifikasjonsnummer"] for h in hits.json()] == [KARI.identifier]
    family = await client.get("/folkeregisteret/api/v1/personer?navn=Nordmann", headers=reader(token))
    assert len(family.json()) == 4
    no_scope = bearer(token(scopes=["krr:global/kontaktinformasjon.read"], org="974760673"))
    assert (await client.get(f"/folkeregisteret/api/v1/personer/{KARI.identifier}", headers=no_scope)).status_code \
        == 403
    reader_writes = await client.put(f"/folkeregisteret/api/v1/personer/{KARI.identifier}/doedsfall",
                                     headers=reader(token), json={"doedsdato": "2026-01-01"})
    assert reader_writes.status_code == 403
    missing = await client.get(f"/folkeregisteret/api/v1/personer/{valid_unknown}", headers=reader(token))
    assert missing.status_code == 404 and missing.json()["code"] == "person_not_found"
    assert date.fromisoformat(bulk.json()["personer"][0]["foedselsdato"]).year > 1900


async def test_births_get_numbers_from_the_right_series_for_their_century(client, database, token):
    for born in ("1880-05-17", "1960-05-17", "2020-05-17"):
        response = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
            "navn": {"fornavn": "Hist", "etternavn": "Orisk"}, "foedselsdato": born, "kjoenn": "mann"})
        assert response.status_code == 201, response.text
        assert response.json()["foedselsdato"] == born
    too_old = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
        "navn": {"fornavn": "A", "etternavn": "B"}, "foedselsdato": "1800-01-01", "kjoenn": "mann"})
    assert too_old.status_code == 422
    unborn = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
        "navn": {"fornavn": "A", "etternavn": "B"}, "foedselsdato": "2039-01-01", "kjoenn": "mann"})
    assert unborn.status_code == 400 and unborn.json()["code"] == "invalid_birth_date"


async def test_a_sequence_number_beyond_64_bits_is_refused_not_a_crash(client, database, token):
    response = await client.get(f"/folkeregisteret/api/v1/hendelser/feed?seq={2**65}", headers=reader(token))
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"


async def test_person_status_answers_from_one_read_and_audits_it(database):
    await seed_demo_personas(database)
    actor = Actor("system:status-test")
    async with database.transaction() as session:
        assert await registers.person_status(session, actor, KARI.identifier) == "bosatt"
    with pytest.raises(NotFound):
        async with database.transaction() as session:
            await registers.person_status(session, actor, "01010100050")  # valid check digits, not registered
    with pytest.raises(InvalidInput):
        async with database.transaction() as session:
            await registers.person_status(session, actor, "01010112345")
    async with database.sessionmaker() as session:
        records = await audit.search_entries(session, subject=None, actor=actor.actor, after=None, limit=10)
    assert [(record.subject, record.entry.resource, record.entry.action) for record in records] == [
        (KARI.identifier, "folkeregisteret.person", "read")]


async def test_an_address_or_name_longer_than_the_register_holds_is_refused_not_a_crash(client, database, token):
    """PostgreSQL refuses a value longer than its column (a 500 before); SQLite stored it. Now both refuse it."""
    await seed_demo_personas(database)
    moved = await client.put(f"/folkeregisteret/api/v1/personer/{INGRID.identifier}/bostedsadresse",
                             headers=writer(token), json={"postnummer": "90080", "kommunenummer": "5501"})
    assert moved.status_code == 422 and moved.json()["code"] == "validation_failed"
    born = await client.post("/folkeregisteret/api/v1/personer", headers=writer(token), json={
        "navn": {"fornavn": "A" * 101, "etternavn": "Nordmann"}, "foedselsdato": "2024-01-02", "kjoenn": "mann"})
    assert born.status_code == 422 and born.json()["code"] == "validation_failed"
