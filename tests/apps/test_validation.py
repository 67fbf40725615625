from __future__ import annotations

from pathlib import Path

import xmlschema

from felles.apps.definition import load_app
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.layout import FormState, LayoutSet
from felles.apps.validation import (
    Severity,
    validate_expressions,
    validate_json_schema,
    validate_required,
    validate_xml,
)

REFERENCE_APPS = (Path(__file__).resolve().parents[2] / "../shared/reference/altinn-apps").resolve()


def test_json_schema_violations_name_the_field() -> None:
    app = load_app(REFERENCE_APPS / "app-lib-dotnet-basic")
    schema = app.models["model"].json_schema
    assert schema is not None
    issues = validate_json_schema({"property1": 5}, schema)
    assert {(i.field, i.code) for i in issues} == {("property1", "type"), ("property2", "required")}
    assert validate_json_schema({"property1": "a", "property2": "b"}, schema) == []


def test_xsd_violations_in_stored_xml_are_reported() -> None:
    schema = xmlschema.XMLSchema(str(REFERENCE_APPS / "altinn-studio-signing-test/App/models/data.xsd"))
    good = "<data><form><name>A</name><orgNumber>1</orgNumber><year>2024</year><income>5</income></form></data>"
    assert validate_xml(good, schema) == []
    issues = validate_xml(good.replace("<year>2024</year>", "<year>lots</year>"), schema)
    assert len(issues) == 1 and issues[0].field == "/data/form/year"


def test_required_fields_are_reported_only_when_visible() -> None:
    layouts = {
        "P": {
            "data": {
                "layout": [
                    {"id": "navn", "type": "Input", "required": True, "dataModelBindings": {"simpleBinding": "Navn"}},
                    {
                        "id": "alder",
                        "type": "Input",
                        "required": True,
                        "hidden": ["equals", ["dataModel", "Navn"], None],
                        "dataModelBindings": {"simpleBinding": "Alder"},
                    },
                ]
            }
        }
    }
    empty = FormState(LayoutSet.from_layouts(layouts), ExpressionContext(data=DataModels({"default": {}})))
    assert [(i.field, i.code, i.custom_text_key) for i in validate_required(empty)] == [
        ("Navn", "required", "backend.validation_errors.required")
    ]
    named = FormState(
        LayoutSet.from_layouts(layouts), ExpressionContext(data=DataModels({"default": {"Navn": "Kari"}}))
    )
    assert [i.field for i in validate_required(named)] == ["Alder"]


def test_expression_validations_run_per_row_with_the_field_as_argv() -> None:
    rules = {
        "validations": {
            "Personer.Alder": [
                {"condition": ["lessThan", ["dataModel", ["argv", 0]], 18], "message": "for.ung"},
                "ikkeTom",
            ]
        },
        "definitions": {
            "ikkeTom": {
                "condition": ["equals", ["dataModel", "Personer.Navn"], None],
                "message": ["concat", "Mangler navn på rad med alder ", ["dataModel", ["argv", 0]]],
                "severity": "warning",
            }
        },
    }
    data = {"Personer": [{"Navn": "Per", "Alder": 12}, {"Alder": 40}, {"Navn": "Kari", "Alder": 30}]}
    issues = validate_expressions(rules, ExpressionContext(data=DataModels({"default": data})))
    assert [(i.field, i.severity, i.custom_text_key) for i in issues] == [
        ("Personer[0].Alder", Severity.ERROR, "for.ung"),
        ("Personer[1].Alder", Severity.WARNING, "Mangler navn på rad med alder 40"),
    ]
    assert issues[0].to_json()["severity"] == 1


def test_a_required_likert_asks_for_an_answer_to_each_question_it_shows() -> None:
    layouts = {"P": {"data": {"layout": [
        {"id": "likert", "type": "Likert", "required": True, "optionsId": "svar",
         "dataModelBindings": {"questions": "Sporsmal", "answer": "Sporsmal.Svar"},
         "filter": [{"key": "start", "value": "1"}, {"key": "stop", "value": "3"}]},
    ]}}}

    def required(data: dict) -> list[str]:
        form = FormState(LayoutSet.from_layouts(layouts), ExpressionContext(data=DataModels({"default": data})))
        return [issue.field for issue in validate_required(form)]

    # without questions there is nothing to answer (frontend-test's Likert task before its questions are made)
    assert required({"Sporsmal": []}) == [] and required({}) == []
    # the first question lies outside the filter; of the two shown, the unanswered one is missing
    questions = [{"Tekst": "a"}, {"Tekst": "b", "Svar": "1"}, {"Tekst": "c"}]
    assert required({"Sporsmal": questions}) == ["Sporsmal[2].Svar"]
