"""The form renderer: every component of Altinn's reference apps draws, and rows, texts and hiding work as in
Altinn's frontend (a row's texts read the row's data; a component in a hidden row or group is hidden)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from felles.apps.datapath import parse_path
from felles.apps.definition import load_app
from felles.apps.forms import values
from felles.apps.forms.component_base import form_state, visible_pages
from felles.apps.forms.render import PageRenderer
from felles.apps.forms.views import Message
from felles.apps.validation import validate_required
from tests.apps.forms.rendering import app_of, page, render

REFERENCE_APPS = (Path(__file__).resolve().parents[3] / "../shared/reference/altinn-apps").resolve()

PEOPLE = page([
    {"id": "people", "type": "RepeatingGroup", "dataModelBindings": {"group": "people"},
     "textResourceBindings": {"title": "people.title"}, "children": ["person-box", "greeting"],
     "hiddenRow": ["equals", ["dataModel", "people.skip"], True]},
    {"id": "person-box", "type": "Group", "children": ["name", "age"]},
    {"id": "name", "type": "Input", "dataModelBindings": {"simpleBinding": "people.name"},
     "textResourceBindings": {"title": "name.title"}, "required": True},
    {"id": "age", "type": "Input", "dataModelBindings": {"simpleBinding": "people.age"},
     "textResourceBindings": {"title": "age.title"},
     # looks up a component inside a non-repeating group inside the same row of the repeating group
     "hidden": ["equals", ["component", "name"], "Baby"]},
    {"id": "greeting", "type": "Paragraph", "textResourceBindings": {"title": "greeting"}},
])
TEXTS = {
    "people.title": {"id": "people.title", "value": "Personer"},
    "name.title": {"id": "name.title", "value": "Navn"},
    "age.title": {"id": "age.title", "value": "Alder"},
    "greeting": {"id": "greeting", "value": "Hei, {0}!",
                 "variables": [{"key": "people.name", "dataSource": "dataModel.default"}]},
}


BOTH_ROWS = frozenset({"people[0]", "people[1]"})


def test_text_variables_inside_a_repeating_group_read_their_own_row() -> None:
    _, html = render(app_of(PEOPLE, TEXTS), {"people": [{"name": "Kari"}, {"name": "Ola"}]}, editing=BOTH_ROWS)
    assert "Hei, Kari!" in html and "Hei, Ola!" in html
    assert html.index("Hei, Kari!") < html.index("Hei, Ola!")


def test_a_lookup_through_a_group_inside_a_repeating_group_finds_the_rows_own_component() -> None:
    _, html = render(app_of(PEOPLE, TEXTS), {"people": [{"name": "Baby", "age": 1}, {"name": "Ola", "age": 40}]},
                     editing=BOTH_ROWS)
    assert 'id="c-age-0"' not in html  # row 0's name is "Baby": its age is hidden
    assert 'id="c-age-1"' in html and 'value="40"' in html


def test_a_hidden_row_hides_its_components_for_the_page_and_for_validation() -> None:
    app = app_of(PEOPLE, TEXTS)
    data = {"people": [{"name": None, "skip": True}, {"name": None}]}
    _, html = render(app, data, editing=BOTH_ROWS)
    assert 'id="c-name-0"' not in html and 'id="c-name-1"' in html
    layout_set = app.layout_sets["form"]
    form = form_state(app, layout_set, {"model": data}, "nb")
    required = [issue.field for issue in validate_required(form)]
    assert required == ["people[1].name"]


def test_rows_are_a_table_and_the_rows_being_edited_open_with_fields_named_by_their_data() -> None:
    app = app_of(PEOPLE, TEXTS)
    _, closed = render(app, {"people": [{"name": "Kari"}, {"name": "Ola"}]})
    assert 'name="people[0].name"' not in closed and 'value="edit:people[0]"' in closed
    assert "<td>Kari</td>" in closed and "<td>Ola</td>" in closed
    _, html = render(app, {"people": [{"name": "Kari"}, {"name": "Ola"}]}, editing=frozenset({"people[1]"}))
    assert '<label class="ds-label" for="c-name-1">Navn' in html and 'name="people[1].name"' in html
    assert 'name="people[0].name"' not in html and 'value="close:people[1]"' in html
    assert 'value="add:people"' in html and 'value="delete:people:0"' in html


def test_messages_are_tied_to_their_field_and_listed_for_the_error_summary() -> None:
    app = app_of(PEOPLE, TEXTS)
    messages = {"people[0].name": [Message("Du må fylle ut navn")]}
    # a row with a message opens by itself
    views, html = render(app, {"people": [{"name": ""}]}, messages=messages)
    field = re.search(r'<input[^>]*id="c-name-0"[^>]*>', html)
    assert field is not None
    assert 'aria-describedby="c-name-0-messages"' in field.group(0) and 'aria-invalid="true"' in field.group(0)
    assert 'id="c-name-0-messages"' in html and "Du må fylle ut navn" in html
    layout_set = app.layout_sets["form"]
    renderer = PageRenderer(app, layout_set, form_state(app, layout_set, {"model": {}}, "nb"), "side1")
    assert renderer.error_links(views) == [("c-name-0", "Du må fylle ut navn")]


def test_options_choices_and_number_formatting() -> None:
    app = app_of(page([
        {"id": "colour", "type": "RadioButtons", "dataModelBindings": {"simpleBinding": "colour"},
         "optionsId": "colours", "textResourceBindings": {"title": "Farge"}},
        {"id": "fruits", "type": "Checkboxes", "dataModelBindings": {"simpleBinding": "fruits"},
         "options": [{"value": "a", "label": "Eple"}, {"value": "b", "label": "Banan"},
                     {"value": "c", "label": "Kiwi"}]},
        {"id": "sum", "type": "Input", "dataModelBindings": {"simpleBinding": "sum"},
         "formatting": {"number": {"thousandSeparator": " ", "decimalSeparator": ",", "prefix": "kr "}}},
    ]), options={"colours": [{"value": "r", "label": "Rød"}, {"value": "g", "label": "Grønn"}]})
    _, html = render(app, {"colour": "g", "fruits": "a,c", "sum": 1234567.5})
    assert re.search(r'value="g" checked', html) and not re.search(r'value="r" checked', html)
    assert re.search(r'value="a" checked', html) and re.search(r'value="c" checked', html)
    assert not re.search(r'value="b" checked', html)
    assert '<legend class="ds-label">Farge' in html
    assert 'value="1 234 567,5"' in html and ">kr </span>" in html


def test_unknown_and_custom_components_show_a_clear_placeholder() -> None:
    _, html = render(app_of(page([
        {"id": "kart", "type": "Map3D"},
        {"id": "egen", "type": "Custom", "tagName": "my-element"},
    ])), {})
    assert "komponenten «kart» av typen Map3D" in html
    assert "komponenten «egen» (egendefinert)" in html


def test_pages_hidden_by_expression_leave_the_page_order() -> None:
    layouts = {
        "a": {"data": {"layout": []}},
        "b": {"data": {"hidden": ["equals", ["dataModel", "skipB"], True], "layout": []}},
        "c": {"data": {"layout": []}},
    }
    app = app_of(layouts, order=["c", "a", "b"])
    layout_set = app.layout_sets["form"]
    assert visible_pages(form_state(app, layout_set, {"model": {"skipB": True}}, "nb"), layout_set) == ["c", "a"]
    assert visible_pages(form_state(app, layout_set, {"model": {}}, "nb"), layout_set) == ["c", "a", "b"]


def test_summary_lists_labels_and_values_of_other_pages() -> None:
    layouts = {
        "skjema": {"data": {"layout": [
            {"id": "navn", "type": "Input", "dataModelBindings": {"simpleBinding": "navn"},
             "textResourceBindings": {"title": "Navn"}},
            {"id": "skjult", "type": "Input", "dataModelBindings": {"simpleBinding": "skjult"},
             "textResourceBindings": {"title": "Skjult felt"}, "hidden": True},
        ]}},
        "oppsummering": {"data": {"layout": [{"id": "alt", "type": "Summary2"}]}},
    }
    _, html = render(app_of(layouts), {"navn": "Kari Nordmann", "skjult": "hemmelig"}, "oppsummering")
    assert "Kari Nordmann" in html and 'value="page:skjema"' in html
    assert "hemmelig" not in html and "Skjult felt" not in html


def _reference_pages() -> list[tuple[str, str, str]]:
    found = []
    for name in ("altinn-studio-frontend-test", "altinn-studio-component-library"):
        app = load_app(REFERENCE_APPS / name / "App")
        for layout_set in app.layout_sets.values():
            found.extend((name, layout_set.id, page_name) for page_name in layout_set.page_order)
    return found


@pytest.fixture(scope="module")
def reference_apps() -> dict[str, object]:
    return {name: load_app(REFERENCE_APPS / name / "App")
            for name in ("altinn-studio-frontend-test", "altinn-studio-component-library")}


@pytest.mark.parametrize(("app_name", "layout_set_id", "page_name"), _reference_pages())
def test_every_page_of_altinns_reference_apps_renders(reference_apps: dict[str, object], app_name: str,
                                                     layout_set_id: str, page_name: str) -> None:
    from felles.apps.definition import AppDefinition
    from tests.apps.forms.rendering import _VIEWS

    app = reference_apps[app_name]
    assert isinstance(app, AppDefinition)
    layout_set = app.layout_sets[layout_set_id]
    form = form_state(app, layout_set, {layout_set.data_type or "default": {}}, "nb")
    views = PageRenderer(app, layout_set, form, page_name).views()
    html = _VIEWS.render(views=views, t=lambda key, **params: key, urls=None, editable=True)
    # every field the page shows has a label pointing at it, and no id is used twice
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for field_id in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html):
        if f'for="{field_id}"' not in html:
            pytest.fail(f"field {field_id} on {page_name} has no label")


def test_texts_keep_harmless_html_and_lose_the_rest() -> None:
    texts = {"intro": {"id": "intro", "value": 'Linje 1<br/>Les <a href="https://www.altinn.no" onclick="x()">mer</a>'
                                                '<script>alert(1)</script> og <a href="javascript:alert(1)">ikke</a>'
                                                ' <b>dette</b>, **fet**'}}
    _, html = render(app_of(page([{"id": "p", "type": "Paragraph", "textResourceBindings": {"title": "intro"}}]),
                            texts), {})
    assert "Linje 1<br>" in html and '<a class="ds-link" href="https://www.altinn.no">mer</a>' in html
    assert "<script>" not in html and "onclick" not in html and "javascript:" not in html
    assert "alert(1)" in html  # the text of a dropped tag stays, as text
    assert "<b>dette</b>" in html and "<strong>fet</strong>" in html


NESTED = page([
    {"id": "bedrifter", "type": "RepeatingGroup", "dataModelBindings": {"group": "bedrifter"},
     "textResourceBindings": {"title": "Bedrifter"}, "children": ["bedrift-navn", "ansatte"]},
    {"id": "bedrift-navn", "type": "Input", "dataModelBindings": {"simpleBinding": "bedrifter.navn"},
     "textResourceBindings": {"title": "Bedrift"}},
    {"id": "ansatte", "type": "RepeatingGroup", "dataModelBindings": {"group": "bedrifter.ansatte"},
     "textResourceBindings": {"title": "Ansatte"}, "children": ["ansatt-navn"]},
    {"id": "ansatt-navn", "type": "Input", "dataModelBindings": {"simpleBinding": "bedrifter.ansatte.navn"},
     "textResourceBindings": {"title": "Ansatt"}},
])


def test_nested_repeating_groups_name_their_rows_and_add_into_the_right_one() -> None:
    data = {"bedrifter": [{"navn": "Fjordkraft", "ansatte": [{"navn": "Ingrid"}]},
                          {"navn": "Regnskap", "ansatte": [{"navn": "Ola"}, {"navn": "Kari"}]}]}
    editing = frozenset({"bedrifter[1]", "bedrifter[1].ansatte[1]"})
    _, html = render(app_of(NESTED), data, editing=editing)
    assert 'name="bedrifter[1].navn" value="Regnskap"' in html
    assert 'name="bedrifter[1].ansatte[1].navn" value="Kari"' in html
    assert 'name="bedrifter[1].ansatte[0].navn"' not in html and "<td>Ola</td>" in html  # a closed inner row
    assert 'value="add:bedrifter[1].ansatte"' in html and 'value="delete:bedrifter[1].ansatte:1"' in html
    index = values.add_row(data, parse_path("bedrifter[1].ansatte"))
    assert index == 2 and len(data["bedrifter"][1]["ansatte"]) == 3 and len(data["bedrifter"][0]["ansatte"]) == 1
    assert values.delete_row(data, parse_path("bedrifter[1].ansatte"), 0)
    assert [row.get("navn") for row in data["bedrifter"][1]["ansatte"]] == ["Kari", None]


def test_posted_text_becomes_the_models_type() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number"}, "i": {"type": "integer"},
                                               "b": {"type": "boolean"}, "s": {"type": "string"}}}
    assert values.coerce("12,5", values.schema_at(schema, parse_path("n"))) == 12.5
    assert values.coerce(" 1 000 ", values.schema_at(schema, parse_path("i"))) == 1000
    assert values.coerce("true", values.schema_at(schema, parse_path("b"))) is True
    assert values.coerce("", values.schema_at(schema, parse_path("s"))) is None
    assert values.coerce("  tekst ", values.schema_at(schema, parse_path("s"))) == "  tekst "
    for text, path in (("12,5", "i"), ("tolv", "n"), ("ja", "b"), ("NaN", "n")):
        with pytest.raises(values.NotOfType):
            values.coerce(text, values.schema_at(schema, parse_path(path)))
    number_format = {"prefix": "kr ", "thousandSeparator": ".", "decimalSeparator": ","}
    assert values.unformat_number("kr 1.234.567,50", number_format) == "1234567.50"


def test_a_component_in_a_hidden_group_is_hidden_to_expressions_too() -> None:
    layouts = page([
        {"id": "boks", "type": "Group", "children": ["a"], "hidden": ["equals", ["dataModel", "skjul"], True]},
        {"id": "a", "type": "Input", "dataModelBindings": {"simpleBinding": "a"},
         "textResourceBindings": {"title": "A"}},
        # shown only while "a" reads "x": a hidden "a" reads as nothing
        {"id": "b", "type": "Paragraph", "textResourceBindings": {"title": "B-tekst"},
         "hidden": ["notEquals", ["component", "a"], "x"]},
    ])
    _, shown = render(app_of(layouts), {"a": "x", "skjul": False})
    assert 'id="c-a"' in shown and "B-tekst" in shown
    _, hidden = render(app_of(layouts), {"a": "x", "skjul": True})
    assert 'id="c-a"' not in hidden and "B-tekst" not in hidden


TABS = page([
    {"id": "faner", "type": "Tabs", "defaultTab": "om",
     "tabs": [{"id": "start", "title": "tab.start", "children": ["intro"]},
              {"id": "om", "title": "tab.om", "children": ["navn"]}]},
    {"id": "intro", "type": "Paragraph", "textResourceBindings": {"title": "Velkommen"}},
    {"id": "navn", "type": "Input", "dataModelBindings": {"simpleBinding": "navn"},
     "textResourceBindings": {"title": "Navn"}},
])


def test_tabs_are_a_tab_list_with_one_panel_shown_and_the_chosen_tab_kept() -> None:
    texts = {"tab.start": {"id": "tab.start", "value": "Start"}, "tab.om": {"id": "tab.om", "value": "Om deg"}}
    views, html = render(app_of(TABS, texts), {"navn": "Kari"})
    assert '<div role="tablist">' in html
    start = re.search(r'<button type="submit" role="tab"[^>]*id="c-faner-tab-start"[^>]*>Start</button>', html)
    about = re.search(r'<button type="submit" role="tab"[^>]*id="c-faner-tab-om"[^>]*>Om deg</button>', html)
    assert start and about
    # the default tab is shown and reached by Tab; the other is one arrow key away
    assert 'aria-selected="true" tabindex="0"' in about[0] and 'aria-selected="false" tabindex="-1"' in start[0]
    assert re.search(r'role="tabpanel" id="c-faner-panel-start" aria-labelledby="c-faner-tab-start" tabindex="0"'
                     r' hidden>\s*<div[^>]*id="c-intro"', html)
    assert re.search(r'role="tabpanel" id="c-faner-panel-om"[^>]*tabindex="0">\s*<div[^>]*id="c-navn-field"', html)
    assert 'name="tab" value="c-faner:om"' in html and 'value="Kari"' in html
    # the tab chosen before (posted back by the page) is the one shown
    _, html = render(app_of(TABS, texts), {}, open_tabs={"c-faner": "start"})
    assert 'name="tab" value="c-faner:start"' in html
    assert re.search(r'id="c-faner-panel-om"[^>]*hidden', html) and not re.search(
        r'id="c-faner-panel-start"[^>]*hidden', html)
    # a message in a tab is in the error summary, whichever tab is shown
    app = app_of(TABS, texts)
    views, _ = render(app, {}, messages={"navn": [Message("Skriv navnet")]}, open_tabs={"c-faner": "start"})
    layout_set = app.layout_sets["form"]
    renderer = PageRenderer(app, layout_set, form_state(app, layout_set, {"model": {}}, "nb"), "side1")
    assert renderer.error_links(views) == [("c-navn", "Skriv navnet")]


def test_cards_are_designsystemet_cards_with_their_media_texts_and_components() -> None:
    app = app_of(page([
        {"id": "kort", "type": "Cards", "color": "subtle", "textResourceBindings": {"title": "Velg merke"},
         "cards": [{"title": "card.title", "description": "Et **merke**", "media": "bilde"},
                   {"title": "Andre", "footer": "Vi tar kontakt", "children": ["kake"]}]},
        {"id": "bilde", "type": "Image", "image": {"src": {"nb": "/static/favicon.svg"}},
         "textResourceBindings": {"altTextImg": "Et bilde"}},
        {"id": "kake", "type": "Checkboxes", "dataModelBindings": {"simpleBinding": "kake"},
         "options": [{"value": "J", "label": "Jeg vil smake"}]},
    ]), {"card.title": {"id": "card.title", "value": "Varemerke"}})
    _, html = render(app, {"kake": "J"})
    cards = re.findall(r'<article class="ds-card" data-variant="tinted" id="(c-kort-\d)" aria-labelledby', html)
    assert cards == ["c-kort-0", "c-kort-1"]
    first, second = html.split('id="c-kort-1"')
    assert '<img src="/static/favicon.svg" alt="Et bilde"' in first
    assert '<h3 class="ds-heading" data-size="2xs" id="c-kort-0-title">Varemerke</h3>' in first
    assert "Et <strong>merke</strong>" in first
    assert re.search(r'<input class="ds-input" type="checkbox" id="c-kake-0" name="kake" value="J" checked', second)
    assert "Vi tar kontakt" in second
    assert html.count('id="c-bilde"') == 1  # the media is the card's, not drawn again on the page


def test_an_error_no_view_shows_by_its_field_is_still_told() -> None:
    # an error of a field no view draws is told in the summary still; one of a field on another page is linked
    # to its page there, so it is left out here
    app = app_of(page([
        {"id": "likert", "type": "Likert", "dataModelBindings": {"questions": "q", "answer": "q.answer"},
         "options": [{"value": "1", "label": "Ja"}], "required": True},
        {"id": "navn", "type": "Input", "dataModelBindings": {"simpleBinding": "navn"}},
    ]))
    layout_set = app.layout_sets["form"]
    messages = {"q.answer": [Message("Svar på spørsmålene")], "navn": [Message("Skriv navnet")],
                "annet": [Message("Fyll ut det andre")], "borte": [Message("Et felt siden ikke har")],
                "varsel": [Message("Bare et varsel", "warning")]}
    renderer = PageRenderer(app, layout_set, form_state(app, layout_set, {"model": {"q": []}}, "nb"), "side1",
                            messages=messages)
    views = renderer.views()
    # the Likert says it below its (missing) questions
    assert renderer.error_links(views) == [("c-likert", "Svar på spørsmålene"), ("c-navn", "Skriv navnet")]
    assert renderer.undrawn_errors({"annet"}) == ["Et felt siden ikke har"]
    _, html = render(app, {"q": []}, messages=messages)
    assert '<div id="c-likert-messages" class="felles-messages">' in html and "Svar på spørsmålene" in html


def test_a_field_drawn_twice_takes_what_the_person_changed_in_either() -> None:
    from felles.apps.forms.saving import _changed_text

    # the page posts both copies: the one changed wins, whichever comes last; unchanged, the value stays
    assert _changed_text(["Nordmann", ""], "") == "Nordmann"
    assert _changed_text(["Nordmann", "Hansen"], "Nordmann") == "Hansen"
    assert _changed_text(["", "Nordmann"], "Nordmann") == ""
    assert _changed_text(["Nordmann", "Nordmann"], "Nordmann") == "Nordmann"
    assert _changed_text(["12"], 12) == "12"
