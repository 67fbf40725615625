"""The process engine on Altinn's own test apps: start, next through tasks and gateways (their conditions read
the gateway action and the data model), the end with its events, and the steps it must refuse."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from felles.apps.definition import load_app
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.evaluator import evaluate
from felles.apps.process import ProcessEngine, ProcessError, default_action
from tests.conftest import REFERENCE

APPS = REFERENCE / "altinn-apps"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def engine(app: str) -> ProcessEngine:
    definition = load_app(APPS / app).process
    assert definition is not None
    return ProcessEngine(definition)


def conditions(data: dict[str, Any] | None = None, default_type: str = "model"):
    """Evaluate a gateway condition as the runtime does: the gateway action, and the data model."""
    def evaluate_condition(expression: Any, data_type: str | None, action: str | None) -> Any:
        models = DataModels({data_type or default_type: data or {}}, default_data_type=data_type or default_type)
        return evaluate(expression, ExpressionContext(data=models, gateway_action=action))
    return evaluate_condition


def test_start_enters_the_first_task_and_records_the_start() -> None:
    change = engine("altinn-studio-signing-test").start(NOW, conditions())
    task = change.state["currentTask"]
    assert change.state["startEvent"] == "StartEvent_1" and change.state["started"] == "2026-12-04T12:00:00Z"
    assert (task["elementId"], task["altinnTaskType"], task["flow"], task["name"]) == ("Task_1", "data", 2, "Form")
    assert [kind for kind, _ in change.events] == ["process_StartEvent", "process_StartTask"]
    assert change.events[0][1].get("currentTask") is None  # the start event's snapshot, taken before the task


def test_next_goes_through_service_tasks_and_a_gateway_by_the_gateway_action() -> None:
    process = engine("altinn-studio-signing-test")
    state = process.start(NOW, conditions()).state
    state = process.next(state, NOW, conditions()).state
    assert state["currentTask"]["elementId"] == "PdfTask_Task_1" and state["currentTask"]["flow"] == 3
    state = process.next(state, NOW, conditions()).state
    assert state["currentTask"]["elementId"] == "Task_2"

    rejected = process.next(state, NOW, conditions(), action="reject")
    assert rejected.current_task == "Task_1"  # ["equals", ["gatewayAction"], "reject"] leads back
    signed = process.next(state, NOW, conditions(), action="sign")
    assert signed.current_task == "Task_3"
    assert [kind for kind, _ in signed.events] == ["process_EndTask", "process_StartTask"]
    assert signed.events[0][1]["currentTask"]["ended"] == "2026-12-04T12:00:00Z"


def test_the_end_event_ends_the_process_and_submits() -> None:
    process = engine("altinn-studio-signing-test")
    state = process.start(NOW, conditions()).state
    for action in (None, None, "sign"):
        state = process.next(state, NOW, conditions(), action=action).state
    later = NOW + timedelta(minutes=5)
    end = process.next(state, later, conditions(), action="sign")
    assert end.ended and end.current_task is None
    assert end.state["endEvent"] == "EndEvent_1" and end.state["ended"] == "2026-12-04T12:05:00Z"
    assert "currentTask" not in end.state
    assert [kind for kind, _ in end.events] == ["process_EndTask", "process_EndEvent", "Submited"]
    with pytest.raises(ProcessError) as ended:
        process.next(end.state, later, conditions())
    assert ended.value.code == "process_ended"


def test_a_gateway_reads_the_data_model_it_is_connected_to() -> None:
    process = engine("altinn-studio-frontend-test")
    definition = process.definition
    gateway = "Gateway_0"
    data_type = definition.gateway_data_types[gateway]
    flows = [flow for flow in definition.flows if flow.source == gateway]
    assert len(flows) >= 2 and all(flow.condition is not None for flow in flows)
    # Each flow is chosen by some data: find the task before the gateway, then steer it both ways.
    before = next(flow.source for flow in definition.flows if flow.target == gateway)
    reached = set()
    for flow in flows:
        target_value = _value_making_true(flow.condition)
        if target_value is None:
            continue
        path, value = target_value
        state = {"started": "x", "startEvent": "StartEvent_1",
                 "currentTask": {"flow": 2, "elementId": before, "altinnTaskType": "data"}}
        data = _nested(path, value)
        change = process.next(state, NOW, conditions(data, default_type=data_type))
        reached.add(change.current_task or change.state.get("endEvent"))
    assert len(reached) >= 2


def _value_making_true(condition: Any) -> tuple[str, Any] | None:
    """For ["equals", ["dataModel", path], value] (either order), the data that makes it true."""
    if isinstance(condition, list) and condition and condition[0] == "equals":
        left, right = condition[1], condition[2]
        for reference, value in ((left, right), (right, left)):
            if isinstance(reference, list) and reference[:1] == ["dataModel"] and not isinstance(value, list):
                return reference[1], value
    return None


def _nested(path: str, value: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    cursor = data
    parts = path.split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return data


def test_an_action_that_is_not_the_tasks_is_refused_and_so_is_a_server_action() -> None:
    process = engine("altinn-studio-frontend-test")
    state = {"started": "x", "startEvent": "StartEvent_1",
             "currentTask": {"flow": 5, "elementId": "Task_Default_Confirm", "altinnTaskType": "confirmation"}}
    with pytest.raises(ProcessError) as refused:
        process.next(state, NOW, conditions(), action="sign")
    assert refused.value.code == "invalid_action"
    state["currentTask"]["elementId"] = "Task_2"
    with pytest.raises(ProcessError) as server_action:
        process.next(state, NOW, conditions(), action="fill")
    assert server_action.value.code == "server_action"


def test_default_actions_follow_the_task_type() -> None:
    definition = load_app(APPS / "altinn-studio-payment-test").process
    assert definition is not None
    assert default_action(definition.tasks["Task_1"]) == "write"
    assert default_action(definition.tasks["Task_2"]) == "pay"


def test_an_older_app_with_the_task_type_as_an_attribute_loads_and_runs(tmp_path: Path) -> None:
    app = tmp_path / "App"
    shutil.copytree(APPS / "app-template-v8" / "App", app)
    bpmn = app / "config" / "process" / "process.bpmn"
    text = bpmn.read_text(encoding="utf-8-sig")
    start = text.index("<bpmn:task ")
    end = text.index("</bpmn:task>", start) + len("</bpmn:task>")
    task_id = text[start:end].split('id="', 1)[1].split('"', 1)[0]
    bpmn.write_text(text[:start] + f'<bpmn:task id="{task_id}" name="Utfylling" altinn:tasktype="data"></bpmn:task>'
                    + text[end:], encoding="utf-8")
    definition = load_app(app)
    assert not definition.problems, definition.problems
    assert definition.process is not None and definition.process.tasks[task_id].task_type == "data"
    change = ProcessEngine(definition.process).start(NOW, conditions())
    assert change.current_task == task_id and change.state["currentTask"]["altinnTaskType"] == "data"
