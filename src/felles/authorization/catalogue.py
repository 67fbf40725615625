"""The access-package catalogue (223 packages in 49 areas), the roles, which roles give which packages, and the
Enhetsregisteret → Altinn 2 role map.

The facts come from ``data/access_packages.json`` (derived from Altinn's own constants, see its ``source``),
are seeded into the database by ``seed_catalogue`` and read back once per process into a ``Catalogue``, the
form the information point uses.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from felles.authorization.models import AccessPackage, AccessPackageArea, AuthorizationRole, RoleMap, RolePackage
from felles.core.db import Database, insert_for

DATA_FILE = Path(__file__).with_name("data") / "access_packages.json"
PACKAGE_URN = "urn:altinn:accesspackage:"
# The Altinn 3 roles whose holder administers an organisation's access.
MAIN_ADMINISTRATOR_PACKAGE = "hovedadministrator"
ACCESS_MANAGER_PACKAGE = "tilgangsstyrer"
CLIENT_ADMINISTRATOR_PACKAGE = "klientadministrator"
PRIVATE_PERSON_ROLE = "privatperson"
CATALOGUE_TTL_SECONDS = 300.0


@cache
def reference_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def catalogue_rows() -> list[tuple[type, list[dict[str, Any]], list[str]]]:
    """Each table of the catalogue, with its rows from the reference data and the columns that name a row."""
    data = reference_data()
    roles = {r["code"] for r in data["roles"]}
    return [
        (AccessPackageArea, [{"urn": a["urn"], "code": a["code"], "group": a["group"], "name": a["name"],
                              "description": a["description"]} for a in data["areas"]], ["urn"]),
        (AccessPackage, [
            {"code": p["code"], "id": uuid.UUID(p["id"]), "area_urn": p["area"], "name": p["name"],
             "description": p["description"], "entity_type": p["entityType"], "provider": p["provider"],
             "is_delegable": p["isDelegable"], "is_assignable": p["isAssignable"],
             "is_available_for_service_owners": p["isAvailableForServiceOwners"]} for p in data["packages"]],
         ["code"]),
        (AuthorizationRole, [
            {"code": r["code"], "legacy_code": r["legacyCode"], "urn": r["urn"], "name": r["name"],
             "provider": r["provider"], "is_key_role": r["isKeyRole"]} for r in data["roles"]], ["code"]),
        (RolePackage, [
            {"role_code": role, "package_code": package, "organization_form": form or "", "has_access": access,
             "can_delegate": delegate}
            for role, package, form, access, delegate in data["rolePackages"] if role in roles],
         ["role_code", "package_code", "organization_form"]),
        (RoleMap, [{"role_code": role, "gets_role": gets} for role, gets in data["roleMap"] if role in roles],
         ["role_code", "gets_role"]),
    ]


async def seed_catalogue(database: Database) -> int:
    """Write the catalogue into the database (idempotent: rows already there are kept). Returns the number of
    packages in the catalogue."""
    async with database.transaction() as session:
        for table, rows, keys in catalogue_rows():
            await _insert_missing(session, table, rows, keys)
    _cached.clear()
    return len(reference_data()["packages"])


async def _insert_missing(session: AsyncSession, table: type, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if rows:
        # The rows as parameters of one statement, not written into it: compiling a statement with every row in it
        # cost more than running it.
        await session.execute(insert_for(session, table).on_conflict_do_nothing(index_elements=keys), rows)


@dataclass(frozen=True)
class PackageInfo:
    code: str
    area: str
    name: dict[str, str]
    entity_type: str
    is_delegable: bool
    is_assignable: bool

    @property
    def urn(self) -> str:
        return PACKAGE_URN + self.code


@dataclass
class Catalogue:
    """Roles and packages in the form decisions need: dictionaries, no queries."""

    packages: dict[str, PackageInfo] = field(default_factory=dict)
    # legacy code (dagl, regn, ffør ...) -> role code (daglig-leder ...)
    role_by_legacy_code: dict[str, str] = field(default_factory=dict)
    legacy_code_of: dict[str, str] = field(default_factory=dict)
    key_roles: frozenset[str] = frozenset()
    # role code -> Altinn 2 role codes it implies
    implied_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    # role code -> [(package, organisation form or "", has access, can delegate)]
    role_packages: dict[str, list[tuple[str, str, bool, bool]]] = field(default_factory=dict)

    def er_role(self, er_code: str) -> str | None:
        """Enhetsregisteret's code (``DAGL``) → the catalogue's role (``daglig-leder``)."""
        return self.role_by_legacy_code.get(er_code.lower())

    def packages_of_role(self, role: str, organization_form: str | None) -> tuple[set[str], set[str]]:
        """(packages the role gives access to, packages it lets its holder delegate) for an organisation form."""
        access: set[str] = set()
        delegate: set[str] = set()
        for package, form, has_access, can_delegate in self.role_packages.get(role, ()):
            if form and form != (organization_form or ""):
                continue
            if has_access:
                access.add(package)
            if can_delegate:
                delegate.add(package)
        return access, delegate


_cached: dict[str, tuple[float, Catalogue]] = {}


def forget() -> None:
    """Read the catalogue from the database again on next use."""
    _cached.clear()


_loading = asyncio.Lock()


async def load_catalogue(database: Database) -> Catalogue:
    """The catalogue as stored, read once per process (and again after ``CATALOGUE_TTL_SECONDS``); seeded
    from the reference data the first time if the database has none."""
    hit = _cached.get(database.url)
    if hit is not None and time.monotonic() - hit[0] < CATALOGUE_TTL_SECONDS:
        return hit[1]
    async with _loading:
        hit = _cached.get(database.url)
        if hit is not None and time.monotonic() - hit[0] < CATALOGUE_TTL_SECONDS:
            return hit[1]
        return await _load(database)


async def _load(database: Database) -> Catalogue:
    async with database.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(AccessPackage))
    if not count:
        await seed_catalogue(database)
    catalogue = Catalogue()
    async with database.transaction() as session:
        for package in await session.scalars(select(AccessPackage)):
            catalogue.packages[package.code] = PackageInfo(package.code, package.area_urn, package.name,
                                                           package.entity_type, package.is_delegable,
                                                           package.is_assignable)
        key_roles = set()
        for role in await session.scalars(select(AuthorizationRole)):
            if role.legacy_code:
                catalogue.role_by_legacy_code[role.legacy_code] = role.code
                catalogue.legacy_code_of[role.code] = role.legacy_code
            if role.is_key_role:
                key_roles.add(role.code)
        catalogue.key_roles = frozenset(key_roles)
        implied: dict[str, set[str]] = defaultdict(set)
        for row in await session.scalars(select(RoleMap)):
            implied[row.role_code].add(row.gets_role)
        catalogue.implied_roles = {k: frozenset(v) for k, v in implied.items()}
        packages: dict[str, list[tuple[str, str, bool, bool]]] = defaultdict(list)
        for rp in await session.scalars(select(RolePackage)):
            packages[rp.role_code].append((rp.package_code, rp.organization_form, rp.has_access, rp.can_delegate))
        catalogue.role_packages = dict(packages)
    _cached[database.url] = (time.monotonic(), catalogue)
    return catalogue
