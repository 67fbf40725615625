"""The case system's own small web server: the webhook the platform delivers events to, the case worker's page
(the cases, and a decision for those the rules left to a person) and the cases as JSON for scripts.

It listens on the loopback interface by default and has no login of its own: it stands for an agency's internal
system, reached from its own network only."""

from __future__ import annotations

import logging
from dataclasses import asdict
from html import escape
from typing import Annotated, Any

from fastapi import BackgroundTasks, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from felles.casesystem.rules import Outcome
from felles.casesystem.service import VALIDATION, CaseSystem
from felles.casesystem.store import Case, CaseState

log = logging.getLogger(__name__)
WEBHOOK = "/events"
STATE_NAMES = {CaseState.IMPORTED: "Mottatt", CaseState.WITH_CASE_WORKER: "Til saksbehandler",
               CaseState.DECIDED: "Vedtatt", CaseState.ANSWERED: "Svar sendt"}
PAGE = """<!doctype html>
<html lang="nb"><head><meta charset="utf-8"><title>Skedsmo kommune – saksbehandling</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}form{{display:inline}}
textarea{{width:100%}}</style></head>
<body><h1>Skedsmo kommune – saksbehandling</h1>
<p>Søknader hentet fra Felles. Søknader om fri innenfor reglene (inntil 10 skoledager, ikke i prøveuker) avgjøres
automatisk; andre søknader står her til en saksbehandler.</p>
<table><thead><tr><th>Sak</th><th>Tjeneste</th><th>Barn</th><th>Søker</th><th>Status</th><th>Vedtak</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>"""


def _row(case: Case) -> str:
    if case.state is CaseState.WITH_CASE_WORKER:
        reasons = "".join(f"<li>{escape(reason)}</li>" for reason in case.reasons)
        decision = (f'<ul>{reasons}</ul><form method="post" action="/cases/{case.number}/decision">'
                    f'<label for="reason-{case.number}">Begrunnelse</label>'
                    f'<textarea id="reason-{case.number}" name="reason" rows="2"></textarea>'
                    '<button name="outcome" value="innvilget">Innvilg</button> '
                    '<button name="outcome" value="avslått">Avslå</button></form>')
    else:
        decision = escape(f"{case.outcome or ''} ({case.decided_by})" if case.outcome else "")
    details = ", ".join(f"{key}: {value}" for key, value in case.details.items() if key != "address")
    return (f"<tr><td>{escape(case.reference)}</td><td>{escape(case.app_id)}<br><small>{escape(details)}</small></td>"
            f"<td>{escape(case.child_name)}</td><td>{escape(case.applicant_name)}</td>"
            f"<td>{STATE_NAMES[case.state]}</td><td>{decision}</td></tr>")


def create_app(system: CaseSystem) -> FastAPI:
    app = FastAPI(title="Felles reference case system", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(WEBHOOK)
    async def webhook(request: Request, background: BackgroundTasks) -> dict[str, str]:
        """A CloudEvent; answered after the case is imported (the letter is sent after the answer), so a
        failure to import makes the platform deliver the event again."""
        event: dict[str, Any] = await request.json()
        if event.get("type") == VALIDATION:
            return {"status": "validated"}
        case = await system.handle_event(event)
        if case is not None and case.state is CaseState.DECIDED:
            background.add_task(system.answer_decided)
        return {"status": "imported" if case else "ignored"}

    @app.get("/", response_class=HTMLResponse)
    async def cases_page() -> str:
        return PAGE.format(rows="".join(_row(case) for case in system.store.all())
                           or '<tr><td colspan="6">Ingen saker ennå.</td></tr>')

    @app.get("/cases")
    async def cases() -> list[dict[str, Any]]:
        return [asdict(case) | {"reference": case.reference} for case in system.store.all()]

    @app.post("/cases/{number}/decision")
    async def decide(number: int, outcome: Annotated[str, Form()],
                     reason: Annotated[str, Form()] = "") -> RedirectResponse:
        if outcome not in (Outcome.GRANTED.value, Outcome.REFUSED.value):
            raise HTTPException(400, "outcome is innvilget or avslått")
        try:
            system.record_decision(number, Outcome(outcome), "saksbehandler", [reason] if reason.strip() else [])
        except KeyError:
            raise HTTPException(404, "no such case") from None
        await system.answer_decided()
        return RedirectResponse("/", status_code=303)

    return app
