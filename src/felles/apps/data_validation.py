"""Validating an instance's data as app-lib reports it: ValidationIssueWithSource, per data element.

Form data is checked against its model (JSON Schema; nulls are empty properties, not wrong types), for required
components that are visible on the task's layout (hidden ones, also by a hidden parent group or row, are not
required), and by the model's expression validations (`models/<model>.validation.json`). Files are checked by their
data type's rules: an infected file is an error, and so is one still being scanned where the data type says
`validationErrorOnPendingFileScan`. A task checks its data types' `minCount` and `maxCount`.

`task_issues` is the validator the process runs before a data task is left: any error blocks the move.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

from felles.apps import data, instances, tasks
from felles.apps.definition import AppDefinition
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.layout import FormState
from felles.apps.validation import (
    Severity,
    ValidationIssue,
    validate_expressions,
    validate_json_schema,
    validate_required,
)
from felles.core.errors import Conflict
from felles.core.runtime import Runtime
from felles.storage.models import DataElement, Instance

# The validators (Altinn's "sources"), in the order they report.
SCHEMA, REQUIRED, EXPRESSION, FILE, DATA_TYPE = "Schema", "Required", "Expression", "File", "DataType"
FORM_DATA_SOURCES = (SCHEMA, REQUIRED, EXPRESSION)


def _without_nulls(value: Any) -> Any:
    """Form data as its JSON Schema sees it: a null property is one never filled in, not a wrong type."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _issue(severity: Severity, code: str, description: str, source: str, element_id: uuid.UUID | None = None,
           field: str | None = None) -> ValidationIssue:
    return ValidationIssue(severity, field, code, description, source,
                           data_element_id=str(element_id) if element_id else None)


def public_issue(issue: ValidationIssue) -> dict[str, Any]:
    return {**issue.to_json(), "noIncrementalUpdates": False}


def _form_state(definition: AppDefinition, instance: Instance, data_type: str, models: dict[str, dict[str, Any]],
                language: str | None) -> tuple[FormState | None, ExpressionContext]:
    context = ExpressionContext(
        data=DataModels(models, default_data_type=data_type), instance=None, process=instance.process,
        frontend_settings=definition.frontend_settings, text_resources=definition.texts.get(language or "nb", {}),
        language=language or "nb")
    task = instance.current_task
    layout_set = definition.layout_set_for_task(task) if task else None
    if layout_set is None or layout_set.layout_set is None or layout_set.data_type != data_type:
        return None, context
    return FormState(layout_set.layout_set, context), context


async def _other_models(runtime: Runtime, definition: AppDefinition, element: DataElement,
                        elements: Iterable[DataElement]) -> dict[str, dict[str, Any]]:
    """The instance's other form data, by data type (the first element of each): a layout or an expression of one
    model may look up another (`["dataModel", path, "modell2"]`)."""
    models: dict[str, dict[str, Any]] = {}
    for other in elements:
        if other.id == element.id or other.data_type == element.data_type or other.data_type in models:
            continue
        data_type = data.data_type_of(definition, other.data_type)
        if data.is_form_data(data_type):
            models[other.data_type] = await data.read_form_data(runtime, other, data.model_of(definition, data_type))
    return models


async def form_data_issues(runtime: Runtime, definition: AppDefinition, instance: Instance, element: DataElement,
                           elements: Iterable[DataElement], language: str | None,
                           sources: Iterable[str] = FORM_DATA_SOURCES) -> dict[str, list[ValidationIssue]]:
    """The issues of one form data element, by validator (the instance's other models at hand for lookups)."""
    elements = list(elements)
    data_type = data.data_type_of(definition, element.data_type)
    model = data.model_of(definition, data_type)
    form_data = await data.read_form_data(runtime, element, model)
    found: dict[str, list[ValidationIssue]] = {}
    models = {**await _other_models(runtime, definition, element, elements), element.data_type: form_data}
    form, context = _form_state(definition, instance, element.data_type, models, language)
    # A field of another model (a binding that names its data type) is that model's element's issue.
    owners: dict[str | None, uuid.UUID] = {}
    for other in elements:
        owners.setdefault(other.data_type, other.id)
    owners[element.data_type] = element.id
    for source in sources:
        if source == SCHEMA:
            # Which fields must be filled in is the layout's to say (hidden ones need not): the schema's
            # `required` is left to REQUIRED, as app-frontend-react leaves it.
            issues = [issue for issue in validate_json_schema(_without_nulls(data.without_row_ids(form_data)),
                                                              model.json_schema)
                      if issue.code != "required"] if model.json_schema else []
        elif source == REQUIRED:
            issues = validate_required(form) if form is not None else []
        elif source == EXPRESSION:
            issues = validate_expressions(model.validation, context, element.data_type) if model.validation else []
        else:
            continue
        found[source] = [dataclasses.replace(issue, data_element_id=str(owners.get(issue.data_type, element.id)))
                         for issue in issues]
    return found


def file_issues(data_type: dict[str, Any], element: DataElement) -> list[ValidationIssue]:
    """An infected file, or one still being scanned where the data type may not leave it so."""
    if element.file_scan_result == "Infected":
        return [_issue(Severity.ERROR, "DataElementFileInfected",
                       f"The file {element.filename or element.id} is infected by a virus: delete it.", FILE,
                       element.id)]
    if element.file_scan_result == "Pending" and data_type.get("validationErrorOnPendingFileScan"):
        return [_issue(Severity.ERROR, "DataElementFileScanPending",
                       f"The file {element.filename or element.id} is still being scanned for viruses.", FILE,
                       element.id)]
    return []


def count_issues(definition: AppDefinition, task: str, elements: list[DataElement]) -> list[ValidationIssue]:
    """Too few or too many elements of the task's data types (`minCount`, `maxCount`)."""
    issues = []
    for data_type in definition.metadata.get("dataTypes") or []:
        if data_type.get("taskId") != task or data_type.get("id") == data.PDF_DATA_TYPE:
            continue
        count = sum(1 for element in elements if element.data_type == data_type["id"])
        minimum, maximum = data_type.get("minCount") or 0, data_type.get("maxCount") or 0
        if count < minimum:
            issues.append(_issue(Severity.ERROR, "TooFewDataElementsOfType",
                                 f"At least {minimum} of {data_type['id']} are needed ({count} given).", DATA_TYPE,
                                 field=data_type["id"]))
        elif 0 < maximum < count:
            issues.append(_issue(Severity.ERROR, "TooManyDataElementsOfType",
                                 f"At most {maximum} of {data_type['id']} are allowed ({count} given).", DATA_TYPE,
                                 field=data_type["id"]))
    return issues


async def element_issues(runtime: Runtime, definition: AppDefinition, instance: Instance, element: DataElement,
                         elements: Iterable[DataElement], language: str | None,
                         ignored: Iterable[str] = ()) -> dict[str, list[ValidationIssue]]:
    data_type = data.data_type_of(definition, element.data_type)
    if data.is_form_data(data_type):
        sources = [source for source in FORM_DATA_SOURCES if source not in set(ignored)]
        return await form_data_issues(runtime, definition, instance, element, elements, language, sources)
    return {FILE: file_issues(data_type, element)}


async def instance_issues(runtime: Runtime, definition: AppDefinition, instance: Instance,
                          elements: list[DataElement], language: str | None,
                          ignored: Iterable[str] = ()) -> list[ValidationIssue]:
    """Every issue of the current task: its data types' counts and each of their elements."""
    task = instance.current_task
    if task is None:
        raise Conflict("The instance has no current task to validate.", code="no_current_task")
    task_types = {data_type["id"] for data_type in definition.metadata.get("dataTypes") or []
                  if data_type.get("taskId") == task}
    issues = count_issues(definition, task, elements) if DATA_TYPE not in set(ignored) else []
    for element in elements:
        if element.data_type in task_types and element.data_type != data.PDF_DATA_TYPE:
            found = await element_issues(runtime, definition, instance, element, elements, language, ignored)
            for element_found in found.values():
                issues.extend(element_found)
    return issues


# --- over the API ------------------------------------------------------------------------------------------
async def validate_instance(ref: data.InstanceRef, language: str | None, ignored: list[str]) -> list[dict[str, Any]]:
    opened = await data.open_instance(ref, "read")
    issues = await instance_issues(ref.runtime, opened.definition, opened.instance, opened.elements, language,
                                   ignored)
    return [public_issue(issue) for issue in issues]


async def validate_data_element(ref: data.InstanceRef, element_id: uuid.UUID,
                                language: str | None) -> list[dict[str, Any]]:
    opened = await data.open_instance(ref, "read")
    found = await element_issues(ref.runtime, opened.definition, opened.instance, opened.element(element_id),
                                 opened.elements, language)
    return [public_issue(issue) for issues in found.values() for issue in issues]


async def incremental_issues(ref: data.InstanceRef, opened: data.Opened, element_ids: list[uuid.UUID],
                             ignored: list[str] | None, language: str | None) -> list[dict[str, Any]]:
    """What the changed elements' validators report now (ValidationSourcePair list), those `ignored` left out."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for element_id in element_ids:
        found = await element_issues(ref.runtime, opened.definition, opened.instance, opened.element(element_id),
                                     opened.elements, language, ignored or ())
        for source, issues in found.items():
            by_source.setdefault(source, []).extend(public_issue(issue) for issue in issues)
    return [{"source": source, "issues": issues} for source, issues in by_source.items()]


# --- the process: before a data task is left ---------------------------------------------------------------
@tasks.register_validator
async def task_issues(ctx: tasks.TaskContext) -> list[dict[str, Any]]:
    """The current task's issues, for the process: errors block leaving a data task."""
    instance = ctx.instance
    elements = list(await instances.instance_elements(ctx))  # the step's, read once
    issues = await instance_issues(ctx.runtime, ctx.app.definition, instance, elements, ctx.language)
    return [public_issue(issue) for issue in issues]
