"""The Dialogporten adapter's API at Altinn's path (`/storage/dialogporten/api/v1`): the delete action an inbox calls
on a mirrored app instance's dialog, with the person's dialog token (see `adapter`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from felles.core.errors import Unauthorized
from felles.core.runtime import RuntimeDep
from felles.dialogporten import adapter, mirrors

router = APIRouter(prefix=mirrors.ADAPTER_PATH, tags=["dialogporten"])


@router.delete("/instance/{instanceOwner}/{instanceGuid}", operation_id="dialogporten_adapter_delete_instance",
               status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses={401: {"description": "No valid dialog token"},
                          403: {"description": "The token is another dialog's or action's, or the person may not "
                                               "delete"},
                          404: {"description": "No such instance, or no dialog mirrors it"}})
async def delete_instance(runtime: RuntimeDep, instanceOwner: int, instanceGuid: uuid.UUID,
                          authorization: Annotated[str | None, Header()] = None) -> Response:
    """Soft delete an app instance, as its dialog's delete action: `Authorization: Bearer <dialog token>`."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A dialog token is needed (Authorization: Bearer <dialog token>).", code="missing_token",
                           headers={"WWW-Authenticate": "Bearer"})
    await adapter.delete_instance(runtime.database, runtime.keys, runtime.settings.base_url, instanceOwner,
                                  instanceGuid, token.strip())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
