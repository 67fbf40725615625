"""App calls are decided by the deployed app's policy: the person for themselves, not for others; the service
owner by its code; a party is found by its partyId only."""

from __future__ import annotations

import pytest

from felles.apps import access, deployment
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.core.errors import Forbidden, NotFound
from felles.core.tokens import Principal
from felles.registers.population import seed_demo_personas
from tests.conftest import REFERENCE

KARI, OLA, TTD = "12838404268", "02918205198", "405003309"
APP = "ttd/template-app"


@pytest.fixture
async def deployed(database: Database) -> None:
    await seed_demo_personas(database)
    await deployment.deploy_folder(database, REFERENCE / "altinn-apps" / "app-template-v8", "test", name=APP)


async def test_a_person_acts_for_themselves_and_not_for_another(database: Database, deployed: None) -> None:
    kari = await access.caller_of(database, Principal("person", person_identifier=KARI, authentication_level=2))
    ola = await access.caller_of(database, Principal("person", person_identifier=OLA, authentication_level=2))
    assert kari.is_person and kari.user_id is not None and kari.actor == f"person:{KARI}"
    await access.require(database, kari, KARI, APP, "instantiate")
    await access.require(database, kari, KARI, APP, "write", task="Task_1")
    with pytest.raises(Forbidden, match="may not read in task Task_1"):
        await access.require(database, ola, KARI, APP, "read", task="Task_1")


async def test_the_service_owner_is_decided_by_its_code(database: Database, deployed: None) -> None:
    ttd = await access.caller_of(database, Principal("organization", organization_number=TTD))
    assert ttd.service_owner == "ttd" and not ttd.is_person
    assert await access.permits(database, ttd, KARI, APP, "read", task="Task_1")
    skd = await access.caller_of(database, Principal("organization", organization_number="974761076"))
    assert skd.service_owner == "skd"
    assert not await access.permits(database, skd, KARI, APP, "read", task="Task_1")


async def test_a_party_is_found_by_its_id_only(database: Database) -> None:
    await seed_demo_personas(database)
    registered = await authorization.party_of(database, KARI)
    party = await access.party(database, registered.party_id)
    assert (party.identifier, party.is_person, party.name) == (KARI, True, registered.name)
    with pytest.raises(NotFound):
        await access.party(database, 2_000_000_000)


async def test_a_token_naming_nobody_is_refused(database: Database) -> None:
    with pytest.raises(Forbidden):
        await access.caller_of(database, Principal("system", client_id="x"))
