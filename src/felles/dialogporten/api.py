"""HTTP API of Dialogporten at its paths under `/dialogporten`: the service owners' `api/v1/serviceowner/...`
(Maskinporten token with `digdir:dialogporten.serviceprovider`), the end users' `api/v1/enduser/...` (ID-porten or
Altinn token with `digdir:dialogporten`) and the open `api/v1/metadata/...`.

As Dialogporten does, a body that breaks the models answers 400 with every field's messages under `errors`
(`DialogportenRoute`), a write answers the dialog's new revision in `ETag`, and every problem under `/api/` is
Dialogporten's own ProblemDetails (`problem_details`): `type`, `title`, `status`, `instance`, a W3C `traceId` and
the messages under `errors` by entity or field."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.responses import Response as StarletteResponse

from felles.core.body_limit import body_limit_for
from felles.core.errors import PROBLEM_MEDIA_TYPE, Forbidden, InvalidInput, Unauthorized, register_problem_format
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import (
    ALTINN_API_ISSUERS,
    AcceptedTokens,
    AuthenticatedRoute,
    Issuer,
    Principal,
    ScopeRequirement,
    authenticate,
    require_scope,
)
from felles.dialogporten import enduser, graphql, lookup, schemas, search, service, transmissions, views
from felles.dialogporten.models import Dialog

# Dialogporten's ProblemDetails: the RFC section as `type`, and its titles, by status.
PROBLEM_TYPES = {
    400: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1", "One or more validation errors occurred."),
    401: ("https://datatracker.ietf.org/doc/html/rfc7235#section-3.1", "Unauthorized."),
    403: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.3", "Forbidden."),
    404: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.4", "Resource not found."),
    405: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.5", "Method not allowed."),
    409: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.8", "Conflict."),
    410: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.9", "Resource no longer available."),
    412: ("https://datatracker.ietf.org/doc/html/rfc7232#section-4.2", "Precondition failed."),
    413: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.11", "Payload too large."),
    422: ("https://datatracker.ietf.org/doc/html/rfc4918#section-11.2", "Unprocessable request."),
    500: ("https://datatracker.ietf.org/doc/html/rfc7231#section-6.6.1", "An error occurred while processing the "
                                                                           "request."),
}
# The entity a problem is about, where the message does not name it (Dialogporten keys `errors` by it).
PROBLEM_ENTITIES = {"dialog_not_found": "DialogEntity", "dialog_deleted": "DialogEntity"}
# Dialogporten answers these bare: the status says it all.
BARE_PROBLEMS = {412, 413}
_NAMED_ENTITY = re.compile(r"Entity '(\w+)'")


def trace_id(request_id: str | None) -> str:
    """A W3C `traceparent` made from the request id, so a client's report leads to our log lines."""
    digest = hashlib.sha256((request_id or uuid.uuid4().hex).encode()).hexdigest()
    trace = request_id if request_id and re.fullmatch(r"[0-9a-f]{32}", request_id) else digest[:32]
    return f"00-{trace}-{digest[32:48]}-00"


def problem_details(request: Request, status_code: int, code: str, title: str, detail: str, extra: dict[str, Any],
                    headers: dict[str, str] | None) -> StarletteResponse:
    """A problem as Dialogporten answers it (its recorded error responses): the messages go under `errors`, keyed
    by field (validation), by entity (`DialogEntity`, `DialogActivity` ...) or by what went wrong."""
    kind, dialogporten_title = PROBLEM_TYPES.get(status_code, (f"urn:felles:problem:{code}", title))
    if status_code == 413:
        dialogporten_title = f"Payload too large. The maximum allowed size is {body_limit_for(request.url.path)} bytes."
    body: dict[str, Any] = {"type": kind, "title": dialogporten_title, "status": status_code,
                            "instance": request.url.path,
                            "traceId": trace_id(getattr(request.state, "request_id", None))}
    errors = extra.get("errors")
    if isinstance(errors, dict) and errors:
        body["errors"] = errors
    elif status_code not in BARE_PROBLEMS:
        named = _NAMED_ENTITY.search(detail)
        key = PROBLEM_ENTITIES.get(code) or (named.group(1) if named else "".join(
            part.capitalize() for part in code.split("_")))
        body["errors"] = {key: [detail]}
    return JSONResponse(body, status_code=status_code, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


# Dialogporten's `ProblemDetails`, as its OpenAPI documents it.
PROBLEM_DETAILS_SCHEMA: dict[str, Any] = {
    "title": "ProblemDetails", "type": "object", "required": ["type", "title", "status", "instance", "traceId"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "instance": {"type": "string"}, "traceId": {"type": "string"},
                   "errors": {"type": "object", "additionalProperties": {"type": "array",
                                                                        "items": {"type": "string"}}}},
    "additionalProperties": False,
}
register_problem_format("/dialogporten/api/", problem_details, "DialogportenProblemDetails", PROBLEM_DETAILS_SCHEMA)


class DialogportenRoute(AuthenticatedRoute):
    """A route whose invalid request answers Dialogporten's 400 (`errors` by field), not FastAPI's 422."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors: dict[str, list[str]] = {}
                for item in exc.errors():
                    location = [part for part in item.get("loc", ()) if part != "body"]
                    where = item.get("loc", ("body",))[0]
                    path = ("dto" if where == "body" else str(where)) + "".join(
                        f"[{part}]" if isinstance(part, int) else f".{part}"
                        for part in (location if where == "body" else location[1:]))
                    message = item.get("msg", "")
                    if item.get("type") == "value_error":  # our own rule's message, without pydantic's prefix
                        message = str(item.get("ctx", {}).get("error", message))
                    if path.endswith(".content.title") and item.get("type") == "missing":
                        path, message = path.removesuffix(".title"), "Title must not be empty."
                    errors.setdefault(path, []).append(message)
                raise service.validation_failed(errors) from None

        return handle


router = APIRouter(prefix="/dialogporten", tags=["dialogporten"], route_class=DialogportenRoute)

SERVICE_OWNER_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/dialogporten",))
ServiceProvider = Annotated[Principal, require_scope(SERVICE_OWNER_TOKENS, service.SERVICE_PROVIDER_SCOPE)]
ServiceProviderSearch = Annotated[Principal, require_scope(SERVICE_OWNER_TOKENS, service.SERVICE_PROVIDER_SCOPE,
                                                           service.SEARCH_SCOPE)]
# Persons, with an ID-porten token or an Altinn token exchanged from one.
END_USER_TOKENS = AcceptedTokens(issuers=frozenset({Issuer.IDPORTEN, Issuer.ALTINN}), audiences=("/dialogporten",))
END_USER_REQUIREMENT = ScopeRequirement(END_USER_TOKENS, enduser.END_USER_SCOPE, person=True)
EndUser = Annotated[Principal, Depends(END_USER_REQUIREMENT)]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The revision (ETag) the change is based on")]
DIALOGS = "/api/v1/serviceowner/dialogs"
ENDUSER = "/api/v1/enduser"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Validation error"}, 401: {"description": "No valid token"},
    403: {"description": "Not the service resource's owner, or a missing scope"},
    404: {"description": "No such dialog"}}
WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS, 409: {"description": "Idempotent key or id used already"}, 410: {"description": "Deleted"},
    412: {"description": "Stale If-Match"}, 422: {"description": "Domain error"}}


def _revised(row: Dialog, status_code: int = status.HTTP_204_NO_CONTENT) -> Response:
    return Response(status_code=status_code, headers={"ETag": str(row.revision)})


@router.post(DIALOGS, operation_id="dialogporten_create_dialog", status_code=status.HTTP_201_CREATED,
             responses=WRITE_PROBLEMS, response_model=str)
async def create_dialog(runtime: RuntimeDep, principal: ServiceProvider, body: schemas.DialogCreate) -> Response:
    """Create a dialog; answers its id (a JSON string), with `Location` and the revision in `ETag`."""
    row = await service.create_dialog(runtime.database, principal, body, base_url=runtime.settings.base_url)
    return Response(f'"{row.id}"', status_code=status.HTTP_201_CREATED, media_type="application/json",
                    headers={"ETag": str(row.revision), "Location": f"/dialogporten{DIALOGS}/{row.id}"})


async def _filters(
    serviceResource: Annotated[list[str] | None, Query()] = None,
    party: Annotated[list[str] | None, Query()] = None,
    extendedStatus: Annotated[list[str] | None, Query()] = None,
    externalReference: str | None = None,
    status: Annotated[list[schemas.DialogStatus] | None, Query()] = None,
    createdAfter: datetime | None = None, createdBefore: datetime | None = None,
    updatedAfter: datetime | None = None, updatedBefore: datetime | None = None,
    contentUpdatedAfter: datetime | None = None, contentUpdatedBefore: datetime | None = None,
    dueAfter: datetime | None = None, dueBefore: datetime | None = None,
    process: str | None = None,
    systemLabel: Annotated[list[schemas.SystemLabel] | None, Query()] = None,
    excludeApiOnly: bool = False,
    isContentSeen: bool | None = None,
    search_text: Annotated[str | None, Query(alias="search", max_length=255)] = None,
    orderBy: str | None = None,
    continuationToken: Annotated[str | None, Query(max_length=1000)] = None,
    limit: int | None = None,
) -> search.DialogFilters:
    """The search parameters both Dialogporten's searches take."""
    return search.DialogFilters(
        party=party or [], service_resource=serviceResource or [], extended_status=extendedStatus or [],
        status=[value.value for value in status or []], system_label=[value.value for value in systemLabel or []],
        external_reference=externalReference, process=process, search=search_text, exclude_api_only=excludeApiOnly,
        is_content_seen=isContentSeen,
        created_after=createdAfter, created_before=createdBefore, updated_after=updatedAfter,
        updated_before=updatedBefore, content_updated_after=contentUpdatedAfter,
        content_updated_before=contentUpdatedBefore, due_after=dueAfter, due_before=dueBefore, order_by=orderBy,
        continuation_token=continuationToken, limit=limit)


Filters = Annotated[search.DialogFilters, Depends(_filters)]


@router.get(DIALOGS, operation_id="dialogporten_search_dialogs", responses=PROBLEMS, response_model=dict[str, Any])
async def search_dialogs(
    runtime: RuntimeDep, principal: ServiceProviderSearch, filters: Filters,
    deleted: schemas.DeletedFilter = schemas.DeletedFilter.EXCLUDE,
    visibleAfter: datetime | None = None, visibleBefore: datetime | None = None,
    serviceOwnerLabels: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """The service owner's dialogs, filtered, a page at a time (`continuationToken`, `hasNextPage`)."""
    filters.deleted, filters.visible_after, filters.visible_before = deleted, visibleAfter, visibleBefore
    filters.service_owner_labels = serviceOwnerLabels or []
    return await service.search_dialogs(runtime.database, principal, filters, tokens=runtime.continuation_tokens)


@router.get(DIALOGS + "/{dialogId}", operation_id="dialogporten_get_dialog", responses=PROBLEMS,
            response_model=dict[str, Any])
async def get_dialog(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                     response: Response) -> dict[str, Any]:
    """One of the service owner's dialogs, with its revision in `ETag`."""
    document = await service.get_dialog(database, principal, dialogId)
    response.headers["ETag"] = document["revision"]
    return document


@router.put(DIALOGS + "/{dialogId}", operation_id="dialogporten_replace_dialog",
            status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def replace_dialog(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                         body: schemas.DialogUpdate, if_match: IfMatch = None) -> Response:
    """Replace the dialog; activities and transmissions in the body are appended."""
    row = await service.update_dialog(runtime.database, principal, dialogId, body, if_match=if_match,
                                      base_url=runtime.settings.base_url)
    return _revised(row)


@router.patch(DIALOGS + "/{dialogId}", operation_id="dialogporten_patch_dialog",
              status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS,
              openapi_extra={"requestBody": {"content": {"application/json-patch+json": {"schema": {
                  "type": "array", "items": schemas.JsonPatchOperation.model_json_schema()}}}}})
async def patch_dialog(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                       body: Annotated[list[dict[str, Any]], Body()], if_match: IfMatch = None) -> Response:
    """Apply a JSON Patch (RFC 6902) to the dialog."""
    row = await service.patch_dialog(runtime.database, principal, dialogId, body, if_match=if_match,
                                     base_url=runtime.settings.base_url)
    return _revised(row)


@router.delete(DIALOGS + "/{dialogId}", operation_id="dialogporten_delete_dialog",
               status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def delete_dialog(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                        if_match: IfMatch = None) -> Response:
    """Soft delete: hidden from end users; the service owner may restore it."""
    row = await service.delete_dialog(runtime.database, principal, dialogId, if_match=if_match,
                                      base_url=runtime.settings.base_url)
    return _revised(row)


@router.post(DIALOGS + "/{dialogId}/actions/restore", operation_id="dialogporten_restore_dialog",
             status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def restore_dialog(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                         if_match: IfMatch = None) -> Response:
    """Undo a soft delete."""
    row = await service.restore_dialog(runtime.database, principal, dialogId, if_match=if_match,
                                       base_url=runtime.settings.base_url)
    return _revised(row)


@router.post(DIALOGS + "/{dialogId}/actions/purge", operation_id="dialogporten_purge_dialog",
             status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def purge_dialog(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                       if_match: IfMatch = None) -> Response:
    """Delete the dialog and all it holds for good."""
    await service.purge_dialog(runtime.database, principal, dialogId, if_match=if_match,
                               base_url=runtime.settings.base_url)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(DIALOGS + "/{dialogId}/actions/freeze", operation_id="dialogporten_freeze_dialog",
             status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def freeze_dialog(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                        if_match: IfMatch = None) -> Response:
    """Freeze the dialog: only Dialogporten's administrators may change it afterwards."""
    return _revised(await service.freeze_dialog(database, principal, dialogId, if_match=if_match))


@router.get(DIALOGS + "/{dialogId}/activities", operation_id="dialogporten_list_activities", responses=PROBLEMS,
            response_model=list[dict[str, Any]])
async def list_activities(database: DatabaseDep, principal: ServiceProvider,
                          dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """The dialog's activity history, oldest first."""
    return await service.list_activities(database, principal, dialogId)


@router.post(DIALOGS + "/{dialogId}/activities", operation_id="dialogporten_add_activity",
             status_code=status.HTTP_201_CREATED, responses=WRITE_PROBLEMS, response_model=str)
async def add_activity(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                       body: schemas.ActivityCreate, if_match: IfMatch = None) -> Response:
    """Append an activity; answers its id."""
    row, activity = await service.add_activity(runtime.database, principal, dialogId, body, if_match=if_match,
                                               base_url=runtime.settings.base_url)
    return Response(f'"{activity.id}"', status_code=status.HTTP_201_CREATED, media_type="application/json",
                    headers={"ETag": str(row.revision),
                             "Location": f"/dialogporten{DIALOGS}/{row.id}/activities/{activity.id}"})


@router.get(DIALOGS + "/{dialogId}/transmissions", operation_id="dialogporten_list_transmissions",
            responses=PROBLEMS, response_model=list[dict[str, Any]])
async def list_transmissions(database: DatabaseDep, principal: ServiceProvider,
                             dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """The dialog's transmissions, oldest first."""
    return await service.list_transmissions(database, principal, dialogId)


@router.post(DIALOGS + "/{dialogId}/transmissions", operation_id="dialogporten_add_transmission",
             status_code=status.HTTP_201_CREATED, responses=WRITE_PROBLEMS, response_model=str)
async def add_transmission(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                           body: schemas.TransmissionCreate, if_match: IfMatch = None) -> Response:
    """Append a transmission; answers its id."""
    row, transmission = await service.add_transmission(runtime.database, principal, dialogId, body,
                                                       if_match=if_match, base_url=runtime.settings.base_url)
    return Response(f'"{transmission.id}"', status_code=status.HTTP_201_CREATED, media_type="application/json",
                    headers={"ETag": str(row.revision),
                             "Location": f"/dialogporten{DIALOGS}/{row.id}/transmissions/{transmission.id}"})


@router.put(DIALOGS + "/{dialogId}/transmissions/{transmissionId}", operation_id="dialogporten_update_transmission",
            status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def update_transmission(runtime: RuntimeDep, principal: ServiceProvider, dialogId: uuid.UUID,
                              transmissionId: uuid.UUID, body: schemas.TransmissionUpdate,
                              if_match: IfMatch = None) -> Response:
    """Replace a transmission (needs `digdir:dialogporten.serviceprovider.changetransmissions` too)."""
    row = await transmissions.update_transmission(runtime.database, principal, dialogId, transmissionId, body,
                                                  if_match=if_match, base_url=runtime.settings.base_url)
    return _revised(row)


@router.get(DIALOGS + "/{dialogId}/seenlog", operation_id="dialogporten_list_seen_log", responses=PROBLEMS,
            response_model=list[dict[str, Any]])
async def list_seen_log(database: DatabaseDep, principal: ServiceProvider,
                        dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """Who has seen the dialog, and when."""
    return await service.list_seen_log(database, principal, dialogId)


@router.get(DIALOGS + "/{dialogId}/context/labels", operation_id="dialogporten_list_service_owner_labels",
            responses=PROBLEMS, response_model=list[dict[str, str]])
async def list_service_owner_labels(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                                    response: Response) -> list[dict[str, str]]:
    """The service owner's own labels on the dialog; `ETag` is the service-owner context's revision."""
    labels, revision = await service.service_owner_labels(database, principal, dialogId)
    response.headers["ETag"] = str(revision)
    return labels


@router.post(DIALOGS + "/{dialogId}/context/labels", operation_id="dialogporten_add_service_owner_label",
             status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def add_service_owner_label(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                                  body: schemas.Label, if_match: IfMatch = None) -> Response:
    """Add a label only the service owner sees."""
    row = await service.add_service_owner_label(database, principal, dialogId, body.value, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"ETag": str(row.service_owner_context_revision)})


@router.delete(DIALOGS + "/{dialogId}/context/labels/{label}", operation_id="dialogporten_remove_service_owner_label",
               status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def remove_service_owner_label(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                                     label: str, if_match: IfMatch = None) -> Response:
    """Remove one of the service owner's labels."""
    row = await service.remove_service_owner_label(database, principal, dialogId, label, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"ETag": str(row.service_owner_context_revision)})


AcceptLanguage = Annotated[str | None, Header(alias="Accept-Language", max_length=200)]


@router.get("/api/v1/metadata/limits", operation_id="dialogporten_limits", response_model=dict[str, Any])
async def get_limits() -> dict[str, Any]:
    """The limits Dialogporten enforces on searches (how many values each filter may list)."""
    return search.limits()


@router.get("/api/v1/metadata/serviceresources", operation_id="dialogporten_service_resources_in_use",
            response_model=dict[str, Any])
async def service_resources_in_use(database: DatabaseDep, accept_language: AcceptLanguage = None) -> dict[str, Any]:
    """The service resources dialogs belong to, with their owners and the roles and access packages that give
    access (open metadata)."""
    listed = await enduser.service_resources_in_use(database)
    return {**listed, "items": [lookup.in_languages(item, accept_language) for item in listed["items"]]}


@router.get(ENDUSER + "/dialogs", operation_id="dialogporten_enduser_search_dialogs", responses=PROBLEMS,
            response_model=dict[str, Any])
async def enduser_search_dialogs(runtime: RuntimeDep, principal: EndUser, filters: Filters,
                                 org: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
    """The dialogs of the parties the person can act for (or the `party` values named, at most 100), newest
    content first, a page at a time."""
    filters.org = org or []
    return await enduser.search_dialogs(runtime.database, principal, filters, tokens=runtime.continuation_tokens)


@router.get(ENDUSER + "/dialogs/{dialogId}", operation_id="dialogporten_enduser_get_dialog", responses=PROBLEMS,
            response_model=dict[str, Any])
async def enduser_get_dialog(runtime: RuntimeDep, principal: EndUser, dialogId: uuid.UUID,
                             response: Response) -> dict[str, Any]:
    """A dialog with what the person may do in it and a dialog token; reading it is written to its seen log."""
    document = await enduser.get_dialog(runtime.database, principal, dialogId, keys=runtime.keys,
                                        base_url=runtime.settings.base_url)
    response.headers["ETag"] = document["revision"]
    return document


@router.get(ENDUSER + "/dialogs/{dialogId}/activities", operation_id="dialogporten_enduser_list_activities",
            responses=PROBLEMS, response_model=list[dict[str, Any]])
async def enduser_list_activities(database: DatabaseDep, principal: EndUser,
                                  dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """The dialog's activity history."""
    return await enduser.list_activities(database, principal, dialogId)


@router.get(ENDUSER + "/dialogs/{dialogId}/transmissions", operation_id="dialogporten_enduser_list_transmissions",
            responses=PROBLEMS, response_model=list[dict[str, Any]])
async def enduser_list_transmissions(database: DatabaseDep, principal: EndUser,
                                     dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """The dialog's transmissions; one the person may not read shows no attachments."""
    return await enduser.list_transmissions(database, principal, dialogId)


@router.get(ENDUSER + "/dialogs/{dialogId}/seenlog", operation_id="dialogporten_enduser_list_seen_log",
            responses=PROBLEMS, response_model=list[dict[str, Any]])
async def enduser_list_seen_log(database: DatabaseDep, principal: EndUser,
                                dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """Who has seen the dialog, and when."""
    return await enduser.list_seen_log(database, principal, dialogId)


@router.get(ENDUSER + "/dialogs/{dialogId}/context/labellog", operation_id="dialogporten_enduser_label_log",
            responses=PROBLEMS, response_model=list[dict[str, Any]])
async def enduser_label_log(database: DatabaseDep, principal: EndUser, dialogId: uuid.UUID) -> list[dict[str, Any]]:
    """Every change of the dialog's system labels."""
    return await enduser.label_log(database, principal, dialogId)


@router.put(ENDUSER + "/dialogs/{dialogId}/context/systemlabels", operation_id="dialogporten_enduser_set_labels",
            status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS)
async def enduser_set_system_labels(database: DatabaseDep, principal: EndUser, dialogId: uuid.UUID,
                                    body: schemas.SystemLabelsSet, if_match: IfMatch = None) -> Response:
    """File the dialog (Default, Archive, Bin) or mark it unopened; `ETag` is the end-user context's revision."""
    row = await enduser.set_system_labels(database, principal, dialogId, body, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"ETag": str(row.end_user_context_revision)})


@router.post(ENDUSER + "/dialogs/context/systemlabels/actions/bulkset",
             operation_id="dialogporten_enduser_bulk_set_labels", status_code=status.HTTP_204_NO_CONTENT,
             responses=WRITE_PROBLEMS)
async def enduser_bulk_set_system_labels(database: DatabaseDep, principal: EndUser,
                                         body: schemas.SystemLabelsBulkSet) -> Response:
    """The same label change on up to 100 dialogs, all or none."""
    await enduser.bulk_set_system_labels(database, principal, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(ENDUSER + "/parties", operation_id="dialogporten_enduser_parties", responses=PROBLEMS,
            response_model=dict[str, Any])
async def enduser_parties(database: DatabaseDep, principal: EndUser) -> dict[str, Any]:
    """The parties the person can act for."""
    return await enduser.parties(database, principal)


@router.get(ENDUSER + "/serviceresources", operation_id="dialogporten_enduser_service_resources", responses=PROBLEMS,
            response_model=dict[str, Any])
async def enduser_service_resources(database: DatabaseDep, principal: EndUser,
                                    party: Annotated[list[str] | None, Query(max_length=100)] = None,
                                    accept_language: AcceptLanguage = None) -> dict[str, Any]:
    """The service resources of the dialogs the person may read, for the `party` values named (parties they
    cannot act for are ignored) or all their parties."""
    listed = await enduser.service_resources(database, principal, party or [])
    return {**listed, "items": [lookup.in_languages(item, accept_language) for item in listed["items"]]}


InstanceRef = Annotated[str, Query(max_length=200, description="urn:altinn:instance-id:{partyId}/{uuid}, "
                                   "urn:altinn:correspondence-id:{uuid} or urn:altinn:dialog-id:{uuid}")]


@router.get(ENDUSER + "/dialoglookup", operation_id="dialogporten_enduser_dialog_lookup",
            responses={**PROBLEMS, 403: {"description": "The person may not read the dialog"}},
            response_model=dict[str, Any])
async def enduser_dialog_lookup(database: DatabaseDep, principal: EndUser, instanceRef: InstanceRef,
                                accept_language: AcceptLanguage = None) -> dict[str, Any]:
    """The dialog an app instance, a correspondence or a dialog id names, and why the person may see it."""
    return lookup.in_languages(await lookup.for_end_user(database, principal, instanceRef), accept_language)


@router.get("/api/v1/serviceowner/dialoglookup", operation_id="dialogporten_dialog_lookup",
            responses={**PROBLEMS, 403: {"description": "Another service owner's dialog"}},
            response_model=dict[str, Any])
async def dialog_lookup(database: DatabaseDep, principal: ServiceProvider, instanceRef: InstanceRef,
                        accept_language: AcceptLanguage = None) -> dict[str, Any]:
    """The service owner's dialog an app instance, a correspondence or a dialog id names, deleted ones too."""
    return lookup.in_languages(await lookup.for_service_owner(database, principal, instanceRef), accept_language)


@router.get("/api/v1/.well-known/jwks.json", operation_id="dialogporten_jwks", response_model=dict[str, Any])
async def dialog_token_keys(runtime: RuntimeDep) -> dict[str, Any]:
    """The public keys that verify Dialogporten's dialog tokens."""
    return runtime.keys.jwks()


@router.post("/graphql", operation_id="dialogporten_graphql", response_model=dict[str, Any],
             responses={400: {"description": "The document does not parse or validate"},
                        401: {"description": "No valid token"}, 403: {"description": "Missing scope"}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["query"], "properties": {
                     "query": {"type": "string"}, "operationName": {"type": "string"},
                     "variables": {"type": "object"}}}}}}})
async def graphql_endpoint(request: Request, runtime: RuntimeDep) -> Response:
    """Dialogporten's GraphQL API (schema: Dialogporten's published SDL). Queries and mutations take the
    person's access token with `digdir:dialogporten`; the `dialogEvents` subscription (with
    `Accept: text/event-stream`) takes the dialog's dialog token and answers server-sent events."""
    if "authorization" not in request.headers:
        raise Unauthorized("This endpoint needs a Bearer token.", code="missing_token",
                           headers={"WWW-Authenticate": "Bearer"})
    try:
        data = await request.json()
    except ValueError:
        raise InvalidInput("The body is not JSON.", code="invalid_json") from None
    context: dict[str, Any] = {"database": runtime.database, "tokens": runtime.continuation_tokens,
                               "keys": runtime.keys, "base_url": runtime.settings.base_url,
                               "poll_seconds": runtime.settings.worker_poll_seconds}
    if "text/event-stream" in request.headers.get("accept", ""):
        dialog_id = graphql.subscription_dialog_id(data)
        if dialog_id is None:
            raise InvalidInput("Server-sent events serve the dialogEvents subscription.", code="not_a_subscription")
        _scheme, _, token = request.headers["authorization"].partition(" ")
        claims = enduser.verify_dialog_token(runtime.keys, runtime.settings.base_url, token.strip())
        if claims.get("i") != str(dialog_id):
            raise Forbidden("The dialog token is for another dialog.", code="dialog_token_mismatch")
        return StreamingResponse(graphql.events(data, context), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})
    context["principal"] = await END_USER_REQUIREMENT(request, await authenticate(request, None))
    status_code, result = await graphql.execute(data, context)
    return JSONResponse(result, status_code=status_code)


@router.get(DIALOGS + "/{dialogId}/activities/{activityId}", operation_id="dialogporten_get_activity",
            responses=PROBLEMS, response_model=dict[str, Any])
async def get_activity(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                       activityId: uuid.UUID) -> dict[str, Any]:
    """One activity of the dialog."""
    return views.one(await service.list_activities(database, principal, dialogId, full=True), activityId,
                     "DialogActivity")


@router.get(DIALOGS + "/{dialogId}/transmissions/{transmissionId}", operation_id="dialogporten_get_transmission",
            responses=PROBLEMS, response_model=dict[str, Any])
async def get_transmission(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                           transmissionId: uuid.UUID) -> dict[str, Any]:
    """One transmission of the dialog."""
    return views.one(await service.list_transmissions(database, principal, dialogId), transmissionId,
                     "DialogTransmission")


@router.get(DIALOGS + "/{dialogId}/seenlog/{seenLogId}", operation_id="dialogporten_get_seen_log_entry",
            responses=PROBLEMS, response_model=dict[str, Any])
async def get_seen_log_entry(database: DatabaseDep, principal: ServiceProvider, dialogId: uuid.UUID,
                             seenLogId: uuid.UUID) -> dict[str, Any]:
    """One entry of the dialog's seen log."""
    return views.one(await service.list_seen_log(database, principal, dialogId), seenLogId, "DialogSeenLog")


@router.get(ENDUSER + "/dialogs/{dialogId}/activities/{activityId}", operation_id="dialogporten_enduser_get_activity",
            responses=PROBLEMS, response_model=dict[str, Any])
async def enduser_get_activity(database: DatabaseDep, principal: EndUser, dialogId: uuid.UUID,
                               activityId: uuid.UUID) -> dict[str, Any]:
    """One activity of the dialog."""
    return views.one(await enduser.list_activities(database, principal, dialogId, full=True), activityId,
                     "DialogActivity")


@router.get(ENDUSER + "/dialogs/{dialogId}/transmissions/{transmissionId}",
            operation_id="dialogporten_enduser_get_transmission", responses=PROBLEMS, response_model=dict[str, Any])
async def enduser_get_transmission(database: DatabaseDep, principal: EndUser, dialogId: uuid.UUID,
                                   transmissionId: uuid.UUID) -> dict[str, Any]:
    """One transmission of the dialog."""
    return views.one(await enduser.list_transmissions(database, principal, dialogId), transmissionId,
                     "DialogTransmission")


@router.get(ENDUSER + "/dialogs/{dialogId}/seenlog/{seenLogId}", operation_id="dialogporten_enduser_get_seen_log_entry",
            responses=PROBLEMS, response_model=dict[str, Any])
async def enduser_get_seen_log_entry(database: DatabaseDep, principal: EndUser, dialogId: uuid.UUID,
                                     seenLogId: uuid.UUID) -> dict[str, Any]:
    """One entry of the dialog's seen log."""
    return views.one(await enduser.list_seen_log(database, principal, dialogId), seenLogId, "DialogSeenLog")
