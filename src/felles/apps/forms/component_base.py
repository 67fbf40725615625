"""The base of the component renderers: the form state of a layout set, its visible pages, and what every
component's view starts from (texts, bound fields, messages)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from typing import Any

from felles.apps.datapath import parse_path, transpose
from felles.apps.definition import AppDefinition, LayoutSetDefinition
from felles.apps.expressions.casting import to_string
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.functions import translate
from felles.apps.forms.values import field_name
from felles.apps.forms.views import CONTAINERS, INFORMATIONAL, Message, View, inline, markdown
from felles.apps.layout import FormState, Node, binding_target


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


class ComponentBase:
    """What every component family builds on: the page being drawn, a component's texts in the page's language,
    its bound fields with their values and messages, and the view of a component by its type (``_builders``, which
    :class:`felles.apps.forms.render.PageRenderer` fills with each family's builders)."""

    _builders: dict[str, Callable[[Node], View]]

    def __init__(self, app: AppDefinition, layout_set: LayoutSetDefinition, form: FormState, page: str, *,
                 messages: dict[str, list[Message]] | None = None, pages: list[str] | None = None,
                 read_only: bool = False, typed: dict[str, str] | None = None,
                 editing: frozenset[str] = frozenset(), open_tabs: dict[str, str] | None = None,
                 subform_rows: dict[str, list[tuple[uuid.UUID, dict[str, Any]]]] | None = None,
                 form_of: Callable[[LayoutSetDefinition], FormState] | None = None) -> None:
        self.app = app
        self.layout_set = layout_set
        self.form = form
        self.page = page
        self.messages = messages or {}
        self.drawn_messages: set[str] = set()  # the fields whose messages a view shows (see undrawn_errors)
        self.pages = pages if pages is not None else visible_pages(form, layout_set)
        self.read_only = read_only  # the whole task is read-only (the person may not write)
        self.typed = typed or {}  # text typed into fields that could not be stored (not a number …), shown again
        self.editing = editing  # the repeating-group rows open for editing, by their field name ("hunder[2]")
        self.open_tabs = open_tabs or {}  # the tab chosen in each Tabs, by the Tabs' view id
        self.subform_rows = subform_rows or {}  # the data elements filled in through subforms, by data type
        # another layout set filled with the instance's data (a Summary2 of another task); None: not available
        self.form_of = form_of
        self.default_data_type = form.context.data.default_data_type

    def messages_of(self, name: str) -> list[Message]:
        """The messages of a field, for the view that shows them by the field."""
        found = self.messages.get(name)
        if not found:
            return []
        self.drawn_messages.add(name)
        return list(found)

    def undrawn_errors(self, leave_out: Collection[str] = ()) -> list[str]:
        """The errors no view on the page shows by its field (a field the page does not draw, a Likert without
        questions …), so the error summary can say them still; those in ``leave_out`` are linked elsewhere."""
        return [message.text for name, found in self.messages.items()
                if name not in self.drawn_messages and name not in leave_out
                for message in found if message.severity == "error"]

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
                return to_string(evaluate(context, raw))
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
                view.messages.extend(self.messages_of(name))
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


def evaluate(context: ExpressionContext, raw: Any) -> Any:
    from felles.apps.expressions.evaluator import compile_cached

    return compile_cached(raw)(context)
