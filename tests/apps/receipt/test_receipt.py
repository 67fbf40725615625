"""The PDF receipt reads back as the form showed it: labels and values in the chosen language, option labels,
formatted numbers and dates, a repeating group as a table of its visible rows, attachments listed; what dynamics
hid, and what the layout set excludes from the PDF, is not in it."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from felles.apps import tasks
from felles.apps.definition import load_app
from felles.apps.deployment import RunningApp
from felles.apps.receipt import (
    GENERATED_BY_TASK,
    RECEIPT_DATA_TYPE,
    Attachment,
    PdfIfRequestedTask,
    PdfTask,
    ReceiptInput,
    app_title,
    asks_for_pdf,
    form_data_types,
    pdf_filename,
    pdf_tasks,
    receipt_document,
    receipt_language,
    store_receipt_in_transaction,
)
from felles.core.pdf import PdfRenderer, Table
from felles.storage import service as storage
from tests.apps.conftest import REFERENCE_APPS
from tests.apps.receipt.conftest import APP_FOLDER, FORM, KARI, instance_in_task, kari_caller, task_context

GUID = "0191f3a2-7c1e-7b7a-9a43-5d2c8e1f4a6b"


@pytest.fixture(scope="session")
def renderer(data_dir: Path) -> PdfRenderer:
    return PdfRenderer(data_dir / "fonts")  # the fonts the app's renderer makes there, made once


def receipt(language: str = "nb", form: dict | None = None) -> ReceiptInput:
    return ReceiptInput(
        instance_id=f"50001337/{GUID}", owner="12838404268 Kari Nordmann",
        submitted=datetime(2026, 12, 4, 11, 30, tzinfo=UTC), task_ids=["Task_1"], form_data={"skjema": form or FORM},
        attachments=[Attachment("vedlegg", "legeerklæring.pdf", "e1"), Attachment("skjema", None, "e2"),
                     Attachment("ref-data-as-pdf", "old.pdf", "e3")],
        language=language,
    )


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_the_receipt_shows_what_the_form_showed(renderer: PdfRenderer) -> None:
    text = text_of(await renderer.document(receipt_document(load_app(APP_FOLDER), receipt())))
    for expected in ("Kvittering – Søknad om parkeringstillatelse", "12838404268 Kari Nordmann",
                     "04.12.2026 12:30",  # Norwegian time
                     "5d2c8e1f4a6b",  # the reference number: the instance id's last part
                     "Om deg", "Opplysninger om søkeren", "Fyll inn alle feltene.", "Fullt navn", "Kari Nordmann",
                     "1 234 567,5 kr", "24.12.2026", "Sone B – ytre by", "Hund, Hest",
                     "Dine kjøretøy", "Registreringsnummer", "EL12345", "Volkswagen", "AB98765", "Tesla",
                     "Legeerklæring", "legeerklæring.pdf"):
        assert expected in text, expected
    for hidden in ("Verge", "Ola Verge",  # hidden by its expression: the applicant is of age
                   "SKJULT", "Volvo",  # a row hidden by hiddenRow
                   "Ikke for søkeren", "Saksbehandlers notat", "Intern merknad",  # excluded from the PDF
                   "old.pdf", "Neste"):
        assert hidden not in text, hidden


async def test_a_component_shown_by_the_data_is_in_the_receipt(renderer: PdfRenderer) -> None:
    text = text_of(await renderer.document(receipt_document(load_app(APP_FOLDER),
                                                            receipt(form={**FORM, "alder": 16}))))
    assert "Verge" in text and "Ola Verge" in text


async def test_the_receipt_is_written_in_the_language_asked_for(renderer: PdfRenderer) -> None:
    app = load_app(APP_FOLDER)
    english = text_of(await renderer.document(receipt_document(app, receipt("en"))))
    assert "Receipt – Parking permit application" in english and "Zone B – outskirts" in english
    assert "Reference number" in english and "Registration number" in english
    # nn is not among the app's texts: the receipt falls back to nb
    nynorsk = text_of(await renderer.document(receipt_document(app, receipt("nn"))))
    assert "Fullt navn" in nynorsk and "Referansenummer" in nynorsk


def test_the_receipt_lists_attachments_but_not_form_data_or_earlier_receipts() -> None:
    document = receipt_document(load_app(APP_FOLDER), receipt())
    attachments = document.sections[-1]
    assert attachments.heading == "Vedlegg"
    assert attachments.blocks[0].rows == [["legeerklæring.pdf", "vedlegg"]]  # type: ignore[union-attr]


async def test_the_pdf_task_keeps_the_receipt_as_the_instance_s_pdf_and_replaces_it_when_run_again(
        runtime, receipt_app, database, client, kari) -> None:
    instance_id = await instance_in_task(runtime, receipt_app, "PdfTask_Task_1")
    caller = await kari_caller(database)
    for _ in range(2):  # as when a rejected form comes back through the task
        async with database.transaction() as session:
            instance = await storage.instance_row(session, instance_id, lock=True)
            await PdfTask().on_enter(task_context(session, runtime, receipt_app, instance, "PdfTask_Task_1", caller))
    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id)
        elements = (await storage.data_elements_of(session, [instance_id]))[instance_id]
    pdfs = [element for element in elements if element.data_type == RECEIPT_DATA_TYPE]
    assert len(pdfs) == 1
    assert (pdfs[0].filename, pdfs[0].content_type) == ("Kvittering parkering.pdf", "application/pdf")
    text = text_of(await storage.read_data_bytes(runtime.blobs, pdfs[0]))
    assert f"{KARI}-" in text and "1 234 567,5 kr" in text and "Volkswagen" in text and "Ola Verge" not in text

    # The instance's PDF reads back through the app API as the instance shows it.
    shown = await client.get(f"{receipt_app.path(instance_id)}/data/{elements[0].id}/pdf/format", headers=kari)
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"excludedPages": ["Intern"], "excludedComponents": ["hemmelig-felt"]}


async def test_the_pdf_format_is_for_form_data_and_for_those_who_may_read(runtime, receipt_app, database, client,
                                                                          kari, ola) -> None:
    instance_id = await instance_in_task(runtime, receipt_app, "Task_1")
    path = receipt_app.path(instance_id)
    async with database.transaction() as session:
        element = (await storage.data_elements_of(session, [instance_id]))[instance_id][0]
    refused = await client.get(f"{path}/data/{element.id}/pdf/format", headers=ola)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    missing = await client.get(f"{path}/data/{uuid.uuid4()}/pdf/format", headers=kari)
    assert missing.status_code == 404


def test_a_pdf_task_writes_the_tasks_it_names_or_those_its_pdf_layout_summarises(reference_apps) -> None:
    service_task = load_app(reference_apps / "altinn-studio-service-task")
    assert service_task.process is not None
    tasks = service_task.process.tasks
    assert pdf_tasks(service_task, tasks["Task_PDF_Auto"]) == ["Task_Utfylling1", "Task_Utfylling2"]
    assert pdf_tasks(service_task, tasks["Task_PDF_Layout"]) == ["Task_Utfylling1", "Task_Utfylling2"]
    assert pdf_filename(service_task, "nb", "layoutSetBasedPdf") == "PDF basert på layout-set.pdf"
    assert pdf_filename(service_task, "nb", None) == "service-task.pdf"


async def test_leaving_a_data_task_whose_form_says_enable_pdf_creation_makes_its_receipt(runtime, receipt_app,
                                                                                         database) -> None:
    caller = await kari_caller(database)
    for enabled in (False, True):
        for data_type in receipt_app.definition.metadata["dataTypes"]:
            if data_type["id"] == "skjema":
                data_type["enablePdfCreation"] = enabled
        instance_id = await instance_in_task(runtime, receipt_app, "Task_1")
        async with database.transaction() as session:
            instance = await storage.instance_row(session, instance_id, lock=True)
            ctx = task_context(session, runtime, receipt_app, instance, "Task_1", caller)
            await tasks.handler_for(ctx.task).on_leave(ctx)
            elements = (await storage.data_elements_of(session, [instance_id]))[instance_id]
        made = [element.metadata_items for element in elements if element.data_type == RECEIPT_DATA_TYPE]
        assert made == ([[{"key": GENERATED_BY_TASK, "value": "Task_1"}]] if enabled else [])


async def test_the_receipt_to_download_is_the_one_made_or_one_written_now(runtime, receipt_app, database, client,
                                                                          kari, ola) -> None:
    instance_id = await instance_in_task(runtime, receipt_app, "Task_1")
    path = receipt_app.path(instance_id)
    written = await client.get(f"{path}/receipt", headers=kari)
    assert written.status_code == 200 and written.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''S%C3%B8knad%20om%20parkeringstillatelse.pdf" in written.headers["content-disposition"]
    assert "Kari Nordmann" in text_of(written.content)
    assert (await client.get(f"{path}/receipt", headers=ola)).status_code == 403

    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id, lock=True)
        kept = await store_receipt_in_transaction(session, runtime, RunningApp(receipt_app.definition, 1), instance,
                                                  generated_by="PdfTask_Task_1", task_ids=["Task_1"], language="en",
                                                  actor="1337", filename_text_key="pdf.filnavn")
    made = await client.get(f"{path}/receipt", headers=kari)
    assert made.content == await storage.read_data_bytes(runtime.blobs, kept)
    assert 'filename="Parking receipt.pdf"' in made.headers["content-disposition"]


async def test_pdf_if_requested_makes_the_receipt_only_when_the_form_asks_for_it(runtime, receipt_app,
                                                                                database) -> None:
    assert asks_for_pdf({"CreatePdf": True}) and asks_for_pdf({"PdfSettings": {"CreatePdf": True}})
    assert not asks_for_pdf({"PdfSettings": {"CreatePdf": False}})
    assert not asks_for_pdf({"a": {"b": {"CreatePdf": True}}})
    instance_id = await instance_in_task(runtime, receipt_app, "PdfTask_Task_1")
    async with database.transaction() as session:
        instance = await storage.instance_row(session, instance_id, lock=True)
        ctx = task_context(session, runtime, receipt_app, instance, "PdfTask_Task_1", await kari_caller(database))
        await PdfIfRequestedTask().on_enter(ctx)
        elements = (await storage.data_elements_of(session, [instance_id]))[instance_id]
    assert [element.data_type for element in elements] == ["skjema"]


def test_a_likert_is_a_table_of_its_questions_and_the_answers_labels(reference_apps) -> None:
    app = load_app(reference_apps / "altinn-studio-component-library")
    rows = [{"Id": f"question-{n}", "Answer": str(n)} for n in range(1, 6)]
    document = receipt_document(app, ReceiptInput(
        instance_id=f"1/{GUID}", owner="Kari", submitted=datetime(2026, 12, 4, tzinfo=UTC), task_ids=["Task_1"],
        form_data={"model": {"LikertExample": rows}}))
    tables = [block for section in document.sections for block in section.blocks
              if isinstance(block, Table) and block.columns[0] == "Spørsmål"]
    assert tables, "the Likert is written as a table"
    # its filter shows rows 0 to 3; each answer by its option's label
    assert tables[0].rows == [["Gjør du leksene dine?", "Alltid"], ["Fungerer kalkulatoren din?", "Nesten alltid"],
                              ["Er pulten din ryddig?", "Ofte"]]


REFERENCE_APP_FOLDERS = sorted(path for path in REFERENCE_APPS.iterdir() if path.is_dir())


@pytest.mark.parametrize("folder", REFERENCE_APP_FOLDERS, ids=lambda folder: folder.name)
async def test_every_reference_apps_empty_form_makes_a_receipt(folder: Path, renderer: PdfRenderer) -> None:
    app = load_app(folder)
    assert app.process is not None
    data_tasks = [task.id for task in app.process.tasks.values()
                  if task.task_type == "data" and app.layout_set_for_task(task.id)]
    document = receipt_document(app, ReceiptInput(
        instance_id=f"1/{GUID}", owner="Kari", submitted=datetime(2026, 12, 4, tzinfo=UTC), task_ids=data_tasks,
        form_data={data_type: {} for data_type in form_data_types(app)}))
    words = " ".join(text_of(await renderer.document(document)).split())  # lines wrap where they must
    assert app_title(app, receipt_language(app, "nb")) in words and "5d2c8e1f4a6b" in words
