"""Demo dialogs for ``felles seed --demo``: Fjordvik kommune (the demo app's service owner) writes dialogs to Kari
Nordmann, to Ingrid Bakken and to Fjordkraft Demo AS, in its demo services for municipal post
(``fjordvik-demo-post``) and for property and building cases (``fjordvik-demo-eiendom``), so that the inbox has
something real-looking to show for Kari and for Ingrid (herself and Fjordkraft, where she is daglig leder): every
folder (a draft, sent ones, archived ones), transmissions both ways, attachments and formatted additional info.

Each dialog has a fixed idempotent key: seeding again finds it and adds nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from felles.apps.demo import DEMO_SERVICE_OWNER, DEMO_SERVICE_OWNER_NAME, DEMO_SERVICE_OWNER_NUMBER, seed_demo_app
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.demo import PACKAGE, ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import Conflict
from felles.core.tokens import Principal
from felles.dialogporten import mirrors, service
from felles.dialogporten import schemas as s
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS

DEMO_RESOURCE = "fjordvik-demo-post"
DEMO_RESOURCE_URN = service.RESOURCE_PREFIX + DEMO_RESOURCE
PROPERTY_RESOURCE = "fjordvik-demo-eiendom"
PROPERTY_RESOURCE_URN = service.RESOURCE_PREFIX + PROPERTY_RESOURCE
RESOURCE_TITLES = {
    DEMO_RESOURCE: {"nb": "Post fra Fjordvik kommune", "nn": "Post frå Fjordvik kommune",
                    "en": "Post from Fjordvik municipality"},
    PROPERTY_RESOURCE: {"nb": "Eiendom og byggesak i Fjordvik", "nn": "Eigedom og byggjesak i Fjordvik",
                        "en": "Property and building in Fjordvik"},
}


def _text(nb: str, nn: str, en: str) -> dict[str, Any]:
    return {"value": [{"value": nb, "languageCode": "nb"}, {"value": nn, "languageCode": "nn"},
                      {"value": en, "languageCode": "en"}]}


def _dialogs(base_url: str) -> list[dict[str, Any]]:
    """Every demo dialog's body (one the party has sent something in carries its Submission, which files it under
    Sendt)."""
    kari = service.PERSON_PREFIX + DEMO_PERSONS[0].identifier
    company = service.ORGANIZATION_PREFIX + DEMO_COMPANY
    sender = _text("Fjordvik kommune", "Fjordvik kommune", "Fjordvik municipality")
    owner = {"actorType": "ServiceOwner"}
    return [*_first_dialogs(base_url, kari, company, sender, owner),
            *_inbox_dialogs(base_url, kari, company, sender, owner)]


def _days_ago(days: int) -> str:
    return (utcnow() - timedelta(days=days)).isoformat()


def _dialog(key: str, party: str, status: str, title: tuple[str, str, str], summary: tuple[str, str, str],
            sender: dict[str, Any], *, days_ago: int, **fields: Any) -> dict[str, Any]:
    """A demo dialog's body: its key, party, status and texts, written `days_ago` days ago, with `fields`."""
    more = fields.pop("content", {})
    return {"idempotentKey": key, "party": party, "status": status, "createdAt": _days_ago(days_ago),
            "content": {"title": _text(*title), "summary": _text(*summary), "senderName": sender, **more}, **fields}


def _message(kind: str, sender: dict[str, Any], title: tuple[str, str, str], *, days_ago: int,
             **fields: Any) -> dict[str, Any]:
    """A transmission: its type, sender and title, sent `days_ago` days ago."""
    return {"type": kind, "sender": sender, "createdAt": _days_ago(days_ago),
            "content": {"title": _text(*title), **fields.pop("content", {})}, **fields}


def _go_to(url: str, nb: str, nn: str, en: str) -> dict[str, Any]:
    """The primary GUI action: into the service, to write."""
    return {"action": "write", "url": url, "priority": "Primary",
            "title": [{"value": value, "languageCode": code} for code, value in (("nb", nb), ("nn", nn), ("en", en))]}


def _pdf(name: str, address: str) -> dict[str, Any]:
    return {"displayName": [{"value": name, "languageCode": "nb"}],
            "urls": [{"url": address, "mediaType": "application/pdf", "consumerType": "Gui"}]}


def _markdown(nb: str, nn: str, en: str) -> dict[str, Any]:
    return {**_text(nb, nn, en), "mediaType": "text/markdown"}


def _inbox_dialogs(base_url: str, kari: str, company: str, sender: dict[str, Any],
                   owner: dict[str, Any]) -> list[dict[str, Any]]:
    """The dialogs that fill the inbox's folders: a draft, sent ones, archived ones, formatted info."""
    ingrid = service.PERSON_PREFIX + DEMO_PERSONS[4].identifier
    app = f"{base_url.rstrip('/')}/fjordvik/parkering/"
    kari_actor = {"actorType": "PartyRepresentative", "actorName": "Kari Nordmann"}
    ingrid_actor = {"actorType": "PartyRepresentative", "actorName": "Ingrid Bakken"}
    return [
        _dialog("demo-barnehage-kari", kari, "Draft", (
            "Søknad om barnehageplass", "Søknad om barnehageplass", "Application for a kindergarten place"), (
            "Utkast: du har ikke sendt søknaden ennå.", "Utkast: du har ikkje sendt søknaden enno.",
            "Draft: you have not sent the application yet."), sender, days_ago=2, updatedAt=_days_ago(1),
            guiActions=[_go_to(app, "Fortsett utfyllingen", "Hald fram med utfyllinga", "Continue filling in")]),
        _dialog("demo-flytting-kari", kari, "Completed", (
            "Melding om flytting", "Melding om flytting", "Notice of moving"), (
            "Kommunen har registrert den nye adressen din.", "Kommunen har registrert den nye adressa di.",
            "The municipality has registered your new address."), sender, days_ago=12, updatedAt=_days_ago(10),
            transmissions=[
                _message("Submission", kari_actor, ("Flyttemelding sendt", "Flyttemelding sendt",
                                                    "Notice of moving sent"), days_ago=12),
                _message("Acceptance", owner, ("Flyttingen er registrert", "Flyttinga er registrert",
                                               "The move is registered"), days_ago=10, content={"summary": _text(
                    "Renovasjon og eiendomsskatt følger den nye adressen fra neste måned.",
                    "Renovasjon og eigedomsskatt følgjer den nye adressa frå neste månad.",
                    "Waste collection and property tax follow the new address from next month.")})]),
        _dialog("demo-eiendomsskatt-2025-kari", kari, "Completed", (
            "Eiendomsskatt 2025: kvittering", "Eigedomsskatt 2025: kvittering", "Property tax 2025: receipt"), (
            "Eiendomsskatten for 2025 er betalt.", "Eigedomsskatten for 2025 er betalt.",
            "The property tax for 2025 is paid."), sender, days_ago=300, updatedAt=_days_ago(290),
            serviceResource=PROPERTY_RESOURCE_URN, systemLabel="Archive",
            attachments=[_pdf("Kvittering 2025", "https://fjordvik.example/kvittering-2025.pdf")]),
        _dialog("demo-regulering-kari", kari, "NotApplicable", (
            "Varsel om oppstart av reguleringsplan for Fjordvik sentrum",
            "Varsel om oppstart av reguleringsplan for Fjordvik sentrum",
            "Notice: zoning plan for Fjordvik centre begins"), (
            "Du eier en eiendom i planområdet og kan gi innspill.",
            "Du eig ein eigedom i planområdet og kan gje innspel.",
            "You own a property in the plan area and may comment."), sender, days_ago=3,
            serviceResource=PROPERTY_RESOURCE_URN, content={"additionalInfo": _markdown(
                "## Slik gir du innspill\n\n- Les planbeskrivelsen i vedlegget\n- Send innspill innen "
                "**1. mars**\n\nLes mer på [fjordvik.example](https://fjordvik.example/plan).",
                "## Slik gjev du innspel\n\n- Les planskildringa i vedlegget\n- Send innspel innan "
                "**1. mars**\n\nLes meir på [fjordvik.example](https://fjordvik.example/plan).",
                "## How to comment\n\n- Read the plan description attached\n- Send comments by "
                "**1 March**\n\nRead more at [fjordvik.example](https://fjordvik.example/plan).")},
            attachments=[_pdf("Planbeskrivelse", "https://fjordvik.example/planbeskrivelse.pdf")]),
        _dialog("demo-bostedsparkering-ingrid", ingrid, "Completed", (
            "Bostedsparkering: svar på søknaden", "Bustadparkering: svar på søknaden",
            "Resident parking: answer to your application"), (
            "Du har fått bostedsparkering i sone 2.", "Du har fått bustadparkering i sone 2.",
            "You have been granted resident parking in zone 2."), sender, days_ago=6, updatedAt=_days_ago(5),
            transmissions=[_message("Decision", owner, (
                "Vedtak om bostedsparkering", "Vedtak om bustadparkering", "Resident parking decision"), days_ago=5,
                attachments=[_pdf("Parkeringsbevis", "https://fjordvik.example/parkeringsbevis.pdf")])]),
        _dialog("demo-tilsyn-fjordkraft", company, "RequiresAttention", (
            "Tilsyn med brannsikring i næringsbygg", "Tilsyn med brannsikring i næringsbygg",
            "Fire safety inspection of commercial building"), (
            "Vi ber dere svare på avvikene innen fristen.", "Vi ber dykk svare på avvika innan fristen.",
            "Please answer the deviations by the due date."), sender, days_ago=4,
            serviceResource=PROPERTY_RESOURCE_URN, dueAt=(utcnow() + timedelta(days=21)).isoformat(),
            content={"additionalInfo": _markdown(
                "Tilsynet fant **to avvik**:\n\n1. Manglende rømningsskilt i 2. etasje\n"
                "2. Brannslukker ikke kontrollert",
                "Tilsynet fann **to avvik**:\n\n1. Manglande rømmingsskilt i 2. etasje\n"
                "2. Brannsløkkjar ikkje kontrollert",
                "The inspection found **two deviations**:\n\n1. Missing exit signs on the 2nd floor\n"
                "2. Fire extinguisher not checked")},
            attachments=[_pdf("Tilsynsrapport", "https://fjordvik.example/tilsynsrapport.pdf")],
            guiActions=[_go_to(app, "Svar på tilsynet", "Svar på tilsynet", "Answer the inspection")],
            transmissions=[_message("Request", owner, ("Varsel om avvik", "Varsel om avvik",
                                                       "Notice of deviations"), days_ago=4)]),
        _dialog("demo-graving-fjordkraft", company, "Awaiting", (
            "Søknad om gravetillatelse i Strandgata", "Søknad om graveløyve i Strandgata",
            "Application for a digging permit in Strandgata"), (
            "Søknaden er sendt og venter på behandling.", "Søknaden er sendt og ventar på handsaming.",
            "The application is sent and awaits processing."), sender, days_ago=8,
            serviceResource=PROPERTY_RESOURCE_URN, transmissions=[_message(
                "Submission", ingrid_actor, ("Søknad sendt", "Søknad sendt", "Application sent"), days_ago=8)]),
        _dialog("demo-feiefaktura-fjordkraft", company, "Completed", (
            "Faktura for feiing 2025", "Faktura for feiing 2025", "Invoice for chimney sweeping 2025"), (
            "Fakturaen er betalt.", "Fakturaen er betalt.", "The invoice is paid."), sender, days_ago=200,
            updatedAt=_days_ago(180), systemLabel="Archive"),
    ]


def _first_dialogs(base_url: str, kari: str, company: str, sender: dict[str, Any],
                   owner: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"idempotentKey": "demo-parkering-kari", "party": kari, "status": "InProgress", "progress": 40,
         "content": {"title": _text("Søknad om parkeringstillatelse", "Søknad om parkeringsløyve",
                                    "Application for a parking permit"),
                     "summary": _text("Søknaden er påbegynt. Fullfør og send den inn.",
                                      "Søknaden er starta. Fullfør og send han inn.",
                                      "The application is started. Complete and submit it."),
                     "senderName": sender},
         "guiActions": [{"action": "write", "url": f"{base_url.rstrip('/')}/fjordvik/parkering/", "priority": "Primary",
                         "title": [{"value": "Gå til søknaden", "languageCode": "nb"},
                                   {"value": "Gå til søknaden", "languageCode": "nn"},
                                   {"value": "Go to the application", "languageCode": "en"}]}],
         "activities": [{"type": "DialogCreated", "performedBy": owner}]},
        {"idempotentKey": "demo-eiendomsskatt-kari", "party": kari, "status": "Completed",
         "content": {"title": _text("Vedtak om eiendomsskatt 2026", "Vedtak om eigedomsskatt 2026",
                                    "Property tax decision 2026"),
                     "summary": _text("Eiendomsskatten for 2026 er fastsatt.", "Eigedomsskatten for 2026 er fastsett.",
                                      "The property tax for 2026 has been set."),
                     "senderName": sender},
         "transmissions": [{"type": "Decision", "sender": owner,
                            "content": {"title": _text("Vedtak", "Vedtak", "Decision")},
                            "attachments": [{"displayName": [{"value": "Vedtaksbrev", "languageCode": "nb"}],
                                             "urls": [{"url": "https://fjordvik.example/vedtak.pdf",
                                                       "mediaType": "application/pdf", "consumerType": "Gui"}]}]}]},
        {"idempotentKey": "demo-renovasjon-kari", "party": kari, "status": "RequiresAttention",
         "dueAt": (utcnow() + timedelta(days=14)).isoformat(),
         "content": {"title": _text("Renovasjonsgebyr: betaling mangler", "Renovasjonsgebyr: betaling manglar",
                                    "Waste collection fee: payment missing"),
                     "summary": _text("Betal innen fristen for å unngå purregebyr.",
                                      "Betal innan fristen for å unngå purregebyr.",
                                      "Pay by the due date to avoid a reminder fee."),
                     "senderName": sender}},
        {"idempotentKey": "demo-feiing-fjordkraft", "party": company, "status": "Awaiting",
         "content": {"title": _text("Feiing og tilsyn av fyringsanlegg", "Feiing og tilsyn av fyringsanlegg",
                                    "Chimney sweeping and inspection"),
                     "summary": _text("Vi venter på at dere bekrefter tidspunkt.",
                                      "Vi ventar på at de stadfestar tidspunkt.",
                                      "We are waiting for you to confirm a time."),
                     "senderName": sender}},
        {"idempotentKey": "demo-byggesak-fjordkraft", "party": company, "status": "InProgress",
         "content": {"title": _text("Byggesak 2026/114: tilbygg", "Byggesak 2026/114: tilbygg",
                                    "Building case 2026/114: extension"),
                     "summary": _text("Saken er under behandling.", "Saka er under handsaming.",
                                      "The case is being processed."),
                     "senderName": sender}},
    ]


async def _seed_resource(database: Database, identifier: str) -> None:
    actor = Actor(f"organization:{DEMO_SERVICE_OWNER_NUMBER}")
    try:
        await authorization_service.create_resource(
            database, actor, DEMO_SERVICE_OWNER_NUMBER, authorization_schemas.ServiceResource(
                identifier=identifier, resourceType="GenericAccessResource", status="Completed",
                title=RESOURCE_TITLES[identifier],
                hasCompetentAuthority=authorization_schemas.CompetentAuthority(
                    organization=DEMO_SERVICE_OWNER_NUMBER, orgcode=DEMO_SERVICE_OWNER, name=DEMO_SERVICE_OWNER_NAME)))
    except Conflict:
        return  # seeded before
    await authorization_service.put_policy(database, actor, DEMO_SERVICE_OWNER_NUMBER, identifier, policy_xml(
        identifier, [([(ROLE, "priv"), (ROLE, "dagl"), (ROLE, "lede")], ["read", "write"]),
                     ([(PACKAGE, "ordinaer-post-til-virksomheten")], ["read"])]))


async def seed_demo_dialogs(database: Database, settings: Settings) -> int:
    """Register Fjordvik kommune and its post service (once) and write the demo dialogs that are missing; the
    number written."""
    await seed_demo_app(database)  # registers Fjordvik kommune as a service owner
    for identifier in RESOURCE_TITLES:
        await _seed_resource(database, identifier)
    fjordvik = Principal("organization", organization_number=DEMO_SERVICE_OWNER_NUMBER,
                         scopes=frozenset({service.SERVICE_PROVIDER_SCOPE}))
    written = 0
    for body in _dialogs(settings.base_url):
        dialog = s.DialogCreate.model_validate({"serviceResource": DEMO_RESOURCE_URN, **body})
        try:
            await service.create_dialog(database, fjordvik, dialog, base_url=settings.base_url)
        except Conflict:
            continue
        written += 1
    # Fjordvik's correspondence (felles.correspondence.demo) is mirrored as dialogs when it is published; a data
    # folder seeded before the mirrors existed gets them too.
    await mirrors.mirror_sent_correspondences(database, Principal(
        "organization", organization_number=DEMO_SERVICE_OWNER_NUMBER,
        scopes=frozenset({"altinn:correspondence.write", "altinn:serviceowner"})))
    return written
