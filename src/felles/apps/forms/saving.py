"""Saving a posted page: the fields drawn on it written into the form data (typed by the data model's schema), the
rows added or deleted, and what the page shows besides the data (messages, typed text, open rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData

from felles.apps import data
from felles.apps.datapath import lookup, parse_path, transpose
from felles.apps.definition import LayoutSetDefinition
from felles.apps.expressions.casting import to_string
from felles.apps.expressions.errors import ExpressionError
from felles.apps.forms import values
from felles.apps.forms.issues import component_label
from felles.apps.forms.opening import Opened, data_type_of
from felles.apps.forms.views import Message
from felles.apps.layout import FormState, Node, binding_target
from felles.core.errors import Problem
from felles.core.i18n import translate


@dataclass
class PageState:
    """What a page shows besides the data: messages by field, what was typed but not stored, the error summary,
    the repeating-group rows open for editing, and the fields whose messages the person sees.

    A field's validation messages show once the person has changed it (``touched``, carried from post to post in
    the page) or once a submit found it wrong: a field not yet filled in is not an error to point at while the
    person works down the page. The error summary lists the errors shown, the page's own and those on other pages
    (``elsewhere``); while autosaving it shows only where it was shown already (``show_summary``), so it does not
    appear above the form as the person moves from field to field, but stays true to the fields once it has.
    """

    messages: dict[str, list[Message]] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)  # (link, text): why a step was refused
    status_code: int = 200
    editing: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    elsewhere: list[tuple[str, str]] = field(default_factory=list)  # (link, text): errors on other pages
    linked_elsewhere: set[str] = field(default_factory=set)  # the fields of those errors
    show_summary: bool = True
    open_tabs: dict[str, str] = field(default_factory=dict)  # the tab chosen in each Tabs, by its view id


def editing_query(editing: set[str]) -> str:
    return f"?edit={quote(','.join(sorted(editing)))}" if editing else ""


# --- saving -----------------------------------------------------------------------------------------------------
def _page_fields(form: FormState, layout_set: LayoutSetDefinition, page: str) -> dict[str, dict[str, Any]]:
    """The editable fields drawn on ``page`` (field name -> the component's definition), so a post changes only
    what the person could see and change there (a hidden or read-only field keeps its value)."""
    fields: dict[str, dict[str, Any]] = {}
    default = form.context.data.default_data_type
    for node in form.nodes():
        component = node.component
        if component is None or node.page != page or not component.bindings or component.repeating:
            continue
        try:
            if form.is_hidden(node) or form.is_read_only(node):
                continue
        except ExpressionError:  # a failing expression leaves the field out, as Altinn's frontend does
            continue
        for name, binding in component.bindings.items():
            target = binding_target(binding)
            # a Likert's answers are fields of its rows (_likert_fields)
            if target is None or name in ("group", "questions") or (component.type == "Likert" and name == "answer"):
                continue
            path = transpose(parse_path(target[1]), form.context_path(node))
            fields[values.field_name(target[0], path, default)] = component.definition
    return fields


def _schema_of(opened: Opened, data_type: str) -> dict[str, Any] | None:
    spec = data_type_of(opened.definition, data_type)
    if spec is None:
        return None
    try:
        return data.model_of(opened.definition, spec).json_schema
    except Problem:
        return None


def apply_post(opened: Opened, form: FormState, layout_set: LayoutSetDefinition, page: str,
               posted: FormData, language: str) -> tuple[set[str], PageState]:
    """Write the page's posted fields into the form data; (the data types changed, what could not be stored)."""
    state = PageState()
    changed: set[str] = set()
    default = form.context.data.default_data_type
    fields = _page_fields(form, layout_set, page)
    for name in _likert_fields(form, page):
        fields.setdefault(name, {})
    for name, definition in fields.items():
        if name not in posted:
            continue
        items = [item for item in posted.getlist(name) if isinstance(item, str)]
        data_type, path = values.parse_field_name(name)
        data_type = data_type or default
        model = opened.models.get(data_type)
        if model is None:
            continue
        multiple = definition.get("type") in ("Checkboxes", "MultipleSelect")
        text = ",".join(item for item in items if item) if multiple else _changed_text(items, lookup(model, path))
        number = (definition.get("formatting") or {}).get("number") if isinstance(
            definition.get("formatting"), dict) else None
        if isinstance(number, dict):
            text = values.unformat_number(text, number)
        try:
            value = values.coerce(text, values.schema_at(_schema_of(opened, data_type), path))
        except values.NotOfType as refused:
            label = component_label(form, definition) or name
            key = {"number": "not_a_number", "integer": "not_an_integer"}.get(refused.expected, "not_a_boolean")
            state.messages.setdefault(name, []).append(Message(translate(f"forms.validation.{key}", language,
                                                                         field=label)))
            state.typed[name] = text
            state.touched.add(name)
            continue
        if lookup(model, path) != value:
            values.assign(model, path, value)
            changed.add(data_type)
            state.touched.add(name)
    return changed, state


def _changed_text(items: list[str], stored: Any) -> str:
    """The text posted for a field. A page may draw one field twice (frontend-test repeats the new name in a
    summary below it): what the person changed in one, not the other's copy of the value the page was drawn
    with, is what they meant."""
    current = to_string(stored) or ""
    changed = [item for item in items if item != current]
    return changed[-1] if changed else (items[-1] if items else "")


def _likert_fields(form: FormState, page: str) -> list[str]:
    names = []
    for node in form.nodes():
        component = node.component
        if component is None or component.type != "Likert" or node.page != page or _hidden(form, node):
            continue
        questions = binding_target(component.bindings.get("questions"))
        answer = binding_target(component.bindings.get("answer"))
        if questions is None or answer is None:
            continue
        list_path = transpose(parse_path(questions[1]), form.context_path(node))
        rows = lookup(form.context.data.get(questions[0]), list_path)
        for index in range(len(rows) if isinstance(rows, list) else 0):
            row_path = (*list_path[:-1], (list_path[-1][0], index))
            names.append(values.field_name(answer[0], transpose(parse_path(answer[1]), row_path),
                                           form.context.data.default_data_type))
    return names


def _hidden(form: FormState, node: Node) -> bool:
    try:
        return form.is_hidden(node)
    except ExpressionError:
        return False


async def store(opened: Opened, changed: set[str]) -> None:
    """Save the changed form data through the data service (each model's element replaced)."""
    for data_type in sorted(changed):
        element_id = opened.elements_by_type.get(data_type)
        if element_id is not None:
            opened.models[data_type] = await data.save_form_data(opened.ref, element_id, opened.models[data_type])


def row_action(opened: Opened, action: str, default: str, editing: set[str]) -> str | None:
    """Add a repeating group's row (``add:<list field>``, opened for editing) or delete one
    (``delete:<list field>:<row>``, the rows open after it shifted up); the data type changed, or None when the
    action names nothing."""
    kind, _, rest = action.partition(":")
    target, _, row = rest.rpartition(":") if kind == "delete" else (rest, "", "")
    data_type, path = values.parse_field_name(target)
    model = opened.models.get(data_type or default)
    if model is None or not path:
        return None
    if kind == "add":
        editing.add(f"{target}[{values.add_row(model, path)}]")
        return data_type or default
    if kind == "delete" and row.isdigit() and values.delete_row(model, path, int(row)):
        deleted = int(row)
        for key in list(editing):
            index = _row_index(key, target)
            if index is not None and index >= deleted:
                editing.discard(key)
                if index > deleted:
                    editing.add(f"{target}[{index - 1}]")
        return data_type or default
    return None


def _row_index(key: str, group_field: str) -> int | None:
    """The row of ``group_field`` that ``key`` ("hunder[3]") names, if it names one of its rows."""
    prefix = f"{group_field}["
    if key.startswith(prefix) and key.endswith("]") and key[len(prefix):-1].isdigit():
        return int(key[len(prefix):-1])
    return None
