"""Deploying apps: every reference app deploys and loads back from its archive, versions count up only when the
folder changes, Storage serves the metadata, and a broken folder or a hostile archive is refused whole."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from felles.apps import deployment
from felles.apps.deployment import AppCatalogue, DeploymentRefused
from felles.apps.models import AppVersion
from felles.authorization import service as authorization
from felles.core.db import Database
from felles.storage import service as storage
from tests.conftest import REFERENCE

REFERENCE_APPS = sorted([*(REFERENCE / "altinn-apps").iterdir(), REFERENCE / "altinn-app-api" / "testapp-basic"])


@pytest.mark.parametrize("folder", REFERENCE_APPS, ids=lambda path: path.name)
async def test_each_reference_app_deploys_and_loads_back(database: Database, folder: Path, tmp_path: Path) -> None:
    template = folder.name == "app-template-v8"  # Altinn's template is named when an app is made from it
    result = await deployment.deploy_folder(database, folder, "test", name="ttd/template-app" if template else None)
    assert result.created and result.version == 1
    catalogue = AppCatalogue(database, tmp_path / "apps")
    app, version = await catalogue.get(result.app_id)
    assert version == 1 and app.id == result.app_id and not app.problems
    metadata = await storage.get_application(database, result.app_id)
    assert metadata["id"] == result.app_id and metadata["versionId"] == "1"


async def test_the_same_folder_makes_no_new_version_and_a_change_does(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "App"
    shutil.copytree(REFERENCE / "altinn-apps" / "app-template-v8" / "App", folder)
    deployment.name_template(folder, "ttd/template-app")
    first = await deployment.deploy_folder(database, folder, "test")
    again = await deployment.deploy_folder(database, folder, "test")
    assert (again.version, again.created) == (first.version, False)

    texts = folder / "config" / "texts" / "resource.nb.json"
    texts.write_text(texts.read_text(encoding="utf-8-sig") + "\n", encoding="utf-8")
    changed = await deployment.deploy_folder(database, folder, "test")
    assert changed.created and changed.version == first.version + 1
    listed = {app.app_id: app for app in await deployment.list_deployed(database)}
    assert listed[first.app_id].version == changed.version and listed[first.app_id].versions == 2

    catalogue = AppCatalogue(database, tmp_path / "apps")
    _, newest = await catalogue.get(first.app_id)
    old, version = await catalogue.get(first.app_id, first.version)
    assert (newest, version) == (changed.version, first.version) and old.id == first.app_id


async def test_the_newest_version_is_remembered_until_a_deployment_announces_itself(database: Database,
                                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "App"
    shutil.copytree(REFERENCE / "altinn-apps" / "app-template-v8" / "App", folder)
    deployment.name_template(folder, "ttd/template-app")
    first = await deployment.deploy_folder(database, folder, "test")
    catalogue = AppCatalogue(database, tmp_path / "apps")
    assert (await catalogue.get(first.app_id))[1] == first.version

    # A version written without the deployment's announcement (as if its notice were lost) is not seen at once ...
    async with database.transaction() as session:
        row = await session.get(AppVersion, (first.app_id, first.version))
        assert row is not None
        session.add(AppVersion(app_id=first.app_id, version=first.version + 1, archive=row.archive,
                               sha256="not-announced", deployed_at=row.deployed_at, deployed_by="test"))
    assert (await catalogue.get(first.app_id))[1] == first.version

    # ... while a deployment is, in this process as soon as it commits.
    texts = folder / "config" / "texts" / "resource.nb.json"
    texts.write_text(texts.read_text(encoding="utf-8-sig") + "\n", encoding="utf-8")
    deployed = await deployment.deploy_folder(database, folder, "test")
    assert deployed.version == first.version + 2
    assert (await catalogue.get(first.app_id))[1] == deployed.version


async def test_a_folder_with_problems_is_refused_with_each_problem(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "App"
    shutil.copytree(REFERENCE / "altinn-apps" / "app-template-v8" / "App", folder)
    (folder / "config" / "process" / "process.bpmn").write_text("<not-bpmn", encoding="utf-8")
    (folder / "config" / "authorization" / "policy.xml").unlink()
    with pytest.raises(DeploymentRefused) as refused:
        await deployment.deploy_folder(database, folder, "test")
    listed = " ".join(map(str, refused.value.problems))
    assert "process.bpmn" in listed and "policy.xml" in listed
    assert refused.value.status == 400
    assert await deployment.list_deployed(database) == []


def _zip(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize("archive, reason", [
    (b"not a zip", "is not a zip file"),
    (_zip({"../escape.txt": b"x"}), "points outside the app folder"),
    (_zip({"/etc/owned": b"x"}), "points outside the app folder"),
    (_zip({}, link="config/link"), "is a link"),
], ids=["not-zip", "dot-dot", "absolute", "symlink"])
async def test_a_hostile_archive_is_refused_and_nothing_is_written(database: Database, tmp_path: Path,
                                                                   archive: bytes, reason: str) -> None:
    with pytest.raises(DeploymentRefused) as refused:
        await deployment.deploy(database, archive, "test")
    assert reason in str(refused.value)
    assert not (tmp_path.parent / "escape.txt").exists()
    assert await deployment.list_deployed(database) == []


async def test_an_archive_bigger_than_it_says_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deployment, "MAX_ARCHIVE_BYTES", 1000)
    with pytest.raises(DeploymentRefused):
        deployment.unpack(_zip({"big.bin": b"0" * 5000}), tmp_path / "target")
    assert not (tmp_path / "target").exists()


async def test_another_owners_app_is_refused_to_a_deployer(database: Database) -> None:
    archive = deployment.pack_folder(REFERENCE / "altinn-apps" / "app-template-v8")
    with pytest.raises(DeploymentRefused) as refused:
        await deployment.deploy(database, archive, "organization:974761076", org="skd", name="ttd/template-app")
    assert 'not to the deployer "skd"' in str(refused.value)


def test_the_command_deploys_and_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str,
                                       database: Database) -> None:
    from felles.cli import cli

    monkeypatch.setenv("FELLES_DATABASE_URL", database_url)
    monkeypatch.setenv("FELLES_DATA_DIR", str(tmp_path))
    from felles.core.config import get_settings
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        folder = REFERENCE / "altinn-apps" / "altinn-studio-payment-test"
        deployed = runner.invoke(cli, ["app", "deploy", str(folder)])
        assert deployed.exit_code == 0, deployed.output
        assert "deployed as version" in deployed.output
        assert "unchanged: still version" in runner.invoke(cli, ["app", "deploy", str(folder)]).output
        listed = runner.invoke(cli, ["app", "list"])
        assert listed.exit_code == 0 and "payment" in listed.output
    finally:
        get_settings.cache_clear()


async def test_the_template_unnamed_is_refused_with_how_to_name_it(database: Database) -> None:
    with pytest.raises(DeploymentRefused) as refused:
        await deployment.deploy_folder(database, REFERENCE / "altinn-apps" / "app-template-v8", "test")
    assert "--name org/app" in str(refused.value)
    with pytest.raises(DeploymentRefused, match="org/app"):
        await deployment.deploy_folder(database, REFERENCE / "altinn-apps" / "app-template-v8", "test", name="Bad")


async def test_a_deployed_apps_policy_is_its_resource_and_decides(database: Database) -> None:
    await deployment.deploy_folder(database, REFERENCE / "altinn-apps" / "app-template-v8", "test",
                                   name="ttd/template-app")
    resource = await authorization.get_resource(database, "app_ttd_template-app")
    assert resource.resourceType == "AltinnApp" and resource.hasCompetentAuthority.orgcode == "ttd"
    assert "ttd" in await authorization.get_policy(database, "app_ttd_template-app")
    kari, ola = "12838404268", "02918205198"
    assert await authorization.may_use_app(database, kari, kari, "ttd", "template-app", "instantiate")
    assert await authorization.may_use_app(database, kari, kari, "ttd", "template-app", "read", task="Task_1")
    assert not await authorization.may_use_app(database, ola, kari, "ttd", "template-app", "read", task="Task_1")


async def test_an_app_of_an_unregistered_owner_is_refused(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "App"
    shutil.copytree(REFERENCE / "altinn-apps" / "app-template-v8" / "App", folder)
    with pytest.raises(Exception, match="not a registered service owner"):
        await deployment.deploy_folder(database, folder, "test", name="nobody/app")
