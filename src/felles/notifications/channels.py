"""Delivery channels: e-mail and SMS, each through a provider plugin.

Providers are registered by name (`@email_providers.register("name")`, `@sms_providers.register("name")`) and chosen
with `FELLES_EMAIL_PROVIDER` and `FELLES_SMS_PROVIDER`. Each channel has an `outbox` provider that keeps the
messages in the database for a development page (`/notifications/email-outbox`, `/notifications/sms-outbox`);
e-mail's real provider is `smtp` (any SMTP server), SMS's is `http` (an HTTP gateway, `FELLES_SMS_GATEWAY_URL`,
LINK Mobility's JSON shape). Each has a self-check.

Each channel is rate-limited per process (`FELLES_EMAIL_RATE_PER_SECOND`, `FELLES_SMS_RATE_PER_SECOND`).
Failures are told apart as permanent (the recipient or message is refused) and transient (try again later).

Delivery reports. SMTP accepting a message says only that the next server took it (Email_Succeeded). Where
the SMTP server offers DSN (RFC 3461), each message asks for a delivery status notification on success and
failure, with the notification id as its envelope id; the DSNs (RFC 3464 `multipart/report`) come back to the
sender address, whose MTA pipes them to `POST /notifications/api/v1/delivery-reports/email` (Postfix: a pipe
transport for the bounce address running curl), which sets Email_Delivered or Email_Failed_Bounced. The SMS
gateway calls `POST …/delivery-reports/sms` with its delivery report (DLR) for the `refId` it was given.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, message_from_string
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import formatdate
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar

import aiosmtplib
import httpx
from aiosmtplib import SMTPStatus
from sqlalchemy.ext.asyncio import AsyncSession

from felles.core import outbound
from felles.core.clock import utcnow
from felles.core.config import Environment, Settings
from felles.core.errors import Problem
from felles.notifications.models import EmailOutboxMessage, SmsOutboxMessage


class RateLimiter:
    """Spaces calls at least 1/rate seconds apart (per process); a rate of 0 means unlimited."""

    def __init__(self, rate_per_second: float) -> None:
        self.interval = 1 / rate_per_second if rate_per_second > 0 else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


_limiters: dict[tuple[str, float], RateLimiter] = {}


def limiter(channel: str, rate: float) -> RateLimiter:
    return _limiters.setdefault((channel, rate), RateLimiter(rate))


# --- provider plugins ---------------------------------------------------------------------------------------
Provider = TypeVar("Provider")


class ProviderRegistry(Generic[Provider]):
    """The provider plugins of one channel, registered by name (`@registry.register("name")`) and chosen by a
    setting (`FELLES_EMAIL_PROVIDER`, `FELLES_SMS_PROVIDER`)."""

    def __init__(self, channel: str, setting: str) -> None:
        self.channel, self.setting = channel, setting
        self._factories: dict[str, Callable[[Settings], Provider]] = {}

    def register(self, name: str) -> Callable[[Callable[[Settings], Provider]], Callable[[Settings], Provider]]:
        def register(factory: Callable[[Settings], Provider]) -> Callable[[Settings], Provider]:
            self._factories[name] = factory
            return factory

        return register

    def names(self) -> list[str]:
        return sorted(self._factories)

    def configured(self, settings: Settings) -> Provider:
        """The provider the settings choose; LookupError when none is registered by that name."""
        name = getattr(settings, self.setting)
        factory = self._factories.get(name)
        if factory is None:
            raise LookupError(f"no {self.channel} provider is registered as {name!r}; known: {', '.join(self.names())}")
        return factory(settings)


# --- e-mail -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Email:
    notification_id: uuid.UUID
    sender: str
    to: str
    subject: str
    body: str
    html: bool


@dataclass(frozen=True)
class SendResult:
    ok: bool
    transient: bool = False
    error: str | None = None
    status: str | None = None  # a specific failure status, e.g. Email_Failed_InvalidFormat


@lru_cache(maxsize=256)
def _header(value: str) -> str:
    """A header value, RFC 2047-encoded when it is not ASCII (Norwegian subjects often are not)."""
    return value if value.isascii() else Header(value, "utf-8").encode()


@lru_cache(maxsize=256)
def _body(text: str) -> bytes:
    return base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")


def message_bytes(email: Email) -> bytes:
    """The message as sent. Built by hand: `EmailMessage` costs more than the SMTP exchange itself, and a
    batch shares its subject and body (cached). The Message-ID is the notification id, so a receiver (and our
    crash test) recognises a message sent twice."""
    headers = (
        f"From: {email.sender}\r\nTo: {email.to}\r\nSubject: {_header(email.subject)}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\nMessage-ID: <{email.notification_id}@felles.notifications>\r\n"
        f"X-Felles-Notification-Id: {email.notification_id}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{'html' if email.html else 'plain'}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return headers.encode() + _body(email.body)


def _smtp_failure(exc: Exception) -> SendResult:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [error.code for error in exc.recipients]
        transient = all(400 <= code < 500 for code in codes)
        return SendResult(False, transient, str(exc), None if transient else "Email_Failed_RecipientNotIdentified")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        return SendResult(False, transient, f"{exc.code} {exc.message}", None if transient else "Email_Failed")
    return SendResult(False, True, f"{type(exc).__name__}: {exc}")


class _SmtpPool:
    """Idle SMTP sessions of this process (one pool per server and event loop), reused by the next batch:
    a batch of one e-mail then costs its MAIL/RCPT/DATA and not a new session with its greeting, EHLO (and
    STARTTLS, AUTH) and QUIT. A session idle longer than `smtp_idle_seconds` is closed rather than reused,
    and a reused session the server has dropped is replaced once, for the e-mail that found it dropped."""

    def __init__(self) -> None:
        self.idle: list[tuple[float, aiosmtplib.SMTP]] = []

    async def acquire(self, settings: Settings) -> tuple[aiosmtplib.SMTP, bool]:
        while self.idle:
            since, smtp = self.idle.pop()
            if smtp.is_connected and time.monotonic() - since < settings.smtp_idle_seconds:
                return smtp, True
            smtp.close()
        smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port,
                               timeout=settings.smtp_timeout_seconds, start_tls=settings.smtp_starttls or None,
                               username=settings.smtp_username, password=settings.smtp_password)
        await smtp.connect()
        if smtp.last_ehlo_response is None:
            await smtp.ehlo()  # to know the server's extensions (DSN) before the first message
        return smtp, False

    async def release(self, settings: Settings, smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected and len(self.idle) < settings.smtp_pool_size:
            self.idle.append((time.monotonic(), smtp))
            return
        await _quit(smtp)

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for _, smtp in idle:
            await _quit(smtp)


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    if smtp.is_connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


_smtp_pools: dict[tuple[asyncio.AbstractEventLoop, str, int, str | None], _SmtpPool] = {}


def _smtp_pool(settings: Settings) -> _SmtpPool:
    key = (asyncio.get_running_loop(), settings.smtp_host, settings.smtp_port, settings.smtp_username)
    for stale in [stale for stale in _smtp_pools if stale[0].is_closed()]:
        del _smtp_pools[stale]
    return _smtp_pools.setdefault(key, _SmtpPool())


async def close_smtp_connections() -> None:
    """Quit this event loop's idle SMTP sessions (tests call this after each test; a worker simply exits)."""
    loop = asyncio.get_running_loop()
    for key in [key for key in _smtp_pools if key[0] is loop]:
        await _smtp_pools.pop(key).close()


_RECONNECT = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, ConnectionError)


def _dsn_options(smtp: aiosmtplib.SMTP, email_: Email) -> tuple[list[str], list[str]]:
    """MAIL and RCPT parameters asking for a delivery status notification, when the server offers DSN."""
    if not smtp.supports_extension("dsn"):
        return [], []
    return [f"ENVID={email_.notification_id}", "RET=HDRS"], ["NOTIFY=SUCCESS,FAILURE"]


# A plain ASCII `local@domain`, with nothing to quote or encode.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


async def _send_one(smtp: aiosmtplib.SMTP, email_: Email) -> None:
    """MAIL, RCPT and DATA of one message. Plain addresses (nearly all) are written as they are: aiosmtplib's
    `sendmail` parses each address twice with the `email` package, a third of the CPU of a message; any other
    address goes through `sendmail`, which parses, quotes and encodes it."""
    mail_options, rcpt_options = _dsn_options(smtp, email_)
    message = message_bytes(email_)
    if not (_PLAIN_ADDRESS.fullmatch(email_.sender) and _PLAIN_ADDRESS.fullmatch(email_.to)):
        await smtp.sendmail(email_.sender, [email_.to], message, mail_options=mail_options,
                            rcpt_options=rcpt_options)
        return
    if smtp.supports_extension("size"):
        mail_options.insert(0, f"SIZE={len(message)}")  # our message has CRLF line endings already
    try:
        response = await smtp.execute_command(
            b"MAIL", f"FROM:<{email_.sender}>".encode(), *(option.encode() for option in mail_options))
        if response.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, email_.sender)
        response = await smtp.execute_command(
            b"RCPT", f"TO:<{email_.to}>".encode(), *(option.encode() for option in rcpt_options))
        if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(response.code, response.message, email_.to)])
        await smtp.data(message)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await smtp.rset()  # end the half-made transaction, so the session serves the next message
        raise


async def send_emails(
    settings: Settings, emails: list[Email], *, sessions: int | None = None
) -> dict[uuid.UUID, SendResult]:
    """Send over up to `sessions` (`smtp_connections` unless given) parallel SMTP sessions, reused from this
    process's pool; every e-mail gets a result."""
    results: dict[uuid.UUID, SendResult] = {}
    queue: asyncio.Queue[Email] = asyncio.Queue()
    for email in emails:
        queue.put_nowait(email)
    rate = limiter("email", settings.email_rate_per_second)
    pool = _smtp_pool(settings)

    async def connection() -> None:
        smtp: aiosmtplib.SMTP | None = None
        reused = False
        # Between an exchange's start and its end (a cancelled task leaves a session in no state to reuse).
        midway = False
        try:
            while not queue.empty():
                email = queue.get_nowait()
                midway = True
                try:
                    if smtp is None or not smtp.is_connected:
                        smtp, reused = await pool.acquire(settings)
                    await rate.acquire()
                    try:
                        await _send_one(smtp, email)
                    except _RECONNECT:
                        if not reused:
                            raise
                        # The server dropped the idle session we reused: once more on a new one.
                        smtp.close()
                        smtp, reused = await pool.acquire(settings)
                        await _send_one(smtp, email)
                    reused = False
                    results[email.notification_id] = SendResult(True)
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    results[email.notification_id] = _smtp_failure(exc)
                    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | OSError | TimeoutError):
                        if smtp is not None:
                            smtp.close()
                        smtp = None
                midway = False
        finally:
            if smtp is not None:
                if midway:
                    smtp.close()
                else:
                    await pool.release(settings, smtp)

    await asyncio.gather(*(connection() for _ in range(min(sessions or settings.smtp_connections, len(emails)) or 1)))
    return results


async def smtp_health(settings: Settings) -> tuple[bool, str]:
    """Can we open an SMTP session with the configured server?"""
    smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, timeout=5,
                           start_tls=settings.smtp_starttls or None)
    try:
        await smtp.connect()
        await smtp.noop()
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return False, f"{settings.smtp_host}:{settings.smtp_port}: {exc}"
    return True, f"{settings.smtp_host}:{settings.smtp_port} answers"


class EmailProvider(Protocol):
    name: str

    async def send(self, session: AsyncSession, emails: list[Email], *, sessions: int) -> dict[uuid.UUID, SendResult]:
        """Send a batch over up to `sessions` parallel connections; every e-mail gets a result."""
        ...

    async def check(self) -> tuple[bool, str]: ...

    def destination(self) -> str:
        """Where the mail goes, for the start-up banner."""
        ...


email_providers: ProviderRegistry[EmailProvider] = ProviderRegistry("e-mail", "email_provider")


@email_providers.register("smtp")
class SmtpEmailProvider:
    """Any SMTP server (`FELLES_SMTP_HOST`, `FELLES_SMTP_PORT`, …)."""

    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, session: AsyncSession, emails: list[Email], *, sessions: int) -> dict[uuid.UUID, SendResult]:
        return await send_emails(self.settings, emails, sessions=sessions)

    async def check(self) -> tuple[bool, str]:
        return await smtp_health(self.settings)

    def destination(self) -> str:
        return f"SMTP server {self.settings.smtp_host}:{self.settings.smtp_port}"


@email_providers.register("outbox")
class OutboxEmailProvider:
    """Development: the message is kept in the database, in the sending job's transaction, and shown at
    /notifications/email-outbox; nothing leaves the machine."""

    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, session: AsyncSession, emails: list[Email], *, sessions: int) -> dict[uuid.UUID, SendResult]:
        now = utcnow()
        session.add_all([EmailOutboxMessage(id=uuid.uuid4(), notification_id=email.notification_id,
                                            sender=email.sender, destination=email.to, subject=email.subject,
                                            body=email.body, html=email.html, created_at=now) for email in emails])
        return {email.notification_id: SendResult(True) for email in emails}

    async def check(self) -> tuple[bool, str]:
        if self.settings.environment is Environment.PRODUCTION:
            return False, "the development outbox sends nothing: choose the smtp provider in production"
        return True, f"development outbox ({self.destination()})"

    def destination(self) -> str:
        return f"outbox at {self.settings.base_url.rstrip('/')}/notifications/email-outbox"


# The per-recipient Action of a DSN (RFC 3464 §2.3.3) that ends a message's journey, and its result.
_DSN_RESULTS = {"delivered": "Email_Delivered", "failed": "Email_Failed_Bounced"}


def _notification_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip().strip("<>").split("@")[0]) if value else None
    except ValueError:
        return None


def parse_dsn(raw: bytes) -> list[tuple[uuid.UUID, str]]:
    """The (notification id, result) pairs a delivery status notification reports. The notification is named
    by the DSN's Original-Envelope-Id (our ENVID) or, failing that, by the returned headers of our message
    (X-Felles-Notification-Id). "delayed", "relayed" and "expanded" reports change nothing and give no pair.
    ValueError when it is not a DSN."""
    message = message_from_bytes(raw, policy=compat32)
    if message.get_content_type() != "multipart/report":
        raise ValueError("not a multipart/report delivery status notification")
    envelope_id: uuid.UUID | None = None
    returned_id: uuid.UUID | None = None
    actions: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            blocks: list[Message] = part.get_payload()  # type: ignore[assignment]
            if blocks:
                envelope_id = _notification_id(blocks[0].get("Original-Envelope-Id"))
            actions += [str(block.get("Action", "")).strip().lower() for block in blocks[1:]]
        elif content_type in ("text/rfc822-headers", "message/rfc822"):
            payload = part.get_payload()
            headers = payload[0] if isinstance(payload, list) else message_from_string(str(payload))
            returned_id = _notification_id(headers.get("X-Felles-Notification-Id"))
    if not actions:
        raise ValueError("the delivery status notification reports no recipient")
    notification = envelope_id or returned_id
    if notification is None:
        raise ValueError("the delivery status notification names no notification of ours")
    return [(notification, _DSN_RESULTS[action]) for action in actions if action in _DSN_RESULTS]


# --- SMS ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sms:
    notification_id: uuid.UUID
    sender: str
    to: str
    body: str


class SmsProvider(Protocol):
    name: str

    async def send(self, session: AsyncSession, sms: Sms) -> SendResult: ...

    async def check(self) -> tuple[bool, str]: ...

    def destination(self) -> str: ...


sms_providers: ProviderRegistry[SmsProvider] = ProviderRegistry("SMS", "sms_provider")


@sms_providers.register("outbox")
class OutboxSmsProvider:
    """Development: the message is kept in the database, in the sending job's transaction."""

    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, session: AsyncSession, sms: Sms) -> SendResult:
        session.add(SmsOutboxMessage(id=uuid.uuid4(), notification_id=sms.notification_id, sender=sms.sender,
                                     destination=sms.to, body=sms.body, created_at=utcnow()))
        return SendResult(True)

    async def check(self) -> tuple[bool, str]:
        if self.settings.environment is Environment.PRODUCTION:
            return False, "the development outbox sends nothing: choose a real provider in production"
        return True, f"development outbox ({self.destination()})"

    def destination(self) -> str:
        return f"outbox at {self.settings.base_url.rstrip('/')}/notifications/sms-outbox"


# The final states an SMS gateway's delivery report (DLR) may give, as Altinn Notifications names them.
SMS_REPORT_RESULTS = frozenset({
    "Delivered", "Failed", "Failed_InvalidRecipient", "Failed_BarredReceiver", "Failed_Deleted", "Failed_Expired",
    "Failed_Undelivered", "Failed_Rejected",
})


@sms_providers.register("http")
class HttpGatewaySmsProvider:
    """An HTTP SMS gateway (LINK Mobility's JSON: source, destination, userData). 2xx accepts the message;
    4xx refuses it for good; 5xx and transport errors are tried again."""

    name = "http"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.sms_gateway_token}"} if self.settings.sms_gateway_token else {}

    async def send(self, session: AsyncSession, sms: Sms) -> SendResult:
        body: dict[str, Any] = {"source": sms.sender, "destination": sms.to, "userData": sms.body,
                                "refId": str(sms.notification_id)}
        try:
            response = await outbound.request(self.settings, "POST", self.settings.sms_gateway_url,
                                              json=body, headers=self._headers())
        except httpx.HTTPError as exc:
            return SendResult(False, True, f"{type(exc).__name__}: {exc}")
        except outbound.OutboundRefused as exc:  # the guard refuses the configured gateway: tried again once fixed
            return SendResult(False, True, f"refused: {exc.detail}")
        if response.is_success:
            return SendResult(True)
        if 400 <= response.status_code < 500:
            return SendResult(False, False, f"HTTP {response.status_code}", "SMS_Failed_Rejected")
        return SendResult(False, True, f"HTTP {response.status_code}")

    async def check(self) -> tuple[bool, str]:
        if not self.settings.sms_gateway_url:
            return False, "FELLES_SMS_GATEWAY_URL is not set"
        try:
            await outbound.check_url(self.settings, self.settings.sms_gateway_url)
        except Problem as exc:
            return False, exc.detail
        return True, f"gateway {self.settings.sms_gateway_url}"

    def destination(self) -> str:
        return f"HTTP gateway {self.settings.sms_gateway_url}"
