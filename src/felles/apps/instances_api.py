"""Instances and their process over the app API, at app-lib's paths and in its JSON: instantiate (by
`instanceOwnerPartyId`, a JSON instance template, multipart with data, or the simplified `instances/create`), read,
delete, active instances, complete, substatus; the process state, start, next and history."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from email import policy
from email.parser import BytesParser
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from felles.apps import instances
from felles.apps.dependencies import AppDep, CallerDep, catalogue
from felles.core.errors import InvalidInput
from felles.core.params import IntegerId
from felles.core.runtime import RuntimeDep
from felles.core.tokens import AuthenticatedRoute
from felles.storage import schemas as s

router = APIRouter(prefix="/{org}/{app}/instances", tags=["app instances"], route_class=AuthenticatedRoute)

PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
    403: {"description": "Not permitted by the app's policy, or a party type the app does not take"},
    404: {"description": "No such app, party or instance"}, 409: {"description": "The process cannot do that now"},
}
Language = Annotated[str | None, Query(max_length=10, pattern=r"^[a-z]{2}$")]
Hard = Annotated[bool, Query()]


class InstanceOwnerIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    partyId: str | int | None = None
    personNumber: str | None = None
    organisationNumber: str | None = None


class InstantiationRequest(BaseModel):
    """app-lib's InstansiationInstance: the owner, dates and prefill values of the simplified instantiation."""
    model_config = ConfigDict(extra="ignore")
    instanceOwner: InstanceOwnerIn | None = None
    dueBefore: datetime | None = None
    visibleAfter: datetime | None = None
    prefill: dict[str, Any] | None = None


class ProcessNextRequest(BaseModel):
    """app-lib's ProcessNext: the action that leaves the task, and the organisation it is done for (signing for
    one)."""
    model_config = ConfigDict(extra="ignore")
    action: str | None = Field(None, max_length=100)
    actionOnBehalfOf: str | None = Field(None, pattern=r"^\d{9}$")


def _language(language: str | None, lang: str | None) -> str:
    return language or lang or "nb"


def _template(body: InstantiationRequest | None, party_id: int | None) -> instances.InstanceTemplate:
    owner = body.instanceOwner.model_dump() if body and body.instanceOwner else {}
    if party_id is not None and not any(owner.values()):
        owner = {"partyId": party_id}
    return instances.InstanceTemplate(instances.OwnerChoice.from_json(owner),
                                      due_before=body.dueBefore if body else None,
                                      visible_after=body.visibleAfter if body else None,
                                      prefill=dict(body.prefill or {}) if body else {})


def _instance_json(raw: bytes | str) -> InstantiationRequest:
    try:
        return InstantiationRequest.model_validate(json.loads(raw or b"{}"))
    except (ValueError, ValidationError):
        raise InvalidInput("The instance template must be a JSON object like {\"instanceOwner\": {\"partyId\": …}}.",
                           code="invalid_instance_template") from None


async def _template_from_request(request: Request, party_id: int | None) -> instances.InstanceTemplate:
    """The instance template from the body as app-lib takes it: none, JSON, or multipart (a part `instance` with
    the template, the others named by data type)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media_type == "multipart/form-data":
        template = None
        parts: list[instances.DataPart] = []
        for name, content_type, content, filename in _multipart(request.headers["content-type"], body):
            if name == "instance":
                template = _instance_json(content)
            else:
                parts.append(instances.DataPart(name, content_type, content, filename))
        result = _template(template, party_id)
        result.parts = parts
        return result
    if not body.strip():
        return _template(None, party_id)
    if media_type not in ("application/json", "text/json") and not media_type.endswith("+json"):
        raise InvalidInput(f'An instance is created from JSON or multipart/form-data, not "{media_type}".',
                           code="unsupported_content_type")
    return _template(_instance_json(body), party_id)


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str, bytes, str | None]]:
    """Each part of a multipart/form-data body: its name, its own Content-Type, its bytes and file name. A form
    parser drops the Content-Type of a part without a file name, which is how app-lib's clients send the data of
    an instance (a part named by its data type, `application/xml` or `application/json`); a part that names none
    is JSON, as the instance template is."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", errors="replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    found = []
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise InvalidInput("Each part of a multipart body is named (Content-Disposition: form-data; name=…).",
                               code="unnamed_part")
        payload = part.get_payload(decode=True)
        found.append((name, str(part.get("content-type") or "application/json"),
                      payload if isinstance(payload, bytes) else b"", part.get_filename()))
    return found


def _created(instance: s.InstancePublic, response: Response) -> s.InstancePublic:
    if instance.selfLinks and instance.selfLinks.apps:
        response.headers["Location"] = instance.selfLinks.apps
    return instance


@router.post("", operation_id="app_instances_create", status_code=status.HTTP_201_CREATED,
             response_model=s.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS,
             openapi_extra={"requestBody": {"required": False, "content": {
                 "application/json": {"schema": {"type": "object"}},
                 "multipart/form-data": {"schema": {"type": "object"}}}}})
async def create_instance(request: Request, response: Response, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                          instanceOwnerPartyId: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                          language: Language = None, lang: Language = None) -> s.InstancePublic:
    """Instantiate the app for a party: by `instanceOwnerPartyId`, a JSON instance template, or multipart with
    the template (part `instance`) and data (parts named by data type)."""
    template = await _template_from_request(request, instanceOwnerPartyId)
    created = await instances.create_instance(runtime, app, caller, template, language=_language(language, lang))
    return _created(created, response)


@router.post("/create", operation_id="app_instances_create_simplified", status_code=status.HTTP_201_CREATED,
             response_model=s.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def create_instance_simplified(response: Response, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                                     body: InstantiationRequest, language: Language = None,
                                     lang: Language = None) -> s.InstancePublic:
    """app-lib's simplified instantiation: the owner and `prefill` values for the form data (path → value)."""
    created = await instances.create_instance(runtime, app, caller, _template(body, None),
                                              language=_language(language, lang))
    return _created(created, response)


@router.get("/{instanceOwnerPartyId}/active", operation_id="app_instances_active", responses=PROBLEMS)
async def active_instances(runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                           instanceOwnerPartyId: IntegerId) -> list[dict[str, Any]]:
    """The party's instances of this app that are not finished (app-lib's ActiveInstance list)."""
    return await instances.active_instances(runtime, app, caller, instanceOwnerPartyId)


@router.get("/{instanceOwnerPartyId}/{instanceGuid}", operation_id="app_instance_get",
            response_model=s.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def get_instance(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                       instanceGuid: uuid.UUID) -> s.InstancePublic:
    return await instances.get_instance(runtime, app, caller, instanceOwnerPartyId, instanceGuid)


@router.get("/{instanceOwnerPartyId}/{instanceGuid}/filescanresult", operation_id="app_instance_file_scan_result",
            responses=PROBLEMS)
async def file_scan_result(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                           instanceGuid: uuid.UUID) -> dict[str, Any]:
    """The virus scan's verdict on the instance's files, each and together (app-lib's InstanceFileScanResult)."""
    return await instances.file_scan_result(runtime, app, caller, instanceOwnerPartyId, instanceGuid)


@router.get("/{instanceOwnerPartyId}/{instanceGuid}/enriched", operation_id="app_instance_enriched",
            responses=PROBLEMS)
async def get_enriched_instance(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                                instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID) -> dict[str, Any]:
    """The instance with its process state for the caller (current task, actions, read/write) and its owner's
    party: app-lib's EnrichedInstanceResponse."""
    return await instances.enriched_instance(runtime, catalogue(request), app, caller, instanceOwnerPartyId,
                                             instanceGuid)


@router.delete("/{instanceOwnerPartyId}/{instanceGuid}", operation_id="app_instance_delete",
               response_model=s.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def delete_instance(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                          instanceGuid: uuid.UUID, hard: Hard = False) -> s.InstancePublic:
    """Delete the instance: soft (it can be restored) or `hard=true`."""
    return await instances.delete_instance(runtime, app, caller, instanceOwnerPartyId, instanceGuid, hard=hard)


@router.post("/{instanceOwnerPartyId}/{instanceGuid}/complete", operation_id="app_instance_complete",
             response_model=s.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def complete_instance(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                            instanceGuid: uuid.UUID) -> s.InstancePublic:
    """The service owner confirms it has what it needs (the `complete` action of the app's policy)."""
    return await instances.complete_instance(runtime, app, caller, instanceOwnerPartyId, instanceGuid)


@router.put("/{instanceOwnerPartyId}/{instanceGuid}/substatus", operation_id="app_instance_substatus",
            response_model=s.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def set_substatus(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                        instanceGuid: uuid.UUID, substatus: s.Substatus) -> s.InstancePublic:
    return await instances.set_substatus(runtime, app, caller, instanceOwnerPartyId, instanceGuid, substatus)


@router.get("/{instanceOwnerPartyId}/{instanceGuid}/process", operation_id="app_process_get", responses=PROBLEMS)
async def process_state(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                        instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID) -> dict[str, Any]:
    """The process state (app-lib's AppProcessState): the current task and what the caller may do in it."""
    return await instances.process_state(runtime, catalogue(request), app, caller, instanceOwnerPartyId,
                                         instanceGuid)


@router.post("/{instanceOwnerPartyId}/{instanceGuid}/process/start", operation_id="app_process_start",
             responses=PROBLEMS)
async def process_start(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                        instanceGuid: uuid.UUID) -> dict[str, Any]:
    """Instances start their process when they are created; starting it again is a 409."""
    return await instances.process_start(runtime, app, caller, instanceOwnerPartyId, instanceGuid)


@router.put("/{instanceOwnerPartyId}/{instanceGuid}/process/next", operation_id="app_process_next",
            responses=PROBLEMS, openapi_extra={"requestBody": {"required": False, "content": {
                "application/json": {"schema": ProcessNextRequest.model_json_schema()}}}})
async def process_next(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                       instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID, language: Language = None,
                       lang: Language = None,
                       elementId: Annotated[str | None, Query(max_length=100)] = None,
                       returnInstance: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """Leave the current task (with `{"action": …}`, else the task's own action; `actionOnBehalfOf`: the
    organisation it is done for) and move to the next one; 409 with `validationIssues` when the task's data has
    errors, or when the action does not belong to the task. The new process state, or with `returnInstance=true`
    the instance after the step (EnrichedInstanceResponse)."""
    body = await request.body()
    next_request = ProcessNextRequest(action=elementId)  # elementId: app-lib's old name of the action
    if body.strip():
        try:
            sent = ProcessNextRequest.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            raise InvalidInput('The body of process/next is JSON like {"action": "confirm"}, with an organisation '
                               'number of 9 digits as actionOnBehalfOf.', code="invalid_process_next") from None
        next_request = ProcessNextRequest(action=sent.action or elementId, actionOnBehalfOf=sent.actionOnBehalfOf)
    return await instances.process_next(runtime, catalogue(request), app, caller, instanceOwnerPartyId,
                                        instanceGuid, action=next_request.action,
                                        on_behalf_of=next_request.actionOnBehalfOf,
                                        language=_language(language, lang), return_instance=returnInstance)


@router.get("/{instanceOwnerPartyId}/{instanceGuid}/process/next", operation_id="app_process_next_elements",
            responses=PROBLEMS)
async def next_elements(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                        instanceGuid: uuid.UUID) -> list[str]:
    """app-lib's obsolete list of the elements `next` could go to: empty, since an action names the way."""
    return await instances.next_elements(runtime, app, caller, instanceOwnerPartyId, instanceGuid)


@router.put("/{instanceOwnerPartyId}/{instanceGuid}/process/completeProcess", operation_id="app_process_complete",
            responses=PROBLEMS)
async def complete_process(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                           instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID,
                           language: Language = None) -> dict[str, Any]:
    """Take the process through its tasks to its end, each with its own action; 409 at the first task that cannot
    be left (with its `validationIssues`)."""
    return await instances.complete_process(runtime, catalogue(request), app, caller, instanceOwnerPartyId,
                                            instanceGuid, language=_language(language, None))


@router.post("/{instanceOwnerPartyId}/{instanceGuid}/process/resume", operation_id="app_process_resume",
             responses=PROBLEMS)
async def resume_process(request: Request, runtime: RuntimeDep, app: AppDep, caller: CallerDep,
                         instanceOwnerPartyId: IntegerId, instanceGuid: uuid.UUID) -> dict[str, Any]:
    """app-lib's resume of a task whose workflow failed midway: a step here never stops midway, so 409."""
    return await instances.resume_process(runtime, catalogue(request), app, caller, instanceOwnerPartyId,
                                          instanceGuid)


@router.get("/{instanceOwnerPartyId}/{instanceGuid}/process/history", operation_id="app_process_history",
            response_model=s.ProcessHistoryList, response_model_exclude_none=True, responses=PROBLEMS)
async def process_history(runtime: RuntimeDep, app: AppDep, caller: CallerDep, instanceOwnerPartyId: IntegerId,
                          instanceGuid: uuid.UUID) -> s.ProcessHistoryList:
    return await instances.process_history(runtime, app, caller, instanceOwnerPartyId, instanceGuid)
