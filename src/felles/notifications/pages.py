"""The development SMS outbox page: what the `outbox` SMS provider "sent"."""

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

LABELS = {
    "nb": {"title": "SMS-utboks", "intro": "SMS-ene utviklingsleverandøren har «sendt». Ingen av dem har forlatt "
           "maskinen.", "empty": "Ingen SMS ennå.", "time": "Tid", "to": "Til", "sender": "Avsender",
           "text": "Tekst"},
    "nn": {"title": "SMS-utboks", "intro": "SMS-ane utviklingsleverandøren har «sendt». Ingen av dei har forlate "
           "maskina.", "empty": "Ingen SMS enno.", "time": "Tid", "to": "Til", "sender": "Avsendar",
           "text": "Tekst"},
    "en": {"title": "SMS outbox", "intro": "The text messages the development provider has \u201csent\u201d. None "
           "of them left this machine.", "empty": "No messages yet.", "time": "Time", "to": "To",
           "sender": "Sender", "text": "Text"},
}


@router.get("/notifications/sms-outbox", response_class=HTMLResponse, name="sms_outbox")
async def sms_outbox(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Development and tests only: production has real providers and no such page."""
    if runtime.settings.is_production:
        raise NotFound("There is no SMS outbox in production.", code="not_found")
    messages = await service.sms_outbox(runtime.database)
    return render_page(request, "notifications/sms_outbox.html",
                       {"messages": messages, "labels": LABELS.get(page_language(request), LABELS["nb"])})
