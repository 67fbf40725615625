"""An app's layout page as a tree of views the form templates draw: texts, values, options, messages, rows.

The layout engine (:mod:`felles.apps.layout`) answers what is hidden, required and read-only, row by row; this
module turns each visible component of a page into a :class:`View` (or a clear placeholder for a component
Felles does not draw), with its texts in the page's language (variables inside a repeating group resolve in
that row), the values of its bindings, its options and the validation messages of its fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from felles.apps.datapath import Path, lookup, parse_path, transpose
from felles.apps.definition import AppDefinition, LayoutSetDefinition
from felles.apps.display import display_value
from felles.apps.expressions.casting import to_boolean, to_string
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.functions import translate
from felles.apps.forms.values import field_name
from felles.apps.layout import Component, FormState, Node, binding_target

# Texts are Markdown with some HTML in them, as Altinn's frontend reads them (`<br>`, links, emphasis): the HTML is
# kept to a few harmless tags and attributes (see SafeHtml), whatever the text holds.
_markdown = MarkdownIt("zero", {"html": True}).enable(
    ["emphasis", "link", "newline", "list", "heading", "paragraph", "html_inline", "html_block"])
_inline = MarkdownIt("zero", {"html": True}).enable(["emphasis", "link", "newline", "html_inline"])
_ALLOWED_TAGS = frozenset({"a", "b", "br", "em", "h2", "h3", "h4", "h5", "h6", "i", "li", "ol", "p", "span", "strong",
                           "u", "ul"})
_VOID_TAGS = frozenset({"br"})
_SAFE_HREF = ("https://", "http://", "mailto:", "tel:", "/", "#")


class SafeHtml(HTMLParser):
    """Markup rebuilt from a few harmless tags; other tags are dropped (their text kept), attributes too, except a
    link's address when it is a web, mail or phone address or a local path. Text is escaped again."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            return
        if tag == "a":
            href = next((value for name, value in attrs if name == "href" and value), None)
            if href is None or not href.strip().lower().startswith(_SAFE_HREF) or href.strip().startswith("//"):
                return
            self.out.append(f'<a class="ds-link" href="{escape(href.strip())}">')
        else:
            self.out.append(f"<{tag}>")
        if tag not in _VOID_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                closing = self.open.pop()
                self.out.append(f"</{closing}>")
                if closing == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(str(escape(data)))

    @classmethod
    def clean(cls, html: str) -> Markup:
        parser = cls()
        parser.feed(html)
        parser.close()
        parser.out.extend(f"</{tag}>" for tag in reversed(parser.open))
        return Markup("".join(parser.out))  # noqa: S704 - rebuilt from escaped text and the tags above only

HEADING_LEVELS = {"L": 2, "M": 3, "S": 4, "XS": 5, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Components that only show something: they have no bindings to fill in.
INFORMATIONAL = frozenset({"Header", "Heading", "Paragraph", "Panel", "Alert", "Image", "Link", "Divider", "Text",
                           "Number", "Date", "AttachmentList", "Summary", "Summary2", "NavigationButtons",
                           "NavigationBar", "Button", "PrintButton", "InstantiationButton", "ActionButton",
                           "CustomButton", "InstanceInformation"})
CONTAINERS = frozenset({"Group", "ButtonGroup", "Accordion", "AccordionGroup", "Tabs", "Cards"})
FILE_TYPES = frozenset({"FileUpload", "FileUploadWithTag", "ImageUpload"})
MAX_DEFAULT_COLUMNS = 4


@dataclass(frozen=True)
class Message:
    """A validation message by a field: ``severity`` is error, warning, info or success."""

    text: str
    severity: str = "error"


@dataclass
class Option:
    value: str
    label: Markup
    selected: bool = False
    description: Markup | None = None


@dataclass
class SummaryEntry:
    """One line of a summary: a component's label and how its value reads, or a group of such lines."""

    id: str
    label: Markup | None
    value: str
    page: str
    kind: str = "value"  # value | group | rows
    children: list[SummaryEntry] = field(default_factory=list)
    rows: list[list[SummaryEntry]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


@dataclass
class Row:
    """One row of a repeating group (or a question of a Likert)."""

    index: int
    views: list[View]
    label: Markup | None = None
    answer_field: str | None = None  # Likert: the answer's field name
    options: list[Option] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)  # a repeating group's table columns, as they read
    key: str | None = None  # a repeating group's row as its edit button names it


@dataclass
class View:
    """What the templates need to draw one rendered component (``kind`` picks the macro)."""

    kind: str
    type: str
    id: str
    node: Node
    label: Markup | None = None
    description: Markup | None = None
    help: Markup | None = None
    name: str | None = None
    value: str = ""
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # binding -> (field name, value)
    options: list[Option] = field(default_factory=list)
    required: bool = False
    read_only: bool = False
    messages: list[Message] = field(default_factory=list)
    children: list[View] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    columns: list[Markup] = field(default_factory=list)
    entries: list[SummaryEntry] = field(default_factory=list)
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Message]:
        return [message for message in self.messages if message.severity == "error"]

    @property
    def described_by(self) -> str:
        """The ids of the texts that describe the field (aria-describedby): its description and messages."""
        ids = []
        if self.description:
            ids.append(f"{self.id}-description")
        if self.messages:
            ids.append(f"{self.id}-messages")
        return " ".join(ids)


@lru_cache(maxsize=8192)
def markdown(text: str | None) -> Markup:
    """A text as Markdown (texts repeat row after row: each is rendered once)."""
    return SafeHtml.clean(_markdown.render(text)) if text else Markup("")


@lru_cache(maxsize=8192)
def inline(text: str | None) -> Markup:
    """A text as Markdown within a line (a label, a heading)."""
    return SafeHtml.clean(_inline.renderInline(text)) if text else Markup("")


def form_state(app: AppDefinition, layout_set: LayoutSetDefinition, models: dict[str, Any], language: str, *,
               instance: dict[str, Any] | None = None, data_elements: Iterable[dict[str, Any]] = ()) -> FormState:
    """The layout set filled with the instance's form data (by data type), evaluating in ``language``."""
    assert layout_set.layout_set is not None
    texts = app.texts.get(language) or app.texts.get("nb") or next(iter(app.texts.values()), {})
    default = layout_set.data_type or next(iter(models), "default")
    context = ExpressionContext(
        data=DataModels(models, default_data_type=default),
        instance=instance,
        process=(instance or {}).get("process"),
        frontend_settings=app.frontend_settings,
        text_resources=texts,
        language=language,
        code_lists=app.options,
        data_elements=list(data_elements),
    )
    return FormState(layout_set.layout_set, context)


def visible_pages(form: FormState, layout_set: LayoutSetDefinition) -> list[str]:
    """The pages in the order of the layout settings, without those hidden by expression."""
    pages = [page for page in layout_set.page_order if page in form.layout.pages]
    visible = []
    for page in pages:
        try:
            hidden = form.is_page_hidden(page)
        except ExpressionError:
            hidden = False  # Altinn's frontend shows a page whose expression fails
        if not hidden:
            visible.append(page)
    return visible


class PageRenderer:
    """Builds the views of one page of a form (and the summaries other pages ask for)."""

    def __init__(self, app: AppDefinition, layout_set: LayoutSetDefinition, form: FormState, page: str, *,
                 messages: dict[str, list[Message]] | None = None, pages: list[str] | None = None,
                 read_only: bool = False, typed: dict[str, str] | None = None,
                 editing: frozenset[str] = frozenset(),
                 form_of: Callable[[LayoutSetDefinition], FormState] | None = None) -> None:
        self.app = app
        self.layout_set = layout_set
        self.form = form
        self.page = page
        self.messages = messages or {}
        self.pages = pages if pages is not None else visible_pages(form, layout_set)
        self.read_only = read_only  # the whole task is read-only (the person may not write)
        self.typed = typed or {}  # text typed into fields that could not be stored (not a number …), shown again
        self.editing = editing  # the repeating-group rows open for editing, by their field name ("hunder[2]")
        # another layout set filled with the instance's data (a Summary2 of another task); None: not available
        self.form_of = form_of
        self.default_data_type = form.context.data.default_data_type
        self._builders: dict[str, Callable[[Node], View]] = {
            "Input": self._input, "TextArea": self._textarea, "Checkboxes": self._choices,
            "RadioButtons": self._choices, "Dropdown": self._dropdown, "MultipleSelect": self._dropdown,
            "Datepicker": self._datepicker, "Header": self._heading, "Heading": self._heading,
            "Paragraph": self._paragraph, "Panel": self._panel, "Alert": self._panel, "Image": self._image,
            "Link": self._link, "Divider": self._simple, "Group": self._group, "RepeatingGroup": self._repeating,
            "Likert": self._likert, "Address": self._address, "FileUpload": self._file_upload,
            "FileUploadWithTag": self._file_upload, "ImageUpload": self._file_upload,
            "AttachmentList": self._attachment_list, "Grid": self._grid, "Accordion": self._group,
            "AccordionGroup": self._group, "ButtonGroup": self._group, "Tabs": self._group, "Cards": self._group,
            "Summary": self._summary, "Summary2": self._summary, "NavigationButtons": self._navigation_buttons,
            "NavigationBar": self._navigation_bar, "Button": self._button, "CustomButton": self._button,
            "ActionButton": self._button, "InstantiationButton": self._button, "PrintButton": self._button,
            "Text": self._display, "Number": self._display, "Date": self._display,
        }

    # -- texts -----------------------------------------------------------------------------------------
    def text(self, node: Node, key: str) -> str | None:
        """A component's text resource binding ``key`` (an expression or a text id) in the page's language."""
        assert node.component is not None
        bindings = node.component.definition.get("textResourceBindings")
        raw = bindings.get(key) if isinstance(bindings, dict) else None
        if raw is None:
            return None
        context = self.form.context_at(node)
        try:
            if isinstance(raw, list | dict):
                return to_string(_evaluate(context, raw))
            return translate(context, str(raw))
        except ExpressionError:
            return None

    def resource(self, node: Node | None, key: str) -> str:
        """A text resource by id (with its variables resolved in the node's row), else the id itself."""
        context = self.form.context_at(node) if node is not None else self.form.context
        return translate(context, key)

    # -- the page ----------------------------------------------------------------------------------------
    def views(self) -> list[View]:
        page = self.form.layout.pages.get(self.page)
        if page is None:
            return []
        return self._views_of(Node(component, self.page) for component in page.top_level)

    def _views_of(self, nodes: Iterable[Node]) -> list[View]:
        views = []
        for node in nodes:
            if self._hidden(node):
                continue
            views.append(self.view(node))
        return views

    def _hidden(self, node: Node) -> bool:
        try:
            return self.form.is_hidden(node)
        except ExpressionError:
            return False

    def view(self, node: Node) -> View:
        component = node.component
        assert component is not None
        builder = self._builders.get(component.type)
        if builder is None:
            view = self._base(node, "placeholder")
            view.props["reason"] = "custom" if component.type == "Custom" else "unknown"
            return view
        return builder(node)

    def _base(self, node: Node, kind: str) -> View:
        component = node.component
        assert component is not None
        view = View(kind, component.type, "c-" + node.indexed_id, node)
        view.label = inline(self.text(node, "title"))
        view.description = markdown(self.text(node, "description")) or None
        view.help = markdown(self.text(node, "help")) or None
        if component.type not in INFORMATIONAL and component.type not in CONTAINERS:
            try:
                view.required = self.form.is_required(node)
                view.read_only = self.read_only or self.form.is_read_only(node)
            except ExpressionError:
                pass
            for binding in component.bindings:
                resolved = self._field(node, binding)
                if resolved is None:
                    continue
                name, value = resolved
                view.fields[binding] = (name, value)
                view.messages.extend(self.messages.get(name, ()))
            simple = view.fields.get("simpleBinding")
            if simple is not None:
                view.name, view.value = simple
        return view

    def _field(self, node: Node, binding: str) -> tuple[str, str] | None:
        """(HTML field name, current value as text) of one of a component's bindings."""
        assert node.component is not None
        target = binding_target(node.component.bindings.get(binding))
        if target is None:
            return None
        data_type, path_text = target
        path = transpose(parse_path(path_text), self.form.context_path(node))
        try:
            value = self.form.binding_value(node, binding)
        except ExpressionError:  # a model this instance does not have: the field shows empty
            value = None
        if isinstance(value, list):
            text = ",".join(to_string(item) or "" for item in value)
        else:
            text = to_string(value) or ""
        name = field_name(data_type, path, self.default_data_type)
        return name, self.typed.get(name, text)

    # -- components --------------------------------------------------------------------------------------
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

    def _heading(self, node: Node) -> View:
        view = self._base(node, "heading")
        size = node.component.definition.get("size") if node.component else None
        level = node.component.definition.get("level") if node.component else None
        view.props["level"] = level if isinstance(level, int) and 1 < level < 7 else HEADING_LEVELS.get(str(size), 2)
        return view

    def _paragraph(self, node: Node) -> View:
        view = self._base(node, "paragraph")
        view.props["body"] = markdown(self.text(node, "title"))
        return view

    def _panel(self, node: Node) -> View:
        view = self._base(node, "panel")
        definition = node.component.definition if node.component else {}
        colour = str(definition.get("severity") or definition.get("variant") or "info")
        view.props["colour"] = {"error": "danger", "warning": "warning", "success": "success"}.get(colour, "info")
        view.props["body"] = markdown(self.text(node, "body"))
        return view

    def _simple(self, node: Node) -> View:
        return self._base(node, node.component.type.lower() if node.component else "placeholder")

    def _image(self, node: Node) -> View:
        view = self._base(node, "image")
        image = node.component.definition.get("image") if node.component else None
        sources = image.get("src") if isinstance(image, dict) else None
        source = None
        if isinstance(sources, dict):
            source = sources.get(self.form.context.language) or sources.get("nb") or next(iter(sources.values()), None)
        view.props["src"] = source if isinstance(source, str) and _is_local_or_relative(source) else None
        view.props["alt"] = self.text(node, "altTextImg") or ""
        width = image.get("width") if isinstance(image, dict) else None
        view.props["width"] = width if isinstance(width, str) else None
        return view

    def _link(self, node: Node) -> View:
        view = self._base(node, "link")
        target = self.text(node, "target") or self.text(node, "download")
        view.props["href"] = target if target and _is_safe_href(target) else None
        view.props["button"] = (node.component.definition.get("style") if node.component else None) in (
            "primary", "secondary")
        return view

    def _display(self, node: Node) -> View:
        view = self._base(node, "display")
        try:
            view.value = display_value(self.form, node) or ""
        except ExpressionError:
            view.value = ""
        return view

    def _group(self, node: Node) -> View:
        component = node.component
        assert component is not None
        if component.repeating:
            return self._repeating(node)
        kind = {"Accordion": "accordion", "ButtonGroup": "buttons"}.get(component.type, "group")
        view = self._base(node, kind)
        view.props["fieldset"] = bool(view.label) and component.type == "Group"
        children = [Node(child, node.page, node.rows) for child in component.children]
        view.children = self._views_of(children)
        return view

    def _repeating(self, node: Node) -> View:
        """A repeating group as Altinn shows it: a table of its rows, the rows being edited opened below their
        line (a row with a message opens by itself; ``edit.mode`` showAll opens every row)."""
        component = node.component
        assert component is not None
        view = self._base(node, "repeating")
        view.props["add_label"] = self.text(node, "add_button_full") or self.text(node, "add_button")
        count = self.form.row_count(component, node.rows)
        definition = component.definition
        max_count = definition.get("maxCount")
        edit = definition.get("edit") if isinstance(definition.get("edit"), dict) else {}
        view.props["can_add"] = not self.read_only and edit.get("addButton") is not False and (
            not isinstance(max_count, int) or max_count <= 1 or count < max_count)
        view.props["can_delete"] = not self.read_only and edit.get("deleteButton") is not False
        mode = edit.get("mode")
        group_field = self._group_field(node)
        view.props["group_path"] = group_field
        columns = self._columns(component)
        view.columns = [inline(self._column_title(child)) for child in columns]
        for row in range(count):
            row_node = Node(component, node.page, (*node.rows, row), in_row=True)
            if self._hidden(row_node):
                continue
            key = f"{group_field}[{row}]" if group_field else f"{node.indexed_id}[{row}]"
            opened = mode != "onlyTable" and (mode == "showAll" or key in self.editing or self._has_messages(key))
            views = []
            if opened:
                views = self._views_of(Node(child, node.page, (*node.rows, row)) for child in component.children)
            cells = []
            for child in columns:
                child_node = Node(child, node.page, (*node.rows, row))
                try:
                    cells.append("" if self._hidden(child_node) else display_value(self.form, child_node) or "")
                except ExpressionError:
                    cells.append("")
            entry = Row(row, views)
            entry.label = inline(self.text(row_node, "title") or "")
            entry.cells = cells
            entry.key = key
            view.rows.append(entry)
        return view

    def _columns(self, component: Component) -> list[Component]:
        """The table's columns: the components named in ``tableHeaders`` (anywhere in the group), else the first
        components in the row that hold a value."""
        header_ids = component.definition.get("tableHeaders")
        if isinstance(header_ids, list):
            found = [self.form.layout.components.get(i) for i in header_ids if isinstance(i, str)]
            return [c for c in found if c is not None]
        found: list[Component] = []
        stack = list(reversed(component.children))
        while stack:  # depth first, into plain groups, not into nested repeating groups
            child = stack.pop()
            if "simpleBinding" in child.bindings:
                found.append(child)
            elif not child.repeating:
                stack.extend(reversed(child.children))
        return found[:MAX_DEFAULT_COLUMNS]

    def _has_messages(self, prefix: str) -> bool:
        return any(name.startswith(prefix + ".") or name.startswith(prefix + "[") for name in self.messages)

    def _column_title(self, component: Component) -> str:
        bindings = component.definition.get("textResourceBindings")
        key = (bindings or {}).get("tableTitle") or (bindings or {}).get("title") if isinstance(bindings, dict) \
            else None
        return self.resource(None, key) if isinstance(key, str) else component.id

    def _group_field(self, node: Node) -> str | None:
        """The field name of a repeating group's list (what add and delete act on)."""
        component = node.component
        assert component is not None
        if component.group_path is None:
            return None
        path = transpose(component.group_path, self.form.context_path(node))
        return field_name(component.group_data_type, path, self.default_data_type)

    def _likert(self, node: Node) -> View:
        component = node.component
        assert component is not None
        view = self._base(node, "likert")
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
        start, stop = _likert_window(component.definition.get("filter"), len(rows) if isinstance(rows, list) else 0)
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
            view.rows.append(Row(index, [], inline(label), name, options, list(self.messages.get(name, ()))))
            view.messages.extend(self.messages.get(name, ()))
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
        view.props["files"] = [element for element in self.form.context.data_elements
                               if element.get("dataType") == data_type]
        definition = component.definition
        view.props["accept"] = ",".join(filter(None, [str(definition.get("validFileEndings") or "")]))
        max_count = definition.get("maxNumberOfAttachments")
        view.props["full"] = isinstance(max_count, int) and max_count > 0 and len(view.props["files"]) >= max_count
        view.props["tags"] = self.options(node, "", multiple=False) if component.type == "FileUploadWithTag" else []
        view.props["max_size"] = definition.get("maxFileSizeInMB")
        view.messages.extend(self.messages.get(f"attachment::{data_type}", ()))
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

    def _grid(self, node: Node) -> View:
        component = node.component
        assert component is not None
        view = self._base(node, "grid")
        for row in component.definition.get("rows") or []:
            if not isinstance(row, dict):
                continue
            cells = [self._grid_cell(node, cell) for cell in row.get("cells") or []]
            view.props.setdefault("cells", []).append((bool(row.get("header")), cells))
        return view

    def _grid_cell(self, node: Node, cell: Any) -> View | Markup:
        if not isinstance(cell, dict):
            return Markup("")
        if isinstance(cell.get("component"), str):
            target = self.form.layout.components.get(cell["component"])
            if target is None:
                return Markup("")
            child = Node(target, node.page, node.rows)
            return Markup("") if self._hidden(child) else self.view(child)
        if isinstance(cell.get("text"), str):
            return inline(self.resource(node, cell["text"]))
        if isinstance(cell.get("labelFrom"), str):
            target = self.form.layout.components.get(cell["labelFrom"])
            if target is not None:
                return inline(self.text(Node(target, node.page, node.rows), "title"))
        return Markup("")

    def _navigation_buttons(self, node: Node) -> View:
        view = self._base(node, "navigation")
        position = self.pages.index(self.page) if self.page in self.pages else -1
        definition = node.component.definition if node.component else {}
        view.props["previous"] = (
            self.pages[position - 1] if position > 0 and definition.get("showBackButton", True) is not False else None)
        view.props["next"] = self.pages[position + 1] if 0 <= position < len(self.pages) - 1 else None
        view.props["next_label"] = self.text(node, "next")
        view.props["back_label"] = self.text(node, "back")
        return view

    def _navigation_bar(self, node: Node) -> View:
        view = self._base(node, "navbar")
        view.props["pages"] = [(page, self.resource(None, page), page == self.page) for page in self.pages]
        return view

    def _button(self, node: Node) -> View:
        component = node.component
        assert component is not None
        view = self._base(node, "button")
        definition = component.definition
        kind = component.type
        if kind == "PrintButton":
            view.props["action"] = None
            view.props["print"] = True
        elif kind == "InstantiationButton":
            view.props["action"] = "instantiate"
        elif kind == "ActionButton":
            view.props["action"] = f"process:{definition.get('action') or 'next'}"
        elif kind == "CustomButton":
            view.props["action"] = _custom_action(definition.get("actions"))
        elif definition.get("mode") == "go-to-task" and isinstance(definition.get("taskId"), str):
            view.props["action"] = "process:next"
        elif definition.get("mode") in ("save",):
            view.props["action"] = "save"
        else:
            view.props["action"] = "submit"  # a Button submits the task (app-frontend's default)
        view.props["secondary"] = definition.get("buttonStyle") == "secondary"
        if not view.label:
            fallback = {"PrintButton": "forms.print", "InstantiationButton": "forms.start_new"}.get(kind)
            view.props["label_key"] = fallback or "forms.submit"
        return view

    def _summary(self, node: Node) -> View:
        view = self._base(node, "summary")
        view.entries = self.summary_targets(node)
        return view

    # -- summaries ---------------------------------------------------------------------------------------
    def summary_targets(self, node: Node) -> list[SummaryEntry]:
        prefix = "c-" + node.indexed_id
        component = node.component
        assert component is not None
        definition = component.definition
        if component.type == "Summary":
            reference = definition.get("componentRef")
            target = self.form.layout.components.get(reference) if isinstance(reference, str) else None
            if target is None:
                return []
            return self._summaries([self._resolve_target(target, node)], prefix)
        target_spec = definition.get("target") if isinstance(definition.get("target"), dict) else {}
        task = target_spec.get("taskId")
        if isinstance(task, str) and task not in self.layout_set.tasks:
            return self._other_task_summary(node, task, target_spec)
        kind, target_id = target_spec.get("type", "component"), target_spec.get("id")
        if target_spec and kind == "component" and isinstance(target_id, str):
            target = self.form.layout.components.get(target_id)
            return [] if target is None else self._summaries([self._resolve_target(target, node)], prefix)
        pages = [target_id] if kind == "page" and isinstance(target_id, str) else [
            page for page in self.pages if page != self.page]
        entries = []
        for page in pages:
            layout_page = self.form.layout.pages.get(page)
            if layout_page is None or self._hidden(Node(None, page)):
                continue
            entries.append(SummaryEntry(f"{prefix}-{page}", inline(self.resource(None, page)), "", page, "group",
                                        self._summaries((Node(c, page) for c in layout_page.top_level), prefix)))
        return entries

    def _other_task_summary(self, node: Node, task: str, target: dict[str, Any]) -> list[SummaryEntry]:
        """A Summary2 of another task's pages (a confirmation step's summary of the form): drawn from that task's
        layout set with the same data, without buttons to change it from here."""
        layout_set = self.app.layout_set_for_task(task)
        if layout_set is None or layout_set.layout_set is None or self.form_of is None:
            return []
        form = self.form_of(layout_set)
        summary = Component(f"{node.indexed_id}-{task}", "Summary2", "",
                            {"type": "Summary2", "target": {k: v for k, v in target.items() if k != "taskId"}})
        other = PageRenderer(self.app, layout_set, form, "", pages=visible_pages(form, layout_set), read_only=True)
        entries = other.summary_targets(Node(summary, ""))

        def without_pages(items: list[SummaryEntry]) -> None:
            for entry in items:
                entry.page = ""  # the page is another task's: nothing to change from here
                without_pages(entry.children)
                for row in entry.rows:
                    without_pages(row)

        without_pages(entries)
        return entries

    def _resolve_target(self, target: Component, origin: Node) -> Node:
        try:
            return self.form.find(target.id, origin)
        except ExpressionError:
            return Node(target, target.page)

    def _summaries(self, nodes: Iterable[Node], prefix: str) -> list[SummaryEntry]:
        """The summary lines of ``nodes``; ids start with ``prefix`` (the summary's own id: a page may have
        several summaries of the same component)."""
        entries = []
        for node in nodes:
            component = node.component
            assert component is not None
            if component.type in INFORMATIONAL or component.type in ("Summary", "Summary2") or self._hidden(node):
                continue
            label = inline(self.text(node, "summaryTitle") or self.text(node, "title"))
            entry_id = f"{prefix}-{node.indexed_id}"
            if component.repeating:
                rows = []
                for row in range(self.form.row_count(component, node.rows)):
                    row_node = Node(component, node.page, (*node.rows, row), in_row=True)
                    if self._hidden(row_node):
                        continue
                    rows.append(self._summaries((Node(c, node.page, (*node.rows, row)) for c in component.children),
                                                prefix))
                entries.append(SummaryEntry(entry_id, label, "", node.page, "rows", rows=rows))
            elif component.children or component.type == "Grid":
                children = component.children or [
                    c for c in (self.form.layout.components.get(i) for i in _grid_ids(component)) if c]
                entries.append(SummaryEntry(entry_id, label, "", node.page, "group",
                                            self._summaries((Node(c, node.page, node.rows) for c in children), prefix)))
            elif component.type == "Likert":
                likert = self._likert(node)
                entries.append(SummaryEntry(entry_id, label, "", node.page, "group", [
                    SummaryEntry(f"{entry_id}-{row.index}", row.label, next(
                        (str(o.label) for o in row.options if o.selected), ""), node.page) for row in likert.rows]))
            else:
                try:
                    value = display_value(self.form, node) or ""
                except ExpressionError:
                    value = ""
                messages = []
                for binding in component.bindings:
                    resolved = self._field(node, binding)
                    if resolved is not None:
                        messages.extend(self.messages.get(resolved[0], ()))
                entries.append(SummaryEntry(entry_id, label, value, node.page, messages=messages))
        return entries

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
                    if to_boolean(_evaluate(filtering, filter_expression)) is False:
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
                    continue
                found.extend((_first_input(view) or target, m.text) for m in view.errors)
                walk(view.children)
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


def _evaluate(context: ExpressionContext, raw: Any) -> Any:
    from felles.apps.expressions.evaluator import compile_cached

    return compile_cached(raw)(context)


def _likert_window(filters: Any, count: int) -> tuple[int, int]:
    start, stop = 0, count
    for item in filters if isinstance(filters, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            number = int(str(item.get("value")))
        except ValueError:
            continue
        if item.get("key") == "start":
            start = max(0, number)
        elif item.get("key") == "stop":
            stop = min(count, number)
    return start, max(start, stop)


def _grid_ids(component: Component) -> list[str]:
    ids = []
    for row in component.definition.get("rows") or []:
        for cell in (row or {}).get("cells") or [] if isinstance(row, dict) else []:
            if isinstance(cell, dict) and isinstance(cell.get("component"), str):
                ids.append(cell["component"])
    return ids


def _custom_action(actions: Any) -> str | None:
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict):
            continue
        if action.get("id") == "navigateToPage" and isinstance((action.get("metadata") or {}).get("page"), str):
            return "page:" + action["metadata"]["page"]
        if action.get("id") in ("nextPage", "previousPage"):
            return "next" if action["id"] == "nextPage" else "previous"
        if action.get("type") == "ServerAction" and isinstance(action.get("id"), str):
            return "server:" + action["id"]
    return None


def _is_local_or_relative(source: str) -> bool:
    # The page's Content-Security-Policy loads nothing from other hosts: an image elsewhere would not show.
    return not source.startswith(("//", "http:", "https:", "data:", "javascript:"))


def _is_safe_href(href: str) -> bool:
    return href.startswith(("https://", "http://", "/", "mailto:", "tel:")) and not href.startswith("//")


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

