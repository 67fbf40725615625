"""Every dynamic property of a form at once, and again after a data change.

A *dynamic* is an expression-valued component property evaluated for one rendered component (a
:class:`~felles.apps.layout.Node`): ``hidden``, ``required``, ``readOnly``, ``value`` (Text, Number, Date,
Option), every ``textResourceBindings.*`` expression and, once per row of a repeating group, ``hiddenRow``,
``edit.*`` and the row buttons' ``textResourceBindings``. ``optionFilter`` and ``source.*`` are not here: they
are evaluated per option while option lists are built, not per component.

:class:`Dynamics` plans a form once (its rendered nodes, their evaluation contexts, which expressions give
the same result in every row, and which data paths each dynamic reads) and then

* :meth:`Dynamics.evaluate` re-evaluates all of them, with the semantics of
  :meth:`FormState.is_hidden <felles.apps.layout.FormState.is_hidden>` and friends (the same evaluation
  order, so even self-referring ``hidden`` expressions come out the same);
* :meth:`Dynamics.update` re-evaluates only the dynamics that read one of the changed data paths, directly
  or through ``["component", id]`` and the hidden state of pages, containers and rows. A change that adds
  or removes rows, or that touches something the planner cannot see into (``text`` variables,
  ``displayValue``, a computed ``dataModel`` path), falls back to re-evaluating what it must.

The plan is rebuilt on its own when the number of rows of any repeating group changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from felles.apps.datapath import Path, lookup, parse_path, row_context, transpose
from felles.apps.expressions.casting import to_any, to_boolean, to_string
from felles.apps.expressions.context import ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import Compiled, compile_cached
from felles.apps.expressions.functions import literal_data_path
from felles.apps.layout import Component, FormState, Node, binding_target

# component types whose ``value`` property is an expression (as in ``felles app check``)
_VALUE_TYPES = frozenset({"Text", "Number", "Date", "Option"})
# textResourceBindings of a repeating group that belong to each row (its edit/save buttons)
_ROW_TEXTS = frozenset({"edit_button_open", "edit_button_close", "save_button", "save_and_next_button"})
_FLAGS = frozenset({"hidden", "hiddenRow", "required", "readOnly"})
# functions whose result depends on more than their arguments and the data at literal paths
_PAGE_FUNCTIONS = frozenset({"linkToPage", "linkToComponent"})
_OPAQUE_FUNCTIONS = frozenset({"text", "optionLabel", "displayValue", "_experimentalSelectAndMap", "argv", "value"})
_REFERENCE_FUNCTIONS = frozenset({"component", "displayValue", "linkToComponent"})

FlatPath = tuple[str | int, ...]
DataKey = tuple[str, FlatPath]
_ANY: DataKey = ("", ("*",))  # "reads something we cannot name": re-evaluated on every update
_MISSING = object()

HIDDEN, PAGE, PROPERTY = 0, 1, 2  # slot kinds
# how a slot's value is found; a mode >= 0 is the index of a result shared with other slots in one pass
PLAIN, RECURSIVE, CONSTANT = -1, -2, -3


def _flag(value: Any) -> bool:
    return to_boolean(value) is True


def _cast_for(prop: str) -> Callable[[Any], Any]:
    if prop in _FLAGS:
        return _flag
    if prop.startswith("edit."):
        return to_boolean
    if prop.startswith("textResourceBindings."):
        return to_string
    return to_any


def _is_expression(value: Any) -> bool:
    return isinstance(value, list | dict)


def component_dynamics(component: Component) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(properties evaluated per component, properties evaluated per row) with their raw values.

    ``hidden``/``required``/``readOnly``/``hiddenRow`` count when present, even as constants; the others
    only when they hold an expression (a plain ``title`` is a text key, not a dynamic).
    """
    definition = component.definition
    per_node: list[tuple[str, Any]] = []
    per_row: list[tuple[str, Any]] = []
    for prop in ("required", "readOnly"):
        if prop in definition:
            per_node.append((prop, definition[prop]))
    if component.type in _VALUE_TYPES and _is_expression(definition.get("value")):
        per_node.append(("value", definition["value"]))
    texts = definition.get("textResourceBindings")
    if isinstance(texts, dict):
        for key, value in texts.items():
            if _is_expression(value):
                target = per_row if component.repeating and key in _ROW_TEXTS else per_node
                target.append((f"textResourceBindings.{key}", value))
    if component.repeating:
        if "hiddenRow" in definition:
            per_row.insert(0, ("hiddenRow", definition["hiddenRow"]))
        edit = definition.get("edit")
        if isinstance(edit, dict):
            per_row.extend((f"edit.{key}", value) for key, value in edit.items() if _is_expression(value))
    return per_node, per_row


@dataclass
class _Scan:
    """What a raw expression reads, found by walking it once."""

    data: list[tuple[str | None, Path]] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    opaque: bool = False  # reads data we cannot name (computed paths, text variables, displayValue...)
    page_dependent: bool = False
    computed_reference: bool = False  # ["component", <an expression>]: may look any component up


def _scan(expression: Any, scan: _Scan | None = None) -> _Scan:
    scan = scan if scan is not None else _Scan()
    if isinstance(expression, dict):
        if set(expression) == {"function", "args"} and isinstance(expression["args"], list):
            return _scan([expression["function"], *expression["args"]], scan)
        return scan
    if not isinstance(expression, list) or not expression or not isinstance(expression[0], str):
        return scan
    name, args = expression[0], expression[1:]
    if name == "dataModel":
        literal = literal_data_path(args)
        if literal is None:
            scan.opaque = True
        else:
            scan.data.append((literal[1], parse_path(literal[0])))
    if name in _REFERENCE_FUNCTIONS:
        target = args[0] if name != "linkToComponent" else (args[1] if len(args) > 1 else None)
        if isinstance(target, str):
            scan.references.append(target)
        else:
            scan.opaque = scan.computed_reference = True
    if name in _OPAQUE_FUNCTIONS:
        scan.opaque = True
    if name in _PAGE_FUNCTIONS:
        scan.page_dependent = True
    for argument in args:
        _scan(argument, scan)
    return scan


def _flat(parts: Path) -> FlatPath:
    flat: list[str | int] = []
    for name, index in parts:
        flat.append(name)
        if index is not None:
            flat.append(index)
    return tuple(flat)


class _Plan:
    """The rendered nodes of one row structure, as a flat list of slots in evaluation order."""

    def __init__(self) -> None:
        # (kind, node, page gate, parent gate, compiled, cast, context, mode, shared by FormState); gates are
        # positions of earlier slots (-1: none); see Dynamics._run
        self.slots: list[tuple[int, Node, int, int, Compiled | None, Any, Any, int, bool]] = []
        self.live: list[int] = []  # positions re-evaluated by a full pass (constants are set once)
        self.constants: list[tuple[int, Any]] = []
        self.shared = 0  # results shared between slots, per pass
        self.props: list[str] = []
        self.index: dict[tuple[Node, str], int] = {}
        # repeating group instances in pre-order: (data type, indexed list path, row count)
        self.groups: list[tuple[str | None, Path, int]] = []
        self.group_prefixes: set[DataKey] = set()
        self.exact: dict[DataKey, list[int]] = {}
        self.below: dict[DataKey, list[int]] = {}
        self.volatile: list[int] = []
        self.expressions = 0  # slots holding an expression (the rest hold constants)
        self.cyclic = False
        self.publish_all = False
        # nodes of other pages FormState may cache hidden state for during a pass (forgotten on update)
        self.foreign: list[Node] = []


class Dynamics:
    """Every dynamic of a :class:`FormState`, evaluated together; see the module docstring."""

    def __init__(self, form: FormState, pages: Iterable[str] | None = None) -> None:
        """``pages``: only the dynamics of these pages (the rest of the layout set still answers
        ``["component", id]`` lookups); all pages when ``None``."""
        self.form = form
        self.pages = None if pages is None else frozenset(pages)
        self._plan: _Plan | None = None
        self._values: list[Any] = []
        self._page_contexts: dict[str, ExpressionContext] = {}
        self._scans: dict[int, tuple[_Scan, Compiled]] = {}
        self.reevaluated = 0  # how many dynamics the last evaluate() or update() re-evaluated

    # -- results -------------------------------------------------------------------------------------
    @property
    def plan(self) -> _Plan:
        if self._plan is None:
            self.evaluate()
        assert self._plan is not None
        return self._plan

    def __len__(self) -> int:
        return len(self.plan.slots)

    def value(self, node: Node, prop: str) -> Any:
        """A dynamic's value: ``hidden`` is the effective state (page, containers and row included)."""
        return self._values[self.plan.index[(node, prop)]]

    def items(self) -> Iterable[tuple[Node, str, Any]]:
        plan = self.plan
        for slot, prop, value in zip(plan.slots, plan.props, self._values, strict=True):
            yield slot[1], prop, value

    # -- evaluation ----------------------------------------------------------------------------------
    def evaluate(self) -> int:
        """Re-evaluate every dynamic (after any data change); returns how many there are."""
        form = self.form
        if self._plan is None or not self._same_rows(self._plan):
            self._plan = self._build()
            self._values = [None] * len(self._plan.slots)
            for position, value in self._plan.constants:
                self._values[position] = value
        form.invalidate()
        self._run(self._plan, self._plan.live)
        self.reevaluated = len(self._plan.live)
        return len(self._plan.slots)

    def update(self, changed: Iterable[str | tuple[str | None, str]]) -> list[tuple[Node, str]]:
        """Re-evaluate the dynamics reading any of the ``changed`` data paths; returns those whose value
        changed. A path is a dotted field path of the default data model, or ``(data type, path)``."""
        plan = self._plan
        keys = [self._key(item) for item in changed]
        if plan is None or plan.cyclic or any(key is None or key in plan.group_prefixes for key in keys):
            return self._full_update()
        affected: set[int] = set(plan.volatile)
        for key in keys:
            assert key is not None
            data_type, flat = key
            affected.update(plan.below.get(key, ()))
            for end in range(len(flat)):
                affected.update(plan.exact.get((data_type, flat[:end]), ()))
        order = sorted(position for position in affected if plan.slots[position][7] != CONSTANT)
        if 2 * len(order) > len(plan.live):
            # most of the form reads it: one full pass is cheaper than the bookkeeping
            before = list(self._values)
            self.form.invalidate()
            self._run(plan, plan.live)
            self.reevaluated = len(plan.live)
            return [
                (slot[1], prop)
                for slot, prop, old, new in zip(plan.slots, plan.props, before, self._values, strict=True)
                if old != new
            ]
        hidden_cache = self.form._hidden
        for node in plan.foreign:
            hidden_cache.pop(node, None)
        for position in order:
            slot = plan.slots[position]
            if slot[0] != PROPERTY:
                hidden_cache.pop(slot[1], None)
        before = [self._values[position] for position in order]
        self._run(plan, order)
        self.reevaluated = len(order)
        return [
            (plan.slots[position][1], plan.props[position])
            for position, old in zip(order, before, strict=True)
            if self._values[position] != old
        ]

    def _full_update(self) -> list[tuple[Node, str]]:
        old = {(node, prop): value for node, prop, value in self.items()} if self._plan is not None else {}
        self.evaluate()
        return [(node, prop) for node, prop, value in self.items() if old.get((node, prop), _MISSING) != value]

    def _key(self, item: str | tuple[str | None, str]) -> DataKey | None:
        data_type, path = item if isinstance(item, tuple) else (None, item)
        if not path:
            return None  # the whole model
        return (data_type or self.form.context.data.default_data_type, _flat(parse_path(path)))

    def _run(self, plan: _Plan, positions: Iterable[int]) -> None:
        form = self.form
        cache = form._hidden
        values = self._values
        slots = plan.slots
        # one evaluation per pass of an expression several slots share (same expression, same row or none)
        shared = [_MISSING] * plan.shared
        for position in positions:
            kind, node, page_gate, gate, compiled, cast, context, mode, published = slots[position]
            if kind == PROPERTY:
                if mode >= 0:
                    raw = shared[mode]
                    if raw is _MISSING:
                        raw = shared[mode] = compiled(context)
                else:
                    raw = compiled(context)
                values[position] = raw if (raw is True or raw is False) and cast is _flag else cast(raw)
                continue
            if kind == PAGE:
                values[position] = form.is_page_hidden(node.page)
                continue
            if published:
                # FormState may already have worked this one out for a ["component", id] lookup
                hidden = cache.get(node)
                if hidden is not None:
                    values[position] = hidden
                    continue
            if (page_gate >= 0 and values[page_gate]) or (gate >= 0 and values[gate]):
                hidden = True
            elif compiled is None:
                hidden = False
            elif mode == RECURSIVE:
                hidden = form.is_hidden(node)
            else:
                if mode >= 0:
                    raw = shared[mode]
                    if raw is _MISSING:
                        raw = shared[mode] = compiled(context)
                else:
                    raw = compiled(context)
                hidden = raw if raw is True or raw is False else to_boolean(raw) is True
            if published:
                cache[node] = hidden
            values[position] = hidden

    # -- planning ------------------------------------------------------------------------------------
    def _same_rows(self, plan: _Plan) -> bool:
        models = self.form.context.data
        for data_type, path, count in plan.groups:
            try:
                rows = lookup(models.get(data_type), path)
            except ExpressionError:
                rows = None
            if (len(rows) if isinstance(rows, list) else 0) != count:
                return False
        return True

    def _scan_of(self, raw: Any) -> tuple[_Scan, Compiled]:
        cached = self._scans.get(id(raw))
        if cached is None:
            cached = self._scans[id(raw)] = (_scan(raw), compile_cached(raw))
        return cached

    def _build(self) -> _Plan:
        form = self.form
        plan = _Plan()
        default_type = form.context.data.default_data_type
        hidden_deps: dict[Node, frozenset[DataKey]] = {}
        in_progress: set[Node] = set()

        def data_key(data_type: str | None, parts: Path) -> DataKey:
            return (data_type or default_type, _flat(parts))

        def expression_deps(scan: _Scan, node: Node) -> set[DataKey]:
            if scan.opaque:
                return {_ANY}
            origin_path = form.context_path(node)
            deps = {data_key(data_type, transpose(parts, origin_path)) for data_type, parts in scan.data}
            for target_id in scan.references:
                try:
                    target = form.find(target_id, node)
                except ExpressionError:
                    deps.add(_ANY)
                    continue
                assert target.component is not None
                binding = binding_target(target.component.bindings.get("simpleBinding"))
                if binding is not None:
                    parts = transpose(parse_path(binding[1]), form.context_path(target))
                    deps.add(data_key(binding[0], parts))
                deps |= deps_of_hidden(target)
            return deps

        def deps_of_hidden(node: Node) -> frozenset[DataKey]:
            cached = hidden_deps.get(node)
            if cached is not None:
                return cached
            if node in in_progress:
                plan.cyclic = True
                return frozenset({_ANY})
            in_progress.add(node)
            deps: set[DataKey] = set()
            component = node.component
            page = form.layout.pages.get(node.page)
            if component is None:
                if page is not None and "hidden" in page.definition:
                    deps |= expression_deps(self._scan_of(page.definition["hidden"])[0], node)
            elif node.in_row:
                deps |= deps_of_hidden(Node(component, node.page, node.rows[:-1]))
                if "hiddenRow" in component.definition:
                    deps |= expression_deps(self._scan_of(component.definition["hiddenRow"])[0], node)
            else:
                deps |= deps_of_hidden(Node(None, node.page))
                parent = component.parent
                if parent is not None:
                    in_row = parent.repeating and component in parent.children
                    deps |= deps_of_hidden(Node(parent, node.page, node.rows, in_row))
                if "hidden" in component.definition:
                    deps |= expression_deps(self._scan_of(component.definition["hidden"])[0], node)
            in_progress.discard(node)
            hidden_deps[node] = result = frozenset(deps)
            return result

        templates: dict[tuple[int, bool], Path] = {}

        def row_pure(scan: _Scan) -> bool:
            if scan.opaque or scan.page_dependent:
                return False
            for target_id in scan.references:
                target = form.layout.components.get(target_id)
                if target is None or target.repeating_ancestors:
                    return False
            return True

        def row_independent(scan: _Scan, component: Component, in_row: bool) -> bool:
            if not row_pure(scan):
                return False
            template = templates.get((id(component), in_row))
            if template is None:
                scopes = (*component.repeating_ancestors, component) if in_row else component.repeating_ancestors
                template = row_context([s.group_path or () for s in scopes], (0,) * len(scopes))
                templates[(id(component), in_row)] = template
            return all(transpose(parts, template) == parts for _, parts in scan.data)

        building: list[list[Any]] = []
        share_keys: dict[int, tuple[Compiled, Path | None]] = {}
        targets: set[Node] = set()
        own_hidden: dict[Node, Any] = {}

        def find_targets(scan: _Scan, node: Node) -> list[Node]:
            found = []
            for target_id in scan.references:
                try:
                    found.append(form.find(target_id, node))
                except ExpressionError:
                    pass
            if scan.computed_reference:
                plan.publish_all = True
            return found

        def add(kind: int, node: Node, prop: str, raw: Any, page_gate: int, gate: int) -> int:
            compiled: Compiled | None = None
            mode = PLAIN
            context: Any = None
            cast = _cast_for(prop)
            if raw is not _MISSING:
                scan, compiled = self._scan_of(raw)
                plan.expressions += _is_expression(raw)
                targets.update(find_targets(scan, node))
                if kind != PROPERTY:
                    own_hidden[node] = scan
                if kind == PAGE:
                    compiled = None  # FormState.is_page_hidden evaluates it
                elif kind == HIDDEN and scan.references:
                    mode = RECURSIVE  # keeps FormState's handling of self-referring hidden expressions
                    targets.add(node)
                else:
                    assert node.component is not None
                    context = form.context_at(node)
                    if row_independent(scan, node.component, node.in_row):
                        share_keys[len(building)] = (compiled, None)
                    elif row_pure(scan):
                        # reads only data at paths resolved against the row: same row, same result
                        share_keys[len(building)] = (compiled, context.node_path)
                if kind == PROPERTY and not _is_expression(raw):
                    try:
                        plan.constants.append((len(building), cast(raw)))
                        mode = CONSTANT
                    except ExpressionError:
                        pass  # an invalid constant fails on every evaluation, as it would in FormState
            position = len(building)
            building.append([kind, node, page_gate, gate, compiled, cast, context, mode, False])
            plan.props.append(prop)
            plan.index[(node, prop)] = position
            if kind == PROPERTY:
                deps: Iterable[DataKey] = expression_deps(self._scan_of(raw)[0], node)
            else:
                deps = deps_of_hidden(node)
            for key in deps:
                if key == _ANY:
                    plan.volatile.append(position)
                    break
            else:
                for key in deps:
                    data_type, flat = key
                    plan.exact.setdefault(key, []).append(position)
                    for end in range(len(flat) + 1):
                        plan.below.setdefault((data_type, flat[:end]), []).append(position)
            return position

        def expand(component: Component, rows: tuple[int, ...], parent: int, page_gate: int, emit: bool) -> None:
            # emit=False: a page outside ``pages``; only its repeating groups are recorded (row structure)
            node = Node(component, component.page, rows)
            per_node, per_row = component_dynamics(component)
            position = -1
            if emit:
                own = component.definition.get("hidden", _MISSING)
                position = add(HIDDEN, node, "hidden", own, page_gate, parent)
                for prop, raw in per_node:
                    add(PROPERTY, node, prop, raw, -1, -1)
            for child in component.rows_before:
                expand(child, rows, position, page_gate, emit)
            if component.repeating:
                count = form.row_count(component, rows)
                if component.group_path is not None:
                    parent_path = form.context_path(node)
                    list_path = transpose(component.group_path, parent_path)
                    plan.groups.append((component.group_data_type, list_path, count))
                    key = data_key(component.group_data_type, list_path)
                    plan.group_prefixes.update((key[0], key[1][:end]) for end in range(len(key[1]) + 1))
                hidden_row = component.definition.get("hiddenRow", _MISSING)
                for row in range(count):
                    row_position = -1
                    if emit:
                        row_node = Node(component, component.page, (*rows, row), True)
                        row_position = add(HIDDEN, row_node, "hiddenRow", hidden_row, -1, position)
                        for prop, raw in per_row:
                            if prop != "hiddenRow":
                                add(PROPERTY, row_node, prop, raw, -1, -1)
                    for child in component.children:
                        expand(child, (*rows, row), row_position, page_gate, emit)
            else:
                for child in component.children:
                    expand(child, rows, position, page_gate, emit)
            for child in component.rows_after:
                expand(child, rows, position, page_gate, emit)

        for page in form.layout.pages.values():
            emit = self.pages is None or page.name in self.pages
            page_gate = -1
            if emit and ("hidden" in page.definition or page.name in form.layout.unlisted_pages):
                # a page the layout settings' order leaves out is hidden whatever its expression says
                page_gate = add(PAGE, Node(None, page.name), "hidden", page.definition.get("hidden", True), -1, -1)
            for component in page.top_level:
                expand(component, (), -1, page_gate, emit)

        # Nodes FormState.is_hidden may reach on its own during a pass (from a ["component", id] lookup or
        # a self-referring hidden expression): they share FormState's cache, the others need not.
        published: set[Node] = set()
        stack = list(targets)
        while stack:
            node = stack.pop()
            if node in published:
                continue
            published.add(node)
            position = plan.index.get((node, "hiddenRow" if node.in_row else "hidden"), -1)
            if position >= 0:
                for gate in building[position][2:4]:
                    if gate >= 0:
                        stack.append(building[gate][1])
            elif node.component is not None:
                plan.foreign.append(node)  # on a page outside ``pages``: FormState works it out
                continue
            scan = own_hidden.get(node)
            if scan is not None:
                stack.extend(find_targets(scan, node))
        sharing: dict[tuple[Compiled, Path | None], list[int]] = {}
        for position, key in share_keys.items():
            if building[position][7] == PLAIN:
                sharing.setdefault(key, []).append(position)
        for positions in sharing.values():
            if len(positions) > 1:
                for position in positions:
                    building[position][7] = plan.shared
                plan.shared += 1
        for position, slot in enumerate(building):
            slot[8] = plan.publish_all or slot[1] in published
            plan.slots.append(tuple(slot))  # type: ignore[arg-type]
            if slot[7] != CONSTANT:
                plan.live.append(position)
        return plan
