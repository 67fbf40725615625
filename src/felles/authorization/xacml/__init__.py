"""XACML 3.0 decision engine of Altinn Autorisasjon (the PDP).

The HTTP layer calls::

    store = PolicyStore()                       # compiled, indexed policies
    store.add(policy_xml)                       # one per app/resource; root=False for referenced-only ones
    pdp = PolicyDecisionPoint(store, attribute_provider=my_pip)
    response = pdp.decide(request_from_json(body))          # or parse_request_xml(body)
    response = await pdp.decide_async(request, my_async_pip)
    return response_to_json(response)                      # or response_to_xml(response)
"""

from felles.authorization.xacml.context import AsyncAttributeProvider, AttributeProvider, EvaluationContext
from felles.authorization.xacml.engine import PolicyDecisionPoint, PolicyStore, referenced_attributes
from felles.authorization.xacml.json_io import request_from_json, response_from_json, response_to_json
from felles.authorization.xacml.model import (
    Advice,
    Attribute,
    AttributeAssignment,
    AttributeKey,
    Attributes,
    Decision,
    EvaluationError,
    Obligation,
    Request,
    Response,
    Result,
    Status,
    XacmlSyntaxError,
)
from felles.authorization.xacml.xml_io import parse_request_xml, parse_response_xml, response_to_xml

__all__ = [
    "Advice",
    "AsyncAttributeProvider",
    "Attribute",
    "AttributeAssignment",
    "AttributeKey",
    "AttributeProvider",
    "Attributes",
    "Decision",
    "EvaluationContext",
    "EvaluationError",
    "Obligation",
    "PolicyDecisionPoint",
    "PolicyStore",
    "Request",
    "Response",
    "Result",
    "Status",
    "XacmlSyntaxError",
    "parse_request_xml",
    "parse_response_xml",
    "referenced_attributes",
    "request_from_json",
    "response_from_json",
    "response_to_json",
    "response_to_xml",
]
