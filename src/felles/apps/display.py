"""``displayValue``: how a component's value reads in summaries and receipts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from felles.apps.expressions.casting import to_string
from felles.apps.expressions.dates import format_date, parse_date
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.functions import translate

if TYPE_CHECKING:
    from felles.apps.layout import FormState, Node

_PLAIN_TYPES = {"TextArea", "TimePicker", "OrganisationLookup", "OrganizationLookup", "Map"}
_OPTION_TYPES = {"Dropdown", "RadioButtons", "Checkboxes", "MultipleSelect", "Likert", "LikertItem"}
_FILE_TYPES = {"FileUpload", "FileUploadWithTag", "ImageUpload"}


def _options(form: FormState, definition: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(definition.get("options"), list):
        return definition["options"]
    options_id = definition.get("optionsId")
    if isinstance(options_id, str):
        return form.context.code_lists.get(options_id, [])
    return []


def _label_for(form: FormState, definition: dict[str, Any], value: Any) -> str:
    wanted = to_string(value)
    for option in _options(form, definition):
        if to_string(option.get("value")) == wanted:
            return translate(form.context, str(option.get("label", "")))
    return wanted or ""


def _format_number(text: str, number_format: dict[str, Any]) -> str:
    prefix = str(number_format.get("prefix", ""))
    suffix = str(number_format.get("suffix", ""))
    separator = number_format.get("thousandSeparator")
    if separator:
        whole, _, fraction = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        digits = whole.lstrip("-")
        groups = []
        while len(digits) > 3:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        groups.insert(0, digits)
        decimal_separator = str(number_format.get("decimalSeparator", "."))
        text = sign + str(separator if separator is not True else " ").join(groups)
        text += (decimal_separator + fraction) if fraction else ""
    return f"{prefix}{text}{suffix}"


def display_value(form: FormState, node: Node) -> str | None:
    component = node.component
    assert component is not None
    definition = component.definition
    kind = component.type

    def bound(name: str = "simpleBinding") -> Any:
        return form.binding_value(node, name)

    if kind == "Input":
        value = to_string(bound())
        if value is None:
            return ""
        number_format = (definition.get("formatting") or {}).get("number")
        return _format_number(value, number_format) if isinstance(number_format, dict) else value
    if kind in _PLAIN_TYPES:
        if kind in ("OrganisationLookup", "OrganizationLookup"):
            return to_string(bound("organisation_lookup_orgnr") or bound("organization_lookup_orgnr")) or ""
        return to_string(bound()) or ""
    if kind in ("Text", "Number", "Date", "Option"):
        compiled = component.expression("value")
        value = compiled(form.context.at(node)) if compiled is not None else None
        if kind == "Option":
            return _label_for(form, definition, value)
        if kind == "Date":
            date = parse_date(value)
            return "" if date is None else format_date(date, definition.get("format"), form.context.language)
        return to_string(value) or ""
    if kind == "Datepicker":
        date = parse_date(bound())
        return "" if date is None else format_date(date, "dd.MM.yyyy", form.context.language)
    if kind in _OPTION_TYPES:
        value = bound()
        if kind in ("Checkboxes", "MultipleSelect"):
            items = value if isinstance(value, list) else (to_string(value) or "").split(",")
            labels = [_label_for(form, definition, item.strip() if isinstance(item, str) else item) for item in items]
            return ", ".join(label for label in labels if label)
        return _label_for(form, definition, value) if value is not None else ""
    if kind == "Address":
        parts = [to_string(bound(name)) for name in ("address", "zipCode", "postPlace")]
        return " ".join(part for part in parts if part)
    if kind == "PersonLookup":
        parts = [to_string(bound(name)) for name in ("person_lookup_ssn", "person_lookup_name")]
        return ", ".join(part for part in parts if part)
    if kind == "List":
        summary = definition.get("bindingToShowInSummary")
        if isinstance(summary, str):
            for name, binding in component.bindings.items():
                if binding == summary:
                    return to_string(bound(name)) or ""
        return ""
    if kind == "Custom":
        values = [to_string(bound(name)) for name in component.bindings]
        return ", ".join(value for value in values if value)
    if kind in _FILE_TYPES:
        names = [
            str(element.get("filename"))
            for element in form.context.data_elements
            if element.get("dataType") == component.id and element.get("filename")
        ]
        return ", ".join(names)
    raise ExpressionError(f"Component of type '{kind}' does not have a displayValue")
