import re

from starlette.routing import Match

from felles.core.routing import _FirstSegmentGatedRouter


def _scope(path: str, method: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def _gated_routers(app) -> list[_FirstSegmentGatedRouter]:
    return [route for route in app.router.routes if isinstance(route, _FirstSegmentGatedRouter)]


def test_every_component_route_still_matches_through_its_gate(app):
    gated = _gated_routers(app)
    assert len(gated) >= 6, "each component router is included behind a first-segment gate"
    checked = 0
    for router in gated:
        for context in router.effective_route_contexts():
            path = re.sub(r"\{[^}]+\}", "x", context.path)
            method = sorted(context.methods or {"GET"})[0]
            assert router.matches(_scope(path, method))[0] is not Match.NONE, (context.path, method)
            checked += 1
    assert checked > 100


def test_a_gate_declines_other_components_paths_without_trying_its_routes(app):
    authorization = next(router for router in _gated_routers(app) if "authorization" in router.first_segments)
    assert authorization.matches(_scope("/rest/v1/person", "GET")) == (Match.NONE, {})
    assert authorization.matches(_scope("/authorization/api/v1/authorize", "POST"))[0] is Match.FULL


async def test_requests_reach_routes_behind_later_gates_and_unknown_paths_stay_problems(client):
    assert (await client.get("/events/api/v1/subscriptions")).status_code == 401
    missing = await client.get("/events/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
