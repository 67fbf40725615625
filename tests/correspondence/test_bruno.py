"""Altinn's Bruno collection for Correspondence, read from its .bru files and sent in the order a client makes the
calls: every body is accepted as Altinn accepts it (the multipart body sent to the JSON-only `/correspondence`
gets Altinn's 415, as ASP.NET's `[FromBody]` answers it)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from felles.core.clock import utcnow
from tests.conftest import REFERENCE, bearer
from tests.correspondence.conftest import COMPANY, KARI, READ, RESOURCE, run_jobs

BRUNO = REFERENCE / "api-specs/correspondence/bruno"
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")


def block(text: str, name: str) -> str | None:
    """The inside of a top-level `name {` ... `}` block of a .bru file."""
    match = re.search(rf"^{re.escape(name)} \{{\n(.*?)^\}}", text, re.DOTALL | re.MULTILINE)
    return match.group(1) if match else None


def request_of(path: Path, variables: dict[str, str]) -> dict[str, Any]:
    text = _VARIABLE.sub(lambda match: variables.get(match.group(1), match.group(0)), path.read_text())
    method = next(verb for verb in ("get", "post", "delete", "put") if block(text, verb) is not None)
    url = re.search(r"url: (\S+)", block(text, method) or "").group(1)  # type: ignore[union-attr]
    request: dict[str, Any] = {"method": method.upper(), "url": url.split("/correspondence/api", 1)[1],
                               "token": re.search(r"token: \{\{(\w+)\}\}", path.read_text()).group(1)}  # type: ignore[union-attr]
    if (body := block(text, "body:json")) is not None:
        request["json"] = json.loads(body)
    if (body := block(text, "body:multipart-form")) is not None:
        request["multipart"] = body
    if (body := block(text, "body:file")) is not None:
        request["file"] = (BRUNO / re.search(r"@file\((.*?)\)", body).group(1)).read_bytes()  # type: ignore[union-attr]
    return request


def multipart(body: str) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes]]]]:
    """Bruno's multipart lines (`name: value`, files as `@file(...)`, a JSON value as a `value: {...}` block)."""
    fields: dict[str, str] = {}
    files = []
    if "value: {" in body:  # one field whose value is a JSON document, and a file
        for name, value in re.findall(r"^  (\w+): \{\n    value: (.*?)\n    type: \w+\n  \}", body,
                                      re.DOTALL | re.MULTILINE):
            value = value.strip().removesuffix(",")
            if value.startswith("@file("):
                files.append(_file(name, value))
            else:
                fields[name] = value
        return fields, files
    for line in body.splitlines():
        name, _, value = line.strip().partition(": ")
        if not name or name == ":":
            continue
        if value.startswith("@file("):
            files.append(_file(name, value))
        else:
            fields[name] = value
    return fields, files


def _file(name: str, value: str) -> tuple[str, tuple[str, bytes]]:
    file = value.removeprefix("@file(").removesuffix(")").removeprefix("./")
    return name, (file, (BRUNO / file).read_bytes())


@pytest.fixture
def variables() -> dict[str, str]:
    now = utcnow()
    return {"correspondence_base_url": "http://felles.test", "base_url": "http://felles.test",
            "resource_id": RESOURCE, "recipient_orgnumber": COMPANY, "recipient_ssn": KARI.identifier,
            "requestedPublishTime": now.isoformat(), "dueDateTime": (now + timedelta(days=14)).isoformat()}


async def call(client, request: dict[str, Any], tokens: dict[str, dict[str, str]]):
    headers = tokens[request["token"]]
    if "multipart" in request:
        fields, files = multipart(request["multipart"])
        return await client.request(request["method"], "/correspondence/api" + request["url"], headers=headers,
                                    data=fields, files=files)
    if "file" in request:
        return await client.request(request["method"], "/correspondence/api" + request["url"], content=request["file"],
                                    headers={**headers, "Content-Type": "application/octet-stream"})
    return await client.request(request["method"], "/correspondence/api" + request["url"], headers=headers,
                                json=request.get("json"))


async def test_the_bruno_collection_in_client_order(client, database, resource, sender, token, variables,
                                                    job_settings):
    tokens = {"serviceowner_altinn_token": sender,
              # The recipient organisation's own system, reading its post.
              "recipient_altinn_token": bearer(token(scopes=READ, org=COMPANY))}
    passed = []

    async def bru(name: str, status: int = 200):
        response = await call(client, request_of(BRUNO / name, variables), tokens)
        assert response.status_code == status, (name, response.text)
        passed.append(name)
        return response

    await bru("Correspondence/Initialize.bru")
    await bru("Correspondence/Initialize and Upload.bru", 415)
    uploaded = await bru("Correspondence/Initialize and upload (form-data).bru")
    variables["correspondenceId"] = uploaded.json()["correspondences"][0]["correspondenceId"]
    await run_jobs(database)

    attachment = await bru("Attachment/Initialize batch attachment.bru")
    variables["attachment_id"] = attachment.json()
    upload = await bru("Attachment/Upload attachment.bru")
    variables["attachmentId"] = upload.json()["attachmentId"]
    await run_jobs(database)
    for name in ("Overview", "Details", "Download attachment"):
        await bru(f"Attachment/{name}.bru")
    await bru("Attachment/Purge.bru")

    overview = await bru("Correspondence/{correspondenceId}/Overview.bru")
    variables["attachment_id"] = overview.json()["content"]["attachments"][0]["id"]
    await bru("Correspondence/{correspondenceId}/Details.bru")
    await bru("Correspondence/{correspondenceId}/Read Content (as end user system).bru")
    await bru("Correspondence/{correspondenceId}/Download attachment (as end user system).bru")
    await bru("Correspondence/{correspondenceId}/Confirm (as end user system).bru")
    searched = await bru("Correspondence/Search (as end user).bru")
    assert variables["correspondenceId"] in searched.json()["ids"]
    await bru("Correspondence/{correspondenceId}/Purge (as end user system).bru")
    print(f"Bruno: {len(passed)} requests answered as Altinn answers them")
    assert len(passed) == 16


@pytest.mark.xfail(reason="forwarding a correspondence to an e-mail address is not built (issue #14 does not ask "
                          "for it)", strict=True)
async def test_forwarding_from_the_bruno_collection(client, database, resource, sender, token, variables,
                                                    job_settings):
    answer = await call(client, request_of(BRUNO / "Correspondence/Initialize.bru", variables),
                        {"serviceowner_altinn_token": sender})
    variables["correspondenceId"] = answer.json()["correspondences"][0]["correspondenceId"]
    await run_jobs(database)
    forward = request_of(BRUNO / "Correspondence/{correspondenceId}/Forward (as end user system).bru", variables)
    response = await call(client, forward, {"recipient_altinn_token": bearer(token(scopes=READ, org=COMPANY))})
    assert response.status_code == 200
