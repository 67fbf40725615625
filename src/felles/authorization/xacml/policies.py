"""Compiled rules, policies, policy sets and policy references, and the rule index.

``compile_policy_element`` turns a parsed ``<Policy>`` or ``<PolicySet>`` into these objects once; a decision
then only walks them. The index (``ConstraintIndex``) keeps, for each attribute of the resource and action
categories that targets test for equality, which rules can apply to which value, so a decision evaluates only
the rules whose targets can match the request's resource and action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.combining import (
    DENY,
    INDETERMINATE_D,
    INDETERMINATE_DP,
    INDETERMINATE_P,
    NOT_APPLICABLE,
    NOT_APPLICABLE_OUTCOME,
    NOT_APPLICABLE_WHEN_ALL_ARE,
    PERMIT,
    POLICY_ALGORITHMS,
    RULE_ALGORITHMS,
    Algorithm,
    Outcome,
    status_of,
)
from felles.authorization.xacml.context import EvaluationContext
from felles.authorization.xacml.expressions import (
    Designator,
    Expression,
    ExpressionCompiler,
    StaticError,
    Target,
    children,
    local_name,
    required,
)
from felles.authorization.xacml.model import (
    ACTION,
    RESOURCE,
    STATUS_PROCESSING_ERROR,
    STATUS_SYNTAX_ERROR,
    Advice,
    AttributeAssignment,
    AttributeKey,
    EvaluationError,
    Obligation,
    PolicyIdentifier,
    Status,
    XacmlSyntaxError,
)

# Categories whose equality matches are indexed: the request names one resource and one action.
INDEXED_CATEGORIES = frozenset({RESOURCE, ACTION})
_EFFECTS = {"Permit": PERMIT, "Deny": DENY}


# ---------------------------------------------------------------- obligations and advice


class AssignmentExpression:
    __slots__ = ("attribute_id", "category", "expression", "issuer")

    def __init__(self, attribute_id: str, category: str | None, issuer: str | None, expression: Expression):
        self.attribute_id, self.category, self.issuer, self.expression = attribute_id, category, issuer, expression

    def evaluate(self, ctx: EvaluationContext) -> list[AttributeAssignment]:
        value = self.expression.evaluate(ctx)
        data_type = self.expression.data_type or dt.STRING
        values = value if isinstance(value, tuple) else (value,)
        return [AttributeAssignment(self.attribute_id, data_type, v, self.category, self.issuer) for v in values]


class DirectiveExpression:
    """ObligationExpression or AdviceExpression."""

    __slots__ = ("applies_to", "assignments", "id", "is_obligation")

    def __init__(self, directive_id: str, applies_to: int, assignments: list[AssignmentExpression],
                 is_obligation: bool) -> None:
        self.id, self.applies_to, self.assignments = directive_id, applies_to, assignments
        self.is_obligation = is_obligation

    def evaluate(self, ctx: EvaluationContext) -> Obligation | Advice:
        assignments = tuple(a for expression in self.assignments for a in expression.evaluate(ctx))
        return Obligation(self.id, assignments) if self.is_obligation else Advice(self.id, assignments)


def _with_directives(outcome: Outcome, obligations: list[DirectiveExpression],
                     advice: list[DirectiveExpression], ctx: EvaluationContext) -> Outcome:
    """Add this element's obligations and advice for ``outcome``'s decision (§7.18)."""
    decision = outcome.decision
    own_obligations = [o for o in obligations if o.applies_to == decision]
    own_advice = [a for a in advice if a.applies_to == decision]
    if not own_obligations and not own_advice:
        return outcome
    try:
        new_obligations = [o.evaluate(ctx) for o in own_obligations]
        new_advice = [a.evaluate(ctx) for a in own_advice]
    except EvaluationError as exc:
        return Outcome(INDETERMINATE_P if decision == PERMIT else INDETERMINATE_D, status_of(exc))
    return Outcome(decision, outcome.status, [*outcome.obligations, *new_obligations],
                   [*outcome.advice, *new_advice])


# ---------------------------------------------------------------- rules


class Rule:
    __slots__ = ("_effect_outcome", "advice", "condition", "effect", "id", "obligations", "target")

    def __init__(self, rule_id: str, effect: int, target: Target | None, condition: Expression | None,
                 obligations: list[DirectiveExpression], advice: list[DirectiveExpression]) -> None:
        self.id, self.effect, self.target, self.condition = rule_id, effect, target, condition
        self.obligations, self.advice = obligations, advice
        self._effect_outcome = Outcome(effect)

    def evaluate(self, ctx: EvaluationContext) -> Outcome:
        try:
            if self.target is not None and not self.target.matches(ctx):
                return NOT_APPLICABLE_OUTCOME
            if self.condition is not None and not self.condition.evaluate(ctx):
                return NOT_APPLICABLE_OUTCOME
        except EvaluationError as exc:
            return Outcome(INDETERMINATE_P if self.effect == PERMIT else INDETERMINATE_D, status_of(exc))
        if self.obligations or self.advice:
            return _with_directives(self._effect_outcome, self.obligations, self.advice, ctx)
        return self._effect_outcome


# ---------------------------------------------------------------- the index


def target_constraints(target: Target | None) -> dict[AttributeKey, frozenset[Any]]:
    """Attribute values the target requires: for each key, the target cannot match unless the request has
    one of these values (an AnyOf in which every AllOf tests that key for equality)."""
    constraints: dict[AttributeKey, frozenset[Any]] = {}
    if target is None:
        return constraints
    for any_of in target.any_ofs:
        common: dict[AttributeKey, set[Any]] | None = None
        for all_of in any_of:
            found: dict[AttributeKey, set[Any]] = {}
            for match in all_of:
                source = match.source
                if (match.equality and match.error is None and isinstance(source, Designator)
                        and not source.must_be_present and source.key.issuer is None
                        and source.key.category in INDEXED_CATEGORIES and _hashable(match.literal)):
                    found.setdefault(source.key, set()).add(match.literal)
            if common is None:
                common = found
            else:
                common = {k: common[k] | found[k] for k in common.keys() & found.keys()}
        for key, values in (common or {}).items():
            constraints[key] = constraints[key] & values if key in constraints else frozenset(values)
    return constraints


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return not (isinstance(value, float) and value != value)


class ConstraintIndex:
    """Which of a sequence of items (rules or policies) can apply, from the request's indexed attributes."""

    __slots__ = ("_all", "_keys", "items")

    def __init__(self, items: Sequence[Any], constraints: list[dict[AttributeKey, frozenset[Any]]]) -> None:
        self.items = list(items)
        everyone = (1 << len(self.items)) - 1
        keys: dict[AttributeKey, tuple[dict[Any, int], int]] = {}
        for key in {k for c in constraints for k in c}:
            by_value: dict[Any, int] = {}
            unconstrained = 0
            for position, item_constraints in enumerate(constraints):
                values = item_constraints.get(key)
                if values is None:
                    unconstrained |= 1 << position
                    continue
                for value in values:
                    by_value[value] = by_value.get(value, 0) | (1 << position)
            keys[key] = (by_value, unconstrained)
        self._keys = list(keys.items())
        self._all = everyone

    @property
    def useful(self) -> bool:
        return bool(self._keys)

    def candidates(self, ctx: EvaluationContext) -> list[Any]:
        mask = self._all
        for key, (by_value, unconstrained) in self._keys:
            try:
                bag = ctx.bag(key)
            except EvaluationError:
                continue  # let the evaluation itself report the provider's error
            allowed = unconstrained
            for value in bag:
                allowed |= by_value.get(value, 0)
            mask &= allowed
            if not mask:
                return []
        if mask == self._all:
            return self.items
        items = self.items
        result = []
        while mask:
            low = mask & -mask
            result.append(items[low.bit_length() - 1])
            mask ^= low
        return result


# ---------------------------------------------------------------- policies


class PolicyRepository(Protocol):
    """Where PolicyIdReference and PolicySetIdReference are looked up."""

    def find_referenced(self, policy_id: str, is_policy_set: bool, constraints: VersionConstraints) -> Any: ...


class VersionConstraints:
    """Version, EarliestVersion and LatestVersion of a reference (§5.13); '*' and '+' wildcards."""

    __slots__ = ("earliest", "latest", "version")

    def __init__(self, version: str | None = None, earliest: str | None = None, latest: str | None = None):
        self.version, self.earliest, self.latest = version, earliest, latest

    def accepts(self, version: str) -> bool:
        numbers = [int(p) for p in version.split(".") if p.isdigit()]
        if self.version and not _version_matches(self.version, version):
            return False
        if self.earliest and not _version_compare(numbers, self.earliest, at_least=True):
            return False
        return not (self.latest and not _version_compare(numbers, self.latest, at_least=False))


def _version_matches(pattern: str, version: str) -> bool:
    pattern_parts, parts = pattern.split("."), version.split(".")
    for index, part in enumerate(pattern_parts):
        if part == "+":
            return True
        if index >= len(parts):
            return False
        if part != "*" and part != parts[index]:
            return False
    return len(parts) == len(pattern_parts)


def _version_compare(numbers: list[int], pattern: str, at_least: bool) -> bool:
    bound = [int(p) if p.isdigit() else (0 if at_least else 10**9) for p in pattern.split(".") if p != "+"]
    return numbers >= bound if at_least else numbers <= bound


class Policy:
    __slots__ = (
        "advice",
        "algorithm",
        "id",
        "identifier",
        "index",
        "is_policy_set",
        "obligations",
        "rules",
        "target",
        "version",
    )

    def __init__(self, policy_id: str, version: str, target: Target | None, rules: list[Any],
                 algorithm: Algorithm, obligations: list[DirectiveExpression],
                 advice: list[DirectiveExpression], is_policy_set: bool = False) -> None:
        self.id, self.version, self.target, self.rules, self.algorithm = policy_id, version, target, rules, \
            algorithm
        self.obligations, self.advice, self.is_policy_set = obligations, advice, is_policy_set
        self.identifier = PolicyIdentifier(policy_id, version, is_policy_set)
        index = ConstraintIndex(rules, [child_constraints(r) for r in rules]) if len(rules) > 1 else None
        self.index = index if index is not None and index.useful else None

    def is_applicable(self, ctx: EvaluationContext) -> bool:
        return self.target is None or self.target.matches(ctx)

    def evaluate(self, ctx: EvaluationContext) -> Outcome:
        target_error = None
        if self.target is not None:
            try:
                if not self.target.matches(ctx):
                    return NOT_APPLICABLE_OUTCOME
            except EvaluationError as exc:
                target_error = exc
        children_ = self.index.candidates(ctx) if self.index is not None else self.rules
        outcome = self.algorithm(children_, ctx)
        decision = outcome.decision
        if decision == NOT_APPLICABLE:
            return outcome
        if target_error is not None:
            # Table 7: an Indeterminate target turns a decision into the matching Indeterminate.
            extended = {PERMIT: INDETERMINATE_P, DENY: INDETERMINATE_D}.get(decision, decision)
            outcome = Outcome(extended, status_of(target_error))
        elif decision in (PERMIT, DENY) and (self.obligations or self.advice):
            outcome = _with_directives(outcome, self.obligations, self.advice, ctx)
        if ctx.policy_identifiers is not None:
            ctx.policy_identifiers.append((self.identifier, outcome.decision))
        return outcome

    def constraints(self) -> dict[AttributeKey, frozenset[Any]]:
        """What a request must carry for this policy to be applicable, including what every rule needs."""
        own = target_constraints(self.target)
        if not self.rules or self.algorithm not in NOT_APPLICABLE_WHEN_ALL_ARE:
            return own
        per_rule = [child_constraints(r) for r in self.rules]
        shared = set(per_rule[0]).intersection(*per_rule[1:])
        for key in shared:
            union = frozenset().union(*(c[key] for c in per_rule))
            own[key] = own[key] & union if key in own else union
        return own


def child_constraints(child: Any) -> dict[AttributeKey, frozenset[Any]]:
    if isinstance(child, Rule):
        return target_constraints(child.target)
    if isinstance(child, Policy):
        return child.constraints()
    return {}


class PolicyReference:
    """PolicyIdReference / PolicySetIdReference, resolved on first evaluation (conformance IIE003)."""

    __slots__ = ("_resolved", "is_policy_set", "policy_id", "repository", "version_constraints")

    def __init__(self, policy_id: str, is_policy_set: bool, constraints: VersionConstraints,
                 repository: PolicyRepository | None) -> None:
        self.policy_id, self.is_policy_set, self.version_constraints = policy_id, is_policy_set, constraints
        self.repository, self._resolved = repository, None

    def resolve(self) -> Any:
        if self._resolved is None:
            found = None
            if self.repository is not None:
                found = self.repository.find_referenced(self.policy_id, self.is_policy_set,
                                                        self.version_constraints)
            if found is None:
                raise EvaluationError(STATUS_PROCESSING_ERROR, f"unresolved reference to {self.policy_id}")
            self._resolved = found
        return self._resolved

    def is_applicable(self, ctx: EvaluationContext) -> bool:
        return bool(self.resolve().is_applicable(ctx))

    def evaluate(self, ctx: EvaluationContext) -> Outcome:
        try:
            target = self.resolve()
        except EvaluationError as exc:
            return Outcome(INDETERMINATE_DP, status_of(exc))
        return target.evaluate(ctx)  # type: ignore[no-any-return]


class BrokenPolicy:
    """A policy document that could not be compiled: Indeterminate with syntax-error when evaluated."""

    __slots__ = ("id", "is_policy_set", "message", "version")

    def __init__(self, policy_id: str, message: str, is_policy_set: bool = False) -> None:
        self.id, self.version, self.message, self.is_policy_set = policy_id, "1.0", message, is_policy_set

    def is_applicable(self, ctx: EvaluationContext) -> bool:
        raise EvaluationError(STATUS_SYNTAX_ERROR, self.message)

    def evaluate(self, ctx: EvaluationContext) -> Outcome:
        return Outcome(INDETERMINATE_DP, Status(STATUS_SYNTAX_ERROR, self.message))

    def constraints(self) -> dict[AttributeKey, frozenset[Any]]:
        return {}


# ---------------------------------------------------------------- compiling


def compile_policy_element(element: Any, repository: PolicyRepository | None = None) -> Policy:
    """Compile a <Policy> or <PolicySet> element; raises XacmlSyntaxError."""
    name = local_name(element)
    if name == "Policy":
        return _compile_policy(element)
    if name == "PolicySet":
        return _compile_policy_set(element, repository)
    raise XacmlSyntaxError(f"expected <Policy> or <PolicySet>, found <{name}>")


def _directives(parent: Any, compiler: ExpressionCompiler) -> tuple[list[DirectiveExpression], ...]:
    obligations: list[DirectiveExpression] = []
    advice: list[DirectiveExpression] = []
    for child in children(parent):
        container = local_name(child)
        if container not in ("ObligationExpressions", "AdviceExpressions"):
            continue
        is_obligation = container == "ObligationExpressions"
        for expression in children(child):
            directive_id = required(expression, "ObligationId" if is_obligation else "AdviceId")
            applies = required(expression, "FulfillOn" if is_obligation else "AppliesTo")
            if applies not in _EFFECTS:
                raise XacmlSyntaxError(f"{directive_id}: FulfillOn/AppliesTo must be Permit or Deny")
            assignments = []
            for assignment in children(expression):
                inner = children(assignment)
                if len(inner) != 1:
                    raise XacmlSyntaxError("AttributeAssignmentExpression must hold one expression")
                assignments.append(AssignmentExpression(
                    required(assignment, "AttributeId"), assignment.get("Category"), assignment.get("Issuer"),
                    compiler.compile(inner[0]),
                ))
            target_list = obligations if is_obligation else advice
            target_list.append(DirectiveExpression(directive_id, _EFFECTS[applies], assignments, is_obligation))
    return obligations, advice


def _child(parent: Any, name: str) -> Any:
    for child in children(parent):
        if local_name(child) == name:
            return child
    return None


def _compile_policy(element: Any) -> Policy:
    policy_id = required(element, "PolicyId")
    algorithm_id = required(element, "RuleCombiningAlgId")
    algorithm = RULE_ALGORITHMS.get(algorithm_id)
    if algorithm is None:
        raise XacmlSyntaxError(f"unknown rule-combining algorithm {algorithm_id}")
    variables = {required(v, "VariableId"): v for v in children(element) if local_name(v) == "VariableDefinition"}
    compiler = ExpressionCompiler(variables)
    rules = []
    for rule_element in children(element):
        if local_name(rule_element) != "Rule":
            continue
        effect = _EFFECTS.get(required(rule_element, "Effect"))
        if effect is None:
            raise XacmlSyntaxError(f"rule {rule_element.get('RuleId')}: Effect must be Permit or Deny")
        condition_element = _child(rule_element, "Condition")
        condition = None
        if condition_element is not None:
            inner = children(condition_element)
            if len(inner) != 1:
                raise XacmlSyntaxError("<Condition> must hold one expression")
            condition = compiler.compile(inner[0])
            if condition.data_type != dt.BOOLEAN or condition.is_bag:
                condition = StaticError(STATUS_PROCESSING_ERROR, "a Condition must be a boolean expression")
        obligations, advice = _directives(rule_element, compiler)
        rules.append(Rule(required(rule_element, "RuleId"), effect,
                          compiler.target(_child(rule_element, "Target")), condition, obligations, advice))
    obligations, advice = _directives(element, compiler)
    return Policy(policy_id, element.get("Version", "1.0"), compiler.target(_child(element, "Target")), rules,
                  algorithm, obligations, advice)


def _compile_policy_set(element: Any, repository: PolicyRepository | None) -> Policy:
    policy_set_id = required(element, "PolicySetId")
    algorithm_id = required(element, "PolicyCombiningAlgId")
    algorithm = POLICY_ALGORITHMS.get(algorithm_id)
    if algorithm is None:
        raise XacmlSyntaxError(f"unknown policy-combining algorithm {algorithm_id}")
    compiler = ExpressionCompiler()
    members: list[Any] = []
    for child in children(element):
        name = local_name(child)
        if name in ("Policy", "PolicySet"):
            members.append(compile_policy_element(child, repository))
        elif name in ("PolicyIdReference", "PolicySetIdReference"):
            constraints = VersionConstraints(child.get("Version"), child.get("EarliestVersion"),
                                             child.get("LatestVersion"))
            members.append(PolicyReference((child.text or "").strip(), name == "PolicySetIdReference",
                                           constraints, repository))
    obligations, advice = _directives(element, compiler)
    return Policy(policy_set_id, element.get("Version", "1.0"), compiler.target(_child(element, "Target")),
                  members, algorithm, obligations, advice, is_policy_set=True)
