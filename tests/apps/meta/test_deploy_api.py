"""Deploying over HTTP: a service owner's zipped app becomes a version under its own code, and nothing else does."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import httpx

from felles.apps import deployment
from felles.core.db import Database
from tests.apps.meta.conftest import KARI, TESTAPP_BASIC
from tests.conftest import TokenFactory, bearer

TTD = "405003309"
DEPLOY = "/apps/api/v1/deployments"


def _zipped_app(tmp_path: Path, app_id: str) -> bytes:
    folder = tmp_path / app_id.replace("/", "-")
    shutil.copytree(TESTAPP_BASIC / "App", folder)
    path = folder / "config" / "applicationmetadata.json"
    document = json.loads(path.read_text(encoding="utf-8-sig"))
    document.update(id=app_id, org=app_id.split("/")[0])
    path.write_text(json.dumps(document), encoding="utf-8")
    return deployment.pack_folder(folder)


def _owner(token: TokenFactory, org: str = TTD, scopes: tuple[str, ...] = ("altinn:appdeploy",)) -> dict[str, str]:
    return {**bearer(token(scopes=list(scopes), org=org)), "Content-Type": "application/zip"}


async def test_a_service_owner_deploys_its_app_and_lists_it(client: httpx.AsyncClient, token: TokenFactory,
                                                            tmp_path: Path) -> None:
    archive = _zipped_app(tmp_path, "ttd/meta-deployed")
    first = await client.post(DEPLOY, content=archive, headers=_owner(token))
    assert first.status_code == 201
    assert first.json() | {"created": None} == {"id": "ttd/meta-deployed", "org": "ttd", "app": "meta-deployed",
                                                "version": 1, "created": None, "createdBy": f"organization:{TTD}"}
    again = await client.post(DEPLOY, content=archive, headers=_owner(token))
    assert again.status_code == 200 and again.json()["version"] == 1

    listed = (await client.get(DEPLOY, headers=_owner(token))).json()
    assert [(app["id"], app["version"], app["versions"]) for app in listed] == [("ttd/meta-deployed", 1, 1)]
    metadata = await client.get("/ttd/meta-deployed/api/v1/applicationmetadata")
    assert metadata.status_code == 200 and metadata.json()["versionId"] == "1"


async def test_an_app_of_another_owner_or_a_broken_one_is_refused_whole(
        database: Database, client: httpx.AsyncClient, token: TokenFactory, tmp_path: Path) -> None:
    others = await client.post(DEPLOY, content=_zipped_app(tmp_path, "skd/meta-not-mine"), headers=_owner(token))
    assert others.status_code == 400 and others.json()["code"] == "app_not_deployable"
    assert "not to the deployer" in others.json()["detail"]

    not_zip = await client.post(DEPLOY, content=b"PK not really", headers=_owner(token))
    assert not_zip.status_code == 400 and "is not a zip file" in not_zip.json()["problems"][0]

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as broken:
        broken.writestr("config/applicationmetadata.json", '{"id": "ttd/meta-broken", "org": "ttd"')
    refused = await client.post(DEPLOY, content=buffer.getvalue(), headers=_owner(token))
    problems = refused.json()["problems"]
    assert refused.status_code == 400 and any("applicationmetadata.json" in problem for problem in problems)
    assert any("process.bpmn" in problem for problem in problems)

    wrong_type = await client.post(DEPLOY, content=b"{}", headers={**_owner(token), "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert await deployment.list_deployed(database) == []


async def test_only_a_service_owner_with_the_deploy_scope_deploys(client: httpx.AsyncClient, token: TokenFactory,
                                                                  tmp_path: Path) -> None:
    archive = _zipped_app(tmp_path, "ttd/meta-unauthorised")
    assert (await client.post(DEPLOY, content=archive)).status_code == 401
    no_scope = await client.post(DEPLOY, content=archive, headers=_owner(token, scopes=("altinn:serviceowner",)))
    assert no_scope.status_code == 403 and no_scope.json()["code"] == "insufficient_scope"
    not_owner = await client.post(DEPLOY, content=archive, headers=_owner(token, org="310000001"))
    assert not_owner.status_code == 403 and not_owner.json()["code"] == "not_a_service_owner"
    person = await client.post(DEPLOY, content=archive, headers={
        **bearer(token(scopes=["altinn:appdeploy"], person=KARI)), "Content-Type": "application/zip"})
    assert person.status_code == 403 and person.json()["code"] == "not_a_service_owner"


async def test_the_municipality_deploys_the_demo_app_over_http_as_the_readme_shows(
        database: Database, client: httpx.AsyncClient, token: TokenFactory) -> None:
    from felles.apps import demo

    await demo.seed_demo_app(database)  # registers Fjordvik kommune and deploys version 1
    archive = deployment.pack_folder(demo.DEMO_APP_FOLDER)
    unchanged = await client.post(DEPLOY, content=archive, headers=_owner(token, org=demo.DEMO_SERVICE_OWNER_NUMBER))
    assert unchanged.status_code == 200 and unchanged.json()["id"] == demo.DEMO_APP_ID
    assert unchanged.json()["version"] == 1
