"""The form pages over HTTP, as a browser without script uses them: log in, start, fill in page by page (each
button posts the whole page, which is saved first), rows, files, validation with an error summary, the
confirmation step and the receipt. Every change goes through the apps' services, decided by the app's policy."""

from __future__ import annotations

import io
import re

import httpx
from pypdf import PdfReader

from felles.core.db import Database
from tests.apps.forms.conftest import KARI, OLA, FormApp, follow, form_token
from tests.portal.login import local, log_in


async def start_instance(client: httpx.AsyncClient, form_app: FormApp, person: str = KARI) -> str:
    """Log in, start a new form; the path of its first page."""
    start = await log_in(client, form_app.start, person)
    assert start.status_code == 200, start.text
    own = re.search(r'<a class="ds-link" href="(\?party=\d+)">[^<]+</a> – deg selv', start.text)
    assert own is not None, start.text
    start = await client.get(form_app.start + own[1])
    assert 'id="start-new"' in start.text
    party = re.search(r'name="party" value="(\d+)"', start.text)
    assert party is not None
    response = await client.post(form_app.start, data={"form_token": form_token(start.text), "party": party[1]})
    assert response.status_code == 303, response.text
    instance = await client.get(local(response.headers["location"]))
    assert instance.status_code == 303, instance.text
    return local(instance.headers["location"])


async def post(client: httpx.AsyncClient, path: str, page_html: str, **fields: str | list[str]) -> httpx.Response:
    """Post a page's form as a browser would: its token, open rows, touched fields and whether the error summary
    is up (hidden fields) with the fields given."""
    hidden = {name: re.findall(rf'name="{name}" value="([^"]+)"', page_html) for name in ("editing", "touched",
                                                                                         "summary")}
    return await client.post(path, data={"form_token": form_token(page_html), **hidden, **fields})


async def test_a_person_fills_in_the_form_page_by_page_and_submits(client: httpx.AsyncClient,
                                                                  form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    assert first.endswith("/Task_1/personalia")
    page = await client.get(first)
    assert page.status_code == 200
    assert '<h1 class="ds-heading" data-size="lg" id="page-heading">Søknad om hundeluftetillatelse</h1>' in page.text
    assert "Side 1 av 4 – Om deg</p>" in page.text
    assert '<label class="ds-label" for="c-navn">Navn' in page.text

    # a number field refuses text, keeps what was typed and says why; the rest is saved
    response = await post(client, first, page.text, action="next", navn="Kari Nordmann", alder="tretti",
                          belop="kr 12 500,50", farge="gronn", tjenester=["", "luft", "bad"], harHund="ja",
                          fra="2026-12-24", melding="Hallo")
    assert response.status_code == 200
    assert "Alder må være et heltall." in response.text and 'value="tretti"' in response.text
    assert 'value="Kari Nordmann"' in response.text and 'value="12 500,5"' in response.text
    response = await post(client, first, response.text, action="next", alder="30")
    assert response.status_code == 303
    dogs_path = local(response.headers["location"])
    assert dogs_path.endswith("/Task_1/hunder")

    # rows: add two, fill them in; a row's text reads the row's own data
    dogs = await client.get(dogs_path)
    for _ in range(2):
        dogs = await follow(client, await post(client, dogs_path, dogs.text, action="add:hunder"))
    assert 'name="hunder[1].navn"' in dogs.text
    assert 'name="editing" value="hunder[0]"' in dogs.text  # both new rows are open (the page posts which)
    response = await post(client, dogs_path, dogs.text, **{"hunder[0].navn": "Fido", "hunder[0].rase": "labrador",
                             "hunder[1].navn": "Bella", "hunder[1].rase": "puddel"})
    dogs = await follow(client, response)
    assert "<td>Fido</td><td>Labrador</td>" in dogs.text  # the table of rows
    assert "Hei, Fido!" in dogs.text and "Hei, Bella!" in dogs.text
    # a component looked up through the row's group: a poodle's weight is not asked
    assert 'id="c-hund-vekt-0"' in dogs.text and 'id="c-hund-vekt-1"' not in dogs.text
    dogs = await follow(client, await post(client, dogs_path, dogs.text, action="delete:hunder:1"))
    assert "Bella" not in dogs.text and "Fido" in dogs.text and 'value="close:hunder[0]"' in dogs.text
    dogs = await follow(client, await post(client, dogs_path, dogs.text, action="close:hunder[0]"))
    assert 'name="hunder[0].navn"' not in dogs.text and 'value="edit:hunder[0]"' in dogs.text

    # the summary shows what was filled in; submitting moves to the confirmation step
    summary_path = dogs_path.replace("/hunder", "/oppsummering")
    summary = await client.get(summary_path)
    assert "Kari Nordmann" in summary.text and "Lufting, Bading" in summary.text and "Labrador" in summary.text
    response = await post(client, summary_path, summary.text, action="submit")
    assert response.status_code == 303, response.text
    step = await follow(client, response)
    assert step.status_code == 200 and 'id="step-action"' in step.text and "Kari Nordmann" in step.text
    step_path = re.search(r'<form method="post" action="([^"]+)" id="step-form"', step.text)
    assert step_path is not None
    receipt = await follow(client, await post(client, step_path[1], step.text, action="process:confirm"))
    assert receipt.status_code == 200 and 'id="receipt-sent"' in receipt.text
    pdf_link = re.search(r'href="([^"]+)" id="receipt-pdf"', receipt.text)
    assert pdf_link is not None
    pdf = await client.get(pdf_link[1])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Kari Nordmann" in text and "Fido" in text


async def test_submitting_with_errors_lists_them_and_links_to_their_fields(client: httpx.AsyncClient,
                                                                          form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    summary_path = first.replace("/personalia", "/oppsummering")
    summary = await client.get(summary_path)
    response = await post(client, summary_path, summary.text, action="submit")
    assert response.status_code == 422
    assert 'id="error-summary"' in response.text
    # the required fields are on another page: the summary links to them there
    assert re.search(r'href="[^"]*/Task_1/personalia#c-navn">Du må fylle ut Navn\.', response.text), response.text
    # an expression validation of the model, by its field, with the app's text
    page = await client.get(first)
    response = await post(client, first, page.text, action="save", melding="hei")
    page = await follow(client, response)
    response = await post(client, summary_path, summary.text, action="submit")
    assert "Meldingen kan ikke bare være «hei»" in response.text


async def test_another_person_cannot_open_the_form(client: httpx.AsyncClient, form_app: FormApp,
                                                   app) -> None:
    first = await start_instance(client, form_app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://felles.test") as other:
        page = await log_in(other, first, OLA)
    assert page.status_code in (403, 404)
    assert "Kari" not in page.text


async def test_a_post_without_the_pages_token_changes_nothing(client: httpx.AsyncClient, form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    response = await client.post(first, data={"action": "save", "navn": "Mallory"})
    assert response.status_code == 400
    page = await client.get(first)
    assert "Mallory" not in page.text


async def test_a_file_is_uploaded_listed_and_deleted(client: httpx.AsyncClient, form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    files_path = first.replace("/personalia", "/vedlegg")
    page = await client.get(files_path)
    upload = re.search(r'<form id="upload-c-vedlegg" method="post" action="([^"]+)"', page.text)
    assert upload is not None
    response = await client.post(upload[1], data={"form_token": form_token(page.text), "page": "vedlegg"},
                                 files={"file": ("legeattest.txt", b"frisk som en fisk", "text/plain")})
    assert response.status_code == 303, response.text
    page = await follow(client, response)
    assert "legeattest.txt" in page.text
    link = re.search(r'<a class="ds-link" href="([^"]+)">legeattest.txt', page.text)
    assert link is not None
    download = await client.get(link[1])
    assert download.status_code == 200 and download.content == b"frisk som en fisk"
    # a file of a type the data type does not take is refused by the page, with the reason
    response = await client.post(upload[1], data={"form_token": form_token(page.text), "page": "vedlegg"},
                                 files={"file": ("virus.exe", b"MZ", "application/x-msdownload")})
    assert response.status_code == 400 and 'id="c-vedlegg-messages"' in response.text
    delete = re.search(r'name="action" value="(delete-file:[0-9a-f-]+)"', page.text)
    assert delete is not None
    page = await follow(client, await post(client, files_path, page.text, action=delete[1]))
    assert "legeattest.txt" not in page.text


async def test_the_start_page_lists_the_forms_not_yet_submitted(client: httpx.AsyncClient, form_app: FormApp,
                                                               database: Database) -> None:
    first = await start_instance(client, form_app)
    start = await client.get(form_app.start)
    assert 'id="active-instances"' in start.text
    instance_path = first.rsplit("/Task_1/", 1)[0]
    assert instance_path in start.text


async def test_pages_come_in_the_language_chosen(client: httpx.AsyncClient, form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    page = await client.get(first + "?lang=en")
    assert "About you" in page.text and '<label class="ds-label" for="c-navn">Name' in page.text


async def test_autosave_stores_a_change_and_draws_the_page_again(client: httpx.AsyncClient,
                                                                form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    page = await client.get(first)
    autosave = re.search(r'data-autosave="([^"]+)"', page.text)
    assert autosave is not None and autosave[1] == first + "/save"
    # what htmx posts on a change: the whole form
    response = await post(client, autosave[1], page.text, navn="Kari", harHund="nei")
    assert response.status_code == 200 and 'id="form-body"' in response.text
    # the message field is hidden by the answer, and so is the dogs' page
    assert 'id="c-melding"' not in response.text and "Side 1 av 3" in response.text
    again = await client.get(first)
    assert 'value="Kari"' in again.text


async def test_the_start_page_takes_only_its_own_path_and_unknown_paths_stay_problems(
        client: httpx.AsyncClient, form_app: FormApp) -> None:
    assert (await client.get(form_app.start)).status_code == 303  # to the login
    missing = await client.get("/ttd/no-such-app/")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    # a two-segment path no route has is not redirected to the start page's shape
    unknown = await client.get("/events/no-such-thing")
    assert unknown.status_code == 404


def field_tag(html: str, field_id: str) -> str:
    found = re.search(rf'<(?:input|textarea|select)[^>]*id="{field_id}"[^>]*>', html)
    assert found is not None, html
    return found[0]


async def test_autosave_shows_the_messages_of_the_fields_the_person_changes(client: httpx.AsyncClient,
                                                                          form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    page = await client.get(first)
    save = first + "/save"
    # a field left with a value the app's validation refuses: the message stands by the field, which names it
    response = await post(client, save, page.text, harHund="ja", melding="hei")
    assert response.status_code == 200
    melding = field_tag(response.text, "c-melding")
    assert 'aria-invalid="true"' in melding and 'aria-describedby="c-melding-messages"' in melding
    assert '<div id="c-melding-messages"' in response.text and "Meldingen kan ikke bare være «hei»" in response.text
    # a required field the person has not come to yet says nothing; nor does a summary come up while typing
    assert "Du må fylle ut Navn" not in response.text and 'aria-invalid' not in field_tag(response.text, "c-navn")
    assert 'id="error-summary"' not in response.text and 'name="touched" value="melding"' in response.text
    # a required field filled in, then emptied: now it is missing
    response = await post(client, save, response.text, navn="Kari")
    response = await post(client, save, response.text, navn="")
    assert "Du må fylle ut Navn." in response.text and 'aria-invalid="true"' in field_tag(response.text, "c-navn")
    # corrected, the messages go
    response = await post(client, save, response.text, navn="Kari", melding="Hei på deg")
    assert "Du må fylle ut Navn" not in response.text and "«hei»" not in response.text
    assert "aria-invalid" not in response.text


async def test_after_a_refused_submit_the_summary_follows_the_fields_as_they_are_corrected(
        client: httpx.AsyncClient, form_app: FormApp) -> None:
    first = await start_instance(client, form_app)
    page = await client.get(first)
    response = await post(client, first, page.text, action="save", harHund="ja", melding="hei")
    summary_path = first.replace("/personalia", "/oppsummering")
    summary = await client.get(summary_path)
    refused = await post(client, summary_path, summary.text, action="submit")
    assert refused.status_code == 422
    # on the field's own page, autosave keeps the summary and the fields' messages to what is still wrong
    page = await client.get(first)
    refused = await post(client, first, page.text, action="submit")
    assert refused.status_code == 422 and 'id="error-summary"' in refused.text
    assert '<a class="ds-link" href="#c-navn">Du må fylle ut Navn.</a>' in refused.text
    assert "«hei»" in refused.text
    response = await post(client, first + "/save", refused.text, navn="Kari")
    assert response.status_code == 200 and 'id="error-summary-slot"' in response.text
    assert "Du må fylle ut Navn" not in response.text
    assert 'id="error-summary"' in response.text and "«hei»" in response.text  # still wrong, still listed
    response = await post(client, first + "/save", response.text, melding="Hei på deg")
    assert 'id="error-summary"' not in response.text and "«hei»" not in response.text
