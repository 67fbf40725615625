"""What the case system does with a submitted application: import it (download the instance and its form data,
confirm the receipt to the platform), decide it by the rules or leave it to a case worker, and answer with a
decision letter (a PDF) sent as a correspondence with an e-mail and SMS notice; the platform puts the letter on
paper when it is still unread after 10 days."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import etree

from felles.casesystem.archive import arkivmelding
from felles.casesystem.platform import Attachment, Platform
from felles.casesystem.rules import Outcome, assess_leave
from felles.casesystem.store import Case, CaseState, CaseStore
from felles.core.clock import utcnow
from felles.core.pdf import Document, Fields, Letter, Paragraph, PdfRenderer, PostalAddress, Section

COMPLETED = "app.instance.process.completed"
VALIDATION = "platform.events.validatesubscription"
# The app's form data type per kind of case.
KINDS = {"permisjon": "leave", "barnehage": "kindergarten"}
SENDER = PostalAddress("Skedsmo kommune", ["Postboks 88"], "2001", "LILLESTRØM")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
TITLES = {"leave": "Svar på søknad om fri fra skolen", "kindergarten": "Svar på søknad om barnehageplass"}


@dataclass(frozen=True)
class Settings:
    """The case system's configuration: who it is on the platform and where it files its answers."""

    app_ids: tuple[str, ...]
    answer_resource: str
    organization: str  # the agency's organisasjonsnummer, the sender of its arkivmeldinger
    archive: str | None = None  # the organisation whose archive takes each case (None: no archiving)


def _form_values(xml: bytes) -> dict[str, Any]:
    """The form data as nested dicts (element names without namespaces)."""
    def read(element: Any) -> Any:
        children = [child for child in element if isinstance(child.tag, str)]
        if not children:
            return (element.text or "").strip()
        return {etree.QName(child).localname: read(child) for child in children}

    values = read(etree.fromstring(xml, _PARSER))
    return values if isinstance(values, dict) else {}


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


class CaseSystem:
    def __init__(self, platform: Platform, store: CaseStore, renderer: PdfRenderer, settings: Settings) -> None:
        self.platform, self.store, self.renderer, self.settings = platform, store, renderer, settings
        self._lock = asyncio.Lock()
        self._answering = asyncio.Lock()

    async def handle_event(self, event: dict[str, Any]) -> Case | None:
        """A CloudEvent from the webhook: a completed instance of one of our apps becomes a case."""
        if event.get("type") != COMPLETED:
            return None
        source = str(event.get("source", ""))
        _, _, path = source.partition(self.platform.base_url + "/")
        app_id, _, instance_id = path.partition("/instances/")
        if app_id not in self.settings.app_ids or not instance_id:
            return None
        return await self.import_instance(app_id, instance_id)

    async def import_instance(self, app_id: str, instance_id: str) -> Case | None:
        """Download the instance and its form data, record the case, confirm the receipt; then decide it by the
        rules when they can. None when the instance was imported before."""
        async with self._lock:  # one import per instance, even when the platform delivers an event twice
            if self.store.by_instance(instance_id) is not None:
                return None
            instance = await self.platform.instance(app_id, instance_id)
            element = next(e for e in instance["data"] if e["dataType"] in KINDS)
            values = _form_values(await self.platform.data(app_id, instance_id, element["id"]))
            child, applicant = values.get("Barn") or {}, values.get("Soker") or {}
            case = self.store.add(Case(
                instance_id=instance_id, app_id=app_id, kind=KINDS[element["dataType"]],
                child_id=str(child.get("Fodselsnummer", "")), child_name=str(child.get("Navn", "")),
                applicant_id=str(applicant.get("Fodselsnummer", "")),
                applicant_name=str(applicant.get("Navn", "")),
                details={k: v for k, v in values.items() if k not in ("Barn", "Soker")} | {
                    "address": [f"{child.get('Adresse', '')} {child.get('Husnummer', '')}".strip(),
                                child.get("Postnummer", ""), child.get("Poststed", "")]},
                received_at=utcnow().isoformat()))
            if case is None:
                return None
            await self.platform.complete(app_id, instance_id)
        if case.kind == "leave":
            assessment = assess_leave(_date(case.details.get("FraDato")), _date(case.details.get("TilDato")))
            case.details["schoolDays"] = assessment.school_days
            self.store.save(case)
            if assessment.outcome is Outcome.GRANTED:
                return self.record_decision(case.number, Outcome.GRANTED, "regelmotor", list(assessment.reasons))
            case.reasons = list(assessment.reasons)
        case.state = CaseState.WITH_CASE_WORKER
        self.store.save(case)
        return case

    def record_decision(self, number: int, outcome: Outcome, decided_by: str, reasons: list[str]) -> Case:
        """Record the decision; the answer goes out with `answer_decided`."""
        case = self.store.get(number)
        if case is None:
            raise KeyError(number)
        if case.state in (CaseState.DECIDED, CaseState.ANSWERED):
            return case
        case.state, case.outcome, case.decided_by, case.reasons = CaseState.DECIDED, outcome.value, decided_by, reasons
        self.store.save(case)
        return case

    async def answer_decided(self) -> list[Case]:
        """Send the answer of every decided case not yet answered (again after a failure: the correspondence's
        idempotency key makes a repeated send create nothing new)."""
        async with self._answering:
            return [await self.answer(case) for case in self.store.all()[::-1] if case.state is CaseState.DECIDED]

    async def answer(self, case: Case) -> Case:
        """The decision letter as a correspondence to the applicant, with an e-mail and SMS notice."""
        title = TITLES[case.kind]
        granted = case.outcome == Outcome.GRANTED.value
        verdict = "innvilget" if granted else "avslått"
        body = (f"Hei, {case.applicant_name}!\n\nSøknaden for **{case.child_name}** er *{verdict}*.\n\n"
                + "".join(f"- {reason}\n" for reason in case.reasons)
                + f"\nVedtaket ligger som vedlegg. Saksnummer {case.reference}.")
        pdf = await self.renderer.letter(self._letter(case, title, verdict))
        letter = Attachment(f"vedtak-{case.number}.pdf", pdf)
        if case.correspondence_id is None:
            await self._send(case, title, verdict, body, letter)
        if self.settings.archive is not None and case.archive_message_id is None:
            message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"skedsmo-archive/{case.instance_id}"))
            sent = await self.platform.send_arkivmelding(
                sender=self.settings.organization, receiver=self.settings.archive,
                arkivmelding=arkivmelding(case, title, letter.name, utcnow(), message_id), documents=[letter],
                message_id=message_id,
                conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, f"skedsmo-case/{case.instance_id}"))
            case.archive_message_id = str(
                sent["standardBusinessDocumentHeader"]["documentIdentification"]["instanceIdentifier"])
        case.state = CaseState.ANSWERED
        self.store.save(case)
        return case

    async def _send(self, case: Case, title: str, verdict: str, body: str, letter: Attachment) -> None:
        sent = await self.platform.send_correspondence(
            resource=self.settings.answer_resource, recipient=case.applicant_id, title=title,
            summary=f"Søknaden for {case.child_name} er {verdict}.", body=body, reference=f"sak-{case.reference}",
            attachment=letter,
            notification={"notificationTemplate": "CustomMessage", "notificationChannel": "EmailAndSms",
                          "emailSubject": f"{title} fra Skedsmo kommune",
                          "emailBody": "Du har fått svar på søknaden din. Logg inn i Altinn for å lese det.",
                          "smsBody": "Skedsmo kommune har svart på søknaden din. Logg inn i Altinn for å lese "
                                     "svaret."},
            idempotency_key=uuid.uuid5(uuid.NAMESPACE_URL, f"skedsmo-answer/{case.instance_id}"))
        case.correspondence_id = sent["correspondences"][0]["correspondenceId"]
        self.store.save(case)

    def _letter(self, case: Case, title: str, verdict: str) -> Letter:
        street, postal_code, city = [*(case.details.get("address") or []), "", "", ""][:3]
        answers = [(label, str(case.details[key])) for key, label in (
            ("FraDato", "Fra og med"), ("TilDato", "Til og med"), ("Begrunnelse", "Begrunnelse"),
            ("OnsketStart", "Ønsket oppstart"), ("Behov", "Særlige behov"), ("BehovBeskrivelse", "Beskrivelse"))
            if case.details.get(key)]
        return Letter(
            sender=SENDER, recipient=PostalAddress(case.applicant_name, [street], postal_code, city),
            dated=utcnow().date(), reference=case.reference,
            details=[("Saksnummer", case.reference)],
            document=Document(title=title, author="Skedsmo kommune", sections=[
                Section(None, [Paragraph(f"Søknaden for {case.child_name} er {verdict}.")]),
                Section("Søknaden", [Fields([("Barnet", f"{case.child_name} ({case.child_id})"), *answers])]),
                Section("Begrunnelse", [Paragraph(reason) for reason in case.reasons] or [Paragraph("—")]),
                Section("Klage", [Paragraph("Du kan klage på vedtaket innen tre uker etter at du fikk det.")]),
            ]))
