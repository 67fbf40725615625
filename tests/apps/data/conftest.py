"""A test app for the data element tests (app-lib's testapp-basic, with more data types, a layout with required
fields and an expression validation), deployed under its own id, and instances of it made through Storage."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from felles.apps import deployment
from felles.apps.definition import load_app
from felles.apps.process import ProcessEngine
from felles.authorization import service as authorization
from felles.core.blobs import from_bytes, open_blob_store
from felles.core.clock import utcnow
from felles.core.config import Settings
from felles.core.db import Database
from felles.registers.population import seed_demo_personas
from felles.storage import service as storage
from tests.conftest import REFERENCE, bearer

KARI, OLA = "12838404268", "02918205198"
TESTAPP = REFERENCE / "altinn-app-api" / "testapp-basic"
EMPTY_MODEL = b'<?xml version="1.0" encoding="utf-8"?><model />'

DATA_TYPES = [
    {"id": "ref-data-as-pdf", "allowedContentTypes": ["application/pdf"], "maxCount": 0, "minCount": 0},
    {"id": "attachment", "allowedContentTypes": ["application/pdf", "image/png", "text/plain"], "maxCount": 2,
     "minCount": 0, "maxSize": 1, "taskId": "Task_1"},
    {"id": "scanned", "allowedContentTypes": [], "maxCount": 5, "minCount": 0, "taskId": "Task_1",
     "enableFileScan": True, "validationErrorOnPendingFileScan": True},
    {"id": "anything", "allowedContentTypes": [], "maxCount": 0, "minCount": 0, "taskId": "Task_1"},
    {"id": "signers-only", "allowedContentTypes": [], "maxCount": 0, "minCount": 0, "taskId": "Task_1",
     "actionRequiredToWrite": "sign"},
    {"id": "signers-read", "allowedContentTypes": [], "maxCount": 0, "minCount": 0, "taskId": "Task_1",
     "actionRequiredToRead": "sign"},
    {"id": "model", "allowedContentTypes": ["application/xml"], "taskId": "Task_1", "maxCount": 1, "minCount": 1,
     "appLogic": {"autoCreate": True, "classRef": "Altinn.App.Models.model.model"}},
]
LAYOUT = {"data": {"layout": [
    {"id": "first", "type": "Input", "required": True, "dataModelBindings": {"simpleBinding": "property1"}},
    {"id": "second", "type": "Input", "required": True, "dataModelBindings": {"simpleBinding": "property2"},
     "hidden": ["equals", ["dataModel", "property1"], "skip"]},
    {"id": "third", "type": "Input", "dataModelBindings": {"simpleBinding": "property3"}},
]}}
VALIDATION = {"validations": {"property3": [
    {"message": "data.no-forbidden", "severity": "error",
     "condition": ["equals", ["dataModel", ["argv", 0]], "forbidden"]}]}}


def make_app_folder(target: Path, app: str) -> Path:
    """testapp-basic as `ttd/{app}`, with the data types, layout and validation above."""
    shutil.copytree(TESTAPP / "App", target / "App")
    root = target / "App"
    metadata = json.loads((root / "config/applicationmetadata.json").read_text(encoding="utf-8-sig"))
    metadata.update(id=f"ttd/{app}", dataTypes=DATA_TYPES,
                    partyTypesAllowed={"person": True, "organisation": True, "subUnit": False,
                                       "bankruptcyEstate": False})
    (root / "config/applicationmetadata.json").write_text(json.dumps(metadata, indent=2))
    policy = root / "config/authorization/policy.xml"
    policy.write_text(policy.read_text(encoding="utf-8-sig").replace("[ORG]", "ttd").replace("[APP]", app))
    (root / "ui/Task_1/layouts/Side1.json").write_text(json.dumps(LAYOUT))
    (root / "models/model.validation.json").write_text(json.dumps(VALIDATION))
    (root / "models/model.prefill.json").write_text(json.dumps({"DSF": {"FirstName": "property1"}}))
    return target


@dataclass
class DeployedApp:
    app_id: str
    folder: Path
    kari_party: int
    ola_party: int

    def path(self, instance: uuid.UUID, party: int | None = None) -> str:
        return f"/{self.app_id}/instances/{party or self.kari_party}/{instance}"


@pytest.fixture
async def deployed(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> DeployedApp:
    # One app id per test: the app catalogue on disk is per data folder, shared by the session's tests.
    app = f"data-{uuid.uuid4().hex[:12]}"
    folder = make_app_folder(tmp_path / "app", app)
    await seed_demo_personas(database)
    await deployment.deploy_folder(database, folder, "test")
    kari = await authorization.party_of(database, KARI)
    ola = await authorization.party_of(database, OLA)
    return DeployedApp(f"ttd/{app}", folder, kari.party_id, ola.party_id)


async def new_instance(database: Database, settings: Settings, deployed: DeployedApp, identifier: str = KARI, *,
                       with_form: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
    """An instance in Task_1 with its (empty) form data element, as instantiation makes it; both ids."""
    definition = load_app(deployed.folder)
    assert definition.process is not None
    started = ProcessEngine(definition.process).start(utcnow(), lambda *_: True)
    party = await authorization.party_of(database, identifier)
    owner = storage.Owner(party.party_id, identifier)
    element_id = uuid.uuid4()
    async with database.transaction() as session:
        instance = await storage.create_instance_in_transaction(
            session, app_id=deployed.app_id, app_version=1, owner=owner, process=started.state, actor="1337")
        if with_form:
            stored = await storage.put_data_blob(open_blob_store(settings), instance.id, element_id,
                                                 from_bytes(EMPTY_MODEL))
            storage.add_data_element_in_transaction(session, instance, element_id, stored, data_type="model",
                                                    content_type="application/xml", actor="1337")
    return instance.id, element_id


@pytest.fixture
def kari(token) -> dict[str, str]:
    return bearer(token(scopes=[], person=KARI))


@pytest.fixture
def ola(token) -> dict[str, str]:
    return bearer(token(scopes=[], person=OLA))
