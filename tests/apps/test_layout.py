"""Page state: hidden/required/read-only for given data, with nested repeating groups."""

from __future__ import annotations

from typing import Any

import pytest

from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.layout import FormState, LayoutError, LayoutSet, Node

LAYOUTS: dict[str, Any] = {
    "Page1": {
        "data": {
            "layout": [
                {"id": "har-ansatte", "type": "Input", "dataModelBindings": {"simpleBinding": "HarAnsatte"}},
                {
                    "id": "bedrifter",
                    "type": "RepeatingGroup",
                    "dataModelBindings": {"group": "Bedrifter"},
                    "children": ["navn", "ansatte"],
                    "hiddenRow": ["equals", ["dataModel", "Bedrifter.Skjult"], True],
                },
                {"id": "navn", "type": "Input", "dataModelBindings": {"simpleBinding": "Bedrifter.Navn"}},
                {
                    "id": "ansatte",
                    "type": "RepeatingGroup",
                    "dataModelBindings": {"group": "Bedrifter.Ansatte"},
                    "children": ["alder", "myndig"],
                    "hidden": ["not", ["component", "har-ansatte"]],
                },
                {
                    "id": "alder",
                    "type": "Input",
                    "dataModelBindings": {"simpleBinding": "Bedrifter.Ansatte.Alder"},
                    "required": True,
                },
                {
                    "id": "myndig",
                    "type": "Paragraph",
                    "hidden": ["lessThan", ["component", "alder"], 18],
                    "readOnly": ["equals", ["component", "navn"], "Låst AS"],
                },
            ]
        }
    },
    "Page2": {"data": {"hidden": ["equals", ["dataModel", "HarAnsatte"], False], "layout": []}},
}


def _form(data: dict[str, Any]) -> FormState:
    return FormState(LayoutSet.from_layouts(LAYOUTS), ExpressionContext(data=DataModels({"default": data})))


DATA = {
    "HarAnsatte": True,
    "Bedrifter": [
        {"Navn": "Låst AS", "Ansatte": [{"Alder": 17}, {"Alder": 40}]},
        {"Navn": "Skjult AS", "Skjult": True, "Ansatte": [{"Alder": 50}]},
    ],
}


def test_rows_are_expanded_from_the_data() -> None:
    form = _form(DATA)
    myndig = [node.rows for node in form.nodes() if node.component and node.component.id == "myndig"]
    assert myndig == [(0, 0), (0, 1), (1, 0)]


def test_hidden_follows_own_expression_row_and_enclosing_groups() -> None:
    form = _form(DATA)
    page = "Page1"
    component = form.layout.components
    assert form.is_hidden(Node(component["myndig"], page, (0, 0)))  # 17 years old
    assert not form.is_hidden(Node(component["myndig"], page, (0, 1)))
    assert form.is_hidden(Node(component["myndig"], page, (1, 0)))  # its company row is hidden
    assert form.is_hidden(Node(component["navn"], page, (1,)))
    assert form.is_page_hidden("Page2") is False


def test_hiding_an_enclosing_group_hides_every_row_and_the_page_can_hide() -> None:
    form = _form({**DATA, "HarAnsatte": False})
    alder = form.layout.components["alder"]
    assert all(form.is_hidden(Node(alder, "Page1", rows)) for rows in [(0, 0), (0, 1), (1, 0)])
    assert form.is_page_hidden("Page2")


def test_required_and_read_only_are_evaluated_per_row() -> None:
    form = _form(DATA)
    components = form.layout.components
    assert form.is_required(Node(components["alder"], "Page1", (0, 1)))
    assert form.is_read_only(Node(components["myndig"], "Page1", (0, 1)))
    assert not form.is_read_only(Node(components["myndig"], "Page1", (1, 0)))


def test_state_is_recomputed_after_invalidate() -> None:
    data = {**DATA, "Bedrifter": [{"Navn": "A", "Ansatte": [{"Alder": 17}]}]}
    form = _form(data)
    node = Node(form.layout.components["myndig"], "Page1", (0, 0))
    assert form.is_hidden(node)
    data["Bedrifter"][0]["Ansatte"][0]["Alder"] = 30
    assert form.is_hidden(node)  # cached until told
    form.invalidate()
    assert not form.is_hidden(node)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (
            [{"id": "g", "type": "Group", "children": ["nope"]}],
            'Component "g" on page P refers to child "nope", which does not exist on that page',
        ),
        ([{"id": "a", "type": "Input"}, {"id": "a", "type": "Input"}], 'Component id "a" is used more than once'),
        (
            [
                {"id": "g1", "type": "Group", "children": ["c"]},
                {"id": "g2", "type": "Group", "children": ["c"]},
                {"id": "c", "type": "Input"},
            ],
            'Component "c" is a child of both "g1" and "g2"',
        ),
    ],
)
def test_inconsistent_layouts_are_refused(layout: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        LayoutSet.from_layouts({"P": {"data": {"layout": layout}}})


def test_a_page_the_layout_settings_leave_out_is_hidden_and_its_components_not_required() -> None:
    from felles.apps.definition import load_app
    from felles.apps.forms.component_base import form_state
    from felles.apps.validation import validate_required
    from tests.conftest import REFERENCE

    # frontend-test's Task_1 has a page "neverDisplayed" with a required field, not in its pages' order
    app = load_app(REFERENCE / "altinn-apps" / "altinn-studio-frontend-test" / "App")
    layout_set = app.layout_sets["Task_1"]
    form = form_state(app, layout_set, {"message": {}, "PdfSettings": {}}, "nb")
    assert form.is_page_hidden("neverDisplayed") and not form.is_page_hidden("taskChooser")
    hidden = Node(layout_set.layout_set.components["neverValidatedInput"], "neverDisplayed")
    assert form.is_hidden(hidden)
    assert all(issue.field != "Reference" for issue in validate_required(form))
