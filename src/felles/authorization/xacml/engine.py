"""The Policy Decision Point: a compiled, indexed policy store and ``decide(request) -> Response``."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from felles.authorization.xacml.combining import (
    DENY,
    NOT_APPLICABLE,
    PERMIT,
    POLICY_ALGORITHMS,
    Algorithm,
    Outcome,
)
from felles.authorization.xacml.context import AsyncAttributeProvider, AttributeProvider, EvaluationContext
from felles.authorization.xacml.expressions import Apply, Designator, Expression, Match, Target
from felles.authorization.xacml.model import (
    STATUS_PROCESSING_ERROR,
    STATUS_SYNTAX_ERROR,
    AttributeKey,
    Attributes,
    Decision,
    Request,
    Response,
    Result,
    Status,
    XacmlSyntaxError,
)
from felles.authorization.xacml.policies import (
    BrokenPolicy,
    ConstraintIndex,
    Policy,
    PolicyReference,
    Rule,
    VersionConstraints,
    compile_policy_element,
    target_constraints,
)
from felles.authorization.xacml.xml_io import parse_xml

DENY_OVERRIDES = "urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:deny-overrides"
ONLY_ONE_APPLICABLE = "urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:only-one-applicable"

_DECISIONS = {PERMIT: Decision.PERMIT, DENY: Decision.DENY, NOT_APPLICABLE: Decision.NOT_APPLICABLE}

PolicySource = str | bytes | Path | Any


class PolicyStore:
    """Compiled policies: the root policies a decision combines, and those only reachable by reference.

    ``root_algorithm`` combines the root policies that apply to a request. Altinn keeps one policy per resource,
    so deny-overrides (the default) never sees more than one; the XACML conformance suite expects
    only-one-applicable when several root policies are loaded (test IID030).
    """

    def __init__(self, root_algorithm: str = DENY_OVERRIDES) -> None:
        algorithm = POLICY_ALGORITHMS.get(root_algorithm)
        if algorithm is None:
            raise ValueError(f"unknown policy-combining algorithm {root_algorithm}")
        self._algorithm: Algorithm = algorithm
        self._roots: dict[str, Any] = {}
        self._referenceable: dict[tuple[str, bool], list[Any]] = {}
        self._index: ConstraintIndex | None = None
        self._referenced: dict[int, tuple[Any, frozenset[AttributeKey]]] = {}

    def compile(self, source: PolicySource) -> Any:
        """Compile a policy document (XML text, bytes, a path or a parsed element).

        A document that is not valid XACML compiles to a policy that is Indeterminate (syntax-error) when
        evaluated, so one bad policy file does not stop the others; ``XacmlSyntaxError`` is raised only when
        the document is not XML at all.
        """
        element = source if hasattr(source, "tag") else parse_xml(source)
        try:
            return compile_policy_element(element, self)
        except XacmlSyntaxError as exc:
            policy_id = element.get("PolicyId") or element.get("PolicySetId") or "(unnamed policy)"
            return BrokenPolicy(policy_id, str(exc), element.get("PolicySetId") is not None)

    def add(self, source: PolicySource, *, root: bool = True) -> Any:
        """Add a policy or policy set; ``root=False`` makes it reachable only through references."""
        policy = self.compile(source)
        self._referenceable.setdefault((policy.id, policy.is_policy_set), []).append(policy)
        if root:
            self._roots[policy.id] = policy
            self._index = None
        return policy

    def remove(self, policy_id: str) -> None:
        self._roots.pop(policy_id, None)
        for key in [(policy_id, False), (policy_id, True)]:
            self._referenceable.pop(key, None)
        self._index = None

    @property
    def policies(self) -> list[Any]:
        return list(self._roots.values())

    def find_referenced(self, policy_id: str, is_policy_set: bool, constraints: VersionConstraints) -> Any:
        candidates = [p for p in self._referenceable.get((policy_id, is_policy_set), [])
                      if constraints.accepts(p.version)]
        if not candidates:
            return None
        return max(candidates, key=lambda p: [int(x) for x in p.version.split(".") if x.isdigit()])

    def candidates(self, ctx: EvaluationContext) -> list[Any]:
        """Root policies that can apply to the request (the others are NotApplicable without evaluation)."""
        index = self._index
        if index is None:
            roots = list(self._roots.values())
            if len(roots) < 2:
                # Nothing to choose between: the policy's own rule index does the work.
                return roots
            algorithm_lifts_rules = self._algorithm is not POLICY_ALGORITHMS[ONLY_ONE_APPLICABLE]
            constraints = [
                (p.constraints() if algorithm_lifts_rules else _target_only(p)) if isinstance(p, Policy) else {}
                for p in roots
            ]
            index = self._index = ConstraintIndex(roots, constraints)
        return index.candidates(ctx)

    def evaluate(self, ctx: EvaluationContext) -> Outcome:
        return self._algorithm(self.candidates(ctx), ctx)

    def referenced(self, policy: Any) -> frozenset[AttributeKey]:
        """``referenced_attributes(policy)``, computed once per compiled policy."""
        hit = self._referenced.get(id(policy))
        if hit is None or hit[0] is not policy:
            hit = (policy, frozenset(referenced_attributes(policy)))
            self._referenced[id(policy)] = hit
        return hit[1]


def _target_only(policy: Policy) -> dict[AttributeKey, frozenset[Any]]:
    return target_constraints(policy.target)


class PolicyDecisionPoint:
    """Answers XACML requests from a ``PolicyStore``.

    ``attribute_provider`` (a Policy Information Point) is asked for attributes a policy needs and the request
    lacks; ``clock`` supplies the environment's current time (so tests can fix it).
    """

    def __init__(self, store: PolicyStore | None = None, attribute_provider: AttributeProvider | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store or PolicyStore()
        self.attribute_provider = attribute_provider
        self.clock = clock

    # ------------------------------------------------------------ synchronous

    def decide(self, request: Request, attribute_provider: AttributeProvider | None = None) -> Response:
        """Evaluate every individual request in ``request`` (MultiRequests or repeated categories)."""
        provider = attribute_provider or self.attribute_provider
        try:
            individual = individual_requests(request)
        except XacmlSyntaxError as exc:
            return Response([Result(Decision.INDETERMINATE, Status(STATUS_SYNTAX_ERROR, str(exc)))])
        results = [self._decide_one(request, attributes, provider) for attributes in individual]
        return Response(_combined(results) if request.combined_decision else results)

    def _context(self, request: Request, attributes: list[Attributes],
                 provider: AttributeProvider | None) -> EvaluationContext:
        now = self.clock() if self.clock is not None else None
        return EvaluationContext(attributes, provider, now, request.return_policy_id_list)

    def _decide_one(self, request: Request, attributes: list[Attributes],
                    provider: AttributeProvider | None) -> Result:
        ctx = self._context(request, attributes, provider)
        return _result(self.store.evaluate(ctx), ctx, attributes)

    # ------------------------------------------------------------ asynchronous PIP

    async def decide_async(self, request: Request, attribute_provider: AsyncAttributeProvider) -> Response:
        """Like ``decide``, with an awaited provider: every attribute the applicable policies refer to and the
        request lacks is fetched first (concurrently), then the request is evaluated without waiting."""
        try:
            individual = individual_requests(request)
        except XacmlSyntaxError as exc:
            return Response([Result(Decision.INDETERMINATE, Status(STATUS_SYNTAX_ERROR, str(exc)))])
        results = await asyncio.gather(*(self._decide_one_async(request, a, attribute_provider)
                                         for a in individual))
        return Response(_combined(list(results)) if request.combined_decision else list(results))

    async def _decide_one_async(self, request: Request, attributes: list[Attributes],
                                provider: AsyncAttributeProvider) -> Result:
        ctx = self._context(request, attributes, None)
        policies = self.store.candidates(ctx)
        wanted = sorted({key for policy in policies for key in self.store.referenced(policy)
                         if not ctx.has_attribute(key)}, key=repr)
        try:
            found = await asyncio.gather(*(provider.find_attribute(key, ctx) for key in wanted))
        except Exception as exc:  # noqa: BLE001 - any provider failure makes this decision Indeterminate
            status_code = getattr(exc, "status_code", STATUS_PROCESSING_ERROR)
            return Result(Decision.INDETERMINATE, Status(status_code, f"attribute provider: {exc}"))
        for key, values in zip(wanted, found, strict=True):
            try:
                ctx.add_values(key, values or ())
            except ValueError as exc:
                return Result(Decision.INDETERMINATE, Status(STATUS_PROCESSING_ERROR, f"attribute provider: {exc}"))
        return _result(self.store.evaluate(ctx), ctx, attributes)


def individual_requests(request: Request) -> list[list[Attributes]]:
    """Split a request into individual requests (Multiple Decision Profile §2.2/§2.3).

    With MultiRequests each RequestReference names the Attributes (by Id) of one request; without it, a
    category given more than once yields one request per combination.
    """
    if request.multi_requests:
        by_id: dict[str, Attributes] = {}
        for entity in request.attributes:
            if entity.id is not None:
                by_id[entity.id] = entity
        shared = [e for e in request.attributes if e.id is None]
        individual = []
        for reference in request.multi_requests:
            missing = [r for r in reference if r not in by_id]
            if missing:
                raise XacmlSyntaxError(f"RequestReference names unknown Attributes {missing}")
            individual.append(shared + [by_id[r] for r in reference])
        return individual
    groups: dict[str, list[Attributes]] = {}
    for entity in request.attributes:
        groups.setdefault(entity.category, []).append(entity)
    if all(len(g) == 1 for g in groups.values()):
        return [request.attributes]
    return [list(combination) for combination in itertools.product(*groups.values())]


def _result(outcome: Outcome, ctx: EvaluationContext, attributes: list[Attributes]) -> Result:
    decision = _DECISIONS.get(outcome.decision, Decision.INDETERMINATE)
    result = Result(decision, outcome.status or Status())
    if decision in (Decision.PERMIT, Decision.DENY):
        result.obligations = list(outcome.obligations)
        result.advice = list(outcome.advice)
    elif decision == Decision.NOT_APPLICABLE:
        result.status = Status()
    for entity in attributes:
        echoed = [a for a in entity.attributes if a.include_in_result]
        if echoed:
            result.attributes.append(Attributes(entity.category, echoed, id=entity.id))
    if ctx.policy_identifiers is not None:
        # The policies that decided: those whose own decision is the final one (conformance IIIG300).
        result.policy_identifiers = list(dict.fromkeys(
            identifier for identifier, decision in ctx.policy_identifiers
            if _DECISIONS.get(decision, Decision.INDETERMINATE) == result.decision))
    return result


def _combined(results: list[Result]) -> list[Result]:
    """CombinedDecision: one result, the common decision, or Indeterminate if they differ (MDP §3)."""
    decisions = {r.decision for r in results}
    if len(decisions) == 1 and not any(r.obligations or r.advice for r in results):
        return [Result(results[0].decision, results[0].status)]
    return [Result(Decision.INDETERMINATE, Status(STATUS_PROCESSING_ERROR, "the individual decisions differ"))]


# ---------------------------------------------------------------- which attributes a policy reads


def referenced_attributes(element: Any) -> set[AttributeKey]:
    """Every attribute an element's designators ask for (references are followed if already resolved)."""
    keys: set[AttributeKey] = set()
    _collect(element, keys, set())
    return keys


def _collect(node: Any, keys: set[AttributeKey], seen: set[int]) -> None:
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Designator):
        keys.add(node.key)
    elif isinstance(node, Apply):
        for arg in node.args:
            _collect(arg, keys, seen)
    elif isinstance(node, Match):
        _collect(node.source, keys, seen)
    elif isinstance(node, Target):
        for match in _flatten(node.any_ofs):
            _collect(match, keys, seen)
    elif isinstance(node, Rule):
        for part in (node.target, node.condition, *_directive_expressions(node)):
            _collect(part, keys, seen)
    elif isinstance(node, Policy):
        for part in (node.target, *node.rules, *_directive_expressions(node)):
            _collect(part, keys, seen)
    elif isinstance(node, PolicyReference):
        try:
            _collect(node.resolve(), keys, seen)
        except Exception:  # noqa: BLE001, S110 - an unresolved reference reads no attributes
            pass


def _flatten(any_ofs: list[list[list[Match]]]) -> Iterable[Match]:
    return (match for any_of in any_ofs for all_of in any_of for match in all_of)


def _directive_expressions(node: Any) -> Iterable[Expression]:
    return (a.expression for d in (*node.obligations, *node.advice) for a in d.assignments)
