"""Schemathesis against the registers' OpenAPI: generated requests, valid and invalid, must never produce a 5xx
or a response that breaks the documented schema.

Schemathesis's strategies are driven with Hypothesis directly (its pytest plugin does not work with pytest 9)."""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from felles.app import create_app
from felles.openapi import component_descriptions
from felles.registers.api import FOLKEREGISTER_READ_SCOPES, FOLKEREGISTER_WRITE_SCOPE
from felles.registers.population import seed_demo_personas
from tests.conftest import bearer, serve_app

SCHEMA = schemathesis.openapi.from_dict(component_descriptions()["registers"])
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
ALL_REGISTER_SCOPES = ["krr:global/kontaktinformasjon.read", "krr:global/digitalpost.read",
                       *FOLKEREGISTER_READ_SCOPES, FOLKEREGISTER_WRITE_SCOPE]


@pytest.fixture
async def seeded(database) -> None:
    await seed_demo_personas(database)


@pytest.fixture
def live_registers(settings, seeded) -> Iterator[str]:
    with serve_app(create_app(settings, run_worker=False)) as url:
        yield url


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_registers_api_never_fails_or_breaks_its_schema(label, live_registers, token):
    headers = bearer(token(scopes=ALL_REGISTER_SCOPES, org="991825827"))
    calls = []

    @given(case=OPERATIONS[label].as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case) -> None:
        response = case.call_and_validate(
            base_url=live_registers, headers=headers,
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )
        calls.append(response.status_code)

    call()
    assert calls, "no request was made"
