"""The app API's data elements and validation, at app-lib's paths and in its JSON shapes.

`/{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}/data…`: create (`?dataType=`, the older call that
answers the DataElement; `/data/type/{dataType}` and `/data/{dataType}`, answering DataPostResponse), read, replace,
JSON Patch (one element, or several in one request) and delete; `…/validate` and `…/data/{id}/validate`.
`/{org}/{app}/v1/data` (and `/v1/data/anonymous`): a stateless app's form data, prefilled, never stored.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from felles.apps import data, data_validation
from felles.apps.access import Caller
from felles.apps.definition import AppDefinition
from felles.apps.dependencies import AppDep, CallerDep, catalogue
from felles.core.body_limit import declare_body_limit
from felles.core.errors import InvalidInput
from felles.core.params import IntegerId
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import AuthenticatedRoute

router = APIRouter(tags=["app data"], route_class=AuthenticatedRoute)
INSTANCE = "/{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input: an unknown data type, malformed form data, a refused file"},
    401: {"description": "No valid token"}, 403: {"description": "The app's policy does not permit it"},
    404: {"description": "No such instance or data element"},
    409: {"description": "The element is locked, the instance done, a limit reached or a patch test failed"},
    413: {"description": "The file is larger than the data type allows"},
}
declare_body_limit(data.DATA_PATH_PATTERN, data.MAX_ATTACHMENT_BYTES)


async def instance_ref(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                       instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID) -> data.InstanceRef:
    # async although it awaits nothing: FastAPI runs a plain function dependency in its thread pool.
    return data.InstanceRef(runtime, catalogue(request), app.id, caller, instanceOwnerPartyId, instanceGuid)


InstanceRefDep = Annotated[data.InstanceRef, Depends(instance_ref)]
Language = Annotated[str | None, Query(max_length=10, description="The user's language (nb, nn, en)")]


class PatchRequest(BaseModel):
    """DataPatchRequest: a JSON Patch (RFC 6902) of one form data element."""

    model_config = ConfigDict(extra="forbid")
    patch: list[dict[str, Any]] | dict[str, Any]
    ignoredValidators: list[str] | None = None


class PatchListItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataElementId: uuid.UUID
    patch: list[dict[str, Any]] | dict[str, Any]


class PatchRequestMultiple(BaseModel):
    """DataPatchRequestMultiple: patches of several form data elements, applied all or none."""

    model_config = ConfigDict(extra="forbid")
    patches: list[PatchListItem]
    ignoredValidators: list[str] | None = None


def _upload_headers(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length", "")
    return {"content_type": request.headers.get("content-type"),
            "content_disposition": request.headers.get("content-disposition"),
            "content_length": int(length) if length.isdigit() else None, "body": request.stream()}


def _ignored(value: str | None) -> list[str] | None:
    return None if value is None else [name for name in value.split(",") if name]


@router.post(INSTANCE + "/data", operation_id="app_data_create_by_query", status_code=201, responses=PROBLEMS)
async def create_by_query(request: Request, ref: InstanceRefDep,
                          dataType: Annotated[str, Query(min_length=1, max_length=200)]) -> JSONResponse:
    """Add a data element (the older call): the new DataElement."""
    created = await data.create_data_element(ref, dataType, **_upload_headers(request))
    element = data.public_element(ref, created.opened, created.element)
    return JSONResponse(element, status_code=201, headers={"Location": element["selfLinks"]["apps"]})


async def _create(request: Request, ref: data.InstanceRef, data_type: str, ignored: str | None,
                  language: str | None) -> dict[str, Any]:
    created = await data.create_data_element(ref, data_type, **_upload_headers(request))
    issues = [] if ignored is None else await data_validation.incremental_issues(
        ref, created.opened, [created.element.id], _ignored(ignored), language)
    return {"newDataElementId": str(created.element.id), "instance": data.public_instance(ref, created.opened),
            "validationIssues": issues,
            "newDataModels": [] if created.form_data is None else [
                {"dataElementId": str(created.element.id), "data": created.form_data}]}


@router.post(INSTANCE + "/data/type/{dataType}", operation_id="app_data_create", responses=PROBLEMS)
async def create(request: Request, ref: InstanceRefDep, dataType: str,
                 ignoredValidators: Annotated[str | None, Query(max_length=1000)] = None,
                 language: Language = None) -> dict[str, Any]:
    """Add a data element (form data or a file in the body): DataPostResponse."""
    return await _create(request, ref, dataType, ignoredValidators, language)


@router.post(INSTANCE + "/data/{dataType}", operation_id="app_data_create_by_type", responses=PROBLEMS)
async def create_by_type(request: Request, ref: InstanceRefDep, dataType: str,
                         ignoredValidators: Annotated[str | None, Query(max_length=1000)] = None,
                         language: Language = None) -> dict[str, Any]:
    """The same as `/data/type/{dataType}` (app-lib keeps both paths)."""
    return await _create(request, ref, dataType, ignoredValidators, language)


@router.get(INSTANCE + "/data/{dataGuid}", operation_id="app_data_get", responses=PROBLEMS)
async def get(request: Request, ref: InstanceRefDep, dataGuid: uuid.UUID, includeRowId: bool = False,
              language: Language = None) -> Response:
    """Form data as JSON (XML when only XML is accepted; repeating-group rows' `altinnRowId` when
    `includeRowId`), or the file as it was uploaded."""
    element, form_data = await data.read_data_element(ref, dataGuid)
    accept = request.headers.get("accept", "")
    if form_data is not None and not ("xml" in accept and "json" not in accept):
        return JSONResponse(form_data if includeRowId else data.without_row_ids(form_data))
    stream = await data.open_file(ref, element)
    headers = {"Content-Length": str(stream.end - stream.start)}
    if element.filename:
        ascii_name = element.filename.encode("ascii", "replace").decode().replace('"', "'")
        headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                          f"filename*=UTF-8''{quote(element.filename)}")
    return StreamingResponse(stream, media_type=element.content_type, headers=headers)


@router.put(INSTANCE + "/data/{dataGuid}", operation_id="app_data_replace", status_code=201, responses=PROBLEMS)
async def replace(request: Request, ref: InstanceRefDep, dataGuid: uuid.UUID) -> JSONResponse:
    """New form data or a new file for the element: the DataElement."""
    opened, element, _ = await data.replace_data_element(ref, dataGuid, **_upload_headers(request))
    body = data.public_element(ref, opened, element)
    return JSONResponse(body, status_code=201, headers={"Location": body["selfLinks"]["apps"]})


@router.patch(INSTANCE + "/data/{dataGuid}", operation_id="app_data_patch", responses=PROBLEMS)
async def patch(ref: InstanceRefDep, dataGuid: uuid.UUID, request: PatchRequest,
                language: Language = None) -> dict[str, Any]:
    """Apply a JSON Patch to one form data element: DataPatchResponse (issues by validator)."""
    patched = await data.patch_form_data(ref, [(dataGuid, request.patch)])
    issues = await data_validation.incremental_issues(ref, patched.opened, [dataGuid], request.ignoredValidators,
                                                      language)
    return {"validationIssues": {pair["source"]: pair["issues"] for pair in issues},
            "newDataModel": patched.form_data[dataGuid], "instance": data.public_instance(ref, patched.opened)}


@router.patch(INSTANCE + "/data", operation_id="app_data_patch_multiple", responses=PROBLEMS)
async def patch_multiple(ref: InstanceRefDep, request: PatchRequestMultiple,
                         language: Language = None) -> dict[str, Any]:
    """Apply JSON Patches to several form data elements, all or none: DataPatchResponseMultiple."""
    if not request.patches:
        raise InvalidInput("The request has no patches.", code="no_patches")
    patched = await data.patch_form_data(ref, [(item.dataElementId, item.patch) for item in request.patches])
    issues = await data_validation.incremental_issues(ref, patched.opened, list(patched.form_data),
                                                      request.ignoredValidators, language)
    return {"validationIssues": issues,
            "newDataModels": [{"dataElementId": str(element_id), "data": form_data}
                              for element_id, form_data in patched.form_data.items()],
            "instance": data.public_instance(ref, patched.opened)}


@router.delete(INSTANCE + "/data/{dataGuid}", operation_id="app_data_delete", responses=PROBLEMS)
async def delete(ref: InstanceRefDep, dataGuid: uuid.UUID,
                 ignoredValidators: Annotated[str | None, Query(max_length=1000)] = None,
                 language: Language = None) -> dict[str, Any]:
    """Remove the data element and its bytes: DataDeleteResponse."""
    opened = await data.delete_data_element(ref, dataGuid)
    issues = [] if ignoredValidators is None else await data_validation.incremental_issues(
        ref, opened, [], _ignored(ignoredValidators), language)
    return {"instance": data.public_instance(ref, opened), "validationIssues": issues, "newDataModels": []}


class TagsRequest(BaseModel):
    """SetTagsRequest: every tag the element should have."""

    model_config = ConfigDict(extra="forbid")
    tags: list[Annotated[str, StringConstraints(max_length=100)]] = Field(max_length=100)


@router.get(INSTANCE + "/data/{dataGuid}/tags", operation_id="app_data_tags", responses=PROBLEMS)
async def tags(ref: InstanceRefDep, dataGuid: uuid.UUID) -> dict[str, Any]:
    """The element's tags: TagsList."""
    return {"tags": await data.data_element_tags(ref, dataGuid)}


@router.post(INSTANCE + "/data/{dataGuid}/tags", operation_id="app_data_tag_add", status_code=201,
             responses=PROBLEMS)
async def add_tag(ref: InstanceRefDep, dataGuid: uuid.UUID,
                  tag: Annotated[str, Body(max_length=100, description="The tag, as a JSON string")]) -> dict[str, Any]:
    _, now = await data.change_tags(ref, dataGuid, add=tag)
    return {"tags": now}


@router.put(INSTANCE + "/data/{dataGuid}/tags", operation_id="app_data_tags_set", responses=PROBLEMS)
async def set_tags(ref: InstanceRefDep, dataGuid: uuid.UUID, request: TagsRequest,
                   ignoredValidators: Annotated[str | None, Query(max_length=1000)] = None,
                   language: Language = None) -> dict[str, Any]:
    """Set every tag of the element: SetTagsResponse, with the element's validation issues now."""
    opened, now = await data.change_tags(ref, dataGuid, replace=request.tags)
    issues = await data_validation.incremental_issues(ref, opened, [dataGuid], _ignored(ignoredValidators),
                                                      language)
    return {"tags": now, "validationIssues": issues}


@router.delete(INSTANCE + "/data/{dataGuid}/tags/{tag}", operation_id="app_data_tag_delete", status_code=204,
               responses=PROBLEMS)
async def delete_tag(ref: InstanceRefDep, dataGuid: uuid.UUID, tag: str) -> Response:
    await data.change_tags(ref, dataGuid, remove=tag)
    return Response(status_code=204)


@router.get(INSTANCE + "/validate", operation_id="app_validate_instance", responses=PROBLEMS)
async def validate_instance(ref: InstanceRefDep, language: Language = None,
                            ignoredValidators: Annotated[str | None, Query(max_length=1000)] = None,
                            ) -> list[dict[str, Any]]:
    """Every issue of the instance's current task: ValidationIssueWithSource list."""
    return await data_validation.validate_instance(ref, language, _ignored(ignoredValidators) or [])


@router.get(INSTANCE + "/data/{dataGuid}/validate", operation_id="app_validate_data_element", responses=PROBLEMS)
async def validate_data_element(ref: InstanceRefDep, dataGuid: uuid.UUID,
                                language: Language = None) -> list[dict[str, Any]]:
    """The issues of one data element."""
    return await data_validation.validate_data_element(ref, dataGuid, language)


# --- stateless apps -----------------------------------------------------------------------------------------
STATELESS = "/{org}/{app}/v1/data"
DataTypeQuery = Annotated[str, Query(min_length=1, max_length=200, description="The form's data type")]
PartyHeader = Annotated[str | None, Header(alias="party", max_length=40,
                                           description="partyid:N, person:SSN or org:ORGNR (default: the caller)")]


async def _stateless(request: Request, runtime: Runtime, app: AppDefinition, data_type: str,
                     caller: Caller | None, party: str | None) -> dict[str, Any]:
    body = await request.body() if request.method == "POST" else None
    form_data = await data.stateless_form_data(runtime, app, data_type, caller=caller, party_header=party, body=body,
                                               content_type=request.headers.get("content-type"))
    include = request.query_params.get("includeRowId", "").lower() == "true"
    return data.with_row_ids(form_data) if include else data.without_row_ids(form_data)


@router.get(STATELESS, operation_id="app_stateless_data_get", responses=PROBLEMS)
async def stateless_get(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                        dataType: DataTypeQuery, party: PartyHeader = None) -> dict[str, Any]:
    """A new form of a stateless app, prefilled for the party; nothing is stored."""
    return await _stateless(request, runtime, app.definition, dataType, caller, party)


@router.post(STATELESS, operation_id="app_stateless_data_post", responses=PROBLEMS)
async def stateless_post(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                         dataType: DataTypeQuery, party: PartyHeader = None) -> dict[str, Any]:
    """The form data sent (JSON or XML), read through the model and prefilled; nothing is stored."""
    return await _stateless(request, runtime, app.definition, dataType, caller, party)


@router.get(STATELESS + "/anonymous", operation_id="app_stateless_data_anonymous_get", responses=PROBLEMS)
async def stateless_anonymous_get(request: Request, runtime: RuntimeDep, app: AppDep,
                                  dataType: DataTypeQuery) -> dict[str, Any]:
    """A new form for anyone, where the data type has `allowAnonymousOnStateless`."""
    return await _stateless(request, runtime, app.definition, dataType, None, None)


@router.post(STATELESS + "/anonymous", operation_id="app_stateless_data_anonymous_post", responses=PROBLEMS)
async def stateless_anonymous_post(request: Request, runtime: RuntimeDep, app: AppDep,
                                   dataType: DataTypeQuery) -> dict[str, Any]:
    return await _stateless(request, runtime, app.definition, dataType, None, None)
