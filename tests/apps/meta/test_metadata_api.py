"""The app's description of itself at app-lib's paths: what Altinn's frontend reads before it draws a form."""

from __future__ import annotations

import httpx
import pytest

from felles.apps import deployment
from felles.core.db import Database
from tests.conftest import REFERENCE

FRONTEND_TEST = REFERENCE / "altinn-apps" / "altinn-studio-frontend-test"
COMPONENT_LIBRARY = REFERENCE / "altinn-apps" / "altinn-studio-component-library"
BASE = "/ttd/frontend-test"


@pytest.fixture
async def frontend_test(database: Database) -> None:
    await deployment.deploy_folder(database, FRONTEND_TEST, "test")


@pytest.mark.usefixtures("frontend_test")
async def test_application_metadata_is_served_with_app_libs_defaults_and_cached(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/api/v1/applicationmetadata")
    assert response.status_code == 200 and response.headers["cache-control"] == "public, max-age=60"
    document = response.json()
    assert document["id"] == "ttd/frontend-test" and document["org"] == "ttd"
    assert document["partyTypesAllowed"] == {"bankruptcyEstate": False, "organisation": False, "person": False,
                                             "subUnit": False}
    assert document["onEntry"] == {"show": "select-instance"} and document["altinnNugetVersion"]
    message = next(data_type for data_type in document["dataTypes"] if data_type["id"] == "message")
    assert message["appLogic"]["disallowUserCreate"] is False and message["enableFileScan"] is False
    assert message["enablePdfCreation"] is True

    again = await client.get(f"{BASE}/api/v1/applicationmetadata",
                             headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.usefixtures("frontend_test")
async def test_layout_sets_layouts_and_settings_of_an_app_laid_out_by_task(client: httpx.AsyncClient) -> None:
    sets = (await client.get(f"{BASE}/api/layoutsets")).json()["sets"]
    task_1 = next(entry for entry in sets if entry["id"] == "Task_1")
    assert task_1 == {"id": "Task_1", "dataType": "message", "tasks": ["Task_1"]}

    layouts = (await client.get(f"{BASE}/api/layouts/Task_1")).json()
    assert list(layouts)[:2] == ["formLayout", "taskChooser"]
    assert isinstance(layouts["formLayout"]["data"]["layout"], list)
    settings = (await client.get(f"{BASE}/api/layoutsettings/Task_1")).json()
    assert settings["pages"]["order"] == ["formLayout", "taskChooser"] and settings["defaultDataType"] == "message"

    missing = await client.get(f"{BASE}/api/layouts/Task_404")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "layout_set_not_found"


@pytest.mark.usefixtures("frontend_test")
async def test_texts_by_language_fall_back_to_bokmal_and_refuse_a_bad_code(client: httpx.AsyncClient) -> None:
    english = (await client.get(f"{BASE}/api/v1/texts/en")).json()
    assert english["language"] == "en" and english["id"] == "ttd-frontend-test-en" and english["resources"]
    assert all({"id", "value"} <= resource.keys() for resource in english["resources"])
    nynorsk = (await client.get(f"{BASE}/api/v1/texts/nn")).json()
    assert nynorsk["language"] == "nb"
    assert (await client.get(f"{BASE}/api/v1/textresources")).json() == nynorsk
    bad = await client.get(f"{BASE}/api/v1/texts/norsk")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_language"
    languages = (await client.get(f"{BASE}/api/v1/applicationlanguages")).json()
    assert languages == [{"language": "en"}, {"language": "nb"}]


@pytest.mark.usefixtures("frontend_test")
async def test_schemas_validations_footer_and_the_files_behind_them(client: httpx.AsyncClient) -> None:
    schema = await client.get(f"{BASE}/api/jsonschema/message")
    assert schema.status_code == 200 and schema.json()["properties"]
    xsd = await client.get(f"{BASE}/api/xsdschema/message")
    assert xsd.status_code == 200 and xsd.headers["content-type"].startswith("application/xml")
    assert b"schema" in xsd.content
    assert (await client.get(f"{BASE}/api/jsonschema/nothing")).status_code == 404

    validations = await client.get(f"{BASE}/api/validationconfig/nested-group")
    assert validations.status_code == 200 and "validations" in validations.json()
    assert (await client.get(f"{BASE}/api/validationconfig/message")).status_code == 204

    footer = (await client.get(f"{BASE}/api/v1/footer")).json()
    assert footer["footer"][0]["type"] == "Text"
    assert (await client.get(f"{BASE}/api/rulehandler/Task_1")).status_code == 204
    assert (await client.get(f"{BASE}/api/ruleconfiguration/Task_1")).status_code == 204

    process = await client.get(f"{BASE}/api/v1/meta/process")
    assert process.headers["content-type"].startswith("text/xml") and b"Task_1" in process.content
    policy = await client.get(f"{BASE}/api/v1/meta/authorizationpolicy")
    assert b"xacml" in policy.content.lower()
    assert (await client.get(f"{BASE}/api/v1/applicationsettings")).json() == {}


async def test_static_options_with_their_downstream_parameters(database: Database, client: httpx.AsyncClient) -> None:
    await deployment.deploy_folder(database, COMPONENT_LIBRARY, "test")
    base = "/ttd/component-library"
    response = await client.get(f"{base}/api/options/persons", params={"language": "en", "extra": "1"})
    assert response.status_code == 200 and response.headers["altinn-downstreamparameters"] == ""
    assert {"label": "Kari", "value": "Kari"} in response.json()
    missing = await client.get(f"{base}/api/options/lib**ttd**countries**latest")
    assert missing.status_code == 404 and missing.json()["code"] == "options_not_found"
    data_list = await client.get(f"{base}/api/datalists/people")
    assert data_list.status_code == 404 and data_list.json()["code"] == "data_list_not_found"


async def test_an_app_nobody_deployed_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/ttd/never-deployed/api/v1/applicationmetadata")
    assert response.status_code == 404 and response.json()["code"] == "app_not_found"


def test_an_app_with_layout_sets_json_is_found_by_its_tasks_too() -> None:
    from felles.apps import metadata
    from felles.apps.definition import load_app

    definition = load_app(REFERENCE / "altinn-apps" / "app-lib-dotnet-basic")
    folders = metadata.ui_configuration(definition)["folders"]
    assert folders["form"] == folders["Task_1"] and folders["Task_1"]["defaultDataType"] == "model"
    by_task = metadata.form_bootstrap(definition, "Task_1")
    assert by_task == metadata.form_bootstrap(definition, "form") and by_task.default_data_type == "model"
    assert list(by_task.document["dataModels"]) == ["model"]
    assert metadata.layout_sets(definition)["sets"] == [{"id": "form", "dataType": "model", "tasks": ["Task_1"]}]
