"""What app-frontend-react is handed before it draws a form: the app's global state, the caller's, and a stateless
form's bootstrap (pages, options, schemas and prefilled starting data), as app-lib gives them."""

from __future__ import annotations

import json

import httpx
import pytest

from felles.apps import demo, deployment, metadata, parties
from felles.apps.deployment import AppCatalogue, RunningApp
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.registers import population
from tests.apps.meta.conftest import INGRID, KARI
from tests.conftest import REFERENCE, TokenFactory, bearer

pytestmark = pytest.mark.usefixtures("personas")
ANONYMOUS_APP = REFERENCE / "altinn-apps" / "altinn-studio-anonymous-stateless-app"
STATELESS_APP = REFERENCE / "altinn-apps" / "altinn-studio-stateless-app"


async def _running(database: Database, tmp_path, app_id: str) -> RunningApp:
    definition, version = await AppCatalogue(database, tmp_path / "apps").get(app_id)
    return RunningApp(definition, version)


async def test_the_ui_configuration_names_each_folder_with_its_settings(database: Database, tmp_path) -> None:
    await demo.seed_demo_app(database)
    app = await _running(database, tmp_path, demo.DEMO_APP_ID)
    ui = metadata.ui_configuration(app.definition)
    assert sorted(ui["folders"]) == ["Task_1", "Task_2"] and ui["folders"]["Task_2"]["defaultDataType"] == "soknad"
    assert [step.get("taskId") for step in ui["settings"]["taskNavigation"]] == ["Task_1", "Task_2", None]


async def test_an_anonymous_apps_form_needs_no_login(database: Database, client: httpx.AsyncClient) -> None:
    await deployment.deploy_folder(database, ANONYMOUS_APP, "test")
    response = await client.get("/ttd/anonymous-stateless-app/api/bootstrap-form/stateless")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    form = response.json()
    assert list(form["layouts"]) == ["1", "2"]
    assert form["dataModels"]["default"]["schema"]["@xsdRootElement"] == "Skjema"
    assert form["dataModels"]["default"]["initialData"]["Foretak-grp-8820"] is None  # every property, empty


async def test_a_stateless_form_needs_a_caller_the_policy_lets_read(
        database: Database, client: httpx.AsyncClient, token: TokenFactory) -> None:
    await deployment.deploy_folder(database, STATELESS_APP, "test")
    await demo.seed_demo_app(database)
    url = "/ttd/stateless-app/api/bootstrap-form/stateless"
    assert (await client.get(url)).status_code == 401
    ingrid = bearer(token(scopes=["altinn:portal/enduser"], person=INGRID))
    company = (await authorization.party_of(database, population.DEMO_COMPANY)).party_id
    client.cookies.set(parties.PARTY_COOKIE, str(company), domain="felles.test")
    for_company = await client.get(url, headers=ingrid)
    assert for_company.status_code == 200
    initial = for_company.json()["dataModels"]["stateless"]["initialData"]
    assert initial and all(value is None for value in initial.values())  # its prefill is a person's first name

    # Kari sits on Fjordkraft's board: the demo app lets only its general manager (DAGL) apply for it.
    kari = bearer(token(scopes=["altinn:portal/enduser"], person=KARI))
    refused = await client.get("/fjordvik/parkering/api/bootstrap-form/Task_1", headers=kari)
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
    client.cookies.clear()
    assert (await client.get("/fjordvik/parkering/api/bootstrap-form/Task_1", headers=kari)).status_code == 200


async def test_the_demo_apps_form_starts_prefilled_with_its_options_and_validations(
        database: Database, client: httpx.AsyncClient, token: TokenFactory) -> None:
    await demo.seed_demo_app(database)
    url = "/fjordvik/parkering/api/bootstrap-form/Task_1"
    kari = bearer(token(scopes=["altinn:portal/enduser"], person=KARI))
    form = (await client.get(url, headers=kari, params={"prefill": json.dumps({"Tillatelse.Sone": "B"})})).json()
    soknad = form["dataModels"]["soknad"]
    assert soknad["initialData"]["Soker"]["Fornavn"] == "Kari" and soknad["initialData"]["Tillatelse"]["Sone"] == "B"
    assert soknad["initialData"]["Kjoretoy"] == []  # every property of the model, empty
    assert "Tillatelse.AntallMaaneder" in soknad["expressionValidationConfig"]["validations"]
    assert sorted(form["staticOptions"]) == ["janei", "kjoretoytyper", "soner"]
    assert list(form["layouts"]) == ["Soker", "Tillatelse", "Kjoretoy", "Vedlegg", "Oppsummering"]

    not_in_the_model = await client.get(url, headers=kari, params={"prefill": json.dumps({"Soker.Skonummer": "44"})})
    assert not_in_the_model.status_code == 400
    for bad in ("not json", json.dumps({"Kjoretoy[9999].Merke": "x"}), json.dumps(["a"]), json.dumps({"a": 1})):
        refused = await client.get(url, headers=kari, params={"prefill": bad})
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_prefill"
    assert (await client.get("/fjordvik/parkering/api/bootstrap-form/Task_9", headers=kari)).status_code == 404


async def test_an_instances_form_comes_with_its_data_and_the_issues_it_opens_with(
        database: Database, client: httpx.AsyncClient, token: TokenFactory) -> None:
    await demo.seed_demo_app(database)
    kari = bearer(token(scopes=["altinn:instances.read", "altinn:instances.write"], person=KARI))
    party = (await authorization.party_of(database, KARI)).party_id
    created = await client.post("/fjordvik/parkering/instances/create", headers=kari,
                                json={"instanceOwner": {"partyId": str(party)}})
    assert created.status_code == 201, created.text
    path = f"/fjordvik/parkering/instances/{created.json()['id']}"
    element = next(data for data in created.json()["data"] if data["dataType"] == "soknad")["id"]

    form = (await client.get(f"{path}/bootstrap-form/Task_1", headers=kari)).json()
    soknad = form["dataModels"]["soknad"]
    assert soknad["dataElementId"] == element and soknad["initialData"]["Soker"]["Fornavn"] == "Kari"
    assert "expressionValidationConfig" in soknad and sorted(form["staticOptions"]) == ["janei", "kjoretoytyper",
                                                                                       "soner"]
    opening = {issue["field"] for issue in soknad["initialValidationIssues"]}
    assert {"Tillatelse.Sone", "Tillatelse.GyldigFra"} <= opening
    assert all(issue["dataElementId"] == element for issue in soknad["initialValidationIssues"])

    for_pdf = (await client.get(f"{path}/bootstrap-form/Task_1", headers=kari, params={"pdf": "true"})).json()
    assert "initialValidationIssues" not in for_pdf["dataModels"]["soknad"]
    assert "expressionValidationConfig" not in for_pdf["dataModels"]["soknad"]
    named = await client.get(f"{path}/bootstrap-form/Task_1", headers=kari, params={"dataElementId": element})
    assert named.json()["dataModels"]["soknad"]["dataElementId"] == element

    ola = bearer(token(scopes=["altinn:instances.read"], person=population.DEMO_PERSONS[1].identifier))
    assert (await client.get(f"{path}/bootstrap-form/Task_1", headers=ola)).status_code == 403
    assert (await client.get(f"{path}/bootstrap-form/Task_1")).status_code == 401
    assert (await client.get(f"{path}/bootstrap-form/Task_9", headers=kari)).status_code == 404


async def test_an_instances_options_need_read_access_to_it(
        database: Database, client: httpx.AsyncClient, token: TokenFactory) -> None:
    await demo.seed_demo_app(database)
    kari = bearer(token(scopes=["altinn:instances.read", "altinn:instances.write"], person=KARI))
    party = (await authorization.party_of(database, KARI)).party_id
    created = (await client.post("/fjordvik/parkering/instances/create", headers=kari,
                                 json={"instanceOwner": {"partyId": str(party)}})).json()
    options = f"/fjordvik/parkering/instances/{created['id']}/options"
    zones = await client.get(f"{options}/soner", headers=kari)
    assert zones.status_code == 200 and [zone["value"] for zone in zones.json()] == ["A", "B", "C"]
    assert zones.headers["altinn-downstreamparameters"] == ""
    assert (await client.get(f"{options}/nothing", headers=kari)).status_code == 404
    ola = bearer(token(scopes=["altinn:instances.read"], person=population.DEMO_PERSONS[1].identifier))
    assert (await client.get(f"{options}/soner", headers=ola)).status_code == 403
