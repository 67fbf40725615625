"""No two components import each other, directly or around a circle (``core`` imports no component).

Only the layers below the entry points count: a component's routes, pages and commands (``api.py``,
``pages.py``, ``cli.py``) are the top layer, which the app composes; pages render through the portal's shell,
whose login uses identity's services."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "felles"
ENTRY_POINTS = {"api.py", "pages.py", "cli.py"}


def _component_imports() -> dict[str, set[str]]:
    """component -> the other components its modules below the entry points import (anywhere in a module)."""
    components = {path.name for path in SOURCE.iterdir() if (path / "__init__.py").exists()}
    graph: dict[str, set[str]] = defaultdict(set)
    for component in components:
        for module in (SOURCE / component).rglob("*.py"):
            if module.name in ENTRY_POINTS:
                continue
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "felles" and len(parts) > 1 and parts[1] in components and parts[1] != component:
                        graph[component].add(parts[1])
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, path = [], []

    def visit(component: str) -> None:
        if component in path:
            found.append([*path[path.index(component):], component])
            return
        path.append(component)
        for other in sorted(graph.get(component, ())):
            visit(other)
        path.pop()

    for component in sorted(graph):
        visit(component)
    return found


def test_no_component_import_circle_remains() -> None:
    graph = _component_imports()
    assert graph["events"].isdisjoint({"authorization"})
    assert not graph.get("core")
    assert _cycles(graph) == []
