"""The PDF receipt of a filled-in form, as app-lib makes it when a task ends (`ref-data-as-pdf`).

A receipt holds the service's title, who submitted it, when, and the reference number Altinn shows (the last
part of the instance's id); then, for each task whose form it covers, every page the person saw with each
visible component's label and value as the form shows it (option labels, formatted numbers and dates), a
repeating group as a table (one row per visible row), the attachments' names; last, the list of attachments.
Components and pages hidden by dynamics are left out, as are the pages and components the layout set's
`Settings.json` excludes from the PDF (`pages.excludeFromPdf`, `components.excludeFromPdf`).

Texts come from the app's text resources in the chosen language (nb when the app has none in it). The PDF is
real text (`core.pdf`), so it can be searched and read aloud.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from felles.apps import instances, tasks
from felles.apps.datapath import lookup, parse_path, transpose
from felles.apps.definition import AppDefinition, LayoutSetDefinition, ProcessTask
from felles.apps.deployment import RunningApp
from felles.apps.display import display_value
from felles.apps.expressions.casting import to_string
from felles.apps.expressions.context import DataModels, ExpressionContext
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.evaluator import compile_cached
from felles.apps.expressions.functions import translate
from felles.apps.layout import Component, FormState, Node, Page, binding_target
from felles.apps.task_actions import InstanceCall, current_task, opened_instance
from felles.apps.tasks import TaskContext, TaskTypeHandler
from felles.authorization import service as authorization
from felles.core.blobs import BlobStore, from_bytes
from felles.core.clock import utcnow
from felles.core.errors import Conflict
from felles.core.pdf import Block, Document, Fields, Heading, Language, Paragraph, Section, Table, open_pdf_renderer
from felles.core.runtime import Runtime
from felles.storage import service as storage
from felles.storage.models import DataElement, Instance

NORWEGIAN_TIME = ZoneInfo("Europe/Oslo")
# The data type app-lib stores a task's PDF under.
RECEIPT_DATA_TYPE = "ref-data-as-pdf"
# The data element metadata naming the task that made a PDF (app-lib keeps it as a reference to the task).
GENERATED_BY_TASK = "generatedFromTask"
LANGUAGES: tuple[Language, ...] = ("nb", "nn", "en")

_WORDS: dict[str, dict[str, str]] = {
    "nb": {"submission": "Innsending", "sender": "Avsender", "submitted": "Innsendt", "reference": "Referansenummer",
           "attachments": "Vedlegg", "file": "Fil", "type": "Type", "row": "Rad", "receipt": "Kvittering",
           "none": "Ingen vedlegg"},
    "nn": {"submission": "Innsending", "sender": "Avsendar", "submitted": "Sendt inn", "reference": "Referansenummer",
           "attachments": "Vedlegg", "file": "Fil", "type": "Type", "row": "Rad", "receipt": "Kvittering",
           "none": "Ingen vedlegg"},
    "en": {"submission": "Submission", "sender": "Sender", "submitted": "Submitted", "reference": "Reference number",
           "attachments": "Attachments", "file": "File", "type": "Type", "row": "Row", "receipt": "Receipt",
           "none": "No attachments"},
}
# Containers whose children follow them in the receipt, under the container's title.
_CONTAINERS = frozenset({"Group", "Grid", "Accordion", "AccordionGroup", "Tabs", "Cards", "ButtonGroup", "Panel"})
# Components that show something on screen but have nothing to say in a receipt.
_NOT_IN_RECEIPT = frozenset({
    "Summary", "Summary2", "InstanceInformation", "NavigationButtons", "NavigationBar", "Button", "PrintButton",
    "InstantiationButton", "ActionButton", "Image", "Link", "Alert", "IFrame", "PDFPreviewButton", "CustomButton",
    "SigningActions", "Payment", "Custom"})
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_MARKDOWN = re.compile(r"\*\*|__|^#+ ", re.MULTILINE)
_ROW_INDEX = re.compile(r"\{(\d+)\}")
_UNSAFE_IN_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class Attachment:
    """A data element of the instance as the receipt lists it."""

    data_type: str
    filename: str | None
    element_id: str


@dataclass(frozen=True)
class ReceiptInput:
    """What a receipt is made of: the instance's facts and its form data (JSON per data type)."""

    instance_id: str  # "{partyId}/{guid}"
    owner: str  # the instance owner's name and identifier, as the receipt names the sender
    submitted: datetime
    task_ids: Sequence[str]
    form_data: dict[str, Any]
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    language: str = "nb"
    instance: dict[str, Any] | None = None  # the Instance JSON, for expressions reading instanceContext


def receipt_language(app: AppDefinition, wanted: str | None) -> Language:
    """The language to write a receipt in: the one asked for when the app has texts in it, else nb (or the first
    of nb/nn/en it has)."""
    for language in LANGUAGES:
        if language == wanted and language in app.texts:
            return language
    return next((language for language in LANGUAGES if language in app.texts), "nb")


def plain(text: str) -> str:
    """A text resource as plain text: line breaks kept, HTML tags and Markdown emphasis dropped."""
    return _MARKDOWN.sub("", _TAG.sub("", _BREAK.sub("\n", text))).strip()


def app_title(app: AppDefinition, language: str) -> str:
    """The service's name: its `appName` text (ServiceName in older apps), else the metadata's title."""
    texts = app.texts.get(language, {})
    for key in ("appName", "ServiceName"):
        if key in texts and texts[key].get("value"):
            return plain(str(texts[key]["value"]))
    titles = app.metadata.get("title") or {}
    return str(titles.get(language) or titles.get("nb") or next(iter(titles.values()), app.id))


def receipt_document(app: AppDefinition, receipt: ReceiptInput) -> Document:
    """The receipt of `receipt` as a document for `core.pdf`."""
    language = receipt_language(app, receipt.language)
    words = _WORDS[language]
    submitted = receipt.submitted.astimezone(NORWEGIAN_TIME)
    facts = Fields([(words["sender"], receipt.owner),
                    (words["submitted"], submitted.strftime("%d.%m.%Y %H:%M")),
                    (words["reference"], receipt.instance_id.rsplit("-", 1)[-1])])
    sections = [Section(words["submission"], [facts])]
    data_types = {data_type.get("id"): data_type for data_type in app.metadata.get("dataTypes") or []}
    for task_id in receipt.task_ids:
        layout_set = app.layout_set_for_task(task_id)
        if layout_set is None or layout_set.layout_set is None:
            continue
        form = _form_state(app, layout_set, receipt, language)
        sections.extend(_FormWriter(form, layout_set, words).sections())
    listed = [attachment for attachment in receipt.attachments
              if not (data_types.get(attachment.data_type) or {}).get("appLogic")
              and attachment.data_type != RECEIPT_DATA_TYPE]
    rows = [[attachment.filename or attachment.element_id, attachment.data_type] for attachment in listed]
    sections.append(Section(words["attachments"], [Table([words["file"], words["type"]], rows)] if rows
                            else [Paragraph(words["none"])]))
    return Document(title=f"{words['receipt']} – {app_title(app, language)}", sections=sections, language=language,
                    created_at=receipt.submitted.astimezone(UTC))


def _form_state(app: AppDefinition, layout_set: LayoutSetDefinition, receipt: ReceiptInput,
                language: str) -> FormState:
    default_type = layout_set.data_type or next(iter(receipt.form_data), "default")
    context = ExpressionContext(
        data=DataModels(dict(receipt.form_data), default_data_type=default_type),
        instance=receipt.instance, process=(receipt.instance or {}).get("process"),
        frontend_settings=app.frontend_settings, text_resources=app.texts.get(language, {}), language=language,
        code_lists=app.options, time_zone=NORWEGIAN_TIME,
        data_elements=[{"id": attachment.element_id, "dataType": attachment.data_type,
                        "filename": attachment.filename} for attachment in receipt.attachments],
    )
    assert layout_set.layout_set is not None
    return FormState(layout_set.layout_set, context)


class _FormWriter:
    """Writes one layout set's visible pages as receipt sections."""

    def __init__(self, form: FormState, layout_set: LayoutSetDefinition, words: dict[str, str]) -> None:
        self.form = form
        self.words = words
        settings = layout_set.settings if isinstance(layout_set.settings, dict) else {}
        pages, components = settings.get("pages") or {}, settings.get("components") or {}
        self.excluded_pages = set(pages.get("excludeFromPdf") or [])
        # A page written for the PDF alone (`pdfLayoutName`) gathers what the other pages show: leave it out.
        if isinstance(pages.get("pdfLayoutName"), str):
            self.excluded_pages.add(pages["pdfLayoutName"])
        self.excluded_components = set(components.get("excludeFromPdf") or [])

    def sections(self) -> list[Section]:
        found = []
        for page in self.form.layout.pages.values():
            if page.name in self.excluded_pages or self.form.is_page_hidden(page.name):
                continue
            blocks = self._page(page)
            if blocks:
                found.append(Section(self._page_title(page), blocks))
        return found

    def _page_title(self, page: Page) -> str | None:
        texts = self.form.context.text_resources
        return plain(translate(self.form.context, page.name)) if page.name in texts else None

    def _page(self, page: Page) -> list[Block]:
        collected: list[Block | tuple[str, str]] = []
        for component in page.top_level:
            self._component(Node(component, page.name, ()), collected)
        return _coalesce(collected)

    def _text(self, node: Node, name: str) -> str | None:
        assert node.component is not None
        bindings = node.component.definition.get("textResourceBindings")
        raw = bindings.get(name) if isinstance(bindings, dict) else None
        if raw is None:
            return None
        context = self.form.context_at(node)
        try:
            value = (_row_text(context, raw, node.rows) if isinstance(raw, str)
                     else to_string(compile_cached(raw)(context)))
        except ExpressionError:
            return None
        return plain(value) if value else None

    def _visible(self, node: Node) -> bool:
        assert node.component is not None
        return node.component.id not in self.excluded_components and not self.form.is_hidden(node)

    def _component(self, node: Node, out: list[Block | tuple[str, str]]) -> None:
        component = node.component
        assert component is not None
        if not self._visible(node) or component.type in _NOT_IN_RECEIPT:
            return
        title = self._text(node, "title")
        if component.repeating:
            out.extend(self._repeating_group(node, title))
        elif component.type in _CONTAINERS:
            if title:
                out.append(Heading(title))
            for child in (*component.rows_before, *component.children, *component.rows_after):
                self._component(Node(child, node.page, node.rows), out)
        elif component.type in ("Header", "Heading"):
            if title:
                out.append(Heading(title))
        elif component.type == "Paragraph":
            if title:
                out.append(Paragraph(title))
        elif component.type == "Likert" and component.bindings.get("questions"):
            out.extend(self._likert(node, title))
        elif component.type == "AttachmentList":
            out.append((title or self.words["attachments"], self._attachment_list(component)))
        else:
            value = self._value(node)
            if value is not None:
                out.append((title or "", value))

    def _value(self, node: Node) -> str | None:
        try:
            return display_value(self.form, node)
        except ExpressionError:
            return None  # a component without a value (a custom or unknown one)

    def _attachment_list(self, component: Component) -> str:
        wanted = component.definition.get("dataTypeIds")
        names = [str(element.get("filename") or element.get("id")) for element in self.form.context.data_elements
                 if not isinstance(wanted, list) or element.get("dataType") in wanted]
        return ", ".join(names) or self.words["none"]

    def _likert(self, node: Node, title: str | None) -> list[Block]:
        """A Likert (one question a row of its `questions` list, answered with one of its options) as a table."""
        component = node.component
        assert component is not None
        questions = binding_target(component.bindings.get("questions"))
        answers = binding_target(component.bindings.get("answer"))
        if questions is None or answers is None:
            return []
        data_type, questions_path = questions
        try:
            model = self.form.context.data.get(data_type)
        except ExpressionError:
            return []
        rows_path = transpose(parse_path(questions_path), self.form.context_path(node))
        rows = lookup(model, rows_path)
        bounds = {entry.get("key"): entry.get("value") for entry in component.definition.get("filter") or []
                  if isinstance(entry, dict)}
        start, stop = int(bounds.get("start") or 0), int(bounds.get("stop") or len(rows or []))
        table = []
        for row in range(start, min(stop, len(rows) if isinstance(rows, list) else 0)):
            row_path = (*rows_path[:-1], (rows_path[-1][0], row))
            context = self.form.context_at(node).at(node)
            context.row_path = row_path
            question = component.definition.get("textResourceBindings", {}).get("questions")
            answer = lookup(model, transpose(parse_path(answers[1]), row_path))
            table.append([_row_text(context, question, (*node.rows, row), as_key=True) if isinstance(question, str)
                          else str(row + 1), self._option_label(component, answer)])
        header = self._text(node, "leftColumnHeader") or ""
        return [*([Heading(title)] if title else []), Table([header, ""], table)] if table else []

    def _option_label(self, component: Component, value: Any) -> str:
        options = component.definition.get("options")
        if not isinstance(options, list):
            options = self.form.context.code_lists.get(str(component.definition.get("optionsId")), [])
        wanted = to_string(value)
        label = next((option.get("label") for option in options if to_string(option.get("value")) == wanted), None)
        return plain(translate(self.form.context, str(label))) if label is not None else (wanted or "")

    def _repeating_group(self, node: Node, title: str | None) -> list[Block]:
        """A table of the visible rows' values; a group nested in a row follows as its own table."""
        component = node.component
        assert component is not None
        columns: dict[str, str] = {}  # component id -> header
        rows: list[dict[str, str]] = []
        nested: list[Block] = []
        for row in range(self.form.row_count(component, node.rows)):
            rows_of_node = (*node.rows, row)
            if self.form.is_hidden(Node(component, node.page, rows_of_node, in_row=True)):
                continue
            cells: dict[str, str] = {}
            for child in component.children:
                self._cells(Node(child, node.page, rows_of_node), cells, columns, nested, row)
            rows.append(cells)
        blocks: list[Block] = [Heading(title)] if title else []
        if columns:
            blocks.append(Table(list(columns.values()), [[cells.get(key, "") for key in columns] for cells in rows]))
        return blocks + nested

    def _cells(self, node: Node, cells: dict[str, str], columns: dict[str, str], nested: list[Block],
               row: int) -> None:
        component = node.component
        assert component is not None
        if not self._visible(node) or component.type in _NOT_IN_RECEIPT:
            return
        if component.repeating:
            title = self._text(node, "title") or component.id
            nested.extend(self._repeating_group(node, f"{title} ({self.words['row'].lower()} {row + 1})"))
        elif component.type in _CONTAINERS:
            for child in (*component.rows_before, *component.children, *component.rows_after):
                self._cells(Node(child, node.page, node.rows), cells, columns, nested, row)
        elif component.type not in ("Header", "Heading", "Paragraph"):
            value = self._value(node)
            if value is not None:
                columns.setdefault(component.id, self._text(node, "tableTitle") or self._text(node, "title")
                                   or component.id)
                cells[component.id] = value


def _row_text(context: ExpressionContext, key: str, rows: tuple[int, ...], *, as_key: bool = False) -> str:
    """A text whose variables name the row they read by index placeholders (`Spørsmål[{0}].Id`), in row `rows`;
    `as_key`: a text that reads as another text's id is that text (a Likert's questions name their texts so)."""
    resource = context.text_resources.get(key)
    if resource is not None and resource.get("variables"):
        variables = [{**variable, "key": _ROW_INDEX.sub(lambda found: str(rows[int(found.group(1))])
                                                        if int(found.group(1)) < len(rows) else found.group(0),
                                                        str(variable.get("key", "")))}
                     for variable in resource["variables"] if isinstance(variable, dict)]
        context = copy.copy(context)
        context.text_resources = {**context.text_resources, key: {**resource, "variables": variables}}
    text = translate(context, key)
    return plain(translate(context, text) if as_key and text in context.text_resources else text)


def _coalesce(items: list[Block | tuple[str, str]]) -> list[Block]:
    """Consecutive label/value pairs as one block of fields."""
    blocks: list[Block] = []
    pairs: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, tuple):
            pairs.append(item)
            continue
        if pairs:
            blocks.append(Fields(pairs))
            pairs = []
        blocks.append(item)
    if pairs:
        blocks.append(Fields(pairs))
    return blocks


# --- the receipt of an instance, stored as its `ref-data-as-pdf` data element -----------------------------------
def form_data_types(app: AppDefinition) -> set[str]:
    """The data types holding form data (those with a model class: `appLogic.classRef`)."""
    return {str(data_type["id"]) for data_type in app.metadata.get("dataTypes") or []
            if isinstance(data_type, dict) and (data_type.get("appLogic") or {}).get("classRef")}


async def form_data_of(blobs: BlobStore, app: RunningApp, elements: Sequence[DataElement]) -> dict[str, Any]:
    """Each form data type's data (the first element of the type) as the JSON the app API serves."""
    found: dict[str, Any] = {}
    wanted = form_data_types(app.definition)
    for element in elements:
        if element.data_type in wanted and element.data_type not in found:
            found[element.data_type] = instances.form_data_json(
                app, element.data_type, await storage.read_data_bytes(blobs, element), element.content_type)
    return found


def pdf_tasks(app: AppDefinition, pdf_task: ProcessTask) -> list[str]:
    """The tasks whose forms a pdf service task writes: its `autoPdfTaskIds`; else the tasks its own layout set's
    PDF page summarises (Summary2 targets of type layoutSet); else every data task with a layout set."""
    config = pdf_task.config.get("pdfConfig") or {}
    auto = config.get("autoPdfTaskIds") if isinstance(config, dict) else None
    if auto:
        return [auto] if isinstance(auto, str) else [str(task) for task in auto]
    own = app.layout_set_for_task(pdf_task.id)
    if own is not None:
        targets = [str(target["taskId"]) for layout in own.layouts.values()
                   for component in (layout.get("data") or {}).get("layout") or []
                   if isinstance(component, dict) and isinstance(target := component.get("target"), dict)
                   and target.get("type") == "layoutSet" and target.get("taskId")]
        if targets:
            return targets
    assert app.process is not None
    return [task.id for task in app.process.tasks.values()
            if task.task_type == "data" and app.layout_set_for_task(task.id)]


def pdf_filename(app: AppDefinition, language: str, text_key: str | None) -> str:
    """`{text}.pdf` from the pdf task's `filenameTextResourceKey`, else the app's name, as app-lib names it."""
    texts = app.texts.get(language) or app.texts.get("nb") or {}
    name = plain(str(texts[text_key].get("value", ""))) if text_key and text_key in texts else ""
    name = name or app_title(app, language)
    return _UNSAFE_IN_FILENAME.sub("_", name).strip() + ".pdf"


async def _instance_receipt(runtime: Runtime, app: RunningApp, instance: Instance,
                           elements: Sequence[DataElement], *, task_ids: Sequence[str], language: str,
                           owner: authorization.PartyRef | None = None) -> bytes:
    """The receipt's PDF. `owner`: the instance owner's party when the caller has it (a process step, which looks
    it up before its first write: the registers' lookup writes too, and an embedded database has one writer)."""
    owner = owner or await authorization.party_by_id(runtime.database, instance.party_id)
    public_instance = {"id": storage.instance_reference(instance), "appId": instance.app_id, "org": instance.org,
                       "instanceOwner": {"partyId": str(instance.party_id)}, "process": instance.process}
    document = receipt_document(app.definition, ReceiptInput(
        instance_id=storage.instance_reference(instance),
        owner=f"{instance.owner_identifier}-{owner.name}" if owner and owner.name else instance.owner_identifier,
        submitted=_moment(instance.process.get("ended")) or utcnow(), task_ids=task_ids,
        form_data=await form_data_of(runtime.blobs, app, elements),
        attachments=[Attachment(element.data_type, element.filename, str(element.id)) for element in elements],
        language=language, instance=public_instance))
    return await open_pdf_renderer(runtime.settings).document(document)


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def store_receipt_in_transaction(session: AsyncSession, runtime: Runtime, app: RunningApp,
                                       instance: Instance, *, generated_by: str, task_ids: Sequence[str],
                                       language: str, actor: str, filename_text_key: str | None = None,
                                       is_read: bool = True,
                                       owner: authorization.PartyRef | None = None,
                                       elements: list[DataElement] | None = None) -> DataElement:
    """Render the receipt of `task_ids`' forms and keep it as the instance's `ref-data-as-pdf` data element,
    marked as made by task `generated_by`: a later run of the same task replaces it, another task's stays.
    `is_read`: whether the instance owner's side made it (their step), not the app's service owner. `elements`:
    the instance's data elements when the caller has them (a process step's), a new receipt appended to them;
    else they are read."""
    if elements is None:
        elements = (await storage.data_elements_of(session, [instance.id]))[instance.id]
    language = receipt_language(app.definition, language)
    pdf = await _instance_receipt(runtime, app, instance, elements, task_ids=task_ids, language=language,
                                  owner=owner)
    earlier = next((element for element in elements if element.data_type == RECEIPT_DATA_TYPE
                    and _generated_by(element) == generated_by), None)
    element_id = earlier.id if earlier is not None else uuid.uuid4()
    stored = await storage.put_data_blob(runtime.blobs, instance.id, element_id, from_bytes(pdf))
    if earlier is not None:
        storage.replace_data_element_in_transaction(instance, earlier, stored, content_type="application/pdf",
                                                    actor=actor)
        return earlier
    element = storage.add_data_element_in_transaction(
        session, instance, element_id, stored, data_type=RECEIPT_DATA_TYPE, content_type="application/pdf",
        actor=actor, filename=pdf_filename(app.definition, language, filename_text_key), is_read=is_read)
    element.metadata_items = [{"key": GENERATED_BY_TASK, "value": generated_by}]
    elements.append(element)
    return element


@dataclass(frozen=True)
class ReceiptFile:
    filename: str
    content: bytes


async def instance_receipt(call: InstanceCall) -> ReceiptFile:
    """The receipt a person downloads: the PDF the process made last, or, for a process that makes none, one written
    now of every form the instance's tasks have (not kept)."""
    async with opened_instance(call, "read") as opened:
        instance, definition = opened.instance, opened.app.definition
        elements = (await storage.data_elements_of(opened.session, [instance.id]))[instance.id]
        made = [element for element in elements if element.data_type == RECEIPT_DATA_TYPE]
        language = receipt_language(definition, call.language)
        if made:
            newest = max(made, key=lambda element: element.last_changed_at)
            return ReceiptFile(newest.filename or pdf_filename(definition, language, None),
                               await storage.read_data_bytes(call.runtime.blobs, newest))
        assert definition.process is not None
        task_ids = [task.id for task in definition.process.tasks.values()
                    if task.task_type == "data" and definition.layout_set_for_task(task.id)]
        return ReceiptFile(pdf_filename(definition, language, None), await _instance_receipt(
            call.runtime, opened.app, instance, elements, task_ids=task_ids, language=language))


def _generated_by(element: DataElement) -> str | None:
    return next((entry.get("value") for entry in element.metadata_items or [] if entry.get("key") == GENERATED_BY_TASK),
                None)


async def pdf_format(call: InstanceCall, element_id: uuid.UUID) -> dict[str, list[str]]:
    """What the PDF of a form data element leaves out: its layout set's `excludeFromPdf` pages and components."""
    async with current_task(call, "read") as ctx:
        element = await storage.data_element_row(ctx.session, ctx.instance, element_id)
        definition = ctx.app.definition
    layout_set = next((candidate for candidate in definition.layout_sets.values()
                       if candidate.data_type == element.data_type), None)
    if layout_set is None or element.data_type not in form_data_types(definition):
        raise Conflict(f"Data elements of type {element.data_type} are not form data: they have no PDF format.",
                       code="not_form_data")
    settings = layout_set.settings if isinstance(layout_set.settings, dict) else {}
    return {"excludedPages": list((settings.get("pages") or {}).get("excludeFromPdf") or []),
            "excludedComponents": list((settings.get("components") or {}).get("excludeFromPdf") or [])}


class PdfTask:
    """The `pdf` service task: the receipt of the forms its configuration names, made as the process enters it."""

    task_type = "pdf"
    actions: tuple[str, ...] = ()

    async def on_enter(self, ctx: TaskContext) -> None:
        config = ctx.task.config.get("pdfConfig") or {}
        await store_receipt_in_transaction(
            ctx.session, ctx.runtime, ctx.app, ctx.instance, generated_by=ctx.task.id,
            task_ids=pdf_tasks(ctx.app.definition, ctx.task), language=ctx.language,
            actor=instances.actor_of(ctx.caller), is_read=instances.seen_by_owner_side(ctx.caller, ctx.instance),
            owner=instances.step_owner(ctx), elements=await instances.instance_elements(ctx),
            filename_text_key=config.get("filenameTextResourceKey") if isinstance(config, dict) else None)

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]:
        return []

    async def on_leave(self, ctx: TaskContext) -> None:
        return None


class PdfIfRequestedTask(PdfTask):
    """`pdfIfRequested`, the service task of Altinn's frontend-test app (its own code there): the pdf task, run only
    when the form data asks for it with a `CreatePdf` that is true (at the top of a model or one level down)."""

    task_type = "pdfIfRequested"

    async def on_enter(self, ctx: TaskContext) -> None:
        models = await form_data_of(ctx.runtime.blobs, ctx.app, await instances.instance_elements(ctx))
        if any(asks_for_pdf(model) for model in models.values()):
            await super().on_enter(ctx)


def asks_for_pdf(model: Any, depth: int = 0) -> bool:
    if not isinstance(model, dict) or depth > 1:
        return False
    return model.get("CreatePdf") is True or any(asks_for_pdf(value, depth + 1) for value in model.values())


class DataTaskWithLegacyPdf:
    """A data task as registered, and, as app-lib v8 still does besides pdf service tasks, the receipt of its form
    when it is left: when the instance has form data of a type of the task whose `enablePdfCreation` is not false
    (Altinn's default is true)."""

    def __init__(self, data_task: TaskTypeHandler) -> None:
        self.data_task = data_task
        self.task_type = data_task.task_type
        self.actions = data_task.actions

    async def on_enter(self, ctx: TaskContext) -> None:
        await self.data_task.on_enter(ctx)

    async def before_leave(self, ctx: TaskContext, action: str) -> list[dict[str, Any]]:
        return await self.data_task.before_leave(ctx, action)

    async def on_leave(self, ctx: TaskContext) -> None:
        await self.data_task.on_leave(ctx)
        app = ctx.app.definition
        with_pdf = {data_type.get("id") for data_type in app.metadata.get("dataTypes") or []
                    if isinstance(data_type, dict) and data_type.get("enablePdfCreation", True) is not False
                    and data_type.get("taskId") == ctx.task.id} & form_data_types(app)
        if any(element.data_type in with_pdf for element in await instances.instance_elements(ctx)):
            await store_receipt_in_transaction(ctx.session, ctx.runtime, ctx.app, ctx.instance,
                                               generated_by=ctx.task.id, task_ids=[ctx.task.id],
                                               language=ctx.language, actor=instances.actor_of(ctx.caller),
                                               is_read=instances.seen_by_owner_side(ctx.caller, ctx.instance),
                                               owner=instances.step_owner(ctx),
                                               elements=await instances.instance_elements(ctx))


tasks.register_task_type(PdfTask())
tasks.register_task_type(PdfIfRequestedTask())
tasks.register_task_type(DataTaskWithLegacyPdf(tasks.registered_task_types()["data"]))
