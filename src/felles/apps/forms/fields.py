"""Components a person fills in: text and number fields, choices, dates, addresses, Likert scales, files, and
the options of the choices."""

from __future__ import annotations

from typing import Any

from felles.apps.datapath import Path, lookup, parse_path, transpose
from felles.apps.display import display_value
from felles.apps.expressions.casting import to_boolean, to_string
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.functions import translate
from felles.apps.forms.component_base import ComponentBase, evaluate
from felles.apps.forms.values import field_name
from felles.apps.forms.views import Option, Row, View, inline
from felles.apps.layout import Component, Node, binding_target, likert_window


class FieldComponents(ComponentBase):
    """Builders of the fields (Input, TextArea, Checkboxes, RadioButtons, Dropdown, MultipleSelect, Datepicker,
    Likert, Address, FileUpload, FileUploadWithTag, AttachmentList) and their options."""

    def _input(self, node: Node) -> View:
        view = self._base(node, "input")
        formatting = node.component.definition.get("formatting") if node.component else None
        number = (formatting or {}).get("number") if isinstance(formatting, dict) else None
        if isinstance(number, dict):
            view.props["inputmode"] = "decimal"
            view.props["prefix"] = self._maybe_text(node, number.get("prefix"))
            view.props["suffix"] = self._maybe_text(node, number.get("suffix"))
            if view.value:
                # the number as it reads (thousand and decimal separators); the affixes stand beside the field
                shown = (display_value(self.form, node) or view.value).removeprefix(str(number.get("prefix") or ""))
                view.value = shown.removesuffix(str(number.get("suffix") or ""))
        variant = node.component.definition.get("variant") if node.component else None
        autocomplete = node.component.definition.get("autocomplete") if node.component else None
        view.props["autocomplete"] = autocomplete if isinstance(autocomplete, str) else None
        view.props["search"] = variant == "search"
        max_length = node.component.definition.get("maxLength") if node.component else None
        view.props["maxlength"] = max_length if isinstance(max_length, int) else None
        return view

    def _maybe_text(self, node: Node, value: Any) -> str | None:
        return self.resource(node, value) if isinstance(value, str) and value else None

    def _textarea(self, node: Node) -> View:
        view = self._base(node, "textarea")
        max_length = node.component.definition.get("maxLength") if node.component else None
        view.props["maxlength"] = max_length if isinstance(max_length, int) else None
        return view

    def _choices(self, node: Node) -> View:
        kind = "checkboxes" if node.component and node.component.type == "Checkboxes" else "radios"
        view = self._base(node, kind)
        view.options = self.options(node, view.value, multiple=kind == "checkboxes")
        return view

    def _dropdown(self, node: Node) -> View:
        multiple = bool(node.component and node.component.type == "MultipleSelect")
        view = self._base(node, "select")
        view.props["multiple"] = multiple
        view.options = self.options(node, view.value, multiple=multiple)
        return view

    def _datepicker(self, node: Node) -> View:
        view = self._base(node, "date")
        view.value = view.value[:10]  # a stored date-time shows as its date
        definition = node.component.definition if node.component else {}
        for key in ("minDate", "maxDate"):
            bound = definition.get(key)
            view.props[key] = bound[:10] if isinstance(bound, str) and bound[:1].isdigit() else None
        return view

    def _likert(self, node: Node) -> View:
        component = node.component
        assert component is not None
        view = self._base(node, "likert")
        # messages on the Likert as a whole (its questions' list), shown below its questions
        view.props["own_messages"] = list(view.messages)
        view.props["left_header"] = inline(self.text(node, "leftColumnHeader"))
        questions = binding_target(component.bindings.get("questions"))
        answer = binding_target(component.bindings.get("answer"))
        if questions is None or answer is None:
            return view
        data_type, list_text = questions
        list_path = transpose(parse_path(list_text), self.form.context_path(node))
        try:
            rows = lookup(self.form.context.data.get(data_type), list_path)
        except ExpressionError:
            rows = None
        start, stop = likert_window(component.definition.get("filter"), len(rows) if isinstance(rows, list) else 0)
        answer_path = parse_path(answer[1])
        option_source = self.options(node, "", multiple=False)
        view.columns = [option.label for option in option_source]
        for index in range(start, stop):
            row_path = (*list_path[:-1], (list_path[-1][0], index))
            field_path = transpose(answer_path, row_path)
            value = to_string(lookup(self.form.context.data.get(data_type), field_path)) or ""
            name = field_name(data_type, field_path, self.default_data_type)
            label = self._likert_question(node, data_type, row_path)
            options = [Option(option.value, option.label, option.value == value) for option in option_source]
            row_messages = self.messages_of(name)
            view.rows.append(Row(index, [], inline(label), name, options, row_messages))
            view.messages.extend(row_messages)
        return view

    def _likert_question(self, node: Node, data_type: str | None, row_path: Path) -> str:
        key = self.text(node, "questions")
        assert node.component is not None
        raw = (node.component.definition.get("textResourceBindings") or {}).get("questions")
        if not isinstance(raw, str):
            return key or ""
        context = self.form.context_at(node)
        row_context = context.at(context.node)
        row_context.row_path = row_path
        return translate(row_context, raw)

    def _address(self, node: Node) -> View:
        view = self._base(node, "address")
        definition = node.component.definition if node.component else {}
        simplified = definition.get("simplified", True) is not False
        parts = ["address", "zipCode", "postPlace"] if simplified else [
            "address", "careOf", "zipCode", "postPlace", "houseNumber"]
        view.props["parts"] = [(part, *view.fields[part]) for part in parts if part in view.fields]
        return view

    def _file_upload(self, node: Node) -> View:
        component = node.component
        assert component is not None
        view = self._base(node, "file")
        data_type = self._attachment_type(component)
        view.props["data_type"] = data_type
        tags = self.options(node, "", multiple=False) if component.type == "FileUploadWithTag" else []
        labels = {option.value: option.label for option in tags}
        view.props["files"] = [{**element, "tag_labels": [labels.get(tag, tag) for tag in element.get("tags") or []]}
                               for element in self.form.context.data_elements
                               if element.get("dataType") == data_type]
        definition = component.definition
        view.props["accept"] = ",".join(filter(None, [str(definition.get("validFileEndings") or "")]))
        max_count = definition.get("maxNumberOfAttachments")
        view.props["full"] = isinstance(max_count, int) and max_count > 0 and len(view.props["files"]) >= max_count
        view.props["tags"] = tags
        view.props["max_size"] = definition.get("maxFileSizeInMB")
        view.messages.extend(self.messages_of(f"attachment::{data_type}"))
        return view

    def _attachment_type(self, component: Component) -> str:
        """The data type a file upload stores into: its own id, unless it binds a data type."""
        data_type = component.definition.get("dataTypeId") or component.definition.get("baseComponentId")
        return data_type if isinstance(data_type, str) else component.id

    def _attachment_list(self, node: Node) -> View:
        view = self._base(node, "attachments")
        definition = node.component.definition if node.component else {}
        wanted = definition.get("dataTypeIds")
        form_types = {data_type.get("id") for data_type in self.app.metadata.get("dataTypes") or []
                      if isinstance(data_type, dict) and data_type.get("appLogic")}
        view.props["files"] = [
            element for element in self.form.context.data_elements
            if (not wanted or element.get("dataType") in wanted) and element.get("dataType") not in form_types
        ]
        return view

    # -- options -----------------------------------------------------------------------------------------
    def options(self, node: Node, value: str, *, multiple: bool) -> list[Option]:
        component = node.component
        assert component is not None
        definition = component.definition
        raw: list[dict[str, Any]] = []
        if isinstance(definition.get("options"), list):
            raw = [o for o in definition["options"] if isinstance(o, dict)]
        elif isinstance(definition.get("optionsId"), str):
            raw = list(self.form.context.code_lists.get(definition["optionsId"], []))
        elif isinstance(definition.get("source"), dict):
            raw = self._source_options(node, definition["source"])
        chosen = {item.strip() for item in value.split(",")} if multiple else {value}
        filter_expression = definition.get("optionFilter")
        options = []
        context = self.form.context_at(node)
        for option in raw:
            option_value = to_string(option.get("value")) or ""
            if filter_expression is not None:
                filtering = context.at(context.node)
                filtering.value_arguments = {"data": option, "defaultKey": "value"}
                try:
                    if to_boolean(evaluate(filtering, filter_expression)) is False:
                        continue
                except ExpressionError:
                    pass
            label = option.get("label")
            description = option.get("description")
            options.append(Option(
                option_value,
                inline(translate(context, str(label)) if label is not None else option_value),
                option_value != "" and option_value in chosen,
                inline(translate(context, str(description))) if isinstance(description, str) else None,
            ))
        order = definition.get("sortOrder")
        if order in ("asc", "desc"):
            options.sort(key=lambda o: str(o.label).casefold(), reverse=order == "desc")
        return options

    def _source_options(self, node: Node, source: dict[str, Any]) -> list[dict[str, Any]]:
        """Options taken from a repeating group's rows (``source``: group, label, value)."""
        group, label, value = source.get("group"), source.get("label"), source.get("value")
        if not isinstance(group, str) or not isinstance(value, str):
            return []
        data_type = source.get("dataType") if isinstance(source.get("dataType"), str) else None
        try:
            model = self.form.context.data.get(data_type)
        except ExpressionError:
            return []
        group_path = parse_path(group)
        rows = lookup(model, group_path)
        options = []
        for index, _row in enumerate(rows if isinstance(rows, list) else []):
            row_path = (*group_path[:-1], (group_path[-1][0], index))
            option_value = lookup(model, transpose(parse_path(value), row_path))
            text = ""
            if isinstance(label, str):
                context = self.form.context.at(node)
                context.row_path = row_path
                text = translate(context, label)
            options.append({"value": option_value, "label": text or to_string(option_value) or ""})
        return options
