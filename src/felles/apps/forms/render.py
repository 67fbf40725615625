"""An app's layout page as a tree of views the form templates draw: texts, values, options, messages, rows.

The layout engine (:mod:`felles.apps.layout`) answers what is hidden, required and read-only, row by row; this
module turns each visible component of a page into a :class:`View` (or a clear placeholder for a component
Felles does not draw), with its texts in the page's language (variables inside a repeating group resolve in
that row), the values of its bindings, its options and the validation messages of its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from felles.apps.datapath import parse_path
from felles.apps.forms.containers import ContainerComponents
from felles.apps.forms.content import ContentComponents
from felles.apps.forms.summaries import SummaryComponents
from felles.apps.forms.values import field_name
from felles.apps.forms.views import Message, View
from felles.apps.layout import Node


class PageRenderer(SummaryComponents, ContentComponents, ContainerComponents):
    """Builds the views of one page of a form (and the summaries other pages ask for)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._builders: dict[str, Callable[[Node], View]] = {
            "Input": self._input, "TextArea": self._textarea, "Checkboxes": self._choices,
            "RadioButtons": self._choices, "Dropdown": self._dropdown, "MultipleSelect": self._dropdown,
            "Datepicker": self._datepicker, "Header": self._heading, "Heading": self._heading,
            "Paragraph": self._paragraph, "Panel": self._panel, "Alert": self._panel, "Image": self._image,
            "Link": self._link, "Divider": self._simple, "Group": self._group, "RepeatingGroup": self._repeating,
            "Likert": self._likert, "Address": self._address, "FileUpload": self._file_upload,
            "FileUploadWithTag": self._file_upload, "ImageUpload": self._file_upload,
            "AttachmentList": self._attachment_list, "Grid": self._grid, "Accordion": self._group,
            "AccordionGroup": self._group, "ButtonGroup": self._group, "Tabs": self._tabs, "Cards": self._cards,
            "Subform": self._subform,
            "Summary": self._summary, "Summary2": self._summary, "NavigationButtons": self._navigation_buttons,
            "NavigationBar": self._navigation_bar, "Button": self._button, "CustomButton": self._button,
            "ActionButton": self._button, "InstantiationButton": self._button, "PrintButton": self._button,
            "Text": self._display, "Number": self._display, "Date": self._display,
        }

    # -- the error summary ---------------------------------------------------------------------------------
    def error_links(self, views: list[View]) -> list[tuple[str, str]]:
        """(field id, message) for every error on the page, in page order, for the error summary."""
        found: list[tuple[str, str]] = []

        def walk(items: Iterable[View]) -> None:
            for view in items:
                target = view.id
                if view.kind == "likert":
                    for row in view.rows:
                        found.extend((f"{view.id}-{row.index}", m.text) for m in row.messages if m.severity == "error")
                    found.extend((view.id, m.text) for m in view.props["own_messages"] if m.severity == "error")
                    continue
                found.extend((_first_input(view) or target, m.text) for m in view.errors)
                walk(view.children)
                for section in view.sections:
                    walk(section.views)
                for row in view.rows:
                    walk(row.views)
                for _header, cells in view.props.get("cells", []):
                    walk(c for c in cells if isinstance(c, View))

        walk(views)
        return found


def _first_input(view: View) -> str | None:
    if view.kind in ("checkboxes", "radios"):
        return f"{view.id}-0" if view.options else None
    if view.kind == "address":
        return f"{view.id}-address"
    if view.kind == "file":
        return f"{view.id}-file"
    return None


def issue_messages(issues: Iterable[dict[str, Any]], default_data_type: str, element_types: dict[str, str],
                   describe: Callable[[dict[str, Any]], str]) -> dict[str, list[Message]]:
    """Validation issues (app-lib's ValidationIssue JSON) by the field name they belong to.

    ``element_types`` maps a data element id to its data type (issues name the element, fields the path);
    ``describe`` turns an issue into the text to show. Issues on an attachment type (no field) are kept under
    ``attachment::<dataType>``.
    """
    severities = {1: "error", 2: "warning", 3: "info", 5: "success"}
    found: dict[str, list[Message]] = {}
    for issue in issues:
        severity = severities.get(int(issue.get("severity") or 1))
        if severity is None:
            continue
        data_type = element_types.get(str(issue.get("dataElementId") or ""), default_data_type)
        path = issue.get("field")
        if isinstance(path, str) and path:
            name = field_name(data_type, parse_path(path), default_data_type)
        else:
            name = f"attachment::{data_type}"
        found.setdefault(name, []).append(Message(describe(issue), severity))
    return found
