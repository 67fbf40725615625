"""Layout model: pages of components, containers and repeating groups, and the state of a form.

A :class:`LayoutSet` is the static definition (one per layout set / task). A :class:`FormState` combines it
with form data and an :class:`ExpressionContext`: it expands repeating groups into rows, answers which
components are hidden, required or read-only, and resolves ``["component", id]`` lookups the way Altinn does
(the same row first, then outwards through the enclosing repeating groups).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from felles.apps.datapath import Path, lookup, parse_path, row_context, transpose
from felles.apps.expressions.casting import to_boolean
from felles.apps.expressions.context import ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import Compiled, compile_cached

_CHILD_PREFIX = re.compile(r"^\d+:")


class LayoutError(ValueError):
    """A layout set that cannot be built: duplicate ids, missing or doubly-claimed children."""


@dataclass(eq=False, slots=True)
class Component:
    """One component definition in a layout page (not a rendered instance; see :class:`Node`)."""

    id: str
    type: str
    page: str
    definition: dict[str, Any]
    parent: Component | None = None
    children: list[Component] = field(default_factory=list)
    rows_before: list[Component] = field(default_factory=list)
    rows_after: list[Component] = field(default_factory=list)
    repeating: bool = False
    repeating_ancestors: tuple[Component, ...] = ()
    group_path: Path | None = None
    group_data_type: str | None = None
    _compiled: dict[str, Compiled | None] = field(default_factory=dict)

    def expression(self, prop: str) -> Compiled | None:
        """The compiled expression (or constant) of a property such as ``hidden``; ``None`` if absent."""
        try:
            return self._compiled[prop]
        except KeyError:
            raw = self.definition.get(prop)
            compiled = None if raw is None else compile_cached(raw)
            self._compiled[prop] = compiled
            return compiled

    @property
    def bindings(self) -> dict[str, Any]:
        bindings = self.definition.get("dataModelBindings")
        return bindings if isinstance(bindings, dict) else {}


@dataclass(slots=True)
class Page:
    name: str
    definition: dict[str, Any]
    components: list[Component] = field(default_factory=list)
    top_level: list[Component] = field(default_factory=list)
    _hidden: Compiled | None = None

    @property
    def hidden(self) -> Compiled | None:
        if self._hidden is None and "hidden" in self.definition:
            self._hidden = compile_cached(self.definition["hidden"])
        return self._hidden


def binding_target(binding: Any) -> tuple[str | None, str] | None:
    """(data type, field path) of a data model binding in either the string or the object form."""
    if isinstance(binding, str):
        return None, binding
    if isinstance(binding, dict) and isinstance(binding.get("field"), str):
        data_type = binding.get("dataType")
        return (data_type if isinstance(data_type, str) else None), binding["field"]
    return None


def _is_repeating(definition: dict[str, Any]) -> bool:
    kind = str(definition.get("type", "")).lower()
    if kind == "repeatinggroup":
        return True
    if kind != "group":
        return False
    # legacy Group: repeating when maxCount allows more than one row (the backend also counts 0 as
    # "unlimited" when the group is bound to a list)
    max_count = definition.get("maxCount")
    if not isinstance(max_count, int) or isinstance(max_count, bool):
        return False
    has_group_binding = isinstance(definition.get("dataModelBindings"), dict) and bool(
        definition["dataModelBindings"].get("group")
    )
    return max_count > 1 or (max_count == 0 and has_group_binding)


def _child_ids(definition: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Ids of (children, components in rowsBefore, components in rowsAfter) a container refers to."""
    children: list[str] = []
    for child in definition.get("children") or []:
        if isinstance(child, str):
            children.append(_CHILD_PREFIX.sub("", child))
    for tab in definition.get("tabs") or []:
        if isinstance(tab, dict):
            children.extend(c for c in tab.get("children") or [] if isinstance(c, str))
    for card in definition.get("cards") or []:
        if isinstance(card, dict):
            children.extend(c for c in card.get("children") or [] if isinstance(c, str))
            if isinstance(card.get("media"), str):
                children.append(card["media"])
    children.extend(_grid_components(definition.get("rows")))

    before = _grid_components(definition.get("rowsBefore"))
    after = _grid_components(definition.get("rowsAfter"))
    return children, before, after


def _grid_components(rows: Any) -> list[str]:
    found: list[str] = []
    if isinstance(rows, list):
        for row in rows:
            for cell in (row or {}).get("cells") or [] if isinstance(row, dict) else []:
                if isinstance(cell, dict) and isinstance(cell.get("component"), str):
                    found.append(cell["component"])
    return found


class LayoutSet:
    """The pages of one layout set, with every container linked to its children."""

    def __init__(self, pages: dict[str, Page], components: dict[str, Component]) -> None:
        self.pages = pages
        self.components = components
        # pages the layout settings' order leaves out: app-frontend never shows them, so they are hidden (their
        # components are neither required nor validated)
        self.unlisted_pages: frozenset[str] = frozenset()

    @classmethod
    def from_layouts(cls, layouts: dict[str, Any], on_missing_child: Callable[[str], None] | None = None) -> LayoutSet:
        """Build the set; a missing child raises LayoutError unless ``on_missing_child`` takes the message.

        Altinn's backend refuses a missing child, while its frontend logs it and renders the rest; real
        apps contain such layouts, so the app loader reports them as warnings instead.
        """
        pages: dict[str, Page] = {}
        components: dict[str, Component] = {}
        for page_name, layout_file in layouts.items():
            data = (layout_file or {}).get("data") if isinstance(layout_file, dict) else None
            data = data if isinstance(data, dict) else {}
            page = Page(page_name, data)
            pages[page_name] = page
            for definition in data.get("layout") or []:
                if not isinstance(definition, dict) or not isinstance(definition.get("id"), str):
                    continue
                component_id = definition["id"]
                if component_id in components:
                    other = components[component_id].page
                    where = f"page {page_name}" if other == page_name else f"pages {other} and {page_name}"
                    raise LayoutError(f'Component id "{component_id}" is used more than once ({where})')
                component = Component(component_id, str(definition.get("type", "")), page_name, definition)
                component.repeating = _is_repeating(definition)
                target = binding_target(component.bindings.get("group"))
                if target is not None:
                    component.group_data_type, group_field = target
                    component.group_path = parse_path(group_field)
                components[component_id] = component
                page.components.append(component)

        for page in pages.values():
            for component in page.components:
                children, before, after = _child_ids(component.definition)
                for kind, ids in (("children", children), ("rows_before", before), ("rows_after", after)):
                    for child_id in ids:
                        child = components.get(child_id)
                        if child is None or child.page != page.name:
                            message = (
                                f'Component "{component.id}" on page {page.name} refers to child '
                                f'"{child_id}", which does not exist on that page'
                            )
                            if on_missing_child is None:
                                raise LayoutError(message)
                            on_missing_child(message)
                            continue
                        if child.parent is not None:
                            raise LayoutError(
                                f'Component "{child_id}" is a child of both "{child.parent.id}" and "{component.id}"'
                            )
                        if child is component:
                            raise LayoutError(f'Component "{component.id}" lists itself as a child')
                        child.parent = component
                        getattr(component, kind).append(child)
            page.top_level = [c for c in page.components if c.parent is None]

        def assign_ancestors(component: Component, ancestors: tuple[Component, ...], depth: int) -> None:
            if depth > 100:
                raise LayoutError(f'Component "{component.id}" is nested in itself')
            component.repeating_ancestors = ancestors
            inner = (*ancestors, component) if component.repeating else ancestors
            for child in component.children:
                assign_ancestors(child, inner, depth + 1)
            for child in (*component.rows_before, *component.rows_after):
                assign_ancestors(child, ancestors, depth + 1)

        for page in pages.values():
            for component in page.top_level:
                assign_ancestors(component, (), 0)
        return cls(pages, components)


class Node(NamedTuple):
    """A component in a particular row: ``rows`` has one index per enclosing repeating group.

    ``in_row`` marks a node standing for one row of the repeating group ``component`` itself (its last row
    index is that row); ``hiddenRow`` and row-level validations are evaluated there.
    ``component`` is ``None`` for the page itself.
    """

    component: Component | None
    page: str
    rows: tuple[int, ...] = ()
    in_row: bool = False

    @property
    def indexed_id(self) -> str:
        """The id Altinn's frontend gives the rendered component: ``navn-1`` for row 1."""
        if self.component is None:
            return self.page
        rows = self.rows[:-1] if self.in_row else self.rows
        return "-".join([self.component.id, *map(str, rows)])


class FormState:
    """A layout set filled with data: rows, hidden/required/read-only state and component lookups.

    The context's settings (language, instance...) are fixed for the life of a FormState; after the form
    data changes, call :meth:`invalidate`.
    """

    def __init__(self, layout_set: LayoutSet, context: ExpressionContext) -> None:
        self.layout = layout_set
        self.context = context
        context.form = self
        self._hidden: dict[Node, bool] = {}
        self._paths: dict[Node, Path] = {}
        # Per pass: where `["component", id]` from a node leads (row counts may change between passes).
        self._found: dict[tuple[str, Node | None], Node] = {}
        # Kept across passes, like `_paths`: a binding's indexed data path depends on the layout and rows only.
        self._binding_paths: dict[tuple[Node, str], tuple[str | None, Path] | None] = {}
        self._in_progress: set[Node] = set()
        # one evaluation context per node, reused across invalidations (they only point at the node)
        self._contexts: dict[Node, ExpressionContext] = {}

    def invalidate(self) -> None:
        """Forget computed state; call after the form data changed.

        Context paths stay: a node's indexed path depends only on the layout and the node's rows.
        """
        self._hidden.clear()
        self._found.clear()

    # -- rows and data --------------------------------------------------------------------------------
    def context_path(self, node: Node | None) -> Path:
        if node is None or node.component is None:
            return ()
        cached = self._paths.get(node)
        if cached is not None:
            return cached
        component = node.component
        scopes = (*component.repeating_ancestors, component) if node.in_row else component.repeating_ancestors
        group_paths = [scope.group_path or () for scope in scopes]
        path = row_context(group_paths, node.rows)
        self._paths[node] = path
        return path

    def row_count(self, group: Component, rows: tuple[int, ...]) -> int:
        """How many rows a repeating group has, inside the enclosing rows ``rows``."""
        if group.group_path is None:
            return 0
        parent_path = self.context_path(Node(group, group.page, rows))
        try:
            model = self.context.data.get(group.group_data_type)
        except ExpressionError:
            return 0
        value = lookup(model, transpose(group.group_path, parent_path))
        return len(value) if isinstance(value, list) else 0

    def binding_value(self, node: Node, binding: str = "simpleBinding") -> Any:
        key = (node, binding)
        if key in self._binding_paths:
            resolved = self._binding_paths[key]
        else:
            assert node.component is not None
            target = binding_target(node.component.bindings.get(binding))
            resolved = None if target is None else (
                target[0], transpose(parse_path(target[1]), self.context_path(node))
            )
            self._binding_paths[key] = resolved
        if resolved is None:
            return None
        data_type, path = resolved
        return lookup(self.context.data.get(data_type), path)

    def nodes(self) -> Iterator[Node]:
        """Every component instance in page order, repeating-group children once per row."""
        for page in self.layout.pages.values():
            for component in page.top_level:
                yield from self._expand(component, ())

    def _expand(self, component: Component, rows: tuple[int, ...]) -> Iterator[Node]:
        yield Node(component, component.page, rows)
        for child in component.rows_before:
            yield from self._expand(child, rows)
        if component.repeating:
            for row in range(self.row_count(component, rows)):
                for child in component.children:
                    yield from self._expand(child, (*rows, row))
        else:
            for child in component.children:
                yield from self._expand(child, rows)
        for child in component.rows_after:
            yield from self._expand(child, rows)

    def context_tree(self) -> list[dict[str, Any]]:
        """The component contexts in the shape of Altinn's ``context-lists`` shared tests."""

        def describe(component: Component, rows: tuple[int, ...]) -> dict[str, Any]:
            entry: dict[str, Any] = {"component": component.id, "currentLayout": component.page}
            if rows:
                entry["rowIndices"] = list(rows)
            children = [describe(c, rows) for c in component.rows_before]
            if component.repeating:
                for row in range(self.row_count(component, rows)):
                    children.extend(describe(c, (*rows, row)) for c in component.children)
            else:
                children.extend(describe(c, rows) for c in component.children)
            children.extend(describe(c, rows) for c in component.rows_after)
            if children:
                entry["children"] = children
            return entry

        return [
            {
                "component": page.name,
                "currentLayout": page.name,
                **({"children": [describe(c, ()) for c in page.top_level]} if page.top_level else {}),
            }
            for page in self.layout.pages.values()
        ]

    # -- expressions and state ------------------------------------------------------------------------
    def context_at(self, node: Node) -> ExpressionContext:
        context = self._contexts.get(node)
        if context is None:
            context = self._contexts[node] = self.context.at(node)
            context.node_path = self.context_path(node)
        return context

    def evaluate_at(self, node: Node, compiled: Compiled) -> Any:
        return compiled(self.context_at(node))

    def _flag(self, node: Node, prop: str) -> bool:
        assert node.component is not None
        compiled = node.component.expression(prop)
        if compiled is None:
            return False
        return to_boolean(compiled(self.context_at(node))) is True

    def is_page_hidden(self, page_name: str) -> bool:
        if page_name in self.layout.unlisted_pages:
            return True
        page = self.layout.pages.get(page_name)
        if page is None or page.hidden is None:
            return False
        node = Node(None, page_name)
        cached = self._hidden.get(node)
        if cached is None:
            value = page.hidden(self.context.at(None, page_name))
            cached = to_boolean(value) is True
            self._hidden[node] = cached
        return cached

    def is_hidden(self, node: Node) -> bool:
        """Hidden itself, by its page, by an enclosing container, or by its repeating-group row."""
        if node.component is None:
            return self.is_page_hidden(node.page)
        cached = self._hidden.get(node)
        if cached is not None:
            return cached
        if node in self._in_progress:
            # a component whose hidden expression looks itself up: Altinn treats it as visible
            return False
        self._in_progress.add(node)
        try:
            hidden = self._compute_hidden(node)
        finally:
            self._in_progress.discard(node)
        self._hidden[node] = hidden
        return hidden

    def _compute_hidden(self, node: Node) -> bool:
        component = node.component
        assert component is not None
        if node.in_row:
            group_node = Node(component, node.page, node.rows[:-1])
            return self.is_hidden(group_node) or self._flag(node, "hiddenRow")
        if self.is_page_hidden(node.page):
            return True
        parent = component.parent
        if parent is not None:
            if parent.repeating and component in parent.children:
                parent_node = Node(parent, node.page, node.rows, in_row=True)
            else:
                parent_node = Node(parent, node.page, node.rows)
            if self.is_hidden(parent_node):
                return True
        return self._flag(node, "hidden")

    def is_required(self, node: Node) -> bool:
        return self._flag(node, "required")

    def is_read_only(self, node: Node) -> bool:
        return self._flag(node, "readOnly")

    def find(self, target_id: str, origin: Node | None) -> Node:
        """Resolve ``["component", id]`` from ``origin``: rows come from the origin's own rows."""
        found = self._found.get((target_id, origin))
        if found is None:
            found = self._found[(target_id, origin)] = self._resolve(target_id, origin)
        return found

    def _resolve(self, target_id: str, origin: Node | None) -> Node:
        target = self.layout.components.get(target_id)
        if target is None:
            raise ExpressionError(f"Unable to find component with identifier {target_id}")
        origin_path = self.context_path(origin)
        rows: list[int] = []
        for ancestor in target.repeating_ancestors:
            group_path = ancestor.group_path or ()
            position = len(group_path) - 1
            if (
                position < 0
                or position >= len(origin_path)
                or origin_path[position][1] is None
                or any(origin_path[i][0] != group_path[i][0] for i in range(position + 1))
            ):
                raise ExpressionError(f"Unable to find component with identifier {target_id}")
            row = origin_path[position][1]
            assert row is not None
            if row >= self.row_count(ancestor, tuple(rows)):
                raise ExpressionError(f"Unable to find component with identifier {target_id}")
            rows.append(row)
        return Node(target, target.page, tuple(rows))


def likert_window(filters: Any, count: int) -> tuple[int, int]:
    """The questions a Likert shows (its ``filter``'s start and stop), as (start, stop) of its list's rows."""
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
