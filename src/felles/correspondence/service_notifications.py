"""Notifications of correspondences, through Altinn Notifications (`felles.notifications.service`).

The transaction that publishes a correspondence with a `notification` places its order chain with Notifications:
the notice, and a reminder when the sender asked for one (7 days later in production, 1 day elsewhere, as Altinn).
A publish job killed half-way leaves neither correspondences published nor orders; its rerun places each once.
Texts are the sender's (CustomMessage) or Altinn's standard notice (GenericAltinnMessage) in the correspondence's
language; `$sendersName$` is filled in here, `$recipientName$` and `$recipientNumber$` by Notifications. The
order's idempotency id is the correspondence's, and the order is recorded with it (one per correspondence).

Each order asks a condition endpoint before it sends, as Altinn's do: the notice goes unless the correspondence was
purged; the reminder only while it is unread. Notifications calls the endpoint without a token, so its URL carries
a MAC of the correspondence id made with the platform's secret (`condition_url`): only the platform can make one.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import Forbidden, NotFound
from felles.core.tokens import Principal
from felles.correspondence.models import Correspondence, CorrespondenceNotification, CorrespondenceStatusEvent
from felles.correspondence.schemas import CorrespondenceStatus
from felles.correspondence.service_history import API_PATH
from felles.notifications import schemas as notification_schemas
from felles.notifications import service as notifications_service

SENDERS_NAME = "$sendersName$"
# The statuses after which no notice about the correspondence goes out, and those that end its reminder.
NO_NOTICE = frozenset({CorrespondenceStatus.PURGED_BY_RECIPIENT.value, CorrespondenceStatus.PURGED_BY_ALTINN.value,
                       CorrespondenceStatus.FAILED.value, CorrespondenceStatus.RESERVED.value})
READ_ALREADY = frozenset({CorrespondenceStatus.READ.value, CorrespondenceStatus.CONFIRMED.value,
                          CorrespondenceStatus.REPLIED.value, CorrespondenceStatus.ARCHIVED.value})

# Altinn's standard notice (GenericAltinnMessage), by the correspondence's language.
GENERIC_TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "emailSubject": "Du har mottatt en melding fra $sendersName$",
        "emailBody": "Hei $recipientName$.\n\nDu har mottatt en ny melding fra $sendersName$. Logg inn i Altinn "
                     "for å lese den.",
        "smsBody": "Du har mottatt en ny melding fra $sendersName$. Logg inn i Altinn for å lese den.",
        "reminderEmailSubject": "Påminnelse: Du har en ulest melding fra $sendersName$",
        "reminderEmailBody": "Hei $recipientName$.\n\nDu har en ulest melding fra $sendersName$. Logg inn i Altinn "
                             "for å lese den.",
        "reminderSmsBody": "Påminnelse: Du har en ulest melding fra $sendersName$ i Altinn.",
    },
    "nn": {
        "emailSubject": "Du har fått ei melding frå $sendersName$",
        "emailBody": "Hei $recipientName$.\n\nDu har fått ei ny melding frå $sendersName$. Logg inn i Altinn for å "
                     "lese ho.",
        "smsBody": "Du har fått ei ny melding frå $sendersName$. Logg inn i Altinn for å lese ho.",
        "reminderEmailSubject": "Påminning: Du har ei ulesen melding frå $sendersName$",
        "reminderEmailBody": "Hei $recipientName$.\n\nDu har ei ulesen melding frå $sendersName$. Logg inn i Altinn "
                             "for å lese ho.",
        "reminderSmsBody": "Påminning: Du har ei ulesen melding frå $sendersName$ i Altinn.",
    },
    "en": {
        "emailSubject": "You have received a message from $sendersName$",
        "emailBody": "Hello $recipientName$.\n\nYou have received a new message from $sendersName$. Log in to "
                     "Altinn to read it.",
        "smsBody": "You have received a new message from $sendersName$. Log in to Altinn to read it.",
        "reminderEmailSubject": "Reminder: You have an unread message from $sendersName$",
        "reminderEmailBody": "Hello $recipientName$.\n\nYou have an unread message from $sendersName$. Log in to "
                             "Altinn to read it.",
        "reminderSmsBody": "Reminder: You have an unread message from $sendersName$ in Altinn.",
    },
}


# --- the condition endpoint -----------------------------------------------------------------------------------
def condition_mac(secret_key: str, correspondence_id: uuid.UUID, kind: str) -> str:
    return hmac.new(secret_key.encode(), f"correspondence-notification:{kind}:{correspondence_id}".encode(),
                    hashlib.sha256).hexdigest()


def condition_url(settings: Settings, correspondence_id: uuid.UUID, *, reminder: bool) -> str:
    kind = "reminder" if reminder else "main"
    path = f"{API_PATH}/correspondence/{correspondence_id}/notification/check" + ("" if reminder else "/main")
    return f"{settings.base_url.rstrip('/')}{path}?mac={condition_mac(settings.secret_key, correspondence_id, kind)}"


async def should_notify(database: Database, settings: Settings, correspondence_id: uuid.UUID, mac: str, *,
                        reminder: bool) -> bool:
    """Whether the notice (or the reminder) about a correspondence is still to go out."""
    expected = condition_mac(settings.secret_key, correspondence_id, "reminder" if reminder else "main")
    if not hmac.compare_digest(expected, mac):
        raise Forbidden("The condition check's MAC is not the platform's.", code="invalid_condition_mac")
    async with database.transaction() as session:
        row = await session.get(Correspondence, correspondence_id)
        if row is None:
            raise NotFound(f"No correspondence {correspondence_id}.", code="correspondence_not_found")
        if row.status in NO_NOTICE:
            return False
        if not reminder:
            return True
        seen = await session.scalar(select(CorrespondenceStatusEvent.id).where(
            CorrespondenceStatusEvent.correspondence_id == correspondence_id,
            CorrespondenceStatusEvent.status.in_(READ_ALREADY)).limit(1))
        return seen is None


# --- ordering -------------------------------------------------------------------------------------------------
def _texts(row: Correspondence, senders_name: str) -> dict[str, str]:
    notification = row.notification or {}
    if notification.get("notificationTemplate") == "GenericAltinnMessage":
        texts = dict(GENERIC_TEXTS.get(row.language, GENERIC_TEXTS["nb"]))
    else:
        texts = {key: value for key, value in notification.items() if isinstance(value, str) and key in
                 GENERIC_TEXTS["nb"]}
    return {key: value.replace(SENDERS_NAME, senders_name) for key, value in texts.items()}


def _recipient(row: Correspondence, channel: str, texts: dict[str, str], prefix: str
               ) -> notification_schemas.Recipient:
    def text(name: str) -> str | None:
        return texts.get(prefix + name[0].upper() + name[1:] if prefix else name)

    subject, body, sms = text("emailSubject"), text("emailBody"), text("smsBody")
    email = notification_schemas.EmailSettings(subject=subject, body=body) if subject and body else None
    sms_settings = notification_schemas.SmsSettings(body=sms) if sms else None
    scheme = notification_schemas.ChannelScheme(channel)
    if len(row.recipient) == 11:
        return notification_schemas.Recipient(recipientPerson=notification_schemas.RecipientPerson(
            nationalIdentityNumber=row.recipient, channelSchema=scheme, ignoreReservation=row.ignore_reservation,
            resourceId=row.resource_id, emailSettings=email, smsSettings=sms_settings))
    return notification_schemas.Recipient(recipientOrganization=notification_schemas.RecipientOrganization(
        orgNumber=row.recipient, channelSchema=scheme, resourceId=row.resource_id, emailSettings=email,
        smsSettings=sms_settings))


def order_request(settings: Settings, row: Correspondence, senders_name: str
                  ) -> notification_schemas.OrderChainCreate:
    """The order chain of a correspondence's notification: the notice and, if asked for, the reminder."""
    notification = row.notification or {}
    texts = _texts(row, senders_name)
    channel = notification.get("notificationChannel") or "Email"
    requested = notification.get("requestedSendTime")
    send_time = max(utcnow(), row.published_at or utcnow())
    if isinstance(requested, str):
        send_time = max(send_time, datetime.fromisoformat(requested))
    reminders = []
    if notification.get("sendReminder"):
        reminders.append(notification_schemas.Reminder(
            delayDays=7 if settings.is_production else 1,
            conditionEndpoint=condition_url(settings, row.id, reminder=True),
            sendersReference=notification.get("sendersReference"),
            recipient=_recipient(row, notification.get("reminderNotificationChannel") or channel, texts,
                                 "reminder")))
    return notification_schemas.OrderChainCreate(
        idempotencyId=f"correspondence-{row.id}", sendersReference=notification.get("sendersReference"),
        requestedSendTime=send_time, conditionEndpoint=condition_url(settings, row.id, reminder=False),
        recipient=_recipient(row, channel, texts, ""), reminders=reminders)


async def order_in_transaction(session: AsyncSession, settings: Settings, rows: list[Correspondence],
                               senders: dict[uuid.UUID, str]) -> None:
    """Place the notification order of each correspondence that asks for one and has none yet, in the caller's
    (publishing) transaction; `senders` names whom each is from (see `service_reading.sender_names`)."""
    wanted = [row for row in rows if row.notification is not None]
    if not wanted:
        return
    ordered = set(await session.scalars(select(CorrespondenceNotification.correspondence_id).where(
        CorrespondenceNotification.correspondence_id.in_([row.id for row in wanted]))))
    now = utcnow()
    by_sender: dict[str, list[tuple[Correspondence, notification_schemas.OrderChainCreate]]] = {}
    for row in wanted:
        if row.id not in ordered:
            by_sender.setdefault(row.sender, []).append((row, order_request(settings, row, senders[row.id])))
    for sender, pairs in by_sender.items():
        creator = notifications_service.creator_of(Principal("organization", organization_number=sender))
        answers = await notifications_service.create_order_chains_in_transaction(
            session, settings, creator, [request for _, request in pairs])
        for (row, request), answer in zip(pairs, answers, strict=True):
            reminders = answer.notification.reminders
            session.add(CorrespondenceNotification(
                correspondence_id=row.id, order_chain_id=answer.notificationOrderId,
                shipment_id=answer.notification.shipmentId,
                reminder_shipment_id=reminders[0].shipmentId if reminders else None,
                requested_send_time=request.requestedSendTime or now, created_at=now))
