"""Demo dialogs for ``felles seed --demo``: Fjordvik kommune (the demo app's service owner) writes a few dialogs
to Kari Nordmann and to Fjordkraft Demo AS, in its demo service for municipal post (``fjordvik-demo-post``),
so that the dialog list has something to show for Kari and for Ingrid (Fjordkraft's daglig leder).

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


def _text(nb: str, nn: str, en: str) -> dict[str, Any]:
    return {"value": [{"value": nb, "languageCode": "nb"}, {"value": nn, "languageCode": "nn"},
                      {"value": en, "languageCode": "en"}]}


def _dialogs(base_url: str) -> list[dict[str, Any]]:
    kari = service.PERSON_PREFIX + DEMO_PERSONS[0].identifier
    company = service.ORGANIZATION_PREFIX + DEMO_COMPANY
    sender = _text("Fjordvik kommune", "Fjordvik kommune", "Fjordvik municipality")
    owner = {"actorType": "ServiceOwner"}
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


async def _seed_resource(database: Database) -> None:
    actor = Actor(f"organization:{DEMO_SERVICE_OWNER_NUMBER}")
    try:
        await authorization_service.create_resource(
            database, actor, DEMO_SERVICE_OWNER_NUMBER, authorization_schemas.ServiceResource(
                identifier=DEMO_RESOURCE, resourceType="GenericAccessResource", status="Completed",
                title={"nb": "Post fra Fjordvik kommune", "nn": "Post frå Fjordvik kommune",
                       "en": "Post from Fjordvik municipality"},
                hasCompetentAuthority=authorization_schemas.CompetentAuthority(
                    organization=DEMO_SERVICE_OWNER_NUMBER, orgcode=DEMO_SERVICE_OWNER, name=DEMO_SERVICE_OWNER_NAME)))
    except Conflict:
        return  # seeded before
    await authorization_service.put_policy(database, actor, DEMO_SERVICE_OWNER_NUMBER, DEMO_RESOURCE, policy_xml(
        DEMO_RESOURCE, [([(ROLE, "priv"), (ROLE, "dagl"), (ROLE, "lede")], ["read", "write"]),
                        ([(PACKAGE, "ordinaer-post-til-virksomheten")], ["read"])]))


async def seed_demo_dialogs(database: Database, settings: Settings) -> int:
    """Register Fjordvik kommune and its post service (once) and write the demo dialogs that are missing; the
    number written."""
    await seed_demo_app(database)  # registers Fjordvik kommune as a service owner
    await _seed_resource(database)
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
