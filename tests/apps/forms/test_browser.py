"""The form pages in Debian's Chromium, by keyboard, from an empty data folder as `make run` starts it (the demo
app deployed by `felles seed --demo`, two more apps by `felles app deploy`): a demo person logs in with TestID,
picks whom to act for, fills in a form (autosave, rows, a file, an error caught by the error summary), confirms
and downloads the receipt. axe finds nothing serious on any page, no page throws, nothing is refused by the
Content-Security-Policy."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader

from felles.registers.population import DEMO_PERSONS
from tests.apps.conftest import REFERENCE_APPS
from tests.apps.forms.conftest import SKJEMA
from tests.browser import SMALL_DEMO, log_in, settled, watched_page
from tests.conftest import felles_command_environment, felles_serve, run_felles
from tests.portal.test_browser import serious_accessibility_violations

pytestmark = pytest.mark.embedded_platform

KARI = DEMO_PERSONS[0]


def press(page: Page, name: str) -> None:
    """Reach a button by keyboard (focus, then Enter) and wait for the page it leads to."""
    settled(page)
    button = page.get_by_role("button", name=name, exact=True)
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def labelled(page: Page, label: str) -> Locator:
    """The field labelled ``label`` (a required field's label goes on with a mark and "(påkrevd)")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(\W|$)"))


def type_into(page: Page, label: str, text: str) -> None:
    settled(page)
    field = labelled(page, label)
    field.focus()
    page.keyboard.type(text)
    page.keyboard.press("Tab")  # leaving the field saves it


def on_page(page: Page, title: str) -> None:
    expect(page.locator("#page-position")).to_contain_text(title)


def choose(page: Page, label: str) -> None:
    settled(page)
    option = page.get_by_label(label, exact=True)
    option.focus()
    page.keyboard.press("Space")


def accessible(page: Page, where: str) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], f"{where}: {violations}"


def frontend_test(folder: Path) -> Path:
    """Altinn's frontend-test app, with one line added to a model: its task chooser binds `GwTargetTask`, which
    the message model's JSON schema (and the app's own C# class) has but its XSD lacks, and Felles stores form
    data by the XSD, so the choice could not be saved (the gateway after Task_1 reads it)."""
    shutil.copytree(REFERENCE_APPS / "altinn-studio-frontend-test", folder)
    xsd = folder / "App" / "models" / "message.xsd"
    known = '<xsd:element name="SomeNumberValue" nillable="true" type="xsd:int" />'
    text = xsd.read_text(encoding="utf-8-sig")
    assert known in text
    xsd.write_text(text.replace(known, known + '<xsd:element name="GwTargetTask" nillable="true" type="xsd:string" />'),
                   encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`'s server on a fresh data folder, with the forms tests' app and Altinn's frontend-test app."""
    folder = tmp_path_factory.mktemp("forms-browser")
    environment = felles_command_environment(folder / "var")
    run_felles(environment, "db", "upgrade")
    run_felles(environment, "seed", "--demo", *SMALL_DEMO)
    shutil.copytree(SKJEMA, folder / "skjema")
    run_felles(environment, "app", "deploy", str(folder / "skjema"), "--name", "ttd/hundelufting")
    run_felles(environment, "app", "deploy", str(frontend_test(folder / "frontend-test")))
    with felles_serve(environment) as port:
        yield f"http://localhost:{port}"
    assert "Traceback" not in (folder / "var" / "serve.log").read_text()


@pytest.fixture
def page(base: str) -> Iterator[Page]:
    """A browser page that fails the test on any uncaught script error or refused file."""
    with watched_page() as page:
        yield page


def start_as_self(page: Page, base: str, app: str) -> None:
    """Log in at the app's start page, act for oneself, start a new form."""
    log_in(page, base, f"/{app}/", KARI.identifier)
    accessible(page, f"{app}: party choice")
    page.get_by_role("link", name="Kari Nordmann").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    accessible(page, f"{app}: start")
    press(page, "Start nytt skjema")


def fill_in_what_prefill_left(page: Page) -> None:
    """The demo app's first page is prefilled from Folkeregisteret; what the registers did not give is typed in."""
    for label, text in (("Gateadresse", "Fjordveien"), ("Postnummer", "5003"), ("Poststed", "Fjordvik"),
                        ("E-postadresse", "kari.nordmann@eksempel.no")):
        if not labelled(page, label).input_value():
            type_into(page, label, text)


def download_receipt(page: Page) -> str:
    """Download the receipt PDF by keyboard; its text."""
    link = page.get_by_role("link", name="Last ned kvitteringen som PDF")
    link.focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    content = Path(download.value.path()).read_bytes()
    return "".join(part.extract_text() for part in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.browser
def test_a_person_fills_in_a_form_by_keyboard_and_gets_the_receipt(base: str, page: Page) -> None:
    start_as_self(page, base, "ttd/hundelufting")
    on_page(page, "Om deg")
    accessible(page, "first page")

    type_into(page, "Navn", "Kari Nordmann")
    type_into(page, "Alder", "30")
    type_into(page, "Beløp", "12500")
    choose(page, "Grønn")
    choose(page, "Lufting")
    choose(page, "Ja")
    # a message the app's validation refuses is pointed out as the field is left, by the field
    type_into(page, "Melding", "hei")
    melding = labelled(page, "Melding")
    expect(melding).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#c-melding-messages")).to_have_text("Meldingen kan ikke bare være «hei»")
    accessible(page, "a message by its field")
    melding.fill("")
    type_into(page, "Melding", "Jeg lufter gjerne hunder.")
    expect(page.locator("#c-melding-messages")).to_have_count(0)
    expect(melding).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#save-status")).to_have_text("Lagret.")
    press(page, "Neste")
    on_page(page, "Hundene")
    # the first page was saved by autosave (no button posted it since): going back shows it
    press(page, "Forrige")
    expect(labelled(page, "Navn")).to_have_value("Kari Nordmann")
    expect(page.get_by_label("Beløp", exact=True)).to_have_value("12 500")
    press(page, "Neste")

    press(page, "Legg til hund")
    type_into(page, "Hundens navn", "Fido")
    rase = page.get_by_label("Rase", exact=True)
    rase.focus()
    rase.select_option("labrador")
    expect(page.get_by_text("Hei, Fido!")).to_be_visible()
    accessible(page, "repeating group")
    press(page, "Neste")

    on_page(page, "Vedlegg")
    page.get_by_label("Velg fil").set_input_files(
        files=[{"name": "legeattest.txt", "mimeType": "text/plain", "buffer": b"frisk som en fisk"}])
    press(page, "Last opp")
    expect(page.get_by_role("link", name="legeattest.txt")).to_be_visible()
    accessible(page, "attachments")
    press(page, "Neste")

    on_page(page, "Oppsummering")
    summary = page.locator(".felles-summary")
    for value in ("Kari Nordmann", "kr 12 500", "Grønn", "Lufting", "Fido", "Labrador", "legeattest.txt"):
        expect(summary).to_contain_text(value)
    accessible(page, "summary")
    press(page, "Send inn")
    expect(page.locator("h1")).to_have_text("Se over og bekreft")
    accessible(page, "confirmation")
    press(page, "Bekreft og send inn")
    expect(page.locator("h1")).to_have_text("Kvittering")
    accessible(page, "receipt")
    receipt = download_receipt(page)
    assert "Kari Nordmann" in receipt and "Fido" in receipt


@pytest.mark.browser
def test_the_demo_app_by_keyboard_from_prefill_to_the_receipt(base: str, page: Page) -> None:
    start_as_self(page, base, "fjordvik/parkering")
    expect(page.get_by_role("heading", name="Om deg som søker")).to_be_visible()
    accessible(page, "demo: applicant")
    fill_in_what_prefill_left(page)
    press(page, "Neste")

    expect(page.get_by_role("heading", name="Parkeringstillatelsen")).to_be_visible()
    sone = labelled(page, "Sone")
    sone.focus()
    sone.select_option("B")
    choose(page, "Beboerparkering")
    type_into(page, "Gyldig fra", "01.01.2027")
    type_into(page, "Antall måneder", "13")  # more than the app's validation allows
    radios = page.get_by_role("radiogroup", name=re.compile("^Har du parkeringskort"))
    settled(page)
    radios.get_by_label("Nei", exact=True).focus()
    page.keyboard.press("Space")
    accessible(page, "demo: permit")
    press(page, "Neste")

    expect(page.get_by_role("heading", name="Kjøretøy", exact=True).first).to_be_visible()
    press(page, "Legg til kjøretøy")
    type_into(page, "Registreringsnummer", "EL12345")
    type_into(page, "Merke", "Tesla")
    kind = labelled(page, "Type kjøretøy")
    kind.focus()
    kind.select_option(index=1)
    accessible(page, "demo: vehicles")
    press(page, "Neste")
    press(page, "Neste")  # no attachment needed

    page.get_by_role("checkbox").first.focus()
    page.keyboard.press("Space")
    accessible(page, "demo: summary")
    press(page, "Gå videre til bekreftelse")
    # the app's own validation stops it: the error summary takes focus and links to the field on its page
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link").first
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Parkeringstillatelsen")).to_be_visible()
    months = labelled(page, "Antall måneder")
    expect(months).to_be_focused()  # the summary's link leads to the field itself
    months.fill("")
    type_into(page, "Antall måneder", "6")
    press(page, "Neste")
    press(page, "Neste")
    press(page, "Neste")
    press(page, "Gå videre til bekreftelse")

    expect(page.get_by_text("Tesla").first).to_be_visible()  # the confirmation step summarises the form
    accessible(page, "demo: confirmation")
    press(page, "Bekreft og send inn")
    expect(page.locator("h1")).to_have_text("Kvittering")
    accessible(page, "demo: receipt")
    assert "EL12345" in download_receipt(page)


@pytest.mark.browser
def test_a_form_left_unsent_is_a_draft_in_the_inbox_that_its_delete_action_removes(base: str, page: Page) -> None:
    start_as_self(page, base, "fjordvik/parkering")
    expect(page.get_by_role("heading", name="Om deg som søker")).to_be_visible()
    # The started form is mirrored as a draft dialog once the server's worker has run the mirror job.
    drafts = page.locator("#dialogs h2 a", has_text="Søknad om parkeringstillatelse")
    page.goto(f"{base}/inbox/?folder=drafts")
    for _ in range(40):
        if drafts.count():
            break
        page.wait_for_timeout(250)
        page.reload()
    before = drafts.count()
    assert before >= 1
    drafts.first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#dialog-actions")).to_contain_text("Vil du slette skjemaet?")
    accessible(page, "inbox: the draft")
    # The inbox calls the action's address with the dialog token; the form's instance and its dialog are deleted.
    press(page, "Slett")
    expect(page.locator("#inbox-done")).to_have_text("Slettet.")
    page.goto(f"{base}/inbox/?folder=drafts")
    expect(drafts).to_have_count(before - 1)
    accessible(page, "inbox: drafts after the delete")


@pytest.mark.browser
def test_a_date_half_typed_while_a_save_comes_back_is_kept(base: str, page: Page) -> None:
    start_as_self(page, base, "fjordvik/parkering")
    fill_in_what_prefill_left(page)
    press(page, "Neste")
    expect(page.get_by_role("heading", name="Parkeringstillatelsen")).to_be_visible()
    settled(page)
    # The save made when "Antall måneder" is left is held back until the person is half way through the date.
    autosave = page.locator("#form-page").get_attribute("data-autosave")
    assert autosave
    held = []

    def is_autosave(url: str) -> bool:
        return url.endswith(autosave)

    page.route(is_autosave, lambda route: held.append(route))
    labelled(page, "Antall måneder").focus()
    page.keyboard.type("6")
    date = labelled(page, "Gyldig fra")
    date.focus()  # leaving "Antall måneder" saves it
    page.keyboard.type("03.03")  # (the same day and month: Chromium orders the parts by its own locale)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    (save,) = held
    save.continue_()  # the save comes back while the date has only its day and month
    page.unroute(is_autosave)
    settled(page)
    page.keyboard.type(".2027")
    for _ in range(3):  # Tab goes through the date's parts, then on to the next field, which saves the date
        page.keyboard.press("Tab")
        if not page.evaluate("document.activeElement.type === 'date'"):
            break
    settled(page)
    expect(date).to_have_value("2027-03-03")
    expect(labelled(page, "Antall måneder")).to_have_value("6")
    page.reload()  # and both were saved
    expect(labelled(page, "Gyldig fra")).to_have_value("2027-03-03")
    expect(labelled(page, "Antall måneder")).to_have_value("6")


def textbox(page: Page, label: str) -> Locator:
    """The text field labelled ``label`` (frontend-test draws some fields twice: the first)."""
    return page.get_by_role("textbox", name=re.compile(rf"^{re.escape(label)}(\W|$)")).first


def type_in(page: Page, field: Locator, text: str) -> None:
    """Type into a field and leave it, once the last save is done (as the other helpers, at a person's pace)."""
    settled(page)
    field.focus()
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def choose_next_task(page: Page, task: str) -> None:
    """frontend-test's first task: its first page, then the task chooser's choice of the next task."""
    expect(page.locator("h1")).to_have_text("frontend-test")
    expect(page.get_by_text("Appen for test av app frontend")).to_be_visible()
    accessible(page, "frontend-test: first page")
    choose(page, "No")
    press(page, "Velg neste steg")
    expect(page.locator("#page-position")).to_have_text("Side 2 av 2")
    accessible(page, "frontend-test: task chooser")
    choose(page, task)
    press(page, "Gå til")


@pytest.mark.browser
def test_altinns_frontend_test_app_through_its_tasks_by_keyboard(base: str, page: Page) -> None:
    """Task_1's pages, the group task's six pages (rows, options from rows, hiding, a summary), the Likert task
    and the list task, to where the app's own code would have to answer: its List reads a data list the app's
    C# code makes, so the list task cannot be sent, and says so."""
    start_as_self(page, base, "ttd/frontend-test")
    choose_next_task(page, "Repeterende grupper (Task_3)")

    expect(page.locator("#page-position")).to_have_text("Side 1 av 6")
    accessible(page, "frontend-test: prefill")
    press(page, "Neste")
    # the groups show once asked for (a required checkbox, by keyboard)
    expect(page.get_by_role("heading", name="Group title")).to_have_count(0)
    page.get_by_role("group", name=re.compile("^Åpne repterenede grupper")).get_by_label("Ja", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("heading", name="Group title")).to_be_visible()
    accessible(page, "frontend-test: repeating groups")
    press(page, "Neste")
    accessible(page, "frontend-test: big changes")
    press(page, "Neste")
    expect(page.get_by_role("button", name="Legg til manuelt")).to_be_visible()
    accessible(page, "frontend-test: pets")
    press(page, "Neste")
    type_in(page, textbox(page, "Oppgave giver navn"), "Kari Nordmann")
    accessible(page, "frontend-test: hide")
    press(page, "Neste")
    expect(page.locator("#form-page")).to_contain_text("Kari Nordmann")  # the task's summary
    accessible(page, "frontend-test: group summary")
    press(page, "Send inn")

    # the Likert task (its questions are made by the app's code: none here, so nothing is asked)
    expect(page.get_by_role("heading", name="Medvirkning")).to_be_visible()
    accessible(page, "frontend-test: likert")
    press(page, "Send inn")

    # the list task: the List is drawn as a clear placeholder, and sending says what it misses
    expect(page.locator("#c-listComponent")).to_contain_text("listComponent")
    accessible(page, "frontend-test: list")
    press(page, "Neste")
    choose(page, "Nei, bruk innebygget")
    accessible(page, "frontend-test: list summary")
    press(page, "Send inn")
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Du må fylle ut SelectedItem")
    accessible(page, "frontend-test: list refused")


@pytest.mark.browser
def test_altinns_frontend_test_change_of_name_with_tabs_by_keyboard(base: str, page: Page) -> None:
    """The change-of-name task's first page: fields in tabs (the arrow keys choose a tab, autosave keeps it), a
    required field's message as it is left empty, and the summary of the name on the same page."""
    start_as_self(page, base, "ttd/frontend-test")
    choose_next_task(page, "Endring av navn (Task_2)")
    expect(page.locator("#page-position")).to_contain_text("Side 1 av 3")
    accessible(page, "frontend-test: change of name")
    type_in(page, textbox(page, "Nytt fornavn"), "Kåre")
    tabs = page.get_by_role("tablist")
    expect(tabs.get_by_role("tab", name="Nytt mellomnavn")).to_have_attribute("aria-selected", "true")
    settled(page)  # the first name saved: the page is drawn again
    tabs.get_by_role("tab", name="Nytt mellomnavn").focus()
    page.keyboard.press("ArrowRight")
    last_name_tab = tabs.get_by_role("tab", name="Nytt etternavn")
    expect(last_name_tab).to_be_focused()
    expect(last_name_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#c-newMiddleName")).to_be_hidden()  # the other tab's field
    type_in(page, textbox(page, "Nytt etternavn"), "Nordmann")
    expect(page.locator("#save-status")).to_have_text("Lagret.")
    # the page drawn again by autosave keeps the tab chosen, and the name shows in the page's summary
    expect(last_name_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#c-summaryLastName")).to_have_value("Nordmann")
    accessible(page, "frontend-test: tabs")
    # a required field emptied: its message by the field as it is left
    last_name = textbox(page, "Nytt etternavn")
    last_name.fill("")
    last_name.focus()
    page.keyboard.press("Tab")
    expect(last_name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#c-newLastName-messages")).to_contain_text("Du må fylle ut Nytt etternavn")
    accessible(page, "frontend-test: a required field's message")
