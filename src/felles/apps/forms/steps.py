"""The pages of an instance outside its data tasks' forms: where an instance opens, the process steps without
layouts (confirmation, signing, payment, feedback) with the form's summary, and the receipt with its PDF."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from felles.apps import data, receipt
from felles.apps.definition import LayoutSetDefinition
from felles.apps.dependencies import catalogue
from felles.apps.forms.component_base import visible_pages
from felles.apps.forms.opening import (
    FORM_PURPOSE,
    AppPage,
    InstanceArgs,
    Opened,
    Urls,
    app_title,
    caller_of,
    form_state_of,
    no_store,
    open_instance,
    problem_page,
    redirect,
    task_type_of,
    to_login,
)
from felles.apps.forms.render import PageRenderer
from felles.apps.forms.views import View
from felles.apps.layout import Component, FormState, Node
from felles.apps.task_actions import InstanceCall
from felles.core.errors import Problem
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import page_language, render_page


async def instance_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                        instance_guid: uuid.UUID) -> Response:
    """The instance: its current task's first page, the process step's page, or the receipt once it has ended."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    try:
        opened = await open_instance(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return problem_page(request, app, problem)
    if opened.task is None:
        return receipt_page(request, opened)
    layout_set = opened.definition.layout_set_for_task(opened.task)
    if layout_set is None:
        return step_page(request, runtime, opened)
    form = form_state_of(request, opened, layout_set)
    pages = visible_pages(form, layout_set)
    if not pages:
        return step_page(request, runtime, opened)
    return redirect(request, f"{opened.base}/{quote(opened.task)}/{quote(pages[0])}")


async def receipt_pdf(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                      instance_guid: uuid.UUID) -> Response:
    """The receipt as a PDF: the one the process made, or one written now of the instance's forms."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    call = InstanceCall(runtime, catalogue(request), app, caller, party_id, instance_guid, page_language(request))
    try:
        found = await receipt.instance_receipt(call)
    except Problem as problem:
        return problem_page(request, app, problem)
    return Response(found.content, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}", "Cache-Control": "no-store"})


# --- process steps without pages, and the receipt -----------------------------------------------------------------
def step_page(request: Request, runtime: Runtime, opened: Opened, *, refusal: str | None = None) -> Response:
    """A task without layouts (confirmation, signing, payment, feedback): the data task's summary and one button
    that runs the task's action."""
    language = page_language(request)
    task_type = task_type_of(opened) or ""
    process = opened.definition.process
    task = process.tasks.get(opened.task or "") if process is not None else None
    action = {"confirmation": "confirm", "signing": "sign", "payment": "pay"}.get(task_type)
    summary: list[View] = []
    for layout_set in opened.definition.layout_sets.values():
        if layout_set.data_type in opened.models and layout_set.layout_set is not None:
            form = form_state_of(request, opened, layout_set)
            pages = visible_pages(form, layout_set)
            summary = [_summary_view(opened, layout_set, form, pages)]
            break
    response = render_page(request, "forms/step.html", {
        "app_title": app_title(opened.app, language), "task_type": task_type,
        "task_name": (task.name if task is not None else None) or opened.task,
        "action": action, "views": summary, "refusal": refusal,
        "urls": Urls(opened.base, opened.task or "", request.scope.get("root_path", "")),
        "form_token": login.form_token(runtime, request, FORM_PURPOSE), "editable": False, "page": "",
    }, status_code=409 if refusal else 200)
    return no_store(response)


def _summary_view(opened: Opened, layout_set: LayoutSetDefinition, form: FormState, pages: list[str]) -> View:
    component = Component("step-summary", "Summary2", "", {"id": "step-summary", "type": "Summary2"})
    renderer = PageRenderer(opened.definition, layout_set, form, "", pages=pages, read_only=True)
    view = View("summary", "Summary2", "c-step-summary", Node(component, ""))
    view.entries = renderer.summary_targets(Node(component, ""))
    return view


def receipt_page(request: Request, opened: Opened) -> Response:
    language = page_language(request)
    instance = opened.instance
    elements = [element for element in instance.get("data") or []
                if element.get("dataType") not in opened.models]
    response = render_page(request, "forms/receipt.html", {
        "app_title": app_title(opened.app, language),
        "reference": str(opened.ref.instance_id).split("-")[-1],
        "files": [element for element in elements if element.get("dataType") != data.PDF_DATA_TYPE],
        "ended": opened.opened.instance.process_ended_at,
        "urls": Urls(opened.base, "", request.scope.get("root_path", "")),
    })
    return no_store(response)
