"""The reader of app-lib's recorded exchanges and the shape comparison the replay judges Felles's answers by."""

from __future__ import annotations

import pytest

from tests.apps.compat.recorded import Exchange, Scrubber, VerifyTextError, differences, parse_verified
from tests.apps.compat.test_recorded_exchanges import RECORDED, recorded_snapshots


def test_every_replayed_snapshot_reads_as_an_exchange() -> None:
    exchanges = [Exchange.read(path) for path in recorded_snapshots()]
    assert {exchange.method for exchange in exchanges} == {"GET", "POST", "PATCH", "PUT"}
    assert {exchange.status for exchange in exchanges} >= {200, 201, 400}
    instantiation = next(e for e in exchanges if e.name.endswith("User_testCase=SimplifiedNoPrefill_0_Instantiation"))
    assert instantiation.request_uri == "http://local.altinn.cloud:<localtestPort>/ttd/basic/instances/create"
    assert instantiation.location == "https://local.altinn.cloud:<localtestPort>/ttd/basic/instances/501337/<instanceGuid>"
    assert instantiation.body["Process"]["CurrentTask"]["AltinnTaskType"] == "data"
    assert instantiation.body["Data"][0]["SelfLinks"]["Platform"].startswith("https://platform.local.altinn.cloud/")


def test_a_plain_text_answer_and_a_missing_body_are_told_apart() -> None:
    rejected = Exchange.read(RECORDED / "BasicAppTests.Full_auth=User_testCase=MultipartJsonPrefill_0_Instantiation"
                             ".verified.txt")
    assert rejected.status == 400 and rejected.body.startswith("Error when comparing content")
    pdf = Exchange.read(RECORDED / "BasicAppTests.Full_auth=User_testCase=MultipartNoPrefill_6_Download-PDF"
                        ".verified.txt")
    assert (pdf.content_type, pdf.has_body) == ("application/pdf", False)


def test_a_text_that_is_not_a_snapshot_is_refused() -> None:
    with pytest.raises(VerifyTextError):
        parse_verified("[basic/default] [INFO] a log line")
    with pytest.raises(VerifyTextError):
        parse_verified("{\n  Open: {\n    Key: value\n")


def test_properties_compare_without_case_and_extra_ones_are_no_difference() -> None:
    recorded = {"Id": "501337/<instanceGuid>", "Process": {"StartEvent": "StartEvent_1"}, "Data": [{"Size": "146"}]}
    answer = {"id": "501337/<instanceGuid>", "process": {"startEvent": "StartEvent_1", "extra": 1},
              "data": [{"size": 99}], "title": None}
    assert differences(recorded, answer) == []


def test_a_missing_property_a_wrong_value_and_a_wrong_length_are_differences() -> None:
    recorded = {"AppId": "ttd/basic", "Status": {"IsArchived": "false"}, "Data": [{}, {}], "Gone": "x"}
    answer = {"appId": "ttd/other", "status": {"isArchived": False}, "data": [{}]}
    assert differences(recorded, answer) == [
        "$.appId: expected 'ttd/basic', got 'ttd/other'", "$.data: expected 2 items, got 1", "$.Gone: missing"]


def test_placeholders_take_any_value_of_their_kind() -> None:
    recorded = {"Created": "DateTime_1", "Id": "Guid_1", "Element": "Guid_2", "Size": "{Scrubbed}",
                "Data": {"ValueKind": "Object"}}
    answer = {"created": "2026-01-02T03:04:05Z", "id": "0190e1c2-0000-7000-8000-000000000001",
              "element": "<dataElementId[0]>", "size": 1, "data": {"property1": None}}
    assert differences(recorded, answer) == []
    other = {**answer, "created": "yesterday", "id": "not-a-guid", "data": []}
    assert differences(recorded, other) == [
        "$.created: expected a date-time (DateTime_1), got 'yesterday'",
        "$.id: expected a GUID (Guid_1), got 'not-a-guid'", "$.data: expected a JSON object, got a list"]


def test_a_null_in_a_recorded_json_document_matches_a_null_or_an_absent_property() -> None:
    assert differences({"property3": "null", "dataElementId": None}, {"property3": None}) == []


def test_the_scrubber_replaces_longer_values_first_and_short_ones_only_as_the_named_property() -> None:
    scrubber = Scrubber({"http://felles.test": "https://app", "http://felles.test/storage": "https://platform/storage",
                         "/1/": "/501337/"}, by_key={"partyId": {"1": "501337"}})
    assert scrubber.value({"links": ["http://felles.test/storage/1/x", "http://felles.test/x"],
                           "owner": {"partyId": 1}, "flow": 1, "name": "1"}) == {
        "links": ["https://platform/storage/501337/x", "https://app/x"], "owner": {"partyId": "501337"}, "flow": 1,
        "name": "1"}
