"""Fixtures of the apps' metadata, parties and deployment tests: the demo personas and an app to call."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from felles.apps import deployment
from felles.core.db import Database
from felles.registers import population
from tests.conftest import REFERENCE

TESTAPP_BASIC = REFERENCE / "altinn-app-api" / "testapp-basic"
KARI, OLA, _SOFIE, _EMIL, INGRID, *_ = (person.identifier for person in population.DEMO_PERSONS)

DeployVariant = Callable[..., Coroutine[Any, Any, str]]


@pytest.fixture
async def personas(database: Database) -> None:
    await population.seed_demo_personas(database)


@pytest.fixture
def deploy_variant(database: Database, tmp_path: Path) -> DeployVariant:
    """`await deploy_variant("ttd/name", partyTypesAllowed={...})`: testapp-basic under another id, its metadata
    changed as given (each test names its own id: versions are unpacked once per data folder)."""

    async def deploy(app_id: str, **metadata: Any) -> str:
        folder = tmp_path / app_id.replace("/", "-")
        shutil.copytree(TESTAPP_BASIC / "App", folder)
        path = folder / "config" / "applicationmetadata.json"
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        document.update(id=app_id, org=app_id.split("/")[0], **metadata)
        path.write_text(json.dumps(document), encoding="utf-8")
        await deployment.deploy_folder(database, folder, "test")
        return f"/{app_id}"

    return deploy
