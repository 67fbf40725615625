"""Validation over the app API: required fields only where visible, the model's expression validations, the
schema (an empty property is not a wrong type), counts of the task's data types; the process's validator sees the
same issues."""

from __future__ import annotations

from types import SimpleNamespace

from felles.apps import data_validation
from felles.apps.deployment import AppCatalogue
from felles.storage import service as storage
from tests.apps.data.conftest import new_instance


def _fields(issues, source):
    return sorted((issue["field"], issue["code"]) for issue in issues if issue["source"] == source)


async def test_required_fields_are_reported_while_visible(client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    issues = (await client.get(f"{path}/validate", headers=kari)).json()
    assert _fields(issues, "Required") == [("property1", "required"), ("property2", "required")]
    assert {issue["dataElementId"] for issue in issues} == {str(element)}
    assert issues[0]["severity"] == 1 and issues[0]["customTextKey"] == "backend.validation_errors.required"
    assert _fields(issues, "Schema") == []  # empty properties are for the layout to require, not the schema

    await client.put(f"{path}/data/{element}", headers=kari, json={"property1": "skip"})
    hidden = (await client.get(f"{path}/validate", headers=kari)).json()
    assert _fields(hidden, "Required") == []  # "second" is hidden when property1 is "skip"


async def test_expression_validations_report_their_message(client, database, settings, deployed, kari) -> None:
    instance, element = await new_instance(database, settings, deployed)
    path = deployed.path(instance)
    await client.put(f"{path}/data/{element}", headers=kari,
                     json={"property1": "a", "property2": "b", "property3": "forbidden"})
    issues = (await client.get(f"{path}/data/{element}/validate", headers=kari)).json()
    assert [(issue["field"], issue["customTextKey"], issue["source"]) for issue in issues] == [
        ("property3", "data.no-forbidden", "Expression")]
    await client.put(f"{path}/data/{element}", headers=kari, json={"property1": "a", "property2": "b"})
    assert (await client.get(f"{path}/validate", headers=kari)).json() == []


async def test_a_missing_form_is_too_few_of_its_type(client, database, settings, deployed, kari) -> None:
    instance, _ = await new_instance(database, settings, deployed, with_form=False)
    issues = (await client.get(f"{deployed.path(instance)}/validate", headers=kari)).json()
    assert [(issue["code"], issue["field"]) for issue in issues] == [("TooFewDataElementsOfType", "model")]


async def test_the_process_validator_sees_the_tasks_issues(app, client, database, settings, deployed, kari) -> None:
    instance_id, _ = await new_instance(database, settings, deployed)
    definition, version = await AppCatalogue(database, settings.data_dir / "apps").get(deployed.app_id)
    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id)
        context = SimpleNamespace(session=session, runtime=app.state.runtime, instance=instance, language="nb",
                                  app=SimpleNamespace(definition=definition, version=version), scratch={})
        issues = await data_validation.task_issues(context)
    assert _fields(issues, "Required") == [("property1", "required"), ("property2", "required")]

