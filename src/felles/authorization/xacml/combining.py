"""Rule- and policy-combining algorithms (XACML 3.0 appendix C), including the legacy 1.0/1.1 ones.

Each algorithm takes the children in document order (rules, policies, policy sets or references: anything
with ``evaluate(ctx) -> Outcome``; only-one-applicable also needs ``is_applicable(ctx)``) and returns an
``Outcome``. Obligations and advice of the children whose decision is the combined decision are carried up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from felles.authorization.xacml.context import EvaluationContext
from felles.authorization.xacml.model import (
    STATUS_PROCESSING_ERROR,
    Advice,
    EvaluationError,
    Obligation,
    Status,
)

# Decisions inside the engine, with XACML 3.0's extended Indeterminate (§7.10).
PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE_D, INDETERMINATE_P, INDETERMINATE_DP = range(6)
INDETERMINATE = (INDETERMINATE_D, INDETERMINATE_P, INDETERMINATE_DP)


class Outcome:
    __slots__ = ("advice", "decision", "obligations", "status")

    def __init__(self, decision: int, status: Status | None = None,
                 obligations: Sequence[Obligation] = (), advice: Sequence[Advice] = ()) -> None:
        self.decision = decision
        self.status = status
        self.obligations = obligations
        self.advice = advice

    def __repr__(self) -> str:
        return f"Outcome({self.decision}, {self.status}, {self.obligations}, {self.advice})"


NOT_APPLICABLE_OUTCOME = Outcome(NOT_APPLICABLE)


def status_of(error: EvaluationError) -> Status:
    return Status(error.status_code, error.message or None)


def _merge(decision: int, outcomes: list[Outcome]) -> Outcome:
    if len(outcomes) == 1:
        return outcomes[0]
    obligations = [o for outcome in outcomes for o in outcome.obligations]
    advice = [a for outcome in outcomes for a in outcome.advice]
    return Outcome(decision, None, obligations, advice)


def _overrides(children: Sequence[Any], ctx: EvaluationContext, winner: int) -> Outcome:
    """deny-overrides (winner=DENY) and permit-overrides (winner=PERMIT), XACML 3.0 C.2/C.3."""
    loser = PERMIT if winner == DENY else DENY
    ind_winner = INDETERMINATE_D if winner == DENY else INDETERMINATE_P
    ind_loser = INDETERMINATE_P if winner == DENY else INDETERMINATE_D
    losers: list[Outcome] = []
    err_winner = err_loser = err_both = None
    for child in children:
        outcome = child.evaluate(ctx)
        decision = outcome.decision
        if decision == winner:
            return outcome
        if decision == loser:
            losers.append(outcome)
        elif decision == ind_winner:
            err_winner = err_winner or outcome
        elif decision == ind_loser:
            err_loser = err_loser or outcome
        elif decision == INDETERMINATE_DP:
            err_both = err_both or outcome
    if err_both:
        return Outcome(INDETERMINATE_DP, err_both.status)
    if err_winner and (err_loser or losers):
        return Outcome(INDETERMINATE_DP, err_winner.status)
    if err_winner:
        return err_winner
    if losers:
        return _merge(loser, losers)
    if err_loser:
        return err_loser
    return NOT_APPLICABLE_OUTCOME


def deny_overrides(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    return _overrides(children, ctx, DENY)


def permit_overrides(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    return _overrides(children, ctx, PERMIT)


def first_applicable(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    for child in children:
        outcome = child.evaluate(ctx)
        if outcome.decision != NOT_APPLICABLE:
            return outcome
    return NOT_APPLICABLE_OUTCOME


def only_one_applicable(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    selected = None
    for child in children:
        try:
            applicable = child.is_applicable(ctx)
        except EvaluationError as exc:
            return Outcome(INDETERMINATE_DP, status_of(exc))
        if applicable:
            if selected is not None:
                return Outcome(INDETERMINATE_DP, Status(STATUS_PROCESSING_ERROR, "more than one policy applies"))
            selected = child
    return selected.evaluate(ctx) if selected is not None else NOT_APPLICABLE_OUTCOME


def _unless(children: Sequence[Any], ctx: EvaluationContext, winner: int) -> Outcome:
    """deny-unless-permit (winner=PERMIT) and permit-unless-deny (winner=DENY), C.10/C.11."""
    default = DENY if winner == PERMIT else PERMIT
    defaults: list[Outcome] = []
    for child in children:
        outcome = child.evaluate(ctx)
        if outcome.decision == winner:
            return outcome
        if outcome.decision == default:
            defaults.append(outcome)
    return _merge(default, defaults) if defaults else Outcome(default)


def deny_unless_permit(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    return _unless(children, ctx, PERMIT)


def permit_unless_deny(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    return _unless(children, ctx, DENY)


def _legacy_rule_overrides(children: Sequence[Any], ctx: EvaluationContext, winner: int) -> Outcome:
    """XACML 1.0 rule deny-/permit-overrides: an error in a rule that could have won is Indeterminate."""
    loser = PERMIT if winner == DENY else DENY
    ind_winner = INDETERMINATE_D if winner == DENY else INDETERMINATE_P
    losers: list[Outcome] = []
    potential_winner = error = None
    for child in children:
        outcome = child.evaluate(ctx)
        decision = outcome.decision
        if decision == winner:
            return outcome
        if decision == loser:
            losers.append(outcome)
        elif decision in INDETERMINATE:
            error = error or outcome
            if decision in (ind_winner, INDETERMINATE_DP):
                potential_winner = potential_winner or outcome
    if potential_winner:
        return Outcome(ind_winner, potential_winner.status)
    if losers:
        return _merge(loser, losers)
    if error:
        return error
    return NOT_APPLICABLE_OUTCOME


def _legacy_policy_deny_overrides(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    """XACML 1.0 policy deny-overrides: an Indeterminate policy counts as Deny."""
    permits: list[Outcome] = []
    for child in children:
        outcome = child.evaluate(ctx)
        if outcome.decision == DENY:
            return outcome
        if outcome.decision == PERMIT:
            permits.append(outcome)
        elif outcome.decision in INDETERMINATE:
            return Outcome(DENY)
    return _merge(PERMIT, permits) if permits else NOT_APPLICABLE_OUTCOME


def _legacy_policy_permit_overrides(children: Sequence[Any], ctx: EvaluationContext) -> Outcome:
    denies: list[Outcome] = []
    error = None
    for child in children:
        outcome = child.evaluate(ctx)
        if outcome.decision == PERMIT:
            return outcome
        if outcome.decision == DENY:
            denies.append(outcome)
        elif outcome.decision in INDETERMINATE:
            error = error or outcome
    if denies:
        return _merge(DENY, denies)
    if error:
        return Outcome(INDETERMINATE_DP, error.status)
    return NOT_APPLICABLE_OUTCOME


Algorithm = Callable[[Sequence[Any], EvaluationContext], Outcome]

_R1 = "urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:"
_R11 = "urn:oasis:names:tc:xacml:1.1:rule-combining-algorithm:"
_R3 = "urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:"
_P1 = "urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:"
_P11 = "urn:oasis:names:tc:xacml:1.1:policy-combining-algorithm:"
_P3 = "urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:"

RULE_ALGORITHMS: dict[str, Algorithm] = {
    _R3 + "deny-overrides": deny_overrides,
    _R3 + "ordered-deny-overrides": deny_overrides,
    _R3 + "permit-overrides": permit_overrides,
    _R3 + "ordered-permit-overrides": permit_overrides,
    _R3 + "deny-unless-permit": deny_unless_permit,
    _R3 + "permit-unless-deny": permit_unless_deny,
    _R1 + "first-applicable": first_applicable,
    _R1 + "deny-overrides": lambda c, ctx: _legacy_rule_overrides(c, ctx, DENY),
    _R1 + "permit-overrides": lambda c, ctx: _legacy_rule_overrides(c, ctx, PERMIT),
    _R11 + "ordered-deny-overrides": lambda c, ctx: _legacy_rule_overrides(c, ctx, DENY),
    _R11 + "ordered-permit-overrides": lambda c, ctx: _legacy_rule_overrides(c, ctx, PERMIT),
}

POLICY_ALGORITHMS: dict[str, Algorithm] = {
    _P3 + "deny-overrides": deny_overrides,
    _P3 + "ordered-deny-overrides": deny_overrides,
    _P3 + "permit-overrides": permit_overrides,
    _P3 + "ordered-permit-overrides": permit_overrides,
    _P3 + "deny-unless-permit": deny_unless_permit,
    _P3 + "permit-unless-deny": permit_unless_deny,
    _P1 + "first-applicable": first_applicable,
    _P1 + "only-one-applicable": only_one_applicable,
    _P1 + "deny-overrides": _legacy_policy_deny_overrides,
    _P1 + "permit-overrides": _legacy_policy_permit_overrides,
    _P11 + "ordered-deny-overrides": _legacy_policy_deny_overrides,
    _P11 + "ordered-permit-overrides": _legacy_policy_permit_overrides,
}

# Algorithms that return NotApplicable when every child is NotApplicable: only for these may the index
# skip a policy because none of its rules can apply.
NOT_APPLICABLE_WHEN_ALL_ARE = frozenset(
    alg for alg in (*RULE_ALGORITHMS.values(), *POLICY_ALGORITHMS.values())
    if alg not in (deny_unless_permit, permit_unless_deny)
)
