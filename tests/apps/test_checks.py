"""Cross-file checks of ``felles app check``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from felles.apps.checks import check_app

REFERENCE_APPS = (Path(__file__).resolve().parents[2] / "../shared/reference/altinn-apps").resolve()


@pytest.mark.parametrize("name", sorted(p.name for p in REFERENCE_APPS.iterdir() if p.is_dir()))
def test_reference_apps_have_no_problems(name: str) -> None:
    assert [str(p) for p in check_app(REFERENCE_APPS / name).problems] == []


def test_the_edited_basic_app_is_valid_before_it_is_broken(basic_app: Path) -> None:
    _edit_layout(basic_app, lambda components: None)
    assert check_app(basic_app).problems == []


@pytest.fixture
def basic_app(tmp_path: Path) -> Path:
    target = tmp_path / "basic"
    shutil.copytree(REFERENCE_APPS / "app-lib-dotnet-basic", target)
    return target


def _edit_layout(app: Path, edit) -> Path:
    """Give the (empty) basic app two components bound to its model, then apply ``edit``."""
    path = app / "App" / "ui" / "form" / "layouts" / "Side1.json"
    layout = json.loads(path.read_text(encoding="utf-8-sig"))
    layout["data"]["layout"] = [
        {"id": "first", "type": "Input", "dataModelBindings": {"simpleBinding": "property1"}},
        {"id": "second", "type": "Input", "dataModelBindings": {"simpleBinding": "property2"}},
    ]
    edit(layout["data"]["layout"])
    path.write_text(json.dumps(layout, indent=2), encoding="utf-8")
    return path


def test_an_invalid_expression_is_reported_with_component_and_line(basic_app: Path) -> None:
    def add_bad_hidden(components: list) -> None:
        components[1]["hidden"] = ["equals", ["dataModel"], "x"]

    _edit_layout(basic_app, add_bad_hidden)
    problems = [str(p) for p in check_app(basic_app).problems]
    assert len(problems) == 1
    assert 'component "second" hidden' in problems[0]
    assert problems[0].startswith("ui/form/layouts/Side1.json:")
    assert "hidden: invalid expression: Invalid number of arguments: Expected 1-2 argument(s), got 0" in problems[0]


def test_a_lookup_of_an_unknown_component_is_reported(basic_app: Path) -> None:
    def add_lookup(components: list) -> None:
        components[0]["hidden"] = ["equals", ["component", "doesNotExist"], "x"]

    _edit_layout(basic_app, add_lookup)
    problems = [p.message for p in check_app(basic_app).problems]
    assert any('refers to component "doesNotExist", which does not exist' in p for p in problems), problems


def test_a_binding_to_a_field_the_model_lacks_is_reported(basic_app: Path) -> None:
    def rebind(components: list) -> None:
        bound = next(c for c in components if "dataModelBindings" in c)
        bound["dataModelBindings"]["simpleBinding"] = "no.such.field"

    _edit_layout(basic_app, rebind)
    problems = [p.message for p in check_app(basic_app).problems]
    assert any('to "no.such.field", which the data model model does not have' in p for p in problems), problems


def test_duplicate_component_ids_are_reported(basic_app: Path) -> None:
    _edit_layout(basic_app, lambda components: components.append(dict(components[0])))
    problems = [p.message for p in check_app(basic_app).problems]
    assert any("is used more than once (page Side1)" in p for p in problems), problems


def test_an_invalid_gateway_condition_is_reported_with_its_line(tmp_path: Path) -> None:
    app = tmp_path / "frontend"
    shutil.copytree(REFERENCE_APPS / "altinn-studio-frontend-test", app)
    bpmn = app / "App" / "config" / "process" / "process.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    bpmn.write_text(text.replace('["equals", ["dataModel", "GwTargetTask"], "Task_2"]', '["equal", 1, 2]', 1))
    problems = [str(p) for p in check_app(app).problems]
    assert len(problems) == 1
    assert problems[0].startswith("config/process/process.bpmn:")
    assert problems[0].split(":")[1].isdigit()
    assert 'invalid expression: Function "equal" not implemented' in problems[0]


def test_a_validation_rule_with_an_unknown_definition_is_reported(tmp_path: Path) -> None:
    app = tmp_path / "frontend"
    shutil.copytree(REFERENCE_APPS / "altinn-studio-frontend-test", app)
    rules_path = app / "App" / "models" / "nested-group.validation.json"
    rules = json.loads(rules_path.read_text(encoding="utf-8-sig"))
    first_field = next(iter(rules["validations"]))
    rules["validations"][first_field].append("missingDefinition")
    rules_path.write_text(json.dumps(rules, indent=2), encoding="utf-8")
    problems = [p.message for p in check_app(app).problems]
    assert problems == [f'validation of "{first_field}" refers to definition "missingDefinition", which does not exist']
