"""app-lib's recorded exchanges with `testapp-basic` (`reference/altinn-app-api/recorded/Basic`), replayed against
Felles: the app they were recorded with is deployed, the calls of app-lib's `BasicAppTests` are made in the same
order with the same bodies, and each answer must match its recording in status, media type and body shape once
Felles's ids are scrubbed to the recording's placeholders.

Every scenario runs once per module (`replay`); each recorded snapshot is then one test. A snapshot Felles cannot
match yet is a strict xfail whose reason names what is missing (a TODO for its owner): when it starts to pass, the
xfail fails, and the entry goes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from felles.app import create_app
from felles.apps import deployment
from felles.authorization import service as authorization
from felles.core.config import Environment, Settings
from felles.core.db import Database
from felles.core.errors import PROBLEM_MEDIA_TYPE
from felles.core.tokens import PlatformKeys, mint_development_token
from felles.registers.population import DEMO_PERSONS, seed_demo_personas
from felles.tables import metadata
from tests.apps.compat.recorded import Exchange, Scrubber, differences
from tests.conftest import REFERENCE, bearer, forget_cached_authorization

RECORDED = REFERENCE / "altinn-app-api" / "recorded" / "Basic"
TESTAPP = REFERENCE / "altinn-app-api" / "testapp-basic"
BASE_URL = "http://felles.test"
# Where app-lib's tests ran: the app behind localtest, and Storage on the platform's host.
RECORDED_APP_HOST = "https://local.altinn.cloud:<localtestPort>"
RECORDED_REQUEST_HOST = "http://local.altinn.cloud:<localtestPort>"
RECORDED_PLATFORM = "https://platform.local.altinn.cloud"
RECORDED_PARTY_ID = "501337"
RECORDED_PERSON_NUMBER = "01039012345"
SERVICE_OWNER_NUMBER = "405003309"  # ttd, the same organisation number in localtest and Felles
SERVICE_OWNER_SCOPES = ["altinn:serviceowner/instances.read", "altinn:serviceowner/instances.write"]
USER = DEMO_PERSONS[0]  # Kari stands in for localtest's user 1337 with party 501337

# Snapshots that record app-lib's test fixture, not the app API: they have no counterpart in Felles.
NOT_APP_API = {
    "BasicAppTests.Authentication_": "the test app's own endpoint that echoes how app-lib read the token",
    "BasicAppTests.AppConnectivity_": "the test app's own check that it reaches localtest and the PDF generator",
    "BasicAppTests.HostedServices": "the .NET hosted services of the test app's process",
    "_Logs": "the test app's log lines, not an HTTP exchange",
}
FULL = re.compile(r"^BasicAppTests\.Full_auth=(?P<auth>\w+)_testCase=(?P<case>\w+?)_(?P<step>\d+_.+)$")
UPLOAD = re.compile(r"^BasicAppTests\.DataUpload_filenameQuoted=(?P<quoted>\w+)_useNewEndpoint=(?P<new>\w+)_"
                    r"(?P<step>\d+_.+)$")

# What Felles does not match yet, by snapshot name (a regular expression searched in it) → why.
# Each entry is a TODO for the engineer named.
KNOWN_DIFFERENCES: dict[str, str] = {}


def recorded_snapshots() -> list[Path]:
    return sorted(path for path in RECORDED.glob("*.verified.txt")
                  if not any(marker in path.name for marker in NOT_APP_API))


def _param(path: Path) -> Any:
    name = path.name.removesuffix(".verified.txt")
    reasons = [reason for pattern, reason in KNOWN_DIFFERENCES.items() if re.search(pattern, name)]
    marks = [pytest.mark.xfail(strict=True, reason=reasons[0])] if reasons else []
    return pytest.param(path, id=name.removeprefix("BasicAppTests."), marks=marks)


@dataclass
class Observed:
    """Felles's answer to one replayed call, scrubbed to the recording's placeholders."""

    request_uri: str
    status: int
    media_type: str
    location: str | None
    body: Any  # JSON, or the text of a non-JSON answer
    scrubber: Scrubber


@dataclass
class NotReached:
    """A call the replay could not make, because an earlier one failed."""

    reason: str


@dataclass
class Identity:
    """The person and the service owner the replay calls as, and the values that differ from localtest's."""

    party_id: int
    person_number: str
    user_token: str
    service_owner_token: str

    def token(self, auth: str) -> str:
        # app-lib's old and new token formats are one format in Felles: Altinn tokens for persons, Maskinporten
        # tokens for service owners.
        return self.user_token if auth.endswith("User") else self.service_owner_token


@dataclass
class Replay:
    http: httpx.AsyncClient
    identity: Identity
    observed: dict[str, Observed | NotReached] = field(default_factory=dict)

    def scrubber(self, instance: dict[str, Any] | None) -> Scrubber:
        """app-lib's `InstanceStringScrubber` of `instance`, with Felles's host, party and person for localtest's."""
        party = str(self.identity.party_id)
        replacements = {
            f"{BASE_URL}/storage/api/v1": f"{RECORDED_PLATFORM}/storage/api/v1", BASE_URL: RECORDED_APP_HOST,
            f"/{party}/": f"/{RECORDED_PARTY_ID}/", self.identity.person_number: RECORDED_PERSON_NUMBER,
        }
        if instance is not None:
            guid = str(instance["id"]).split("/")[1]
            replacements[guid] = "<instanceGuid>"
            replacements[f"{party}/{guid}"] = f"{RECORDED_PARTY_ID}/<instanceGuid>"
            for index, element in enumerate(instance.get("data") or []):
                replacements[str(element["id"])] = f"<dataElementId[{index}]>"
        return Scrubber(replacements, by_key={"partyId": {party: RECORDED_PARTY_ID}})

    async def call(self, name: str, method: str, path: str, scrubber: Scrubber, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        self.observe(name, response, scrubber)
        return response

    def observe(self, name: str, response: httpx.Response, scrubber: Scrubber) -> None:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        body: Any = response.text
        if media_type.endswith("json"):
            body = json.loads(response.text or "null")
        request_uri = scrubber.text(str(response.request.url)).replace(RECORDED_APP_HOST, RECORDED_REQUEST_HOST)
        location = response.headers.get("location")
        self.observed[name] = Observed(request_uri, response.status_code, media_type,
                                       scrubber.text(location) if location else None, scrubber.value(body), scrubber)

    def not_reached(self, names: list[str], reason: str) -> None:
        for name in names:
            self.observed.setdefault(name, NotReached(reason))


def _ok(response: httpx.Response) -> bool:
    return response.is_success and response.headers.get("content-type", "").startswith("application/json")


def _instance_owner(party_id: int) -> dict[str, Any]:
    """The instance owner as app-lib's tests write it (System.Text.Json's web defaults keep the nulls)."""
    return {"partyId": str(party_id), "personNumber": None, "organisationNumber": None, "username": None}


class FullScenario:
    """`BasicAppTests.Full`: instantiate, download, patch the form data, move the process on, download again."""

    STEPS = ("0_Instantiation", "1_Download-Data[0]", "2_PatchFormData", "3_ProcessNext", "4_Download-Instance",
             "5_Download-Data[0]", "6_Download-PDF")

    def __init__(self, replay: Replay, auth: str, case: str) -> None:
        self.replay, self.auth, self.case = replay, auth, case
        self.prefix = f"BasicAppTests.Full_auth={auth}_testCase={case}_"
        self.headers = bearer(replay.identity.token(auth))
        self.owner = _instance_owner(replay.identity.party_id)
        self.counter = 0

    def _name(self, snapshot: str) -> str:
        name = f"{self.prefix}{self.counter}_{snapshot}"
        self.counter += 1
        return name

    async def run(self) -> None:
        replay = self.replay
        created = await self._create()
        if not _ok(created):
            replay.not_reached([self.prefix + step for step in self.STEPS[1:]],
                               f"the instantiation answered {created.status_code}")
            return
        instance = created.json()
        await self._download(instance, skip_instance=True)
        if self.case == "MultipartJsonPrefill":
            return  # app-lib's test stops here: the app's model allows no application/json
        scrubber = replay.scrubber(instance)
        base = f"/ttd/basic/instances/{instance['id']}"
        element = next(item for item in instance["data"] if item["dataType"] == "model")
        initial = "1" if self.case.endswith(("WithPrefill", "XmlPrefill")) else None
        self.counter = 2
        await replay.call(self._name("PatchFormData"), "PATCH", f"{base}/data", scrubber, headers=self.headers,
                          json={"patches": [{"dataElementId": element["id"], "patch": [
                              {"op": "test", "path": "/property1", "value": initial},
                              {"op": "replace", "path": "/property1", "value": "2"},
                              {"op": "replace", "path": "/property2", "value": "2"},
                          ]}], "ignoredValidators": None})
        await replay.call(self._name("ProcessNext"), "PUT", f"{base}/process/next", scrubber, headers=self.headers)
        await self._download(instance, skip_instance=False)

    async def _create(self) -> httpx.Response:
        replay, name = self.replay, self._name("Instantiation")
        no_scrubbing = replay.scrubber(None)
        if self.case.startswith("Simplified"):
            body: dict[str, Any] = {"instanceOwner": self.owner, "dueBefore": None, "visibleAfter": None,
                                    "prefill": {"property1": "1", "property2": "1"} if "WithPrefill" in self.case
                                    else None, "sourceInstanceId": None}
            response = await replay.http.post("/ttd/basic/instances/create", json=body, headers=self.headers)
        else:
            parts: dict[str, Any] = {"instance": (None, json.dumps({"instanceOwner": self.owner}),
                                                  "application/json; charset=utf-8")}
            if self.case == "MultipartJsonPrefill":
                parts["model"] = (None, '{"property1":"1","property2":"1"}', "application/json; charset=utf-8")
            elif self.case == "MultipartXmlPrefill":
                parts["model"] = (None, "<model><property1>1</property1><property2>1</property2></model>",
                                  "application/xml; charset=utf-8")
            response = await replay.http.post("/ttd/basic/instances", files=parts, headers=self.headers)
        replay.observe(name, response, replay.scrubber(response.json()) if _ok(response) else no_scrubbing)
        return response

    async def _download(self, created: dict[str, Any], *, skip_instance: bool) -> None:
        """app-lib's `InstanceDownload`: the instance, the app's data types, then each data element."""
        replay = self.replay
        later = [self.prefix + step for step in self.STEPS if int(step.split("_")[0]) >= self.counter]
        path = f"/ttd/basic/instances/{created['id']}"
        got = await replay.http.get(path, headers=self.headers)
        if not _ok(got):
            replay.not_reached(later, f"GET {path} answered {got.status_code}")
            return
        instance = got.json()
        scrubber = replay.scrubber(instance)
        if not skip_instance:
            replay.observe(self._name("Download-Instance"), got, scrubber)
        metadata_response = await replay.http.get("/ttd/basic/api/v1/applicationmetadata")
        if not _ok(metadata_response):
            replay.not_reached(later, f"GET applicationmetadata answered {metadata_response.status_code}")
            return
        data_types = {item["id"]: item for item in metadata_response.json()["dataTypes"]}
        for index, element in enumerate(instance["data"]):
            form = (data_types[element["dataType"]].get("appLogic") or {}).get("classRef") is not None
            snapshot = "Download-PDF" if element["dataType"] == "ref-data-as-pdf" else f"Download-Data[{index}]"
            await replay.call(self._name(snapshot), "GET", f"{path}/data/{element['id']}", scrubber,
                              headers={**self.headers,
                                       "Accept": "application/json" if form else "application/octet-stream"})


async def upload_scenario(replay: Replay, quoted: bool, new_endpoint: bool) -> None:
    """`BasicAppTests.DataUpload`: a PDF attachment with a file name with spaces, quoted or not, to the old
    (`data?dataType=`) or the new (`data/type/{dataType}`) endpoint."""
    name = f"BasicAppTests.DataUpload_filenameQuoted={quoted}_useNewEndpoint={new_endpoint}_0_UploadResponse"
    headers = bearer(replay.identity.user_token)
    created = await replay.http.post("/ttd/basic/instances/create", headers=headers,
                                     json={"instanceOwner": _instance_owner(replay.identity.party_id)})
    if not _ok(created):
        replay.not_reached([name], f"the instantiation answered {created.status_code}")
        return
    path = f"/ttd/basic/instances/{created.json()['id']}"
    filename = '"Test Doc 2025.pdf"' if quoted else "Test Doc 2025.pdf"
    response = await replay.http.post(
        f"{path}/data/type/attachment" if new_endpoint else f"{path}/data?dataType=attachment",
        content=b"%PDF-1.4 fake pdf content",
        headers={**headers, "Content-Type": "application/pdf",
                 "Content-Disposition": f"attachment; filename={filename}"})
    updated = await replay.http.get(path, headers=headers)
    replay.observe(name, response, replay.scrubber(updated.json() if _ok(updated) else None))


async def _identity(database: Database, settings: Settings) -> Identity:
    await seed_demo_personas(database)
    party = await authorization.party_of(database, USER.identifier)
    keys = PlatformKeys.load(settings)
    return Identity(
        party_id=party.party_id, person_number=USER.identifier,
        user_token=mint_development_token(keys, settings, person_identifier=USER.identifier, scopes=[]),
        service_owner_token=mint_development_token(keys, settings, organization_number=SERVICE_OWNER_NUMBER,
                                                   scopes=SERVICE_OWNER_SCOPES),
    )


@pytest.fixture(scope="module")
async def replay(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> AsyncIterator[Replay]:
    """Every scenario of `BasicAppTests` run once against a Felles with testapp-basic deployed as `ttd/basic`."""
    settings = Settings(environment=Environment.TEST, data_dir=tmp_path_factory.mktemp("compat-recorded"),
                        database_url=database_url, base_url=BASE_URL,
                        secret_key="test-secret-key-not-for-production", log_json=False, log_level="WARNING")
    forget_cached_authorization()
    application = create_app(settings, run_worker=False)
    database: Database = application.state.runtime.database
    try:
        await deployment.deploy_folder(database, TESTAPP, "test")
        identity = await _identity(database, settings)
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            result = Replay(http, identity)
            for auth in ("OldUser", "User", "OldServiceOwner", "ServiceOwner"):
                for case in ("SimplifiedNoPrefill", "SimplifiedWithPrefill", "MultipartNoPrefill",
                             "MultipartJsonPrefill", "MultipartXmlPrefill"):
                    await FullScenario(result, auth, case).run()
            for quoted in (False, True):
                for new_endpoint in (False, True):
                    await upload_scenario(result, quoted, new_endpoint)
            yield result
    finally:
        async with database.transaction() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        await database.dispose()


def test_every_recorded_exchange_is_replayed_or_says_why_not() -> None:
    every = sorted(RECORDED.glob("*.verified.txt"))
    replayed = recorded_snapshots()
    assert all(FULL.match(path.name.removesuffix(".verified.txt")) or UPLOAD.match(path.name.removesuffix(
        ".verified.txt")) for path in replayed), "a recorded exchange no scenario of this module makes"
    excluded = set(every) - set(replayed)
    assert all(any(marker in path.name for marker in NOT_APP_API) for path in excluded)
    assert len(replayed) >= 100, f"only {len(replayed)} of {len(every)} snapshots replayed"


@pytest.mark.parametrize("snapshot", [_param(path) for path in recorded_snapshots()])
def test_felles_answers_as_the_recording(snapshot: Path, replay: Replay) -> None:
    recorded = Exchange.read(snapshot)
    observed = replay.observed.get(recorded.name)
    assert observed is not None, f"the replay made no call for {recorded.name}"
    assert not isinstance(observed, NotReached), f"not reached: {observed.reason}"
    assert (observed.status, observed.request_uri) == (recorded.status, recorded.request_uri), (
        f"{recorded.method} {recorded.request_uri}: recorded {recorded.status}, Felles answered {observed.status} "
        f"to {observed.request_uri}: {str(observed.body)[:500]}")
    if recorded.status >= 400:
        # Felles answers every client error as a problem (app-lib answers some as plain text).
        assert observed.media_type == PROBLEM_MEDIA_TYPE, observed.media_type
        if isinstance(recorded.body, str) and recorded.body.startswith("{"):
            # Its wording is app-lib's; what a client acts on is which issues it names.
            problem = {key: value for key, value in json.loads(recorded.body).items()
                       if key not in ("title", "detail", "status")}
            found = differences(problem, observed.body)
            assert not found, "\n".join(found)
        return
    assert observed.media_type == recorded.content_type
    if recorded.location is not None:
        assert observed.location == recorded.location
    expected = recorded.body
    if isinstance(expected, dict) and "ValidationIssues" in expected:
        # The validators recorded are testapp-basic's own C# code (and app-lib's DataAnnotations): an app's
        # issues come from Felles's validators instead, listed per source all the same.
        expected = {key: value for key, value in expected.items() if key != "ValidationIssues"}
        assert all(set(issues) >= {"source", "issues"} for issues in observed.body["validationIssues"])
    actual = observed.body
    if recorded.name.endswith("_Download-Instance"):
        actual = _without_the_pdf_downloaded_after(recorded, actual)
    if recorded.has_body:
        found = differences(expected, actual)
        assert not found, "\n".join(found)


def _without_the_pdf_downloaded_after(recorded: Exchange, instance: Any) -> Any:
    """The instance without the PDF element, where the recording lists the form data alone: the same recorded run
    downloads the PDF right after as `<dataElementId[1]>` (its Download-PDF snapshot), so the instance it read had
    it; app-lib's own later snapshot of this call (app-lib-dotnet 1363997d) lists both. The PDF element is checked
    to be there, and its download is compared by the Download-PDF snapshot."""
    pdf_snapshot = RECORDED / f"{recorded.name.rsplit('_4_', 1)[0]}_6_Download-PDF.verified.txt"
    if not pdf_snapshot.exists() or len(recorded.body.get("Data") or []) != 1:
        return instance
    assert Exchange.read(pdf_snapshot).request_uri.endswith("/data/<dataElementId[1]>")
    pdfs = [element for element in instance["data"] if element["dataType"] == "ref-data-as-pdf"]
    assert [element["id"] for element in pdfs] == ["<dataElementId[1]>"], instance["data"]
    return {**instance, "data": [element for element in instance["data"] if element not in pdfs]}
