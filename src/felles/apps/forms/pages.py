"""The pages a person fills an app's form in: start (party, "my active instances", start new), the task's pages,
autosave, uploads, the confirmation and other process steps, and the receipt with its PDF.

Paths are app-frontend's: ``/{org}/{app}/`` and ``/{org}/{app}/instance/{partyId}/{guid}/{task}/{page}``. The
pages decide nothing themselves: the person logs in through the portal's ID-porten login, becomes an app
``Caller``, and every read and change goes through the apps' service functions (instances, data, validation,
the process), which ask the app's policy. Every page works without script: each button posts the whole form,
which is saved first; with script, a change saves at once (htmx) and the page body is drawn again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.routing import Match
from starlette.types import Scope

from felles.apps import access, data, instances, parties, receipt, task_actions
from felles.apps.datapath import format_path, lookup, parse_path, transpose
from felles.apps.definition import AppDefinition, LayoutSetDefinition
from felles.apps.dependencies import catalogue, deployed_app
from felles.apps.deployment import RunningApp
from felles.apps.expressions.errors import ExpressionError
from felles.apps.expressions.functions import translate as app_text
from felles.apps.forms import values
from felles.apps.forms.render import Message, PageRenderer, View, form_state, issue_messages, visible_pages
from felles.apps.layout import Component, FormState, Node, binding_target
from felles.apps.task_actions import InstanceCall
from felles.core.body_limit import declare_body_limit
from felles.core.errors import Conflict, Problem
from felles.core.i18n import translate
from felles.core.runtime import Runtime, RuntimeDep
from felles.core.tokens import Principal
from felles.portal import login
from felles.portal.shell import page_language, render_page

router = APIRouter(include_in_schema=False)

FORM_PURPOSE = "forms"
INSTANCE_PATH = "/{org}/{app}/instance/{party_id}/{instance_guid}"
UPLOAD_SEGMENT = "upload"
# Process actions that are user actions first (app-lib's /actions), then move the process (/process/next).
USER_ACTIONS = ("sign", "pay")
# A file posted from a page: the data type's own limit is checked by the data service as it streams.
declare_body_limit(f"/*/*/instance/*/*/*/{UPLOAD_SEGMENT}", data.MAX_ATTACHMENT_BYTES)
AppPage = Annotated[RunningApp, Depends(deployed_app)]


# --- who is on the page --------------------------------------------------------------------------------------
async def _caller(request: Request, runtime: Runtime) -> access.Caller | None:
    claims = await login.signed_in_claims(request, runtime)
    if claims is None:
        return None
    return await access.caller_of(runtime.database, Principal.from_claims(claims))


async def _login(request: Request, runtime: Runtime) -> Response:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return await login.start_login(request, runtime, f"{path}?{request.url.query}" if request.url.query else path)


def _error(request: Request, app: RunningApp, key: str, status_code: int, detail: str = "") -> Response:
    return _no_store(render_page(request, "forms/error.html", {
        "message_key": key, "detail": detail, "app_title": _app_title(app, page_language(request))},
        status_code=status_code))


def _problem_page(request: Request, app: RunningApp, problem: Problem) -> Response:
    key = {403: "forms.error.not_permitted", 404: "forms.error.not_found"}.get(problem.status, "")
    return _error(request, app, key or "forms.process.refused", problem.status if problem.status < 500 else 500,
                  problem.detail or problem.title)


def _app_title(app: RunningApp, language: str) -> str:
    return receipt.app_title(app.definition, language)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303,
                            headers={"Cache-Control": "no-store"})


async def _checked_form(request: Request, runtime: Runtime) -> FormData | None:
    """The posted form if it carries this session's form token (another site cannot post for the person)."""
    form = await request.form()
    return form if _has_token(request, runtime, form) else None


def _has_token(request: Request, runtime: Runtime, form: FormData) -> bool:
    given = form.get("form_token")
    return isinstance(given, str) and login.form_token_is_valid(runtime, request, FORM_PURPOSE, given)


# --- the start page -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartyChoice:
    party_id: int
    name: str
    identifier: str | None
    kind: str  # person | organization
    is_self: bool
    sub_unit: bool


def _choices(found: parties.CallerParties) -> list[PartyChoice]:
    """The parties the person may start the app for (sub-units after their main unit)."""
    chosen: list[PartyChoice] = []

    def add(party: dict[str, Any], sub_unit: bool) -> None:
        if not party.get("onlyHierarchyElementWithNoAccess"):
            person = party.get("partyTypeName") == parties.PERSON
            chosen.append(PartyChoice(int(party["partyId"]), str(party.get("name") or party["partyId"]),
                                      party.get("orgNumber") or None, "person" if person else "organization",
                                      party["partyId"] == found.own["partyId"], sub_unit))
        for child in party.get("childParties") or []:
            add(child, True)

    for party in found.allowed_to_instantiate:
        add(party, False)
    return sorted(chosen, key=lambda choice: not choice.is_self)  # oneself first, the rest as the register lists


class SlashedRoute(APIRoute):
    """A route that takes only requests whose own path ends in "/". For a path no route has, Starlette's
    redirect_slashes tries every route with a slash added, and `/{org}/{app}/` would take any path of two segments
    (`/events/no-such-thing` redirected instead of answered 404); the scope it tries keeps the request's raw path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if isinstance(raw, bytes) and not raw.split(b"?", 1)[0].endswith(b"/"):
            return Match.NONE, {}
        return super().matches(scope)


async def start_page(request: Request, runtime: RuntimeDep, app: AppPage) -> Response:
    """Log in, choose whom to act for (parties the app's partyTypesAllowed lets start it), see the forms not yet
    submitted, and start a new one."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    language = page_language(request)
    found = await parties.caller_parties(runtime.database, caller, app.definition)
    choices = _choices(found)
    # the party asked for, else the one chosen before (Altinn's cookie), unless the person asks to choose again
    asked = request.query_params.get("party") or request.cookies.get(parties.PARTY_COOKIE, "")
    selected = next((choice for choice in choices if str(choice.party_id) == asked), None)
    if "choose" in request.query_params:
        selected = None
    elif selected is None and len(choices) == 1:
        selected = choices[0]
    context: dict[str, Any] = {"app_title": _app_title(app, language), "choices": choices, "selected": selected,
                               "form_token": login.form_token(runtime, request, FORM_PURPOSE),
                               "start_path": f"/{app.id}/", "active": []}
    if selected is not None:
        try:
            context["active"] = await instances.active_instances(runtime, app, caller, selected.party_id)
        except Problem as problem:
            return _problem_page(request, app, problem)
        context["party_name"] = selected.name
    response = render_page(request, "forms/start.html", context)
    if selected is not None:
        response.set_cookie(parties.PARTY_COOKIE, str(selected.party_id), path="/", httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return _no_store(response)


async def instantiate(request: Request, runtime: RuntimeDep, app: AppPage) -> Response:
    """Start a new instance for the chosen party; its first page follows."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    form = await _checked_form(request, runtime)
    if form is None:
        return _error(request, app, "forms.error.expired", 400)
    party = str(form.get("party") or "")
    if not party.isdigit() or len(party) > 9:
        return _error(request, app, "forms.error.not_found", 400)
    return await _instantiate(request, runtime, app, caller, int(party))


router.add_api_route("/{org}/{app}/", start_page, methods=["GET"], name="forms_start", response_class=HTMLResponse,
                     response_model=None, route_class_override=SlashedRoute)
router.add_api_route("/{org}/{app}/", instantiate, methods=["POST"], name="forms_instantiate",
                     response_class=HTMLResponse, response_model=None, route_class_override=SlashedRoute)


async def _instantiate(request: Request, runtime: Runtime, app: RunningApp, caller: access.Caller,
                       party_id: int) -> Response:
    """A new instance for the party (the app's policy and partyTypesAllowed decide); its first page follows."""
    try:
        created = await instances.create_instance(
            runtime, app, caller, instances.InstanceTemplate(instances.OwnerChoice(party_id=party_id)),
            language=page_language(request))
    except Problem as problem:
        return _problem_page(request, app, problem)
    owner, guid = created.id.split("/", 1)
    return _redirect(request, f"/{app.id}/instance/{owner}/{guid}")


# --- an instance ----------------------------------------------------------------------------------------------
@dataclass
class Opened:
    """An instance opened for a page: its rows, the form data by data type, and where its pages are."""

    ref: data.InstanceRef
    opened: data.Opened
    app: RunningApp
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    elements_by_type: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def definition(self) -> AppDefinition:
        return self.opened.definition

    @property
    def task(self) -> str | None:
        return self.opened.instance.current_task

    @property
    def base(self) -> str:
        return f"/{self.ref.app_id}/instance/{self.ref.party_id}/{self.ref.instance_id}"

    @cached_property
    def instance(self) -> dict[str, Any]:
        """The instance as the app API shows it (its data elements included)."""
        return data.public_instance(self.ref, self.opened)

    def elements(self) -> list[dict[str, Any]]:
        return list(self.instance.get("data") or [])


async def _open(request: Request, runtime: Runtime, app: RunningApp, caller: access.Caller, party_id: int,
                instance_guid: uuid.UUID, action: str = "read") -> Opened:
    ref = data.InstanceRef(runtime, catalogue(request), app.id, caller, party_id, instance_guid)
    opened = Opened(ref, await data.open_instance(ref, action), app)
    for element in opened.opened.elements:
        data_type = _data_type(opened.definition, element.data_type)
        if data_type is not None and data.is_form_data(data_type) and element.data_type not in opened.models:
            model = data.model_of(opened.definition, data_type)
            opened.models[element.data_type] = await data.read_form_data(runtime, element, model)
            opened.elements_by_type[element.data_type] = element.id
    return opened


def _data_type(definition: AppDefinition, data_type_id: str) -> dict[str, Any] | None:
    for data_type in definition.metadata.get("dataTypes") or []:
        if isinstance(data_type, dict) and data_type.get("id") == data_type_id:
            return data_type
    return None


@dataclass(frozen=True)
class Urls:
    """Where a form page's buttons and links go (the templates call these)."""

    base: str
    task: str
    root: str = ""

    def page(self, page: str) -> str:
        return f"{self.root}{self.base}/{quote(self.task)}/{quote(page)}"

    def save(self, page: str) -> str:
        return f"{self.page(page)}/save"

    def upload(self, data_type: str) -> str:
        return f"{self.root}{self.base}/{quote(self.task)}/{UPLOAD_SEGMENT}/{quote(data_type)}"

    def data(self, element_id: str) -> str:
        return f"{self.root}{self.base}/data/{element_id}"

    @property
    def receipt(self) -> str:
        return f"{self.root}{self.base}/receipt"


InstanceArgs = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get(INSTANCE_PATH, response_class=HTMLResponse, name="forms_instance", response_model=None)
async def instance_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                        instance_guid: uuid.UUID) -> Response:
    """The instance: its current task's first page, the process step's page, or the receipt once it has ended."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    try:
        opened = await _open(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return _problem_page(request, app, problem)
    if opened.task is None:
        return _receipt(request, opened)
    layout_set = opened.definition.layout_set_for_task(opened.task)
    if layout_set is None:
        return _step_page(request, runtime, opened)
    form = _form(request, opened, layout_set)
    pages = visible_pages(form, layout_set)
    if not pages:
        return _step_page(request, runtime, opened)
    return _redirect(request, f"{opened.base}/{quote(opened.task)}/{quote(pages[0])}")


def _form(request: Request, opened: Opened, layout_set: LayoutSetDefinition) -> FormState:
    return form_state(opened.definition, layout_set, opened.models, page_language(request),
                      instance=opened.instance, data_elements=opened.elements())


@router.get(INSTANCE_PATH + "/receipt", name="forms_receipt_pdf", response_model=None)
async def receipt_pdf(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                      instance_guid: uuid.UUID) -> Response:
    """The receipt as a PDF: the one the process made, or one written now of the instance's forms."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    call = InstanceCall(runtime, catalogue(request), app, caller, party_id, instance_guid, page_language(request))
    try:
        found = await receipt.instance_receipt(call)
    except Problem as problem:
        return _problem_page(request, app, problem)
    return Response(found.content, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}", "Cache-Control": "no-store"})


# Before the task pages' route: `data` is not a task.
@router.get(INSTANCE_PATH + "/data/{element_id}", name="forms_download", response_model=None)
async def download(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                   instance_guid: uuid.UUID, element_id: uuid.UUID) -> Response:
    """A file of the instance (an attachment or the PDF receipt), for the person on the page."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    ref = data.InstanceRef(runtime, catalogue(request), app.id, caller, party_id, instance_guid)
    try:
        element, form_data = await data.read_data_element(ref, element_id)
    except Problem as problem:
        return _problem_page(request, app, problem)
    if form_data is not None:
        return Response(json.dumps(form_data), media_type="application/json")
    stream = await data.open_file(ref, element)
    filename = element.filename or f"{element.data_type}"
    return StreamingResponse(stream, media_type=element.content_type or "application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"})


@router.get(INSTANCE_PATH + "/{task}/{page}", response_class=HTMLResponse, name="forms_page", response_model=None)
async def form_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                    instance_guid: uuid.UUID, task: str, page: str) -> Response:
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    try:
        opened = await _open(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return _problem_page(request, app, problem)
    if opened.task != task:  # an old link: the process has moved on
        return _redirect(request, opened.base)
    notice = translate("forms.file.uploaded", page_language(request), name=request.query_params["uploaded"]) \
        if request.query_params.get("uploaded") else None
    editing = {key for key in request.query_params.get("edit", "").split(",") if key}
    return await _render(request, runtime, opened, page, notice=notice, state=PageState(editing=editing))


@dataclass
class PageState:
    """What a page shows besides the data: messages by field, what was typed but not stored, the error summary,
    the repeating-group rows open for editing."""

    messages: dict[str, list[Message]] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)  # (link, text) for the error summary
    status_code: int = 200
    editing: set[str] = field(default_factory=set)


def _editing_query(editing: set[str]) -> str:
    return f"?edit={quote(','.join(sorted(editing)))}" if editing else ""


async def _render(request: Request, runtime: Runtime, opened: Opened, page: str, *,
                  state: PageState | None = None, notice: str | None = None) -> Response:
    state = state or PageState()
    language = page_language(request)
    task = opened.task
    assert task is not None
    layout_set = opened.definition.layout_set_for_task(task)
    if layout_set is None:
        return _step_page(request, runtime, opened)
    form = _form(request, opened, layout_set)
    pages = visible_pages(form, layout_set)
    if page not in pages:
        return _redirect(request, opened.base)
    may_write = await access.permits(runtime.database, opened.ref.caller, opened.opened.instance.owner_identifier,
                                     opened.app.id, "write", task=task)
    task_type = _task_type(opened)
    renderer = PageRenderer(opened.definition, layout_set, form, page, messages=state.messages, pages=pages,
                            read_only=not may_write or task_type != "data", typed=state.typed,
                            editing=frozenset(state.editing), form_of=lambda other: _form(request, opened, other))
    views = renderer.views()
    urls = Urls(opened.base, task, request.scope.get("root_path", ""))
    links = state.summary or [(f"#{target}", text) for target, text in renderer.error_links(views)]
    response = render_page(request, "forms/page.html", {
        "app_title": _app_title(opened.app, language),
        "page_title": renderer.resource(None, page),
        "views": views, "error_links": links, "urls": urls, "page": page, "pages": pages,
        "page_number": pages.index(page) + 1, "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "editable": may_write and task_type == "data", "notice": notice,
    }, status_code=state.status_code)
    return _no_store(response)


def _task_type(opened: Opened) -> str | None:
    process = opened.definition.process
    if process is None or opened.task not in process.tasks:
        return None
    return process.tasks[opened.task].task_type


# --- saving -----------------------------------------------------------------------------------------------------
def _page_fields(form: FormState, layout_set: LayoutSetDefinition, page: str) -> dict[str, dict[str, Any]]:
    """The editable fields drawn on ``page`` (field name -> the component's definition), so a post changes only
    what the person could see and change there (a hidden or read-only field keeps its value)."""
    fields: dict[str, dict[str, Any]] = {}
    default = form.context.data.default_data_type
    for node in form.nodes():
        component = node.component
        if component is None or node.page != page or not component.bindings or component.repeating:
            continue
        try:
            if form.is_hidden(node) or form.is_read_only(node):
                continue
        except ExpressionError:  # a failing expression leaves the field out, as Altinn's frontend does
            continue
        for name, binding in component.bindings.items():
            target = binding_target(binding)
            # a Likert's answers are fields of its rows (_likert_fields)
            if target is None or name in ("group", "questions") or (component.type == "Likert" and name == "answer"):
                continue
            path = transpose(parse_path(target[1]), form.context_path(node))
            fields[values.field_name(target[0], path, default)] = component.definition
    return fields


def _schema_of(opened: Opened, data_type: str) -> dict[str, Any] | None:
    spec = _data_type(opened.definition, data_type)
    if spec is None:
        return None
    try:
        return data.model_of(opened.definition, spec).json_schema
    except Problem:
        return None


def apply_post(opened: Opened, form: FormState, layout_set: LayoutSetDefinition, page: str,
               posted: FormData, language: str) -> tuple[set[str], PageState]:
    """Write the page's posted fields into the form data; (the data types changed, what could not be stored)."""
    state = PageState()
    changed: set[str] = set()
    default = form.context.data.default_data_type
    fields = _page_fields(form, layout_set, page)
    for name in _likert_fields(form, page):
        fields.setdefault(name, {})
    for name, definition in fields.items():
        if name not in posted:
            continue
        items = [item for item in posted.getlist(name) if isinstance(item, str)]
        multiple = definition.get("type") in ("Checkboxes", "MultipleSelect")
        text = ",".join(item for item in items if item) if multiple else (items[-1] if items else "")
        data_type, path = values.parse_field_name(name)
        data_type = data_type or default
        model = opened.models.get(data_type)
        if model is None:
            continue
        number = (definition.get("formatting") or {}).get("number") if isinstance(
            definition.get("formatting"), dict) else None
        if isinstance(number, dict):
            text = values.unformat_number(text, number)
        try:
            value = values.coerce(text, values.schema_at(_schema_of(opened, data_type), path))
        except values.NotOfType as refused:
            label = _label(form, definition) or name
            key = {"number": "not_a_number", "integer": "not_an_integer"}.get(refused.expected, "not_a_boolean")
            state.messages.setdefault(name, []).append(Message(translate(f"forms.validation.{key}", language,
                                                                         field=label)))
            state.typed[name] = text
            continue
        if lookup(model, path) != value:
            values.assign(model, path, value)
            changed.add(data_type)
    return changed, state


def _likert_fields(form: FormState, page: str) -> list[str]:
    names = []
    for node in form.nodes():
        component = node.component
        if component is None or component.type != "Likert" or node.page != page or _hidden(form, node):
            continue
        questions = binding_target(component.bindings.get("questions"))
        answer = binding_target(component.bindings.get("answer"))
        if questions is None or answer is None:
            continue
        list_path = transpose(parse_path(questions[1]), form.context_path(node))
        rows = lookup(form.context.data.get(questions[0]), list_path)
        for index in range(len(rows) if isinstance(rows, list) else 0):
            row_path = (*list_path[:-1], (list_path[-1][0], index))
            names.append(values.field_name(answer[0], transpose(parse_path(answer[1]), row_path),
                                           form.context.data.default_data_type))
    return names


def _hidden(form: FormState, node: Node) -> bool:
    try:
        return form.is_hidden(node)
    except ExpressionError:
        return False


def _label(form: FormState, definition: dict[str, Any]) -> str:
    texts = definition.get("textResourceBindings")
    title = texts.get("title") if isinstance(texts, dict) else None
    if not isinstance(title, str):
        return ""
    return app_text(form.context, title)


async def _store(opened: Opened, changed: set[str]) -> None:
    """Save the changed form data through the data service (each model's element replaced)."""
    for data_type in sorted(changed):
        element_id = opened.elements_by_type.get(data_type)
        if element_id is not None:
            opened.models[data_type] = await data.save_form_data(opened.ref, element_id, opened.models[data_type])


def _row_action(opened: Opened, action: str, default: str, editing: set[str]) -> str | None:
    """Add a repeating group's row (``add:<list field>``, opened for editing) or delete one
    (``delete:<list field>:<row>``, the rows open after it shifted up); the data type changed, or None when the
    action names nothing."""
    kind, _, rest = action.partition(":")
    target, _, row = rest.rpartition(":") if kind == "delete" else (rest, "", "")
    data_type, path = values.parse_field_name(target)
    model = opened.models.get(data_type or default)
    if model is None or not path:
        return None
    if kind == "add":
        editing.add(f"{target}[{values.add_row(model, path)}]")
        return data_type or default
    if kind == "delete" and row.isdigit() and values.delete_row(model, path, int(row)):
        deleted = int(row)
        for key in list(editing):
            index = _row_index(key, target)
            if index is not None and index >= deleted:
                editing.discard(key)
                if index > deleted:
                    editing.add(f"{target}[{index - 1}]")
        return data_type or default
    return None


def _row_index(key: str, group_field: str) -> int | None:
    """The row of ``group_field`` that ``key`` ("hunder[3]") names, if it names one of its rows."""
    prefix = f"{group_field}["
    if key.startswith(prefix) and key.endswith("]") and key[len(prefix):-1].isdigit():
        return int(key[len(prefix):-1])
    return None


@router.post(INSTANCE_PATH + "/{task}/{page}/save", response_class=HTMLResponse, name="forms_autosave",
             response_model=None)
async def autosave(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                   instance_guid: uuid.UUID, task: str, page: str) -> Response:
    """Save what the page holds now (htmx posts it on every change) and draw the page again."""
    return await _post(request, runtime, app, party_id, instance_guid, task, page, autosaving=True)


@router.post(INSTANCE_PATH + "/{task}/{page}", response_class=HTMLResponse, name="forms_post", response_model=None)
async def post_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                    instance_guid: uuid.UUID, task: str, page: str) -> Response:
    """Save the page, then do what the pressed button says: go to a page, add or delete a row or a file,
    submit (validate, then move the process on), or run a process action (confirm, sign, pay …)."""
    return await _post(request, runtime, app, party_id, instance_guid, task, page, autosaving=False)


async def _post(request: Request, runtime: Runtime, app: RunningApp, party_id: int, instance_guid: uuid.UUID,
                task: str, page: str, *, autosaving: bool) -> Response:
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    posted = await _checked_form(request, runtime)
    if posted is None:
        return _error(request, app, "forms.error.expired", 400)
    language = page_language(request)
    try:
        opened = await _open(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return _problem_page(request, app, problem)
    if opened.task != task:
        return _redirect(request, opened.base)
    action = str(posted.get("action") or "save")
    layout_set = opened.definition.layout_set_for_task(task)
    state = PageState()
    editing = {key for key in posted.getlist("editing") if isinstance(key, str) and key}
    if action.startswith(("edit:", "close:")):
        key = action.partition(":")[2]
        editing = editing | {key} if action.startswith("edit:") else editing - {key}
    if layout_set is not None and _task_type(opened) == "data":
        form = _form(request, opened, layout_set)
        changed, state = apply_post(opened, form, layout_set, page, posted, language)
        if action.startswith(("add:", "delete:")):
            row_change = _row_action(opened, action, form.context.data.default_data_type, editing)
            if row_change:
                changed.add(row_change)
        state.editing = editing
        try:
            await _store(opened, changed)
            if action.startswith("delete-file:"):
                await data.delete_data_element(opened.ref, uuid.UUID(action.removeprefix("delete-file:")))
                opened = await _open(request, runtime, app, caller, party_id, instance_guid)
        except (Problem, ValueError) as problem:
            detail = problem.detail if isinstance(problem, Problem) else str(problem)
            state.summary.append(("#form-page", translate("forms.process.refused", language, reason=detail)))
            state.status_code = 409 if isinstance(problem, Problem) else 400
            return await _render(request, runtime, opened, page, state=state)
        if autosaving or state.typed:
            return await _render(request, runtime, opened, page, state=state)
    if action == "instantiate":  # an InstantiationButton: a new instance for the same party
        return await _instantiate(request, runtime, app, caller, party_id)
    if action.startswith("server:"):  # a CustomButton's server action: runs in place, the page stays
        call = InstanceCall(runtime, catalogue(request), app, caller, party_id, instance_guid, language)
        try:
            await task_actions.perform_action(call, task_actions.UserAction(action.removeprefix("server:")))
        except Problem as problem:
            return await _refused(request, runtime, opened, page, problem)
        return _redirect(request, f"{opened.base}/{quote(task)}/{quote(page)}{_editing_query(editing)}")
    if action in ("next", "previous") or action.startswith("page:"):
        target = _target_page(request, opened, layout_set, page, action)
        return _redirect(request, f"{opened.base}/{quote(task)}/{quote(target)}")
    if action == "submit" or action.startswith("process:"):
        process_action = action.removeprefix("process:") if action.startswith("process:") else None
        return await _submit(request, runtime, opened, page, process_action)
    return _redirect(request, f"{opened.base}/{quote(task)}/{quote(page)}{_editing_query(editing)}")


def _target_page(request: Request, opened: Opened, layout_set: LayoutSetDefinition | None, page: str,
                 action: str) -> str:
    if layout_set is None:
        return page
    pages = visible_pages(_form(request, opened, layout_set), layout_set)
    if action.startswith("page:"):
        wanted = action.removeprefix("page:")
        return wanted if wanted in pages else page
    position = pages.index(page) if page in pages else 0
    position += 1 if action == "next" else -1
    return pages[max(0, min(position, len(pages) - 1))] if pages else page


async def _submit(request: Request, runtime: Runtime, opened: Opened, page: str, action: str | None) -> Response:
    """Move the process on (the process validates a data task first: its errors come back on the page). Signing
    and paying run their action first, as app-frontend does: a payment goes on at the payment service's page."""
    language = page_language(request)
    if action == "submit":
        action = None
    if action in USER_ACTIONS:
        call = InstanceCall(runtime, catalogue(request), opened.app, opened.ref.caller, opened.ref.party_id,
                            opened.ref.instance_id, language)
        try:
            result = await task_actions.perform_action(call, task_actions.UserAction(action))
        except Conflict as conflict:
            if conflict.code != "payment_already_completed":  # paid already: the process may go on
                return await _refused(request, runtime, opened, page, conflict)
        except Problem as problem:
            return await _refused(request, runtime, opened, page, problem)
        else:
            if result.get("redirectUrl"):
                return RedirectResponse(str(result["redirectUrl"]), status_code=303,
                                        headers={"Cache-Control": "no-store"})
    try:
        await instances.process_next(runtime, catalogue(request), opened.app, opened.ref.caller, opened.ref.party_id,
                                     opened.ref.instance_id, action=action, language=language)
    except Problem as problem:
        issues = problem.extra.get("validationIssues")
        if isinstance(issues, list) and issues:
            return await _render_issues(request, runtime, opened, page, issues)
        return await _refused(request, runtime, opened, page, problem)
    return _redirect(request, opened.base)


async def _refused(request: Request, runtime: Runtime, opened: Opened, page: str, problem: Problem) -> Response:
    """The page again, saying why the step was refused."""
    reason = problem.detail or problem.title
    if opened.definition.layout_set_for_task(opened.task or "") is None:
        return _step_page(request, runtime, opened, refusal=reason)
    state = PageState(summary=[("#form-page", translate("forms.process.refused", page_language(request),
                                                        reason=reason))], status_code=409)
    return await _render(request, runtime, opened, page, state=state)


def describe_issue(form: FormState | None, language: str, issue: dict[str, Any]) -> str:
    """The text shown for a validation issue: the app's text for its key, ours for the common ones."""
    key = issue.get("customTextKey") or issue.get("code") or ""
    if issue.get("code") == "required" or key == "backend.validation_errors.required":
        field = issue.get("field") or ""
        label = _field_label(form, str(field)) if form is not None else field
        return translate("forms.validation.required", language, field=label or field)
    if issue.get("code") == "DataElementFileInfected":
        return translate("forms.validation.infected", language)
    if form is not None and isinstance(key, str) and key in form.context.text_resources:
        return app_text(form.context, key)
    return str(issue.get("description") or key)


def _field_label(form: FormState, field_path: str) -> str:
    for node in form.nodes():
        component = node.component
        if component is None:
            continue
        target = binding_target(component.bindings.get("simpleBinding"))
        if target is None:
            continue
        if format_path(transpose(parse_path(target[1]), form.context_path(node))) == field_path:
            return _label(form, component.definition)
    return field_path


async def _render_issues(request: Request, runtime: Runtime, opened: Opened, page: str,
                         issues: list[dict[str, Any]]) -> Response:
    """The page again with every error: inline by its field, and in the error summary (fields on other pages
    linked to their page)."""
    language = page_language(request)
    task = opened.task or ""
    layout_set = opened.definition.layout_set_for_task(task)
    form = _form(request, opened, layout_set) if layout_set is not None else None
    element_types = {str(element.id): element.data_type for element in opened.opened.elements}
    default = form.context.data.default_data_type if form is not None else ""
    messages = issue_messages(issues, default, element_types, lambda issue: describe_issue(form, language, issue))
    where = _field_pages(form) if form is not None else {}
    summary = []
    for name, found in messages.items():
        for message in found:
            if message.severity != "error":
                continue
            field_page, field_id = where.get(name, (page, "form-page"))
            link = f"#{field_id}" if field_page == page else \
                f"{request.scope.get('root_path', '')}{opened.base}/{quote(task)}/{quote(field_page)}#{field_id}"
            summary.append((link, message.text))
    return await _render(request, runtime, opened, page, state=PageState(messages, {}, summary, 422))


def _field_pages(form: FormState) -> dict[str, tuple[str, str]]:
    """Field name -> (its page, the id of its input), for the error summary's links."""
    found: dict[str, tuple[str, str]] = {}
    default = form.context.data.default_data_type
    for node in form.nodes():
        component = node.component
        if component is None:
            continue
        for name, binding in component.bindings.items():
            target = binding_target(binding)
            if target is None:
                continue
            path = transpose(parse_path(target[1]), form.context_path(node))
            suffix = "" if name == "simpleBinding" else f"-{name}"
            found.setdefault(values.field_name(target[0], path, default), (node.page, f"c-{node.indexed_id}{suffix}"))
    return found


# --- uploads and downloads ----------------------------------------------------------------------------------------
async def _file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 16):
        yield chunk


@router.post(INSTANCE_PATH + "/{task}/" + UPLOAD_SEGMENT + "/{data_type}", response_class=HTMLResponse,
             name="forms_upload", response_model=None)
async def upload(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                 instance_guid: uuid.UUID, task: str, data_type: str) -> Response:
    """A file chosen on a page, stored as a data element of ``data_type`` (the data type's rules apply)."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    posted = await request.form()
    try:
        return await _upload(request, runtime, app, caller, posted, party_id, instance_guid, task, data_type)
    finally:
        await posted.close()  # the file's spooled copy


async def _upload(request: Request, runtime: Runtime, app: RunningApp, caller: access.Caller, posted: FormData,
                  party_id: int, instance_guid: uuid.UUID, task: str, data_type: str) -> Response:
    if not _has_token(request, runtime, posted):
        return _error(request, app, "forms.error.expired", 400)
    page = str(posted.get("page") or "")
    try:
        opened = await _open(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return _problem_page(request, app, problem)
    if opened.task != task:
        return _redirect(request, opened.base)
    file = posted.get("file")
    language = page_language(request)
    if not isinstance(file, UploadFile) or not file.filename:
        state = PageState({f"attachment::{data_type}": [Message(translate("forms.file.missing", language))]})
        state.status_code = 400
        return await _render(request, runtime, opened, page, state=state)
    disposition = f"attachment; filename*=UTF-8''{quote(file.filename)}"
    tag = posted.get("tag")
    try:
        created = await data.create_data_element(opened.ref, data_type, content_type=file.content_type,
                                                 content_disposition=disposition, content_length=file.size,
                                                 body=_file_chunks(file))
        if isinstance(tag, str) and tag:  # FileUploadWithTag: what kind of attachment it is
            await data.change_tags(opened.ref, created.element.id, add=tag)
    except Problem as problem:
        state = PageState({f"attachment::{data_type}": [Message(problem.detail or problem.title)]})
        state.status_code = problem.status if problem.status < 500 else 500
        return await _render(request, runtime, opened, page, state=state)
    return _redirect(request, f"{opened.base}/{quote(task)}/{quote(page)}?uploaded={quote(file.filename)}")


# --- process steps without pages, and the receipt -----------------------------------------------------------------
def _step_page(request: Request, runtime: Runtime, opened: Opened, *, refusal: str | None = None) -> Response:
    """A task without layouts (confirmation, signing, payment, feedback): the data task's summary and one button
    that runs the task's action."""
    language = page_language(request)
    task_type = _task_type(opened) or ""
    process = opened.definition.process
    task = process.tasks.get(opened.task or "") if process is not None else None
    action = {"confirmation": "confirm", "signing": "sign", "payment": "pay"}.get(task_type)
    summary: list[View] = []
    for layout_set in opened.definition.layout_sets.values():
        if layout_set.data_type in opened.models and layout_set.layout_set is not None:
            form = _form(request, opened, layout_set)
            pages = visible_pages(form, layout_set)
            summary = [_summary_view(opened, layout_set, form, pages)]
            break
    response = render_page(request, "forms/step.html", {
        "app_title": _app_title(opened.app, language), "task_type": task_type,
        "task_name": (task.name if task is not None else None) or opened.task,
        "action": action, "views": summary, "refusal": refusal,
        "urls": Urls(opened.base, opened.task or "", request.scope.get("root_path", "")),
        "form_token": login.form_token(runtime, request, FORM_PURPOSE), "editable": False, "page": "",
    }, status_code=409 if refusal else 200)
    return _no_store(response)


def _summary_view(opened: Opened, layout_set: LayoutSetDefinition, form: FormState, pages: list[str]) -> View:
    component = Component("step-summary", "Summary2", "", {"id": "step-summary", "type": "Summary2"})
    renderer = PageRenderer(opened.definition, layout_set, form, "", pages=pages, read_only=True)
    view = View("summary", "Summary2", "c-step-summary", Node(component, ""))
    view.entries = renderer.summary_targets(Node(component, ""))
    return view


@router.post(INSTANCE_PATH + "/{task}", response_class=HTMLResponse, name="forms_step", response_model=None)
async def post_step(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                    instance_guid: uuid.UUID, task: str) -> Response:
    """The button of a step without layouts: its action moves the process on (the PDP decides)."""
    caller = await _caller(request, runtime)
    if caller is None:
        return await _login(request, runtime)
    posted = await _checked_form(request, runtime)
    if posted is None:
        return _error(request, app, "forms.error.expired", 400)
    try:
        opened = await _open(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return _problem_page(request, app, problem)
    if opened.task != task:
        return _redirect(request, opened.base)
    action = str(posted.get("action") or "")
    return await _submit(request, runtime, opened, "", action.removeprefix("process:") or None)


def _receipt(request: Request, opened: Opened) -> Response:
    language = page_language(request)
    instance = opened.instance
    elements = [element for element in instance.get("data") or []
                if element.get("dataType") not in opened.models]
    response = render_page(request, "forms/receipt.html", {
        "app_title": _app_title(opened.app, language),
        "reference": str(opened.ref.instance_id).split("-")[-1],
        "files": [element for element in elements if element.get("dataType") != data.PDF_DATA_TYPE],
        "ended": opened.opened.instance.process_ended_at,
        "urls": Urls(opened.base, "", request.scope.get("root_path", "")),
    })
    return _no_store(response)

