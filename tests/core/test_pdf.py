"""PDF rendering: what is written can be read back as text (pypdf), Norwegian and Sámi letters included, and
a letter's addresses sit where a window envelope shows them."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from felles.core.pdf import (
    PAGE_HEIGHT,
    WINDOW_HEIGHT,
    WINDOW_LEFT,
    WINDOW_TOP,
    WINDOW_WIDTH,
    Document,
    Fields,
    Heading,
    Letter,
    Paragraph,
    PdfRenderer,
    PostalAddress,
    Section,
    Table,
    static_fonts,
)

POINTS_PER_MM = 72 / 25.4


@pytest.fixture(scope="module")
def renderer(tmp_path_factory) -> PdfRenderer:
    return PdfRenderer(tmp_path_factory.mktemp("fonts"))

RECEIPT = Document(
    title="Kvittering for innsendt skjema – Søknad om barnehageplass",
    created_at=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    sections=[
        Section("Innsending", [Fields([("Innsendt av", "Kari Nordmann"), ("Organisasjon", "Ærlige Øl og Åkre AS"),
                                       ("Tidspunkt", "04.12.2026 kl. 13:00")])]),
        Section("Svar", [
            Heading("Barnet"),
            Paragraph("Sofie Nordmann ønsker plass i Bjørkelia barnehage fra august. Giellaoahppu: "
                      "áčđŋšŧž ÁČĐŊŠŦŽ. Forelder: Олена Шевченко."),
            Table(["Vedlegg", "Størrelse", "Kontroll"], [[f"vedlegg-{n}.pdf", f"{n * 10} kB", "Ingen virus funnet"]
                                                         for n in range(1, 120)]),
        ]),
    ],
)


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


async def test_a_document_reads_back_as_text_with_norwegian_sami_and_cyrillic_letters(renderer):
    pdf = await renderer.document(RECEIPT)
    assert pdf.startswith(b"%PDF-")
    pages = text_of(pdf)
    everything = " ".join(" ".join(pages).split())  # lines wrap where the page ends
    for expected in ("Kvittering for innsendt skjema – Søknad om barnehageplass", "Innsendt av", "Kari Nordmann",
                     "Ærlige Øl og Åkre AS", "Sofie Nordmann ønsker plass i Bjørkelia barnehage",
                     "áčđŋšŧž ÁČĐŊŠŦŽ", "Олена Шевченко", "vedlegg-1.pdf", "vedlegg-119.pdf", "Ingen virus funnet"):
        assert expected in everything
    # A long table runs over pages, each with its column headings again and "page n of m" at the foot.
    assert len(pages) >= 3
    assert all("Vedlegg" in page and "Størrelse" in page for page in pages[1:])
    assert all(f"Side {number} av {len(pages)}" in page for number, page in enumerate(pages, start=1))
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == RECEIPT.title


async def test_the_same_document_gives_the_same_bytes_when_its_time_is_given(renderer):
    assert await renderer.document(RECEIPT) == await renderer.document(RECEIPT)


async def test_documents_rendered_at_once_each_carry_their_own_letters(renderer):
    """The fonts are parsed once per process and shared: each document still embeds the letters it uses."""
    texts = ["Kari Nordmann bor på Ørnes", "Giellaoahppu: áčđŋšŧž", "Олена Шевченко", "Ægir & Åse"]
    documents = [Document(title=f"Kvittering {number}", sections=[Section(None, [Paragraph(text)])])
                 for number, text in enumerate(texts)]
    pdfs = await asyncio.gather(*(renderer.document(document) for document in documents * 3))
    for number, pdf in enumerate(pdfs):
        read = " ".join(text_of(pdf))
        assert f"Kvittering {number % len(texts)}" in read and texts[number % len(texts)] in read
        assert not any(other in read for other in texts if other != texts[number % len(texts)])
    assert await renderer.document(documents[0]) != await renderer.document(documents[1])


async def test_page_numbers_follow_the_documents_language(renderer):
    english = Document(title="Receipt", language="en", sections=[Section(None, [Paragraph("Thank you.")])])
    assert "Page 1 of 1" in text_of(await renderer.document(english))[0]


def positions(pdf: bytes) -> dict[str, tuple[float, float]]:
    """Where each piece of text of the first page starts, in millimetres from the top left corner."""
    found: dict[str, tuple[float, float]] = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.setdefault(text.strip(), (tm[4] / POINTS_PER_MM, PAGE_HEIGHT - tm[5] / POINTS_PER_MM))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return found


async def test_a_letter_shows_the_addresses_in_the_envelope_window(renderer):
    letter = Letter(
        sender=PostalAddress("Skatteetaten", ["Postboks 9200 Grønland"], "0134", "OSLO"),
        recipient=PostalAddress("Ola Nordmann", ["Storgata 1", "c/o Kari Nordmann"], "9990", "BÅTSFJORD"),
        dated=date(2026, 12, 4), reference="2026/4711",
        document=Document(title="Vedtak om skatteoppgjør", sections=[Section(None, [Paragraph(
            "Du får igjen 1 234 kroner på skatten.")])]),
    )
    pdf = await renderer.letter(letter)
    text = text_of(pdf)[0]
    for expected in ("Ola Nordmann", "Storgata 1", "9990 BÅTSFJORD", "Skatteetaten, Postboks 9200 Grønland, 0134 OSLO",
                     "Dato", "04.12.2026", "Vår referanse", "2026/4711", "Vedtak om skatteoppgjør",
                     "Du får igjen 1 234 kroner på skatten."):
        assert expected in text
    where = positions(pdf)
    for line in ("Ola Nordmann", "Storgata 1", "c/o Kari Nordmann", "9990 BÅTSFJORD"):
        x, y = where[line]
        assert WINDOW_LEFT < x < WINDOW_LEFT + WINDOW_WIDTH
        assert WINDOW_TOP + 5 < y < WINDOW_TOP + WINDOW_HEIGHT, line  # below the return address
    assert where["Vedtak om skatteoppgjør"][1] > WINDOW_TOP + WINDOW_HEIGHT  # the text starts below the window


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
async def test_a_letter_abroad_names_the_country(renderer, language):
    letter = Letter(sender=PostalAddress("Digdir", ["Postboks 1382 Vika"], "0114", "OSLO"),
                    recipient=PostalAddress("Áile Sara", ["Storgatan 5"], "981 31", "Kiruna", country="Sverige"),
                    dated=date(2026, 12, 4),
                    document=Document(title="Brev", language=language, sections=[]))
    text = text_of(await renderer.letter(letter))[0]
    assert "Áile Sara" in text and "981 31 Kiruna" in text and "SVERIGE" in text


def test_the_static_fonts_are_made_once_and_then_reused(renderer):
    made = static_fonts(renderer.fonts_folder)
    assert set(made) == {"", "B"} and all(path.stat().st_size > 10_000 for path in made.values())
    modified = {style: path.stat().st_mtime_ns for style, path in made.items()}
    assert {style: path.stat().st_mtime_ns for style, path in static_fonts(renderer.fonts_folder).items()} == modified
    assert sorted(path.name for path in renderer.fonts_folder.iterdir()) == sorted(path.name for path in made.values())
