"""Demo correspondence for ``felles seed --demo``: Fjordvik kommune's correspondence resource (registered as its
owner would, with a policy that lets the person themself and a company's daglig leder read) and a few messages:
to Kari Nordmann a decision with an attachment that asks for confirmation and offers a way to appeal, and a
reminder; to Fjordkraft Demo AS a notice. Each request has a fixed idempotency key, so seeding again creates
nothing. The in-process worker of ``felles serve`` publishes them.

Besides, what onboards a case system's organisation to the next-move API (`seed_eformidling_sender`): Digdir's
eFormidling resources, through which the PDP lets the members of Digdir's access list of senders send."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.decision import ACCESS_LIST
from felles.authorization.demo import ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.blobs import BlobStore, from_bytes
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import Conflict, NotFound
from felles.core.tokens import Principal
from felles.correspondence import nextmove_schemas, service
from felles.correspondence import schemas as s
from felles.correspondence.service_access import READ_ACTION, SERVICE_OWNER_SCOPE, WRITE_ACTION, WRITE_SCOPE
from felles.identity.cli import DIGDIR
from felles.registers.population import DEMO_COMPANY, DEMO_PERSONS

DEMO_OWNER = "fjordvik"  # registered by felles.apps.demo
DEMO_RESOURCE = "fjordvik-meldinger"
DECISION = "Vedtak om parkeringstillatelse"
DECISION_BODY = """Hei, Kari!

Søknaden din om **beboerparkering** i sone 3 er *innvilget*.

- Tillatelsen gjelder fra 1. januar til 31. desember.
- Vedtaket ligger som vedlegg.

Du kan klage innen tre uker. Les mer på [kommunens nettsider](https://fjordvik.example/parkering).
"""


def _resource(owner: str) -> authorization_schemas.ServiceResource:
    return authorization_schemas.ServiceResource.model_validate({
        "identifier": DEMO_RESOURCE, "resourceType": "CorrespondenceService", "status": "Completed",
        "title": {"nb": "Meldinger fra Fjordvik kommune", "nn": "Meldingar frå Fjordvik kommune",
                  "en": "Messages from Fjordvik municipality"},
        "description": {"nb": "Vedtak, brev og varsler fra kommunen (demo).",
                        "nn": "Vedtak, brev og varsel frå kommunen (demo).",
                        "en": "Decisions, letters and notices from the municipality (demo)."},
        "hasCompetentAuthority": {"organization": owner, "orgcode": DEMO_OWNER},
        "availableForType": ["PrivatePerson", "Company"], "delegable": True})


def _messages() -> list[tuple[str, list[str], dict[str, Any], bytes | None]]:
    kari = f"{s.PERSON_URN}{DEMO_PERSONS[0].identifier}"
    due = (utcnow() + timedelta(days=30)).isoformat()
    return [
        ("01930000-0000-7000-8000-00000000c001", [kari], {
            "sendersReference": "park-2026-118", "isConfirmationNeeded": True, "dueDateTime": due,
            "content": {"language": "nb", "messageTitle": DECISION, "messageSummary": "Søknaden din er innvilget.",
                        "messageBody": DECISION_BODY,
                        "attachments": [{"fileName": "vedtak.txt", "sendersReference": "vedtak-118"}]},
            "replyOptions": [{"linkURL": "https://fjordvik.example/klage", "linkText": "Klag på vedtaket"}]},
         b"Vedtak: beboerparkering i sone 3 er innvilget.\n"),
        ("01930000-0000-7000-8000-00000000c002", [kari], {
            "sendersReference": "skatt-2026-7",
            "content": {"language": "nb", "messageTitle": "Påminnelse om eiendomsskatt",
                        "messageBody": "Andre termin av eiendomsskatten forfaller **20. mai**."}}, None),
        ("01930000-0000-7000-8000-00000000c003", [f"{s.ORGANIZATION_URN}{DEMO_COMPANY}"], {
            "sendersReference": "grav-2026-3",
            "content": {"language": "nb", "messageTitle": "Varsel om gravearbeid i Storgata",
                        "messageBody": "Vi graver i Storgata fra 2. til 6. juni. Adkomsten til bygget deres er "
                                       "åpen hele tiden."}}, None),
    ]


async def seed_demo_correspondence(database: Database, blobs: BlobStore) -> int:
    """Register the resource and send the demo messages unless sent before; how many requests were new."""
    owners = {owner.orgcode: owner for owner in await authorization_service.list_service_owners(database)}
    owner = owners[DEMO_OWNER].organization
    actor = Actor(f"organization:{owner}")
    try:
        await authorization_service.create_resource(database, actor, owner, _resource(owner))
    except Conflict:
        pass  # seeded before
    await authorization_service.put_policy(database, actor, owner, DEMO_RESOURCE, policy_xml(DEMO_RESOURCE, [
        ([(ROLE, "priv"), (ROLE, "dagl"), (ROLE, "lede")], ["read"])]))
    sender = Principal("organization", organization_number=owner, scopes=frozenset({WRITE_SCOPE,
                                                                                    SERVICE_OWNER_SCOPE}))
    created = 0
    for key, recipients, correspondence, attachment in _messages():
        body = s.CorrespondencesCreate.model_validate({
            "correspondence": {"resourceId": DEMO_RESOURCE, **correspondence}, "recipients": recipients,
            "idempotentKey": str(uuid.UUID(key))})
        files = [service.UploadedFile("vedtak.txt", from_bytes(attachment))] if attachment else []
        _, new = await service.initialize(database, blobs, sender, body, files)
        created += new
    return created


# --- next-move senders ----------------------------------------------------------------------------------------
EFORMIDLING_SENDERS = "eformidling-avsendere"  # Digdir's access list of the organisations that send next move
EFORMIDLING_RESOURCES = {
    nextmove_schemas.DPI_RESOURCE: {"nb": "Digital post til innbyggere (DPI)", "nn": "Digital post til innbyggjarar "
                                    "(DPI)", "en": "Digital post to citizens (DPI)"},
    nextmove_schemas.DPO_RESOURCE: {"nb": "Arkivmeldinger mellom virksomheter (DPO)", "nn": "Arkivmeldingar mellom "
                                    "verksemder (DPO)", "en": "Archive messages between organisations (DPO)"},
    nextmove_schemas.DPV_RESOURCE: {"nb": "Digital post til virksomheter (DPV)", "nn": "Digital post til verksemder "
                                    "(DPV)", "en": "Digital post to organisations (DPV)"},
}


async def seed_eformidling_sender(database: Database, organization: str) -> None:
    """Let `organization` send next-move messages (DPI, DPO, DPV), as Digdir onboards a sender: Digdir's
    eFormidling resources are registered where missing, with the policy that lets the members of its access list
    of senders write (and an organisation's roles read its DPV post), and the organisation joins the list."""
    actor = Actor(f"organization:{DIGDIR}")
    for identifier, title in EFORMIDLING_RESOURCES.items():
        try:
            await authorization_service.create_resource(
                database, actor, DIGDIR, authorization_schemas.ServiceResource.model_validate({
                    "identifier": identifier, "resourceType": "CorrespondenceService", "status": "Completed",
                    "title": title, "hasCompetentAuthority": {"organization": DIGDIR, "orgcode": "digdir"},
                    "availableForType": ["PrivatePerson", "Company"]}))
        except Conflict:
            pass  # registered before
        policy = policy_xml(identifier, [([(ACCESS_LIST, f"digdir:{EFORMIDLING_SENDERS}")], [WRITE_ACTION]),
                                         ([(ROLE, "dagl"), (ROLE, "lede")], [READ_ACTION])])
        try:
            current: str | None = await authorization_service.get_policy(database, identifier)
        except NotFound:
            current = None
        if current != policy.decode():
            await authorization_service.put_policy(database, actor, DIGDIR, identifier, policy)
    try:
        members = (await authorization_service.get_access_list(database, DIGDIR, "digdir",
                                                               EFORMIDLING_SENDERS)).members
    except NotFound:
        await authorization_service.upsert_access_list(
            database, actor, DIGDIR, "digdir", EFORMIDLING_SENDERS, authorization_schemas.AccessListCreate(
                name="eFormidling: avsendere", description="Organisations that send through the next-move API"))
        members = []
    if organization not in members:
        await authorization_service.set_access_list_members(database, actor, DIGDIR, "digdir", EFORMIDLING_SENDERS,
                                                            [*members, organization])
