"""The demo app for ``felles seed --demo``: Fjordvik kommune's application for a parking permit.

A real Altinn 3 app folder (``demo_apps/parkering/App``), written for Felles, that shows what a newcomer should
see at once: prefill from Folkeregisteret and the user's profile (or Enhetsregisteret for a business), a
repeating group of vehicles with options from code lists, attachments scanned for viruses, a field shown by an
expression, an expression validation, a summary, and a confirmation step before the receipt.

Fjordvik kommune is a made-up municipality; it is registered as the service owner ``fjordvik`` the first time.
"""

from __future__ import annotations

from pathlib import Path

from felles.apps import deployment
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization
from felles.core.audit import Actor
from felles.core.db import Database
from felles.registers.identifiers import make_organization_number

DEMO_APP_FOLDER = Path(__file__).with_name("demo_apps") / "parkering"
DEMO_APP_ID = "fjordvik/parkering"
DEMO_SERVICE_OWNER = "fjordvik"
# In the demo data's range of organisation numbers (the demo company is 309999908), below the synthetic ones.
DEMO_SERVICE_OWNER_NUMBER = make_organization_number(30_999_980) or ""
DEMO_SERVICE_OWNER_NAME = {"nb": "Fjordvik kommune", "nn": "Fjordvik kommune", "en": "Fjordvik municipality"}
SEED_ACTOR = "felles seed"


async def seed_demo_app(database: Database) -> deployment.Deployment:
    """Register Fjordvik kommune as a service owner (once) and deploy the demo app (a new version only when its
    folder has changed)."""
    owners = {owner.orgcode for owner in await authorization.list_service_owners(database)}
    if DEMO_SERVICE_OWNER not in owners:
        await authorization.add_service_owner(database, Actor(SEED_ACTOR), authorization_schemas.ServiceOwnerPublic(
            orgcode=DEMO_SERVICE_OWNER, organization=DEMO_SERVICE_OWNER_NUMBER, name=DEMO_SERVICE_OWNER_NAME))
    return await deployment.deploy_folder(database, DEMO_APP_FOLDER, SEED_ACTOR)
