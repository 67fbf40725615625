"""A form's bootstrap, as app-lib's bootstrap-form gives it to app-frontend-react in one call: a UI folder's pages,
its static option lists, and for each data type the pages read its schema, expression validations and form data,
with the validation issues the form opens with.

The description comes from the app (`metadata.form_bootstrap`); the data from the instance's data elements
(`felles.apps.data`, which asks the PDP), or for a stateless form from the stateless form data service.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from felles.apps import data, data_validation, metadata, parties
from felles.apps.access import Caller
from felles.apps.deployment import RunningApp
from felles.core.errors import Conflict, InvalidInput, Unauthorized
from felles.core.runtime import Runtime


async def stateless_form(runtime: Runtime, caller: Caller | None, app: RunningApp, ui_folder: str, *,
                         prefill: str | None, party_cookie: str | None) -> dict[str, Any]:
    """A stateless form, with starting data prefilled for the party the person has chosen (else the caller) and
    from `prefill` (the query's); without a caller only where the app allows anonymous use."""
    form = metadata.form_bootstrap(app.definition, ui_folder)
    data_types = list(form.document["dataModels"])
    from_query = metadata.query_prefill(prefill, form.default_data_type)
    if caller is None and not metadata.anonymous_allowed(app.definition, data_types):
        raise Unauthorized("This form needs a logged-in user.", code="missing_token",
                           headers={"WWW-Authenticate": "Bearer"})
    party_header = None
    if caller is not None:
        current = await parties.current_party(runtime.database, caller, app.definition, party_cookie)
        party_header = f"partyid:{current.party['partyId']}"
    for data_type in data_types:
        # The query's values go in as the form data sent, so the registers' prefill goes over them as the app's
        # prefill configuration lets it (app-lib's order).
        sent = metadata.nested(from_query.get(data_type, {}))
        form.document["dataModels"][data_type]["initialData"] = await data.stateless_form_data(
            runtime, app.definition, data_type, caller=caller, party_header=party_header,
            body=orjson.dumps(sent) if sent else None, content_type="application/json")
    return form.document


async def instance_form(ref: data.InstanceRef, ui_folder: str, *, data_element_id: uuid.UUID | None, pdf: bool,
                        language: str | None) -> dict[str, Any]:
    """An instance's form in a UI folder: its data elements' form data (`data_element_id` names the default data
    type's element, as for a subform's), and, unless for the PDF, the current task's validation issues by data
    element (the rest, the task's own, beside them). The PDP decides the reading."""
    opened = await data.open_instance(ref, "read")
    form = metadata.form_bootstrap(opened.definition, ui_folder)
    models: dict[str, dict[str, Any]] = form.document["dataModels"]
    for data_type in list(models):
        if data_element_id is not None and data_type == form.default_data_type:
            element = opened.element(data_element_id)
            if element.data_type != data_type:
                raise InvalidInput(f"Data element {data_element_id} is not of {data_type}.",
                                   code="data_element_type_mismatch")
        else:
            found = [element for element in opened.elements if element.data_type == data_type]
            if len(found) > 1:
                raise Conflict(f"The instance has more than one {data_type}: name it (dataElementId).",
                               code="several_data_elements")
            if not found:
                del models[data_type]  # nothing of it in this instance (yet)
                continue
            element = found[0]
        element, form_data = await data.read_data_element(ref, element.id)
        models[data_type].update(initialData=form_data, dataElementId=str(element.id))
        if pdf or element.locked:
            models[data_type].pop("expressionValidationConfig", None)
    if not pdf and opened.instance.current_task is not None:
        issues = await data_validation.instance_issues(ref.runtime, opened.definition, opened.instance,
                                                       opened.elements, language)
        _partition(form, [data_validation.public_issue(issue) for issue in issues])
    return form.document


def _partition(form: metadata.FormBootstrap, issues: list[dict[str, Any]]) -> None:
    """app-lib's split of the opening issues: the task's own (neither a field nor a data element) beside the
    data models; the rest with the data model of their element (a field's without one: the default data type's).
    As in app-lib, issues of elements this form does not load (attachments) are not opened with."""
    models = form.document["dataModels"]
    by_element = {model["dataElementId"]: model for model in models.values()}
    default_element = (models.get(form.default_data_type) or {}).get("dataElementId")
    task_issues = []
    for issue in issues:
        if issue.get("field") is None and issue.get("dataElementId") is None:
            task_issues.append(issue)
            continue
        element = issue.get("dataElementId") or default_element
        if element is None:
            task_issues.append(issue)
        elif element in by_element:
            by_element[element].setdefault("initialValidationIssues", []).append({**issue, "dataElementId": element})
    if task_issues:
        form.document["validationIssues"] = task_issues


async def instance_options(ref: data.InstanceRef, options_id: str) -> metadata.AppOptions:
    """A static option list asked for within an instance (a component with `secure: true`): the same list, once
    the PDP lets the caller read the instance."""
    opened = await data.open_instance(ref, "read")
    return metadata.options(opened.definition, options_id)
