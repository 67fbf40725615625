"""Compiled XACML expressions (Apply, AttributeValue, AttributeDesignator, AttributeSelector, Function,
VariableReference) and targets (Target / AnyOf / AllOf / Match).

Policies are type-checked when compiled. A static error does not reject the whole policy: the offending
expression compiles to ``StaticError``, which is Indeterminate only if evaluation reaches it (conformance
IIC003, IIE003).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from lxml import etree

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.context import EvaluationContext
from felles.authorization.xacml.functions import EQUALITY_FUNCTIONS, F3, FUNCTIONS, Function
from felles.authorization.xacml.model import (
    STATUS_MISSING_ATTRIBUTE,
    STATUS_PROCESSING_ERROR,
    STATUS_SYNTAX_ERROR,
    AttributeKey,
    EvaluationError,
    XacmlSyntaxError,
)

_CONVERTIBLE_ERRORS = (ValueError, ArithmeticError, TypeError, IndexError, OverflowError)


def local_name(element: Any) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def children(element: Any) -> list[Any]:
    return [c for c in element if isinstance(c.tag, str)]


def required(element: Any, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise XacmlSyntaxError(f"<{local_name(element)}> lacks the {name} attribute")
    return value


class Expression:
    """Something that evaluates to a value or (if ``is_bag``) a tuple of values of ``data_type``."""

    __slots__ = ("data_type", "is_bag")
    data_type: str | None
    is_bag: bool

    def evaluate(self, ctx: EvaluationContext) -> Any:
        raise NotImplementedError


class Literal(Expression):
    __slots__ = ("value",)

    def __init__(self, value: Any, data_type: str) -> None:
        self.value, self.data_type, self.is_bag = value, data_type, False

    def evaluate(self, ctx: EvaluationContext) -> Any:
        return self.value


class StaticError(Expression):
    """An expression that could not be compiled; Indeterminate when evaluated."""

    __slots__ = ("message", "status_code")

    def __init__(self, status_code: str, message: str, data_type: str | None = None, is_bag: bool = False):
        self.status_code, self.message, self.data_type, self.is_bag = status_code, message, data_type, is_bag

    def evaluate(self, ctx: EvaluationContext) -> Any:
        raise EvaluationError(self.status_code, self.message)


class Designator(Expression):
    __slots__ = ("key", "must_be_present")

    def __init__(self, key: AttributeKey, must_be_present: bool) -> None:
        self.key, self.must_be_present = key, must_be_present
        self.data_type, self.is_bag = key.data_type, True

    def evaluate(self, ctx: EvaluationContext) -> tuple[Any, ...]:
        bag = ctx.bag(self.key)
        if not bag and self.must_be_present:
            raise EvaluationError(STATUS_MISSING_ATTRIBUTE,
                                  f"missing attribute {self.key.attribute_id} ({self.key.category})")
        return bag


def _node_text(node: Any) -> str:
    if isinstance(node, str):
        return str(node)
    if isinstance(node, etree._Element):
        return "".join(node.itertext())
    return str(node)


def _xpath_namespaces(element: Any) -> dict[str, str]:
    return {prefix: uri for prefix, uri in (element.nsmap or {}).items() if prefix}


class Selector(Expression):
    """AttributeSelector: values picked from a category's <Content> with XPath (optional feature, §5.30)."""

    __slots__ = ("category", "context_selector_id", "must_be_present", "namespaces", "path")

    def __init__(self, category: str, path: str, context_selector_id: str | None, data_type: str,
                 must_be_present: bool, namespaces: dict[str, str]) -> None:
        self.category, self.path, self.context_selector_id = category, path, context_selector_id
        self.data_type, self.is_bag, self.must_be_present = data_type, True, must_be_present
        self.namespaces = namespaces

    def evaluate(self, ctx: EvaluationContext) -> tuple[Any, ...]:
        nodes = select_nodes(ctx, self.category, self.path, self.namespaces, self.context_selector_id)
        try:
            values = tuple(dt.parse_value(self.data_type, _node_text(n)) for n in nodes)
        except dt.InvalidValueError as exc:
            raise EvaluationError(STATUS_SYNTAX_ERROR, str(exc)) from None
        if not values and self.must_be_present:
            raise EvaluationError(STATUS_MISSING_ATTRIBUTE, f"nothing selected by {self.path}")
        return values


def select_nodes(ctx: EvaluationContext, category: str, path: str, namespaces: dict[str, str],
                 context_selector_id: str | None = None) -> list[Any]:
    content = ctx.content(category)
    if content is None:
        return []
    context_node = content
    if context_selector_id is not None:
        contexts = ctx.bag(AttributeKey(category, context_selector_id, dt.XPATHEXPRESSION))
        if len(contexts) != 1:
            raise EvaluationError(STATUS_PROCESSING_ERROR, "ContextSelectorId must select exactly one node")
        found = select_nodes(ctx, contexts[0].category, contexts[0].path, dict(contexts[0].namespaces))
        if len(found) != 1:
            raise EvaluationError(STATUS_PROCESSING_ERROR, "ContextSelectorId must select exactly one node")
        context_node = found[0]
    try:
        result = context_node.xpath(path, namespaces=namespaces)
    except (etree.XPathError, TypeError) as exc:
        raise EvaluationError(STATUS_PROCESSING_ERROR, f"XPath {path!r}: {exc}") from None
    if not isinstance(result, list):
        raise EvaluationError(STATUS_PROCESSING_ERROR, f"XPath {path!r} does not select nodes")
    return result


class FunctionRef(Expression):
    """A <Function> argument of a higher-order function."""

    __slots__ = ("function",)

    def __init__(self, function: Function) -> None:
        self.function, self.data_type, self.is_bag = function, None, False

    def evaluate(self, ctx: EvaluationContext) -> Any:
        raise EvaluationError(STATUS_PROCESSING_ERROR, "a function is not a value")


class Apply(Expression):
    __slots__ = ("args", "function", "impl")

    def __init__(self, function: Function, args: list[Expression], data_type: str | None, is_bag: bool) -> None:
        self.function, self.args, self.impl = function, args, function.impl
        self.data_type, self.is_bag = data_type, is_bag

    def evaluate(self, ctx: EvaluationContext) -> Any:
        kind = self.function.kind
        try:
            if kind == "plain":
                return self.impl(*[a.evaluate(ctx) for a in self.args])  # type: ignore[misc]
            if kind == "and":
                return _lazy_and(self.args, ctx)
            if kind == "or":
                return _lazy_or(self.args, ctx)
            if kind == "n-of":
                return _n_of(self.args, ctx)
            if kind == "context":
                return self.impl(ctx, *[a.evaluate(ctx) for a in self.args])  # type: ignore[misc]
            return _higher_order(self.function.id, self.args, ctx)
        except EvaluationError:
            raise
        except _CONVERTIBLE_ERRORS as exc:
            raise EvaluationError(STATUS_PROCESSING_ERROR, f"{self.function.id}: {exc}") from None


def _lazy_and(args: Sequence[Expression | Match], ctx: EvaluationContext) -> bool:
    """XACML's conjunction, for the `and` function and for an AllOf's matches alike: any False decides False,
    even after an error; otherwise the first error stands; otherwise True."""
    error = None
    for arg in args:
        try:
            if not arg.evaluate(ctx):
                return False
        except EvaluationError as exc:
            error = error or exc
    if error:
        raise error
    return True


def _lazy_or(args: list[Expression], ctx: EvaluationContext) -> bool:
    error = None
    for arg in args:
        try:
            if arg.evaluate(ctx):
                return True
        except EvaluationError as exc:
            error = error or exc
    if error:
        raise error
    return False


def _n_of(args: list[Expression], ctx: EvaluationContext) -> bool:
    needed = args[0].evaluate(ctx)
    rest = args[1:]
    if needed > len(rest):
        raise EvaluationError(STATUS_PROCESSING_ERROR, f"n-of needs {needed} of {len(rest)} arguments")
    if needed <= 0:
        return True
    count, error = 0, None
    for arg in rest:
        try:
            if arg.evaluate(ctx):
                count += 1
                if count >= needed:
                    return True
        except EvaluationError as exc:
            error = error or exc
    if error:
        raise error
    return False


def _call(function: Function, values: list[Any]) -> Any:
    return function.impl(*values)  # type: ignore[misc]


def _higher_order(function_id: str, args: list[Expression], ctx: EvaluationContext) -> Any:
    name = function_id.rpartition(":")[2]
    function = args[0].function  # type: ignore[attr-defined]
    values = [a.evaluate(ctx) for a in args[1:]]
    if name in ("any-of", "all-of", "map"):
        *fixed, bag = values
        if name == "any-of":
            return any(_call(function, [*fixed, v]) for v in bag)
        if name == "all-of":
            return all(_call(function, [*fixed, v]) for v in bag)
        return tuple(_call(function, [*fixed, v]) for v in bag)
    if name == "any-of-any":
        pools = [v if isinstance(v, tuple) else (v,) for v in values]
        return any(_call(function, list(combo)) for combo in itertools.product(*pools))
    first, second = values
    if name == "all-of-any":
        return all(any(_call(function, [a, b]) for b in second) for a in first)
    if name == "any-of-all":
        return any(all(_call(function, [a, b]) for b in second) for a in first)
    return all(_call(function, [a, b]) for a in first for b in second)  # all-of-all


# ---------------------------------------------------------------- XPath functions (optional, A.3.15)


def _xpath_nodes(ctx: EvaluationContext, expression: dt.XPathExpression) -> list[Any]:
    return select_nodes(ctx, expression.category, expression.path, dict(expression.namespaces))


def _xpath_node_equal(ctx: EvaluationContext, a: dt.XPathExpression, b: dt.XPathExpression) -> bool:
    second = _xpath_nodes(ctx, b)
    return any(any(x is y for y in second) for x in _xpath_nodes(ctx, a))


def _xpath_node_match(ctx: EvaluationContext, a: dt.XPathExpression, b: dt.XPathExpression) -> bool:
    """True if a node of ``b`` is a node of ``a`` or lies inside one (A.3.15)."""
    first = _xpath_nodes(ctx, a)
    for node in _xpath_nodes(ctx, b):
        element = node if isinstance(node, etree._Element) else getattr(node, "getparent", lambda: None)()
        if any(node is candidate for candidate in first):
            return True
        while element is not None:
            if any(element is candidate for candidate in first):
                return True
            element = element.getparent()
    return False


_XPATH = (dt.XPATHEXPRESSION, False)
for _fid, _params, _returns, _impl in (
    (F3 + "xpath-node-count", (_XPATH,), (dt.INTEGER, False), lambda ctx, x: len(_xpath_nodes(ctx, x))),
    (F3 + "xpath-node-equal", (_XPATH, _XPATH), (dt.BOOLEAN, False), _xpath_node_equal),
    (F3 + "xpath-node-match", (_XPATH, _XPATH), (dt.BOOLEAN, False), _xpath_node_match),
):
    FUNCTIONS[_fid] = Function(_fid, _params, _returns, _impl, kind="context")


# ---------------------------------------------------------------- targets

class Match:
    """<Match>: the match function applied to the literal and each value of the designator's bag."""

    __slots__ = ("equality", "error", "function", "key", "literal", "source")

    def __init__(self, function: Function | None, literal: Any, source: Expression, error: StaticError | None):
        self.function, self.literal, self.source, self.error = function, literal, source, error
        self.equality = function is not None and function.id in EQUALITY_FUNCTIONS
        self.key = source.key if isinstance(source, Designator) else None

    def evaluate(self, ctx: EvaluationContext) -> bool:
        if self.error is not None:
            self.error.evaluate(ctx)
        bag = self.source.evaluate(ctx)
        if self.equality:
            return self.literal in bag
        impl = self.function.impl  # type: ignore[union-attr]
        error = None
        for value in bag:
            try:
                if impl(self.literal, value):  # type: ignore[misc]
                    return True
            except EvaluationError as exc:
                error = error or exc
            except _CONVERTIBLE_ERRORS as exc:
                error = error or EvaluationError(STATUS_PROCESSING_ERROR, str(exc))
        if error:
            raise error
        return False


class Target:
    """Conjunction of AnyOf, each a disjunction of AllOf, each a conjunction of Match (spec §7.7)."""

    __slots__ = ("any_ofs",)

    def __init__(self, any_ofs: list[list[list[Match]]]) -> None:
        self.any_ofs = any_ofs

    def matches(self, ctx: EvaluationContext) -> bool:
        """True (Match), False (No match), or raises EvaluationError (Indeterminate)."""
        error = None
        for any_of in self.any_ofs:
            try:
                if not _any_of_matches(any_of, ctx):
                    return False
            except EvaluationError as exc:
                error = error or exc
        if error:
            raise error
        return True


def _any_of_matches(any_of: list[list[Match]], ctx: EvaluationContext) -> bool:
    error = None
    for all_of in any_of:
        try:
            if _lazy_and(all_of, ctx):
                return True
        except EvaluationError as exc:
            error = error or exc
    if error:
        raise error
    return False




# ---------------------------------------------------------------- compiling from XML


class ExpressionCompiler:
    """Compiles the expression elements of one Policy (its VariableDefinitions are in scope)."""

    def __init__(self, variable_elements: dict[str, Any] | None = None) -> None:
        self._variable_elements = variable_elements or {}
        self._variables: dict[str, Expression] = {}
        self._compiling: set[str] = set()

    def variable(self, variable_id: str) -> Expression:
        if variable_id in self._variables:
            return self._variables[variable_id]
        element = self._variable_elements.get(variable_id)
        if element is None or variable_id in self._compiling:
            return StaticError(STATUS_SYNTAX_ERROR, f"undefined or cyclic variable {variable_id!r}")
        self._compiling.add(variable_id)
        expression_elements = children(element)
        if len(expression_elements) != 1:
            raise XacmlSyntaxError(f"VariableDefinition {variable_id} must hold one expression")
        compiled = self.compile(expression_elements[0])
        self._compiling.discard(variable_id)
        self._variables[variable_id] = compiled
        return compiled

    def attribute_value(self, element: Any) -> Literal | StaticError:
        data_type = dt.canonical_data_type(required(element, "DataType"))
        if data_type == dt.XPATHEXPRESSION:
            category = required(element, "XPathCategory")
            namespaces = tuple(sorted(_xpath_namespaces(element).items()))
            return Literal(dt.XPathExpression((element.text or "").strip(), category, namespaces), data_type)
        if not dt.is_known_data_type(data_type):
            return StaticError(STATUS_SYNTAX_ERROR, f"unknown data type {data_type}", data_type)
        try:
            return Literal(dt.parse_value(data_type, element.text or ""), data_type)
        except dt.InvalidValueError as exc:
            return StaticError(STATUS_SYNTAX_ERROR, str(exc), data_type)

    def designator(self, element: Any) -> Designator:
        key = AttributeKey(
            required(element, "Category"),
            required(element, "AttributeId"),
            dt.canonical_data_type(required(element, "DataType")),
            element.get("Issuer"),
        )
        return Designator(key, required(element, "MustBePresent").strip() in ("true", "1"))

    def selector(self, element: Any) -> Selector:
        return Selector(
            required(element, "Category"), required(element, "Path"), element.get("ContextSelectorId"),
            dt.canonical_data_type(required(element, "DataType")),
            required(element, "MustBePresent").strip() in ("true", "1"), _xpath_namespaces(element),
        )

    def compile(self, element: Any) -> Expression:
        name = local_name(element)
        if name == "AttributeValue":
            return self.attribute_value(element)
        if name == "AttributeDesignator":
            return self.designator(element)
        if name == "AttributeSelector":
            return self.selector(element)
        if name == "VariableReference":
            return self.variable(required(element, "VariableId"))
        if name == "Function":
            function = FUNCTIONS.get(required(element, "FunctionId"))
            if function is None:
                return StaticError(STATUS_SYNTAX_ERROR, f"unknown function {element.get('FunctionId')}")
            return FunctionRef(function)
        if name == "Apply":
            return self.apply(element)
        raise XacmlSyntaxError(f"unexpected <{name}> in an expression")

    def apply(self, element: Any) -> Expression:
        function_id = required(element, "FunctionId")
        args = [self.compile(c) for c in children(element) if local_name(c) != "Description"]
        function = FUNCTIONS.get(function_id)
        if function is None:
            return StaticError(STATUS_SYNTAX_ERROR, f"unknown function {function_id}")
        if function.kind == "higher-order":
            return self._higher_order(function, args)
        problem = type_error(function, args)
        data_type, is_bag = function.returns
        if problem:
            return StaticError(STATUS_PROCESSING_ERROR, f"{function_id}: {problem}", data_type, is_bag)
        return Apply(function, args, data_type, is_bag)

    def _higher_order(self, function: Function, args: list[Expression]) -> Expression:
        name = function.id.rpartition(":")[2]
        data_type, is_bag = function.returns
        if len(args) < 2 or not isinstance(args[0], FunctionRef):
            return StaticError(STATUS_PROCESSING_ERROR, f"{name} needs a function and arguments", data_type, is_bag)
        inner = args[0].function
        rest = args[1:]
        if inner.kind != "plain":
            return StaticError(STATUS_PROCESSING_ERROR, f"{name} cannot apply {inner.id}", data_type, is_bag)
        if name in ("any-of", "all-of", "map"):
            ok = rest[-1].is_bag and not any(a.is_bag for a in rest[:-1])
        elif name == "any-of-any":
            ok = True
        else:
            ok = len(rest) == 2 and rest[0].is_bag and rest[1].is_bag
        if not ok:
            return StaticError(STATUS_PROCESSING_ERROR, f"{name}: wrong argument shapes", data_type, is_bag)
        if name == "map":
            data_type, is_bag = inner.returns[0], True
        elif inner.returns[0] != dt.BOOLEAN:
            return StaticError(STATUS_PROCESSING_ERROR, f"{name} needs a boolean function", data_type, is_bag)
        return Apply(function, args, data_type, is_bag)

    def target(self, element: Any | None) -> Target | None:
        if element is None:
            return None
        any_ofs = []
        for any_of in children(element):
            all_ofs = []
            for all_of in children(any_of):
                all_ofs.append([self.match(m) for m in children(all_of)])
            any_ofs.append(all_ofs)
        return Target(any_ofs) if any_ofs else None

    def match(self, element: Any) -> Match:
        function_id = required(element, "MatchId")
        literal_element = source_element = None
        for child in children(element):
            name = local_name(child)
            if name == "AttributeValue":
                literal_element = child
            elif name in ("AttributeDesignator", "AttributeSelector"):
                source_element = child
        if literal_element is None or source_element is None:
            raise XacmlSyntaxError("<Match> needs an AttributeValue and a designator or selector")
        literal = self.attribute_value(literal_element)
        source = self.compile(source_element)
        function = FUNCTIONS.get(function_id)
        error: StaticError | None = literal if isinstance(literal, StaticError) else None
        if function is None:
            error = StaticError(STATUS_SYNTAX_ERROR, f"unknown match function {function_id}")
        elif error is None:
            params = function.params
            if (function.kind != "plain" or len(params) != 2 or function.returns != (dt.BOOLEAN, False)
                    or params[0] != (literal.data_type, False) or params[1] != (source.data_type, False)):
                error = StaticError(STATUS_PROCESSING_ERROR, f"{function_id} does not fit its arguments")
        return Match(function, getattr(literal, "value", None), source, error)


def type_error(function: Function, args: list[Expression]) -> str | None:
    """Why ``args`` do not fit ``function``'s signature, or None."""
    count = len(args)
    if count < (function.min_args or 0) or (function.variadic is None and count > len(function.params)):
        return f"takes {len(function.params)} arguments, got {count}"
    for index, arg in enumerate(args):
        expected = function.params[index] if index < len(function.params) else function.variadic
        if isinstance(arg, FunctionRef):
            return "a function is not a value"
        if expected is None:
            return "too many arguments"
        expected_type, expected_bag = expected
        if arg.is_bag != expected_bag:
            return f"argument {index + 1} must {'' if expected_bag else 'not '}be a bag"
        if expected_type is not None and arg.data_type is not None and arg.data_type != expected_type:
            return f"argument {index + 1} is {arg.data_type}, expected {expected_type}"
    return None
