"""Two processes on one database: a change of a policy, a delegation or a register made in one is seen by the
other's decisions long before its caches would expire (`core.cache_invalidation`: NOTIFY on PostgreSQL, the
version table on SQLite)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from felles.authorization import decision as decision_point
from felles.authorization import pip, service, service_delegations
from felles.authorization.schemas import PackageDelegationCreate
from felles.core import cache_invalidation
from felles.core.config import Environment, Settings
from felles.registers import service as registers
from tests.authorization.test_register_changes import ACTOR, LEADER, add_resource, decision, policy_for, request
from tests.authorization.world import ACME, OTHER_COMPANY, SKD, add_organizations, add_persons, person_number
from tests.conftest import bearer, free_listener

EMPLOYEE = person_number(date(1985, 3, 3), 7)
AUTHORIZE = "altinn:authorization/authorize"
WRITE = "altinn:resourceregistry/resource.write"
# Far below the caches' own lifetimes: a change seen within this time was announced, not expired.
SEEN_WITHIN_SECONDS = min(decision_point.POLICY_CACHE_SECONDS, pip.SUBJECT_CACHE_SECONDS) / 3


@pytest.fixture(scope="module")
def other_process(settings_for_module: Settings) -> Iterator[str]:
    """`felles serve` in its own process on the test database; yields its URL."""
    listener = free_listener()
    port = listener.getsockname()[1]
    listener.close()
    env = {**os.environ, "FELLES_DATABASE_URL": settings_for_module.database_url,
           "FELLES_DATA_DIR": str(settings_for_module.data_dir), "FELLES_SECRET_KEY": settings_for_module.secret_key,
           "FELLES_ENVIRONMENT": settings_for_module.environment.value, "FELLES_LOG_LEVEL": "WARNING",
           # One platform behind one address: both processes give out and take the same issuers.
           "FELLES_BASE_URL": settings_for_module.base_url}
    server = subprocess.Popen([sys.executable, "-m", "felles.cli", "serve", "--port", str(port), "--no-job-worker",
                               "--no-migrate"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the other process did not start serving")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope="module")
def settings_for_module(data_dir: Path, database_url: str) -> Settings:
    """The test settings (``settings`` is per test; the other process lives for the module)."""
    return Settings(environment=Environment.TEST, data_dir=data_dir, database_url=database_url,
                    secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING")


async def other_decides(url: str, token, body: dict) -> str:
    async with httpx.AsyncClient(base_url=url, headers=bearer(token(scopes=[AUTHORIZE], org=SKD))) as client:
        response = await client.post("/authorization/api/v1/authorize", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["Response"][0]["Decision"])


async def other_decides_within(url: str, token, body: dict, expected: str) -> str:
    """The other process's decision once it is ``expected``, or the last one after ``SEEN_WITHIN_SECONDS``."""
    deadline = time.monotonic() + SEEN_WITHIN_SECONDS
    while True:
        seen = await other_decides(url, token, body)
        if seen == expected or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.1)


async def test_the_other_process_sees_role_policy_and_delegation_changes(database, token, other_process):
    await add_organizations(database, (ACME, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)), (EMPLOYEE, date(1985, 3, 3)))
    await add_resource(database, "employment", "ansettelsesforhold")
    leader, employee = (request(person, "urn:altinn:organization:identifier-no", ACME, "employment")
                        for person in (LEADER, EMPLOYEE))
    # The other process caches the policy and both subjects' (empty) access.
    assert await other_decides(other_process, token, leader) == "NotApplicable"
    assert await other_decides(other_process, token, employee) == "NotApplicable"

    await registers.register_role(database, ACTOR, ACME, "DAGL", person=LEADER)
    assert await other_decides_within(other_process, token, leader, "Permit") == "Permit"

    await service_delegations.delegate_package(database, ACTOR, LEADER, PackageDelegationCreate(
        party=ACME, to=EMPLOYEE, package="urn:altinn:accesspackage:ansettelsesforhold"))
    assert await other_decides_within(other_process, token, employee, "Permit") == "Permit"

    await service.put_policy(database, ACTOR, SKD, "employment", policy_for("employment", "regnskapsforer-lonn"))
    assert await other_decides_within(other_process, token, leader, "NotApplicable") == "NotApplicable"


async def test_this_process_sees_a_policy_changed_by_the_other(database, token, other_process):
    await add_organizations(database, (OTHER_COMPANY, "AS", None))
    await add_persons(database, (LEADER, date(1970, 5, 17)))
    await registers.register_role(database, ACTOR, OTHER_COMPANY, "DAGL", person=LEADER)
    await add_resource(database, "salary", "regnskapsforer-lonn")
    body = request(LEADER, "urn:altinn:organization:identifier-no", OTHER_COMPANY, "salary")
    async with cache_invalidation.listen(database):
        assert await decision(database, body) == "NotApplicable"  # cached here
        owner = bearer(token(scopes=[WRITE], org=SKD))
        async with httpx.AsyncClient(base_url=other_process, headers=owner) as client:
            response = await client.put("/resourceregistry/api/v1/resource/salary/policy",
                                        content=policy_for("salary", "ansettelsesforhold"),
                                        headers={"Content-Type": "application/xml"})
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + SEEN_WITHIN_SECONDS
        while True:
            seen = await decision(database, body)
            if seen == "Permit" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert seen == "Permit"
