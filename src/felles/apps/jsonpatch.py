"""JSON Patch (RFC 6902) over form data, as app-frontend-react sends it in a DataPatchRequest.

Operations: add, remove, replace, move, copy, test, with JSON Pointers (RFC 6901: `~0` for `~`, `~1` for `/`, `-`
for the end of an array in `add`). A patch is applied to a copy: on any failure the document is unchanged. A
failing `test` (a different value, or no value there) is a `PatchTestFailed` (Altinn answers 409, "Precondition in
patch failed"); any other failure is a `PatchFailed` (Altinn answers 422). `test` compares as JSON does: 1 equals
1.0, but true is not 1.
"""

from __future__ import annotations

import copy
from typing import Any

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchFailed(ValueError):
    """An operation that cannot be applied (a missing path, an index out of range, a malformed operation)."""


class PatchTestFailed(PatchFailed):
    """A `test` operation whose value differs from the document's."""


def parse_pointer(pointer: Any) -> list[str]:
    """The reference tokens of a JSON Pointer ("" is the whole document)."""
    if not isinstance(pointer, str):
        raise PatchFailed(f"a path must be a string, not {type(pointer).__name__}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchFailed(f'the path "{pointer}" must start with "/"')
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _index(container: list[Any], token: str, pointer: str, *, append: bool = False) -> int:
    if append and token == "-":  # noqa: S105 - RFC 6901's end of an array, not a secret
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchFailed(f'"{token}" in "{pointer}" is not an array index')
    index = int(token)
    if index > len(container) or (index == len(container) and not append):
        raise PatchFailed(f'the index {index} in "{pointer}" is past the end of the array')
    return index


def _parent(document: Any, tokens: list[str], pointer: str) -> Any:
    current = document
    for token in tokens[:-1]:
        if isinstance(current, dict):
            if token not in current:
                raise PatchFailed(f'"{pointer}" does not exist')
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, pointer)]
        else:
            raise PatchFailed(f'"{pointer}" does not exist')
    return current


def _get(document: Any, pointer: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return document
    parent = _parent(document, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchFailed(f'"{pointer}" does not exist')
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, pointer)]
    raise PatchFailed(f'"{pointer}" does not exist')


def _add(document: Any, pointer: Any, value: Any) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(document, tokens, pointer)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], pointer, append=True), value)
    else:
        raise PatchFailed(f'"{pointer}" does not exist')
    return document


def _remove(document: Any, pointer: Any) -> tuple[Any, Any]:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchFailed("the whole document cannot be removed")
    parent = _parent(document, tokens, pointer)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise PatchFailed(f'"{pointer}" does not exist')
        return document, parent.pop(tokens[-1])
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, tokens[-1], pointer))
    raise PatchFailed(f'"{pointer}" does not exist')


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON values: numbers by value, booleans only with booleans, objects regardless of order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def operations_of(patch: Any) -> list[dict[str, Any]]:
    """The operations of a patch as sent: an array (RFC 6902), or `{"operations": [...]}` (app-lib's schema)."""
    if isinstance(patch, dict) and "operations" in patch:
        patch = patch["operations"]
    if not isinstance(patch, list) or not all(isinstance(operation, dict) for operation in patch):
        raise PatchFailed("a patch is an array of operations")
    return patch


def apply_patch(document: Any, patch: Any) -> Any:
    """The document with the patch applied (the given document is not changed)."""
    result = copy.deepcopy(document)
    for position, operation in enumerate(operations_of(patch), start=1):
        op = operation.get("op")
        if op not in OPERATIONS:
            raise PatchFailed(f"operation {position}: unknown op {op!r} (expected one of {', '.join(OPERATIONS)})")
        path = operation.get("path")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchFailed(f'operation {position} ({op} "{path}") needs a value')
        try:
            if op == "add":
                result = _add(result, path, copy.deepcopy(operation["value"]))
            elif op == "remove":
                result, _ = _remove(result, path)
            elif op == "replace":
                _get(result, path)  # must exist
                if parse_pointer(path):
                    result, _ = _remove(result, path)
                result = _add(result, path, copy.deepcopy(operation["value"]))
            elif op == "move":
                source = operation.get("from")
                if isinstance(source, str) and isinstance(path, str) and path.startswith(source + "/"):
                    raise PatchFailed(f'"{source}" cannot be moved into itself')
                result, value = _remove(result, source)
                result = _add(result, path, value)
            elif op == "copy":
                result = _add(result, path, copy.deepcopy(_get(result, operation.get("from"))))
            else:
                try:
                    found = _get(result, path)
                except PatchFailed as missing:
                    raise PatchTestFailed(f"operation {position} (test): {missing}") from None
                if not json_equal(found, operation["value"]):
                    raise PatchTestFailed(f'operation {position} (test): "{path}" is not {operation["value"]!r}')
        except PatchTestFailed:
            raise
        except PatchFailed as failure:
            if str(failure).startswith("operation "):
                raise
            raise PatchFailed(f"operation {position} ({op}): {failure}") from None
    return result
