"""Running test files in Altinn's shared expression-test format.

Used both by our pytest suites (against Altinn's own frontend and backend test collections) and by
``felles expr test``, so service developers can keep their own cases in the same format.
A file holds one ``expression`` with ``expects`` or ``expectsFailure`` (and/or ``testCases`` sharing the same
setup), or ``expectedContexts`` for the layout context-list tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from felles.apps.expressions.casting import describe_value
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import compile_expression
from felles.apps.layout import FormState, LayoutError, LayoutSet, Node
from felles.apps.lenient_json import JsonFileError, load_json_file

# The frontend evaluates a test without layouts against this one-component page.
_DEFAULT_LAYOUTS = {
    "FormLayout": {
        "data": {
            "layout": [
                {
                    "id": "default",
                    "type": "Input",
                    "dataModelBindings": {"simpleBinding": {"dataType": "default", "field": "mockField"}},
                }
            ]
        }
    }
}


@dataclass(frozen=True)
class SharedTestCase:
    """One case: ``setup`` is the whole file (setup fields are shared by all its cases)."""

    file: Path
    name: str
    setup: dict[str, Any]
    expression: Any = None
    expects: Any = None
    expects_failure: str | None = None
    expected_contexts: list[Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.file.parent.name}/{self.file.name}::{self.name}"


@dataclass(frozen=True)
class CaseOutcome:
    case: SharedTestCase
    passed: bool
    detail: str


def load_cases(path: Path) -> list[SharedTestCase]:
    """All cases in one shared-test file (raises JsonFileError if it is not JSON)."""
    data = load_json_file(path)
    if not isinstance(data, dict):
        raise JsonFileError(str(path), 1, 1, "a shared test file must hold a JSON object")
    name = str(data.get("name", path.stem))
    cases: list[SharedTestCase] = []
    if "expectedContexts" in data:
        cases.append(SharedTestCase(path, name, data, expected_contexts=data["expectedContexts"]))
    if "expression" in data:
        cases.append(_case(path, name, data, data))
    for index, extra in enumerate(data.get("testCases") or []):
        if isinstance(extra, dict):
            cases.append(_case(path, str(extra.get("name") or f"{name} #{index + 1}"), data, extra))
    return cases


def _case(path: Path, name: str, setup: dict[str, Any], source: dict[str, Any]) -> SharedTestCase:
    failure = source.get("expectsFailure")
    return SharedTestCase(
        path,
        name,
        setup,
        expression=source.get("expression"),
        expects=source.get("expects"),
        expects_failure=None if failure is None else str(failure),
    )


def find_test_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


def build_context(setup: dict[str, Any]) -> ExpressionContext:
    """An evaluation context (with the layout state) from a shared-test file's setup fields."""
    models: dict[str, Any] = {}
    default_type = "default"
    data_elements: list[dict[str, Any]] = []
    data_models = setup.get("dataModels") or []
    for position, entry in enumerate(data_models):
        element = entry.get("dataElement") or {}
        data_type = str(element.get("dataType", "default"))
        if position == 0:
            default_type = data_type
        models.setdefault(data_type, entry.get("data"))
        data_elements.append(element)
    if "dataModel" in setup or not models:
        models["default"] = setup.get("dataModel") or {}
        default_type = "default"
    instance = setup.get("instance")
    data_elements.extend(setup.get("instanceDataElements") or [])
    if isinstance(instance, dict):
        data_elements.extend(instance.get("data") or [])

    context = ExpressionContext(
        data=DataModels(models, default_type),
        instance=instance if isinstance(instance, dict) and not setup.get("stateless") else None,
        process=setup.get("process"),
        permissions=setup.get("permissions"),
        frontend_settings=setup.get("frontendSettings") or {},
        text_resources={
            str(resource.get("id")): resource
            for resource in setup.get("textResources") or []
            if isinstance(resource, dict)
        },
        language=str((setup.get("profileSettings") or {}).get("language") or "nb"),
        positional_arguments=setup.get("positionalArguments"),
        value_arguments=setup.get("valueArguments"),
        code_lists=setup.get("codeLists") or {},
        external_apis=(setup.get("externalApis") or {}).get("data") or {},
        gateway_action=setup.get("gatewayAction"),
        data_elements=data_elements,
        stateless=bool(setup.get("stateless")),
    )
    layouts = setup.get("layouts") or _DEFAULT_LAYOUTS
    form = FormState(LayoutSet.from_layouts(layouts), context)
    where = setup.get("context") or {}
    page = where.get("currentLayout")
    component = form.layout.components.get(str(where.get("component")))
    if component is not None:
        rows = tuple(int(r) for r in where.get("rowIndices") or [])
        context.node = Node(component, component.page, rows)
        context.page = page or component.page
    else:
        context.page = page
    return context


def json_equal(actual: Any, expected: Any) -> bool:
    """JSON equality that keeps booleans apart from numbers and compares numbers as doubles."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return actual == expected or math.isclose(actual, expected, rel_tol=1e-15, abs_tol=0.0)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(map(json_equal, actual, expected))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(json_equal(actual[k], expected[k]) for k in expected)
    return type(actual) is type(expected) and actual == expected


def _failure_matches(message: str, expected: str) -> bool:
    # the backend's copies write patterns as *text*
    return expected.strip("*") in message


def run_case(case: SharedTestCase) -> CaseOutcome:
    try:
        context = build_context(case.setup)
        if case.expected_contexts is not None:
            assert context.form is not None
            actual_contexts = context.form.context_tree()
            if json_equal(actual_contexts, case.expected_contexts):
                return CaseOutcome(case, True, "contexts match")
            return CaseOutcome(case, False, f"expected contexts {case.expected_contexts}, got {actual_contexts}")
        result = compile_expression(case.expression)(context)
    except (ExpressionError, LayoutError) as error:
        if case.expects_failure is not None:
            if _failure_matches(str(error), case.expects_failure):
                return CaseOutcome(case, True, f"failed as expected: {error}")
            return CaseOutcome(case, False, f'expected failure containing "{case.expects_failure}", got: {error}')
        return CaseOutcome(case, False, f"unexpected error: {error}")
    if case.expects_failure is not None:
        return CaseOutcome(
            case, False, f'expected failure "{case.expects_failure}", got result {describe_value(result)}'
        )
    if json_equal(result, case.expects):
        return CaseOutcome(case, True, f"= {describe_value(result)}")
    return CaseOutcome(case, False, f"expected {describe_value(case.expects)}, got {describe_value(result)}")
