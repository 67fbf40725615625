"""XACML 3.0 XML: reading policies, requests and responses, and writing responses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from lxml import etree

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.expressions import children, local_name, required
from felles.authorization.xacml.model import (
    Advice,
    Attribute,
    AttributeAssignment,
    Attributes,
    Decision,
    Obligation,
    PolicyIdentifier,
    Request,
    Response,
    Result,
    Status,
    XacmlSyntaxError,
)

XACML_NS = "urn:oasis:names:tc:xacml:3.0:core:schema:wd-17"
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"

# No DTDs, no entity expansion, no network: policies and requests come from outside.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False,
                          load_dtd=False)


def parse_xml(source: str | bytes | Path) -> Any:
    """Parse an XML document (text, bytes or a file path) into its root element; raises XacmlSyntaxError."""
    try:
        if isinstance(source, Path):
            source = source.read_bytes()
        if isinstance(source, str):
            source = source.encode("utf-8")
        return etree.fromstring(source, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise XacmlSyntaxError(f"not well-formed XML: {exc}") from None


def content_document(content: Any) -> Any:
    """The XML inside <Content> as a document of its own: XPath in policies is evaluated against it
    (``//*`` counts only the content's elements, relative paths start at its root)."""
    inner = children(content)
    if not inner:
        return None
    return etree.ElementTree(copy.deepcopy(inner[0]))


def _flag(element: Any, name: str) -> bool:
    return (element.get(name) or "false").strip() in ("true", "1")


def _attribute_values(attribute: Any) -> list[Attribute]:
    attribute_id = required(attribute, "AttributeId")
    issuer = attribute.get("Issuer")
    include = _flag(attribute, "IncludeInResult")
    by_type: dict[str, list[Any]] = {}
    for value in children(attribute):
        if local_name(value) != "AttributeValue":
            continue
        data_type = dt.canonical_data_type(required(value, "DataType"))
        if data_type == dt.XPATHEXPRESSION:
            namespaces = tuple(sorted((p, u) for p, u in (value.nsmap or {}).items() if p))
            parsed: Any = dt.XPathExpression((value.text or "").strip(), required(value, "XPathCategory"),
                                             namespaces)
        else:
            try:
                parsed = dt.parse_value(data_type, value.text or "")
            except dt.InvalidValueError as exc:
                raise XacmlSyntaxError(f"{attribute_id}: {exc}") from None
        by_type.setdefault(data_type, []).append(parsed)
    return [Attribute(attribute_id, data_type, tuple(values), issuer, include)
            for data_type, values in by_type.items()]


def request_from_element(root: Any) -> Request:
    if local_name(root) != "Request":
        raise XacmlSyntaxError(f"expected <Request>, found <{local_name(root)}>")
    request = Request(return_policy_id_list=_flag(root, "ReturnPolicyIdList"),
                      combined_decision=_flag(root, "CombinedDecision"))
    for child in children(root):
        name = local_name(child)
        if name == "Attributes":
            entity = Attributes(required(child, "Category"), id=child.get(_XML_ID))
            for item in children(child):
                item_name = local_name(item)
                if item_name == "Attribute":
                    entity.attributes.extend(_attribute_values(item))
                elif item_name == "Content":
                    entity.content = content_document(item)
            request.attributes.append(entity)
        elif name == "MultiRequests":
            request.multi_requests = [
                [required(ref, "ReferenceId") for ref in children(reference)]
                for reference in children(child)
            ]
    return request


def parse_request_xml(source: str | bytes | Path) -> Request:
    return request_from_element(parse_xml(source))


def _assignments(element: Any) -> tuple[AttributeAssignment, ...]:
    result = []
    for assignment in children(element):
        data_type = dt.canonical_data_type(assignment.get("DataType", dt.STRING))
        text = assignment.text or ""
        try:
            value = dt.parse_value(data_type, text)
        except dt.InvalidValueError:
            value = text
        result.append(AttributeAssignment(required(assignment, "AttributeId"), data_type, value,
                                          assignment.get("Category"), assignment.get("Issuer")))
    return tuple(result)


def response_from_element(root: Any) -> Response:
    results = []
    for result_element in children(root):
        result = Result(Decision.INDETERMINATE)
        for child in children(result_element):
            name = local_name(child)
            if name == "Decision":
                result.decision = Decision((child.text or "").strip())
            elif name == "Status":
                code = next((c for c in children(child) if local_name(c) == "StatusCode"), None)
                message = next((c.text for c in children(child) if local_name(c) == "StatusMessage"), None)
                result.status = Status(code.get("Value") if code is not None else Status().code, message)
            elif name == "Obligations":
                result.obligations = [Obligation(required(o, "ObligationId"), _assignments(o))
                                      for o in children(child)]
            elif name == "AssociatedAdvice":
                result.advice = [Advice(required(a, "AdviceId"), _assignments(a)) for a in children(child)]
            elif name == "Attributes":
                entity = Attributes(required(child, "Category"))
                for item in children(child):
                    if local_name(item) == "Attribute":
                        entity.attributes.extend(_attribute_values(item))
                result.attributes.append(entity)
            elif name == "PolicyIdentifierList":
                result.policy_identifiers = [
                    PolicyIdentifier((ref.text or "").strip(), ref.get("Version", "1.0"),
                                     local_name(ref) == "PolicySetIdReference")
                    for ref in children(child)
                ]
        results.append(result)
    return Response(results)


def parse_response_xml(source: str | bytes | Path) -> Response:
    return response_from_element(parse_xml(source))


def _sub(parent: Any, name: str, **attributes: str) -> Any:
    return etree.SubElement(parent, f"{{{XACML_NS}}}{name}", {k: v for k, v in attributes.items() if v is not None})


def _write_assignments(parent: Any, assignments: tuple[AttributeAssignment, ...]) -> None:
    for assignment in assignments:
        element = _sub(parent, "AttributeAssignment", AttributeId=assignment.attribute_id,
                       DataType=assignment.data_type, Category=assignment.category, Issuer=assignment.issuer)
        element.text = dt.format_value(assignment.data_type, assignment.value)


def response_to_xml(response: Response) -> bytes:
    root = etree.Element(f"{{{XACML_NS}}}Response", nsmap={None: XACML_NS})
    for result in response.results:
        result_element = _sub(root, "Result")
        _sub(result_element, "Decision").text = result.decision.value
        status = _sub(result_element, "Status")
        _sub(status, "StatusCode", Value=result.status.code)
        if result.status.message:
            _sub(status, "StatusMessage").text = result.status.message
        if result.obligations:
            container = _sub(result_element, "Obligations")
            for obligation in result.obligations:
                _write_assignments(_sub(container, "Obligation", ObligationId=obligation.id),
                                   obligation.assignments)
        if result.advice:
            container = _sub(result_element, "AssociatedAdvice")
            for advice in result.advice:
                _write_assignments(_sub(container, "Advice", AdviceId=advice.id), advice.assignments)
        for entity in result.attributes:
            attributes = _sub(result_element, "Attributes", Category=entity.category)
            for attribute in entity.attributes:
                element = _sub(attributes, "Attribute", AttributeId=attribute.attribute_id,
                               Issuer=attribute.issuer, IncludeInResult="true")
                for value in attribute.values:
                    _sub(element, "AttributeValue", DataType=attribute.data_type).text = dt.format_value(
                        attribute.data_type, value)
        if result.policy_identifiers is not None:
            container = _sub(result_element, "PolicyIdentifierList")
            for identifier in result.policy_identifiers:
                name = "PolicySetIdReference" if identifier.is_policy_set else "PolicyIdReference"
                _sub(container, name, Version=identifier.version).text = identifier.id
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
