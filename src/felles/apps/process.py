"""The BPMN process engine of an Altinn app, as app-lib runs it: start, and `next` from task to task through
exclusive gateways to an end event.

It is pure: it reads the app's process definition and the instance's current process state (Storage's
`ProcessState` JSON) and returns the new state with the instance events the step makes (`process_StartEvent`,
`process_StartTask`, `process_EndTask`, `process_EndEvent`, and `Submited` when the process ends). Gateway
conditions are Altinn expressions; the caller evaluates them against the instance's data (`ConditionEvaluator`),
so this module needs no database. Service tasks (pdf, eFormidling …) are entered like any task; the runtime runs
them and moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from felles.apps.definition import ProcessDefinition, ProcessTask, SequenceFlow

FLOW_TYPE = "CompleteCurrentMoveToNext"
# The action `next` stands for when the caller names none (app-lib's ConvertTaskTypeToAction).
DEFAULT_ACTIONS = {"data": "write", "feedback": "write", "pdf": "write", "eFormidling": "write",
                   "fiksArkiv": "write", "confirmation": "confirm", "signing": "sign", "payment": "pay"}
# The actions that let a user move on from a task without naming one (app-lib's ProcessEngineAuthorizer).
ACTIONS_ALLOWING_NEXT = {"data": ("write",), "feedback": ("write",), "pdf": ("write",), "eFormidling": ("write",),
                         "fiksArkiv": ("write",), "payment": ("pay", "write"), "confirmation": ("confirm",),
                         "signing": ("sign", "write")}
# Task types the engine runs itself, without a person (app-lib's service tasks).
SERVICE_TASK_TYPES = frozenset({"pdf", "eFormidling", "fiksArkiv", "subformPdf"})
# How many elements one step may pass before we call the model a loop.
MAX_ELEMENTS_PER_STEP = 100

# (expression, data type or None, gateway action) -> its value
ConditionEvaluator = Callable[[Any, str | None, str | None], Any]


class ProcessError(Exception):
    """A step the process cannot take: it has ended, the action does not belong to the task, or the model
    gives no single way on. `code` is what the API's problem carries."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ProcessChange:
    """One step: the process state after it, and the instance events it makes (type, process snapshot)."""
    state: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.state.get("ended") is not None

    @property
    def current_task(self) -> str | None:
        task = self.state.get("currentTask")
        return task.get("elementId") if task else None


def default_action(task: ProcessTask) -> str:
    return DEFAULT_ACTIONS.get(task.task_type or "", task.task_type or "write")


def actions_allowing_next(task: ProcessTask) -> tuple[str, ...]:
    return ACTIONS_ALLOWING_NEXT.get(task.task_type or "", (task.task_type or "write",))


def is_service_task(task: ProcessTask) -> bool:
    return task.kind == "serviceTask" or (task.task_type or "") in SERVICE_TASK_TYPES


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ProcessEngine:
    def __init__(self, definition: ProcessDefinition) -> None:
        self.definition = definition
        self._outgoing: dict[str, list[SequenceFlow]] = {}
        for flow in definition.flows:
            self._outgoing.setdefault(flow.source, []).append(flow)

    def task(self, task_id: str) -> ProcessTask:
        try:
            return self.definition.tasks[task_id]
        except KeyError:
            raise ProcessError(f"The process has no task {task_id}.", "unknown_task") from None

    def start(self, now: datetime, evaluate: ConditionEvaluator, *, start_event: str | None = None) -> ProcessChange:
        """Start the process at its start event and move to the first task."""
        start = start_event or self.definition.start_events[0]
        if start not in self.definition.start_events:
            raise ProcessError(f"{start} is not a start event of the process.", "unknown_start_event")
        state: dict[str, Any] = {"started": _iso(now), "startEvent": start}
        change = ProcessChange(state, [("process_StartEvent", _snapshot(state))])
        self._enter(change, self._follow(start, evaluate, gateway_action=None), now, flow=1)
        return change

    def next(self, state: dict[str, Any], now: datetime, evaluate: ConditionEvaluator, *,
             action: str | None = None) -> ProcessChange:
        """End the current task and move on, with `action` as the gateway action (the task's default if
        None)."""
        current = state.get("currentTask")
        if state.get("ended") or not current:
            raise ProcessError("The process has ended.", "process_ended")
        task = self.task(current["elementId"])
        action = action or default_action(task)
        if task.actions and action not in task.actions and action not in actions_allowing_next(task):
            raise ProcessError(f'The action "{action}" does not belong to task {task.id}.', "invalid_action")
        if task.action_types.get(action) == "serverAction":
            raise ProcessError(f'"{action}" is a server action: it runs in the task, it does not move the process.',
                               "server_action")
        ended_task = {**current, "ended": _iso(now)}
        change = ProcessChange({**state, "currentTask": ended_task})
        change.events.append(("process_EndTask", _snapshot(change.state)))
        self._enter(change, self._follow(task.id, evaluate, gateway_action=action), now,
                    flow=int(current.get("flow") or 1))
        return change

    def _enter(self, change: ProcessChange, target: str, now: datetime, *, flow: int) -> None:
        if target in self.definition.end_events:
            change.state.pop("currentTask", None)
            change.state.update(ended=_iso(now), endEvent=target)
            change.events.append(("process_EndEvent", _snapshot(change.state)))
            change.events.append(("Submited", _snapshot(change.state)))
            return
        task = self.task(target)
        change.state["currentTask"] = {
            "flow": flow + 1, "started": _iso(now), "elementId": task.id, "name": task.name,
            "altinnTaskType": task.task_type, "flowType": FLOW_TYPE,
        }
        change.events.append(("process_StartTask", _snapshot(change.state)))

    def _follow(self, source: str, evaluate: ConditionEvaluator, *, gateway_action: str | None) -> str:
        """The task or end event reached from `source`, passing through gateways by their conditions."""
        element = source
        for _ in range(MAX_ELEMENTS_PER_STEP):
            flows = self._outgoing.get(element, [])
            if element in self.definition.gateways:
                flows = self._passable(element, flows, evaluate, gateway_action)
            if len(flows) != 1:
                raise ProcessError(
                    f"The process has {'no' if not flows else len(flows)} way(s) on from {element}; it needs one.",
                    "no_single_flow")
            element = flows[0].target
            if element not in self.definition.gateways:
                return element
        raise ProcessError(f"The process passes more than {MAX_ELEMENTS_PER_STEP} gateways in one step.",
                           "process_loop")

    def _passable(self, gateway: str, flows: list[SequenceFlow], evaluate: ConditionEvaluator,
                  gateway_action: str | None) -> list[SequenceFlow]:
        """A gateway's outgoing flows that apply: those without a condition and those whose condition is exactly
        true, the default flow not counted; where that is not one flow, the gateway's default flow if it has one."""
        data_type = self.definition.gateway_data_types.get(gateway)
        default = self.definition.gateway_defaults.get(gateway)
        passable = [flow for flow in flows if flow.id != default and (
            flow.condition is None or evaluate(flow.condition, data_type, gateway_action) is True)]
        if len(passable) != 1 and default is not None:
            return [flow for flow in flows if flow.id == default]
        return passable


def _snapshot(state: dict[str, Any]) -> dict[str, Any]:
    """The state as an event records it (a copy: the state goes on changing)."""
    copied = dict(state)
    if isinstance(copied.get("currentTask"), dict):
        copied["currentTask"] = dict(copied["currentTask"])
    return copied
