"""Dialogporten's GraphQL API for end users, served schema-first from the SDL Dialogporten publishes
(`schema.graphql`, a copy of `schema.verified.graphql`), so the schema is Dialogporten's, type for type.

The resolvers call the same service functions as the REST API; a refusal comes back as the payload's typed
`errors` (`DialogByIdNotFound`, `SearchDialogValidationError` ...), as Dialogporten answers, not as a GraphQL
error. Enum values are SCREAMING_SNAKE_CASE in GraphQL and PascalCase in the documents (`IN_PROGRESS` =
`InProgress`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ariadne import (
    EnumType,
    InterfaceType,
    ObjectType,
    ScalarType,
    SubscriptionType,
    graphql,
    make_executable_schema,
    subscribe,
)
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)
from pydantic import ValidationError

from felles.core.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed, Problem
from felles.dialogporten import access, enduser, lookup, search
from felles.dialogporten import schemas as s

SDL = (Path(__file__).with_name("schema.graphql")).read_text(encoding="utf-8")
ORDER_FIELDS = ("createdAt", "updatedAt", "dueAt", "contentUpdatedAt")


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _enum(name: str, values: list[str], convert: Callable[[str], str] = _pascal) -> EnumType:
    return EnumType(name, {value: convert(value) for value in values})


ENUMS = [
    _enum("DialogStatus", ["IN_PROGRESS", "DRAFT", "AWAITING", "REQUIRES_ATTENTION", "COMPLETED", "NOT_APPLICABLE"]),
    _enum("SystemLabel", ["DEFAULT", "BIN", "ARCHIVE", "MARKED_AS_UNOPENED", "SENT"]),
    _enum("ActivityType", [item.name for item in s.ActivityType]),
    _enum("TransmissionType", [item.name for item in s.TransmissionType]),
    _enum("ActorType", ["PARTY_REPRESENTATIVE", "SERVICE_OWNER"]),
    _enum("GuiActionPriority", ["PRIMARY", "SECONDARY", "TERTIARY"]),
    _enum("AttachmentUrlConsumer", ["GUI", "API"]),
    _enum("DialogEventType", ["DIALOG_UPDATED", "DIALOG_DELETED"]),
    _enum("DialogLookupGrantType", ["ROLE", "ACCESS_PACKAGE", "RESOURCE_DELEGATION", "INSTANCE_DELEGATION"]),
]


def _serialize_datetime(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _parse_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


SCALARS = [
    ScalarType("DateTime", serializer=_serialize_datetime, value_parser=_parse_datetime),
    ScalarType("UUID", serializer=str, value_parser=lambda value: uuid.UUID(str(value))),
    ScalarType("URL", serializer=str, value_parser=str),
]


def _typed_errors(*names: str) -> list[InterfaceType]:
    interfaces = []
    for name in names:
        interface = InterfaceType(name)
        interface.set_type_resolver(lambda error, *_: error["__typename"])
        interfaces.append(interface)
    return interfaces


INTERFACES = _typed_errors("DialogByIdError", "SearchDialogError", "DialogLookupError", "SetSystemLabelError",
                           "BulkSetSystemLabelError")


def _error(typename: str, problem: Problem | str) -> dict[str, Any]:
    return {"__typename": typename, "message": problem if isinstance(problem, str) else problem.detail}


def _context(info: GraphQLResolveInfo) -> dict[str, Any]:
    context: dict[str, Any] = info.context
    return context


def _order_by(values: list[dict[str, Any]] | None) -> str | None:
    """Dialogporten's `orderBy: {contentUpdatedAt: DESC}` as the REST API's `contentUpdatedAt_desc`."""
    for value in values or []:
        for name in ORDER_FIELDS:
            if value.get(name):
                return f"{name}_{value[name].lower()}"
    return None


def _filters(data: dict[str, Any]) -> search.DialogFilters:
    return search.DialogFilters(
        party=data.get("party") or [], service_resource=data.get("serviceResource") or [],
        org=data.get("org") or [], extended_status=data.get("extendedStatus") or [],
        status=data.get("status") or [], system_label=data.get("systemLabel") or [],
        external_reference=data.get("externalReference"), process=data.get("process"), search=data.get("search"),
        exclude_api_only=bool(data.get("excludeApiOnly")), is_content_seen=data.get("isContentSeen"),
        created_after=data.get("createdAfter"), created_before=data.get("createdBefore"),
        updated_after=data.get("updatedAfter"), updated_before=data.get("updatedBefore"),
        content_updated_after=data.get("contentUpdatedAfter"), content_updated_before=data.get("contentUpdatedBefore"),
        due_after=data.get("dueAfter"), due_before=data.get("dueBefore"), order_by=_order_by(data.get("orderBy")),
        continuation_token=data.get("continuationToken"), limit=data.get("limit"))


query = ObjectType("Queries")
mutation = ObjectType("Mutations")
subscription = SubscriptionType()
subscription.name = "Subscriptions"  # Dialogporten's root types are Queries, Mutations and Subscriptions


@query.field("searchDialogs")
async def resolve_search_dialogs(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    context = _context(info)
    try:
        page = await enduser.search_dialogs(context["database"], context["principal"], _filters(input),
                                            tokens=context["tokens"])
    except Forbidden as problem:
        return {"items": None, "hasNextPage": False, "continuationToken": None, "orderBy": [],
                "errors": [_error("SearchDialogForbidden", problem)]}
    except InvalidInput as problem:
        typename = {"invalid_continuation_token": "SearchDialogContinuationTokenParsingError",
                    "invalid_order_by": "SearchDialogOrderByParsingError"}.get(problem.code,
                                                                               "SearchDialogValidationError")
        return {"items": None, "hasNextPage": False, "continuationToken": None, "orderBy": [],
                "errors": [_error(typename, problem)]}
    order, _, _ = page["orderBy"].partition(",")
    name, _, direction = order.partition("_")
    return {**page, "orderBy": [{field: (direction.upper() if field == name else None) for field in ORDER_FIELDS}],
            "errors": []}


@query.field("dialogById")
async def resolve_dialog_by_id(_: Any, info: GraphQLResolveInfo, dialogId: uuid.UUID) -> dict[str, Any]:
    context = _context(info)
    try:
        dialog = await enduser.get_dialog(context["database"], context["principal"], dialogId,
                                          keys=context["keys"], base_url=context["base_url"])
    except NotFound as problem:
        return {"dialog": None, "errors": [_error("DialogByIdNotFound", problem)]}
    except Forbidden as problem:
        too_low = problem.code == access.AUTHENTICATION_LEVEL_TOO_LOW_CODE
        typename = "DialogByIdForbiddenAuthLevelTooLow" if too_low else "DialogByIdForbidden"
        return {"dialog": None, "errors": [_error(typename, problem)]}
    return {"dialog": dialog, "errors": []}


@query.field("dialogLookup")
async def resolve_dialog_lookup(_: Any, info: GraphQLResolveInfo, instanceRef: str) -> dict[str, Any]:
    """The dialog an app instance, a correspondence or a dialog id names (`lookup.for_end_user`)."""
    context = _context(info)
    try:
        found = await lookup.for_end_user(context["database"], context["principal"], instanceRef)
    except InvalidInput as problem:
        return {"lookup": None, "errors": [_error("DialogLookupValidationError", problem)]}
    except NotFound as problem:
        return {"lookup": None, "errors": [_error("DialogLookupNotFound", problem)]}
    except Forbidden as problem:
        return {"lookup": None, "errors": [_error("DialogLookupForbidden", problem)]}
    return {"lookup": found, "errors": []}


@query.field("parties")
async def resolve_parties(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    context = _context(info)
    listed: list[dict[str, Any]] = (await enduser.parties(context["database"], context["principal"]))[
        "authorizedParties"]
    return listed


@query.field("limits")
async def resolve_limits(*_: Any) -> dict[str, Any]:
    return search.limits()


@query.field("serviceResources")
async def resolve_service_resources(_: Any, info: GraphQLResolveInfo, parties: list[str] | None = None,
                                    includeUnauthorized: bool = False) -> dict[str, Any]:
    context = _context(info)
    return await enduser.service_resources(context["database"], context["principal"], parties or [])


def _label_change(data: dict[str, Any]) -> dict[str, Any]:
    return {"addLabels": data.get("addLabels") or [], "removeLabels": data.get("removeLabels") or []}


def _label_error(prefix: str, problem: Problem) -> dict[str, Any]:
    if isinstance(problem, NotFound):
        return _error(f"{prefix}EntityNotFound" if prefix == "SetSystemLabel" else f"{prefix}NotFound", problem)
    if isinstance(problem, PreconditionFailed):
        return _error(f"{prefix}ConcurrencyError", problem)
    if isinstance(problem, Forbidden) and prefix == "SetSystemLabel":
        return _error(f"{prefix}Forbidden", problem)
    return _error(f"{prefix}ValidationError", problem)


@mutation.field("setSystemLabel")
async def resolve_set_system_label(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    context = _context(info)
    try:
        await enduser.set_system_labels(context["database"], context["principal"], input["dialogId"],
                                        s.SystemLabelsSet.model_validate(_label_change(input)), if_match=None)
    except Problem as problem:
        return {"success": False, "errors": [_label_error("SetSystemLabel", problem)]}
    return {"success": True, "errors": []}


@mutation.field("bulkSetSystemLabels")
async def resolve_bulk_set_system_labels(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    context = _context(info)
    try:
        change = s.SystemLabelsBulkSet.model_validate({**_label_change(input), "dialogs": [
            {"dialogId": item["dialogId"], "endUserContextRevision": item.get("enduserContextRevision")}
            for item in input.get("dialogs") or []]})
        await enduser.bulk_set_system_labels(context["database"], context["principal"], change)
    except ValidationError as error:
        return {"success": False, "errors": [_error("BulkSetSystemLabelValidationError", str(error))]}
    except Problem as problem:
        return {"success": False, "errors": [_label_error("BulkSetSystemLabel", problem)]}
    return {"success": True, "errors": []}


@subscription.source("dialogEvents")
async def dialog_events_source(_: Any, info: GraphQLResolveInfo, dialogId: uuid.UUID) -> Any:
    context = _context(info)
    async for event in enduser.dialog_events(context["database"], dialogId, poll_seconds=context["poll_seconds"]):
        yield event


@subscription.field("dialogEvents")
def resolve_dialog_events(event: dict[str, Any], *_: Any, **_arguments: Any) -> dict[str, Any]:
    return event


activity = ObjectType("Activity")


@activity.field("description")
def resolve_activity_description(item: dict[str, Any], *_: Any) -> list[dict[str, Any]]:
    return item.get("description") or []


gui_action = ObjectType("GuiAction")


@gui_action.field("title")
def resolve_gui_action_title(item: dict[str, Any], *_: Any) -> list[dict[str, Any]]:
    return item.get("title") or []


@gui_action.field("isAuthorized")
def resolve_gui_action_authorized(item: dict[str, Any], *_: Any) -> bool:
    return bool(item.get("isAuthorized"))


api_action = ObjectType("ApiAction")


@api_action.field("isAuthorized")
def resolve_api_action_authorized(item: dict[str, Any], *_: Any) -> bool:
    return bool(item.get("isAuthorized"))


transmission = ObjectType("Transmission")


@transmission.field("isAuthorized")
def resolve_transmission_authorized(item: dict[str, Any], *_: Any) -> bool:
    return bool(item.get("isAuthorized"))


authorized_party = ObjectType("AuthorizedParty")


@authorized_party.field("subParties")
def resolve_sub_parties(item: dict[str, Any], *_: Any) -> list[dict[str, Any]]:
    return list(item.get("subParties") or [])


def executable_schema() -> GraphQLSchema:
    return make_executable_schema(SDL, query, mutation, subscription, activity, gui_action, api_action, transmission,
                                  authorized_party, *ENUMS, *SCALARS, *INTERFACES)


schema = executable_schema()


async def execute(data: Any, context: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A query or mutation: the HTTP status and the GraphQL response (200 with `errors` for a field error, 400
    for a document that does not parse or validate)."""
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return 400, {"errors": [{"message": "The body must be a JSON object with a 'query' string."}]}
    success, result = await graphql(schema, data, context_value=context)
    return (200 if success else 400), result


def subscription_dialog_id(data: Any) -> uuid.UUID | None:
    """The `dialogId` a `dialogEvents` subscription asks for (from its variables or its literal argument)."""
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    try:
        document = parse(data["query"])
    except GraphQLError:
        return None
    variables = data.get("variables") or {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.operation != OperationType.SUBSCRIPTION:
            continue
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value != "dialogEvents":
                continue
            for argument in selection.arguments:
                if argument.name.value != "dialogId":
                    continue
                value = argument.value
                raw = (variables.get(value.name.value) if isinstance(value, VariableNode)
                       else getattr(value, "value", None))
                try:
                    return uuid.UUID(str(raw))
                except ValueError:
                    return None
    return None


async def events(data: dict[str, Any], context: dict[str, Any]) -> AsyncIterator[str]:
    """A subscription as server-sent events (GraphQL over SSE, distinct connections mode): a `next` event per
    result, then `complete`."""
    success, results = await subscribe(schema, data, context_value=context)
    if not success or isinstance(results, list):
        yield f"event: next\ndata: {json.dumps({'errors': results})}\n\n"
    else:
        async for result in results:
            payload: dict[str, Any] = {"data": result.data}
            if result.errors:
                payload["errors"] = [{"message": error.message} for error in result.errors]
            yield f"event: next\ndata: {json.dumps(payload)}\n\n"
    yield "event: complete\ndata: \n\n"
