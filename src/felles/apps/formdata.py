"""Form data as XML (as Altinn stores it, per the model's XSD) and as JSON (as the app API serves it).

The conversion follows the XSD: elements that may repeat (maxOccurs > 1) become JSON arrays even with one row,
elements left out are null (as Altinn's C# models serialise them), simple values get their JSON type from the XSD
type (integers, decimals, booleans; everything else stays a string), attributes become properties, and simple
content next to attributes is ``value``. A repeating-group row's ``altinnRowId`` is kept as an XML attribute, as
Altinn's C# models keep it (their XSDs need not declare it).
"""

from __future__ import annotations

from typing import Any

import xmlschema
from lxml import etree

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_INTEGER_TYPES = {
    "integer", "long", "int", "short", "byte", "nonNegativeInteger", "positiveInteger",
    "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
}  # fmt: skip
_NUMBER_TYPES = {"decimal", "double", "float"}
# The id app-frontend-react gives each repeating-group row.
ROW_ID = "altinnRowId"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class FormDataError(ValueError):
    """Form data that does not fit the model (unknown root element, unparsable XML, wrong value)."""


def _builtin_names(xsd_type: Any) -> set[str]:
    names: set[str] = set()
    current = xsd_type
    for _ in range(32):
        if current is None:
            break
        if current.local_name:
            names.add(current.local_name)
        current = getattr(current, "base_type", None)
    primitive = getattr(xsd_type, "primitive_type", None)
    if primitive is not None and primitive.local_name:
        names.add(primitive.local_name)
    return names


def _decode_simple(text: str | None, xsd_type: Any) -> Any:
    names = _builtin_names(xsd_type)
    stripped = (text or "").strip()
    if not stripped and names & (_INTEGER_TYPES | _NUMBER_TYPES | {"boolean"}):
        return None
    if text is None:
        return ""  # an empty element of a string type is the empty string
    try:
        if "boolean" in names:
            if stripped in ("true", "1"):
                return True
            if stripped in ("false", "0"):
                return False
            raise ValueError(stripped)
        if names & _INTEGER_TYPES:
            return int(stripped)
        if names & _NUMBER_TYPES:
            number = float(stripped)
            return (
                int(number) if number.is_integer() and "." not in stripped and "e" not in stripped.lower() else number
            )
    except ValueError:
        raise FormDataError(f'"{text}" is not a valid {xsd_type.local_name or "value"}') from None
    return text


def _encode_simple(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element_to_json(element: etree._Element, xsd_element: Any) -> Any:
    if element.get(XSI_NIL) == "true":
        return None
    xsd_type = xsd_element.type
    attributes = (
        {
            _local(name): _decode_simple(
                value, getattr(xsd_type.attributes.get(name) or xsd_type.attributes.get(_local(name)), "type", None)
            )
            for name, value in element.attrib.items()
            if not name.startswith("{http://www.w3.org/2001/XMLSchema-instance}")
        }
        if xsd_type.is_complex()
        else {}
    )
    if xsd_type.is_simple():
        return _decode_simple(element.text, xsd_type)
    if xsd_type.has_simple_content():
        return {**attributes, "value": _decode_simple(element.text, xsd_type.content)}
    result: dict[str, Any] = dict(attributes)
    children: dict[str, list[etree._Element]] = {}
    for child in element:
        if isinstance(child.tag, str):
            children.setdefault(_local(child.tag), []).append(child)
    for xsd_child in xsd_type.content.iter_elements():
        name = xsd_child.local_name
        found = children.pop(name, [])
        repeating = xsd_child.max_occurs is None or xsd_child.max_occurs > 1
        if repeating:
            result[name] = [_element_to_json(item, xsd_child) for item in found]
        else:
            # An element left out is null, as Altinn's models serialise a property never set.
            result[name] = _element_to_json(found[0], xsd_child) if found else None
    if children:
        unknown = ", ".join(sorted(children))
        raise FormDataError(f"<{_local(element.tag)}> has elements the model does not define: {unknown}")
    return result


def xml_to_json(xml: bytes, schema: xmlschema.XMLSchema) -> dict[str, Any]:
    """Read stored form data (XML) into the JSON the app API serves."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as error:
        raise FormDataError(f"line {error.lineno}: invalid XML: {error.msg}") from None
    name = _local(root.tag)
    xsd_element = schema.elements.get(name)
    if xsd_element is None:
        raise FormDataError(
            f"root element <{name}> is not defined by the model (expected {', '.join(schema.elements)})"
        )
    data = _element_to_json(root, xsd_element)
    return data if isinstance(data, dict) else {"value": data}


def _json_to_element(parent: etree._Element | None, tag: str, value: Any, xsd_element: Any) -> etree._Element:
    element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    xsd_type = xsd_element.type
    namespace = tag[1 : tag.index("}")] if tag.startswith("{") else None
    if value is None:
        element.set(XSI_NIL, "true")
        return element
    if xsd_type.is_simple():
        if isinstance(value, dict | list):
            raise FormDataError(f"<{xsd_element.local_name}> needs a single value, got {type(value).__name__}")
        element.text = _encode_simple(value)
        return element
    if not isinstance(value, dict):
        raise FormDataError(f"<{xsd_element.local_name}> needs an object, got {type(value).__name__}")
    for attribute_name in xsd_type.attributes:
        if attribute_name and _local(attribute_name) in value and value[_local(attribute_name)] is not None:
            element.set(_local(attribute_name), _encode_simple(value[_local(attribute_name)]))
    if value.get(ROW_ID):  # Altinn's models keep a row's id as an attribute the XSD need not declare
        element.set(ROW_ID, str(value[ROW_ID]))
    if xsd_type.has_simple_content():
        if value.get("value") is not None:
            element.text = _encode_simple(value["value"])
        return element
    known = {_local(name) for name in xsd_type.attributes if name}
    for xsd_child in xsd_type.content.iter_elements():
        name = xsd_child.local_name
        known.add(name)
        if name not in value:
            continue
        child_tag = f"{{{namespace}}}{name}" if namespace and xsd_child.qualified else name
        child_value = value[name]
        if isinstance(child_value, list):
            for item in child_value:
                _json_to_element(element, child_tag, item, xsd_child)
        elif child_value is not None:
            _json_to_element(element, child_tag, child_value, xsd_child)
    unknown = sorted(set(value) - known - {ROW_ID})
    if unknown:
        raise FormDataError(f"<{xsd_element.local_name}> has fields the model does not define: {', '.join(unknown)}")
    return element


def json_to_xml(data: dict[str, Any], schema: xmlschema.XMLSchema, root_element: str | None = None) -> bytes:
    """Write JSON form data as the XML Altinn stores (UTF-8, with an XML declaration)."""
    name = root_element or next(iter(schema.elements), None)
    if name is None or name not in schema.elements:
        raise FormDataError(f"the model has no root element {name!r}")
    xsd_element = schema.elements[name]
    namespace = schema.target_namespace
    tag = f"{{{namespace}}}{name}" if namespace else name
    root = _json_to_element(None, tag, data, xsd_element)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
