"""Demo data of the broker for ``felles seed --demo``: a broker resource of the demo service owner Fjordvik
kommune, whose policy lets Fjordkraft Demo AS and Regnskap Demo AS send and receive (and their daglig leder, or
whoever holds the package for ordinary mail to the organisation, act for them), and one published transfer from
Regnskap Demo AS to Fjordkraft, so that Ingrid Bakken's brokerbox has a file to download and confirm.

Idempotent: the resource is registered once, and the transfer is found again by its sender's reference.
"""

from __future__ import annotations

import uuid

from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization_service
from felles.authorization.decision import ORGANIZATION_ID
from felles.authorization.demo import PACKAGE, ROLE, policy_xml
from felles.broker import schemas, service, service_files
from felles.core.audit import Actor
from felles.core.blobs import from_bytes, open_blob_store
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import Conflict
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY

DEMO_RESOURCE = "fjordvik-formidling-demo"
DEMO_SERVICE_OWNER = "fjordvik"  # registered by felles.apps.demo
DEMO_REFERENCE = "demo-arsregnskap-2025"
DEMO_FILE = ("Årsregnskap 2025 for Fjordkraft Demo AS (demo)\n"
             "Resultat: 42 000 000 kr\nBalanse: 120 000 000 kr\n").encode()


async def seed_demo_broker(database: Database, settings: Settings) -> uuid.UUID | None:
    """Register the demo broker resource and its demo transfer; the transfer's id (None without Fjordvik)."""
    owners = {owner.orgcode: owner.organization for owner in await authorization_service.list_service_owners(database)}
    owner = owners.get(DEMO_SERVICE_OWNER)
    if owner is None:
        return None
    actor = Actor(f"organization:{owner}")
    try:
        await authorization_service.create_resource(database, actor, owner, authorization_schemas.ServiceResource
                                                    .model_validate({
            "identifier": DEMO_RESOURCE, "resourceType": "BrokerService", "status": "Completed",
            "title": {"nb": "Formidling av regnskapsfiler (demo)", "nn": "Formidling av rekneskapsfiler (demo)",
                      "en": "Transfer of accounting files (demo)"},
            "description": {"nb": "Store filer mellom virksomheter gjennom Formidlingstjenesten (demo).",
                            "nn": "Store filer mellom verksemder gjennom Formidlingstenesta (demo).",
                            "en": "Large files between organisations through the broker (demo)."},
            "hasCompetentAuthority": {"organization": owner, "orgcode": DEMO_SERVICE_OWNER},
            "availableForType": ["LegalEntityEnterprise", "Company"]}))
        await authorization_service.put_policy(database, actor, owner, DEMO_RESOURCE, policy_xml(DEMO_RESOURCE, [
            ([(ORGANIZATION_ID, DEMO_COMPANY), (ORGANIZATION_ID, DEMO_ACCOUNTING_FIRM)], ["read", "write"]),
            ([(ROLE, "dagl"), (PACKAGE, "ordinaer-post-til-virksomheten")], ["read", "write"]),
        ]))
        await service.configure_resource(database, owner, actor, DEMO_RESOURCE, schemas.ResourceConfiguration(
            fileTransferTimeToLive="P365D", purgeFileTransferAfterAllRecipientsConfirmed=False))
    except Conflict:
        pass  # seeded before
    sender = service.Caller.organization(DEMO_ACCOUNTING_FIRM)
    for row in await service.search(database, sender, service.Search(resource_id=DEMO_RESOURCE,
                                                                      role=schemas.Role.SENDER)):
        if row.senders_reference == DEMO_REFERENCE:
            return row.id
    transfer_id = await service.initialize(database, settings, sender, schemas.FileTransferInitialize(
        fileName="arsregnskap-2025.txt", resourceId=DEMO_RESOURCE, sendersFileTransferReference=DEMO_REFERENCE,
        sender=f"0192:{DEMO_ACCOUNTING_FIRM}", recipients=[f"0192:{DEMO_COMPANY}"],
        propertyList={"regnskapsaar": "2025"}))
    await service_files.upload(database, settings, open_blob_store(settings), sender, transfer_id, len(DEMO_FILE),
                       from_bytes(DEMO_FILE))
    return transfer_id
