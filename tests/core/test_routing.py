import re

from starlette.routing import Match

from felles.core.routing import _GatedRouter


def _scope(path: str, method: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def _gated_routers(app) -> list[_GatedRouter]:
    return [route for route in app.router.routes if isinstance(route, _GatedRouter)]


def test_every_component_route_still_matches_through_its_gate(app):
    gated = _gated_routers(app)
    assert len([router for router in gated if router.first_segments]) >= 6, \
        "each component router is included behind a first-segment gate"
    checked = 0
    for router in gated:
        for context in router.effective_route_contexts():
            path = re.sub(r"\{[^}]+\}", "x", context.path)
            method = sorted(context.methods or {"GET"})[0]
            assert router.matches(_scope(path, method))[0] is not Match.NONE, (context.path, method)
            checked += 1
    assert checked > 100


def test_a_gate_declines_other_components_paths_without_trying_its_routes(app):
    authorization = next(router for router in _gated_routers(app) if "authorization" in (router.first_segments or ()))
    assert authorization.matches(_scope("/rest/v1/person", "GET")) == (Match.NONE, {})
    assert authorization.matches(_scope("/authorization/api/v1/authorize", "POST"))[0] is Match.FULL


async def test_requests_reach_routes_behind_later_gates_and_unknown_paths_stay_problems(client):
    assert (await client.get("/events/api/v1/subscriptions")).status_code == 401
    missing = await client.get("/events/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_the_app_apis_parts_are_gated_by_the_shapes_of_their_paths(app):
    """The app routes start with `/{org}/{app}`, so the apps router has no first-segment gate, but each of its
    parts declines a path that fits the shape of none of its routes, before trying them."""
    apps = next(router for router in _gated_routers(app) if router.first_segments is None
                and any(context.path.endswith("/process/next") for context in router.effective_route_contexts()))
    parts = [candidate for candidate in apps.effective_candidates() if isinstance(candidate, _GatedRouter)]
    data = "/ttd/app/instances/50001/0190a1b2-0000-7000-8000-000000000001/data/0190a1b2-0000-7000-8000-000000000002"
    serving = [part for part in parts if part.matches(_scope(data, "PUT"))[0] is Match.FULL]
    assert len(serving) == 1 and any(context.path.endswith("/data/{dataGuid}")
                                     for context in serving[0].effective_route_contexts())
    declined = [part for part in parts if part.matches(_scope(data, "PUT")) == (Match.NONE, {})]
    assert len(declined) >= len(parts) - 2
    assert apps.matches(_scope(data, "PUT"))[0] is Match.FULL
    assert apps.matches(_scope("/ttd/app/instances/50001/0190a1b2-0000-7000-8000-000000000001/nothing/here/at/all",
                               "GET")) == (Match.NONE, {})
