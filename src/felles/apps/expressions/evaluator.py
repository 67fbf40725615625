"""Compiling and evaluating expressions.

An expression is compiled once into nested Python closures (validation happens then: unknown functions,
argument counts, literal-only arguments) and can then be evaluated many times against different
contexts. Evaluation is eager, like Altinn's: every argument is evaluated and cast before the function
runs, so ``["or", true, "yes"]`` is an error even though the first argument is already true.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from felles.apps.expressions.errors import ExpressionError, InvalidExpressionError

if TYPE_CHECKING:
    from felles.apps.expressions.context import ExpressionContext

Compiled = Callable[["ExpressionContext"], Any]


def _constant(value: Any) -> Compiled:
    return lambda _ctx: value


def arity_message(minimum: int, maximum: int | None, got: int) -> str:
    """Altinn's wording for a wrong argument count (both suites match on "Invalid" or on the count)."""
    if maximum is None:
        expected = f"{minimum}+"
    elif minimum == maximum:
        expected = str(minimum)
    else:
        expected = f"{minimum}-{maximum}"
    return f"Invalid number of arguments: Expected {expected} argument(s), got {got}"


def compile_expression(expression: Any) -> Compiled:
    """Validate ``expression`` and turn it into a callable taking an :class:`ExpressionContext`."""
    from felles.apps.expressions.functions import FUNCTIONS

    if isinstance(expression, dict):
        if set(expression) == {"function", "args"} and isinstance(expression["args"], list):
            # the backend's legacy object form
            return compile_expression([expression["function"], *expression["args"]])
        raise InvalidExpressionError('Invalid type "object"')
    if not isinstance(expression, list):
        return _constant(expression)
    if not expression:
        raise InvalidExpressionError("Missing function name in expression")
    name = expression[0]
    if isinstance(name, list):
        if not name:
            raise InvalidExpressionError("Missing function name in expression")
        raise InvalidExpressionError("Function name in expression should be string")
    if not isinstance(name, str):
        raise InvalidExpressionError("Function name in expression should be string")
    spec = FUNCTIONS.get(name)
    if spec is None:
        raise InvalidExpressionError(f'Function "{name}" not implemented')
    raw_args = expression[1:]
    count = len(raw_args)
    # arguments are validated before the argument count, as in Altinn (nested errors are reported first)
    compiled_args = [compile_expression(arg) for arg in raw_args]
    if spec.check_arguments is not None:
        spec.check_arguments(raw_args)
    elif count < spec.minimum or (spec.maximum is not None and count > spec.maximum):
        raise InvalidExpressionError(arity_message(spec.minimum, spec.maximum, count))
    if spec.compile is not None:
        return spec.compile(raw_args)
    casters = [spec.caster_for(index) for index in range(count)]
    implementation = spec.implementation
    pairs = list(zip(compiled_args, casters, strict=True))
    # a literal argument is cast once, here; one whose cast fails stays dynamic so the error comes at
    # evaluation, in argument order, as before
    folded: list[tuple[bool, Any]] = []
    for raw, (_, cast) in zip(raw_args, pairs, strict=True):
        if isinstance(raw, list | dict):
            folded.append((False, None))
            continue
        try:
            folded.append((True, cast(raw)))
        except ExpressionError:
            folded.append((False, None))
    if count == 0:
        return lambda ctx: implementation(ctx)
    if count == 1:
        ((arg0, cast0),) = pairs
        if folded[0][0]:
            value0 = folded[0][1]
            return lambda ctx: implementation(ctx, value0)
        return lambda ctx: implementation(ctx, cast0(arg0(ctx)))
    if count == 2:
        (arg0, cast0), (arg1, cast1) = pairs
        (fixed0, value0), (fixed1, value1) = folded
        if fixed0 and fixed1:
            return lambda ctx: implementation(ctx, value0, value1)
        if fixed1:
            return lambda ctx: implementation(ctx, cast0(arg0(ctx)), value1)
        if fixed0:
            return lambda ctx: implementation(ctx, value0, cast1(arg1(ctx)))
        return lambda ctx: implementation(ctx, cast0(arg0(ctx)), cast1(arg1(ctx)))
    steps = [
        (value, None, None) if fixed else (None, arg, cast)
        for (fixed, value), (arg, cast) in zip(folded, pairs, strict=True)
    ]
    return lambda ctx: implementation(ctx, *[value if arg is None else cast(arg(ctx)) for value, arg, cast in steps])


_CACHE: dict[str, Compiled] = {}


def compile_cached(expression: Any) -> Compiled:
    """Compile with a process-wide cache keyed by the expression's JSON (layouts repeat expressions a lot)."""
    if not isinstance(expression, list | dict):
        return _constant(expression)
    key = json.dumps(expression, sort_keys=True)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = compile_expression(expression)
        if len(_CACHE) < 100_000:
            _CACHE[key] = compiled
    return compiled


def evaluate(expression: Any, context: ExpressionContext) -> Any:
    """Validate and evaluate ``expression`` in ``context``; raises ExpressionError with Altinn's message."""
    return compile_cached(expression)(context)


def is_expression(value: Any) -> bool:
    """Whether a layout property holds an expression (an array) rather than a plain value."""
    return isinstance(value, list)
