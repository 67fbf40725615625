"""Storage's API at Altinn's paths (`/storage/api/v1`), for service owners: their apps' metadata, the query over
their instances, one instance with its events and process history, the complete confirmation and the substatus,
the data elements (their list, their bytes, their lock) and the read status.

Service owners call with a Maskinporten token (or an Altinn token exchanged from one) carrying
`altinn:serviceowner/instances.read` or `.write`; the organisation must be in the registry of service owners, and
sees the instances of its own apps only (`org` = its code). Application metadata is public, as in Altinn.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from felles.authorization import service as authorization
from felles.core.errors import Forbidden, InvalidInput
from felles.core.params import IntegerId
from felles.core.runtime import DatabaseDep, RuntimeDep
from felles.core.tokens import ALTINN_API_ISSUERS, AcceptedTokens, AuthenticatedRoute, Principal, require_scope
from felles.storage import schemas, service

router = APIRouter(prefix=service.STORAGE_PATH, tags=["storage"], route_class=AuthenticatedRoute)

READ_SCOPE = "altinn:serviceowner/instances.read"
WRITE_SCOPE = "altinn:serviceowner/instances.write"
STORAGE_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/storage",))
Reader = Annotated[Principal, require_scope(STORAGE_TOKENS, READ_SCOPE, WRITE_SCOPE)]
Writer = Annotated[Principal, require_scope(STORAGE_TOKENS, WRITE_SCOPE)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input"}, 401: {"description": "No valid token"},
    403: {"description": "Not a service owner, or another owner's apps"}, 404: {"description": "Not found"},
}
# Altinn's lastChanged filter: `gt:2024-01-01T00:00:00Z`, `lt:…` (gte/lte are taken as gt/lt on the instant).
_COMPARISONS = ("gt", "gte", "lt", "lte")


async def _service_owner(database: DatabaseDep, principal: Principal) -> str:
    code = await authorization.service_owner_code(database, principal.organization_number or "")
    if code is None:
        raise Forbidden("The caller is not a registered service owner.", code="not_service_owner")
    return code


def _platform_user(principal: Principal, org: str) -> schemas.PlatformUser:
    return schemas.PlatformUser(orgId=org, authenticationLevel=principal.authentication_level)


def _last_changed(values: list[str]) -> tuple[datetime | None, datetime | None]:
    after = before = None
    for value in values:
        comparison, _, moment = value.partition(":")
        if comparison not in _COMPARISONS:
            raise InvalidInput(f"lastChanged must be {', '.join(_COMPARISONS)} followed by ':' and a time.",
                               code="invalid_last_changed")
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("lastChanged needs an ISO 8601 time.", code="invalid_last_changed") from None
        if parsed.tzinfo is None:
            raise InvalidInput("lastChanged needs a time with its offset (e.g. Z).", code="invalid_last_changed")
        if comparison.startswith("gt"):
            after = parsed
        else:
            before = parsed
    return after, before


@router.get("/applications", operation_id="storage_applications", response_model=schemas.ApplicationList)
async def all_applications(database: DatabaseDep) -> schemas.ApplicationList:
    """Every deployed app's metadata, as Altinn lists them (public)."""
    return schemas.ApplicationList(applications=await service.list_applications(database))


@router.get("/applications/{org}/{app}", operation_id="storage_application_get", responses=PROBLEMS)
async def get_application(database: DatabaseDep, org: str, app: str) -> dict[str, Any]:
    """The metadata (`applicationmetadata.json`) of an app's newest deployed version."""
    return await service.get_application(database, f"{org}/{app}")


@router.get("/applications/{org}", operation_id="storage_applications_of_org", response_model=schemas.ApplicationList)
async def list_applications(database: DatabaseDep, org: str) -> schemas.ApplicationList:
    """Every app the service owner has deployed."""
    return schemas.ApplicationList(applications=await service.list_applications(database, org))


@router.get("/instances", operation_id="storage_instances_query", response_model=schemas.QueryResponse,
            response_model_exclude_none=True, responses=PROBLEMS)
async def query_instances(
    request: Request, runtime: RuntimeDep, principal: Reader,
    org: Annotated[str | None, Query(max_length=50, description="The service owner's code (your own)")] = None,
    appId: Annotated[str | None, Query(max_length=200, description='"org/app"')] = None,
    instanceOwner_partyId: Annotated[int | None, Query(alias="instanceOwner.partyId", ge=1, le=2**31 - 1)] = None,
    currentTask: Annotated[str | None, Query(alias="process.currentTask", max_length=100)] = None,
    isComplete: Annotated[bool | None, Query(alias="process.isComplete")] = None,
    lastChanged: Annotated[list[str] | None, Query(max_length=2)] = None,
    size: Annotated[int, Query(ge=1, le=service.MAX_QUERY_SIZE)] = service.DEFAULT_QUERY_SIZE,
    continuationToken: Annotated[str | None, Query(max_length=500)] = None,
) -> schemas.QueryResponse:
    """The service owner's instances, ordered by last change and paged with `continuationToken`."""
    own = await _service_owner(runtime.database, principal)
    if (org is not None and org != own) or (appId is not None and appId.split("/", 1)[0] != own):
        raise Forbidden("A service owner queries its own apps' instances only.", code="not_your_apps")
    after, before = _last_changed(lastChanged or [])
    query = service.InstanceQuery(org=own, app_id=appId, party_id=instanceOwner_partyId, current_task=currentTask,
                                  process_is_complete=isComplete, last_changed_after=after,
                                  last_changed_before=before, size=size)
    instances, next_token = await service.query_for_org(runtime.database, runtime.continuation_tokens, query,
                                                        continuationToken, runtime.settings.base_url)
    base = f"{runtime.settings.base_url.rstrip('/')}{service.STORAGE_PATH}/instances"
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "continuationToken"]
    return schemas.QueryResponse(
        instances=instances, count=len(instances), self=f"{base}?{urlencode(request.query_params.multi_items())}",
        next=f"{base}?{urlencode([*kept, ('continuationToken', next_token)])}" if next_token else None,
    )


@router.get("/instances/{instanceOwnerPartyId}/{instanceGuid}", operation_id="storage_instance_get",
            response_model=schemas.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def get_instance(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                       instanceGuid: uuid.UUID) -> schemas.InstancePublic:
    own = await _service_owner(runtime.database, principal)
    return await service.get_instance_for_org(runtime.database, own, instanceOwnerPartyId, instanceGuid,
                                              runtime.settings.base_url)


@router.get("/instances/{instanceGuid}", operation_id="storage_instance_get_by_guid",
            response_model=schemas.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def get_instance_by_guid(runtime: RuntimeDep, principal: Reader,
                               instanceGuid: uuid.UUID) -> schemas.InstancePublic:
    """One of the owner's instances by its guid alone (Altinn's preferred form of the path)."""
    own = await _service_owner(runtime.database, principal)
    return await service.get_instance_by_guid_for_org(runtime.database, own, instanceGuid, runtime.settings.base_url)


@router.put("/instances/{instanceOwnerPartyId}/{instanceGuid}/presentationtexts",
            operation_id="storage_instance_presentation_texts", response_model=schemas.InstancePublic,
            response_model_exclude_none=True, responses=PROBLEMS)
async def update_presentation_texts(runtime: RuntimeDep, principal: Writer, instanceOwnerPartyId: IntegerId,
                                    instanceGuid: uuid.UUID, body: schemas.PresentationTexts) -> schemas.InstancePublic:
    """Set the texts shown with the instance (a key with an empty value is removed)."""
    own = await _service_owner(runtime.database, principal)
    return await service.update_presentation_texts(runtime.database, own, instanceOwnerPartyId, instanceGuid,
                                                   body.texts, principal.organization_number or own,
                                                   runtime.settings.base_url)


@router.put("/instances/{instanceOwnerPartyId}/{instanceGuid}/datavalues", operation_id="storage_instance_data_values",
            response_model=schemas.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def update_data_values(runtime: RuntimeDep, principal: Writer, instanceOwnerPartyId: IntegerId,
                             instanceGuid: uuid.UUID, body: schemas.DataValues) -> schemas.InstancePublic:
    """Set the instance's data values (a key with an empty value is removed)."""
    own = await _service_owner(runtime.database, principal)
    return await service.update_data_values(runtime.database, own, instanceOwnerPartyId, instanceGuid, body.values,
                                            principal.organization_number or own, runtime.settings.base_url)


@router.post("/instances/{instanceOwnerPartyId}/{instanceGuid}/complete", operation_id="storage_instance_complete",
             response_model=schemas.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def complete_instance(runtime: RuntimeDep, principal: Writer, instanceOwnerPartyId: IntegerId,
                            instanceGuid: uuid.UUID) -> schemas.InstancePublic:
    """The service owner has what it needs: a complete confirmation (once) and a ConfirmedComplete event."""
    own = await _service_owner(runtime.database, principal)
    return await service.confirm_complete(runtime.database, own, instanceOwnerPartyId, instanceGuid,
                                          principal.organization_number or own, _platform_user(principal, own),
                                          runtime.settings.base_url)


@router.put("/instances/{instanceOwnerPartyId}/{instanceGuid}/substatus", operation_id="storage_instance_substatus",
            response_model=schemas.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def update_substatus(runtime: RuntimeDep, principal: Writer, instanceOwnerPartyId: IntegerId,
                           instanceGuid: uuid.UUID, substatus: schemas.Substatus) -> schemas.InstancePublic:
    own = await _service_owner(runtime.database, principal)
    return await service.update_substatus(runtime.database, own, instanceOwnerPartyId, instanceGuid, substatus,
                                          principal.organization_number or own, _platform_user(principal, own),
                                          runtime.settings.base_url)


@router.get("/instances/{instanceOwnerPartyId}/{instanceGuid}/events", operation_id="storage_instance_events",
            response_model=schemas.InstanceEventList, response_model_exclude_none=True, responses=PROBLEMS)
async def instance_events(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                          instanceGuid: uuid.UUID,
                          eventTypes: Annotated[list[str] | None, Query(max_length=50)] = None,
                          ) -> schemas.InstanceEventList:
    own = await _service_owner(runtime.database, principal)
    return await service.events_of(runtime.database, instanceGuid, party_id=instanceOwnerPartyId, org=own,
                                   event_types=eventTypes)


@router.get("/instances/{instanceOwnerPartyId}/{instanceGuid}/events/{eventGuid}",
            operation_id="storage_instance_event", response_model=schemas.InstanceEventPublic,
            response_model_exclude_none=True, responses=PROBLEMS)
async def instance_event(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                         instanceGuid: uuid.UUID, eventGuid: uuid.UUID) -> schemas.InstanceEventPublic:
    own = await _service_owner(runtime.database, principal)
    return await service.event_of(runtime.database, instanceGuid, eventGuid, party_id=instanceOwnerPartyId, org=own)


@router.get("/instances/{instanceOwnerPartyId}/{instanceGuid}/process/history",
            operation_id="storage_process_history", response_model=schemas.ProcessHistoryList,
            response_model_exclude_none=True, responses=PROBLEMS)
async def process_history(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                          instanceGuid: uuid.UUID) -> schemas.ProcessHistoryList:
    own = await _service_owner(runtime.database, principal)
    return await service.process_history(runtime.database, instanceGuid, party_id=instanceOwnerPartyId, org=own)


@router.get("/instances/{instanceOwnerPartyId}/{instanceGuid}/dataelements", operation_id="storage_data_elements",
            response_model=schemas.DataElementList, response_model_exclude_none=True, responses=PROBLEMS)
async def data_elements(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                        instanceGuid: uuid.UUID) -> schemas.DataElementList:
    own = await _service_owner(runtime.database, principal)
    return await service.data_elements_for_org(runtime.database, own, instanceOwnerPartyId, instanceGuid,
                                               runtime.settings.base_url)


@router.get("/instances/{instanceOwnerPartyId}/{instanceGuid}/data/{dataGuid}", operation_id="storage_data_get",
            responses={**PROBLEMS, 200: {"description": "The bytes, with the content type they were stored with"}},
            response_class=StreamingResponse)
async def data_element(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                       instanceGuid: uuid.UUID, dataGuid: uuid.UUID) -> StreamingResponse:
    """A data element's bytes (marked read by the service owner); an infected file is never delivered (403)."""
    own = await _service_owner(runtime.database, principal)
    element = await service.data_element_for_org(runtime.database, own, instanceOwnerPartyId, instanceGuid,
                                                 dataGuid)
    stream = await service.read_data_blob(runtime.blobs, element)
    headers = {"Content-Length": str(stream.end - stream.start)}
    if element.filename:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(element.filename)}"
    return StreamingResponse(stream, media_type=element.content_type, headers=headers)


@router.put("/instances/{instanceOwnerPartyId}/{instanceGuid}/data/{dataGuid}/lock", operation_id="storage_data_lock",
            response_model=schemas.DataElementPublic, response_model_exclude_none=True, responses=PROBLEMS)
async def lock_data_element(runtime: RuntimeDep, principal: Writer, instanceOwnerPartyId: IntegerId,
                            instanceGuid: uuid.UUID, dataGuid: uuid.UUID) -> schemas.DataElementPublic:
    """Lock the data element: the app no longer changes it."""
    own = await _service_owner(runtime.database, principal)
    return await service.set_data_element_lock(runtime.database, own, instanceOwnerPartyId, instanceGuid, dataGuid,
                                               True, principal.organization_number or own, runtime.settings.base_url)


@router.delete("/instances/{instanceOwnerPartyId}/{instanceGuid}/data/{dataGuid}/lock",
               operation_id="storage_data_unlock", response_model=schemas.DataElementPublic,
               response_model_exclude_none=True, responses=PROBLEMS)
async def unlock_data_element(runtime: RuntimeDep, principal: Writer, instanceOwnerPartyId: IntegerId,
                              instanceGuid: uuid.UUID, dataGuid: uuid.UUID) -> schemas.DataElementPublic:
    own = await _service_owner(runtime.database, principal)
    return await service.set_data_element_lock(runtime.database, own, instanceOwnerPartyId, instanceGuid, dataGuid,
                                               False, principal.organization_number or own, runtime.settings.base_url)


@router.put("/instances/{instanceOwnerPartyId}/{instanceGuid}/readstatus", operation_id="storage_read_status",
            response_model=schemas.InstancePublic, response_model_exclude_none=True, responses=PROBLEMS)
async def update_read_status(runtime: RuntimeDep, principal: Reader, instanceOwnerPartyId: IntegerId,
                             instanceGuid: uuid.UUID,
                             status: Annotated[str, Query(max_length=30, description="Read, Unread or "
                                                                                      "UpdatedSinceLastReview")],
                             ) -> schemas.InstancePublic:
    own = await _service_owner(runtime.database, principal)
    return await service.update_read_status(runtime.database, own, instanceOwnerPartyId, instanceGuid, status,
                                            principal.organization_number or own, runtime.settings.base_url)
