import pytest
from hypothesis import given
from hypothesis import strategies as st

from felles.core.errors import InvalidInput
from felles.core.ids import uuid7
from felles.core.paging import ContinuationTokens


async def test_unknown_paths_and_methods_are_problem_documents_with_a_request_id(client):
    response = await client.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["code"] == "not_found" and body["instance"] == "/no/such/path"
    assert body["requestId"] == response.headers["x-request-id"]
    wrong_method = await client.delete("/health/live")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


async def test_malformed_json_is_a_validation_problem_not_a_crash(client, token):
    access = token(scopes=["krr:global/kontaktinformasjon.read"], org="991825827")
    response = await client.post("/rest/v2/personer", content=b"{not json",
                                 headers={"Authorization": f"Bearer {access}", "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed" and response.json()["errors"]


async def test_a_nul_character_is_a_client_error_on_either_database(client, token):
    reader = {"Authorization": f"Bearer {token(scopes=['folkeregister:deling/offentligmedhjemmel'], org='974760673')}"}
    in_query = await client.get("/folkeregisteret/api/v1/personer", params={"navn": "Kari\x00"}, headers=reader)
    assert in_query.status_code == 400 and in_query.json()["code"] == "invalid_character"
    assert in_query.headers["content-type"] == "application/problem+json"
    writer = {"Authorization": f"Bearer {token(scopes=['felles:folkeregisteret.write'], org='974760673')}"}
    in_body = await client.post("/folkeregisteret/api/v1/personer", headers=writer, json={
        "navn": {"fornavn": "No\x00ra", "etternavn": "Nordmann"}, "foedselsdato": "2026-01-01", "kjoenn": "kvinne"})
    # Refused before the database sees it: SQLite would store it, PostgreSQL cannot; both answer alike.
    assert in_body.status_code == 400 and in_body.json()["code"] == "invalid_character"
    assert in_body.headers["content-type"] == "application/problem+json"


async def test_a_client_request_id_is_echoed_and_a_bad_one_replaced(client):
    good = await client.get("/health/live", headers={"x-request-id": "trace-123"})
    assert good.headers["x-request-id"] == "trace-123"
    bad = await client.get("/health/live", headers={"x-request-id": "bad id\twith spaces"})
    assert bad.headers["x-request-id"] != "bad id\twith spaces" and len(bad.headers["x-request-id"]) == 32


async def test_health_and_metrics(client):
    assert (await client.get("/health/live")).json() == {"status": "live"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = await client.get("/metrics")
    assert ('felles_http_requests_total{component="health",method="GET",route="/health/ready",status="200"}'
            in metrics.text)


def test_uuid7_is_time_ordered_and_versioned():
    ids = [uuid7() for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:10])


@given(st.lists(st.one_of(st.integers(), st.text(max_size=30)), max_size=4))
def test_continuation_tokens_round_trip(key):
    tokens = ContinuationTokens("secret")
    assert tokens.decode(tokens.encode(key)) == key


def test_a_forged_or_foreign_continuation_token_is_refused():
    token = ContinuationTokens("secret").encode(["2026-01-01", "x"])
    with pytest.raises(InvalidInput):
        ContinuationTokens("another secret").decode(token)
    with pytest.raises(InvalidInput):
        ContinuationTokens("secret").decode(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(InvalidInput):
        ContinuationTokens("secret").decode("%%%")
