"""Benchmark: Altinn expressions and layout state.

Run: .venv/bin/python bench/bench_expressions.py

1. Re-evaluating every dynamic (hidden, hiddenRow, required, readOnly) of the reference layout set with
   repeating groups (altinn-studio-frontend-test, Task_3: 8 pages, nested repeating groups) with 50 rows in
   every top-level repeating group (3 rows in nested ones); also the largest single page (Task_2 "form", 62
   components, no repeating group). Baseline in the same run: a plain dict walk doing one data lookup
   per evaluated dynamic.
2. Raw expression throughput for a typical condition, against a hand-written Python equivalent.
Prints latency percentiles (p50/p95/p99), throughput, peak memory (tracemalloc) and ratios.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from felles.apps.datapath import lookup, parse_path, transpose
from felles.apps.definition import load_app
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.evaluator import compile_expression
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


def build_form(layout_set: LayoutSet, top_rows: int, nested_rows: int) -> FormState:
    """Fill the data model: rows in every repeating group, a value in every simple binding."""
    data: dict[str, Any] = {}
    context = ExpressionContext(data=DataModels({"default": data}))
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


def evaluate_every_dynamic(form: FormState) -> int:
    """One full re-evaluation after a data change; returns how many expressions were evaluated."""
    form.invalidate()
    evaluated = 0
    for page in form.layout.pages:
        form.is_page_hidden(page)
    for node in form.nodes():
        component = node.component
        assert component is not None
        form.is_hidden(node)
        evaluated += component.expression("hidden") is not None
        if component.repeating and component.expression("hiddenRow") is not None:
            evaluated += form.row_count(component, node.rows)
        if component.expression("required") is not None:
            form.is_required(node)
            evaluated += 1
        if component.expression("readOnly") is not None:
            form.is_read_only(node)
            evaluated += 1
    return evaluated


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


def plan_baseline(form: FormState) -> list[tuple[tuple[tuple[str, int | None], ...], int]]:
    plan = []
    for node in form.nodes():
        component = node.component
        assert component is not None
        dynamics = sum(component.expression(p) is not None for p in DYNAMIC_PROPS)
        if component.repeating and component.expression("hiddenRow") is not None:
            dynamics += form.row_count(component, node.rows)
        target = binding_target(component.bindings.get("simpleBinding"))
        path = transpose(parse_path(target[1]), form.context_path(node)) if target else (("x", None),)
        if dynamics:
            plan.append((path, dynamics))
    return plan


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


def report_layout(title: str, form: FormState, repeats: int) -> None:
    evaluated = evaluate_every_dynamic(form)  # warm-up (compiles expressions)
    samples = timed(lambda: evaluate_every_dynamic(form), repeats)
    plan = plan_baseline(form)
    baseline = timed(lambda: baseline_dict_walk(form, plan), repeats)
    nodes = sum(1 for _ in form.nodes())
    tracemalloc.start()
    evaluate_every_dynamic(form)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    median = statistics.median(samples)
    print(f"\n== {title}")
    print(f"components rendered: {nodes}, expressions evaluated per pass: {evaluated}")
    print(
        f"full re-evaluation: p50 {percentile(samples, 0.5) * 1e3:.2f} ms, "
        f"p95 {percentile(samples, 0.95) * 1e3:.2f} ms, p99 {percentile(samples, 0.99) * 1e3:.2f} ms ({repeats} runs)"
    )
    print(f"throughput: {evaluated / median:,.0f} expressions/s")
    print(f"peak memory during one pass (tracemalloc): {peak / 1024:.0f} KiB")
    print(
        f"baseline dict walk (same lookup count): p50 {statistics.median(baseline) * 1e6:.0f} µs "
        f"-> ratio {median / statistics.median(baseline):.1f}x"
    )


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
            and float(form.get("Alder")) > 17
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


def main() -> None:
    app = load_app(REFERENCE_APPS / "altinn-studio-frontend-test", strict=False)
    task3 = app.layout_sets["Task_3"].layout_set
    task2 = app.layout_sets["Task_2"]
    assert task3 is not None
    report_layout(
        "frontend-test Task_3 (8 pages, nested repeating groups), 50 rows per top-level group",
        build_form(task3, 50, 3),
        repeats=200,
    )
    largest_page = LayoutSet.from_layouts({"form": task2.layouts["form"]})
    report_layout(
        "frontend-test Task_2 page 'form' (largest page, 62 components)", build_form(largest_page, 50, 3), 500
    )
    report_single_expression(repeats=200)


if __name__ == "__main__":
    main()
