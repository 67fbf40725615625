"""What a resource's XACML policy grants, read from the targets of its Permit rules, in the shapes of Altinn's
resource registry: flattened rules (``PolicyRule``), rights (``PolicyRight``) and the subjects the policy names
(Altinn's ``resourcesubjects``, which answer "which resources does this role or access package give?").

Flattening: a rule's target is a conjunction of AnyOf, each a disjunction of AllOf. Every choice of one AllOf
from each AnyOf is one way the rule applies; the matches of that choice, split by category, are the subject
attributes, the action and the resource attributes of one flattened rule. Altinn's resource registry does this
per category; choosing across all AnyOf at once gives the same rules in the same order for such policies and
also reads an AllOf that mixes categories (the ttd signering-brukerstyrt app names resource and action in one).

A summary is computed once per policy version (``SummaryCache``): the registry's subject lookups then never
parse a policy they have read before.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.combining import PERMIT
from felles.authorization.xacml.engine import PolicyStore
from felles.authorization.xacml.expressions import Designator, Literal, Match
from felles.authorization.xacml.model import ACCESS_SUBJECT, ACTION, RESOURCE
from felles.authorization.xacml.policies import Policy, Rule

# The obligation category in which a policy names the authentication level (0-4) its rights require.
MINIMUM_AUTHENTICATION_LEVEL = "urn:altinn:minimum-authenticationlevel"

# Altinn lists subject, then action, then resource choices, the last varying fastest; AnyOf are taken in this
# order so the flattened rules come out as Altinn lists them.
_CATEGORY_ORDER = {ACCESS_SUBJECT: 0, ACTION: 1, RESOURCE: 2}
_OTHER_CATEGORIES = len(_CATEGORY_ORDER)


@dataclass(frozen=True, slots=True)
class AttributeValue:
    """One attribute a rule requires: ``type`` is its AttributeId (a URN), ``value`` the value it must have."""

    type: str
    value: str

    @property
    def urn(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True)
class FlatRule:
    """Altinn's ``PolicyRule``: one way a rule permits, with one action."""

    subject: tuple[AttributeValue, ...]
    action: AttributeValue
    resource: tuple[AttributeValue, ...]


@dataclass(frozen=True, slots=True)
class Right:
    """Altinn's ``PolicyRight``: an action on a resource, and every subject a rule permits it to."""

    action: AttributeValue
    resource: tuple[AttributeValue, ...]
    subjects: tuple[tuple[AttributeValue, ...], ...]
    key: str

    @property
    def subject_types(self) -> list[str]:
        """The attribute types of the subjects, sorted (clients filter rights by them)."""
        return sorted({attribute.type.lower() for subject in self.subjects for attribute in subject})


@dataclass(frozen=True)
class PolicySummary:
    rules: tuple[FlatRule, ...]
    rights: tuple[Right, ...]
    # Every subject attribute of a Permit rule, once, its value in lower case (as Altinn's resourcesubjects).
    subjects: tuple[AttributeValue, ...]
    # The authentication level the policy's obligation requires of whoever uses its rights (0 when it names none).
    minimum_authentication_level: int = 0
    _subjects_by_urn: dict[str, AttributeValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_subjects_by_urn", {subject.urn.lower(): subject for subject in self.subjects})

    def subjects_among(self, urns: Iterable[str]) -> list[AttributeValue]:
        """This policy's subjects whose URN, in lower case, is one of ``urns``."""
        return [self._subjects_by_urn[urn] for urn in urns if urn in self._subjects_by_urn]


def right_key(action: AttributeValue, resource: Sequence[AttributeValue]) -> str:
    """Altinn's ``RightKey``: the action's value, the resource values ordered by URN, and an MD5 of the action
    value with those URNs (over their UTF-16 code units, as .NET hashes a string), joined by ``;``."""
    ordered = sorted(resource, key=lambda attribute: attribute.urn)
    hashed = ";".join([action.value, *(attribute.urn for attribute in ordered)])
    digest = hashlib.md5(hashed.encode("utf-16-le"), usedforsecurity=False).hexdigest()
    return ";".join([action.value, *(attribute.value for attribute in ordered), digest])


def summarize(policy_xml: str) -> PolicySummary:
    """Flatten the policy's Permit rules and group them into rights and subjects."""
    policy = PolicyStore().compile(policy_xml.encode("utf-8"))
    # A stored policy that no longer compiles is Indeterminate for the decision point: it grants nothing.
    rules = [rule for rule in policy.rules if isinstance(rule, Rule)] if isinstance(policy, Policy) else []
    flat = tuple(flat_rule for rule in rules for flat_rule in _flatten(rule))
    level = _minimum_authentication_level(policy) if isinstance(policy, Policy) else 0
    return PolicySummary(flat, _rights(flat), _subjects(flat), level)


def _minimum_authentication_level(policy: Policy) -> int:
    """The level in the policy's first `urn:altinn:minimum-authenticationlevel` obligation assignment, as Altinn
    reads it (PolicyHelper.GetMinimumAuthenticationLevelFromXacmlPolicy); 0 when there is none."""
    for obligation in policy.obligations:
        for assignment in obligation.assignments:
            if assignment.category != MINIMUM_AUTHENTICATION_LEVEL or not isinstance(assignment.expression, Literal):
                continue
            try:
                return int(assignment.expression.value)
            except (TypeError, ValueError):
                continue
    return 0


def _flatten(rule: Rule) -> Iterator[FlatRule]:
    # A Deny rule grants nothing, so it is left out (Altinn lists it like a Permit rule, and a PolicyRule has no
    # effect to tell them apart). A way a rule applies that lacks a subject, a resource or exactly one action in
    # the target cannot be written as a PolicyRule either (Altinn's flattening fails on such a policy).
    if rule.effect != PERMIT or rule.target is None:
        return
    choices_per_any_of = []
    for any_of in rule.target.any_ofs:
        choices = [described for all_of in any_of if (described := _described(all_of)) is not None]
        if not choices:
            return  # no AllOf of this AnyOf can be named: nothing the rule permits can be
        choices_per_any_of.append(choices)
    choices_per_any_of.sort(key=lambda choices: min(
        (_CATEGORY_ORDER.get(category, _OTHER_CATEGORIES) for choice in choices for category, _ in choice),
        default=_OTHER_CATEGORIES))
    for combination in itertools.product(*choices_per_any_of):
        by_category: dict[str, dict[AttributeValue, None]] = {}
        for choice in combination:
            for category, attribute in choice:
                by_category.setdefault(category, {})[attribute] = None
        subject, actions, resource = (list(by_category.get(c, ())) for c in (ACCESS_SUBJECT, ACTION, RESOURCE))
        if subject and resource and len(actions) == 1:
            yield FlatRule(tuple(subject), actions[0], tuple(resource))


def _described(all_of: list[Match]) -> list[tuple[str, AttributeValue]] | None:
    """The AllOf's matches as (category, attribute value), or None if one cannot be named: it reads an
    AttributeSelector, or it is broken (then the AllOf never matches)."""
    described = []
    for match in all_of:
        source = match.source
        if match.error is not None or match.function is None or not isinstance(source, Designator):
            return None
        literal_type = match.function.params[0][0] or source.key.data_type
        described.append((source.key.category,
                          AttributeValue(source.key.attribute_id, dt.format_value(literal_type, match.literal))))
    return described


def _rights(rules: tuple[FlatRule, ...]) -> tuple[Right, ...]:
    """The rules grouped by action and resource, in the order each right first appears."""
    grouped: dict[str, tuple[FlatRule, dict[tuple[AttributeValue, ...], None]]] = {}
    for rule in rules:
        key = right_key(rule.action, rule.resource)
        grouped.setdefault(key, (rule, {}))[1][rule.subject] = None
    return tuple(Right(first.action, first.resource, tuple(subjects), key)
                 for key, (first, subjects) in grouped.items())


def _subjects(rules: tuple[FlatRule, ...]) -> tuple[AttributeValue, ...]:
    found = {AttributeValue(attribute.type, attribute.value.lower()): None
             for rule in rules for attribute in rule.subject}
    return tuple(found)


PolicyVersion = tuple[str, str, datetime, int]  # database URL, resource identifier, resource created, policy version


class SummaryCache:
    """Summaries by policy version, in this process. A new policy gets a new version and a deleted and
    re-created resource a new creation time, so an entry is never stale and nothing needs to be dropped."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._entries: dict[PolicyVersion, PolicySummary] = {}
        self._max_entries = max_entries

    def get(self, version: PolicyVersion) -> PolicySummary | None:
        return self._entries.get(version)

    def add(self, version: PolicyVersion, summary: PolicySummary) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries.clear()  # old versions pile up; the current ones are read again as asked for
        self._entries[version] = summary
