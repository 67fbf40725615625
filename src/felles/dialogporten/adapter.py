"""What Altinn's Dialogporten adapter serves an inbox: the delete action of a mirrored app instance's dialog.

An inbox calls a dialog's GUI action with the dialog token Dialogporten gave the person, not with an access token
an app would take. So the delete action of an instance's dialog points here, as in Altinn
(`DELETE /storage/dialogporten/api/v1/instance/{partyId}/{instanceGuid}`). A call must carry a dialog token of the
very dialog that mirrors the instance, naming the `delete` action (at the process task the instance was in). The
decision point is asked again for the person the token names, at that task, since a delegation may have been revoked
since the token was issued. Then Storage soft deletes the instance, if it is still at that task, and the mirror
deletes its dialog at once."""

from __future__ import annotations

import uuid

from felles.authorization import service as authorization_service
from felles.core.db import Database
from felles.core.errors import Forbidden, NotFound
from felles.core.tokens import PlatformKeys, Principal
from felles.dialogporten import access, enduser, mirrors
from felles.storage import schemas as storage_schemas
from felles.storage import service as storage_service

DELETE = "delete"


async def delete_instance(database: Database, keys: PlatformKeys, base_url: str, party_id: int,
                          instance_id: uuid.UUID, dialog_token: str) -> None:
    """Soft delete the instance for the person the dialog token names: 401 without a valid dialog token, 403
    when it is another dialog's or does not name `delete`, or the decision point refuses, 404 when no dialog
    mirrors the instance."""
    claims = enduser.verify_dialog_token(keys, base_url, dialog_token)
    dialog_id = await mirrors.mirrored_dialog_id(database, mirrors.INSTANCE, instance_id)
    if dialog_id is None:
        raise NotFound("No dialog mirrors this instance.", code="instance_not_found")
    # What the token lets the person do: `action` or `action,authorizationAttribute`, `;` between.
    granted = [entry.partition(",") for entry in str(claims.get("a", "")).split(";")]
    delete_attributes = [attribute or None for action, _, attribute in granted if action == DELETE]
    if claims.get("i") != str(dialog_id) or not delete_attributes:
        raise Forbidden("The dialog token is not for deleting this instance's dialog.",
                        code="dialog_token_mismatch")
    task = access.task_of(delete_attributes[0])
    party, service_resource = str(claims.get("p", "")), str(claims.get("s", ""))
    person = str(claims.get("c", "")).removeprefix(access.PERSON_PREFIX)
    principal = Principal("person", person_identifier=person, authentication_level=int(claims.get("l") or 0))
    await access.check_authentication_level(database, principal, service_resource)
    if not await access.Decisions(database, person).permits(party, access.resource_of(service_resource, None),
                                                             DELETE, task=task):
        raise Forbidden("You may not delete this party's instances of the service.", code="not_authorized")
    user_id = (await authorization_service.party_of(database, person)).party_id
    user = storage_schemas.PlatformUser(userId=user_id, nationalIdentityNumber=person,
                                        authenticationLevel=principal.authentication_level)
    org = await storage_service.soft_delete_instance(database, party_id, instance_id, user=user, at_task=task)
    # The dialog is deleted now, not when the mirror job Storage queued runs (it then finds nothing to change):
    # the inbox the person comes back to no longer lists it.
    async with database.transaction() as session:
        await mirrors.mirror_instance(database, session, instance_id, org)
