"""JSON as Altinn reads it: a UTF-8 BOM, ``//`` and ``/* */`` comments and trailing commas are tolerated.

Altinn's backend parses app files with comment skipping and trailing commas allowed, so real app folders
contain all three. Anything else that is malformed raises :class:`JsonFileError` naming file, line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonFileError(ValueError):
    """A JSON file that cannot be parsed, even leniently."""

    def __init__(self, source: str, line: int, column: int, problem: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{source}:{line}:{column}: {problem}")


def _strip_comments_and_trailing_commas(text: str, source: str) -> str:
    """Blank out comments and trailing commas, keeping every other character where it was.

    Keeping positions means the line and column that ``json`` reports still point into the original file.
    """
    out = list(text)
    i = 0
    length = len(text)
    last_comma: int | None = None  # index of a comma with only whitespace/comments after it so far
    while i < length:
        ch = text[i]
        if ch == '"':
            last_comma = None
            i += 1
            while i < length and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if ch == "/" and i + 1 < length and text[i + 1] == "/":
            while i < length and text[i] != "\n":
                out[i] = " "
                i += 1
            continue
        if ch == "/" and i + 1 < length and text[i + 1] == "*":
            end = text.find("*/", i + 2)
            if end == -1:
                line = text.count("\n", 0, i) + 1
                column = i - (text.rfind("\n", 0, i) + 1) + 1
                raise JsonFileError(source, line, column, "comment opened with /* is never closed")
            for j in range(i, end + 2):
                if out[j] != "\n":
                    out[j] = " "
            i = end + 2
            continue
        if ch == ",":
            last_comma = i
        elif ch in "}]":
            if last_comma is not None:
                out[last_comma] = " "
            last_comma = None
        elif not ch.isspace():
            last_comma = None
        i += 1
    return "".join(out)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def parse_lenient_json(text: str, source: str = "<string>") -> Any:
    """Parse JSON text the way Altinn does; ``source`` names the file in error messages."""
    if text.startswith("\ufeff"):
        text = text[1:]
    cleaned = _strip_comments_and_trailing_commas(text, source)
    try:
        return json.loads(cleaned, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as error:
        raise JsonFileError(source, error.lineno, error.colno, error.msg) from None
    except _DuplicateKeyError as error:
        position = _find_key(cleaned, error.key)
        raise JsonFileError(source, *position, f'duplicate key "{error.key}"') from None


def _find_key(text: str, key: str) -> tuple[int, int]:
    """Line and column of the second occurrence of ``"key":`` (a best effort for duplicate-key errors)."""
    needle = json.dumps(key)
    first = text.find(needle)
    second = text.find(needle, first + 1) if first != -1 else -1
    index = second if second != -1 else max(first, 0)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def load_json_file(path: Path, display_name: str | None = None) -> Any:
    """Read and parse one JSON file leniently; errors name ``display_name`` (default: the path)."""
    name = display_name or str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise JsonFileError(name, line, column, "file is not valid UTF-8") from None
    return parse_lenient_json(text, name)
