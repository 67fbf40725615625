"""PDF rendering of documents the platform writes: receipts, copies of submissions, letters for print.

A document is a title and sections of headings, paragraphs, label/value pairs and tables
(`PdfRenderer.document`); a letter (`PdfRenderer.letter`) adds, on its first page, the sender's return address
and the recipient's address where a window envelope shows them, for paper mail. The text is real text in an
embedded font (Noto Sans, which has every letter of Norwegian and the Sámi languages, and Greek and Cyrillic for
names), so it can be searched, copied and read aloud. The font ships in a Python package, so no system font is
needed; as it is a variable font covering many scripts, the renderer makes static instances of it, cut to those
alphabets (regular and bold), once into `FELLES_DATA_DIR/fonts`.

The PDF is written here, by a small writer for this layout (text lines, table borders and lines; no shaping or
kerning), not by a general PDF library: a receipt is made on every submission, and a general library's layout and
per-document font cutting cost some 50 ms a receipt against 2–3 ms here. Each font is embedded as a Type 0 font
(Identity-H, with a ToUnicode map so that the text extracts) cut to Norwegian, Sámi and Latin-1 letters once per
process; a document with other letters (Greek or Cyrillic names) gets a cut with those too, kept for the next.

Rendering is CPU work: the renderer's methods run it in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from importlib.resources import as_file, files
from pathlib import Path
from typing import Literal

from fontTools import subset, ttLib
from fontTools.varLib import instancer

from felles.core.config import Settings

_FONT_PACKAGE = "fontpkg-noto-sans"
_FONT_FILES = files("fontpkg_noto_sans") / "files"
# Each style is an instance of the variable font's weight and width axes.
_STYLES: dict[str, tuple[str, dict[str, float]]] = {
    "": ("NotoSans[wdth,wght].ttf", {"wght": 400, "wdth": 100}),
    "B": ("NotoSans[wdth,wght].ttf", {"wght": 700, "wdth": 100}),
}
# The letters the static instances keep: Latin (Norwegian, Sámi and the rest of Europe's), Greek and
# Cyrillic (names), punctuation (dashes, quotes « »), €. Other letters are left out of the PDF. Changing it, or
# the tables kept, needs a new _SUBSET_VERSION, which names the cached files.
_ALPHABETS = ((0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x1E00, 0x1EFF), (0x2000, 0x206F),
              (0x20AC, 0x20AC), (0x2122, 0x2122))
# The OpenType layout tables: the renderer does not shape text, so the static instances go without them.
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


# --- the fonts, parsed and cut once per process -----------------------------------------------------------------------
# The letters every document may use without cutting the font again: Norwegian, the Sámi languages' letters, the
# rest of Latin-1 and common punctuation. A document with other letters (Greek or Cyrillic names, say) gets a font
# cut to these and its own, made then and kept for the next document with the same letters.
_BASE_LETTERS = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x100), *map(ord, "čČđĐŋŊšŠŧŦžŽʒƷǯǮǥǤǧǦǩǨ–—‘’‚“”„•…‰€™")])
_KEPT_CUTS = 64  # fonts cut for other letters, per style


class _Font:
    """A static instance of the font: what laying text out needs (its advances and character map), and its file cut to
    the base letters, compressed, ready to embed. The glyphs keep their numbers in every cut (retain_gids), so the
    text is written once whatever file it is embedded with."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        with ttLib.TTFont(path, lazy=True) as font:
            self._measure(font)
        self.bold = "B" in name
        self._cuts: OrderedDict[frozenset[int], tuple[bytes, int, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.cut(frozenset())

    def _measure(self, font: ttLib.TTFont) -> None:
        self.units: int = font["head"].unitsPerEm
        order = font.getGlyphOrder()
        metrics = font["hmtx"].metrics
        scale = 1000 / self.units
        self.advances: list[int] = [round(metrics[glyph][0] * scale) for glyph in order]
        names = {glyph: number for number, glyph in enumerate(order)}
        self.glyphs: dict[int, int] = {code: names[glyph] for code, glyph in font.getBestCmap().items()}
        head, os2 = font["head"], font["OS/2"]
        self.bbox = [round(value * scale) for value in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent = round(os2.sTypoAscender * scale)
        self.descent = round(os2.sTypoDescender * scale)
        self.cap_height = round(getattr(os2, "sCapHeight", os2.sTypoAscender) * scale)

    def cut(self, extra: frozenset[int]) -> tuple[bytes, int, str]:
        """The font file cut to the base letters and `extra`: compressed, its length, and a tag naming the cut."""
        with self._lock:
            if extra in self._cuts:
                self._cuts.move_to_end(extra)
                return self._cuts[extra]
        options = subset.Options()
        options.retain_gids = True
        options.notdef_outline = True
        options.name_IDs = []
        options.drop_tables += [*_LAYOUT_TABLES, "STAT", "gasp"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=_BASE_LETTERS | extra)
        out = io.BytesIO()
        with ttLib.TTFont(self.path, recalcTimestamp=False) as font:
            subsetter.subset(font)
            font.save(out)
        data = out.getvalue()
        digest = hashlib.sha256(data).digest()
        made = (zlib.compress(data, 6), len(data), "".join(chr(65 + byte % 26) for byte in digest[:6]))
        with self._lock:
            self._cuts[extra] = made
            while len(self._cuts) > _KEPT_CUTS + 1:
                oldest = next(key for key in self._cuts if key)  # the base cut stays
                del self._cuts[oldest]
        return made


_loaded_fonts: dict[Path, _Font] = {}
_loading = threading.Lock()


def _font(path: Path, name: str) -> _Font:
    with _loading:
        if path not in _loaded_fonts:
            _loaded_fonts[path] = _Font(path, name)
        return _loaded_fonts[path]


# --- laying out and writing ------------------------------------------------------------------------------------------
_PT = 72 / 25.4  # points per millimetre
PAGE_WIDTH = 210.0
_CELL_MARGIN = 1.0  # text inside a cell starts this far from its edge
_LINE_WIDTH = 0.2
_BREAK_AT = PAGE_HEIGHT - MARGIN_BOTTOM
_TEXT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT


class _Pages:
    """A document laid out page by page (millimetres from the top left corner), then written as a PDF."""

    def __init__(self, document: Document, fonts: dict[str, _Font]) -> None:
        self.document = document
        self.fonts = fonts
        self.used: dict[str, set[int]] = {style: set() for style in fonts}  # code points per style
        self.pages: list[list[str]] = []
        self.content: list[str] = []  # the operators of the page being laid out
        self.y = MARGIN_TOP
        self.style, self.size = "", 10.0

    # text
    def set_font(self, style: str, size: float) -> None:
        self.style, self.size = style, size

    def width(self, text: str) -> float:
        font = self.fonts[self.style]
        advances, glyphs = font.advances, font.glyphs
        return sum(advances[glyphs[code]] for code in map(ord, text) if code in glyphs) * self.size / 1000 / _PT

    def text(self, x: float, baseline: float, text: str) -> None:
        font = self.fonts[self.style]
        glyphs = font.glyphs
        codes = [code for code in map(ord, text) if code in glyphs]  # letters the font lacks are left out
        if not codes:
            return
        self.used[self.style].update(codes)
        hexed = "".join(f"{glyphs[code]:04X}" for code in codes)
        self.content.append(f"BT /F{'B' if self.style else 'R'} {self.size:g} Tf {x * _PT:.2f} "
                              f"{(PAGE_HEIGHT - baseline) * _PT:.2f} Td <{hexed}> Tj ET")

    def cell_text(self, x: float, y: float, height: float, text: str, width: float | None = None) -> None:
        """One line in a cell `height` high at (x, y); right-aligned in `width` when given."""
        baseline = y + 0.5 * height + 0.3 * self.size / _PT
        if width is None:
            self.text(x + _CELL_MARGIN, baseline, text)
        else:
            self.text(x + width - _CELL_MARGIN - self.width(text), baseline, text)

    def lines(self, text: str, width: float) -> list[str]:
        """`text` broken into lines that fit a cell `width` wide (at spaces; a word too long for a line, anywhere)."""
        font = self.fonts[self.style]
        advances, glyphs = font.advances, font.glyphs
        room = (width - 2 * _CELL_MARGIN) * _PT * 1000 / self.size  # in thousandths of the font's size

        def measure(word: str) -> int:
            return sum(advances[glyphs[code]] for code in map(ord, word) if code in glyphs)

        space = measure(" ")
        lines: list[str] = []
        for paragraph in text.replace("\r\n", "\n").replace("\t", " ").split("\n"):
            line, used = "", 0
            for word in paragraph.split(" "):
                size = measure(word)
                if line and used + space + size <= room:
                    line, used = f"{line} {word}", used + space + size
                    continue
                if line:
                    lines.append(line)
                while size > room and len(word) > 1:  # a word longer than a line is cut where the line ends
                    cut, taken = 1, measure(word[0])
                    while cut < len(word) and taken + measure(word[cut]) <= room:
                        taken += measure(word[cut])
                        cut += 1
                    lines.append(word[:cut])
                    word = word[cut:]
                    size = measure(word)
                line, used = word, size
            lines.append(line)
        return lines

    # pages and blocks
    def add_page(self) -> None:
        self.content = []
        self.pages.append(self.content)
        self.y = MARGIN_TOP

    def room_for(self, height: float) -> bool:
        """Whether `height` fits below y on this page; if not, a new page is begun (False)."""
        if self.y + height <= _BREAK_AT:
            return True
        self.add_page()
        return False

    def ln(self, height: float) -> None:
        self.y += height

    def multi_cell(self, text: str, height: float) -> None:
        for line in self.lines(text, _TEXT_WIDTH):
            self.room_for(height)
            self.cell_text(MARGIN_LEFT, self.y, height, line)
            self.y += height

    def title_and_sections(self) -> None:
        self.set_font("B", 16)
        self.multi_cell(self.document.title, 8)
        self.ln(3)
        for section in self.document.sections:
            if section.heading:
                self._heading(section.heading, size=13)
            for block in section.blocks:
                self._block(block)

    def _heading(self, text: str, *, size: int = 11) -> None:
        self.ln(2)
        self.set_font("B", size)
        self.multi_cell(text, 6)
        self.ln(1)

    def _block(self, block: Block) -> None:
        match block:
            case Heading(text):
                self._heading(text)
            case Paragraph(text):
                self.set_font("", 10)
                self.multi_cell(text, 5)
                self.ln(2)
            case Fields(pairs):
                self._fields(pairs)
                self.ln(2)
            case Table(columns, rows):
                self._table(columns, rows)
                self.ln(2)

    def _fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Label/value pairs in two columns (2:3) without borders, the labels bold."""
        label_width = _TEXT_WIDTH * 2 / 5
        for label, value in pairs:
            self.set_font("B", 10)
            labels = self.lines(label, label_width - 2)
            self.set_font("", 10)
            values = self.lines(value, _TEXT_WIDTH - label_width - 2)
            self.room_for(max(len(labels), len(values)) * 5 + 2)
            for style, x, lines in (("B", MARGIN_LEFT - _CELL_MARGIN, labels), ("", MARGIN_LEFT + label_width, values)):
                self.set_font(style, 10)
                for number, line in enumerate(lines):
                    self.cell_text(x, self.y + 1 + number * 5, 5, line)
            self.y += max(len(labels), len(values)) * 5 + 2

    def _table(self, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A table with borders, its headings bold and again at the top of each page it runs on to."""
        width = _TEXT_WIDTH / max(1, len(columns))

        def row(values: Sequence[str], style: str) -> None:
            self.set_font(style, 9)
            cells = [self.lines(str(value), width) for value in values]
            height = max(1, *(len(lines) for lines in cells)) * 5
            if not self.room_for(height) and style == "":
                row(columns, "B")
                self.set_font(style, 9)
            for number, lines in enumerate(cells):
                x = MARGIN_LEFT + number * width
                self.content.append(f"{x * _PT:.2f} {(PAGE_HEIGHT - self.y - height) * _PT:.2f} "
                                      f"{width * _PT:.2f} {height * _PT:.2f} re S")
                for line_number, line in enumerate(lines):
                    self.cell_text(x, self.y + line_number * 5, 5, line)
            self.y += height

        row(columns, "B")
        for values in rows:
            row(list(values), "")

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.content.append(f"{x1 * _PT:.2f} {(PAGE_HEIGHT - y1) * _PT:.2f} m {x2 * _PT:.2f} "
                              f"{(PAGE_HEIGHT - y2) * _PT:.2f} l S")

    # the file
    def output(self) -> bytes:
        self.set_font("", 8)
        for number, page in enumerate(self.pages, start=1):  # the footers, now that the pages are counted
            self.content = page
            self.cell_text(MARGIN_LEFT, PAGE_HEIGHT - MARGIN_BOTTOM + 5, 5,
                           _PAGE[self.document.language].format(page=number, pages=len(self.pages)),
                           width=_TEXT_WIDTH)
        return _write(self)


def _pdf_string(text: str) -> str:
    """A text string of the document's information: UTF-16BE with its byte order mark, as hexadecimal."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _write(pages: _Pages) -> bytes:
    document = pages.document
    objects: list[bytes] = []  # object n is objects[n - 1]

    def reserve() -> int:
        objects.append(b"")
        return len(objects)

    def put(number: int, body: str | bytes) -> None:
        objects[number - 1] = body.encode("latin-1") if isinstance(body, str) else body

    def stream(number: int, data: bytes, extra: str = "") -> None:
        put(number, f"<< /Length {len(data)} /Filter /FlateDecode{extra} >>\nstream\n".encode("latin-1") + data
            + b"\nendstream")

    catalog, tree, info = reserve(), reserve(), reserve()
    font_refs = []
    for style, font in pages.fonts.items():
        used = pages.used[style]
        if not used:
            continue
        data, length, tag = font.cut(frozenset(used - _BASE_LETTERS))
        name = f"{tag}+{font.name}"
        type0, cid, descriptor, file, to_unicode = (reserve() for _ in range(5))
        gids = sorted({font.glyphs[code]: code for code in used}.items())
        widths = " ".join(f"{gid} [{font.advances[gid]}]" for gid, _ in gids)
        put(type0, f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                   f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>")
        put(cid, f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) "
                 f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /W [{widths}] "
                 "/CIDToGIDMap /Identity >>")
        bbox = " ".join(map(str, font.bbox))
        put(descriptor, f"<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{bbox}] "
                        f"/ItalicAngle 0 /Ascent {font.ascent} /Descent {font.descent} /CapHeight {font.cap_height} "
                        f"/StemV {120 if font.bold else 80} /FontFile2 {file} 0 R >>")
        stream(file, data, f" /Length1 {length}")
        stream(to_unicode, zlib.compress(_to_unicode(gids).encode("ascii"), 6))
        font_refs.append(f"/F{'B' if style else 'R'} {type0} 0 R")
    page_numbers = []
    for content in pages.pages:
        page, contents = reserve(), reserve()
        page_numbers.append(page)
        stream(contents, zlib.compress(f"{_LINE_WIDTH * _PT:.2f} w\n{chr(10).join(content)}".encode("latin-1"), 6))
        put(page, f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {PAGE_WIDTH * _PT:.2f} {PAGE_HEIGHT * _PT:.2f}] "
                  f"/Resources << /Font << {' '.join(font_refs)} >> >> /Contents {contents} 0 R >>")
    put(catalog, f"<< /Type /Catalog /Pages {tree} 0 R /Lang ({document.language}) >>")
    put(tree, f"<< /Type /Pages /Count {len(page_numbers)} /Kids [{' '.join(f'{n} 0 R' for n in page_numbers)}] >>")
    created = (document.created_at or datetime.now(UTC)).astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")
    put(info, f"<< /Title {_pdf_string(document.title)} /Author {_pdf_string(document.author)} /Creator (Felles) "
              f"/Producer (Felles) /CreationDate ({created}) >>")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("latin-1") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("latin-1")
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("latin-1")
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode("latin-1")
    return bytes(out)


def _to_unicode(gids: list[tuple[int, int]]) -> str:
    """The CMap that maps each glyph used back to its letter, so that the text can be extracted."""
    chunks = []
    for start in range(0, len(gids), 100):
        part = gids[start:start + 100]
        chunks.append(f"{len(part)} beginbfchar\n"
                      + "\n".join(f"<{gid:04X}> <{chr(code).encode('utf-16-be').hex().upper()}>" for gid, code in part)
                      + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) "
            "/Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(chunks)
            + "\nendcmap\nCMapName currentdict /CMapResource defineresource pop\nend\nend\n")


class PdfRenderer:
    """Renders documents and letters with the fonts kept in `fonts_folder`."""

    def __init__(self, fonts_folder: Path) -> None:
        self.fonts_folder = fonts_folder
        self._fonts: dict[str, _Font] | None = None

    def _loaded_fonts(self) -> dict[str, _Font]:
        if self._fonts is None:
            self._fonts = {style: _font(path, "NotoSans-Bold" if style == "B" else "NotoSans-Regular")
                           for style, path in static_fonts(self.fonts_folder).items()}
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
        pdf = _Pages(document, self._loaded_fonts())
        pdf.add_page()
        pdf.title_and_sections()
        return pdf.output()

    def _letter(self, letter: Letter) -> bytes:
        pdf = _Pages(letter.document, self._loaded_fonts())
        pdf.add_page()
        for y in FOLD_MARKS:
            pdf.line(3, y, 8, y)
        pdf.line(3, PAGE_HEIGHT / 2, 10, PAGE_HEIGHT / 2)  # the punch mark, halfway down
        pdf.set_font("", 7)
        pdf.cell_text(WINDOW_LEFT + 5, WINDOW_TOP + 1, 3, ", ".join(letter.sender.as_lines()))
        pdf.set_font("", 10)
        y = WINDOW_TOP + RETURN_ADDRESS_HEIGHT + 3
        for line in letter.recipient.as_lines()[:7]:  # what fits the window
            pdf.cell_text(WINDOW_LEFT + 5, y, 5, line)
            y += 5
        y = WINDOW_TOP + RETURN_ADDRESS_HEIGHT + 3
        for label, value in [*_dated(letter), *letter.details]:
            pdf.set_font("B", 8)
            pdf.cell_text(WINDOW_LEFT + WINDOW_WIDTH + 20, y, 5, label)
            pdf.set_font("", 8)
            pdf.cell_text(WINDOW_LEFT + WINDOW_WIDTH + 50, y, 5, value)
            y += 5
        pdf.y = LETTER_BODY_TOP
        pdf.title_and_sections()
        return pdf.output()


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
