"""Dotted data-model paths (``Bedrifter[1].Ansatte.Alder``) and how Altinn resolves them in a row context.

A path written without row indexes inside a repeating group means "the row I am in": the missing indexes are
taken from the context (the repeating groups the evaluating component sits in). As in Altinn, filling stops
at the first segment that names a different field or already carries an explicit index.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

PathPart = tuple[str, int | None]
Path = tuple[PathPart, ...]

_SEGMENT = re.compile(r"([^\[\]]*)(?:\[(\d+)\])?")


@lru_cache(maxsize=16384)
def parse_path(path: str) -> Path:
    """Split a dotted path into (field, index) parts; an index is ``None`` when none is written."""
    parts: list[PathPart] = []
    for segment in path.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            parts.append((segment, None))
            continue
        name, index = match.groups()
        parts.append((name, int(index) if index is not None else None))
    return tuple(parts)


def format_path(parts: Path) -> str:
    return ".".join(name if index is None else f"{name}[{index}]" for name, index in parts)


def lookup(data: Any, parts: Path) -> Any:
    """The value at ``parts`` in ``data``, or ``None`` when any step is missing or of the wrong kind."""
    current = data
    for name, index in parts:
        if not isinstance(current, dict):
            return None
        current = current.get(name)
        if index is not None:
            if not isinstance(current, list) or index >= len(current):
                return None
            current = current[index]
    return current


def transpose(parts: Path, context: Path) -> Path:
    """Fill the row indexes ``parts`` leaves out from ``context`` (the current row's indexed path)."""
    if not context:
        return parts
    result: list[PathPart] = []
    for position, (name, index) in enumerate(parts):
        if position >= len(context) or context[position][0] != name or index is not None:
            result.extend(parts[position:])
            return tuple(result)
        result.append((name, context[position][1]))
    return tuple(result)


def row_context(group_paths: list[Path], rows: tuple[int, ...]) -> Path:
    """The indexed path of a row: the innermost group's path with every enclosing group's row index set."""
    if not group_paths:
        return ()
    innermost = list(group_paths[-1])
    for group_path, row in zip(group_paths, rows, strict=False):
        position = len(group_path) - 1
        if position < len(innermost) and innermost[position][0] == group_path[-1][0]:
            innermost[position] = (innermost[position][0], row)
    return tuple(innermost)


def strip_indexes(parts: Path) -> Path:
    return tuple((name, None) for name, _ in parts)
