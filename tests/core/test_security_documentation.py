"""Every operation that needs a token says so in the OpenAPI description (/docs shows the lock), naming the scopes
its `require_scope` accepts."""

from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from felles.app import create_app
from felles.core.tokens import ScopeRequirement, authenticate
from tests.conftest import bearer


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _token_routes(app) -> Iterator[tuple[str, str, list[tuple[str, ...]]]]:
    """(path, method, the scope alternatives of each ScopeRequirement) of every documented route needing a token."""
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = [dependency.call for dependency in _dependencies(route.dependant)]
        if authenticate in calls:
            requirements = [call.any_of for call in calls if isinstance(call, ScopeRequirement) and call.any_of]
            for method in route.methods:
                yield route.path_format, method.lower(), requirements


def test_every_operation_needing_a_token_declares_the_scopes_its_require_scope_accepts(settings):
    app = create_app(settings, run_worker=False)
    paths = app.openapi()["paths"]
    routes = list(_token_routes(app))
    assert len(routes) > 80
    scoped = 0
    for path, method, requirements in routes:
        operation = paths[path][method]
        security = operation.get("security")
        assert security, f"{method} {path} needs a token but declares no security requirement"
        documented = {frozenset(scopes) for requirement in security for scopes in requirement.values()}
        if not requirements:
            assert documented == {frozenset()}, f"{method} {path}"
            continue
        scoped += 1
        assert len(requirements) == 1, f"{method} {path} has several scope checks; extend this test"
        # Any one of the scopes suffices: one requirement per scope.
        assert documented == {frozenset({scope}) for scope in requirements[0]}, f"{method} {path}"
        for scope in requirements[0]:
            assert f"`{scope}`" in operation["description"], f"{method} {path} does not name {scope} in /docs"
    assert scoped > 40


async def test_docs_page_serves_the_scopes_in_the_openapi_it_loads(client):
    assert (await client.get("/docs")).status_code == 200
    operation = (await client.get("/openapi.json")).json()["paths"]["/events/api/v1/events"]["post"]
    assert {"HTTPBearer": ["altinn:events.publish"]} in operation["security"]
    assert {"HTTPBearer": ["altinn:events.publish.admin"]} in operation["security"]


async def test_a_persons_own_krr_entry_documents_its_user_scopes(client, token):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/rest/v1/person"]["get"]["security"] == [{"HTTPBearer": ["krr:user/kontaktinformasjon.read"]}]
    assert paths["/rest/v1/person"]["patch"]["security"] == [{"HTTPBearer": ["krr:user/kontaktinformasjon.write"]}]
    organization = await client.get("/rest/v1/person", headers=bearer(
        token(scopes=["krr:user/kontaktinformasjon.read"], org="991825827")))
    # KRR's own-entry API takes a person's ID-porten token only: an organisation's token is not one.
    assert organization.status_code == 401 and organization.json()["code"] == "invalid_token"
