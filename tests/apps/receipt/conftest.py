"""The receipt test app (a form, its PDF, signing and payment) deployed under an id of its own per test, and
instances of it standing in the task a test needs, made through Storage."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from felles.apps import deployment, formdata
from felles.apps.access import Caller
from felles.apps.definition import AppDefinition, load_app
from felles.apps.deployment import RunningApp
from felles.apps.tasks import TaskContext
from felles.authorization import service as authorization
from felles.core.blobs import from_bytes
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.runtime import Runtime
from felles.registers.population import seed_demo_personas
from felles.storage import service as storage
from tests.conftest import bearer

KARI, OLA = "12838404268", "02918205198"
APP_FOLDER = Path(__file__).parent / "receipt_app"
FORM = {
    "navn": "Kari Nordmann", "alder": 42, "belop": 1234567.5, "dato": "2026-12-24", "sone": "b", "dyr": "hund,hest",
    "verge": "Ola Verge", "hemmelig": "Ikke for søkeren",
    "kjoretoy": [{"regnr": "EL12345", "merke": "vw"}, {"regnr": "SKJULT", "merke": "volvo"},
                 {"regnr": "AB98765", "merke": "tesla"}],
}


@dataclass
class ReceiptApp:
    app_id: str
    definition: AppDefinition
    kari_party: int
    ola_party: int

    def path(self, instance: uuid.UUID, party: int | None = None) -> str:
        return f"/{self.app_id}/instances/{party or self.kari_party}/{instance}"


@pytest.fixture
async def receipt_app(database: Database, tmp_path: Path) -> ReceiptApp:
    # One app id per test: the app catalogue on disk is per data folder, shared by the session's tests.
    app_id = f"ttd/receipt-{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "app"
    shutil.copytree(APP_FOLDER, folder)
    deployment.name_template(folder, app_id)
    await seed_demo_personas(database)
    await deployment.deploy_folder(database, folder, "test")
    kari = await authorization.party_of(database, KARI)
    ola = await authorization.party_of(database, OLA)
    return ReceiptApp(app_id, load_app(folder), kari.party_id, ola.party_id)


async def instance_in_task(runtime: Runtime, app: ReceiptApp, task_id: str, form: dict | None = None) -> uuid.UUID:
    """An instance of Kari's standing in `task_id`, with its form data filled in."""
    definition = app.definition
    assert definition.process is not None
    task = definition.process.tasks[task_id]
    now = utcnow().isoformat().replace("+00:00", "Z")
    process = {"started": now, "startEvent": "StartEvent_1", "currentTask": {
        "flow": 2, "started": now, "elementId": task_id, "name": task.name, "altinnTaskType": task.task_type,
        "flowType": "CompleteCurrentMoveToNext"}}
    model = definition.models["skjema"]
    assert model.xsd is not None
    xml = formdata.json_to_xml(form or FORM, model.xsd, model.root_element)
    element_id = uuid.uuid4()
    async with runtime.database.transaction() as session:
        instance = await storage.create_instance_in_transaction(
            session, app_id=app.app_id, app_version=1, owner=storage.Owner(app.kari_party, KARI), process=process,
            actor="1337")
        stored = await storage.put_data_blob(runtime.blobs, instance.id, element_id, from_bytes(xml))
        storage.add_data_element_in_transaction(session, instance, element_id, stored, data_type="skjema",
                                                content_type="application/xml", actor="1337")
    return instance.id


async def kari_caller(database: Database) -> Caller:
    party = await authorization.party_of(database, KARI)
    return Caller(KARI, None, 3, party.user_id)


def task_context(session, runtime: Runtime, app: ReceiptApp, instance, task_id: str, caller: Caller) -> TaskContext:
    assert app.definition.process is not None
    return TaskContext(session, runtime, RunningApp(app.definition, 1), instance,
                       app.definition.process.tasks[task_id], caller, "nb")


@pytest.fixture
def runtime(app, database: Database) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


@pytest.fixture
def kari(token) -> dict[str, str]:
    return bearer(token(scopes=[], person=KARI))


@pytest.fixture
def ola(token) -> dict[str, str]:
    return bearer(token(scopes=[], person=OLA))
