"""The PDF receipt reads back as the form showed it: labels and values in the chosen language, option labels,
formatted numbers and dates, a repeating group as a table of its visible rows, attachments listed; what dynamics
hid, and what the layout set excludes from the PDF, is not in it."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from felles.apps.definition import load_app
from felles.apps.receipt import Attachment, ReceiptInput, receipt_document
from felles.core.pdf import PdfRenderer

APP_FOLDER = Path(__file__).parent / "receipt_app"
GUID = "0191f3a2-7c1e-7b7a-9a43-5d2c8e1f4a6b"

FORM = {
    "navn": "Kari Nordmann", "alder": 42, "belop": 1234567.5, "dato": "2026-12-24", "sone": "b", "dyr": "hund,hest",
    "verge": "Ola Verge", "hemmelig": "Ikke for søkeren",
    "kjoretoy": [{"regnr": "EL12345", "merke": "vw"}, {"regnr": "SKJULT", "merke": "volvo"},
                 {"regnr": "AB98765", "merke": "tesla"}],
}


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> PdfRenderer:
    return PdfRenderer(tmp_path_factory.mktemp("fonts"))


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
