"""Repeating-group rows keep their `altinnRowId` across saves (stored as an XML attribute, as Altinn's models keep
it): a new row gets one, an existing one keeps its own, and it is served only when asked for."""

from __future__ import annotations

import json

import xmlschema

from felles.apps import data
from felles.apps.definition import DataModelDefinition
from tests.conftest import REFERENCE

XSD = xmlschema.XMLSchema(str(REFERENCE / "altinn-apps/altinn-studio-signing-test/App/models/data.xsd"))
MODEL = DataModelDefinition("data", xsd=XSD)


def test_rows_get_ids_that_survive_storage_and_are_served_on_request() -> None:
    sent = {"form": {"name": "Kari", "sources": [{"type": "lonn", "altinnRowId": "kept"}, {"type": "trygd"}]}}
    saved = data.with_row_ids(data.decode_form_data(json.dumps(sent).encode(), "application/json", MODEL))
    stored, content_type = data.encode_form_data(saved, MODEL)
    assert content_type == "application/xml" and b'altinnRowId="kept"' in stored
    read_back = data.decode_form_data(stored, content_type, MODEL)
    ids = [row["altinnRowId"] for row in read_back["form"]["sources"]]
    assert ids[0] == "kept" and len(ids[1]) == 36 and read_back == saved
    assert data.with_row_ids(read_back) == read_back  # ids already given stay
    assert data.without_row_ids(read_back)["form"]["sources"] == [{"type": "lonn"}, {"type": "trygd"}]
