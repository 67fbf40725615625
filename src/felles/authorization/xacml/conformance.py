"""Conformance-style test folders: ``<ID>Policy.xml``, ``<ID>Request.xml|json``, ``<ID>Response.xml|json``.

The layout is the OASIS XACML conformance suite's. Extra files a case may have:
``<ID>Repository.properties`` (``xacml.rootPolicies=`` / ``xacml.referencedPolicies=`` file lists),
``<ID>PolicyId*.xml`` / ``<ID>PolicySetId*.xml`` (policies reachable by reference only), and a folder-wide
``PIP.txt`` (``category|attributeId|dataType|value`` lines: attributes the PDP can look up when the request
lacks them). Responses are compared as the suite asks: decision, status code, obligations and advice (ids and
assignments, in any order), returned attributes and policy identifiers, not the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.context import EvaluationContext
from felles.authorization.xacml.engine import ONLY_ONE_APPLICABLE, PolicyDecisionPoint, PolicyStore
from felles.authorization.xacml.json_io import request_from_json, response_from_json
from felles.authorization.xacml.model import (
    STATUS_SYNTAX_ERROR,
    AttributeAssignment,
    AttributeKey,
    Decision,
    Request,
    Response,
    Result,
    Status,
    XacmlSyntaxError,
)
from felles.authorization.xacml.xml_io import parse_request_xml, parse_response_xml

_REQUEST_FILE = re.compile(r"(?P<id>.+?)Request\.(?P<ext>xml|json)\Z")


@dataclass
class ConformanceCase:
    id: str
    request_file: Path
    response_file: Path
    policy_files: list[Path]
    referenced_files: list[Path] = field(default_factory=list)
    provider: FileAttributeProvider | None = None

    @property
    def mandatory(self) -> bool:
        """Part II of the suite is mandatory to implement, part III optional (ConformanceTests.html)."""
        return self.id.startswith("II") and not self.id.startswith("III")


@dataclass
class CaseOutcome:
    case: ConformanceCase
    expected: Response | None
    actual: Response | None
    differences: list[str]

    @property
    def passed(self) -> bool:
        return not self.differences


class FileAttributeProvider:
    """Attributes from a ``PIP.txt`` file (one ``category|attributeId|dataType|value`` per line)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._values: dict[tuple[str, str, str], list[str]] = {}
        for line in lines:
            parts = line.strip().split("|")
            if len(parts) == 4:
                category, attribute_id, data_type, value = parts
                self._values.setdefault((category, attribute_id, dt.canonical_data_type(data_type)), []).append(value)

    @classmethod
    def from_file(cls, path: Path) -> FileAttributeProvider:
        return cls(path.read_text(encoding="utf-8").splitlines())

    def find_attribute(self, key: AttributeKey, context: EvaluationContext) -> list[str]:
        return self._values.get((key.category, key.attribute_id, key.data_type), [])


def _properties(path: Path) -> dict[str, list[str]]:
    result = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            result[name.strip()] = [v.strip() for v in value.split(",") if v.strip()]
    return result


def discover_cases(directory: Path) -> list[ConformanceCase]:
    """All cases in a folder, sorted by id."""
    files = {p.name: p for p in directory.iterdir() if p.is_file()}
    pip_file = files.get("PIP.txt")
    provider = FileAttributeProvider.from_file(pip_file) if pip_file else None
    cases = []
    for name in sorted(files):
        found = _REQUEST_FILE.match(name)
        if not found:
            continue
        case_id, ext = found["id"], found["ext"]
        response = files.get(f"{case_id}Response.{ext}") or files.get(
            f"{case_id}Response.{'json' if ext == 'xml' else 'xml'}")
        if response is None:
            continue
        own = re.compile(re.escape(case_id) + r"(Policy|PolicyId|PolicySetId)\w*\.xml\Z", re.IGNORECASE)
        policy_files = [files[n] for n in sorted(files) if own.match(n)]
        roots = [p for p in policy_files if p.name == f"{case_id}Policy.xml"]
        referenced = [p for p in policy_files if p not in roots]
        properties_file = files.get(f"{case_id}Repository.properties")
        if properties_file is not None:
            properties = _properties(properties_file)
            if "xacml.rootPolicies" in properties:
                roots = [directory / n for n in properties["xacml.rootPolicies"]]
                referenced = [p for p in policy_files if p not in roots]
        cases.append(ConformanceCase(case_id, files[name], response, roots, referenced, provider))
    return cases


def load_request(path: Path) -> Request:
    if path.suffix == ".json":
        return request_from_json(json.loads(path.read_text(encoding="utf-8-sig")))
    return parse_request_xml(path)


def load_response(path: Path) -> Response:
    if path.suffix == ".json":
        return response_from_json(json.loads(path.read_text(encoding="utf-8-sig")))
    return parse_response_xml(path)


def run_case(case: ConformanceCase, clock: Callable[[], datetime] | None = None) -> CaseOutcome:
    algorithm = ONLY_ONE_APPLICABLE if len(case.policy_files) > 1 else None
    store = PolicyStore(algorithm) if algorithm else PolicyStore()
    try:
        expected = load_response(case.response_file)
    except (XacmlSyntaxError, ValueError) as exc:
        # Some recorded responses exist in both formats and one of them is broken (IIIE303Response.xml).
        other = case.response_file.with_suffix(".json" if case.response_file.suffix == ".xml" else ".xml")
        if not other.exists():
            return CaseOutcome(case, None, None, [f"cannot read {case.response_file.name}: {exc}"])
        expected = load_response(other)
    try:
        for path in case.referenced_files:
            store.add(path, root=False)
        for path in case.policy_files:
            store.add(path)
    except XacmlSyntaxError as exc:
        actual = Response([Result(Decision.INDETERMINATE, Status(STATUS_SYNTAX_ERROR, str(exc)))])
        return CaseOutcome(case, expected, actual, compare_responses(expected, actual))
    pdp = PolicyDecisionPoint(store, case.provider, clock)
    try:
        request = load_request(case.request_file)
    except XacmlSyntaxError as exc:
        actual = Response([Result(Decision.INDETERMINATE, Status(STATUS_SYNTAX_ERROR, str(exc)))])
    else:
        actual = pdp.decide(request)
    return CaseOutcome(case, expected, actual, compare_responses(expected, actual))


# ---------------------------------------------------------------- comparing responses


def _value_key(data_type: str, value: Any) -> Any:
    if data_type == dt.XPATHEXPRESSION:
        return ("xpath", str(value).strip())
    if isinstance(value, str) and data_type not in (dt.STRING, dt.ANYURI, dt.IPADDRESS, dt.DNSNAME):
        try:
            value = dt.parse_value(data_type, value)
        except dt.InvalidValueError:
            return ("text", value.strip())
    if isinstance(value, float) and value != value:
        return ("NaN",)
    try:
        hash(value)
    except TypeError:
        return ("text", dt.format_value(data_type, value))
    return value


def _assignment_key(assignment: AttributeAssignment) -> tuple[Any, ...]:
    return (assignment.attribute_id, assignment.category or "", assignment.data_type,
            _value_key(assignment.data_type, assignment.value))


def _directives_key(items: Iterable[Any]) -> list[tuple[str, list[Any]]]:
    return sorted((item.id, sorted(map(repr, map(_assignment_key, item.assignments)))) for item in items)


def _attributes_key(result: Result) -> list[str]:
    return sorted(
        repr((entity.category, attribute.attribute_id, attribute.data_type, _value_key(attribute.data_type, value)))
        for entity in result.attributes for attribute in entity.attributes for value in attribute.values
    )


def compare_results(expected: Result, actual: Result) -> list[str]:
    differences = []
    if expected.decision != actual.decision:
        differences.append(f"decision {actual.decision.value}, expected {expected.decision.value}")
    elif expected.status.code != actual.status.code:
        differences.append(f"status {actual.status.code}, expected {expected.status.code}"
                           + (f" ({actual.status.message})" if actual.status.message else ""))
    if _directives_key(expected.obligations) != _directives_key(actual.obligations):
        differences.append(f"obligations {_directives_key(actual.obligations)}, "
                           f"expected {_directives_key(expected.obligations)}")
    if _directives_key(expected.advice) != _directives_key(actual.advice):
        differences.append(f"advice {_directives_key(actual.advice)}, expected {_directives_key(expected.advice)}")
    if _attributes_key(expected) != _attributes_key(actual):
        differences.append(f"attributes {_attributes_key(actual)}, expected {_attributes_key(expected)}")
    if expected.policy_identifiers is not None:
        want = sorted((p.id, p.is_policy_set) for p in expected.policy_identifiers)
        got = sorted((p.id, p.is_policy_set) for p in actual.policy_identifiers or [])
        if want != got:
            differences.append(f"policy identifiers {got}, expected {want}")
    return differences


def compare_responses(expected: Response, actual: Response) -> list[str]:
    """Differences that matter between two responses; empty if they are equivalent.

    Results are matched in order first and, failing that, in any order (the Multiple Decision Profile leaves
    the order of individual results open).
    """
    if len(expected.results) != len(actual.results):
        return [f"{len(actual.results)} results, expected {len(expected.results)}"]
    in_order = [d for e, a in zip(expected.results, actual.results, strict=True) for d in compare_results(e, a)]
    if not in_order:
        return []
    remaining = list(actual.results)
    for result in expected.results:
        match = next((a for a in remaining if not compare_results(result, a)), None)
        if match is None:
            return in_order
        remaining.remove(match)
    return []
