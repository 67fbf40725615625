"""What the form templates draw: a component as a :class:`View` (its texts, values, options, messages, rows),
and the app's texts as safe markup (Markdown with a few harmless HTML tags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from felles.apps.layout import Node

# Texts are Markdown with some HTML in them, as Altinn's frontend reads them (`<br>`, links, emphasis): the HTML is
# kept to a few harmless tags and attributes (see SafeHtml), whatever the text holds.
_markdown = MarkdownIt("zero", {"html": True}).enable(
    ["emphasis", "link", "newline", "list", "heading", "paragraph", "html_inline", "html_block"])
_inline = MarkdownIt("zero", {"html": True}).enable(["emphasis", "link", "newline", "html_inline"])
_ALLOWED_TAGS = frozenset({"a", "b", "br", "em", "h2", "h3", "h4", "h5", "h6", "i", "li", "ol", "p", "span", "strong",
                           "u", "ul"})
_VOID_TAGS = frozenset({"br"})
_SAFE_HREF = ("https://", "http://", "mailto:", "tel:", "/", "#")


class SafeHtml(HTMLParser):
    """Markup rebuilt from a few harmless tags; other tags are dropped (their text kept), attributes too, except a
    link's address when it is a web, mail or phone address or a local path. Text is escaped again."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            return
        if tag == "a":
            href = next((value for name, value in attrs if name == "href" and value), None)
            if href is None or not href.strip().lower().startswith(_SAFE_HREF) or href.strip().startswith("//"):
                return
            self.out.append(f'<a class="ds-link" href="{escape(href.strip())}">')
        else:
            self.out.append(f"<{tag}>")
        if tag not in _VOID_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                closing = self.open.pop()
                self.out.append(f"</{closing}>")
                if closing == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(str(escape(data)))

    @classmethod
    def clean(cls, html: str) -> Markup:
        parser = cls()
        parser.feed(html)
        parser.close()
        parser.out.extend(f"</{tag}>" for tag in reversed(parser.open))
        return Markup("".join(parser.out))  # noqa: S704 - rebuilt from escaped text and the tags above only

HEADING_LEVELS = {"L": 2, "M": 3, "S": 4, "XS": 5, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Components that only show something: they have no bindings to fill in.
INFORMATIONAL = frozenset({"Header", "Heading", "Paragraph", "Panel", "Alert", "Image", "Link", "Divider", "Text",
                           "Number", "Date", "AttachmentList", "Summary", "Summary2", "NavigationButtons",
                           "NavigationBar", "Button", "PrintButton", "InstantiationButton", "ActionButton",
                           "CustomButton", "InstanceInformation"})
CONTAINERS = frozenset({"Group", "ButtonGroup", "Accordion", "AccordionGroup", "Tabs", "Cards", "Subform"})
FILE_TYPES = frozenset({"FileUpload", "FileUploadWithTag", "ImageUpload"})
MAX_DEFAULT_COLUMNS = 4

@dataclass(frozen=True)
class Message:
    """A validation message by a field: ``severity`` is error, warning, info or success."""

    text: str
    severity: str = "error"


@dataclass
class Option:
    value: str
    label: Markup
    selected: bool = False
    description: Markup | None = None


@dataclass
class SummaryEntry:
    """One line of a summary: a component's label and how its value reads, or a group of such lines."""

    id: str
    label: Markup | None
    value: str
    page: str
    kind: str = "value"  # value | group | rows
    children: list[SummaryEntry] = field(default_factory=list)
    rows: list[list[SummaryEntry]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


@dataclass
class Row:
    """One row of a repeating group (or a question of a Likert)."""

    index: int
    views: list[View]
    label: Markup | None = None
    answer_field: str | None = None  # Likert: the answer's field name
    options: list[Option] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)  # a repeating group's table columns, as they read
    key: str | None = None  # a repeating group's row as its edit button names it


@dataclass
class Section:
    """A tab of Tabs or a card of Cards: its title and the views of its components."""

    id: str
    title: Markup
    views: list[View]
    selected: bool = False  # the tab shown
    description: Markup | None = None  # a card's texts and its media (an image …)
    footer: Markup | None = None
    media: View | None = None


@dataclass
class View:
    """What the templates need to draw one rendered component (``kind`` picks the macro)."""

    kind: str
    type: str
    id: str
    node: Node
    label: Markup | None = None
    description: Markup | None = None
    help: Markup | None = None
    name: str | None = None
    value: str = ""
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # binding -> (field name, value)
    options: list[Option] = field(default_factory=list)
    required: bool = False
    read_only: bool = False
    messages: list[Message] = field(default_factory=list)
    children: list[View] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    columns: list[Markup] = field(default_factory=list)
    entries: list[SummaryEntry] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Message]:
        return [message for message in self.messages if message.severity == "error"]

    @property
    def described_by(self) -> str:
        """The ids of the texts that describe the field (aria-describedby): its description and messages."""
        ids = []
        if self.description:
            ids.append(f"{self.id}-description")
        if self.messages:
            ids.append(f"{self.id}-messages")
        return " ".join(ids)


@lru_cache(maxsize=8192)
def markdown(text: str | None) -> Markup:
    """A text as Markdown (texts repeat row after row: each is rendered once)."""
    return SafeHtml.clean(_markdown.render(text)) if text else Markup("")


@lru_cache(maxsize=8192)
def inline(text: str | None) -> Markup:
    """A text as Markdown within a line (a label, a heading)."""
    return SafeHtml.clean(_inline.renderInline(text)) if text else Markup("")
