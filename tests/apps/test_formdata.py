from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from felles.apps.formdata import FormDataError, json_to_xml, xml_to_json

REFERENCE_APPS = (Path(__file__).resolve().parents[2] / "../shared/reference/altinn-apps").resolve()
SIGNING_XSD = xmlschema.XMLSchema(str(REFERENCE_APPS / "altinn-studio-signing-test/App/models/data.xsd"))


def test_stored_xml_becomes_typed_json_with_repeating_groups_as_lists() -> None:
    xml = (
        b"<?xml version='1.0' encoding='utf-8'?><data><form><name>Kari</name><orgNumber>0123</orgNumber>"
        b"<year>2024</year><income>1000</income><sources><type>lonn</type></sources></form></data>"
    )
    assert xml_to_json(xml, SIGNING_XSD) == {
        "form": {"name": "Kari", "orgNumber": "0123", "year": 2024, "income": 1000, "sources": [{"type": "lonn"}]}
    }


def test_json_becomes_xml_the_xsd_accepts_and_row_ids_are_attributes() -> None:
    data = {"form": {"name": "Kari", "orgNumber": "1", "year": 2024, "income": 7, "sources": [
        {"type": "a", "altinnRowId": "row-1"}
    ]}}  # fmt: skip
    xml = json_to_xml(data, SIGNING_XSD)
    assert b'<sources altinnRowId="row-1">' in xml  # as Altinn's C# models write it
    assert xml_to_json(xml, SIGNING_XSD)["form"]["sources"] == [{"altinnRowId": "row-1", "type": "a"}]
    without_ids = json_to_xml({"form": {**data["form"], "sources": [{"type": "a"}]}}, SIGNING_XSD)
    assert SIGNING_XSD.is_valid(without_ids.decode())


def test_unknown_fields_and_elements_are_refused() -> None:
    with pytest.raises(FormDataError, match="fields the model does not define: nickname"):
        json_to_xml({"form": {"name": "x", "nickname": "y"}}, SIGNING_XSD)
    with pytest.raises(FormDataError, match="root element <skjema> is not defined by the model"):
        xml_to_json(b"<skjema/>", SIGNING_XSD)
    with pytest.raises(FormDataError, match="line 1: invalid XML"):
        xml_to_json(b"<data>", SIGNING_XSD)


forms = st.fixed_dictionaries(
    {
        "name": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
        "orgNumber": st.from_regex(r"[0-9]{9}", fullmatch=True),
        "year": st.integers(-(2**63), 2**63 - 1),
        "income": st.integers(0, 10**12),
        "sources": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["lonn", "arv", "gave"])}), max_size=4),
    }
)


@given(forms)
def test_json_to_xml_and_back_gives_the_same_data(form: dict[str, Any]) -> None:
    assert xml_to_json(json_to_xml({"form": form}, SIGNING_XSD), SIGNING_XSD) == {"form": form}
