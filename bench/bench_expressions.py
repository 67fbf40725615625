"""Benchmark: Altinn expressions and layout state.

Run: .venv/bin/python bench/bench_expressions.py

The goal (docs/performance.md): re-evaluating every dynamic of the largest reference layout with a repeating
group, with that group at 50 rows, in under 5 ms; and expressions evaluated per second.

"Every dynamic" is every expression-valued property of every rendered component, as
:mod:`felles.apps.dynamics` defines it: hidden (effective: page, containers and rows included), required,
readOnly, value, textResourceBindings.*, and per repeating-group row hiddenRow, edit.* and the row buttons'
texts. (optionFilter and source.* are evaluated per option while option lists are built, so they are not
counted.) Scenarios, all against ../shared/reference/altinn-apps/altinn-studio-frontend-test, Task_3:

1. the largest reference layout page with a repeating group: page "repeating" (chosen by counting
   expression-valued properties per page over every reference app; the ranking is printed), with its
   top-level repeating groups at 50 rows (nested ones at 3 per parent row);
2. the same page after one field changes: incremental re-evaluation of the dynamics reading it
   (Dynamics.update), for a field in one row and for a field every row reads;
3. the whole Task_3 layout set (8 pages, nested groups) at 50 rows per top-level group: the harder line;
4. raw expression throughput for a typical condition, against hand-written Python.

Every line prints p50/p95/p99, throughput, peak memory (tracemalloc) and a ratio against a baseline
measured in the same run: the per-node FormState route (is_hidden / a flag per node and property, how the
dynamics were evaluated before felles.apps.dynamics), plus a plain dict walk with one data lookup per
dynamic as the floor.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from felles.apps.datapath import lookup, parse_path, transpose
from felles.apps.definition import AppDefinition, load_app
from felles.apps.dynamics import HIDDEN, PAGE, Dynamics, component_dynamics
from felles.apps.expressions.casting import to_any, to_boolean, to_string
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.evaluator import compile_expression
from felles.apps.expressions.functions import FUNCTIONS
from felles.apps.layout import FormState, LayoutSet, binding_target

REFERENCE_APPS = Path(__file__).resolve().parents[1] / "../shared/reference/altinn-apps"
DYNAMIC_PROPS = ("hidden", "required", "readOnly")


def _set(data: dict[str, Any], path: tuple[tuple[str, int | None], ...], value: Any) -> None:
    current: Any = data
    for position, (name, index) in enumerate(path):
        last = position == len(path) - 1
        if index is None:
            if last:
                current.setdefault(name, value)
                return
            current = current.setdefault(name, {})
            if not isinstance(current, dict):
                return
        else:
            rows = current.setdefault(name, [])
            while len(rows) <= index:
                rows.append({})
            if last:
                return
            current = rows[index]


def build_form(layout_set: LayoutSet, top_rows: int, nested_rows: int, app: AppDefinition | None = None) -> FormState:
    """Fill the data model: rows in every repeating group, a value in every simple binding."""
    data: dict[str, Any] = {}
    context = ExpressionContext(data=DataModels({"default": data}))
    if app is not None:
        context.text_resources = app.texts.get("nb", {})
        # the reference app serves these two option lists from app code; give them one option each
        served = {"list": [{"value": "1", "label": "En"}], "list2": [{"value": "1", "label": "To"}]}
        context.code_lists = {**app.options, **served}
    form = FormState(layout_set, context)
    # create rows outermost-first, so nested groups see their parent rows
    groups = sorted(
        (c for c in layout_set.components.values() if c.repeating and c.group_path),
        key=lambda c: len(c.repeating_ancestors),
    )
    for group in groups:
        rows = top_rows if not group.repeating_ancestors else nested_rows
        for node in list(form.nodes()):
            if node.component is group:
                path = transpose(group.group_path or (), form.context_path(node))
                for row in range(rows):
                    _set(data, (*path[:-1], (path[-1][0], row)), None)
                    data_row = lookup(data, (*path[:-1], (path[-1][0], row)))
                    if isinstance(data_row, dict):
                        data_row.setdefault("altinnRowId", f"row-{row}")
        form.invalidate()
    for node in list(form.nodes()):
        assert node.component is not None
        target = binding_target(node.component.bindings.get("simpleBinding"))
        if target is not None and target[0] is None:
            _set(data, transpose(parse_path(target[1]), form.context_path(node)), "1")
    form.invalidate()
    return form


def per_node_dynamics(form: FormState) -> list[tuple[Any, str, Any]]:
    """(node, property, compiled) for every dynamic, in Dynamics' order: the baseline's work list."""
    from felles.apps.layout import Node

    work: list[tuple[Any, str, Any]] = []
    for node in form.nodes():
        component = node.component
        assert component is not None
        per_node, per_row = component_dynamics(component)
        work.append((node, "hidden", None))
        work.extend(
            (node, prop, component.expression(prop) if "." not in prop else compile_expression(raw))
            for prop, raw in per_node
        )
        if component.repeating:
            for row in range(form.row_count(component, node.rows)):
                row_node = Node(component, node.page, (*node.rows, row), True)
                work.append((row_node, "hiddenRow", None))
                work.extend((row_node, prop, compile_expression(raw)) for prop, raw in per_row if prop != "hiddenRow")
    return work


def baseline_form_state(form: FormState, work: list[tuple[Any, str, Any]]) -> None:
    """The same dynamics through FormState one node and property at a time (the route before Dynamics)."""
    form.invalidate()
    for page in form.layout.pages:
        form.is_page_hidden(page)
    for node, prop, compiled in work:
        if compiled is None:
            form.is_hidden(node)
        elif prop in ("required", "readOnly"):
            form._flag(node, prop)
        elif prop.startswith("edit."):
            to_boolean(form.evaluate_at(node, compiled))
        elif prop.startswith("textResourceBindings."):
            to_string(form.evaluate_at(node, compiled))
        else:
            to_any(form.evaluate_at(node, compiled))


def baseline_dict_walk(form: FormState, lookups: list[tuple[tuple[tuple[str, int | None], ...], int]]) -> None:
    """The same number of data lookups as there are dynamics, as plain Python (no expression machinery)."""
    data = form.context.data.models["default"]
    for path, count in lookups:
        for _ in range(count):
            current: Any = data
            for name, index in path:
                current = current.get(name) if isinstance(current, dict) else None
                if index is not None:
                    current = current[index] if isinstance(current, list) and index < len(current) else None


def plan_baseline(dynamics: Dynamics) -> list[tuple[tuple[tuple[str, int | None], ...], int]]:
    form = dynamics.form
    plan: dict[Any, int] = {}
    for node, _prop, _value in dynamics.items():
        plan[node] = plan.get(node, 0) + 1
    lookups = []
    for node, count in plan.items():
        target = binding_target(node.component.bindings.get("simpleBinding")) if node.component else None
        path = transpose(parse_path(target[1]), form.context_path(node)) if target else (("x", None),)
        lookups.append((path, count))
    return lookups


def timed(function: Callable[[], Any], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def peak_memory(function: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def latency_line(name: str, samples: list[float]) -> str:
    return (
        f"{name}: p50 {percentile(samples, 0.5) * 1e3:.3f} ms, p95 {percentile(samples, 0.95) * 1e3:.3f} ms, "
        f"p99 {percentile(samples, 0.99) * 1e3:.3f} ms ({len(samples)} runs)"
    )


def describe(dynamics: Dynamics) -> tuple[int, int]:
    """(dynamics re-evaluated per full pass, nodes)"""
    plan = dynamics.plan
    nodes = sum(1 for slot in plan.slots if slot[0] != PAGE and slot[0] == HIDDEN and not slot[1].in_row)
    hidden = sum(1 for position, slot in enumerate(plan.slots) if slot[0] == HIDDEN and dynamics._values[position])
    print(
        f"rendered components: {nodes} ({hidden} hidden after the pass, rows included), "
        f"dynamics: {len(plan.slots)} = {len(plan.live)} re-evaluated per pass + {len(plan.constants)} constant "
        f"properties set once; {plan.expressions} hold expressions"
    )
    return len(plan.live), nodes


def report_full(title: str, dynamics: Dynamics, repeats: int) -> float:
    form = dynamics.form
    start = time.perf_counter()
    dynamics.evaluate()  # plans once (rebuilt only when a group's row count changes)
    planning = time.perf_counter() - start
    print(f"\n== {title}")
    evaluated, _ = describe(dynamics)
    samples = timed(dynamics.evaluate, repeats)
    work = per_node_dynamics(form)
    before = timed(lambda: baseline_form_state(form, work), max(20, repeats // 4))
    lookups = plan_baseline(dynamics)
    floor = timed(lambda: baseline_dict_walk(form, lookups), repeats)
    median = statistics.median(samples)
    print(f"planning (first pass, and after a row is added or removed): {planning * 1e3:.1f} ms")
    print(latency_line("full re-evaluation of every dynamic", samples))
    print(f"throughput: {evaluated / median:,.0f} dynamics re-evaluated/s ({1 / median:,.0f} full passes/s)")
    print(f"peak memory during one pass (tracemalloc): {peak_memory(dynamics.evaluate) / 1024:.0f} KiB")
    print(
        f"baseline, same dynamics one by one through FormState: p50 {statistics.median(before) * 1e3:.2f} ms "
        f"-> {statistics.median(before) / median:.1f}x faster"
    )
    print(
        f"floor, plain dict walk with one lookup per dynamic: p50 {statistics.median(floor) * 1e3:.2f} ms "
        f"-> ratio {median / statistics.median(floor):.1f}x"
    )
    return median


def report_incremental(
    title: str, dynamics: Dynamics, path: str, values: tuple[Any, Any], full: float, repeats: int
) -> None:
    """Alternate one field between two values; each time re-evaluate only what reads it."""
    dynamics.evaluate()
    data = dynamics.form.context.data.models["default"]
    parts = parse_path(path)
    parent = lookup(data, parts[:-1])
    assert isinstance(parent, dict), path
    key = parts[-1][0]
    flips = iter(values * (repeats + 10))
    touched: list[int] = []

    def change() -> None:
        parent[key] = next(flips)
        touched.append(len(dynamics.update([path])))

    for _ in range(4):
        change()
    reevaluated = dynamics.reevaluated
    samples = timed(change, repeats)
    median = statistics.median(samples)
    print(f"\n-- {title}: {path} = {values[0]!r} <-> {values[1]!r}")
    print(
        f"dynamics re-evaluated per change: {reevaluated} of {len(dynamics.plan.slots)}; "
        f"values that changed: {max(touched)}"
    )
    print(latency_line("incremental re-evaluation (set the field + update)", samples))
    print(f"throughput: {1 / median:,.0f} changes/s")
    print(f"peak memory during one change (tracemalloc): {peak_memory(change) / 1024:.0f} KiB")
    print(f"baseline, full re-evaluation in the same run: p50 {full * 1e3:.2f} ms -> {full / median:.0f}x faster")


def report_single_expression(repeats: int) -> None:
    expression = [
        "and",
        ["equals", ["dataModel", "Skjema.Status"], "aktiv"],
        ["greaterThan", ["dataModel", "Skjema.Alder"], 17],
        ["not", ["commaContains", ["dataModel", "Skjema.Skjul"], "alder"]],
    ]
    data = {"Skjema": {"Status": "aktiv", "Alder": "40", "Skjul": "navn, adresse"}}
    compiled = compile_expression(expression)
    context = ExpressionContext(data=DataModels({"default": data}))

    def by_hand() -> bool:
        form = data["Skjema"]
        return (
            str(form.get("Status")) == "aktiv"
            and float(str(form.get("Alder"))) > 17
            and "alder" not in [p.strip() for p in str(form.get("Skjul")).split(",")]
        )

    assert compiled(context) is True and by_hand() is True
    batch = 1000
    samples = timed(lambda: [compiled(context) for _ in range(batch)], repeats)
    baseline = timed(lambda: [by_hand() for _ in range(batch)], repeats)
    per_call = [s / batch for s in samples]
    print("\n== single condition (and/equals/greaterThan/not/commaContains, 3 dataModel lookups)")
    print(
        f"latency per evaluation: p50 {percentile(per_call, 0.5) * 1e6:.2f} µs, p95 "
        f"{percentile(per_call, 0.95) * 1e6:.2f} µs, p99 {percentile(per_call, 0.99) * 1e6:.2f} µs"
    )
    print(f"throughput: {batch / statistics.median(samples):,.0f} expressions/s")
    print(
        f"hand-written Python equivalent: {batch / statistics.median(baseline):,.0f}/s "
        f"-> ratio {statistics.median(samples) / statistics.median(baseline):.1f}x"
    )


def rank_pages() -> list[tuple[int, int, str, str]]:
    """Every reference layout page holding a repeating group: (expression-valued properties, components,
    app/set, page), largest first."""
    ranking = []
    for folder in sorted(REFERENCE_APPS.iterdir()):
        app = load_app(folder, strict=False)
        for set_name, definition in app.layout_sets.items():
            if definition.layout_set is None:
                continue
            for page in definition.layout_set.pages.values():
                if not any(c.repeating for c in page.components):
                    continue
                expressions = 0
                for component in page.components:
                    per_node, per_row = component_dynamics(component)
                    raws = [component.definition.get("hidden"), *(raw for _, raw in (*per_node, *per_row))]
                    expressions += sum(isinstance(raw, list | dict) for raw in raws)
                expressions += isinstance(page.definition.get("hidden"), list | dict)
                ranking.append((expressions, len(page.components), f"{folder.name}/{set_name}", page.name))
    return sorted(ranking, reverse=True)


def make_rows_interesting(form: FormState) -> None:
    """Show the page's main group, and hide half of its rows by their amount (as a user would see it)."""
    data = form.context.data.models["default"]
    root = data["Endringsmelding-grp-9786"]
    root["Avgiver-grp-9787"]["KontaktpersonEPost-datadef-27688"]["value"] = "Ja"
    data["hideRowValue"] = 250
    data["useBothRepGroups"] = False
    for row, entry in enumerate(root["OversiktOverEndringene-grp-9788"]):
        entry["SkattemeldingEndringEtterFristOpprinneligBelop-datadef-37131"]["value"] = row * 10
        entry["isPrefill"] = row % 2 == 0
    form.invalidate()


def main() -> None:
    assert "dataModel" in FUNCTIONS
    ranking = rank_pages()
    print("reference layout pages with a repeating group, by expression-valued properties (top 3):")
    for expressions, components, where, page in ranking[:3]:
        print(f"  {where} page {page!r}: {expressions} expressions, {components} components")
    largest = ranking[0]
    assert largest[2:] == ("altinn-studio-frontend-test/Task_3", "repeating"), largest
    app = load_app(REFERENCE_APPS / "altinn-studio-frontend-test", strict=False)
    task3 = app.layout_sets["Task_3"]
    assert task3.layout_set is not None

    # the page is evaluated inside its layout set: its expressions look up components on other pages
    form = build_form(task3.layout_set, 50, 3, app)
    make_rows_interesting(form)
    repeating_page = Dynamics(form, pages=["repeating"])
    full = report_full(
        "goal: every dynamic of the largest reference layout page with a repeating group "
        "(frontend-test Task_3 'repeating', 29 components; mainGroup and group2 at 50 rows, nested subGroup at "
        "3 per row)",
        repeating_page,
        repeats=400,
    )
    amount = (
        "Endringsmelding-grp-9786.OversiktOverEndringene-grp-9788[17]."
        "SkattemeldingEndringEtterFristOpprinneligBelop-datadef-37131.value"
    )
    report_incremental("one field in one row changes", repeating_page, amount, (900, 100), full, 2000)
    report_incremental("a field every row reads changes", repeating_page, "useBothRepGroups", (True, False), full, 400)

    report_full(
        "harder: the whole Task_3 layout set (8 pages, nested repeating groups), 50 rows per top-level group, "
        "3 per nested group",
        Dynamics(form),
        repeats=200,
    )
    report_single_expression(repeats=200)


if __name__ == "__main__":
    main()
