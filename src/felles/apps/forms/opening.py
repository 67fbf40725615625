"""What every form page starts from: the person on it (an app ``Caller`` from the portal's login), the
instance opened for the page with its form data, where the page's buttons go, and the answers every page gives
(a login, an error page, a redirect)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from felles.apps import access, data, receipt
from felles.apps.definition import AppDefinition, LayoutSetDefinition
from felles.apps.dependencies import catalogue, deployed_app
from felles.apps.deployment import RunningApp
from felles.apps.forms.component_base import form_state
from felles.apps.layout import FormState
from felles.core.errors import NotFound, Problem
from felles.core.runtime import Runtime
from felles.core.tokens import Principal
from felles.portal import login
from felles.portal.shell import page_language, render_page

FORM_PURPOSE = "forms"
INSTANCE_PATH = "/{org}/{app}/instance/{party_id}/{instance_guid}"
UPLOAD_SEGMENT = "upload"
AppPage = Annotated[RunningApp, Depends(deployed_app)]


# --- who is on the page --------------------------------------------------------------------------------------
async def caller_of(request: Request, runtime: Runtime) -> access.Caller | None:
    claims = await login.signed_in_claims(request, runtime)
    if claims is None:
        return None
    return await access.caller_of(runtime.database, Principal.from_claims(claims))


async def to_login(request: Request, runtime: Runtime) -> Response:
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return await login.start_login(request, runtime, f"{path}?{request.url.query}" if request.url.query else path)


def error_page(request: Request, app: RunningApp, key: str, status_code: int, detail: str = "") -> Response:
    return no_store(render_page(request, "forms/error.html", {
        "message_key": key, "detail": detail, "app_title": app_title(app, page_language(request))},
        status_code=status_code))


def problem_page(request: Request, app: RunningApp, problem: Problem) -> Response:
    key = {403: "forms.error.not_permitted", 404: "forms.error.not_found"}.get(problem.status, "")
    return error_page(request, app, key or "forms.process.refused", problem.status if problem.status < 500 else 500,
                      problem.detail or problem.title)


def app_title(app: RunningApp, language: str) -> str:
    return receipt.app_title(app.definition, language)


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303,
                            headers={"Cache-Control": "no-store"})


async def checked_form(request: Request, runtime: Runtime) -> FormData | None:
    """The posted form if it carries this session's form token (another site cannot post for the person)."""
    form = await request.form()
    return form if has_token(request, runtime, form) else None


def has_token(request: Request, runtime: Runtime, form: FormData) -> bool:
    given = form.get("form_token")
    return isinstance(given, str) and login.form_token_is_valid(runtime, request, FORM_PURPOSE, given)


# --- an instance ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubformScope:
    """A subform's data element open on its own pages: the task's page and the Subform component it was opened
    from, and the subform's layout set."""

    page: str
    component: str
    element_id: uuid.UUID
    layout_set: LayoutSetDefinition

    @property
    def path(self) -> str:
        """What the subform's pages add to a task's path (app-frontend's: page, component, data element)."""
        return f"/{quote(self.page)}/{quote(self.component)}/{self.element_id}"


@dataclass
class Opened:
    """An instance opened for a page: its rows, the form data by data type, and where its pages are.

    A data type filled in through subforms (``allowInSubform``) has many elements: they are kept apart, by data
    type, as (element id, form data), for the Subform tables; the one open on a subform's pages is the model of
    its data type then (``subform``).
    """

    ref: data.InstanceRef
    opened: data.Opened
    app: RunningApp
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    elements_by_type: dict[str, uuid.UUID] = field(default_factory=dict)
    subform_rows: dict[str, list[tuple[uuid.UUID, dict[str, Any]]]] = field(default_factory=dict)
    subform: SubformScope | None = None

    @property
    def layout_set(self) -> LayoutSetDefinition | None:
        """The layout set the pages draw: the subform's, else the current task's."""
        if self.subform is not None:
            return self.subform.layout_set
        return self.definition.layout_set_for_task(self.task) if self.task else None

    def page_path(self, page: str) -> str:
        """The path of one of the pages drawn (a subform's pages lie under the task page it was opened from)."""
        scope = self.subform.path if self.subform is not None else ""
        return f"{self.base}/{quote(self.task or '')}{scope}/{quote(page)}"

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


async def open_instance(request: Request, runtime: Runtime, app: RunningApp, caller: access.Caller, party_id: int,
                        instance_guid: uuid.UUID, action: str = "read") -> Opened:
    ref = data.InstanceRef(runtime, catalogue(request), app.id, caller, party_id, instance_guid)
    opened = Opened(ref, await data.open_instance(ref, action), app)
    for element in opened.opened.elements:
        data_type = data_type_of(opened.definition, element.data_type)
        if data_type is None or not data.is_form_data(data_type):
            continue
        if (data_type.get("appLogic") or {}).get("allowInSubform"):
            model = data.model_of(opened.definition, data_type)
            opened.subform_rows.setdefault(element.data_type, []).append(
                (element.id, await data.read_form_data(runtime, element, model)))
        elif element.data_type not in opened.models:
            model = data.model_of(opened.definition, data_type)
            opened.models[element.data_type] = await data.read_form_data(runtime, element, model)
            opened.elements_by_type[element.data_type] = element.id
    return opened


def subform_layout_set(opened: Opened, page: str, component_id: str) -> LayoutSetDefinition:
    """The layout set of the Subform component ``component_id`` on the task's ``page``."""
    task_set = opened.definition.layout_set_for_task(opened.task or "")
    layout = task_set.layout_set if task_set is not None else None
    component = layout.components.get(component_id) if layout is not None else None
    if component is None or component.page != page or component.type != "Subform":
        raise NotFound(f"The page {page} has no subform {component_id}.", code="subform_not_found")
    layout_set = opened.definition.layout_sets.get(str(component.definition.get("layoutSet")))
    if layout_set is None or layout_set.layout_set is None or layout_set.data_type is None:
        raise NotFound(f"The subform {component_id} names no layout set of this app.", code="subform_not_found")
    return layout_set


def open_subform(opened: Opened, page: str, component_id: str, element_id: uuid.UUID) -> None:
    """Open one of a Subform's data elements on the subform's pages: its form data becomes its type's model."""
    layout_set = subform_layout_set(opened, page, component_id)
    assert layout_set.data_type is not None
    found = next((model for row_id, model in opened.subform_rows.get(layout_set.data_type, []) if row_id == element_id),
                 None)
    if found is None:
        raise NotFound(f"The subform {component_id} has no data element {element_id}.", code="subform_not_found")
    opened.models[layout_set.data_type] = found
    opened.elements_by_type[layout_set.data_type] = element_id
    opened.subform = SubformScope(page, component_id, element_id, layout_set)


def data_type_of(definition: AppDefinition, data_type_id: str) -> dict[str, Any] | None:
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
    scope: str = ""  # a subform's pages: what SubformScope.path adds

    def page(self, page: str) -> str:
        return f"{self.root}{self.base}/{quote(self.task)}{self.scope}/{quote(page)}"

    def subform(self, page: str, component: str, element_id: str, subform_page: str) -> str:
        """A subform's data element on its first page, opened from the task's ``page``."""
        return f"{self.root}{self.base}/{quote(self.task)}/{quote(page)}/{quote(component)}/{element_id}/" \
            f"{quote(subform_page)}"

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


def form_state_of(request: Request, opened: Opened, layout_set: LayoutSetDefinition) -> FormState:
    return form_state(opened.definition, layout_set, opened.models, page_language(request),
                      instance=opened.instance, data_elements=opened.elements())


def task_type_of(opened: Opened) -> str | None:
    process = opened.definition.process
    if process is None or opened.task not in process.tasks:
        return None
    return process.tasks[opened.task].task_type
