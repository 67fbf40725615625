"""A form app of our own (`skjema/`: personalia, a repeating group of dogs, attachments, a summary, then a
confirmation step), deployed under a fresh id per test, and a person logged in to the form pages."""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.registers.population import seed_demo_personas
from tests.apps.receipt.conftest import receipt_app, runtime  # noqa: F401 - its app has signing and payment steps

SKJEMA = Path(__file__).parent / "skjema"
KARI, OLA, INGRID = "12838404268", "02918205198", "15817003319"


@dataclass
class FormApp:
    app_id: str
    kari_party: int

    @property
    def start(self) -> str:
        return f"/{self.app_id}/"


async def deploy_skjema(database: Database, folder: Path, name: str) -> None:
    shutil.copytree(SKJEMA, folder)
    await deployment.deploy_folder(database, folder, "test", name=name)


@pytest.fixture
async def form_app(database: Database, tmp_path: Path) -> FormApp:
    # One app id per test: the app catalogue on disk is per data folder, shared by the session's tests.
    app_id = f"ttd/forms-{uuid.uuid4().hex[:12]}"
    await seed_demo_personas(database)
    await deploy_skjema(database, tmp_path / "skjema", app_id)
    kari = await authorization.party_of(database, KARI)
    return FormApp(app_id, kari.party_id)


def form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


async def follow(client: httpx.AsyncClient, response: httpx.Response, limit: int = 5) -> httpx.Response:
    """Follow the pages' redirects (303 after a post) to the page they lead to."""
    from tests.portal.login import local

    for _ in range(limit):
        if response.status_code not in (302, 303):
            return response
        response = await client.get(local(response.headers["location"]))
    return response
