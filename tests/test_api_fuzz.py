"""Schemathesis against every component's OpenAPI description: generated requests, valid and invalid, must never
produce a 5xx; a client error is `application/problem+json`; a response conforms to its documented schema and
content type.

Each operation is called with a token carrying the scopes its security requirement names (so that the requests
reach past the 401/403 into the handlers), as a person or as an organisation from the demo data, and path
parameters are sometimes the identifiers of seeded persons, organisations and clients (so that they reach past
the 404). The app API and Storage's instance paths are fuzzed over a deployed app (app-lib's testapp-basic) with an
instance of the daglig leder's, whose ids are among the path values. Schemathesis's strategies are driven with
Hypothesis directly (its pytest plugin does not work with pytest 9).
"""

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
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from felles.app import create_app
from felles.apps import deployment
from felles.authorization import schemas as authorization_schemas
from felles.authorization import service as authorization
from felles.authorization.catalogue import seed_catalogue
from felles.core.audit import Actor
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.errors import PROBLEM_MEDIA_TYPE
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.identity.cli import seed_demo_clients
from felles.openapi import component_descriptions
from felles.registers.population import DEMO_ACCOUNTING_FIRM, DEMO_COMPANY, DEMO_PERSONS, seed_demo_personas
from felles.tables import metadata
from tests.conftest import REFERENCE, bearer, serve_app

# Enough to reach every handler's main branches in CI (about two minutes per database); set FELLES_FUZZ_EXAMPLES
# higher for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("FELLES_FUZZ_EXAMPLES", "25"))
SCHEMAS = {component: schemathesis.openapi.from_dict(description)
           for component, description in component_descriptions().items()}
OPERATIONS = {f"{component} {result.ok().label}": result.ok()
              for component, schema in SCHEMAS.items() for result in schema.get_all_operations()}
DAILY_MANAGER = DEMO_PERSONS[4]  # Ingrid, daglig leder of the demo company
# A resource of the demo company, with Altinn's reference policy, and an access list of it.
RESOURCE = "ttd-accesspackage-resource"
RESOURCE_POLICY = REFERENCE / "altinn-authorization" / "pdp" / "resources" / f"{RESOURCE}.policy.xml"
OWNER_CODE = "demo"
ACCESS_LIST = "demo-list"
# Path parameters that name something the demo data holds.
SEEDED_PATH_VALUES = {
    "personidentifikator": [person.identifier for person in DEMO_PERSONS],
    "organisasjonsnummer": [DEMO_COMPANY, DEMO_ACCOUNTING_FIRM],
    "consumer_orgno": [DEMO_COMPANY],
    "supplier_orgno": [DEMO_ACCOUNTING_FIRM],
    "owner": [OWNER_CODE],
    "identifier": [RESOURCE, ACCESS_LIST],
    "client_id": ["demo-company-maskinporten", "felles-portal"],
    # The app deployed for the app API (its instance's ids are added once it is created).
    "org": ["ttd"],
    "app": ["basic"],
    "dataType": ["model", "attachment"],
    "data_type": ["model"],
    "model": ["model"],
    "layout_set_id": ["Task_1"],
    "language": ["nb"],
}
FUZZED_APP = REFERENCE / "altinn-app-api" / "testapp-basic"


@schemathesis.check
def client_errors_are_problems(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    if 400 <= response.status_code < 500 and media_type != PROBLEM_MEDIA_TYPE:
        raise Failure(operation=case.operation.label,
                      title="A client error is not application/problem+json",
                      message=f"{response.status_code} answered as {media_type!r}")


CHECKS = [not_a_server_error, client_errors_are_problems, response_schema_conformance, content_type_conformance]
# Identity endpoints whose protocol prescribes what they answer (see felles/identity/api.py): the OAuth endpoints
# answer RFC 6749/6750 JSON errors, which every OAuth client library expects; the browser endpoints answer with
# redirects and HTML pages.
OAUTH_ENDPOINTS = ("/token", "/par", "/token/introspect", "/token/revoke", "/userinfo")
BROWSER_ENDPOINTS = ("/authorize", "/logout")
# Delivery reports arrive as the mail server sends them: the text of a message.
schemathesis.serializer.alias("message/rfc822", "text/plain")
# An app is deployed as a zip archive: generated bytes.
schemathesis.serializer.alias("application/zip", "application/octet-stream")


def _checks(label: str) -> list[Any]:
    if not label.startswith("identity "):
        return CHECKS
    if label.endswith(OAUTH_ENDPOINTS):
        return [check for check in CHECKS if check is not client_errors_are_problems]
    if label.endswith(BROWSER_ENDPOINTS):
        return [not_a_server_error]
    return CHECKS


@pytest.fixture(scope="module")
async def live_platform(tmp_path_factory, database_url) -> AsyncIterator[tuple[str, Settings]]:
    """The whole platform served by uvicorn over the demo data, with an app deployed (in a data folder of its own,
    since deployed apps are kept per folder); the tables are emptied afterwards."""
    platform_settings = Settings(environment=Environment.TEST, data_dir=tmp_path_factory.mktemp("fuzz"),
                                 database_url=database_url, secret_key="test-secret-key-not-for-production",
                                 log_json=False, log_level="WARNING")
    database = Database(database_url)
    await seed_demo_personas(database)
    await seed_catalogue(database)
    await seed_demo_clients(database, platform_settings)
    await _seed_resource(database)
    await deployment.deploy_folder(database, FUZZED_APP, "test")
    try:
        with serve_app(create_app(platform_settings, run_worker=False)) as url:
            await _seed_instance(database, url, platform_settings)
            yield url, platform_settings
    finally:
        async with database.transaction() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        await database.dispose()


async def _seed_resource(database: Database) -> None:
    owner = Actor(f"organization:{DEMO_COMPANY}")
    # The demo company owns the fuzzed resource and access list as a registered service owner.
    await authorization.add_service_owner(database, Actor("system:test"), authorization_schemas.ServiceOwnerPublic(
        orgcode=OWNER_CODE, organization=DEMO_COMPANY, name={"nb": "Fjordkraft Demo AS"}))
    await authorization.create_resource(database, owner, DEMO_COMPANY, authorization_schemas.ServiceResource(
        identifier=RESOURCE, title={"nb": "Demo", "nn": "Demo", "en": "Demo"}, resourceType="GenericAccessResource",
        hasCompetentAuthority={"organization": DEMO_COMPANY, "orgcode": OWNER_CODE}))
    await authorization.put_policy(database, owner, DEMO_COMPANY, RESOURCE, RESOURCE_POLICY.read_bytes())
    await authorization.upsert_access_list(database, owner, DEMO_COMPANY, OWNER_CODE, ACCESS_LIST,
                                           authorization_schemas.AccessListCreate(name="Demo"))


async def _seed_instance(database: Database, url: str, platform_settings: Settings) -> None:
    """An instance of the deployed app for the daglig leder, made over the app API; its ids become path values."""
    party_id = (await authorization.party_of(database, DAILY_MANAGER.identifier)).party_id
    token = mint_development_token(PlatformKeys.load(platform_settings), platform_settings,
                                   person_identifier=DAILY_MANAGER.identifier, scopes=[])
    async with httpx.AsyncClient(base_url=url, headers=bearer(token), timeout=120) as client:
        created = await client.post("/ttd/basic/instances", params={"instanceOwnerPartyId": party_id})
        assert created.status_code == 201, created.text
        instance = created.json()
        # The first receipt of a data folder makes its PDF fonts (seconds, more than a fuzzed call may take).
        receipt = await client.get(f"/ttd/basic/instances/{instance['id']}/receipt")
        assert receipt.status_code == 200, receipt.text
    SEEDED_PATH_VALUES.update(
        instanceOwnerPartyId=[party_id], party_id=[party_id], instanceGuid=[instance["id"].split("/")[1]],
        dataGuid=[element["id"] for element in instance["data"]])


def _required_scopes(operation: schemathesis.APIOperation) -> list[str] | None:
    """Every scope any of the operation's security requirements names, or None for an operation without a token."""
    security = operation.definition.raw.get("security")
    if not security:
        return None
    return sorted({scope for requirement in security for scopes in requirement.values() for scope in scopes})


def _callers(operation: schemathesis.APIOperation, platform_settings: Settings) -> list[dict[str, str]]:
    """Headers of the callers to try: a person and an organisation, each with the operation's scopes."""
    scopes = _required_scopes(operation)
    if scopes is None:
        return [{}]
    keys = PlatformKeys.load(platform_settings)
    return [
        bearer(mint_development_token(keys, platform_settings, scopes=scopes, **principal))
        for principal in ({"person_identifier": DAILY_MANAGER.identifier},
                          {"organization_number": DEMO_COMPANY})
    ]


def _cases(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    seeded = {parameter.name: SEEDED_PATH_VALUES[parameter.name] for parameter in operation.path_parameters
              if parameter.name in SEEDED_PATH_VALUES}
    # A delete of the seeded data would leave the operations after it (in this order) nothing to find.
    if seeded and operation.method.upper() != "DELETE":
        strategies.append(st.fixed_dictionaries({name: st.sampled_from(values) for name, values in seeded.items()})
                          .flatmap(lambda values: operation.as_strategy(path_parameters=values)))
    return st.one_of(strategies)


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_api_never_fails_or_breaks_its_schema(label, live_platform):
    url, platform_settings = live_platform
    operation = OPERATIONS[label]
    statuses: list[int] = []
    checks = _checks(label)

    @given(case=_cases(operation), caller=st.sampled_from(_callers(operation, platform_settings)))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: schemathesis.Case, caller: dict[str, str]) -> None:
        # Schemathesis generates an Authorization header from the security scheme (a random "token"): replace it
        # with a real one, so that the request reaches the handler.
        case.headers = {**(case.headers or {}), **caller}
        response = case.call(base_url=url)
        statuses.append(response.status_code)
        case.validate_response(response, checks=checks, headers=caller)

    call()
    assert statuses, "no request was made"
