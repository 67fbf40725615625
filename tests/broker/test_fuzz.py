"""Schemathesis over the broker's API with transfers to find: generated requests, valid and invalid, against a
served app whose broker resource holds a published transfer between the demo organisations, whose ids (and the
resource's) are among the path values, called as the sender and as the recipient with the scopes each operation
names. None may answer 5xx; client errors are problems; answers conform to the documented schemas."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from felles.app import create_app
from felles.broker.api import rate_limits
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.openapi import component_descriptions
from felles.registers.population import seed_demo_personas
from felles.tables import metadata
from tests.broker.conftest import RECIPIENT, RESOURCE, SENDER, register_broker_resource
from tests.conftest import bearer, serve_app
from tests.test_api_fuzz import CHECKS

MAX_EXAMPLES = int(os.environ.get("FELLES_FUZZ_EXAMPLES", "25"))
SCHEMA = schemathesis.openapi.from_dict(component_descriptions()["broker"])
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
SEEDED: dict[str, list[Any]] = {"resourceId": [RESOURCE]}


@pytest.fixture(scope="module")
async def live_broker(tmp_path_factory, database_url) -> AsyncIterator[tuple[str, Settings]]:
    platform_settings = Settings(environment=Environment.TEST, data_dir=tmp_path_factory.mktemp("broker-fuzz"),
                                 database_url=database_url, secret_key="test-secret-key-not-for-production",
                                 log_json=False, log_level="WARNING")
    database = Database(database_url)
    await seed_demo_personas(database)
    await register_broker_resource(database)
    keys = PlatformKeys.load(platform_settings)
    sender = bearer(mint_development_token(keys, platform_settings, organization_number=SENDER,
                                           scopes=["altinn:broker.write", "altinn:broker.read"]))
    rate_limits.enabled = False  # the limits are Altinn's; here they would only hide the handlers
    try:
        with serve_app(create_app(platform_settings, run_worker=False)) as url:
            async with httpx.AsyncClient(base_url=url, headers=sender) as client:
                ids = []
                for _ in range(3):
                    created = await client.post("/broker/api/v1/filetransfer", json={
                        "fileName": "a.txt", "resourceId": RESOURCE, "sender": f"0192:{SENDER}",
                        "recipients": [f"0192:{RECIPIENT}"]})
                    ids.append(created.json()["fileTransferId"])
                await client.post(f"/broker/api/v1/filetransfer/{ids[0]}/upload", content=b"fuzz",
                                  headers={"Content-Type": "application/octet-stream"})
            SEEDED["fileTransferId"] = ids
            yield url, platform_settings
    finally:
        rate_limits.enabled = True
        async with database.transaction() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        await database.dispose()


def _callers(operation: schemathesis.APIOperation, platform_settings: Settings) -> list[dict[str, str]]:
    security = operation.definition.raw.get("security")
    if not security:
        return [{}]
    scopes = sorted({scope for requirement in security for scopes in requirement.values() for scope in scopes})
    keys = PlatformKeys.load(platform_settings)
    return [bearer(mint_development_token(keys, platform_settings, organization_number=organization, scopes=scopes))
            for organization in (SENDER, RECIPIENT)]


def _cases(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    seeded = {parameter.name: SEEDED[parameter.name] for parameter in operation.path_parameters
              if parameter.name in SEEDED}
    if seeded:
        strategies.append(st.fixed_dictionaries({name: st.sampled_from(values) for name, values in seeded.items()})
                          .flatmap(lambda values: operation.as_strategy(path_parameters=values)))
    return st.one_of(strategies)


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_the_broker_api_never_fails_or_breaks_its_schema(label, live_broker):
    url, platform_settings = live_broker
    operation = OPERATIONS[label]
    statuses: list[int] = []

    @given(case=_cases(operation), caller=st.sampled_from(_callers(operation, platform_settings)))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: schemathesis.Case, caller: dict[str, str]) -> None:
        case.headers = {**(case.headers or {}), **caller}
        response = case.call(base_url=url)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=caller)

    call()
    assert statuses and max(statuses) < 500
    print(f"\n{label}: {len(statuses)} requests, statuses {sorted(set(statuses))}")
