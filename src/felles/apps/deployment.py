"""Deploying apps: an app folder (or its zip) becomes a new version, its metadata goes to Storage, and every
process loads a version it is asked for from the archive kept in the database.

A deployment checks the folder as `felles app check` does and refuses it with every problem listed. Deploying
the same folder again makes no new version. Archives are unpacked with limits (no paths out of the folder, no
links, bounded size and count), since a service owner's zip is input like any other.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import shutil
import stat
import tempfile
import time
import weakref
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import func, select

from felles.apps.definition import AppDefinition, Problem, find_app_folder, load_app
from felles.apps.models import AppVersion
from felles.authorization import service as authorization
from felles.core import cache_invalidation
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.errors import InvalidInput, NotFound
from felles.storage import service as storage

MAX_ARCHIVE_BYTES = 50 * 1024 * 1024  # unpacked: an app folder is layouts, texts, models and a few images
MAX_ARCHIVE_FILES = 5000
# A fixed time in every zip entry, so that the same folder always packs to the same bytes.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# Versions a process keeps loaded (each an AppDefinition with its parsed layouts and schemas).
CATALOGUE_SIZE = 64
# A deployment announces this topic (`core.cache_invalidation`): every process forgets which version is newest.
APPS_TOPIC = "apps"
# How long a process trusts the newest version it read, should it miss an announcement (a lost listener).
NEWEST_VERSION_SECONDS = 30.0


class DeploymentRefused(InvalidInput):
    """The folder or archive cannot be deployed; `problems` lists why, file by file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listed = "; ".join(str(problem) for problem in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"The app cannot be deployed: {listed}{more}", code="app_not_deployable",
                         extra={"problems": [str(problem) for problem in problems]})


@dataclass(frozen=True)
class Deployment:
    app_id: str
    version: int
    deployed_at: datetime
    deployed_by: str
    created: bool  # False when the same folder was deployed before (no new version)


def pack_folder(path: Path) -> bytes:
    """The app folder (the repository root or its `App/`) as a zip of its files, in a stable order."""
    root = find_app_folder(path)
    if not root.is_dir():
        raise DeploymentRefused([Problem(str(path), None, "is not a folder")])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(root.rglob("*")):
            if file.is_symlink():
                raise DeploymentRefused([Problem(file.relative_to(root).as_posix(), None, "is a link")])
            if file.is_file():
                entry = zipfile.ZipInfo(file.relative_to(root).as_posix(), _ZIP_TIME)
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, file.read_bytes())
    return buffer.getvalue()


def unpack(archive: bytes, target: Path) -> None:
    """Unpack an app archive into `target` (which must not exist), refusing anything that would reach outside
    it or grow past the limits. An archive of the repository root (with `App/` inside) is accepted too."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise DeploymentRefused([Problem("archive", None, "is not a zip file")]) from None
    entries = [entry for entry in zipped.infolist() if not entry.is_dir()]
    if len(entries) > MAX_ARCHIVE_FILES:
        raise DeploymentRefused([Problem("archive", None, f"has more than {MAX_ARCHIVE_FILES} files")])
    if sum(entry.file_size for entry in entries) > MAX_ARCHIVE_BYTES:
        raise DeploymentRefused([Problem("archive", None, f"unpacks to more than {MAX_ARCHIVE_BYTES} bytes")])
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
    try:
        written = 0
        for entry in entries:
            name = PurePosixPath(entry.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in entry.filename:
                raise DeploymentRefused([Problem(entry.filename, None, "points outside the app folder")])
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise DeploymentRefused([Problem(entry.filename, None, "is a link")])
            destination = staging.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(entry) as source, destination.open("wb") as sink:
                while chunk := source.read(1 << 16):
                    written += len(chunk)
                    if written > MAX_ARCHIVE_BYTES:  # the sizes in the directory can lie
                        raise DeploymentRefused([Problem("archive", None, "unpacks to more than it says")])
                    sink.write(chunk)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


# Altinn Studio's app template names its app by these placeholders until a service owner creates an app from it.
TEMPLATE_PLACEHOLDERS = ("[ORG]", "[APP]", "[org]", "[app]")
APP_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,29}/[a-z0-9][a-z0-9-]{0,98}$")


def name_template(folder: Path, name: str) -> None:
    """Fill the template's placeholders with `name` ("org/app"), as Altinn Studio does when it creates an app."""
    if not APP_NAME_PATTERN.match(name):
        raise DeploymentRefused([Problem("name", None, f'"{name}" is not of the form "org/app" (lower case)')])
    folder = find_app_folder(folder)
    for relative in ("config/applicationmetadata.json", "config/authorization/policy.xml"):
        path = folder / relative
        if path.is_file():
            path.write_text(_named(path.read_text(encoding="utf-8-sig"), name), encoding="utf-8")


def _named(text: str, name: str) -> str:
    """`text` with the template's placeholders filled with the app's `name` ("org/app")."""
    org, app = name.split("/")
    for placeholder, value in zip(TEMPLATE_PLACEHOLDERS, (org, app, org, app), strict=True):
        text = text.replace(placeholder, value)
    return text


def deployed_policy(app: AppDefinition) -> bytes:
    """The app's policy as Altinn Studio deploys it: placeholders left in it (`app_[ORG]_[APP]`, as older apps
    and app-lib's test apps keep them) filled with the app's own name."""
    return _named(app.policy_xml.decode("utf-8-sig"), app.id).encode("utf-8")


def check(folder: Path) -> AppDefinition:
    app = load_app(folder)
    problems = list(app.problems)
    if any(placeholder in app.id for placeholder in TEMPLATE_PLACEHOLDERS):
        problems.append(Problem("config/applicationmetadata.json", None,
                                f'"id" is still the template\'s "{app.id}": name the app when deploying it '
                                '(felles app deploy PATH --name org/app)'))
    elif not app.id or "/" not in app.id:
        problems.append(Problem("config/applicationmetadata.json", None, 'has no "id" of the form "org/app"'))
    if problems:
        raise DeploymentRefused(problems)
    return app


async def deploy(database: Database, archive: bytes, actor: str, *, org: str | None = None,
                 name: str | None = None) -> Deployment:
    """Deploy an app archive as its next version. `org`, when given, is the only service owner the archive
    may belong to (the caller's own); `name` ("org/app") names an app made from Altinn's template."""
    with tempfile.TemporaryDirectory(prefix="felles-deploy-") as scratch:
        folder = Path(scratch) / "app"
        await asyncio.to_thread(unpack, archive, folder)
        if name is not None:
            await asyncio.to_thread(name_template, folder, name)
        app = await asyncio.to_thread(check, folder)
        packed = await asyncio.to_thread(pack_folder, folder)
        policy_xml = deployed_policy(app)
    app_id = app.id
    if org is not None and app.metadata.get("org") != org:
        raise DeploymentRefused([Problem("config/applicationmetadata.json", None,
                                         f'belongs to "{app.metadata.get("org")}", not to the deployer "{org}"')])
    digest = hashlib.sha256(packed).hexdigest()
    async with database.transaction() as session:
        latest = (await session.scalars(select(AppVersion).where(AppVersion.app_id == app_id)
                                        .order_by(AppVersion.version.desc()).limit(1).with_for_update())).first()
        if latest is not None and latest.sha256 == digest:
            return Deployment(app_id, latest.version, latest.deployed_at, latest.deployed_by, created=False)
        version = (latest.version if latest else 0) + 1
        row = AppVersion(app_id=app_id, version=version, archive=packed, sha256=digest, deployed_at=utcnow(),
                         deployed_by=actor)
        session.add(row)
        await storage.register_application_in_transaction(session, app.metadata, version=version, actor=actor)
        await authorization.register_app_resource_in_transaction(
            session, Actor(actor), str(app.metadata["org"]), app_id.split("/", 1)[1],
            dict(app.metadata.get("title") or {}), policy_xml)
        await cache_invalidation.announce(session, APPS_TOPIC)
    return Deployment(app_id, version, row.deployed_at, actor, created=True)


async def deploy_folder(database: Database, path: Path, actor: str, *, name: str | None = None) -> Deployment:
    return await deploy(database, await asyncio.to_thread(pack_folder, path), actor, name=name)


@dataclass(frozen=True)
class DeployedApp:
    app_id: str
    version: int
    versions: int
    deployed_at: datetime
    deployed_by: str


async def list_deployed(database: Database) -> list[DeployedApp]:
    """Every deployed app with its newest version."""
    newest = (select(AppVersion.app_id, func.max(AppVersion.version).label("version"),
                     func.count().label("versions")).group_by(AppVersion.app_id).subquery())
    async with database.transaction() as session:
        rows = (await session.execute(
            select(AppVersion.app_id, AppVersion.version, newest.c.versions, AppVersion.deployed_at,
                   AppVersion.deployed_by)
            .join(newest, (AppVersion.app_id == newest.c.app_id) & (AppVersion.version == newest.c.version))
            .order_by(AppVersion.app_id))).all()
    return [DeployedApp(*row) for row in rows]


@dataclass(frozen=True)
class RunningApp:
    """A deployed app's definition at the version requests are served with (the newest)."""

    definition: AppDefinition
    version: int

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def org(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]


class AppCatalogue:
    """The app versions this process has loaded, unpacked under `folder` on first use. A version never changes,
    so what is loaded stays right. Which version is newest is remembered until a deployment announces itself
    (`APPS_TOPIC`), or for `NEWEST_VERSION_SECONDS` at most: every request of the app API asks it."""

    def __init__(self, database: Database, folder: Path) -> None:
        self.database = database
        self.folder = folder
        self._loaded: OrderedDict[tuple[str, int], AppDefinition] = OrderedDict()
        self._lock = asyncio.Lock()
        self._newest: dict[str, tuple[int, float]] = {}
        # Bumped by each forgetting, so that a read that raced a deployment is not remembered.
        self._generation = 0
        _catalogues.add(self)

    def forget_newest_versions(self) -> None:
        self._newest.clear()
        self._generation += 1

    async def newest_version(self, app_id: str) -> int:
        await cache_invalidation.check(self.database)
        known = self._newest.get(app_id)
        if known is not None and time.monotonic() - known[1] < NEWEST_VERSION_SECONDS:
            return known[0]
        generation, read_at = self._generation, time.monotonic()
        async with self.database.transaction() as session:
            version = await session.scalar(select(func.max(AppVersion.version)).where(AppVersion.app_id == app_id))
        if version is None:
            raise NotFound(f"No app {app_id} is deployed.", code="app_not_found")
        if generation == self._generation:
            self._newest[app_id] = (int(version), read_at)
        return int(version)

    async def get(self, app_id: str, version: int | None = None) -> tuple[AppDefinition, int]:
        """The app definition of `version` (the newest when None), and that version."""
        version = version if version is not None else await self.newest_version(app_id)
        key = (app_id, version)
        if key in self._loaded:
            self._loaded.move_to_end(key)
            return self._loaded[key], version
        async with self._lock:
            if key not in self._loaded:
                self._loaded[key] = await self._load(app_id, version)
                if len(self._loaded) > CATALOGUE_SIZE:
                    self._loaded.popitem(last=False)
        return self._loaded[key], version

    async def _load(self, app_id: str, version: int) -> AppDefinition:
        target = self.folder / app_id / str(version)
        if not target.is_dir():
            async with self.database.transaction() as session:
                row = await session.get(AppVersion, (app_id, version))
            if row is None:
                raise NotFound(f"No version {version} of app {app_id} is deployed.", code="app_not_found")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                await asyncio.to_thread(unpack, row.archive, target)
            except OSError:
                if not target.is_dir():  # another process unpacked it first: theirs is the same bytes
                    raise
        return await asyncio.to_thread(load_app, target)


_catalogues: weakref.WeakSet[AppCatalogue] = weakref.WeakSet()


def _forget_newest_versions() -> None:
    for catalogue in list(_catalogues):
        catalogue.forget_newest_versions()


cache_invalidation.on_change(APPS_TOPIC, _forget_newest_versions)
