"""The process over the app API: data → (gateway on the amount) → confirmation → end, the PDP deciding each
action, validation before leaving a data task, locked data, the events of each step, and the steps refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from felles.apps import tasks
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.events.models import CloudEventRecord
from felles.storage import service as storage
from tests.apps.runtime.conftest import APP_ID, KARI, process_of

INSTANCES = f"/{APP_ID}/instances"


async def new_instance(client, database: Database, headers: dict[str, str], app_id: str = APP_ID,
                       **prefill: Any) -> str:
    party = (await authorization.party_of(database, KARI)).party_id
    created = await client.post(f"/{app_id}/instances/create", headers=headers,
                                json={"instanceOwner": {"partyId": str(party)}, "prefill": prefill})
    assert created.status_code == 201, created.text
    return f"/{app_id}/instances/{created.json()['id']}"


async def app_events(database: Database) -> list[CloudEventRecord]:
    async with database.transaction() as session:
        return list(await session.scalars(select(CloudEventRecord).order_by(CloudEventRecord.sequence)))


async def test_a_large_amount_goes_through_confirmation_to_the_end(client, database, soknad, kari) -> None:
    path = await new_instance(client, database, kari, belop=5000)
    state = (await client.get(f"{path}/process", headers=kari)).json()
    task = state["currentTask"]
    assert (task["elementId"], task["read"], task["write"], task["elementType"]) == ("Task_1", True, True, "Task")
    assert [item["elementId"] for item in state["processTasks"]] == ["Task_1", "Task_2"]

    moved = await client.put(f"{path}/process/next", headers=kari)
    assert moved.status_code == 200, moved.text
    task = moved.json()["currentTask"]
    assert (task["elementId"], task["altinnTaskType"], task["flow"]) == ("Task_2", "confirmation", 3)
    assert task["actions"]["confirm"] is True and task["write"] is True
    assert task["userActions"] == [{"id": "confirm", "authorized": True, "type": "ProcessAction"}]
    instance = (await client.get(path, headers=kari)).json()
    # Task_1's form data, locked, and its PDF, made as Task_1 ended (the app leaves enablePdfCreation at true).
    assert [(element["dataType"], element["locked"]) for element in instance["data"]] == [
        ("skjema", True), ("ref-data-as-pdf", False)]
    assert instance["status"]["isArchived"] is False

    ended = await client.put(f"{path}/process/next", headers=kari, json={"action": "confirm"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["endEvent"] == "EndEvent_1" and ended.json()["ended"] and "currentTask" not in ended.json()
    archived = (await client.get(path, headers=kari)).json()["status"]
    assert archived["isArchived"] is True
    assert datetime.fromisoformat(archived["archived"]) == datetime.fromisoformat(ended.json()["ended"])
    again = await client.put(f"{path}/process/next", headers=kari)
    assert again.status_code == 409 and again.json()["code"] == "process_ended"

    history = (await client.get(f"{path}/process/history", headers=kari)).json()["processHistory"]
    assert [(item["eventType"], item["elementId"]) for item in history] == [
        ("StartEvent", "StartEvent_1"), ("StartTask", "Task_1"), ("EndTask", "Task_1"), ("StartTask", "Task_2"),
        ("EndTask", "Task_2"), ("EndEvent", "EndEvent_1")]
    party, guid = path.rsplit("/", 2)[-2:]
    kinds = [event.eventType for event in
             (await storage.events_of(database, uuid.UUID(guid), party_id=int(party))).instanceEvents]
    assert kinds[0] == "Created" and kinds[-1] == "Submited"
    published = await app_events(database)
    assert [event.type for event in published] == [
        "app.instance.created", "app.instance.process.movedTo.Task_1", "app.instance.process.movedTo.Task_2",
        "app.instance.process.completed"]
    created = published[0]
    assert created.source.endswith(f"/{APP_ID}/instances/{party}/{guid}") and created.subject == f"/party/{party}"
    assert created.alternative_subject == f"/person/{KARI}" and created.resource == \
        "urn:altinn:resource:app_ttd_runtime-soknad"
    assert created.publisher == "/org/405003309"  # the service owner's: its subscriptions get them


async def test_the_gateway_takes_its_default_flow_for_a_small_amount(client, database, soknad, kari) -> None:
    path = await new_instance(client, database, kari, belop=10)
    ended = await client.put(f"{path}/process/next", headers=kari)
    assert ended.status_code == 200 and ended.json()["endEvent"] == "EndEvent_1"
    assert (await client.get(path, headers=kari)).json()["process"]["endEvent"] == "EndEvent_1"
    assert (await client.get(f"{INSTANCES}/{path.split('/')[-2]}/active", headers=kari)).json() == []


async def test_an_action_that_is_not_the_tasks_or_not_permitted_is_refused(client, database, soknad, kari,
                                                                         ola, ttd) -> None:
    path = await new_instance(client, database, kari, belop=5000)
    invalid = await client.put(f"{path}/process/next", headers=kari, json={"action": "pay"})
    assert invalid.status_code == 409 and invalid.json()["code"] == "invalid_action"
    assert invalid.headers["content-type"] == "application/problem+json"
    malformed = await client.put(f"{path}/process/next", headers={**kari, "content-type": "application/json"},
                                 content=b"{action")
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid_process_next"
    stranger = await client.put(f"{path}/process/next", headers=ola)
    assert stranger.status_code == 403
    await client.put(f"{path}/process/next", headers=kari)
    owner = await client.put(f"{path}/process/next", headers=ttd, json={"action": "confirm"})
    assert owner.status_code == 403 and owner.json()["code"] == "not_permitted"  # the policy gives ttd no confirm
    assert (await client.get(f"{path}/process", headers=kari)).json()["currentTask"]["elementId"] == "Task_2"
    started = await client.post(f"{path}/process/start", headers=kari)
    assert started.status_code == 409 and started.json()["code"] == "process_already_started"


@pytest.fixture
def amount_required():
    """A validator as the data part registers them: the amount must be given."""
    async def validate(ctx: tasks.TaskContext) -> list[dict[str, Any]]:
        from felles.apps.instances import instance_form_data

        data = (await instance_form_data(ctx)).get("skjema", {})
        return [] if data.get("belop") is not None else [
            {"severity": 1, "field": "belop", "code": "required", "description": "Beløp må fylles ut",
             "source": "Required", "dataElementId": None, "customTextKey": None}]

    tasks.register_validator(validate)
    yield
    tasks.unregister_validator(validate)


async def test_a_data_task_with_errors_is_not_left(client, database, soknad, kari, amount_required) -> None:
    path = await new_instance(client, database, kari)
    refused = await client.put(f"{path}/process/next", headers=kari)
    assert refused.status_code == 409 and refused.json()["code"] == "validation_failed"
    assert {issue["field"] for issue in refused.json()["validationIssues"]} == {"belop"}  # also the data part's
    instance = (await client.get(path, headers=kari)).json()
    assert instance["process"]["currentTask"]["elementId"] == "Task_1" and not instance["data"][0]["locked"]


@pytest.fixture
def both_have_read():
    """A validator that holds each `next` until two have read the instance: the moves are truly concurrent."""
    barrier = asyncio.Barrier(2)

    async def wait_for_the_other(ctx: tasks.TaskContext) -> list[dict[str, Any]]:
        await asyncio.wait_for(barrier.wait(), 10)
        return []

    tasks.register_validator(wait_for_the_other)
    yield
    tasks.unregister_validator(wait_for_the_other)


async def test_of_two_concurrent_moves_one_wins(client, database, soknad, kari, both_have_read) -> None:
    path = await new_instance(client, database, kari, belop=5000)
    first, second = await asyncio.gather(client.put(f"{path}/process/next", headers=kari),
                                         client.put(f"{path}/process/next", headers=kari))
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "instance_changed"
    assert (await client.get(f"{path}/process", headers=kari)).json()["currentTask"]["elementId"] == "Task_2"
    party, guid = path.rsplit("/", 2)[-2:]
    kinds = [event.eventType for event in
             (await storage.events_of(database, uuid.UUID(guid), party_id=int(party))).instanceEvents]
    assert kinds.count("process_EndTask") == 1  # the loser wrote nothing


async def test_feedback_waits_for_the_service_owner(client, database, deploy_variant, kari, ttd) -> None:
    app_id = await deploy_variant("runtime-feedback", process=process_of(("Task_1", "data"), ("Task_2", "feedback")))
    path = await new_instance(client, database, kari, app_id, belop=5000)  # the layout requires it
    assert (await client.put(f"{path}/process/next", headers=kari)).status_code == 200
    refused = await client.put(f"{path}/process/next", headers=kari)
    assert refused.status_code == 403 and refused.json()["code"] == "feedback_awaits_service_owner"
    ended = await client.put(f"{path}/process/next", headers=ttd)
    assert ended.status_code == 200 and ended.json()["endEvent"] == "EndEvent_1"


async def test_service_tasks_run_on_their_own_and_an_unknown_task_type_is_a_conflict(client, database,
                                                                                     deploy_variant, kari) -> None:
    app_id = await deploy_variant("runtime-eformidling", process=process_of(
        ("Task_1", "data"), ("Task_2", "eFormidling"), ("Task_3", "confirmation")))
    path = await new_instance(client, database, kari, app_id, belop=5000)
    moved = await client.put(f"{path}/process/next", headers=kari)
    assert moved.status_code == 200 and moved.json()["currentTask"]["elementId"] == "Task_3"

    unknown = await deploy_variant("runtime-unknown", process=process_of(("Task_1", "data"), ("Task_2", "fax")))
    path = await new_instance(client, database, kari, unknown, belop=5000)
    refused = await client.put(f"{path}/process/next", headers=kari)
    assert refused.status_code == 409 and refused.json()["code"] == "unknown_task_type"
    assert (await client.get(f"{path}/process", headers=kari)).json()["currentTask"]["elementId"] == "Task_1"


SENT_BACK = """<?xml version="1.0" encoding="utf-8"?>
<bpmn:definitions id="D" xmlns:altinn="http://altinn.no/process" xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <bpmn:process id="P">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:task id="Task_1"><bpmn:extensionElements><altinn:taskExtension><altinn:taskType>data</altinn:taskType>
      </altinn:taskExtension></bpmn:extensionElements></bpmn:task>
    <bpmn:task id="Task_2"><bpmn:extensionElements><altinn:taskExtension><altinn:taskType>confirmation</altinn:taskType>
      <altinn:actions><altinn:action>confirm</altinn:action><altinn:action>reject</altinn:action></altinn:actions>
      </altinn:taskExtension></bpmn:extensionElements></bpmn:task>
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_Done" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_1" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_1" targetRef="Task_2" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_2" targetRef="Gateway_1" />
    <bpmn:sequenceFlow id="Flow_Back" sourceRef="Gateway_1" targetRef="Task_1">
      <bpmn:conditionExpression>["equals", ["gatewayAction"], "reject"]</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_Done" sourceRef="Gateway_1" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>"""


async def test_a_rejection_sends_the_form_back_open_for_changes(client, database, deploy_variant, kari) -> None:
    app_id = await deploy_variant("runtime-sent-back", process=SENT_BACK)
    path = await new_instance(client, database, kari, app_id, belop=5000)
    assert (await client.put(f"{path}/process/next", headers=kari)).status_code == 200
    assert (await client.get(path, headers=kari)).json()["data"][0]["locked"] is True
    back = await client.put(f"{path}/process/next", headers=kari, json={"action": "reject"})
    assert back.status_code == 200 and back.json()["currentTask"]["elementId"] == "Task_1"
    assert back.json()["currentTask"]["flow"] == 4
    assert (await client.get(path, headers=kari)).json()["data"][0]["locked"] is False
    assert (await client.put(f"{path}/process/next", headers=kari)).json()["currentTask"]["elementId"] == "Task_2"
    done = await client.put(f"{path}/process/next", headers=kari, json={"action": "confirm"})
    assert done.json()["endEvent"] == "EndEvent_1"


async def test_complete_process_takes_each_task_with_its_own_action_to_the_end(client, database, soknad, kari,
                                                                               ola) -> None:
    path = await new_instance(client, database, kari, belop=5000)
    assert (await client.get(f"{path}/process/next", headers=kari)).json() == []  # actions name the way since v8
    assert (await client.put(f"{path}/process/completeProcess", headers=ola)).status_code == 403
    resumed = await client.post(f"{path}/process/resume", headers=kari)
    assert resumed.status_code == 409 and resumed.json()["code"] == "nothing_to_resume"

    completed = await client.put(f"{path}/process/completeProcess", headers=kari)
    assert completed.status_code == 200, completed.text
    assert completed.json()["endEvent"] == "EndEvent_1" and "currentTask" not in completed.json()
    history = (await client.get(f"{path}/process/history", headers=kari)).json()["processHistory"]
    assert [(item["eventType"], item["elementId"]) for item in history if item["eventType"] == "EndTask"] == [
        ("EndTask", "Task_1"), ("EndTask", "Task_2")]  # the form, then the confirmation (its action: confirm)
    again = await client.put(f"{path}/process/completeProcess", headers=kari)
    assert again.status_code == 409 and again.json()["code"] == "process_ended"
    ended = await client.get(f"{path}/process/next", headers=kari)
    assert ended.status_code == 409 and ended.json()["code"] == "process_ended"


async def test_complete_process_stops_at_a_task_with_errors(client, database, soknad, kari, amount_required) -> None:
    path = await new_instance(client, database, kari)
    refused = await client.put(f"{path}/process/completeProcess", headers=kari)
    assert refused.status_code == 409 and refused.json()["code"] == "validation_failed"
    assert (await client.get(f"{path}/process", headers=kari)).json()["currentTask"]["elementId"] == "Task_1"


async def test_next_returns_the_instance_after_the_step_when_asked(client, database, soknad, kari) -> None:
    path = await new_instance(client, database, kari, belop=5000)
    moved = await client.put(f"{path}/process/next", headers=kari, params={"returnInstance": "true"})
    assert moved.status_code == 200, moved.text
    instance = moved.json()
    assert instance["id"] == path.split("/instances/")[1]
    assert instance["process"]["currentTask"]["elementId"] == "Task_2"
    assert instance["process"]["currentTask"]["actions"]["confirm"] is True  # the state as GET process shows it
    assert instance["instanceOwner"]["party"]["partyId"] == int(path.split("/")[-2])
    assert {element["dataType"] for element in instance["data"]} == {"skjema", "ref-data-as-pdf"}
    bad = await client.put(f"{path}/process/next", headers=kari, json={"action": "confirm",
                                                                         "actionOnBehalfOf": "not a number"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_process_next"
