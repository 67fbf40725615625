"""Request bodies: limited in size per route, and JSON with a NUL character or deep nesting refused early."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import given
from hypothesis import strategies as st

from felles.core import body_limit
from felles.core.body_limit import DEFAULT_MAX_BODY_BYTES, MAX_JSON_DEPTH, json_nesting_exceeds
from tests.conftest import bearer

DECISION = "/authorization/api/v1/decision"
UPLOAD = "/test-upload/files"


@pytest.fixture
def upload_route(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """A route that reads a raw body as it streams (as an upload would), allowed 3 MB."""

    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    app.add_api_route(UPLOAD, upload, methods=["POST"])
    monkeypatch.setitem(body_limit._declared_limits, "/test-upload/", 3_000_000)
    return app


class Chunks:
    """A request body sent in chunks without a Content-Length; counts how many the server asked for."""

    def __init__(self, count: int, size: int = 100_000) -> None:
        self.count, self.size, self.sent = count, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.sent += 1
            yield b"x" * self.size


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "content_too_large"
    assert response.json()["requestId"] == response.headers["x-request-id"]


async def test_a_declared_length_over_the_limit_is_refused_before_the_route_runs(client, token):
    access = token(scopes=["altinn:authorization/authorize"], org="991825827")
    body = b'{"Request": {"x": "' + b"a" * DEFAULT_MAX_BODY_BYTES + b'"}}'
    response = await client.post(DECISION, content=body,
                                 headers={**bearer(access), "content-type": "application/json"})
    assert_too_large(response)


async def test_a_declared_length_over_the_limit_is_refused_also_without_a_token(client):
    response = await client.post(DECISION, content=b"x" * (DEFAULT_MAX_BODY_BYTES + 1),
                                 headers={"content-type": "application/octet-stream"})
    assert_too_large(response)


async def test_a_chunked_json_body_stops_being_read_at_the_limit(client):
    chunks = Chunks(count=100)  # 10 MB if it were all read
    response = await client.post(DECISION, content=chunks, headers={"content-type": "application/json"})
    assert_too_large(response)
    assert chunks.sent <= DEFAULT_MAX_BODY_BYTES // chunks.size + 1


async def test_a_route_that_declares_a_larger_limit_takes_a_larger_streamed_body(client, upload_route):
    two_megabytes = Chunks(count=20)
    response = await client.post(UPLOAD, content=two_megabytes, headers={"content-type": "application/octet-stream"})
    assert response.status_code == 200 and response.json() == {"size": 2_000_000}

    too_much = Chunks(count=100)
    response = await client.post(UPLOAD, content=too_much, headers={"content-type": "application/octet-stream"})
    assert_too_large(response)
    assert too_much.sent <= 31
    declared = await client.post(UPLOAD, content=b"x" * 3_000_001,
                                 headers={"content-type": "application/octet-stream"})
    assert_too_large(declared)


async def test_a_browser_gets_the_413_as_a_page(client):
    response = await client.post(DECISION, content=b"x" * (DEFAULT_MAX_BODY_BYTES + 1),
                                 headers={"content-type": "application/x-www-form-urlencoded",
                                          "accept": "text/html", "accept-language": "en"})
    assert response.status_code == 413 and response.headers["content-type"].startswith("text/html")
    assert "What you sent is too large" in response.text


async def test_json_nested_50000_deep_is_a_400_problem_not_a_crash(client, token):
    access = token(scopes=["altinn:authorization/authorize"], org="991825827")
    body = "[" * 50_000 + "]" * 50_000
    response = await client.post(DECISION, content=body,
                                 headers={**bearer(access), "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "json_too_deep"


@pytest.mark.parametrize("content_type", ["application/json", "application/cloudevents+json"])
async def test_a_nul_character_anywhere_in_a_json_body_is_refused(client, content_type):
    body = json.dumps({"a": [{"b": "x\x00y"}]})
    assert "\\u0000" in body
    response = await client.post("/events/api/v1/events", content=body, headers={"content-type": content_type})
    assert response.status_code == 400 and response.json()["code"] == "invalid_character"


async def test_an_escaped_backslash_before_u0000_is_no_nul_character(client):
    body = json.dumps({"text": "C:\\u0000"})  # a backslash, then the letters u0000
    assert "\\\\u0000" in body
    response = await client.post("/events/api/v1/events", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401  # on to the route, which wants a token


async def test_a_nul_character_in_a_form_post_is_refused(client):
    response = await client.post("/portal/login/callback", content=b"code=a%00b",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_character"


def test_nesting_is_counted_outside_strings_only():
    deep = MAX_JSON_DEPTH + 1
    assert json_nesting_exceeds(b"[" * deep + b"]" * deep, MAX_JSON_DEPTH)
    assert not json_nesting_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, MAX_JSON_DEPTH)
    in_string = json.dumps(["[{" * 1000, "\\\"[[[[", "]"]).encode()
    assert not json_nesting_exceeds(in_string, MAX_JSON_DEPTH)
    wide = json.dumps([{"a": [1]} for _ in range(1000)]).encode()
    assert not json_nesting_exceeds(wide, MAX_JSON_DEPTH)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
                    max_leaves=30),
       st.integers(min_value=1, max_value=6))
def test_nesting_agrees_with_the_document_depth(document, max_depth):
    def depth(value: object) -> int:
        if isinstance(value, list):
            return 1 + max((depth(item) for item in value), default=0)
        if isinstance(value, dict):
            return 1 + max((depth(item) for item in value.values()), default=0)
        return 0

    assert json_nesting_exceeds(json.dumps(document).encode(), max_depth) == (depth(document) > max_depth)
