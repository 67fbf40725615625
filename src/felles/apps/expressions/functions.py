"""The function catalogue of Altinn's expression language (notes §2.3), with Altinn's messages.

Each function declares how its arguments are cast; the evaluator casts before calling, so the
implementations below receive ``str | None``, ``int | float | None``, ``bool | None`` and so on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation
from typing import TYPE_CHECKING, Any

import jmespath
import jmespath.exceptions

from felles.apps.datapath import Path, lookup, parse_path, transpose
from felles.apps.expressions.casting import (
    decimal_to_number,
    describe_value,
    js_number_to_string,
    to_any,
    to_boolean,
    to_decimal,
    to_list,
    to_number,
    to_string,
    type_name,
)
from felles.apps.expressions.dates import ExprDate, format_date, parse_date
from felles.apps.expressions.errors import ExpressionError, InvalidExpressionError
from felles.apps.expressions.evaluator import Compiled, arity_message, compile_expression

if TYPE_CHECKING:
    from felles.apps.expressions.context import ExpressionContext

Caster = Callable[[Any], Any]


def _raw(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    implementation: Callable[..., Any]
    casters: tuple[Caster, ...]
    minimum: int
    maximum: int | None
    rest: Caster | None = None
    check_arguments: Callable[[list[Any]], None] | None = None
    compile: Callable[[list[Any]], Compiled] | None = None

    def caster_for(self, index: int) -> Caster:
        if index < len(self.casters):
            return self.casters[index]
        return self.rest or _raw


FUNCTIONS: dict[str, FunctionSpec] = {}


def function(
    name: str,
    *casters: Caster,
    optional: int = 0,
    rest: Caster | None = None,
    check_arguments: Callable[[list[Any]], None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function; the last ``optional`` casters are for optional arguments."""

    def register(implementation: Callable[..., Any]) -> Callable[..., Any]:
        minimum = len(casters) - optional
        maximum = None if rest is not None else len(casters)
        FUNCTIONS[name] = FunctionSpec(
            name, implementation, casters, minimum, maximum, rest, check_arguments=check_arguments
        )
        return implementation

    return register


# -- logic ------------------------------------------------------------------------------------------


@function("equals", to_string, to_string)
def _equals(_ctx: ExpressionContext, left: str | None, right: str | None) -> bool:
    return left == right


@function("notEquals", to_string, to_string)
def _not_equals(_ctx: ExpressionContext, left: str | None, right: str | None) -> bool:
    return left != right


@function("not", to_boolean)
def _not(_ctx: ExpressionContext, value: bool | None) -> bool:
    return not value


@function("and", to_boolean, rest=to_boolean)
def _and(_ctx: ExpressionContext, *values: bool | None) -> bool:
    return all(value is True for value in values)


@function("or", to_boolean, rest=to_boolean)
def _or(_ctx: ExpressionContext, *values: bool | None) -> bool:
    return any(value is True for value in values)


def _compile_if(args: list[Any]) -> Compiled:
    if len(args) >= 3 and args[2] != "else":
        raise InvalidExpressionError('Expected third argument to be "else"')
    if len(args) not in (2, 4):
        raise InvalidExpressionError(f"Expected either 2 arguments (if) or 4 (if + else), got {len(args)}")
    condition = compile_expression(args[0])
    then = compile_expression(args[1])
    otherwise = compile_expression(args[3]) if len(args) == 4 else (lambda _ctx: None)

    def evaluate_if(ctx: ExpressionContext) -> Any:
        chosen = to_boolean(condition(ctx))
        then_value = to_any(then(ctx))
        else_value = to_any(otherwise(ctx))
        return then_value if chosen is True else else_value

    return evaluate_if


FUNCTIONS["if"] = FunctionSpec("if", _raw, (), 2, 4, compile=_compile_if, check_arguments=lambda a: None)


# -- numbers ----------------------------------------------------------------------------------------


def _decimal_or_zero(value: int | float | None) -> Decimal:
    return Decimal(0) if value is None else to_decimal(value)


@function("plus", to_number, rest=to_number)
def _plus(_ctx: ExpressionContext, *values: int | float | None) -> int | float:
    return decimal_to_number(sum((_decimal_or_zero(v) for v in values), Decimal(0)))


@function("minus", to_number, to_number)
def _minus(_ctx: ExpressionContext, left: int | float | None, right: int | float | None) -> int | float:
    return decimal_to_number(_decimal_or_zero(left) - _decimal_or_zero(right))


@function("multiply", to_number, rest=to_number)
def _multiply(_ctx: ExpressionContext, *values: int | float | None) -> int | float:
    product = Decimal(1)
    for value in values:
        product *= _decimal_or_zero(value)
    return decimal_to_number(product)


@function("divide", to_number, to_number)
def _divide(_ctx: ExpressionContext, left: int | float | None, right: int | float | None) -> int | float:
    divisor = _decimal_or_zero(right)
    if divisor == 0:
        raise ExpressionError("The second argument is 0, cannot divide by 0")
    try:
        return decimal_to_number(_decimal_or_zero(left) / divisor)
    except (DivisionByZero, InvalidOperation) as error:
        raise ExpressionError(str(error)) from None


def _numeric_comparison(name: str, test: Callable[[Any, Any], bool]) -> None:
    def compare(_ctx: ExpressionContext, left: int | float | None, right: int | float | None) -> bool:
        if left is None or right is None:
            return False
        return test(left, right)

    function(name, to_number, to_number)(compare)


_numeric_comparison("greaterThan", lambda a, b: a > b)
_numeric_comparison("greaterThanEq", lambda a, b: a >= b)
_numeric_comparison("lessThan", lambda a, b: a < b)
_numeric_comparison("lessThanEq", lambda a, b: a <= b)


@function("round", to_number, to_number, optional=1)
def _round(_ctx: ExpressionContext, value: int | float | None, decimals: int | float | None = None) -> str:
    places = int(decimals or 0)
    quantum = Decimal(1).scaleb(-places)
    rounded = _decimal_or_zero(value).quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:.{places}f}"


# -- strings ----------------------------------------------------------------------------------------


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


def _from_utf16(data: bytes) -> str:
    return data.decode("utf-16-le", "surrogatepass")


@function("concat", rest=to_string)
def _concat(_ctx: ExpressionContext, *values: str | None) -> str:
    return "".join(value or "" for value in values)


@function("contains", to_string, to_string)
def _contains(_ctx: ExpressionContext, text: str | None, part: str | None) -> bool:
    return text is not None and part is not None and part in text


@function("notContains", to_string, to_string)
def _not_contains(_ctx: ExpressionContext, text: str | None, part: str | None) -> bool:
    return text is None or part is None or part not in text


@function("startsWith", to_string, to_string)
def _starts_with(_ctx: ExpressionContext, text: str | None, part: str | None) -> bool:
    return text is not None and part is not None and text.startswith(part)


@function("endsWith", to_string, to_string)
def _ends_with(_ctx: ExpressionContext, text: str | None, part: str | None) -> bool:
    return text is not None and part is not None and text.endswith(part)


@function("commaContains", to_string, to_string)
def _comma_contains(_ctx: ExpressionContext, text: str | None, item: str | None) -> bool:
    if text is None or item is None:
        return False
    return item in (part.strip() for part in text.split(","))


@function("stringLength", to_string)
def _string_length(_ctx: ExpressionContext, text: str | None) -> int:
    return 0 if text is None else len(_utf16(text)) // 2


@function("stringIndexOf", to_string, to_string)
def _string_index_of(_ctx: ExpressionContext, text: str | None, part: str | None) -> int | None:
    if text is None or part is None or part == "":
        return None
    found = text.find(part)
    if found == -1:
        return None
    return len(_utf16(text[:found])) // 2


@function("stringSlice", to_string, to_number, to_number, optional=1)
def _string_slice(
    _ctx: ExpressionContext, text: str | None, start: int | float | None, end: int | float | None = None
) -> str | None:
    if start is None:
        raise ExpressionError("Start index cannot be null")
    if text is None:
        return None
    units = _utf16(text)
    length = len(units) // 2

    def clamp(position: float) -> int:
        index = int(position)
        if index < 0:
            index += length
        return max(0, min(index, length))

    first = clamp(start)
    last = length if end is None else clamp(end)
    if last <= first:
        return ""
    return _from_utf16(units[first * 2 : last * 2])


def _string_slice_arguments(args: list[Any]) -> None:
    if len(args) not in (2, 3):
        raise InvalidExpressionError(arity_message(2, 3, len(args)))
    if len(args) == 3 and args[2] is None:
        raise InvalidExpressionError("End index cannot be null (omit it to slice to the end)")


FUNCTIONS["stringSlice"] = FunctionSpec(
    "stringSlice",
    _string_slice,
    (to_string, to_number, to_number),
    2,
    3,
    check_arguments=_string_slice_arguments,
)


@function("stringReplace", to_string, to_string, to_string)
def _string_replace(
    _ctx: ExpressionContext, text: str | None, search: str | None, replacement: str | None
) -> str | None:
    if text is None or not search:
        return text if text is not None and search == "" else None
    return text.replace(search, replacement or "")


@function("lowerCase", to_string)
def _lower_case(_ctx: ExpressionContext, text: str | None) -> str | None:
    return None if text is None else text.lower()


@function("upperCase", to_string)
def _upper_case(_ctx: ExpressionContext, text: str | None) -> str | None:
    return None if text is None else text.upper()


@function("lowerCaseFirst", to_string)
def _lower_case_first(_ctx: ExpressionContext, text: str | None) -> str | None:
    return None if text is None else text[:1].lower() + text[1:]


@function("upperCaseFirst", to_string)
def _upper_case_first(_ctx: ExpressionContext, text: str | None) -> str | None:
    return None if text is None else text[:1].upper() + text[1:]


# -- dates ------------------------------------------------------------------------------------------


@function("formatDate", parse_date, to_string, optional=1)
def _format_date(ctx: ExpressionContext, date: ExprDate | None, pattern: str | None = None) -> str | None:
    if date is None:
        return None
    return format_date(date, pattern, ctx.language, ctx.time_zone)


_COMPARE_OPERATORS = {
    "equals", "greaterThan", "greaterThanEq", "lessThan", "lessThanEq",
    "isBefore", "isBeforeEq", "isAfter", "isAfterEq", "isSameDay",
}  # fmt: skip


def _compare_dates(operator: str, left: ExprDate, right: ExprDate) -> bool:
    if left.has_timezone != right.has_timezone:
        raise ExpressionError("Can not compare timestamps where only one specify timezone")
    if operator == "isSameDay":
        if left.has_timezone and left.moment.utcoffset() != right.moment.utcoffset():
            raise ExpressionError("Can not figure out if timestamps in different timezones are in the same day")
        return left.moment.date() == right.moment.date()
    a, b = left.moment, right.moment
    return {
        "isBefore": a < b,
        "isBeforeEq": a <= b,
        "isAfter": a > b,
        "isAfterEq": a >= b,
    }[operator]


def _compare(operator: str, left: Any, right: Any) -> bool:
    if operator == "equals":
        return to_string(left) == to_string(right)
    if operator in ("greaterThan", "greaterThanEq", "lessThan", "lessThanEq"):
        a, b = to_number(left), to_number(right)
        if a is None or b is None:
            return False
        return {
            "greaterThan": a > b,
            "greaterThanEq": a >= b,
            "lessThan": a < b,
            "lessThanEq": a <= b,
        }[operator]
    first, second = parse_date(left), parse_date(right)
    if first is None or second is None:
        return False
    return _compare_dates(operator, first, second)


def _compile_compare(args: list[Any]) -> Compiled:
    if len(args) not in (3, 4):
        raise InvalidExpressionError(arity_message(3, 4, len(args)))
    negate = len(args) == 4
    if negate and args[1] != "not":
        raise InvalidExpressionError('Second argument must be "not" when providing 4 arguments in total')
    operator = args[2] if negate else args[1]
    if not isinstance(operator, str):
        raise InvalidExpressionError("Invalid operator (it cannot be an expression or null)")
    if operator not in _COMPARE_OPERATORS:
        raise InvalidExpressionError(f'Invalid operator "{operator}"')
    left = compile_expression(args[0])
    right = compile_expression(args[-1])

    def evaluate_compare(ctx: ExpressionContext) -> bool:
        result = _compare(operator, to_any(left(ctx)), to_any(right(ctx)))
        return not result if negate else result

    return evaluate_compare


FUNCTIONS["compare"] = FunctionSpec("compare", _raw, (), 3, 4, compile=_compile_compare, check_arguments=lambda a: None)


# -- data, components and the instance --------------------------------------------------------------


def _data_model_arguments(args: list[Any]) -> None:
    if len(args) not in (1, 2):
        raise InvalidExpressionError(arity_message(1, 2, len(args)))
    if len(args) == 2 and not isinstance(args[1], str):
        raise InvalidExpressionError("The data type must be a string (expressions cannot be used here)")


def _row_of(ctx: ExpressionContext) -> Path | None:
    """The indexed path a relative data path is resolved against (``None``: resolve as written)."""
    if ctx.row_path is not None:
        return ctx.row_path
    if ctx.node_path is not None:
        return ctx.node_path
    if ctx.form is not None and ctx.node is not None:
        return ctx.form.context_path(ctx.node)
    return None


def data_model_lookup(ctx: ExpressionContext, path: str, data_type: str | None = None) -> Any:
    model = ctx.data.get(data_type)
    parts = parse_path(path)
    row = _row_of(ctx)
    if row is not None:
        parts = transpose(parts, row)
    return lookup(model, parts)


def literal_data_path(args: list[Any]) -> tuple[str, str | None] | None:
    """(path, data type) of ``["dataModel", path, type?]`` when both are written as plain strings."""
    if not args or not isinstance(args[0], str) or (len(args) == 2 and not isinstance(args[1], str)):
        return None
    path = to_string(args[0])
    data_type = to_string(args[1]) if len(args) == 2 else None
    if path is None or (len(args) == 2 and data_type is None):
        return None
    return path, data_type


def _compile_data_model(args: list[Any]) -> Compiled:
    literal = literal_data_path(args)
    if literal is None:
        # a computed path (or the literal "null", which is an error): the general route
        arguments = [compile_expression(arg) for arg in args]

        def evaluate_computed(ctx: ExpressionContext) -> Any:
            values = [to_string(argument(ctx)) for argument in arguments]
            return _data_model(ctx, *values)

        return evaluate_computed
    path, data_type = literal
    parts = parse_path(path)
    # the transposed path per row context: contexts are few (one per row) and reused on every pass
    transposed: dict[Path, Path] = {}

    def evaluate_literal(ctx: ExpressionContext) -> Any:
        model = ctx.data.get(data_type)
        row = ctx.row_path
        if row is None:
            row = ctx.node_path
            if row is None and ctx.form is not None and ctx.node is not None:
                row = ctx.form.context_path(ctx.node)
        if not row:
            return lookup(model, parts)
        resolved = transposed.get(row)
        if resolved is None:
            resolved = transpose(parts, row)
            if len(transposed) < 4096:
                transposed[row] = resolved
        return lookup(model, resolved)

    return evaluate_literal


def _data_model(ctx: ExpressionContext, path: str | None, data_type: str | None = None) -> Any:
    if path is None:
        raise ExpressionError("Cannot lookup dataModel null")
    return data_model_lookup(ctx, path, data_type)


FUNCTIONS["dataModel"] = FunctionSpec(
    "dataModel",
    _data_model,
    (to_string, to_string),
    1,
    2,
    check_arguments=_data_model_arguments,
    compile=_compile_data_model,
)


def _require_form(ctx: ExpressionContext, component_id: str) -> Any:
    if ctx.form is None:
        raise ExpressionError(f"Unable to find component with identifier {component_id}")
    return ctx.form


@function("component", to_string)
def _component(ctx: ExpressionContext, component_id: str | None) -> Any:
    if component_id is None:
        raise ExpressionError("Cannot lookup component null")
    form = _require_form(ctx, component_id)
    node = form.find(component_id, ctx.node)
    assert node.component is not None
    if "simpleBinding" not in node.component.bindings:
        raise ExpressionError(f"Component {component_id} does not have a simpleBinding")
    if form.is_hidden(node):
        return None
    return form.binding_value(node)


@function("displayValue", to_string)
def _display_value(ctx: ExpressionContext, component_id: str | None) -> str | None:
    from felles.apps.display import display_value

    if component_id is None:
        raise ExpressionError("Cannot lookup component null")
    form = _require_form(ctx, component_id)
    node = form.find(component_id, ctx.node)
    if form.is_hidden(node):
        return None
    return display_value(form, node)


@function("countDataElements", to_string)
def _count_data_elements(ctx: ExpressionContext, data_type: str | None) -> int:
    if ctx.stateless:
        return 0
    return sum(1 for element in ctx.data_elements if element.get("dataType") == data_type)


def _party_type(owner: dict[str, Any]) -> str:
    if owner.get("organisationNumber"):
        return "org"
    if owner.get("personNumber"):
        return "person"
    if owner.get("username"):
        return "selfIdentified"
    return "unknown"


def instance_context_value(ctx: ExpressionContext, key: str | None) -> str | None:
    instance = ctx.instance
    owner = (instance or {}).get("instanceOwner") or {}
    readers: dict[str, Callable[[], Any]] = {
        "instanceId": lambda: instance.get("id") if instance else None,
        "appId": lambda: instance.get("appId") if instance else None,
        "instanceOwnerPartyId": lambda: owner.get("partyId") if instance else None,
        "instanceOwnerPartyType": lambda: _party_type(owner) if instance else None,
        "instanceOwnerName": lambda: ((owner.get("party") or {}).get("name")) if instance else None,
    }
    reader = readers.get(key or "")
    if reader is None:
        raise ExpressionError(f"Unknown Instance context property {key or ''}")
    value = reader()
    return None if value is None else str(value)


@function("instanceContext", to_string)
def _instance_context(ctx: ExpressionContext, key: str | None) -> str | None:
    return instance_context_value(ctx, key)


@function("frontendSettings", to_string)
def _frontend_settings(ctx: ExpressionContext, key: str | None) -> Any:
    if key is None:
        raise ExpressionError("Value cannot be null. (Parameter 'key')")
    return ctx.frontend_settings.get(key)


@function("authContext", to_string)
def _auth_context(ctx: ExpressionContext, key: str | None) -> bool | None:
    permissions = ctx.permissions or {}
    actions = permissions.get("actions") or {}
    # the standard process actions are always known (false when not granted); custom ones when listed
    allowed = {
        "read": permissions.get("read"),
        "write": permissions.get("write"),
        **dict.fromkeys(("instantiate", "confirm", "sign", "reject"), False),
        **actions,
    }
    if key not in allowed:
        keys = ", ".join(allowed)
        raise ExpressionError(
            f"Unknown Auth context property {key} for task {ctx.current_task_id} (allowed keys are {keys})"
        )
    return bool(allowed[key])


@function("language")
def _language(ctx: ExpressionContext) -> str:
    return ctx.language or "nb"


@function("gatewayAction")
def _gateway_action(ctx: ExpressionContext) -> str | None:
    return ctx.gateway_action


@function("argv", to_number)
def _argv(ctx: ExpressionContext, index: int | float | None) -> Any:
    if ctx.positional_arguments is None:
        raise ExpressionError("No positional arguments available")
    position = int(index or 0)
    if position < 0 or position >= len(ctx.positional_arguments):
        raise ExpressionError(f"Index {js_number_to_string(index or 0)} out of range")
    return ctx.positional_arguments[position]


@function("value", to_string, optional=1)
def _value(ctx: ExpressionContext, key: str | None = None) -> Any:
    arguments = ctx.value_arguments or {}
    data = arguments.get("data") or {}
    chosen = key if key is not None else arguments.get("defaultKey")
    if chosen not in data:
        raise ExpressionError(f"Unknown key {chosen}, Valid keys are: {', '.join(data)}")
    return data[chosen]


# -- texts ------------------------------------------------------------------------------------------


def _variable_value(ctx: ExpressionContext, variable: dict[str, Any]) -> str:
    key = str(variable.get("key", ""))
    source = str(variable.get("dataSource", ""))
    value: Any = None
    try:
        if source.startswith("dataModel."):
            data_type = source.removeprefix("dataModel.")
            if data_type == "default":
                data_type = ctx.data.default_data_type
            value = data_model_lookup(ctx, key, data_type)
        elif source == "applicationSettings":
            value = ctx.frontend_settings.get(key)
        elif source == "instanceContext":
            value = instance_context_value(ctx, key)
    except ExpressionError:
        value = None
    if value is None or isinstance(value, dict | list):
        return str(variable["defaultValue"]) if "defaultValue" in variable else key
    return to_string(value) or ""


def translate(ctx: ExpressionContext, key: str) -> str:
    """A text resource in the current language with its ``{0}``-style variables filled in."""
    resource = ctx.text_resources.get(key)
    if resource is None:
        return key
    value = str(resource.get("value", ""))
    variables = resource.get("variables") or []
    for index, variable in enumerate(variables):
        placeholder = "{" + str(index) + "}"
        if placeholder in value and isinstance(variable, dict):
            value = value.replace(placeholder, _variable_value(ctx, variable))
    return value


@function("text", to_string)
def _text(ctx: ExpressionContext, key: str | None) -> str | None:
    return None if key is None else translate(ctx, key)


@function("optionLabel", to_string, to_any)
def _option_label(ctx: ExpressionContext, options_id: str | None, value: Any) -> str | None:
    options = ctx.code_lists.get(options_id or "")
    if options is None:
        raise ExpressionError(f'Could not find options with id "{options_id}"')
    wanted = to_string(value)
    for option in options:
        if to_string(option.get("value")) == wanted:
            label = option.get("label")
            return None if label is None else translate(ctx, str(label))
    return None


# -- links ------------------------------------------------------------------------------------------


def _link_base(ctx: ExpressionContext, page: str) -> str:
    if ctx.stateless or not ctx.instance:
        return f"/{page}"
    return f"/instance/{ctx.instance.get('id')}/{ctx.current_task_id}/{page}"


def _current_page(ctx: ExpressionContext) -> str:
    return ctx.page or "FormLayout"


@function("linkToPage", to_string, to_string, to_boolean, optional=1)
def _link_to_page(ctx: ExpressionContext, text: str | None, page: str | None, back: bool | None = None) -> str:
    href = _link_base(ctx, page or "")
    if back and page != _current_page(ctx):
        href += f"?backToPage={_current_page(ctx)}"
    return f'<a href="{href}" data-link-type="LinkToPotentialPage">{text or ""}</a>'


@function("linkToComponent", to_string, to_string, to_boolean, optional=1)
def _link_to_component(
    ctx: ExpressionContext, text: str | None, component_id: str | None, back: bool | None = None
) -> str:
    if component_id is None:
        raise ExpressionError("Cannot lookup component null")
    form = _require_form(ctx, component_id)
    node = form.find(component_id, ctx.node)
    href = _link_base(ctx, node.page) + f"?focusComponentId={node.indexed_id}"
    if back and node.page != _current_page(ctx):
        href += f"&backToPage={_current_page(ctx)}"
    return f'<a href="{href}" data-link-type="LinkToPotentialNode">{text or ""}</a>'


# -- lists and objects ------------------------------------------------------------------------------


@function("list", rest=to_any)
def _list(_ctx: ExpressionContext, *values: Any) -> list[Any]:
    return list(values)


@function("object", rest=to_any)
def _object(_ctx: ExpressionContext, *values: Any) -> dict[str, Any]:
    if len(values) % 2:
        raise ExpressionError("The object function must have an even number of arguments")
    result: dict[str, Any] = {}
    for key, value in zip(values[::2], values[1::2], strict=True):
        if not isinstance(key, str):
            raise ExpressionError("Object keys must be strings")
        if key in result:
            raise ExpressionError("Object keys must be unique")
        result[key] = value
    return result


def _strict_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"Expected argument to be string, got {type_name(value)}")
    return value


@function("jmespath", to_any, _strict_string)
def _jmespath(_ctx: ExpressionContext, subject: Any, query: str) -> Any:
    try:
        return jmespath.search(query, subject)
    except jmespath.exceptions.JMESPathError as error:
        raise ExpressionError(f"Jmespath error: {error}") from None


def _numbers_of(values: list[Any]) -> list[Decimal]:
    return [_decimal_or_zero(to_number(value)) for value in values]


@function("sum", to_list)
def _sum(_ctx: ExpressionContext, values: list[Any]) -> int | float:
    return decimal_to_number(sum(_numbers_of(values), Decimal(0)))


@function("average", to_list, to_number)
def _average(_ctx: ExpressionContext, values: list[Any], fallback: int | float | None) -> int | float | None:
    numbers = _numbers_of(values)
    if not numbers:
        return fallback
    average = sum(numbers, Decimal(0)) / len(numbers)
    return float(average) if average != average.to_integral_value() else decimal_to_number(average)


@function("count", to_list)
def _count(_ctx: ExpressionContext, values: list[Any]) -> int:
    return len(values)


# -- frontend-only helpers ----------------------------------------------------------------------------


def _pick(data: Any, path: str) -> Any:
    current = data
    for name, index in parse_path(path):
        if not isinstance(current, dict):
            return None
        current = current.get(name)
        if index is not None:
            if not isinstance(current, list) or index >= len(current):
                return None
            current = current[index]
    return current


@function("externalApi", to_string, to_string)
def _external_api(ctx: ExpressionContext, api_id: str | None, path: str | None) -> str | None:
    data = ctx.external_apis.get(api_id or "")
    value = _pick(data, path or "")
    if value is None or isinstance(value, dict | list):
        return None
    return to_string(value)


@function("_experimentalSelectAndMap", to_string, to_string, to_string, to_string, to_boolean, optional=3)
def _select_and_map(
    ctx: ExpressionContext,
    path: str | None,
    prop: str | None,
    prepend: str | None = None,
    append: str | None = None,
    append_to_last: bool | None = True,
) -> str:
    items = data_model_lookup(ctx, path or "") if path else None
    if not isinstance(items, list):
        return ""
    rendered = []
    for position, item in enumerate(items):
        value = item.get(prop) if isinstance(item, dict) else None
        is_last = position == len(items) - 1
        suffix = (append or "") if (append_to_last is not False or not is_last) else ""
        rendered.append(f"{prepend or ''}{'' if value is None else to_string(value)}{suffix}")
    return " ".join(rendered)


def describe_function_result(value: Any) -> str:
    """Render a result for people (the CLI), with numbers as Altinn prints them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return describe_value(value)
