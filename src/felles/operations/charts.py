"""Charts drawn on the server as inline SVG (no script, nothing from another host; the page's CSP holds).

This module lays a chart out (every shape's place and size); `operations/chart.html` draws it, escaped by Jinja.
Each chart also says its figures in words (the SVG's `<desc>`), so it is not only a picture."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
BAR = 22
GAP = 8
LABEL_WIDTH = 220
COLOURS = ("#0062ba", "#e5aa20", "#c01b1b")


def number(value: float) -> str:
    """A figure as a Norwegian reader reads it (thin groups, two decimals only below ten)."""
    return f"{value:,.0f}".replace(",", "\u00a0") if value >= 10 or value == int(value) else f"{value:.2f}"


@dataclass(frozen=True)
class Shape:
    """A bar (with its figure written after it) or, with `width` 0, only a text."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str = ""
    value: float = 0
    text: str = ""
    text_x: float = 0
    text_y: float = 0
    series: str = ""


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    colour: str = "#1e2b3c"


@dataclass
class Chart:
    identifier: str
    title: str
    height: float
    description: str
    width: int = WIDTH
    shapes: list[Shape] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    axis_y: float | None = None


def bar_chart(identifier: str, title: str, items: Sequence[tuple[str, float]], *, maximum: float | None = None,
              unit: str = "") -> Chart:
    """Horizontal bars, one per (label, value)."""
    top = maximum or max((value for _, value in items), default=0) or 1
    scale = (WIDTH - LABEL_WIDTH - 80) / top
    chart = Chart(identifier, title, len(items) * (BAR + GAP) + GAP, _described(items, unit))
    for index, (label, value) in enumerate(items):
        y, width = GAP + index * (BAR + GAP), max(value * scale, 1)
        chart.labels.append(Label(LABEL_WIDTH - 8, y + BAR * 0.7, label, "end"))
        chart.shapes.append(Shape(LABEL_WIDTH, y, width, BAR, COLOURS[0], label, value, number(value) + unit,
                                  LABEL_WIDTH + width + 6, y + BAR * 0.7))
    return chart


def column_chart(identifier: str, title: str, items: Sequence[tuple[str, float]], *, unit: str = "") -> Chart:
    """Vertical columns in order (one per day of the month), labelled below every fifth."""
    base = 170
    top = max((value for _, value in items), default=0) or 1
    step = (WIDTH - 40) / max(len(items), 1)
    chart = Chart(identifier, title, 200, _described([item for item in items if item[1]], unit), axis_y=base)
    chart.labels.append(Label(0, 14, number(top) + unit))
    for index, (label, value) in enumerate(items):
        x, height = 30 + index * step, value / top * (base - 20)
        chart.shapes.append(Shape(x, base - height, max(step - 2, 1), height, COLOURS[0], label, value))
        if index % 5 == 0:
            chart.labels.append(Label(x, base + 16, label))
    return chart


def grouped_bar_chart(identifier: str, title: str, items: Sequence[tuple[str, Sequence[float]]],
                      series: Sequence[str], *, unit: str = "") -> Chart:
    """For each label, one thin bar per series (p50, p95, p99), all on one scale."""
    top = max((value for _, values in items for value in values), default=0) or 1
    thin = BAR // 2
    group = len(series) * (thin + 2) + GAP
    scale = (WIDTH - LABEL_WIDTH - 90) / top
    described = [(f"{label} ({'/'.join(series)})", "/".join(number(v) for v in values)) for label, values in items]
    chart = Chart(identifier, title, len(items) * group + GAP + 20, "; ".join(f"{a}: {b}{unit}" for a, b in described))
    for index, name in enumerate(series):
        chart.labels.append(Label(LABEL_WIDTH + index * 90, 14, f"■ {name}", colour=COLOURS[index % 3]))
    for index, (label, values) in enumerate(items):
        y = 20 + GAP + index * group
        chart.labels.append(Label(LABEL_WIDTH - 8, y + group / 2, label, "end"))
        for position, value in enumerate(values):
            top_y, width = y + position * (thin + 2), max(value * scale, 1)
            chart.shapes.append(Shape(LABEL_WIDTH, top_y, width, thin, COLOURS[position % 3], label, value,
                                      number(value) + unit, LABEL_WIDTH + width + 4, top_y + thin - 1,
                                      series[position]))
    return chart


def _described(items: Sequence[tuple[str, float]], unit: str) -> str:
    return "; ".join(f"{label}: {number(value)}{unit}" for label, value in items)
