"""Every dynamic at once (Dynamics.evaluate) and after a change (Dynamics.update) agree with FormState."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from felles.apps.datapath import lookup, parse_path, transpose
from felles.apps.definition import load_app
from felles.apps.dynamics import Dynamics, component_dynamics
from felles.apps.expressions.casting import to_any, to_boolean, to_string
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import compile_expression
from felles.apps.layout import FormState, LayoutSet, Node, binding_target
from tests.apps.test_layout import DATA, LAYOUTS


def _expected(form: FormState, node: Node, prop: str) -> Any:
    """What FormState says, one node and property at a time (the oracle)."""
    form.invalidate()
    if prop in ("hidden", "hiddenRow"):
        return form.is_page_hidden(node.page) if node.component is None else form.is_hidden(node)
    if prop in ("required", "readOnly"):
        return form._flag(node, prop)
    assert node.component is not None
    per_node, per_row = component_dynamics(node.component)
    raw = dict(per_row if node.in_row else per_node)[prop]
    value = form.evaluate_at(node, compile_expression(raw))
    if prop.startswith("edit."):
        return to_boolean(value)
    if prop.startswith("textResourceBindings."):
        return to_string(value)
    return to_any(value)


def _assert_matches_form_state(dynamics: Dynamics) -> None:
    form = dynamics.form
    mismatches = [
        (node.indexed_id, prop, value)
        for node, prop, value in list(dynamics.items())
        if _expected(form, node, prop) != value
    ]
    assert mismatches == []


def _small_form(data: dict[str, Any]) -> FormState:
    return FormState(LayoutSet.from_layouts(LAYOUTS), ExpressionContext(data=DataModels({"default": data})))


def test_every_dynamic_matches_form_state_with_nested_groups() -> None:
    dynamics = Dynamics(_small_form(copy.deepcopy(DATA)))
    assert dynamics.evaluate() == len(dynamics)
    _assert_matches_form_state(dynamics)
    components = dynamics.form.layout.components
    assert dynamics.value(Node(components["myndig"], "Page1", (0, 0)), "hidden") is True
    assert dynamics.value(Node(components["myndig"], "Page1", (0, 1)), "readOnly") is True
    assert dynamics.value(Node(components["bedrifter"], "Page1", (1,), True), "hiddenRow") is True


def test_update_re_evaluates_only_what_reads_the_change() -> None:
    data = copy.deepcopy(DATA)
    dynamics = Dynamics(_small_form(data))
    dynamics.evaluate()
    data["Bedrifter"][0]["Ansatte"][0]["Alder"] = 30
    changed = dynamics.update(["Bedrifter[0].Ansatte[0].Alder"])
    myndig = Node(dynamics.form.layout.components["myndig"], "Page1", (0, 0))
    assert changed == [(myndig, "hidden")]
    assert dynamics.reevaluated < len(dynamics.plan.live)
    _assert_matches_form_state(dynamics)
    # a change every component depends on (through the component lookup of "har-ansatte")
    data["HarAnsatte"] = False
    assert dynamics.update(["HarAnsatte"])
    _assert_matches_form_state(dynamics)


def test_rows_added_or_removed_rebuild_the_plan() -> None:
    data = copy.deepcopy(DATA)
    dynamics = Dynamics(_small_form(data))
    dynamics.evaluate()
    before = len(dynamics)
    data["Bedrifter"][0]["Ansatte"].append({"Alder": 10})
    dynamics.update(["Bedrifter[0].Ansatte"])
    assert len(dynamics) > before
    _assert_matches_form_state(dynamics)
    data["Bedrifter"].pop()
    dynamics.evaluate()
    _assert_matches_form_state(dynamics)


def test_self_referring_hidden_is_resolved_as_form_state_does() -> None:
    layouts = {
        "P": {
            "data": {
                "layout": [
                    {"id": "a", "type": "Input", "hidden": ["equals", ["component", "b"], "x"],
                     "dataModelBindings": {"simpleBinding": "A"}},
                    {"id": "b", "type": "Input", "hidden": ["equals", ["component", "a"], "x"],
                     "dataModelBindings": {"simpleBinding": "B"}},
                ]
            }
        }
    }  # fmt: skip
    form = FormState(
        LayoutSet.from_layouts(layouts), ExpressionContext(data=DataModels({"default": {"A": "x", "B": "x"}}))
    )
    dynamics = Dynamics(form)
    dynamics.evaluate()
    form.invalidate()
    expected = [form.is_hidden(node) for node in form.nodes()]  # the old per-node order
    dynamics.evaluate()
    assert [dynamics.value(node, "hidden") for node in form.nodes()] == expected


def test_errors_propagate_like_form_state() -> None:
    layouts = {"P": {"data": {"layout": [{"id": "a", "type": "Input", "required": ["component", "nope"]}]}}}
    form = FormState(LayoutSet.from_layouts(layouts), ExpressionContext(data=DataModels({"default": {}})))
    with pytest.raises(ExpressionError, match="Unable to find component with identifier nope"):
        Dynamics(form).evaluate()


# -- the reference app's largest layout set, with data ------------------------------------------------------


def _fill(data: dict[str, Any], parts: tuple[tuple[str, int | None], ...], value: Any) -> None:
    current: Any = data
    for position, (name, index) in enumerate(parts):
        last = position == len(parts) - 1
        if index is None:
            if last:
                current.setdefault(name, value)
                return
            current = current.setdefault(name, {})
        else:
            rows = current.setdefault(name, [])
            while len(rows) <= index:
                rows.append({})
            if last:
                return
            current = rows[index]
        if not isinstance(current, dict):
            return


def _reference_form(reference_apps: Path, rows: int) -> tuple[FormState, list[str]]:
    """Task_3 of the frontend test app with ``rows`` rows per group; returns the form and its bound fields."""
    app = load_app(reference_apps / "altinn-studio-frontend-test", strict=False)
    layout_set = app.layout_sets["Task_3"].layout_set
    assert layout_set is not None
    data: dict[str, Any] = {}
    context = ExpressionContext(data=DataModels({"default": data}))
    context.text_resources = app.texts.get("nb", {})
    context.code_lists = {"list": [{"value": "1", "label": "En"}], "list2": [{"value": "1", "label": "To"}]}
    form = FormState(layout_set, context)
    groups = sorted((c for c in layout_set.components.values() if c.repeating and c.group_path),
                    key=lambda c: len(c.repeating_ancestors))  # fmt: skip
    for group in groups:
        for node in list(form.nodes()):
            if node.component is group:
                path = transpose(group.group_path or (), form.context_path(node))
                for row in range(rows):
                    _fill(data, (*path[:-1], (path[-1][0], row)), None)
        form.invalidate()
    fields = []
    for node in form.nodes():
        assert node.component is not None
        target = binding_target(node.component.bindings.get("simpleBinding"))
        if target is not None and target[0] is None:
            parts = transpose(parse_path(target[1]), form.context_path(node))
            _fill(data, parts, "1")
            fields.append(".".join(n if i is None else f"{n}[{i}]" for n, i in parts))
    form.invalidate()
    return form, fields


def test_reference_layout_set_matches_form_state(reference_apps: Path) -> None:
    form, _ = _reference_form(reference_apps, 3)
    dynamics = Dynamics(form)
    dynamics.evaluate()
    props = {prop for _, prop, _ in dynamics.items()}
    assert {"hidden", "hiddenRow", "required", "readOnly", "textResourceBindings.title", "edit.saveButton"} <= props
    _assert_matches_form_state(dynamics)


@pytest.mark.parametrize("pages", [None, ["repeating"]])
def test_random_changes_update_like_a_full_pass(reference_apps: Path, pages: list[str] | None) -> None:
    form, fields = _reference_form(reference_apps, 3)
    fields += ["useBothRepGroups", "hideRowValue", "numAboveLimit", "ForceShowPets", "HiddenPets"]
    data = form.context.data.models["default"]
    incremental = Dynamics(form, pages=pages)
    incremental.evaluate()
    generator = random.Random(20240611)
    partial = 0
    for _ in range(60):
        changed = generator.sample(fields, generator.choice([1, 1, 2]))
        for field in changed:
            parts = parse_path(field)
            parent = lookup(data, parts[:-1]) if len(parts) > 1 else data
            if isinstance(parent, dict):
                parent[parts[-1][0]] = generator.choice(["Ja", "Nei", "1", "300", True, False, None, 0])
        incremental.update(changed)
        partial += incremental.reevaluated < len(incremental.plan.live)
        values = [value for _, _, value in incremental.items()]
        full = Dynamics(form, pages=pages)
        full.evaluate()
        assert values == [value for _, _, value in full.items()], changed
    assert partial > 30  # most changes did not need a full pass


@pytest.mark.parametrize(
    "expression",
    [
        ["dataModel", "Bedrifter.Navn"],
        ["dataModel", "Bedrifter[1].Navn"],
        ["dataModel", "TRUE"],
        ["dataModel", "Bedrifter.Navn", "default"],
        ["dataModel", "Bedrifter.Navn", "null"],
        ["dataModel", ["concat", "Bedrifter", ".Navn"]],
        ["dataModel", "null"],
        ["dataModel", "Bedrifter.Navn", "other"],
    ],
)
def test_literal_data_paths_resolve_like_computed_ones(expression: list[Any]) -> None:
    form = _small_form({**copy.deepcopy(DATA), "true": "sann"})
    node = Node(form.layout.components["navn"], "Page1", (0,))
    computed = ["dataModel", ["if", True, expression[1]], *expression[2:]]

    def outcome(compiled_expression: list[Any]) -> Any:
        try:
            return form.evaluate_at(node, compile_expression(compiled_expression))
        except ExpressionError as error:
            return str(error)

    assert outcome(expression) == outcome(computed)
