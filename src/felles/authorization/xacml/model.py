"""The XACML request and response context (core spec §5.42-5.58), independent of XML or JSON.

Exceptions, written down once:

- ``EvaluationError``: an expression, target or reference evaluated to Indeterminate; carries the XACML status
  code. It never leaves the engine: ``PolicyDecisionPoint.decide`` turns it into an Indeterminate result.
- ``XacmlSyntaxError``: a policy or request document is not valid XACML. Raised by the parsers; the engine
  answers a request it cannot read with Indeterminate + ``syntax-error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

STATUS_OK = "urn:oasis:names:tc:xacml:1.0:status:ok"
STATUS_MISSING_ATTRIBUTE = "urn:oasis:names:tc:xacml:1.0:status:missing-attribute"
STATUS_SYNTAX_ERROR = "urn:oasis:names:tc:xacml:1.0:status:syntax-error"
STATUS_PROCESSING_ERROR = "urn:oasis:names:tc:xacml:1.0:status:processing-error"

ACCESS_SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RECIPIENT_SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:recipient-subject"
INTERMEDIARY_SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:intermediary-subject"
CODEBASE = "urn:oasis:names:tc:xacml:1.0:subject-category:codebase"
REQUESTING_MACHINE = "urn:oasis:names:tc:xacml:1.0:subject-category:requesting-machine"
RESOURCE = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
ENVIRONMENT = "urn:oasis:names:tc:xacml:3.0:attribute-category:environment"

ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
RESOURCE_ID = "urn:oasis:names:tc:xacml:1.0:resource:resource-id"
SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
CURRENT_TIME = "urn:oasis:names:tc:xacml:1.0:environment:current-time"
CURRENT_DATE = "urn:oasis:names:tc:xacml:1.0:environment:current-date"
CURRENT_DATETIME = "urn:oasis:names:tc:xacml:1.0:environment:current-dateTime"


class Decision(StrEnum):
    PERMIT = "Permit"
    DENY = "Deny"
    NOT_APPLICABLE = "NotApplicable"
    INDETERMINATE = "Indeterminate"


class XacmlSyntaxError(ValueError):
    """A policy or request that is not valid XACML."""


class EvaluationError(Exception):
    """Evaluation reached Indeterminate (spec §7.19); ``status_code`` says why."""

    def __init__(self, status_code: str, message: str = "") -> None:
        super().__init__(message or status_code)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True, slots=True)
class AttributeKey:
    """What an AttributeDesignator asks for: one attribute of one category, of one data type."""

    category: str
    attribute_id: str
    data_type: str
    issuer: str | None = None


@dataclass(slots=True)
class Attribute:
    attribute_id: str
    data_type: str
    values: tuple[Any, ...]
    issuer: str | None = None
    include_in_result: bool = False


@dataclass(slots=True)
class Attributes:
    """One ``<Attributes>`` element (JSON: one object of a category array)."""

    category: str
    attributes: list[Attribute] = field(default_factory=list)
    content: Any = None  # lxml element: the single child of <Content>
    id: str | None = None


@dataclass(slots=True)
class Request:
    attributes: list[Attributes] = field(default_factory=list)
    return_policy_id_list: bool = False
    combined_decision: bool = False
    # MultiRequests: each reference lists the ids of the Attributes that make one individual request.
    multi_requests: list[list[str]] | None = None

    def category(self, category: str) -> list[Attributes]:
        return [a for a in self.attributes if a.category == category]


@dataclass(frozen=True, slots=True)
class Status:
    code: str = STATUS_OK
    message: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeAssignment:
    attribute_id: str
    data_type: str
    value: Any
    category: str | None = None
    issuer: str | None = None


@dataclass(frozen=True, slots=True)
class Obligation:
    id: str
    assignments: tuple[AttributeAssignment, ...] = ()


@dataclass(frozen=True, slots=True)
class Advice:
    id: str
    assignments: tuple[AttributeAssignment, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyIdentifier:
    id: str
    version: str
    is_policy_set: bool = False


@dataclass(slots=True)
class Result:
    decision: Decision
    status: Status = field(default_factory=Status)
    obligations: list[Obligation] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)
    attributes: list[Attributes] = field(default_factory=list)  # echoed IncludeInResult attributes
    policy_identifiers: list[PolicyIdentifier] | None = None


@dataclass(slots=True)
class Response:
    results: list[Result]

    @property
    def decision(self) -> Decision:
        """The decision of a single-result response."""
        return self.results[0].decision
