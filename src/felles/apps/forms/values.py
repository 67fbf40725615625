"""What a posted form field means for the form data: which field of which model, and the value in the model's type.

An HTML field is named by the data it edits: the indexed path (``Kjoretoy[2].Regnr``), prefixed with the data
type and ``::`` when it is not the page's default model. Text typed into a field becomes a number, integer or
boolean where the model's JSON schema says so; text that is not one is refused (the page says so by the field)
rather than stored.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from felles.apps.datapath import Path, format_path, parse_path

DATA_TYPE_SEPARATOR = "::"
ROW_ID = "altinnRowId"  # Altinn's frontend gives every repeating-group row an id of its own


class NotOfType(ValueError):
    """Text that is not a value of the field's type (``expected`` is ``number``, ``integer`` or ``boolean``)."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def field_name(data_type: str | None, path: Path, default_data_type: str | None) -> str:
    text = format_path(path)
    return text if data_type is None or data_type == default_data_type else f"{data_type}{DATA_TYPE_SEPARATOR}{text}"


def parse_field_name(name: str) -> tuple[str | None, Path]:
    """(data type or None for the default model, indexed path) of an HTML field name."""
    data_type, separator, path = name.partition(DATA_TYPE_SEPARATOR)
    if not separator:
        return None, parse_path(name)
    return data_type, parse_path(path)


def _resolve(schema: dict[str, Any], node: Any) -> dict[str, Any]:
    for _ in range(32):  # a chain of $refs, never a loop
        if not isinstance(node, dict):
            return {}
        reference = node.get("$ref")
        if not isinstance(reference, str) or not reference.startswith("#/"):
            if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                node = node["allOf"][0]
                continue
            return node
        target: Any = schema
        for part in reference[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return {}


def schema_at(schema: dict[str, Any] | None, path: Path) -> dict[str, Any]:
    """The JSON schema of the field at ``path`` (``{}`` when the schema does not say)."""
    if not schema:
        return {}
    node = _resolve(schema, schema)
    for name, index in path:
        properties = node.get("properties")
        node = _resolve(schema, properties.get(name) if isinstance(properties, dict) else None)
        if index is not None or _type_of(node) == "array":
            node = _resolve(schema, node.get("items"))
    return node


def _type_of(node: dict[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else None
    return kind if isinstance(kind, str) else None


def coerce(text: str, node: dict[str, Any]) -> Any:
    """The value to store for ``text`` typed into a field of schema ``node``; empty text clears the field."""
    text = text.strip() if _type_of(node) in ("number", "integer", "boolean") else text
    if text == "":
        return None
    kind = _type_of(node)
    if kind in ("number", "integer"):
        try:
            number = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
        except InvalidOperation:
            raise NotOfType(kind) from None
        if not number.is_finite():
            raise NotOfType(kind)
        if kind == "integer" or number == number.to_integral_value():
            if kind == "integer" and number != number.to_integral_value():
                raise NotOfType(kind)
            return int(number)
        return float(number)
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise NotOfType(kind)
        return lowered == "true"
    return text


def unformat_number(text: str, number_format: dict[str, Any]) -> str:
    """Typed text as the plain number the model stores: without the field's prefix, suffix and thousand
    separators, with ``.`` for the decimal separator (a field shows ``kr 12 500,50`` for ``12500.5``)."""
    text = text.strip()
    for affix, strip in (("prefix", str.removeprefix), ("suffix", str.removesuffix)):
        value = number_format.get(affix)
        if isinstance(value, str) and value:
            text = strip(text, value).strip()
    separator = number_format.get("thousandSeparator")
    if separator:
        text = text.replace(" " if separator is True else str(separator), "")
    decimal = number_format.get("decimalSeparator")
    if isinstance(decimal, str) and decimal and decimal != ".":
        text = text.replace(decimal, ".")
    return text.replace("\u00a0", "")


def assign(data: dict[str, Any], path: Path, value: Any) -> None:
    """Set the field at ``path``, making the objects (and rows) on the way."""
    current: Any = data
    for position, (name, index) in enumerate(path):
        last = position == len(path) - 1
        if index is None:
            if last:
                current[name] = value
                return
            if not isinstance(current.get(name), dict):
                current[name] = {}
            current = current[name]
            continue
        rows = current.get(name)
        if not isinstance(rows, list):
            rows = current[name] = []
        while len(rows) <= index:
            rows.append({})
        if last:
            rows[index] = value
            return
        if not isinstance(rows[index], dict):
            rows[index] = {}
        current = rows[index]


def rows_at(data: dict[str, Any], path: Path) -> list[Any]:
    """The list at ``path``, made if it is missing."""
    current: Any = data
    for position, (name, index) in enumerate(path):
        last = position == len(path) - 1
        if last and index is None:
            if not isinstance(current.get(name), list):
                current[name] = []
            found: list[Any] = current[name]
            return found
        if not isinstance(current.get(name), dict if index is None else list):
            current[name] = {} if index is None else []
        current = current[name]
        if index is not None:
            while len(current) <= index:
                current.append({})
            current = current[index]
    raise ValueError("a row list needs a path")


def add_row(data: dict[str, Any], path: Path) -> int:
    """Append an empty row (with its own row id) to the repeating group at ``path``; the new row's index."""
    rows = rows_at(data, path)
    rows.append({ROW_ID: str(uuid.uuid4())})
    return len(rows) - 1


def delete_row(data: dict[str, Any], path: Path, index: int) -> bool:
    rows = rows_at(data, path)
    if 0 <= index < len(rows):
        del rows[index]
        return True
    return False
