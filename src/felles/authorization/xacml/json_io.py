"""The XACML JSON profile (JSON Profile of XACML 3.0 v1.0/v1.1) as Altinn speaks it.

Requests: ``{"Request": {...}}`` with ``Category`` arrays or the shorthand category keys (``AccessSubject``,
``Action``, ``Resource``, ``Environment`` ...), ``Attribute`` objects whose ``DataType`` may be omitted
(inferred from the JSON value) or a short name, and ``MultiRequests.RequestReference[].ReferenceId[]``.
Member names are matched case-insensitively, as Altinn's PDP does.

Responses are written the way Altinn's PDP writes them (``Obligations[].id`` and ``attributeAssignment[]``
in camelCase) so existing PEPs read them unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from felles.authorization.xacml import datatypes as dt
from felles.authorization.xacml.model import (
    ACCESS_SUBJECT,
    ACTION,
    CODEBASE,
    ENVIRONMENT,
    INTERMEDIARY_SUBJECT,
    RECIPIENT_SUBJECT,
    REQUESTING_MACHINE,
    RESOURCE,
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
from felles.authorization.xacml.xml_io import parse_xml

SHORTHAND_CATEGORIES = {
    "accesssubject": ACCESS_SUBJECT,
    "action": ACTION,
    "resource": RESOURCE,
    "environment": ENVIRONMENT,
    "recipientsubject": RECIPIENT_SUBJECT,
    "intermediarysubject": INTERMEDIARY_SUBJECT,
    "codebase": CODEBASE,
    "requestingmachine": REQUESTING_MACHINE,
}


def _lower_keys(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise XacmlSyntaxError(f"{where} must be a JSON object")
    return {str(k).lower(): v for k, v in obj.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _inferred_data_type(values: list[Any]) -> str:
    """JSON profile §3.3.2: the data type follows from the JSON type of the value(s)."""
    if values and all(isinstance(v, bool) for v in values):
        return dt.BOOLEAN
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return dt.INTEGER
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return dt.DOUBLE
    return dt.STRING


def _attribute(obj: Any) -> Attribute:
    fields = _lower_keys(obj, "Attribute")
    attribute_id = fields.get("attributeid")
    if not isinstance(attribute_id, str) or "value" not in fields:
        raise XacmlSyntaxError("an Attribute needs AttributeId and Value")
    raw_values = _as_list(fields["value"])
    declared = fields.get("datatype")
    data_type = dt.canonical_data_type(declared) if isinstance(declared, str) else _inferred_data_type(raw_values)
    if not dt.is_known_data_type(data_type):
        raise XacmlSyntaxError(f"{attribute_id}: unknown data type {data_type}")
    try:
        values = tuple(dt.coerce_value(data_type, v) for v in raw_values)
    except (dt.InvalidValueError, TypeError, ValueError) as exc:
        raise XacmlSyntaxError(f"{attribute_id}: {exc}") from None
    return Attribute(attribute_id, data_type, values, fields.get("issuer"), bool(fields.get("includeinresult")))


def _entity(obj: Any, category: str | None) -> Attributes:
    fields = _lower_keys(obj, "a category object")
    category = category or fields.get("categoryid")
    if not isinstance(category, str):
        raise XacmlSyntaxError("a Category object needs CategoryId")
    category = SHORTHAND_CATEGORIES.get(category.lower(), category)
    entity = Attributes(category, [_attribute(a) for a in _as_list(fields.get("attribute"))],
                        id=fields.get("id"))
    content = fields.get("content")
    if isinstance(content, str) and content.strip():
        entity.content = etree.ElementTree(parse_xml(content))
    return entity


def request_from_json(document: Any) -> Request:
    """Read a JSON profile request (already decoded, or as text); raises XacmlSyntaxError."""
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise XacmlSyntaxError(f"not JSON: {exc}") from None
    root = _lower_keys(document, "the document")
    if "request" not in root:
        raise XacmlSyntaxError("the document has no Request")
    fields = _lower_keys(root["request"], "Request")
    request = Request(return_policy_id_list=bool(fields.get("returnpolicyidlist")),
                      combined_decision=bool(fields.get("combineddecision")))
    for obj in _as_list(fields.get("category")):
        request.attributes.append(_entity(obj, None))
    for key, category in SHORTHAND_CATEGORIES.items():
        for obj in _as_list(fields.get(key)):
            request.attributes.append(_entity(obj, category))
    multi = fields.get("multirequests")
    if multi is not None:
        references = _lower_keys(multi, "MultiRequests").get("requestreference")
        request.multi_requests = [
            [str(i) for i in _as_list(_lower_keys(r, "RequestReference").get("referenceid"))]
            for r in _as_list(references)
        ]
    return request


# ---------------------------------------------------------------- responses


def _assignment_json(assignment: AttributeAssignment) -> dict[str, Any]:
    return {
        "attributeId": assignment.attribute_id,
        "value": dt.format_value(assignment.data_type, assignment.value),
        "category": assignment.category,
        "dataType": assignment.data_type,
        "issuer": assignment.issuer,
    }


def result_to_json(result: Result) -> dict[str, Any]:
    status: dict[str, Any] = {"StatusCode": {"Value": result.status.code}}
    if result.status.message:
        status["StatusMessage"] = result.status.message
    body: dict[str, Any] = {"Decision": result.decision.value, "Status": status}
    if result.obligations:
        body["Obligations"] = [{"id": o.id, "attributeAssignment": [_assignment_json(a) for a in o.assignments]}
                               for o in result.obligations]
    if result.advice:
        body["AssociatedAdvice"] = [{"id": a.id, "attributeAssignment": [_assignment_json(x)
                                                                          for x in a.assignments]}
                                    for a in result.advice]
    if result.attributes:
        body["Category"] = [
            {"CategoryId": entity.category, "Attribute": [
                {"AttributeId": attribute.attribute_id, "DataType": attribute.data_type,
                 "Value": dt.format_value(attribute.data_type, value)}
                for attribute in entity.attributes for value in attribute.values
            ]}
            for entity in result.attributes
        ]
    if result.policy_identifiers is not None:
        body["PolicyIdentifierList"] = {
            "PolicyIdReference": [{"Id": p.id, "Version": p.version}
                                  for p in result.policy_identifiers if not p.is_policy_set],
            "PolicySetIdReference": [{"Id": p.id, "Version": p.version}
                                     for p in result.policy_identifiers if p.is_policy_set],
        }
    return body


def response_to_json(response: Response) -> dict[str, Any]:
    return {"Response": [result_to_json(r) for r in response.results]}


def _json_assignments(items: Any) -> tuple[AttributeAssignment, ...]:
    assignments = []
    for item in _as_list(items):
        fields = _lower_keys(item, "AttributeAssignment")
        data_type = dt.canonical_data_type(fields.get("datatype") or dt.STRING)
        raw = fields.get("value")
        try:
            value = dt.coerce_value(data_type, raw)
        except (dt.InvalidValueError, ValueError, TypeError):
            value = raw
        assignments.append(AttributeAssignment(str(fields.get("attributeid")), data_type, value,
                                               fields.get("category"), fields.get("issuer")))
    return tuple(assignments)


def response_from_json(document: Any) -> Response:
    """Read a JSON profile response (to compare recorded responses with ours)."""
    if isinstance(document, (str, bytes)):
        document = json.loads(document)
    results = []
    for item in _as_list(_lower_keys(document, "the document").get("response")):
        fields = _lower_keys(item, "Result")
        status_fields = _lower_keys(fields.get("status") or {}, "Status")
        code = _lower_keys(status_fields.get("statuscode") or {}, "StatusCode").get("value") or Status().code
        result = Result(Decision(fields.get("decision", "Indeterminate")),
                        Status(code, status_fields.get("statusmessage")))
        for obligation in _as_list(fields.get("obligations")):
            ob = _lower_keys(obligation, "Obligation")
            result.obligations.append(Obligation(str(ob.get("id")), _json_assignments(ob.get("attributeassignment"))))
        for advice in _as_list(fields.get("associatedadvice")):
            ad = _lower_keys(advice, "Advice")
            result.advice.append(Advice(str(ad.get("id")), _json_assignments(ad.get("attributeassignment"))))
        for category in _as_list(fields.get("category")):
            result.attributes.append(_entity(category, None))
        identifiers = fields.get("policyidentifierlist")
        if identifiers is not None:
            id_fields = _lower_keys(identifiers, "PolicyIdentifierList")
            result.policy_identifiers = [
                PolicyIdentifier(str(_lower_keys(r, "ref").get("id")), str(_lower_keys(r, "ref").get("version")),
                                 key == "policysetidreference")
                for key in ("policyidreference", "policysetidreference")
                for r in _as_list(id_fields.get(key))
            ]
        results.append(result)
    return Response(results)
