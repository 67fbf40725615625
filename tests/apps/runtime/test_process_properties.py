"""The process engine as a state machine, on any sequence of actions and form data: every step ends the task it
left and starts the one it reached (or ends the process), the flow counts up by one per task entered, the state
names only elements of the model, and an ended process refuses to move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from felles.apps.definition import load_app
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import evaluate
from felles.apps.process import ProcessEngine, ProcessError
from tests.apps.runtime.conftest import SOKNAD
from tests.conftest import REFERENCE

SIGNING = REFERENCE / "altinn-apps" / "altinn-studio-signing-test"
ENGINES = {name: ProcessEngine(load_app(folder).process)  # type: ignore[arg-type]
           for name, folder in (("soknad", SOKNAD), ("signing", SIGNING))}
START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def conditions(amount: int | None):
    def evaluate_condition(expression: Any, data_type: str | None, action: str | None) -> Any:
        models = DataModels({data_type or "skjema": {"belop": amount}}, default_data_type=data_type or "skjema")
        try:
            return evaluate(expression, ExpressionContext(data=models, gateway_action=action))
        except ExpressionError:  # a condition that cannot be evaluated is not true (as the runtime has it)
            return None
    return evaluate_condition


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(ENGINES)), amount=st.one_of(st.none(), st.integers(-10, 10_000)),
       actions=st.lists(st.sampled_from([None, "write", "confirm", "sign", "reject", "pay"]), max_size=12))
def test_every_step_keeps_the_process_state_consistent(name: str, amount: int | None,
                                                       actions: list[str | None]) -> None:
    engine = ENGINES[name]
    known = engine.definition.element_ids
    state = engine.start(START, conditions(amount)).state
    flow = state["currentTask"]["flow"]
    for step, action in enumerate(actions, start=1):
        now = START + timedelta(minutes=step)
        try:
            change = engine.next(state, now, conditions(amount), action=action)
        except ProcessError as refused:
            assert refused.code in ("invalid_action", "process_ended", "no_single_flow", "server_action")
            assert refused.code != "process_ended" or state.get("ended")
            continue
        left = state["currentTask"]["elementId"]
        kinds = [kind for kind, _ in change.events]
        assert kinds[0] == "process_EndTask" and change.events[0][1]["currentTask"]["elementId"] == left
        if change.ended:
            assert kinds[1:] == ["process_EndEvent", "Submited"] and change.state["endEvent"] in known
            assert "currentTask" not in change.state
        else:
            assert kinds[1:] == ["process_StartTask"]
            assert change.current_task in engine.definition.tasks
            assert change.state["currentTask"]["flow"] == flow + 1
            flow += 1
        assert change.state["startEvent"] == state["startEvent"]
        state = change.state
