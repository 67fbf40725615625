"""The `Sent` system label, which Dialogporten adds itself when a transmission of type Submission or Correction
(one from the party) is added to a dialog, by the service owner's API or by a mirror: it files the dialog under
Arbeidsflate's "Sendt", beside the folder (Default, Archive, Bin) it is in. Neither service owners nor end users
set or remove it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.ids import uuid7
from felles.dialogporten import schemas as s
from felles.dialogporten.models import Dialog, DialogLabelAssignment, DialogTransmission


def file_as_sent(session: AsyncSession, row: Dialog, added: Iterable[DialogTransmission], now: datetime) -> None:
    """Add `Sent` to the dialog if one of the transmissions `added` to it is the party's (once: a dialog sent
    already is left as it is), and log it in the dialog's label log."""
    if label_as_sent(row, added):
        log_sent(session, row, now)


def label_as_sent(row: Dialog, added: Iterable[DialogTransmission]) -> bool:
    """`file_as_sent` without the label log's row (`log_sent`, once the dialog is stored): whether it added `Sent`.
    What labels a dialog being created before its first INSERT."""
    if s.SystemLabel.SENT.value in row.system_labels or not any(
            transmission.type in s.FROM_PARTY_TRANSMISSIONS for transmission in added):
        return False
    row.system_labels = [*row.system_labels, s.SystemLabel.SENT.value]
    row.end_user_context_revision = uuid7()
    return True


def log_sent(session: AsyncSession, row: Dialog, now: datetime) -> None:
    session.add(DialogLabelAssignment(id=uuid7(), dialog_id=row.id, created_at=now,
                                      name=s.LABEL_LOG_PREFIX + s.SystemLabel.SENT.value, action="set",
                                      performed_by={"actorType": s.ActorType.SERVICE_OWNER.value}))
