"""app-lib's recorded exchanges (`reference/altinn-app-api/recorded`), read and compared with Felles's answers.

The recordings are Verify snapshots (`*.verified.txt`): a JSON-like text without quotes, where the integration tests
of app-lib wrote each HTTP exchange with a real app (status, headers, the request line) and the response body as the
test's .NET model read it. Ids and times were scrubbed to placeholders (`<instanceGuid>`, `<dataElementId[0]>`,
`DateTime_1`, `Guid_1`), the same value getting the same placeholder within one snapshot.

Bodies compare by shape: every property the recording has must be in Felles's answer (names compared without
case, since .NET wrote them in PascalCase), with the same kind of value and lists of the same length, and plain
values equal once Felles's own ids are scrubbed to the recording's placeholders. A property Felles adds is not a
difference: the .NET model read only the properties it knows, and Verify leaves out nulls and empty lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from uuid import UUID

_STATUS_BY_NAME = {status.phrase.replace(" ", "").replace("-", "").lower(): int(status) for status in HTTPStatus}
_KEY = re.compile(r"^(?P<key>[^\s:{}\[\]][^:]*?): (?P<rest>.*)$")
DATETIME_PLACEHOLDER = re.compile(r"^DateTime_\d+$")
GUID_PLACEHOLDER = re.compile(r"^Guid_\d+$")
# Verify scrubs a property typed as a GUID to Guid_N before the tests' own scrubbers see it.
SCRUBBED_ID = re.compile(r"^<(instanceGuid|dataElementId\[\d+\])>$")
SCRUBBED = "{Scrubbed}"
# Values that tell where and by whom a recording was made (and where the platform keeps the bytes), not what the
# app does: compared by shape only.
ENVIRONMENT_VALUES = frozenset({"createdby", "lastchangedby", "size", "blobstoragepath"})
# How Verify writes a .NET JsonElement (a JSON value in a typed model): its kind only.
_JSON_KINDS = {"Object": dict, "Array": list, "String": str, "Number": int | float, "True": bool, "False": bool}


class VerifyTextError(ValueError):
    """A snapshot that is not Verify's text format as this reader knows it."""


def parse_verified(text: str) -> Any:
    """A Verify snapshot as Python values: dicts, lists, and every plain value as its text (`true`, `null`, `2`)."""
    root: dict[str, Any] = {}
    stack: list[dict[str, Any] | list[Any]] = []
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines or lines[0] != "{":
        raise VerifyTextError("a snapshot starts with '{'")
    stack.append(root)
    for number, line in enumerate(lines[1:], start=2):
        if not stack:
            raise VerifyTextError(f"line {number}: text after the snapshot's end")
        line = line.removesuffix(",")
        top = stack[-1]
        if line in ("}", "]"):
            stack.pop()
            continue
        if isinstance(top, dict):
            match = _KEY.match(line)
            if match is None:
                raise VerifyTextError(f"line {number}: expected 'Key: value', found {line!r}")
            key, rest = match["key"], match["rest"]
        else:
            key, rest = None, line
        value: Any
        if rest in ("{", "["):
            value = {} if rest == "{" else []
        elif rest in ("{}", "[]"):
            value = {} if rest == "{}" else []
        else:
            value = _plain(rest)
        if isinstance(top, dict):
            top[key] = value
        else:
            top.append(value)
        if rest in ("{", "["):
            stack.append(value)
    if stack:
        raise VerifyTextError("the snapshot ends inside an object or list")
    return root


def _plain(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


@dataclass(frozen=True)
class Exchange:
    """One recorded call: what was asked and what the real app answered."""

    name: str  # the snapshot's file name without `.verified.txt`
    method: str
    request_uri: str  # with the recording's placeholders
    status: int
    content_type: str | None  # the answer's media type, without parameters
    location: str | None
    body: Any  # None when the recording has no body
    has_body: bool

    @classmethod
    def read(cls, path: Path) -> Exchange:
        snapshot = parse_verified(path.read_text(encoding="utf-8"))
        http = snapshot["HttpResponse"]
        request = http["RequestMessage"]
        content_types = http.get("Content", {}).get("Headers", {}).get("Content-Type") or [None]
        media_type = content_types[0].split(";")[0].strip() if content_types[0] else None
        location = http.get("Headers", {}).get("Location")
        return cls(
            name=path.name.removesuffix(".verified.txt"), method=request["Method"]["Method"],
            request_uri=request["RequestUri"], status=status_code(http["StatusCode"]), content_type=media_type,
            location=location[0] if location else None, body=snapshot.get("Response"),
            has_body="Response" in snapshot,
        )


def status_code(name: str) -> int:
    """`Created` → 201: .NET's names of HTTP statuses."""
    try:
        return _STATUS_BY_NAME[name.lower()]
    except KeyError:
        raise VerifyTextError(f"unknown HTTP status {name!r}") from None


class Scrubber:
    """Felles's own ids and addresses replaced by the recording's placeholders, as app-lib's tests scrub theirs.

    `replacements` are replaced wherever they occur (ids and addresses: long enough to be unique); `by_key` only
    where a property of that name (without case) has exactly that value, for short values such as a party id
    that could occur inside other values."""

    def __init__(self, replacements: dict[str, str], by_key: dict[str, dict[str, str]] | None = None) -> None:
        # Longer first, so that a URL is replaced before a host inside it.
        self.replacements = sorted(((old, new) for old, new in replacements.items() if old),
                                   key=lambda pair: -len(pair[0]))
        self.by_key = {key.lower(): values for key, values in (by_key or {}).items()}

    def text(self, value: str) -> str:
        for old, new in self.replacements:
            value = value.replace(old, new)
        return value

    def value(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {name: self.value(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, key) for item in value]
        keyed = self.by_key.get(key.lower()) if key is not None else None
        if keyed is not None and as_text(value) in keyed:
            return keyed[as_text(value)]
        if isinstance(value, str):
            return self.text(value)
        return value


def as_text(value: Any) -> str:
    """A JSON value written as Verify writes a plain value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def differences(expected: Any, actual: Any) -> list[str]:
    """Where Felles's answer (`actual`, JSON, scrubbed) differs in shape or value from the recording (`expected`)."""
    found: list[str] = []
    _compare(expected, actual, "$", found)
    return found


def _compare(expected: Any, actual: Any, where: str, found: list[str]) -> None:
    if isinstance(expected, dict) and set(expected) == {"ValueKind"} and expected["ValueKind"] in _JSON_KINDS:
        if not isinstance(actual, _JSON_KINDS[expected["ValueKind"]]):
            found.append(f"{where}: expected a JSON {expected['ValueKind'].lower()}, got {_kind(actual)}")
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            found.append(f"{where}: expected an object, got {_kind(actual)}")
            return
        by_lower = {key.lower(): key for key in actual}
        for key, value in expected.items():
            actual_key = by_lower.get(key.lower())
            if actual_key is None or actual[actual_key] is None:
                if as_text(value) != "null":  # Verify writes no nulls of a model, but a JSON document's
                    found.append(f"{where}.{key}: missing")
                continue
            if key.lower() in ENVIRONMENT_VALUES:
                if isinstance(actual[actual_key], dict | list):
                    found.append(f"{where}.{key}: expected a plain value, got {_kind(actual[actual_key])}")
                continue
            _compare(value, actual[actual_key], f"{where}.{actual_key}", found)
        return
    if isinstance(expected, list):
        if not isinstance(actual, list):
            found.append(f"{where}: expected a list, got {_kind(actual)}")
            return
        if len(expected) != len(actual):
            found.append(f"{where}: expected {len(expected)} items, got {len(actual)}")
            return
        for index, (item, actual_item) in enumerate(zip(expected, actual, strict=True)):
            _compare(item, actual_item, f"{where}[{index}]", found)
        return
    if isinstance(actual, dict | list):
        found.append(f"{where}: expected the plain value {expected!r}, got {_kind(actual)}")
        return
    text, expected = as_text(actual), as_text(expected)
    if expected == SCRUBBED:
        return
    if DATETIME_PLACEHOLDER.match(expected):
        if not _is_datetime(text):
            found.append(f"{where}: expected a date-time ({expected}), got {text!r}")
        return
    if GUID_PLACEHOLDER.match(expected):
        if not (_is_guid(text) or SCRUBBED_ID.match(text)):
            found.append(f"{where}: expected a GUID ({expected}), got {text!r}")
        return
    if text != expected:
        found.append(f"{where}: expected {expected!r}, got {text!r}")


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_guid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
