"""The `Sent` system label, which only the service owner sets: it files a dialog the party has sent something in
(a submission) under Arbeidsflate's "Sendt", beside the folder (Default, Archive, Bin) it is in."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import NotFound
from felles.core.ids import uuid7
from felles.core.tokens import Principal
from felles.dialogporten import schemas as s
from felles.dialogporten.enduser import LABEL_PREFIX
from felles.dialogporten.models import Dialog, DialogLabelAssignment
from felles.dialogporten.service import service_owner


async def mark_sent(database: Database, principal: Principal, dialog_id: uuid.UUID) -> None:
    """Add `Sent` to the service owner's dialog (once; a dialog already sent is left as it is)."""
    owner = await service_owner(database, principal)
    async with database.transaction() as session:
        row = await session.scalar(select(Dialog).where(Dialog.id == dialog_id).with_for_update())
        if row is None or row.org != owner.code:
            raise NotFound(f"Dialog with key '{dialog_id}' not found.", code="dialog_not_found", title="Not found.")
        if s.SystemLabel.SENT in row.system_labels:
            return
        row.system_labels = [*row.system_labels, s.SystemLabel.SENT.value]
        row.end_user_context_revision = uuid7()
        session.add(DialogLabelAssignment(id=uuid7(), dialog_id=row.id, created_at=utcnow(),
                                          name=LABEL_PREFIX + s.SystemLabel.SENT.value, action="set",
                                          performed_by={"actorType": s.ActorType.SERVICE_OWNER.value}))
