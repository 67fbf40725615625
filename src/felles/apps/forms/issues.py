"""Validation issues as a person reads them: the text for an issue, and where the field it names is drawn (its
page and input), for the error summary's links."""

from __future__ import annotations

from typing import Any

from felles.apps.datapath import format_path, parse_path, transpose
from felles.apps.expressions.functions import translate as app_text
from felles.apps.forms import values
from felles.apps.layout import FormState, binding_target
from felles.core.i18n import translate


def describe_issue(form: FormState | None, language: str, issue: dict[str, Any]) -> str:
    """The text shown for a validation issue: the app's text for its key, ours for the common ones."""
    key = issue.get("customTextKey") or issue.get("code") or ""
    if issue.get("code") == "required" or key == "backend.validation_errors.required":
        field = issue.get("field") or ""
        label = _field_label(form, str(field)) if form is not None else field
        return translate("forms.validation.required", language, field=label or field)
    if issue.get("code") == "DataElementFileInfected":
        return translate("forms.validation.infected", language)
    if form is not None and isinstance(key, str) and key in form.context.text_resources:
        return app_text(form.context, key)
    return str(issue.get("description") or key)


def _field_label(form: FormState, field_path: str) -> str:
    for node in form.nodes():
        component = node.component
        if component is None:
            continue
        target = binding_target(component.bindings.get("simpleBinding"))
        if target is None:
            continue
        if format_path(transpose(parse_path(target[1]), form.context_path(node))) == field_path:
            return component_label(form, component.definition)
    return field_path


def field_pages(form: FormState) -> dict[str, tuple[str, str]]:
    """Field name -> (its page, the id of its input), for the error summary's links."""
    found: dict[str, tuple[str, str]] = {}
    default = form.context.data.default_data_type
    for node in form.nodes():
        component = node.component
        if component is None:
            continue
        for name, binding in component.bindings.items():
            target = binding_target(binding)
            if target is None:
                continue
            path = transpose(parse_path(target[1]), form.context_path(node))
            suffix = "" if name == "simpleBinding" else f"-{name}"
            found.setdefault(values.field_name(target[0], path, default), (node.page, f"c-{node.indexed_id}{suffix}"))
    return found


def component_label(form: FormState, definition: dict[str, Any]) -> str:
    texts = definition.get("textResourceBindings")
    title = texts.get("title") if isinstance(texts, dict) else None
    if not isinstance(title, str):
        return ""
    return app_text(form.context, title)
