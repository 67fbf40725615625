"""``felles app check``: everything :mod:`definition` reports, plus checks that span files.

* every expression (layouts, page ``hidden``, BPMN gateway conditions, ``*.validation.json``) compiles;
* ``["component", "id"]`` with a literal id names a component of the same layout set;
* data model bindings name fields the data type's JSON Schema has;
* layout sets point at data types in applicationmetadata.json and at tasks in process.bpmn;
* Settings.json page order names existing pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from felles.apps.datapath import parse_path
from felles.apps.definition import AppDefinition, LayoutSetDefinition, Problem, line_of, load_app
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import compile_expression
from felles.apps.layout import binding_target

# component properties that may hold an expression, and containers of such properties
_EXPRESSION_PROPS = ("hidden", "required", "readOnly", "hiddenRow", "optionFilter", "value")
_EXPRESSION_CONTAINERS = ("textResourceBindings", "edit", "source", "queryParameters")


def check_app(path: Path) -> AppDefinition:
    """Load the app and run every cross-file check; ``problems`` then lists everything found."""
    app = load_app(path)
    for layout_set in app.layout_sets.values():
        _check_layout_set(app, layout_set)
    _check_process(app)
    _check_validation_files(app)
    app.problems.sort(key=lambda p: (p.file, p.line or 0, p.message))
    return app


def _component_expressions(component: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for prop in _EXPRESSION_PROPS:
        if isinstance(component.get(prop), list | dict) and not (
            prop == "value" and component.get("type") not in ("Text", "Number", "Date", "Option")
        ):
            yield prop, component[prop]
    for container in _EXPRESSION_CONTAINERS:
        values = component.get(container)
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, list):
                    yield f"{container}.{key}", value


def _referenced_components(expression: Any) -> Iterator[str]:
    if isinstance(expression, list) and expression:
        if expression[0] in ("component", "displayValue", "linkToComponent") and len(expression) > 1:
            target = expression[1] if expression[0] != "linkToComponent" else expression[2:3]
            if isinstance(target, list) and target and isinstance(target[0], str):
                yield target[0]
            elif isinstance(target, str):
                yield target
        for argument in expression[1:]:
            yield from _referenced_components(argument)


def _check_expression(
    app: AppDefinition, file: Path, line: int | None, what: str, expression: Any, known_ids: set[str] | None
) -> None:
    try:
        compile_expression(expression)
    except ExpressionError as error:
        app.problem(file, line, f"{what}: invalid expression: {error}")
        return
    if known_ids is not None:
        for target in _referenced_components(expression):
            if target not in known_ids:
                app.problem(file, line, f'{what}: refers to component "{target}", which does not exist')


def _schema_field_exists(schema: dict[str, Any], field_path: str) -> bool:
    """Whether the model has the field; paths are relative to the root element, which older (Seres)
    schemas wrap in a top-level property, so both the schema root and each top-level property count."""
    roots: list[Any] = [schema]
    properties = schema.get("properties")
    if isinstance(properties, dict):
        roots.extend(_resolve(schema, value) for value in properties.values())
    return any(_field_exists_below(schema, root, field_path) for root in roots)


def _field_exists_below(schema: dict[str, Any], root: Any, field_path: str) -> bool:
    node: Any = root
    for name, _index in parse_path(field_path):
        node = _resolve(schema, node)
        while (isinstance(node, dict) and node.get("type") == "array") or (
            isinstance(node, dict) and "items" in node and "properties" not in node
        ):
            node = _resolve(schema, node.get("items"))
        if not isinstance(node, dict):
            return False
        properties = _collect_properties(schema, node)
        if properties is None:
            declared = node.get("type")
            declared_types = declared if isinstance(declared, list) else [declared]
            # an object without listed properties is open; a string, number... has no fields
            return declared is None or "object" in declared_types
        if name not in properties:
            return False
        node = properties[name]
    return True


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    for _ in range(32):
        if not isinstance(node, dict) or "$ref" not in node:
            return node
        reference = str(node["$ref"])
        if not reference.startswith("#/"):
            return None
        target: Any = schema
        for part in reference[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node


def _collect_properties(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    properties: dict[str, Any] | None = None
    candidates = [node, *[_resolve(schema, n) for n in node.get("allOf", []) + node.get("anyOf", [])]]
    for candidate in candidates:
        if isinstance(candidate, dict) and isinstance(candidate.get("properties"), dict):
            properties = {**(properties or {}), **candidate["properties"]}
    return properties


def _check_layout_set(app: AppDefinition, layout_set: LayoutSetDefinition) -> None:
    data_type_ids = {str(dt.get("id")) for dt in app.metadata.get("dataTypes") or [] if isinstance(dt, dict)}
    settings_file = layout_set.folder / "Settings.json"
    if layout_set.data_type and app.metadata and layout_set.data_type not in data_type_ids:
        app.problem(
            settings_file if settings_file.is_file() else layout_set.folder,
            line_of(settings_file, layout_set.data_type),
            f'layout set "{layout_set.id}" uses data type "{layout_set.data_type}", '
            "which applicationmetadata.json does not define",
        )
    if app.process is not None:
        for task in layout_set.tasks:
            if task not in app.process.tasks and task != layout_set.folder.name:
                app.problem(
                    app.root / "ui" / "layout-sets.json",
                    line_of(app.root / "ui" / "layout-sets.json", f'"{task}"'),
                    f'layout set "{layout_set.id}" is for task "{task}", which process.bpmn does not have',
                )
    for page in (layout_set.settings.get("pages") or {}).get("order") or []:
        if page not in layout_set.layouts:
            app.problem(
                settings_file,
                line_of(settings_file, f'"{page}"'),
                f'page order names "{page}", which has no layout file',
            )

    known_ids = set(layout_set.layout_set.components) if layout_set.layout_set is not None else None
    model = app.models.get(layout_set.data_type or "")
    schema = model.json_schema if model is not None else None
    for page, layout in layout_set.layouts.items():
        file = layout_set.layout_files[page]
        data = layout["data"]
        if isinstance(data.get("hidden"), list | dict):
            _check_expression(app, file, line_of(file, '"hidden"'), f"page {page} hidden", data["hidden"], known_ids)
        for component in data["layout"]:
            line = line_of(file, f'"{component["id"]}"')
            for prop, expression in _component_expressions(component):
                _check_expression(app, file, line, f'component "{component["id"]}" {prop}', expression, known_ids)
            bindings = component.get("dataModelBindings")
            if not isinstance(bindings, dict):
                continue
            for name, binding in bindings.items():
                target = binding_target(binding)
                if target is None:
                    continue
                data_type, field = target
                binding_schema = schema
                if data_type and data_type != layout_set.data_type:
                    other = app.models.get(data_type)
                    binding_schema = other.json_schema if other is not None else None
                if binding_schema is not None and field and not _schema_field_exists(binding_schema, field):
                    app.problem(
                        file,
                        line_of(file, field) or line,
                        f'component "{component["id"]}" binds {name} to "{field}", '
                        f"which the data model {data_type or layout_set.data_type} does not have",
                    )


def _check_process(app: AppDefinition) -> None:
    if app.process is None:
        return
    path = app.root / "config" / "process" / "process.bpmn"
    for flow in app.process.flows:
        if flow.condition is not None:
            _check_expression(app, path, flow.line, f'condition of flow "{flow.id}"', flow.condition, None)


def _check_validation_files(app: AppDefinition) -> None:
    for model in app.models.values():
        if model.validation is None or model.validation_file is None:
            continue
        file = model.validation_file
        definitions = model.validation.get("definitions") or {}
        for name, rule in definitions.items():
            _check_rule(app, file, f'definition "{name}"', rule, definitions)
        for field, rules in (model.validation.get("validations") or {}).items():
            if not isinstance(rules, list):
                app.problem(file, line_of(file, f'"{field}"'), f'validations for "{field}" must be a list')
                continue
            for rule in rules:
                _check_rule(app, file, f'validation of "{field}"', rule, definitions)


def _check_rule(app: AppDefinition, file: Path, what: str, rule: Any, definitions: dict[str, Any]) -> None:
    if isinstance(rule, str):
        if rule not in definitions:
            app.problem(file, line_of(file, f'"{rule}"'), f'{what} refers to definition "{rule}", which does not exist')
        return
    if not isinstance(rule, dict):
        app.problem(file, None, f"{what} must be an object or the name of a definition")
        return
    reference = rule.get("ref")
    if reference is not None and reference not in definitions:
        app.problem(
            file, line_of(file, f'"{reference}"'), f'{what} refers to definition "{reference}", which does not exist'
        )
    if "condition" not in rule and reference is None:
        app.problem(file, line_of(file, '"message"'), f'{what} has no "condition"')
    severity = rule.get("severity")
    if severity is not None and severity not in ("error", "warning", "info", "success"):
        app.problem(
            file, line_of(file, f'"{severity}"'), f'{what} has severity "{severity}" (error, warning, info or success)'
        )
    for key in ("condition", "message"):
        if key in rule:
            line = line_of(file, f'"{key}"')
            _check_expression(app, file, line, f"{what} {key}", rule[key], None)


def format_problems(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]
