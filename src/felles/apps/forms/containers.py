"""Components that hold others: groups, accordions, tabs, cards, repeating groups (a table of rows, rows opened for
editing), subforms (a table of data elements, each filled in on the subform's pages), and grids."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from felles.apps.datapath import lookup, parse_path, transpose
from felles.apps.display import display_value
from felles.apps.expressions.casting import to_string
from felles.apps.expressions.errors import ExpressionError
from felles.apps.forms.component_base import ComponentBase
from felles.apps.forms.values import field_name
from felles.apps.forms.views import MAX_DEFAULT_COLUMNS, Row, Section, View, inline, markdown
from felles.apps.layout import Component, Node


class ContainerComponents(ComponentBase):
    """Builders of Group, Accordion, AccordionGroup, ButtonGroup, Tabs, Cards, RepeatingGroup, Subform and Grid."""

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

    def _tabs(self, node: Node) -> View:
        """Tabs as app-frontend draws them: one tab shown at a time, ``defaultTab`` first, or the one the person
        chose (the page carries it from save to save)."""
        component = node.component
        assert component is not None
        view = self._base(node, "tabs")
        tabs = [tab for tab in component.definition.get("tabs") or []
                if isinstance(tab, dict) and isinstance(tab.get("id"), str)]
        ids = [tab["id"] for tab in tabs]
        chosen = self.open_tabs.get(view.id)
        if chosen not in ids:
            default = component.definition.get("defaultTab")
            chosen = default if default in ids else (ids[0] if ids else None)
        for tab in tabs:
            title = tab.get("title")
            view.sections.append(Section(
                tab["id"], inline(self.resource(node, title) if isinstance(title, str) else tab["id"]),
                self._section_views(node, tab.get("children")), selected=tab["id"] == chosen))
        return view

    def _cards(self, node: Node) -> View:
        """Cards: each a Designsystemet card with its title, description, media and components."""
        component = node.component
        assert component is not None
        view = self._base(node, "cards")
        view.props["tinted"] = component.definition.get("color") == "subtle"
        view.props["media_last"] = component.definition.get("mediaPosition") == "bottom"
        for index, card in enumerate(component.definition.get("cards") or []):
            if not isinstance(card, dict):
                continue
            media = self._section_views(node, [card["media"]] if isinstance(card.get("media"), str) else [])
            texts = {key: self.resource(node, card[key]) if isinstance(card.get(key), str) and card[key] else ""
                     for key in ("title", "description", "footer")}
            view.sections.append(Section(
                f"{view.id}-{index}", inline(texts["title"]), self._section_views(node, card.get("children")),
                description=markdown(texts["description"]) or None, footer=markdown(texts["footer"]) or None,
                media=media[0] if media else None))
        return view

    def _section_views(self, node: Node, ids: Any) -> list[View]:
        """The views of the components a tab or card names, in its row."""
        found = [self.form.layout.components.get(i) for i in ids if isinstance(i, str)] if isinstance(ids, list) \
            else []
        return self._views_of(Node(child, node.page, node.rows) for child in found if child is not None)

    def _subform(self, node: Node) -> View:
        """A Subform as app-frontend draws it: a table of the data elements of its layout set's data type (the
        columns' ``cellContent.query`` read in each element's data, else their ``default`` text), each opened on
        the subform's pages to change it, with buttons to add and delete elements."""
        component = node.component
        assert component is not None
        definition = component.definition
        view = self._base(node, "subform")
        layout_set = self.app.layout_sets.get(str(definition.get("layoutSet")))
        data_type = layout_set.data_type if layout_set is not None else None
        columns = [column for column in definition.get("tableColumns") or [] if isinstance(column, dict)]
        view.columns = [inline(self.resource(node, column["headerContent"]))
                        if isinstance(column.get("headerContent"), str) else Markup("") for column in columns]
        for index, (element_id, model) in enumerate(self.subform_rows.get(data_type or "", [])):
            cells = []
            for column in columns:
                content = column.get("cellContent") if isinstance(column.get("cellContent"), dict) else {}
                query = content.get("query")
                text = to_string(lookup(model, parse_path(query))) or "" if isinstance(query, str) else ""
                if not text and isinstance(content.get("default"), str):
                    text = self.resource(node, content["default"])
                cells.append(text)
            view.rows.append(Row(index, [], cells=cells, key=str(element_id)))
        view.props["first_page"] = layout_set.page_order[0] if layout_set and layout_set.page_order else None
        view.props["can_add"] = not self.read_only and data_type is not None and \
            definition.get("showAddButton") is not False and view.props["first_page"] is not None
        view.props["can_delete"] = not self.read_only and definition.get("showDeleteButton") is not False
        view.props["add_label"] = self.text(node, "addButton")
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


def grid_ids(component: Component) -> list[str]:
    ids = []
    for row in component.definition.get("rows") or []:
        for cell in (row or {}).get("cells") or [] if isinstance(row, dict) else []:
            if isinstance(cell, dict) and isinstance(cell.get("component"), str):
                ids.append(cell["component"])
    return ids
