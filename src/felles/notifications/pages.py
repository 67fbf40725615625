"""The development outbox pages: what the `outbox` e-mail and SMS providers "sent", newest first. One page
serves both channels; nothing on it left the machine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from felles.core.errors import NotFound
from felles.core.runtime import RuntimeDep
from felles.core.tokens import OperatorInProduction
from felles.notifications import service
from felles.portal.shell import page_language, render_page

# The development outboxes show what was "sent", personal data included: in production, operators only.
router = APIRouter(include_in_schema=False, dependencies=[OperatorInProduction])

COMMON_LABELS = {
    "nb": {"time": "Tid (norsk tid)", "to": "Til", "sender": "Avsender", "text": "Tekst", "subject": "Emne",
           "html": "HTML, vist som kildetekst"},
    "nn": {"time": "Tid (norsk tid)", "to": "Til", "sender": "Avsendar", "text": "Tekst", "subject": "Emne",
           "html": "HTML, vist som kjeldetekst"},
    "en": {"time": "Time (Norwegian time)", "to": "To", "sender": "Sender", "text": "Text", "subject": "Subject",
           "html": "HTML, shown as source"},
}
LABELS = {
    "sms": {
        "nb": {"title": "SMS-utboks", "intro": "SMS-ene utviklingsleverandøren har «sendt». Ingen av dem har "
               "forlatt maskinen.", "empty": "Ingen SMS ennå."},
        "nn": {"title": "SMS-utboks", "intro": "SMS-ane utviklingsleverandøren har «sendt». Ingen av dei har "
               "forlate maskina.", "empty": "Ingen SMS enno."},
        "en": {"title": "SMS outbox", "intro": "The text messages the development provider has \u201csent\u201d. "
               "None of them left this machine.", "empty": "No messages yet."},
    },
    "email": {
        "nb": {"title": "E-postutboks", "intro": "E-postene utviklingsleverandøren har «sendt». Ingen av dem har "
               "forlatt maskinen.", "empty": "Ingen e-post ennå."},
        "nn": {"title": "E-postutboks", "intro": "E-postane utviklingsleverandøren har «sendt». Ingen av dei har "
               "forlate maskina.", "empty": "Ingen e-post enno."},
        "en": {"title": "E-mail outbox", "intro": "The e-mails the development provider has \u201csent\u201d. "
               "None of them left this machine.", "empty": "No e-mails yet."},
    },
}


async def _outbox_page(request: Request, runtime: RuntimeDep, channel: str) -> HTMLResponse:
    """Development and tests only: production has real providers and no such page."""
    if runtime.settings.is_production:
        raise NotFound("There is no outbox in production.", code="not_found")
    language = page_language(request)
    labels = {**COMMON_LABELS.get(language, COMMON_LABELS["nb"]),
              **LABELS[channel].get(language, LABELS[channel]["nb"])}
    messages = await service.outbox(runtime.database, channel)
    return render_page(request, "notifications/outbox.html",
                       {"channel": channel, "messages": messages, "labels": labels})


@router.get("/notifications/sms-outbox", response_class=HTMLResponse, name="sms_outbox")
async def sms_outbox(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return await _outbox_page(request, runtime, "sms")


@router.get("/notifications/email-outbox", response_class=HTMLResponse, name="email_outbox")
async def email_outbox(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return await _outbox_page(request, runtime, "email")
