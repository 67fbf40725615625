from felles.registers.catalogue import INDUSTRIES
from felles.registers.population import (
    ACCOUNTING_INDUSTRY,
    AUDITING_INDUSTRY,
    DEMO_ACCOUNTING_FIRM,
    DEMO_COMPANY,
    DEMO_PERSONS,
    INDUSTRY_CODES,
    seed_demo_personas,
)


async def test_a_unit_has_brregs_shape(client, database):
    await seed_demo_personas(database)
    response = await client.get(f"/enhetsregisteret/api/enheter/{DEMO_COMPANY}")
    assert response.status_code == 200
    unit = response.json()
    assert unit["organisasjonsnummer"] == DEMO_COMPANY and unit["navn"] == "Fjordkraft Demo AS"
    assert unit["organisasjonsform"] == {"kode": "AS", "beskrivelse": "Aksjeselskap"}
    assert unit["forretningsadresse"]["postnummer"] == "0150" and unit["forretningsadresse"]["land"] == "Norge"
    assert unit["_links"]["self"]["href"].endswith(f"/enhetsregisteret/api/enheter/{DEMO_COMPANY}")


async def test_an_industry_code_is_described_in_words_not_by_its_code(client, database):
    await seed_demo_personas(database)
    company = (await client.get(f"/enhetsregisteret/api/enheter/{DEMO_COMPANY}")).json()
    assert company["naeringskode1"] == {"kode": "35.140", "beskrivelse": "Handel med elektrisitet"}
    accountant = (await client.get(f"/enhetsregisteret/api/enheter/{DEMO_ACCOUNTING_FIRM}")).json()
    assert accountant["naeringskode1"] == {"kode": "69.201", "beskrivelse": "Regnskap og bokføring"}
    # Every code the synthetic population draws from has its description.
    assert {*INDUSTRY_CODES, ACCOUNTING_INDUSTRY, AUDITING_INDUSTRY} <= INDUSTRIES.keys()


async def test_roles_are_grouped_as_brreg_groups_them(client, database):
    await seed_demo_personas(database)
    groups = (await client.get(f"/enhetsregisteret/api/enheter/{DEMO_COMPANY}/roller")).json()["rollegrupper"]
    by_group = {g["type"]["kode"]: g["roller"] for g in groups}
    assert set(by_group) == {"DAGL", "STYR", "REGN"}
    assert by_group["DAGL"][0]["person"]["navn"]["fornavn"] == DEMO_PERSONS[4].given
    assert [r["type"]["kode"] for r in by_group["STYR"]] == ["LEDE", "MEDL", "MEDL"]
    accountant = by_group["REGN"][0]["enhet"]
    assert accountant["organisasjonsnummer"] == DEMO_ACCOUNTING_FIRM and accountant["navn"] == ["Regnskap Demo AS"]
    assert "fodselsdato" in by_group["DAGL"][0]["person"]  # brreg's spelling, and no fødselsnummer


async def test_search_pages_and_bad_input(client, database):
    await seed_demo_personas(database)
    found = (await client.get("/enhetsregisteret/api/enheter?navn=regnskap&size=1")).json()
    assert [u["organisasjonsnummer"] for u in found["_embedded"]["enheter"]] == [DEMO_ACCOUNTING_FIRM]
    assert found["page"] == {"size": 1, "totalElements": 1, "totalPages": 1, "number": 0}
    everything = (await client.get("/enhetsregisteret/api/enheter?size=1&page=1")).json()
    assert everything["page"]["totalElements"] == 2 and len(everything["_embedded"]["enheter"]) == 1
    invalid = await client.get("/enhetsregisteret/api/enheter/123456789")
    assert invalid.status_code == 400 and invalid.json()["rule"] == "check_digit_1"
    assert (await client.get("/enhetsregisteret/api/enheter/974760673")).status_code == 404
    assert (await client.get("/enhetsregisteret/api/enheter?size=5000")).status_code == 422
