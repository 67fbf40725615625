"""The demo app: Fjordvik kommune's parking permit deploys clean, is served by the app API, its prefill resolves
against Felles' registers, its dynamics and validations behave, and its policy lets the right people in."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from felles.apps import demo, deployment, parties
from felles.apps.access import Caller
from felles.apps.checks import check_app
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.formdata import json_to_xml, xml_to_json
from felles.apps.layout import FormState
from felles.apps.prefill import SOURCES, PrefillSources, apply_prefill, sources_named, takes_contact_details
from felles.apps.validation import validate_expressions, validate_required, validate_xml
from felles.authorization import service as authorization
from felles.core.audit import AuditEntry
from felles.core.db import Database
from felles.registers import population
from tests.apps.meta.conftest import INGRID, KARI

BASE = "/fjordvik/parkering"


@pytest.fixture(scope="module")
def demo_app():
    return check_app(demo.DEMO_APP_FOLDER)


def test_the_demo_app_checks_clean(demo_app) -> None:
    assert demo_app.problems == [] and demo_app.warnings == []
    assert demo_app.id == demo.DEMO_APP_ID
    assert [task.task_type for task in demo_app.process.tasks.values()] == ["data", "confirmation"]
    assert set(demo_app.texts) == {"nb", "nn", "en"}
    assert {language: set(texts) for language, texts in demo_app.texts.items()} == {
        language: set(demo_app.texts["nb"]) for language in demo_app.texts}


async def test_seeding_registers_the_municipality_and_deploys_once(database: Database) -> None:
    first = await demo.seed_demo_app(database)
    again = await demo.seed_demo_app(database)
    assert (first.app_id, first.created, again.created, again.version) == (demo.DEMO_APP_ID, True, False, 1)
    assert await authorization.service_owner_code(database, demo.DEMO_SERVICE_OWNER_NUMBER) == "fjordvik"
    assert [app.app_id for app in await deployment.list_deployed(database)] == [demo.DEMO_APP_ID]


async def test_the_app_api_serves_the_demo_app(database: Database, client: httpx.AsyncClient) -> None:
    await demo.seed_demo_app(database)
    metadata = (await client.get(f"{BASE}/api/v1/applicationmetadata")).json()
    attachments = next(data_type for data_type in metadata["dataTypes"] if data_type["id"] == "vedlegg")
    assert attachments["enableFileScan"] is True and attachments["maxSize"] == 10
    assert set(attachments["allowedContentTypes"]) == {"application/pdf", "image/png", "image/jpeg"}
    sets = (await client.get(f"{BASE}/api/layoutsets")).json()["sets"]
    assert [(entry["id"], entry["tasks"]) for entry in sets] == [("Task_1", ["Task_1"]), ("Task_2", ["Task_2"])]
    pages = (await client.get(f"{BASE}/api/layouts/Task_1")).json()
    assert list(pages) == ["Soker", "Tillatelse", "Kjoretoy", "Vedlegg", "Oppsummering"]
    english = {text["id"]: text["value"] for text in (await client.get(f"{BASE}/api/v1/texts/en")).json()["resources"]}
    zones = (await client.get(f"{BASE}/api/options/soner")).json()
    assert [english[zone["label"]] for zone in zones] == ["Zone A – Town centre", "Zone B – Fjord side",
                                                          "Zone C – North town"]
    assert (await client.get(f"{BASE}/api/jsonschema/soknad")).json()["@xsdRootElement"] == "Parkeringssoknad"


async def test_its_prefill_resolves_against_the_registers(database: Database, demo_app) -> None:
    await population.seed_demo_personas(database)
    config = demo_app.models["soknad"].prefill
    kari = Caller(KARI, None, 3, (await authorization.party_of(database, KARI)).user_id)
    kari_party = (await authorization.party_of(database, KARI)).party_id
    company_id = (await authorization.party_of(database, population.DEMO_COMPANY)).party_id
    for_person = await parties.registers_prefill_sources(database, kari, kari_party)
    for_company = await parties.registers_prefill_sources(database, kari, company_id)
    for source in SOURCES:
        values = (for_company if source == "ER" else for_person).of(source)
        assert values is not None and set(config[source]) <= set(values), f"{source} names a field it lacks"

    filled = apply_prefill({}, config, for_person)
    assert filled["Soker"] | {"Fodselsnummer": None} == {
        "Fodselsnummer": None, "Fornavn": "Kari", "Etternavn": "Nordmann", "Gateadresse": "Fjordveien",
        "Husnummer": "12", "Postnummer": "5003", "Poststed": "BERGEN", "Epost": "kari.nordmann@eksempel.no",
        "Telefon": "+4791234567"}
    assert filled["Soker"]["Fodselsnummer"] == KARI
    model = demo_app.models["soknad"]
    xml = json_to_xml(filled, model.xsd, model.root_element)
    read_back = xml_to_json(xml, model.xsd)["Soker"]
    assert validate_xml(xml, model.xsd) == []
    assert {field: value for field, value in read_back.items() if value is not None} == filled["Soker"]
    assert apply_prefill({}, config, for_company)["Soker"]["Organisasjonsnavn"] == "Fjordkraft Demo AS"


async def test_prefill_looks_up_only_the_registers_its_configuration_names(database: Database) -> None:
    await population.seed_demo_personas(database)
    kari = Caller(KARI, None, 3, (await authorization.party_of(database, KARI)).user_id)
    kari_party = await authorization.party_of(database, KARI)

    async def reads() -> list[str]:
        async with database.transaction() as session:
            return list(await session.scalars(select(AuditEntry.resource).order_by(AuditEntry.id)))

    before = len(await reads())
    names = {"DSF": {"FirstName": "navn"}, "ER": {}}
    from_folkeregisteret = await parties.registers_prefill_sources(
        database, kari, kari_party, sources=sources_named(names), contact=takes_contact_details(names))
    assert from_folkeregisteret.dsf is not None and from_folkeregisteret.dsf["FirstName"] == "Kari"
    assert "MobileNumber" not in from_folkeregisteret.dsf and from_folkeregisteret.user_profile is None
    # Folkeregisteret alone: neither KRR (no mobile number is asked for) nor the caller's profile.
    assert (await reads())[before:] == ["folkeregisteret.person"]
    mobile = {"DSF": {"FirstName": "navn", "MobileNumber": "telefon"}}
    with_mobile = await parties.registers_prefill_sources(
        database, kari, kari_party, sources=sources_named(mobile), contact=takes_contact_details(mobile))
    assert with_mobile.dsf is not None and with_mobile.dsf["MobileNumber"] == "+4791234567"
    assert (await reads())[before + 1:] == ["folkeregisteret.person", "krr.contact_information"]
    assert await parties.registers_prefill_sources(database, kari, kari_party, sources=()) == PrefillSources()
    assert len(await reads()) == before + 3
    only_the_profile = await parties.registers_prefill_sources(
        database, kari, kari_party, sources=sources_named({"UserProfile": {"Email": "epost"}}))
    assert only_the_profile.dsf is None and only_the_profile.user_profile is not None


def test_the_card_number_shows_only_with_a_card_and_is_then_required(demo_app) -> None:
    layout_set = demo_app.layout_sets["Task_1"].layout_set

    def required_fields(data: dict) -> set[str]:
        form = FormState(layout_set, ExpressionContext(data=DataModels({"default": data})))
        return {issue.field for issue in validate_required(form)}

    filled = {"Soker": {"Gateadresse": "Fjordveien", "Postnummer": "5003", "Poststed": "BERGEN", "Epost": "k@e.no"},
              "Tillatelse": {"Sone": "A", "Type": "beboer", "GyldigFra": "2026-12-24", "AntallMaaneder": 6,
                             "HarHandikapkort": "nei", "Vilkaar": "godtatt"},
              "Kjoretoy": [{"Registreringsnummer": "EL12345", "Merke": "Tesla", "Kjoretoytype": "elbil"}]}
    assert required_fields(filled) == set()
    with_card = json.loads(json.dumps(filled))
    with_card["Tillatelse"]["HarHandikapkort"] = "ja"
    assert required_fields(with_card) == {"Tillatelse.Handikapkortnummer"}
    without_make = json.loads(json.dumps(filled))
    del without_make["Kjoretoy"][0]["Merke"]
    assert required_fields(without_make) == {"Kjoretoy[0].Merke"}


def test_expression_validations_stop_too_long_permits_and_heavy_vehicles(demo_app) -> None:
    rules = demo_app.models["soknad"].validation
    data = {"Tillatelse": {"AntallMaaneder": 13},
            "Kjoretoy": [{"VektKg": 1800}, {"VektKg": 3600}]}
    issues = validate_expressions(rules, ExpressionContext(data=DataModels({"default": data})))
    assert {(issue.field, issue.custom_text_key) for issue in issues} == {
        ("Tillatelse.AntallMaaneder", "validering.antall_maaneder"), ("Kjoretoy[1].VektKg", "validering.vekt")}


async def test_the_policy_lets_applicants_apply_and_the_municipality_read(database: Database) -> None:
    await population.seed_demo_personas(database)
    await demo.seed_demo_app(database)

    async def may(subject: str, party: str, action: str, task: str | None = None, owner: str | None = None) -> bool:
        return await authorization.may_use_app(database, subject, party, "fjordvik", "parkering", action, task=task,
                                               service_owner=owner)

    assert await may(KARI, KARI, "instantiate") and await may(KARI, KARI, "write", "Task_1")
    assert await may(KARI, KARI, "confirm", "Task_2") and not await may(KARI, KARI, "write", "Task_2")
    assert await may(INGRID, population.DEMO_COMPANY, "instantiate")
    assert not await may(KARI, population.DEMO_COMPANY, "instantiate")  # a board member, not the general manager
    assert not await may(KARI, INGRID, "read")
    owner = demo.DEMO_SERVICE_OWNER_NUMBER
    assert await may(owner, KARI, "read", owner="fjordvik") and await may(owner, KARI, "complete", owner="fjordvik")
    assert not await may(owner, KARI, "write", "Task_1", owner="fjordvik")


def test_seed_demo_deploys_the_app_once_and_app_list_shows_it(settings, database: Database,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from felles.cli import cli
    from felles.core.config import get_settings

    for name, value in {"ENVIRONMENT": "test", "DATA_DIR": str(settings.data_dir),
                        "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key}.items():
        monkeypatch.setenv(f"FELLES_{name}", value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        seeded = runner.invoke(cli, ["seed", "--demo"])
        assert seeded.exit_code == 0, seeded.output
        assert "Demo app: fjordvik/parkering version 1 (deployed)" in seeded.output
        again = runner.invoke(cli, ["seed", "--demo"])
        assert "Demo app: fjordvik/parkering version 1 (already deployed)" in again.output
        listed = runner.invoke(cli, ["app", "list"])
        assert listed.exit_code == 0 and "fjordvik/parkering" in listed.output
    finally:
        get_settings.cache_clear()
