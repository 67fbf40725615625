"""PDF rendering of documents the platform writes: receipts, copies of submissions, letters for print.

A document is a title and sections of headings, paragraphs, label/value pairs and tables
(`PdfRenderer.document`); a letter (`PdfRenderer.letter`) adds, on its first page, the sender's return address
and the recipient's address where a window envelope shows them, for paper mail. The text is real text in an
embedded font (Noto Sans, which has every letter of Norwegian and the Sámi languages, and Greek and Cyrillic for
names), so it can be searched, copied and read aloud. The font ships in a Python package, so no system font is
needed; as it is a variable font covering many scripts, the renderer makes static instances of it, cut to those
alphabets (regular and bold), once into `FELLES_DATA_DIR/fonts`, and embeds those (subset again to the letters
used).

Rendering is CPU work: the renderer's methods run it in a worker thread.
"""

from __future__ import annotations

import asyncio
import copy
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from importlib.resources import as_file, files
from pathlib import Path
from typing import Literal

from fontTools import subset, ttLib
from fontTools.varLib import instancer
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TTFFont

from felles.core.config import Settings

FONT = "NotoSans"
_FONT_PACKAGE = "fontpkg-noto-sans"
_FONT_FILES = files("fontpkg_noto_sans") / "files"
# Each style is an instance of the variable font's weight and width axes.
_STYLES: dict[str, tuple[str, dict[str, float]]] = {
    "": ("NotoSans[wdth,wght].ttf", {"wght": 400, "wdth": 100}),
    "B": ("NotoSans[wdth,wght].ttf", {"wght": 700, "wdth": 100}),
}
# The letters the static instances keep: Latin (Norwegian, Sámi and the rest of Europe's), Greek and
# Cyrillic (names), punctuation (dashes, quotes « »), €. Other letters are left out of the PDF (and logged by
# fpdf2). Changing it, or the tables kept, needs a new _SUBSET_VERSION, which names the cached files.
_ALPHABETS = ((0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x1E00, 0x1EFF), (0x2000, 0x206F),
              (0x20AC, 0x20AC), (0x2122, 0x2122))
# The OpenType layout tables: fpdf2 leaves them out of every PDF it writes (the renderer does not shape text), yet
# fontTools reads them whole each time fpdf2 cuts a font down to a document's letters (about half a document's
# cost), so the static instances go without them.
_LAYOUT_TABLES = ("GDEF", "GPOS", "GSUB")
_SUBSET_VERSION = 3

Language = Literal["nb", "nn", "en"]
_PAGE = {"nb": "Side {page} av {pages}", "nn": "Side {page} av {pages}", "en": "Page {page} of {pages}"}

# A4 in millimetres, and the address window of DIN 5008 form B, which C4, C5 and DL window envelopes show
# when the letter is folded in three (fold marks at 105 and 210 mm): 20 mm from the left edge, 45 mm from the
# top, 85 × 45 mm, its top 5 mm for the return address in small print.
PAGE_HEIGHT = 297.0
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 25.0, 20.0, 20.0, 20.0
WINDOW_LEFT, WINDOW_TOP, WINDOW_WIDTH, WINDOW_HEIGHT = 20.0, 45.0, 85.0, 45.0
RETURN_ADDRESS_HEIGHT = 5.0
FOLD_MARKS = (105.0, 210.0)
# The letter's text starts below the window.
LETTER_BODY_TOP = 98.0


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Fields:
    """Label/value pairs, such as the answers of a form or the details of a receipt."""

    pairs: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


Block = Heading | Paragraph | Fields | Table


@dataclass(frozen=True)
class Section:
    heading: str | None
    blocks: Sequence[Block]


@dataclass(frozen=True)
class Document:
    title: str
    sections: Sequence[Section]
    language: Language = "nb"
    author: str = "Felles"
    # Fixed in the file (and so the same bytes for the same document) when given; else the time of rendering.
    created_at: datetime | None = None


@dataclass(frozen=True)
class PostalAddress:
    name: str
    lines: Sequence[str]  # street address, c/o, post box
    postal_code: str
    city: str
    country: str | None = None  # only abroad

    def as_lines(self) -> list[str]:
        return [self.name, *self.lines, f"{self.postal_code} {self.city}".strip(),
                *([self.country.upper()] if self.country else [])]


@dataclass(frozen=True)
class Letter:
    sender: PostalAddress
    recipient: PostalAddress
    document: Document
    dated: date
    reference: str | None = None  # "Vår referanse"
    details: Sequence[tuple[str, str]] = field(default_factory=tuple)  # beside the address: dates, case numbers


class _Pages(FPDF):
    def __init__(self, document: Document, fonts: dict[str, Path]) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.document = document
        self.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
        self.set_auto_page_break(auto=True, margin=MARGIN_BOTTOM)
        for style, path in fonts.items():
            _add_parsed_font(self, style, path)
        self.set_lang(document.language)
        self.set_title(document.title)
        self.set_author(document.author)
        self.set_creator("Felles")
        self.set_creation_date(document.created_at or datetime.now(UTC))
        self.alias_nb_pages("{pages}")

    def footer(self) -> None:
        self.set_y(-MARGIN_BOTTOM + 5)
        self.set_font(FONT, "", 8)
        self.cell(0, 5, _PAGE[self.document.language].format(page=self.page_no(), pages="{pages}"), align="R")

    def title_and_sections(self) -> None:
        self.set_font(FONT, "B", 16)
        self.multi_cell(0, 8, self.document.title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)
        for section in self.document.sections:
            if section.heading:
                self._heading(section.heading, size=13)
            for block in section.blocks:
                self._block(block)

    def _heading(self, text: str, *, size: int = 11) -> None:
        self.ln(2)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def _block(self, block: Block) -> None:
        match block:
            case Heading(text):
                self._heading(text)
            case Paragraph(text):
                self.set_font(FONT, "", 10)
                self.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                self.ln(2)
            case Fields(pairs):
                self.set_font(FONT, "", 10)
                with self.table(col_widths=(2, 3), first_row_as_headings=False, text_align="LEFT",
                                borders_layout=TableBordersLayout.NONE, line_height=5, padding=(1, 2, 1, 0)) as table:
                    for label, value in pairs:
                        row = table.row()
                        self.set_font(FONT, "B", 10)
                        row.cell(label)
                        self.set_font(FONT, "", 10)
                        row.cell(value)
                self.ln(2)
            case Table(columns, rows):
                self.set_font(FONT, "", 9)
                with self.table(text_align="LEFT", line_height=5,
                                headings_style=FontFace(family=FONT, emphasis="BOLD"), repeat_headings=1) as table:
                    table.row(list(columns))
                    for values in rows:
                        table.row(list(values))
                self.ln(2)


# fpdf2 parses a font file (its metrics and character map, for the widths of text) in `add_font`: about half the
# cost of a short document. The parsed fonts are kept per process; each document gets its own copy of one, with
# the file opened afresh (fpdf2 cuts the font down to the letters a document uses in place, as it writes it) and
# its own record of the letters used.
_parsed_fonts: dict[tuple[Path, str], TTFFont] = {}
_parsing = threading.Lock()


def _add_parsed_font(pdf: FPDF, style: str, path: Path) -> None:
    """What `pdf.add_font(FONT, style, path)` does, from the font parsed once per process."""
    with _parsing:
        if (path, style) not in _parsed_fonts:
            parser = FPDF()
            parser.add_font(FONT, style, path)
            added = parser.fonts[f"{FONT.lower()}{style}"]
            assert isinstance(added, TTFFont)
            _parsed_fonts[(path, style)] = added
        parsed = _parsed_fonts[(path, style)]
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    # The glyphs' boxes are already right in the static fonts, and a subset does not change them: not measuring
    # them again as the font is written saves decoding and encoding each glyph's outline.
    font.ttfont = ttLib.TTFont(path, recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    font.desc = copy.copy(parsed.desc)  # written to as the PDF is written (its object number, its font file)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font


class PdfRenderer:
    """Renders documents and letters with the fonts kept in `fonts_folder`."""

    def __init__(self, fonts_folder: Path) -> None:
        self.fonts_folder = fonts_folder
        self._fonts: dict[str, Path] | None = None

    def _static_fonts(self) -> dict[str, Path]:
        if self._fonts is None:
            self._fonts = static_fonts(self.fonts_folder)
        return self._fonts

    async def document(self, document: Document) -> bytes:
        """The document as a PDF (A4, page numbers in the document's language)."""
        return await asyncio.to_thread(self._document, document)

    async def letter(self, letter: Letter) -> bytes:
        """A letter for print and window envelopes: the return address and the recipient's address in the
        window of the first page, the date and references beside it, fold marks in the margin, then the
        document."""
        return await asyncio.to_thread(self._letter, letter)

    def _document(self, document: Document) -> bytes:
        pdf = _Pages(document, self._static_fonts())
        pdf.add_page()
        pdf.title_and_sections()
        return bytes(pdf.output())

    def _letter(self, letter: Letter) -> bytes:
        pdf = _Pages(letter.document, self._static_fonts())
        pdf.add_page()
        _fold_marks(pdf)
        pdf.set_font(FONT, "", 7)
        pdf.set_xy(WINDOW_LEFT + 5, WINDOW_TOP + 1)
        pdf.cell(WINDOW_WIDTH - 10, 3, ", ".join(letter.sender.as_lines()))
        pdf.set_font(FONT, "", 10)
        pdf.set_xy(WINDOW_LEFT + 5, WINDOW_TOP + RETURN_ADDRESS_HEIGHT + 3)
        for line in letter.recipient.as_lines()[:7]:  # what fits the window
            pdf.set_x(WINDOW_LEFT + 5)
            pdf.cell(WINDOW_WIDTH - 10, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_xy(WINDOW_LEFT + WINDOW_WIDTH + 20, WINDOW_TOP + RETURN_ADDRESS_HEIGHT + 3)
        for label, value in [*_dated(letter), *letter.details]:
            pdf.set_x(WINDOW_LEFT + WINDOW_WIDTH + 20)
            pdf.set_font(FONT, "B", 8)
            pdf.cell(30, 5, label)
            pdf.set_font(FONT, "", 8)
            pdf.cell(0, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(LETTER_BODY_TOP)
        pdf.title_and_sections()
        return bytes(pdf.output())


_renderers: dict[Path, PdfRenderer] = {}


def open_pdf_renderer(settings: Settings) -> PdfRenderer:
    """The renderer of the data folder's fonts, one per process (it keeps the fonts' paths once found)."""
    folder = settings.data_dir / "fonts"
    if folder not in _renderers:
        _renderers[folder] = PdfRenderer(folder)
    return _renderers[folder]


def static_fonts(folder: Path) -> dict[str, Path]:
    """The static instance of each style in `folder`, made there first if missing (a few seconds, once;
    each file is written whole or not at all, so processes may race to make it)."""
    paths = {style: folder / f"NotoSans-{version(_FONT_PACKAGE)}-{_SUBSET_VERSION}-{style or 'R'}.ttf"
             for style in _STYLES}
    missing = {style for style, path in paths.items() if not path.exists()}
    for source in sorted({_STYLES[style][0] for style in missing}):
        with as_file(_FONT_FILES / source) as source_path:
            variable = ttLib.TTFont(source_path)
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.drop_tables += list(_LAYOUT_TABLES)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[code for first, last in _ALPHABETS for code in range(first, last + 1)])
        subsetter.subset(variable)
        for style in sorted(style for style in missing if _STYLES[style][0] == source):
            static = instancer.instantiateVariableFont(variable, _STYLES[style][1], static=True)
            # The glyph names written down (post format 2): fontTools reads them back faster than it derives them
            # from the character map, which it does for every document's subset.
            static["post"].formatType = 2.0
            static["post"].extraNames = []
            static["post"].mapping = {}
            folder.mkdir(parents=True, exist_ok=True)
            temporary = folder / f".{uuid.uuid4().hex}.ttf"
            static.save(temporary)
            os.replace(temporary, paths[style])
    return paths


_DATE_LABELS = {"nb": ("Dato", "Vår referanse"), "nn": ("Dato", "Vår referanse"), "en": ("Date", "Our reference")}


def _dated(letter: Letter) -> list[tuple[str, str]]:
    date_label, reference_label = _DATE_LABELS[letter.document.language]
    dated = letter.dated.strftime("%d.%m.%Y") if letter.document.language != "en" else letter.dated.isoformat()
    return [(date_label, dated), *([(reference_label, letter.reference)] if letter.reference else [])]


def _fold_marks(pdf: FPDF) -> None:
    pdf.set_line_width(0.2)
    for y in FOLD_MARKS:
        pdf.line(3, y, 8, y)
    pdf.line(3, PAGE_HEIGHT / 2, 10, PAGE_HEIGHT / 2)  # the punch mark, halfway down
