"""HTTP API of consent at Altinn's paths: the data consumer's `enterprise/consentrequests` (Maskinporten token with
`altinn:consentrequests.write|read`) and the person's BFF calls (an Altinn end-user token) behind the consent
page."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from felles.consent import schemas, service
from felles.core.errors import Forbidden
from felles.core.runtime import RuntimeDep
from felles.core.tokens import (
    ALTINN_API_ISSUERS,
    ALTINN_END_USER_ISSUERS,
    PORTAL_END_USER_SCOPE,
    AcceptedTokens,
    AuthenticatedRoute,
    Principal,
    require_person,
    require_scope,
)

router = APIRouter(tags=["consent"], route_class=AuthenticatedRoute)

CONSENT_WRITE = "altinn:consentrequests.write"
CONSENT_READ = "altinn:consentrequests.read"
CONSUMER_PATH = service.CONSUMER_PATH
BFF_PATH = "/accessmanagement/api/v1/bff"
# Data consumers use Maskinporten tokens (or Altinn tokens exchanged from them); the BFF is the Altinn portal's
# own backend, for Altinn end-user tokens with the portal's scope.
CONSUMER_TOKENS = AcceptedTokens(issuers=ALTINN_API_ISSUERS, audiences=("/accessmanagement",))
BFF_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS, audiences=("/accessmanagement",))


def _consumer(*scopes: str) -> Any:
    """A data consumer: an organisation's Maskinporten token with one of `scopes`."""

    scoped = require_scope(CONSUMER_TOKENS, *scopes)

    async def check(principal: Principal = scoped) -> Principal:
        if principal.kind != "organization":
            raise Forbidden("Only an organisation (a Maskinporten token) may request consent.",
                            code="organization_required")
        return principal

    return Depends(check)


ConsumerWriter = Annotated[Principal, _consumer(CONSENT_WRITE)]
ConsumerReader = Annotated[Principal, _consumer(CONSENT_READ, CONSENT_WRITE)]
Person = Annotated[Principal, require_person(BFF_TOKENS, PORTAL_END_USER_SCOPE)]


@router.post(CONSUMER_PATH, status_code=201, operation_id="consent_create_request",
             responses={200: {"description": "The same request was sent before; it is answered as stored"}})
async def create_request(body: schemas.ConsentRequestCreate, principal: ConsumerWriter, runtime: RuntimeDep,
                         response: Response) -> schemas.ConsentRequestDetails:
    """Ask a person or an organisation for consent; send the person to `viewUri` to answer. The consumer must
    be permitted action `requestconsent` by each resource's policy."""
    details, created = await service.create_request(runtime.database, runtime.settings, principal, body)
    if not created:
        response.status_code = 200
    return details


@router.get(CONSUMER_PATH + "/{request_id}", operation_id="consent_get_request")
async def get_request(request_id: uuid.UUID, principal: ConsumerReader,
                      runtime: RuntimeDep) -> schemas.ConsentRequestDetails:
    """A request of the calling organisation, with its status and history."""
    return await service.get_for_consumer(runtime.database, runtime.settings, principal, request_id)


@router.delete(CONSUMER_PATH + "/{request_id}", operation_id="consent_delete_request")
async def delete_request(request_id: uuid.UUID, principal: ConsumerWriter,
                         runtime: RuntimeDep) -> schemas.ConsentRequestDetails:
    """Withdraw a request, or end the consent it became (status Deleted)."""
    return await service.delete(runtime.database, runtime.settings, principal, request_id)


@router.get(BFF_PATH + "/consentrequests/{request_id}", operation_id="consent_bff_get_request")
async def get_own_request(request_id: uuid.UUID, person: Person,
                          runtime: RuntimeDep) -> schemas.ConsentRequestDetails:
    """A request the logged-in person may answer: one addressed to them, or to an organisation the resources'
    policies let them consent for."""
    assert person.person_identifier is not None
    return await service.get_for_person(runtime.database, runtime.settings, person.person_identifier, request_id)


@router.post(BFF_PATH + "/consentrequests/{request_id}/accept", operation_id="consent_bff_accept")
async def accept(request_id: uuid.UUID, person: Person, runtime: RuntimeDep) -> schemas.ConsentRequestDetails:
    assert person.person_identifier is not None
    return await service.accept(runtime.database, runtime.settings, person.person_identifier, request_id)


@router.post(BFF_PATH + "/consentrequests/{request_id}/reject", operation_id="consent_bff_reject")
async def reject(request_id: uuid.UUID, person: Person, runtime: RuntimeDep) -> schemas.ConsentRequestDetails:
    assert person.person_identifier is not None
    return await service.reject(runtime.database, runtime.settings, person.person_identifier, request_id)


@router.post(BFF_PATH + "/consents/{request_id}/revoke", operation_id="consent_bff_revoke")
async def revoke(request_id: uuid.UUID, person: Person, runtime: RuntimeDep) -> schemas.ConsentRequestDetails:
    assert person.person_identifier is not None
    return await service.revoke(runtime.database, runtime.settings, person.person_identifier, request_id)
