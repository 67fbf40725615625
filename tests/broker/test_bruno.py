"""The requests of Altinn Broker's own Bruno collection (reference/api-specs/broker/bruno), read from the .bru
files and sent as they are, bodies included, in the order a client makes them: service owner, resource, a file
transfer through initialize, upload, search, overview, details, download (whole and by range) and confirm, the
form-data upload, and the TUS smoke test. Each must get the status the collection's own tests expect (else a
2xx) and the properties they check (compared without regard to case: ASP.NET writes the resource's and the
service owner's properties PascalCase there, the OpenAPI camelCase; Felles follows the OpenAPI).

Requests to other systems (Maskinporten, the system register, the token exchange) are left out: they are not
the broker's. The monthly statistics request is sent on its own (its CSV's columns are Felles's: the reference
does not describe Altinn's)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.broker.conftest import RECIPIENT, RESOURCE, SENDER, SERVICE_OWNER
from tests.conftest import REFERENCE

BRUNO = REFERENCE / "api-specs" / "broker" / "bruno"
METHODS = ("get", "post", "put", "delete", "patch", "head", "options")
_BLOCK = re.compile(r"^([\w:-]+) \{\n(.*?)^\}", re.MULTILINE | re.DOTALL)
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")


@dataclass
class BrunoRequest:
    name: str
    method: str
    url: str
    body_kind: str
    token: str | None
    headers: dict[str, str] = field(default_factory=dict)
    json_body: str | None = None
    form: list[tuple[str, str]] = field(default_factory=list)
    file: str | None = None
    expected_status: int | None = None
    expected_properties: list[str] = field(default_factory=list)


def _pairs(block: str) -> list[tuple[str, str]]:
    pairs = []
    for line in block.splitlines():
        key, _, value = line.strip().partition(":")
        if key:
            pairs.append((key.strip(), value.strip()))
    return pairs


def parse_bru(path: Path) -> BrunoRequest:
    """One .bru file's request: its method and URL, headers, bearer token variable, body and the expectations
    its `tests` block states (status code, properties)."""
    blocks = {name: text for name, text in _BLOCK.findall(path.read_text(encoding="utf-8"))}
    method = next(name for name in METHODS if name in blocks)
    request = dict(_pairs(blocks[method]))
    auth = dict(_pairs(blocks.get("auth:bearer", "")))
    found = BrunoRequest(name=dict(_pairs(blocks["meta"]))["name"], method=method.upper(), url=request["url"],
                         body_kind=request.get("body", "none"),
                         token=_VARIABLE.sub(r"\1", auth["token"]) if "token" in auth else None,
                         headers=dict(_pairs(blocks.get("headers", ""))))
    if "body:json" in blocks:
        found.json_body = "\n".join(line[2:] for line in blocks["body:json"].splitlines())
    found.form = _pairs(blocks.get("body:multipart-form", ""))
    if "body:file" in blocks:
        found.file = re.search(r"@file\(([^)]+)\)", blocks["body:file"]).group(1)  # type: ignore[union-attr]
    tests = blocks.get("tests", "")
    if status := re.search(r"getStatus\(\)\)\.to\.equal\((\d+)\)", tests):
        found.expected_status = int(status.group(1))
    found.expected_properties = re.findall(r"expect\(body\)\.to\.have\.property\('(\w+)'\)", tests)
    return found


class Collection:
    """Runs .bru requests against the app with the collection's variables, as Bruno's scripts set them."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, dict[str, str]]) -> None:
        self.client = client
        self.tokens = tokens
        self.variables = {"broker_base_url": "", "platform_base_url": "", "resource_id": RESOURCE,
                          "sender_orgnumber": SENDER, "recipient_orgnumber": RECIPIENT,
                          "serviceowner_orgnumber": SERVICE_OWNER}
        self.sent: list[str] = []

    def _fill(self, text: str) -> str:
        return _VARIABLE.sub(lambda found: self.variables[found.group(1)], text)

    async def send(self, relative: str, *, body: bytes | None = None, extra_headers: dict[str, str] | None = None,
                   ) -> httpx.Response:
        request = parse_bru(BRUNO / relative)
        headers = {name: self._fill(value) for name, value in request.headers.items()}
        headers.update(extra_headers or {})
        if request.token is not None:
            headers.update(self.tokens[request.token])
        kwargs: dict[str, Any] = {}
        if request.json_body is not None:
            kwargs["json"] = json.loads(self._fill(request.json_body))
        elif request.form:
            fields = [(name, self._fill(value)) for name, value in request.form if not value.startswith("@file(")]
            files = [(name, (Path(value[6:-1]).name, (BRUNO / value[6:-1]).read_bytes()))
                     for name, value in request.form if value.startswith("@file(")]
            kwargs["data"] = dict(fields)
            kwargs["files"] = files
        elif request.file is not None:
            kwargs["content"] = (BRUNO / request.file).read_bytes()
        elif body is not None:
            kwargs["content"] = body
        response = await self.client.request(request.method, self._fill(request.url), headers=headers, **kwargs)
        wanted = request.expected_status
        assert (response.status_code == wanted) if wanted else response.is_success, (
            f"{relative}: {response.status_code} {response.text}")
        if request.expected_properties:
            present = {key.lower() for key in response.json()}
            assert {name.lower() for name in request.expected_properties} <= present, (relative, response.text)
        self.sent.append(request.name)
        return response


async def test_the_bruno_collection_runs_against_felles(client, resource, token):
    tokens = {
        "systemprovider_token": {"Authorization": "Bearer " + token(scopes=["altinn:serviceowner"],
                                                                     org=SERVICE_OWNER)},
        "sender_token": {"Authorization": "Bearer " + token(scopes=["altinn:broker.write", "altinn:broker.read"],
                                                             org=SENDER)},
        "recipient_token": {"Authorization": "Bearer " + token(scopes=["altinn:broker.read"], org=RECIPIENT)},
    }
    bruno = Collection(client, tokens)
    await bruno.send("ServiceOwner/Configure service owner for Broker.bru")
    await bruno.send("ServiceOwner/Get service owner configuration.bru")
    await bruno.send("Resource/Configure resource for Broker.bru")
    await bruno.send("Resource/Get resource configuration.bru")

    initialized = await bruno.send("FileTransfer/Initialize.bru")
    bruno.variables["fileTransferId"] = initialized.json()["fileTransferId"]
    await bruno.send("FileTransfer/{fileTransferId}/Upload.bru")
    found = await bruno.send("FileTransfer/Search.bru")
    assert bruno.variables["fileTransferId"] in found.json()
    await bruno.send("FileTransfer/{fileTransferId}/Overview.bru")
    await bruno.send("FileTransfer/{fileTransferId}/Details.bru")
    whole = await bruno.send("FileTransfer/{fileTransferId}/Download.bru")
    assert whole.content == (BRUNO / "collection.bru").read_bytes()
    await bruno.send("FileTransfer/{fileTransferId}/Download with range.bru")
    await bruno.send("FileTransfer/{fileTransferId}/Confirm Download.bru")
    await bruno.send("FileTransfer/Initialize and upload (form-data).bru")

    # The TUS smoke test, after a new Initialize, with what its scripts compute (length, URL, offset, body).
    smoke = (BRUNO / "tus-smoke-test.txt").read_bytes()
    initialized = await bruno.send("FileTransfer/Initialize.bru")
    bruno.variables["fileTransferId"] = initialized.json()["fileTransferId"]
    await bruno.send("FileTransfer/TUS/OPTIONS.bru")
    bruno.variables["upload_length"] = str(len(smoke))
    created = await bruno.send("FileTransfer/TUS/Create upload.bru")
    bruno.variables["tus_upload_url"] = created.headers["location"].removeprefix("http://felles.test")
    head = await bruno.send("FileTransfer/TUS/Head upload.bru")
    assert head.headers["upload-offset"] == "0"
    chunk = await bruno.send("FileTransfer/TUS/Upload chunk.bru", body=smoke, extra_headers={
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0", "Tus-Resumable": "1.0.0"})
    assert chunk.headers["upload-offset"] == str(len(smoke))

    # Termination, on an upload left incomplete (as the collection says to use it).
    initialized = await bruno.send("FileTransfer/Initialize.bru")
    bruno.variables["fileTransferId"] = initialized.json()["fileTransferId"]
    created = await bruno.send("FileTransfer/TUS/Create upload.bru")
    bruno.variables["tus_upload_url"] = created.headers["location"].removeprefix("http://felles.test")
    await bruno.send("FileTransfer/TUS/Terminate upload.bru")
    print(f"\nBruno: {len(bruno.sent)} requests of Altinn's collection accepted")


async def test_the_monthly_statistics_request(client, resource, token):
    bruno = Collection(client, {"systemprovider_token": {
        "Authorization": "Bearer " + token(scopes=["altinn:serviceowner"], org=SERVICE_OWNER)}})
    answer = await bruno.send("ServiceOwner/Get statistics for Broker service.bru")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines()[0] == "resourceId,sender,recipient,fileTransfers,bytes,confirmedDownloads"
