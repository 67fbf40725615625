"""API models of Varsling, as Altinn Notifications v2 (`future/orders`) and v1 (`orders/email`) name them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class ChannelScheme(StrEnum):
    EMAIL_PREFERRED = "EmailPreferred"
    SMS_PREFERRED = "SmsPreferred"
    EMAIL = "Email"
    SMS = "Sms"
    EMAIL_ONLY = "EmailOnly"
    SMS_ONLY = "SmsOnly"
    EMAIL_AND_SMS = "EmailAndSms"


class SendingTimePolicy(StrEnum):
    ANYTIME = "Anytime"
    DAYTIME = "Daytime"


class EmailText(BaseModel):
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=30_000)


class EmailSettings(BaseModel):
    """Texts may carry `$recipientName$` and `$recipientNumber$`. `translations` by KRR language
    (nb, nn, en, se) override subject and body for persons whose preferred language it is."""

    senderEmailAddress: str | None = Field(default=None, max_length=200)
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=30_000)
    contentType: Literal["Plain", "Html"] = "Plain"
    sendingTimePolicy: SendingTimePolicy = SendingTimePolicy.ANYTIME
    translations: dict[str, EmailText] = Field(default_factory=dict)


class SmsText(BaseModel):
    body: str = Field(min_length=1, max_length=2144)


class SmsSettings(BaseModel):
    sender: str | None = Field(default=None, max_length=11)
    body: str = Field(min_length=1, max_length=2144)
    sendingTimePolicy: SendingTimePolicy = SendingTimePolicy.DAYTIME
    translations: dict[str, SmsText] = Field(default_factory=dict)


class RecipientEmail(BaseModel):
    emailAddress: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200)
    emailSettings: EmailSettings


class RecipientSms(BaseModel):
    phoneNumber: str = Field(pattern=r"^\+?[0-9]{8,15}$")
    smsSettings: SmsSettings


class RecipientPerson(BaseModel):
    nationalIdentityNumber: str = Field(pattern=r"^[0-9]{11}$")
    channelSchema: ChannelScheme = ChannelScheme.EMAIL_PREFERRED
    ignoreReservation: bool = False
    useStaleContactInformation: bool = False
    resourceId: str | None = None
    emailSettings: EmailSettings | None = None
    smsSettings: SmsSettings | None = None


class RecipientOrganization(BaseModel):
    orgNumber: str = Field(pattern=r"^[0-9]{9}$")
    channelSchema: ChannelScheme = ChannelScheme.EMAIL_PREFERRED
    resourceId: str | None = None
    emailSettings: EmailSettings | None = None
    smsSettings: SmsSettings | None = None


class Recipient(BaseModel):
    """Exactly one of the four."""

    recipientEmail: RecipientEmail | None = None
    recipientSms: RecipientSms | None = None
    recipientPerson: RecipientPerson | None = None
    recipientOrganization: RecipientOrganization | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Recipient:
        given = [name for name in ("recipientEmail", "recipientSms", "recipientPerson", "recipientOrganization")
                 if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of recipientEmail, recipientSms, recipientPerson, "
                             "recipientOrganization")
        return self


class DialogportenAssociation(BaseModel):
    dialogId: str | None = None
    transmissionId: str | None = None


class Reminder(BaseModel):
    sendersReference: str | None = Field(default=None, max_length=200)
    conditionEndpoint: str | None = Field(default=None, max_length=2000)
    delayDays: int | None = Field(default=None, ge=1, le=365)
    requestedSendTime: datetime | None = None
    recipient: Recipient | None = Field(default=None, description="Defaults to the order's recipient.")

    @model_validator(mode="after")
    def _delay_xor_time(self) -> Reminder:
        if (self.delayDays is None) == (self.requestedSendTime is None):
            raise ValueError("give either delayDays or requestedSendTime")
        return self


class OrderChainCreate(BaseModel):
    """`NotificationOrderChainRequestExt`: one recipient, and zero or more reminders."""

    idempotencyId: str = Field(min_length=1, max_length=200)
    sendersReference: str | None = Field(default=None, max_length=200)
    requestedSendTime: datetime | None = None
    conditionEndpoint: str | None = Field(default=None, max_length=2000)
    dialogportenAssociation: DialogportenAssociation | None = None
    recipient: Recipient
    reminders: list[Reminder] = Field(default_factory=list, max_length=10)


class ShipmentReference(BaseModel):
    shipmentId: uuid.UUID
    sendersReference: str | None = None


class ShipmentWithReminders(ShipmentReference):
    reminders: list[ShipmentReference] = Field(default_factory=list)


class OrderChainResponse(BaseModel):
    notificationOrderId: uuid.UUID
    notification: ShipmentWithReminders


class EmailOrderRecipient(BaseModel):
    emailAddress: str | None = Field(default=None, max_length=200)
    nationalIdentityNumber: str | None = Field(default=None, pattern=r"^[0-9]{11}$")
    organizationNumber: str | None = Field(default=None, pattern=r"^[0-9]{9}$")

    @model_validator(mode="after")
    def _exactly_one(self) -> EmailOrderRecipient:
        if sum(value is not None for value in (self.emailAddress, self.nationalIdentityNumber,
                                               self.organizationNumber)) != 1:
            raise ValueError("give exactly one of emailAddress, nationalIdentityNumber, organizationNumber")
        return self


class EmailOrderCreate(BaseModel):
    """v1 `EmailNotificationOrderRequestExt`: one e-mail to many recipients."""

    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=30_000)
    contentType: Literal["Plain", "Html"] = "Plain"
    fromAddress: str | None = None
    recipients: list[EmailOrderRecipient] = Field(min_length=1, max_length=50_000)
    requestedSendTime: datetime | None = None
    sendersReference: str | None = Field(default=None, max_length=200)
    conditionEndpoint: str | None = Field(default=None, max_length=2000)
    ignoreReservation: bool = False


class OrderCreated(BaseModel):
    orderId: uuid.UUID


class RecipientStatus(BaseModel):
    type: Literal["Email", "SMS"]
    destination: str | None = None
    status: str
    lastUpdate: datetime
    description: str | None = Field(default=None, description=(
        "Felles extension (as v1's `sendStatus.description`): why the notification failed, or, while it is "
        "still pending, why the last attempt did not get through (it is tried again)."))


class ShipmentManifest(BaseModel):
    """`GET future/shipment/{id}`: an order's status and each recipient's result."""

    shipmentId: uuid.UUID
    sendersReference: str | None = None
    type: Literal["Notification", "Reminder"]
    status: str
    lastUpdate: datetime
    requestedSendTime: datetime
    recipients: list[RecipientStatus]


class OrderChainPublic(BaseModel):
    notificationOrderId: uuid.UUID
    idempotencyId: str
    shipments: list[ShipmentManifest]


class StatusFeedOrderStatus(BaseModel):
    shipmentId: uuid.UUID
    sendersReference: str | None = None
    type: str
    status: str
    lastUpdate: datetime


class StatusFeedEntry(BaseModel):
    sequenceNumber: int
    orderStatus: StatusFeedOrderStatus


class StatusV1(BaseModel):
    """v1 `StatusExt`."""

    status: str
    description: str | None = None
    lastUpdate: datetime


class OrderLinksV1(BaseModel):
    self: str
    status: str


class EmailTemplateV1(BaseModel):
    fromAddress: str | None = None
    subject: str
    body: str
    contentType: Literal["Plain", "Html"]


class OrderRecipientV1(BaseModel):
    """v1 `RecipientExt`: the recipient as ordered."""

    emailAddress: str | None = None
    mobileNumber: str | None = None
    nationalIdentityNumber: str | None = None
    organizationNumber: str | None = None


class OrderV1(BaseModel):
    """v1 `NotificationOrderExt`: `GET orders/{id}`."""

    id: uuid.UUID
    creator: str
    sendersReference: str | None = None
    requestedSendTime: datetime
    created: datetime
    notificationChannel: str
    ignoreReservation: bool
    conditionEndpoint: str | None = None
    recipients: list[OrderRecipientV1]
    emailTemplate: EmailTemplateV1 | None = None
    links: OrderLinksV1


class NotificationLinksV1(BaseModel):
    self: str


class ChannelStatusSummaryV1(BaseModel):
    """v1 `EmailNotificationStatusExt` / `SmsNotificationStatusExt`."""

    links: NotificationLinksV1
    generated: int
    succeeded: int


class NotificationsStatusSummaryV1(BaseModel):
    email: ChannelStatusSummaryV1 | None = None
    sms: ChannelStatusSummaryV1 | None = None


class OrderWithStatusV1(BaseModel):
    """v1 `NotificationOrderWithStatusExt`: `GET orders/{id}/status`."""

    id: uuid.UUID
    sendersReference: str | None = None
    requestedSendTime: datetime
    creator: str
    created: datetime
    notificationChannel: str
    ignoreReservation: bool
    conditionEndpoint: str | None = None
    processingStatus: StatusV1
    notificationsStatusSummary: NotificationsStatusSummaryV1 | None = None


class EmailNotificationWithResultV1(BaseModel):
    id: uuid.UUID
    succeeded: bool
    recipient: OrderRecipientV1
    sendStatus: StatusV1


class EmailNotificationSummaryV1(BaseModel):
    """v1 `EmailNotificationSummaryExt`: `GET orders/{id}/notifications/email`, each recipient's result."""

    orderId: uuid.UUID
    sendersReference: str | None = None
    generated: int
    succeeded: int
    notifications: list[EmailNotificationWithResultV1]


class SmsDeliveryReport(BaseModel):
    """An SMS gateway's delivery report (DLR): the `refId` it was given with the message, and the final state
    (Delivered, Failed, Failed_InvalidRecipient, Failed_BarredReceiver, Failed_Deleted, Failed_Expired,
    Failed_Undelivered or Failed_Rejected)."""

    refId: uuid.UUID
    status: str
