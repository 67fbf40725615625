"""Prefill from an app's `.prefill.json`: the sources that apply fill their fields, `allowOverwrite` decides over
values already there, and values given at instantiation go in last."""

from __future__ import annotations

from felles.apps.definition import load_app
from felles.apps.prefill import PrefillSources, apply_prefill
from tests.conftest import REFERENCE

ORGANIZATION = PrefillSources(er={"OrgNumber": "309999908", "Name": "Fjordkraft Demo AS"},
                              user_profile={"Email": "ingrid@eksempel.no"})


def test_the_signing_apps_prefill_file_fills_the_organisation_fields() -> None:
    app = load_app(REFERENCE / "altinn-apps" / "altinn-studio-signing-test")
    config = app.models["data"].prefill
    assert config is not None
    filled = apply_prefill({"form": {}}, config, ORGANIZATION)
    assert filled == {"form": {"name": "Fjordkraft Demo AS", "orgNumber": "309999908"}}


def test_a_source_that_does_not_apply_is_skipped() -> None:
    config = {"ER": {"Name": "org.name"}, "DSF": {"SSN": "person.ssn", "FirstName": "person.first"}}
    person = PrefillSources(dsf={"SSN": "12838404268", "FirstName": "Kari"})
    assert apply_prefill({}, config, person) == {"person": {"ssn": "12838404268", "first": "Kari"}}


def test_existing_values_are_kept_unless_overwriting_is_allowed() -> None:
    config = {"DSF": {"FirstName": "name"}}
    person = PrefillSources(dsf={"FirstName": "Kari"})
    original = {"name": "Written by hand"}
    assert apply_prefill(original, config, person) == {"name": "Written by hand"}
    assert apply_prefill(original, {**config, "allowOverwrite": True}, person) == {"name": "Kari"}
    assert original == {"name": "Written by hand"}  # the input is not changed


def test_rows_and_values_given_at_instantiation_are_filled() -> None:
    config = {"UserProfile": {"Email": "contacts[0].email"}}
    filled = apply_prefill({}, config, ORGANIZATION, extra={"contacts[1].email": "other@eksempel.no"})
    assert filled == {"contacts": [{"email": "ingrid@eksempel.no"}, {"email": "other@eksempel.no"}]}


def test_a_path_through_a_plain_value_fills_nothing() -> None:
    assert apply_prefill({"name": "x"}, {"DSF": {"SSN": "name.ssn"}}, PrefillSources(dsf={"SSN": "1"})) == \
        {"name": "x"}
