"""The runtime tests' apps and callers: a grant application (`soknad`: a form, then a confirmation for large
amounts) deployed under app ids of their own, variants of it with another process, and the demo personas."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from felles.apps import deployment
from felles.core.db import Database
from felles.registers.population import seed_demo_personas
from tests.conftest import bearer

SOKNAD = Path(__file__).with_name("soknad")
APP_ID = "ttd/runtime-soknad"
KARI, OLA, INGRID = "12838404268", "02918205198", "15817003319"
FJORDKRAFT, TTD = "309999908", "405003309"

TASK = ('<bpmn:{kind} id="{id}" name="{id}"><bpmn:extensionElements><altinn:taskExtension>'
        '<altinn:taskType>{type}</altinn:taskType></altinn:taskExtension></bpmn:extensionElements></bpmn:{kind}>')


def process_of(*tasks: tuple[str, ...]) -> str:
    """A straight process through `(task id, task type[, BPMN element])`s (the element `task` unless named)."""
    elements = [TASK.format(id=task[0], type=task[1], kind=task[2] if len(task) > 2 else "task") for task in tasks]
    chain = ["StartEvent_1", *(task[0] for task in tasks), "EndEvent_1"]
    flows = [f'<bpmn:sequenceFlow id="Flow_{n}" sourceRef="{a}" targetRef="{b}" />'
             for n, (a, b) in enumerate(itertools.pairwise(chain))]
    return ('<?xml version="1.0" encoding="utf-8"?><bpmn:definitions id="D" xmlns:altinn="http://altinn.no/process" '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="P">'
            '<bpmn:startEvent id="StartEvent_1" />' + "".join(elements) + '<bpmn:endEvent id="EndEvent_1" />'
            + "".join(flows) + "</bpmn:process></bpmn:definitions>")


def variant(tmp_path: Path, app: str, *, process: str | None = None, party_types: str | None = None) -> Path:
    """A copy of the grant application as `ttd/{app}`, with another process, or `party_types` in place of
    `"organisation": false` in its partyTypesAllowed."""
    folder = tmp_path / app
    shutil.copytree(SOKNAD, folder)
    config = folder / "App" / "config"
    for path in (config / "applicationmetadata.json", config / "authorization" / "policy.xml"):
        path.write_text(path.read_text(encoding="utf-8").replace("runtime-soknad", app), encoding="utf-8")
    if process is not None:
        (config / "process" / "process.bpmn").write_text(process, encoding="utf-8")
    if party_types is not None:
        metadata = config / "applicationmetadata.json"
        metadata.write_text(metadata.read_text(encoding="utf-8").replace('"organisation": false', party_types),
                            encoding="utf-8")
    return folder


@pytest.fixture
async def soknad(database: Database) -> str:
    """The grant application deployed, and the demo personas registered; its app id."""
    await seed_demo_personas(database)
    await deployment.deploy_folder(database, SOKNAD, "test")
    return APP_ID


Deploy = Callable[..., Awaitable[str]]


@pytest.fixture
async def deploy_variant(database: Database, tmp_path: Path) -> Deploy:
    await seed_demo_personas(database)

    async def deploy(app: str, **changes: str) -> str:
        return (await deployment.deploy_folder(database, variant(tmp_path, app, **changes), "test")).app_id

    return deploy


@pytest.fixture
def kari(token) -> dict[str, str]:
    return bearer(token(scopes=["altinn:instances.read", "altinn:instances.write"], person=KARI))


@pytest.fixture
def ola(token) -> dict[str, str]:
    return bearer(token(scopes=["altinn:instances.read", "altinn:instances.write"], person=OLA))


@pytest.fixture
def ingrid(token) -> dict[str, str]:
    return bearer(token(scopes=["altinn:instances.read", "altinn:instances.write"], person=INGRID))


@pytest.fixture
def ttd(token) -> dict[str, str]:
    return bearer(token(scopes=["altinn:serviceowner/instances.read", "altinn:serviceowner/instances.write"],
                        org=TTD))
