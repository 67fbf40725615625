"""Replacing a transmission (Dialogporten's `PUT .../transmissions/{transmissionId}`, which needs the scope
`digdir:dialogporten.serviceprovider.changetransmissions` besides the service provider's).

The transmission keeps its id (and its creation time unless the body sets one); everything else becomes the
body's. Like every write to a dialog it takes a new revision, checks `If-Match`, and refuses deleted and frozen
dialogs; unless the update is silent it is new content for the end user and an `updated` event."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from felles.core import audit
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, Forbidden, NotFound
from felles.core.ids import uuid7
from felles.core.tokens import Principal
from felles.dialogporten import schemas as s
from felles.dialogporten import sent, service
from felles.dialogporten.models import Dialog, DialogTransmission

CHANGE_TRANSMISSIONS_SCOPE = "digdir:dialogporten.serviceprovider.changetransmissions"


async def update_transmission(database: Database, principal: Principal, dialog_id: uuid.UUID,
                              transmission_id: uuid.UUID, body: s.TransmissionUpdate, *, if_match: str | None,
                              base_url: str) -> Dialog:
    """Replace one of a dialog's transmissions with `body`; answers the dialog at its new revision."""
    if CHANGE_TRANSMISSIONS_SCOPE not in principal.scopes:
        raise Forbidden(f"Replacing a transmission needs the scope {CHANGE_TRANSMISSIONS_SCOPE}.",
                        code="scope_required")
    owner = await service.service_owner(database, principal)
    now = utcnow()
    async with database.transaction() as session:
        row = await service._own_dialog(session, owner, dialog_id, for_update=True)
        service._check_writable(row, principal)
        service._check_revision(row, if_match)
        current = await session.scalar(select(DialogTransmission).where(
            DialogTransmission.dialog_id == row.id, DialogTransmission.id == transmission_id))
        if current is None:
            raise NotFound(f"Entity 'DialogTransmission' with the following key(s) was not found: "
                           f"({transmission_id}).", code="transmission_not_found")
        created = s.TransmissionCreate(id=transmission_id, **body.model_dump(exclude={"isSilentUpdate"}))
        (replacement,) = service._transmission_rows(row.id, [created], now)
        others = list(await session.scalars(select(DialogTransmission).where(
            DialogTransmission.dialog_id == row.id, DialogTransmission.id != transmission_id)))
        errors: dict[str, list[str]] = {}
        if replacement.related_transmission_id is not None and replacement.related_transmission_id not in {
                other.id for other in others}:
            errors["DialogTransmission"] = [f"Transmission {transmission_id} refers to an unknown related "
                                            f"transmission {replacement.related_transmission_id}."]
        if errors:
            raise service.domain_failed(errors)
        if replacement.idempotent_key is not None and replacement.idempotent_key in {
                other.idempotent_key for other in others}:
            raise Conflict("A transmission with this idempotent key exists already.",
                                   code="idempotent_key_exists", extra={"errors": {"IdempotentKey": [
                                       f"'{replacement.idempotent_key}' already exists."]}})
        for name in ("idempotent_key", "authorization_attribute", "extended_type", "external_reference",
                     "related_transmission_id", "type", "sender", "content", "attachments", "navigational_actions"):
            setattr(current, name, getattr(replacement, name))
        sent.file_as_sent(session, row, [current], now)
        if body.createdAt is not None:
            current.created_at = replacement.created_at
        row.revision, row.updated_at = uuid7(), now
        if not body.isSilentUpdate:
            row.content_updated_at = now
            await service.publish(session, row, "transmission.updated", base_url,
                                  transmissionId=str(transmission_id))
        await audit.record(session, owner.actor, action="update_transmission", resource=service.AUDIT_RESOURCE,
                           subjects=[service.party_identifier(row.party) or row.party],
                           detail={"dialogId": str(row.id), "transmissionId": str(transmission_id)})
    return row
