"""Skedsmo kommune in the demo data (seed 003, the 2017 workshop): the family from Kjeller, the municipality as a
service owner with its two apps (leave from school, a kindergarten place), its correspondence resource for the
answers, its place among the next-move senders (it archives each case), and the Maskinporten client of its case
system, whose private key is written to the data folder for `felles casesystem` to sign its JWT grants with.
Everything is idempotent: `make run` calls it every time."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import RSAKey

from felles.apps import deployment
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization
from felles.authorization.demo import ROLE, policy_xml
from felles.core.audit import Actor
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.errors import Conflict
from felles.correspondence.demo import seed_eformidling_sender
from felles.correspondence.nextmove import DPO_SCOPE
from felles.identity import schemas as identity_schemas
from felles.identity import selfservice
from felles.identity.cli import DIGDIR, OPERATOR, PREFIX_OWNERS
from felles.registers.population import JOURNEY_FAMILY, SKEDSMO, seed_journey_family

APPS_FOLDER = Path(__file__).resolve().parents[1] / "apps" / "demo_apps"
OWNER = "skedsmo"
OWNER_NAME = {"nb": "Skedsmo kommune", "nn": "Skedsmo kommune", "en": "Skedsmo municipality"}
LEAVE_APP = "skedsmo/soknad-om-fri"
KINDERGARTEN_APP = "skedsmo/barnehageplass"
APP_FOLDERS = {LEAVE_APP: APPS_FOLDER / "soknad-om-fri", KINDERGARTEN_APP: APPS_FOLDER / "barnehageplass"}
ANSWER_RESOURCE = "skedsmo-svar"
CLIENT_ID = "skedsmo-saksbehandling"
# What the case system asks Maskinporten for: read and complete its instances, subscribe to their events, send
# the answers as correspondence, archive each case through eFormidling's next-move API.
CLIENT_SCOPES = ("altinn:serviceowner/instances.read", "altinn:serviceowner/instances.write",
                 "altinn:events.subscribe", "altinn:correspondence.write", "altinn:serviceowner", DPO_SCOPE)
SEED_ACTOR = "felles seed"


@dataclass(frozen=True)
class SkedsmoDemo:
    family_added: bool
    apps: list[deployment.Deployment]
    key_file: Path


def key_file(settings: Settings) -> Path:
    """Where the case system's private JWK is kept (the data folder; readable by its owner only)."""
    return settings.data_dir / "casesystem" / f"{CLIENT_ID}.jwk.json"


ANSWER_TEXTS = {
    "title": {"nb": "Svar fra Skedsmo kommune", "nn": "Svar frå Skedsmo kommune",
              "en": "Answers from Skedsmo municipality"},
    "description": {"nb": "Vedtak på søknader om fri fra skolen og barnehageplass (demo).",
                    "nn": "Vedtak på søknader om fri frå skulen og barnehageplass (demo).",
                    "en": "Decisions on applications for leave from school and kindergarten places (demo)."},
}


def _answer_resource() -> authorization_schemas.ServiceResource:
    """The CorrespondenceService resource the answers are sent through; the recipient reads them."""
    return authorization_schemas.ServiceResource.model_validate(ANSWER_TEXTS | dict(
        identifier=ANSWER_RESOURCE, resourceType="CorrespondenceService", status="Completed", delegable=True,
        hasCompetentAuthority={"organization": SKEDSMO, "orgcode": OWNER}, availableForType=["PrivatePerson"]))


async def _client(database: Database, settings: Settings) -> Path:
    """The case system's Maskinporten client, with a fresh key pair when the client is new or its key file is
    missing."""
    for scope in CLIENT_SCOPES:
        owner = PREFIX_OWNERS.get(scope.partition(":")[0], DIGDIR)
        await selfservice.set_scope_access(database, OPERATOR, owner, scope, SKEDSMO, approved=True)
    created = True
    try:
        await selfservice.create_client(database, OPERATOR, SKEDSMO, identity_schemas.ClientCreate(
            integration_type="maskinporten", client_name="Skedsmo kommune saksbehandling", client_id=CLIENT_ID,
            client_orgno=SKEDSMO, scopes=list(CLIENT_SCOPES)), administrator=True,
            allow_local_http=not settings.is_production)
    except Conflict:
        created = False  # registered by an earlier run
    path = key_file(settings)
    if created or not path.exists():
        key = RSAKey.generate_key(2048, parameters={"kid": f"{CLIENT_ID}-{uuid.uuid4().hex[:8]}", "alg": "RS256",
                                                    "use": "sig"})
        await selfservice.set_client_keys(database, OPERATOR, None, CLIENT_ID,
                                          identity_schemas.JwkSet(keys=[key.as_dict(private=False)]))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(key.as_dict(private=True), indent=2) + "\n")
    return path


async def seed_skedsmo(database: Database, settings: Settings) -> SkedsmoDemo:
    """The family, Skedsmo kommune as a service owner, its apps, its answer resource and its case system's client.
    Needs the platform's scopes registered first (`seed_platform_scopes`)."""
    added = await seed_journey_family(database)
    if OWNER not in {owner.orgcode for owner in await authorization.list_service_owners(database)}:
        await authorization.add_service_owner(database, Actor(SEED_ACTOR), authorization_schemas.ServiceOwnerPublic(
            orgcode=OWNER, organization=SKEDSMO, name=OWNER_NAME))
    apps = [await deployment.deploy_folder(database, folder, SEED_ACTOR) for folder in APP_FOLDERS.values()]
    actor = Actor(f"organization:{SKEDSMO}")
    try:
        await authorization.create_resource(database, actor, SKEDSMO, _answer_resource())
    except Conflict:
        pass
    await authorization.put_policy(database, actor, SKEDSMO, ANSWER_RESOURCE, policy_xml(ANSWER_RESOURCE, [
        ([(ROLE, "priv")], ["read"])]))
    await seed_eformidling_sender(database, SKEDSMO)  # the case system archives through next move
    return SkedsmoDemo(added, apps, await _client(database, settings))


__all__ = ["JOURNEY_FAMILY", "SkedsmoDemo", "seed_skedsmo"]
