"""Summaries: Summary and Summary2 of a component, a page, the whole layout set or another task's form, as lines
of labels and values (rows of a repeating group, groups of lines)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from felles.apps.display import display_value
from felles.apps.expressions.errors import ExpressionError
from felles.apps.forms.component_base import visible_pages
from felles.apps.forms.containers import grid_ids
from felles.apps.forms.fields import FieldComponents
from felles.apps.forms.views import INFORMATIONAL, SummaryEntry, View, inline
from felles.apps.layout import Component, Node


class SummaryComponents(FieldComponents):
    """Builders of Summary and Summary2 (a Likert's lines come from the Likert's own view)."""

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
        other = type(self)(self.app, layout_set, form, "", pages=visible_pages(form, layout_set), read_only=True)
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
                    c for c in (self.form.layout.components.get(i) for i in grid_ids(component)) if c]
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
