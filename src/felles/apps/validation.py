"""Validating form data the way Altinn reports it: a list of ValidationIssue objects.

Sources: the data model's JSON Schema, the XSD (for stored XML), required components that are visible,
and expression validations from ``models/<dataType>.validation.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import jsonschema
import xmlschema

from felles.apps.datapath import Path, format_path, lookup, parse_path, transpose
from felles.apps.expressions.casting import to_boolean, to_string
from felles.apps.expressions.context import ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import compile_cached
from felles.apps.layout import FormState, binding_target, likert_window


class Severity(IntEnum):
    """ValidationIssueSeverity as numbered in Altinn's app API."""

    ERROR = 1
    WARNING = 2
    INFORMATIONAL = 3
    FIXED = 4
    SUCCESS = 5


_RULE_SEVERITIES = {
    "error": Severity.ERROR,
    "warning": Severity.WARNING,
    "info": Severity.INFORMATIONAL,
    "success": Severity.SUCCESS,
}


@dataclass(frozen=True)
class ValidationIssue:
    severity: Severity
    field: str | None
    code: str
    description: str
    source: str
    custom_text_key: str | None = None
    data_element_id: str | None = None
    # The form data type the field is in, when a layout binds it to another model than the one validated.
    data_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": int(self.severity),
            "dataElementId": self.data_element_id,
            "field": self.field,
            "code": self.code,
            "description": self.description,
            "source": self.source,
            "customTextKey": self.custom_text_key,
        }


def _dotted(path: Any) -> str:
    parts: list[str] = []
    for item in path:
        if isinstance(item, int) and parts:
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def validate_json_schema(data: Any, schema: dict[str, Any]) -> list[ValidationIssue]:
    """Schema violations in JSON form data, one issue per violation, ``field`` as a dotted path."""
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    issues = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        field = _dotted(error.absolute_path)
        if error.validator == "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else ""
            field = f"{field}.{missing}" if field else missing
        issues.append(ValidationIssue(Severity.ERROR, field or None, str(error.validator), error.message, "Schema"))
    return issues


def validate_xml(xml: bytes | str, schema: xmlschema.XMLSchema) -> list[ValidationIssue]:
    """XSD violations in stored (XML) form data."""
    source = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    issues = []
    for error in schema.iter_errors(source):
        issues.append(
            ValidationIssue(
                Severity.ERROR,
                error.path,
                "xsd",
                error.reason or str(error.message),
                "Schema",
            )
        )
    return issues


def validate_required(form: FormState) -> list[ValidationIssue]:
    """Visible components marked required (literally or by expression) whose bound fields are empty."""
    issues = []
    for node in form.nodes():
        component = node.component
        if component is None or component.expression("required") is None:
            continue
        if not form.is_required(node) or form.is_hidden(node):
            continue
        if component.type == "Likert":
            issues.extend(_likert_required(form, node))
            continue
        if "group" in component.bindings:
            issues.extend(_group_selection_required(form, node))
            continue
        for binding_name, binding in component.bindings.items():
            if binding_name == "group" or binding_target(binding) is None:
                continue
            value = form.binding_value(node, binding_name)
            if value is None or value == "" or value == []:
                target = binding_target(binding)
                assert target is not None
                path = format_path(_transposed(form, node, target[1]))
                issues.append(
                    ValidationIssue(
                        Severity.ERROR,
                        path,
                        "required",
                        f"{component.id} is required",
                        "Required",
                        custom_text_key="backend.validation_errors.required",
                        data_type=target[0],
                    )
                )
    return issues


def _group_selection_required(form: FormState, node: Any) -> list[ValidationIssue]:
    """Checkboxes or a MultipleSelect that store their choices as rows of a group (one row per chosen option, with
    a `checked` field where choices are deleted softly): required means at least one row is chosen. The row's own
    fields are not required by themselves: an option not chosen has no row."""
    component = node.component
    group = binding_target(component.bindings["group"])
    if group is None:
        return []
    rows = form.binding_value(node, "group")
    checked = binding_target(component.bindings.get("checked"))
    checked_in_row = parse_path(checked[1].removeprefix(group[1] + ".")) if checked is not None else None
    chosen = [row for row in rows if checked_in_row is None or lookup(row, checked_in_row)] \
        if isinstance(rows, list) else []
    if chosen:
        return []
    return [ValidationIssue(Severity.ERROR, format_path(_transposed(form, node, group[1])), "required",
                            f"{component.id} is required", "Required",
                            custom_text_key="backend.validation_errors.required", data_type=group[0])]


def _likert_required(form: FormState, node: Any) -> list[ValidationIssue]:
    """A required Likert asks for an answer to each question it shows (its list's rows within its filter); with
    no questions there is nothing to answer."""
    component = node.component
    questions = binding_target(component.bindings.get("questions"))
    answer = binding_target(component.bindings.get("answer"))
    if questions is None or answer is None:
        return []
    list_path = _transposed(form, node, questions[1])
    try:
        model = form.context.data.get(questions[0])
    except ExpressionError:
        return []
    rows = lookup(model, list_path)
    start, stop = likert_window(component.definition.get("filter"), len(rows) if isinstance(rows, list) else 0)
    issues = []
    for index in range(start, stop):
        row_path = (*list_path[:-1], (list_path[-1][0], index))
        field = transpose(parse_path(answer[1]), row_path)
        if lookup(model, field) in (None, ""):
            issues.append(ValidationIssue(Severity.ERROR, format_path(field), "required", f"{component.id} is required",
                                          "Required", custom_text_key="backend.validation_errors.required"))
    return issues


def _transposed(form: FormState, node: Any, field: str) -> Path:
    return transpose(parse_path(field), form.context_path(node))


def _concrete_paths(data: Any, parts: Path) -> Iterator[Path]:
    """Every indexed path a field path (without indexes) denotes: one per repeating-group row."""

    def walk(value: Any, position: int, prefix: tuple[tuple[str, int | None], ...]) -> Iterator[Path]:
        if position == len(parts):
            yield prefix
            return
        name, index = parts[position]
        child = value.get(name) if isinstance(value, dict) else None
        if isinstance(child, list) and position < len(parts) - 1:
            rows = [index] if index is not None else range(len(child))
            for row in rows:
                if row is not None and row < len(child):
                    yield from walk(child[row], position + 1, (*prefix, (name, row)))
        else:
            yield from walk(child, position + 1, (*prefix, (name, index)))

    yield from walk(data, 0, ())


def _resolve_rule(rule: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    if isinstance(rule, str):
        return dict(definitions.get(rule) or {})
    resolved = dict(rule)
    reference = resolved.pop("ref", None)
    if reference is not None:
        resolved = {**(definitions.get(reference) or {}), **resolved}
    return resolved


def validate_expressions(
    rules_file: dict[str, Any], context: ExpressionContext, data_type: str | None = None
) -> list[ValidationIssue]:
    """Run ``*.validation.json`` rules; a rule whose condition is true reports its message."""
    definitions = rules_file.get("definitions") or {}
    data = context.data.get(data_type)
    issues = []
    for field, rules in (rules_file.get("validations") or {}).items():
        for concrete in _concrete_paths(data, parse_path(field)):
            field_path = format_path(concrete)
            row_context = context.at(context.node)
            row_context.row_path = concrete
            row_context.positional_arguments = [field_path]
            for raw_rule in rules:
                rule = _resolve_rule(raw_rule, definitions)
                try:
                    failing = to_boolean(compile_cached(rule.get("condition"))(row_context)) is True
                    if not failing:
                        continue
                    message = rule.get("message", "")
                    text = (
                        to_string(compile_cached(message)(row_context)) if isinstance(message, list) else str(message)
                    )
                except ExpressionError as error:
                    issues.append(
                        ValidationIssue(Severity.ERROR, field_path, "expression-error", str(error), "Expression")
                    )
                    continue
                issues.append(
                    ValidationIssue(
                        _RULE_SEVERITIES.get(str(rule.get("severity", "error")), Severity.ERROR),
                        field_path,
                        text or "",
                        text or "",
                        "Expression",
                        custom_text_key=text,
                    )
                )
    return issues


def field_value(context: ExpressionContext, field: str, data_type: str | None = None) -> Any:
    return lookup(context.data.get(data_type), parse_path(field))
