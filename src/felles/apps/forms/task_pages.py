"""A data task's pages: drawn with the instance's data, saved as the person goes (autosave) or by a button, and
the buttons that go to another page, run an action or move the process on (validation errors come back on the
page, by their fields and in the error summary)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from felles.apps import access, data, data_validation, instances, task_actions
from felles.apps.definition import LayoutSetDefinition
from felles.apps.dependencies import catalogue
from felles.apps.deployment import RunningApp
from felles.apps.forms.component_base import visible_pages
from felles.apps.forms.issues import describe_issue, field_pages
from felles.apps.forms.opening import (
    FORM_PURPOSE,
    AppPage,
    InstanceArgs,
    Opened,
    Urls,
    app_title,
    caller_of,
    checked_form,
    error_page,
    form_state_of,
    no_store,
    open_instance,
    open_subform,
    problem_page,
    redirect,
    subform_layout_set,
    task_type_of,
    to_login,
)
from felles.apps.forms.render import PageRenderer, issue_messages
from felles.apps.forms.saving import PageState, apply_post, editing_query, row_action, store
from felles.apps.forms.start import instantiate_for
from felles.apps.forms.steps import step_page
from felles.apps.forms.views import View
from felles.apps.task_actions import InstanceCall
from felles.core.errors import Conflict, NotFound, Problem
from felles.core.i18n import translate
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal import login
from felles.portal.shell import page_language, render_page

# Process actions that are user actions first (app-lib's /actions), then move the process (/process/next).
USER_ACTIONS = ("sign", "pay")
# The touched fields a page may carry: more than a page could hold is not a page's post.
MAX_TOUCHED, MAX_FIELD_NAME = 5000, 1000


async def form_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                    instance_guid: uuid.UUID, task: str, page: str) -> Response:
    return await _get(request, runtime, app, party_id, instance_guid, task, page)


async def subform_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                       instance_guid: uuid.UUID, task: str, page: str, component: str, element_id: uuid.UUID,
                       subform_page: str) -> Response:
    """A page of a subform's data element, opened from the Subform ``component`` on the task's ``page``."""
    return await _get(request, runtime, app, party_id, instance_guid, task, subform_page,
                      Subform(page, component, element_id))


@dataclass(frozen=True)
class Subform:
    """Which subform a request is for: the task's page and Subform component it is opened from, its element."""

    page: str
    component: str
    element_id: uuid.UUID


async def _get(request: Request, runtime: Runtime, app: RunningApp, party_id: int, instance_guid: uuid.UUID,
               task: str, page: str, subform: Subform | None = None) -> Response:
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    try:
        opened = await open_instance(request, runtime, app, caller, party_id, instance_guid)
        if opened.task == task and subform is not None:
            open_subform(opened, subform.page, subform.component, subform.element_id)
    except Problem as problem:
        return problem_page(request, app, problem)
    if opened.task != task:  # an old link: the process has moved on
        return redirect(request, opened.base)
    notice = translate("forms.file.uploaded", page_language(request), name=request.query_params["uploaded"]) \
        if request.query_params.get("uploaded") else None
    editing = {key for key in request.query_params.get("edit", "").split(",") if key}
    return await render_form_page(request, runtime, opened, page, notice=notice, state=PageState(editing=editing))


async def render_form_page(request: Request, runtime: Runtime, opened: Opened, page: str, *,
                           state: PageState | None = None, notice: str | None = None) -> Response:
    state = state or PageState()
    language = page_language(request)
    task = opened.task
    assert task is not None
    layout_set = opened.layout_set
    if layout_set is None:
        return step_page(request, runtime, opened)
    form = form_state_of(request, opened, layout_set)
    pages = visible_pages(form, layout_set)
    if page not in pages:
        return redirect(request, opened.base)
    may_write = await access.permits(runtime.database, opened.ref.caller, opened.opened.instance.owner_identifier,
                                     opened.app.id, "write", task=task)
    task_type = task_type_of(opened)
    renderer = PageRenderer(opened.definition, layout_set, form, page, messages=state.messages, pages=pages,
                            read_only=not may_write or task_type != "data", typed=state.typed,
                            editing=frozenset(state.editing), open_tabs=state.open_tabs,
                            subform_rows=opened.subform_rows,
                            form_of=lambda other: form_state_of(request, opened, other))
    views = renderer.views()
    urls = Urls(opened.base, task, request.scope.get("root_path", ""),
                opened.subform.path if opened.subform is not None else "")
    links = list(state.summary)
    if state.show_summary:
        links += [(f"#{target}", text) for target, text in renderer.error_links(views)]
        links += [("#form-page", text) for text in renderer.undrawn_errors(state.linked_elsewhere)] + state.elsewhere
    response = render_page(request, "forms/page.html", {
        "app_title": app_title(opened.app, language),
        "page_title": renderer.resource(None, page),
        "views": views, "error_links": links, "urls": urls, "page": page, "pages": pages,
        "page_number": pages.index(page) + 1, "form_token": login.form_token(runtime, request, FORM_PURPOSE),
        "editable": may_write and task_type == "data", "notice": notice, "touched": sorted(state.touched),
        # a subform's page without a button of its own to close it gets one
        "subform_done": opened.subform is not None and not _closes_subform(views),
    }, status_code=state.status_code)
    return no_store(response)


def _closes_subform(views: list[View]) -> bool:
    """Whether one of the views is a button back from a subform (a CustomButton's closeSubform)."""
    return any(view.props.get("action") == "subform-done" or _closes_subform(view.children)
               or any(_closes_subform(section.views) for section in view.sections) for view in views)


async def autosave(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                   instance_guid: uuid.UUID, task: str, page: str) -> Response:
    """Save what the page holds now (htmx posts it on every change) and draw the page again."""
    return await _post(request, runtime, app, party_id, instance_guid, task, page, autosaving=True)


async def post_page(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                    instance_guid: uuid.UUID, task: str, page: str) -> Response:
    """Save the page, then do what the pressed button says: go to a page, add or delete a row or a file,
    submit (validate, then move the process on), or run a process action (confirm, sign, pay …)."""
    return await _post(request, runtime, app, party_id, instance_guid, task, page, autosaving=False)


async def subform_autosave(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                           instance_guid: uuid.UUID, task: str, page: str, component: str, element_id: uuid.UUID,
                           subform_page: str) -> Response:
    """Save a subform's page as it changes (as ``autosave``)."""
    return await _post(request, runtime, app, party_id, instance_guid, task, subform_page, autosaving=True,
                       subform=Subform(page, component, element_id))


async def subform_post(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                       instance_guid: uuid.UUID, task: str, page: str, component: str, element_id: uuid.UUID,
                       subform_page: str) -> Response:
    """Save a subform's page, then go to another of its pages or back to the task's page it was opened from."""
    return await _post(request, runtime, app, party_id, instance_guid, task, subform_page, autosaving=False,
                       subform=Subform(page, component, element_id))


async def _post(request: Request, runtime: Runtime, app: RunningApp, party_id: int, instance_guid: uuid.UUID,
                task: str, page: str, *, autosaving: bool, subform: Subform | None = None) -> Response:
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    posted = await checked_form(request, runtime)
    if posted is None:
        return error_page(request, app, "forms.error.expired", 400)
    language = page_language(request)
    try:
        opened = await open_instance(request, runtime, app, caller, party_id, instance_guid)
        if opened.task == task and subform is not None:
            open_subform(opened, subform.page, subform.component, subform.element_id)
    except Problem as problem:
        return problem_page(request, app, problem)
    if opened.task != task:
        return redirect(request, opened.base)
    action = str(posted.get("action") or "save")
    layout_set = opened.layout_set
    state = PageState()
    editing = {key for key in posted.getlist("editing") if isinstance(key, str) and key}
    if action.startswith(("edit:", "close:")):
        key = action.partition(":")[2]
        editing = editing | {key} if action.startswith("edit:") else editing - {key}
    if layout_set is not None and task_type_of(opened) == "data":
        form = form_state_of(request, opened, layout_set)
        changed, state = apply_post(opened, form, layout_set, page, posted, language)
        if action.startswith(("add:", "delete:")):
            row_change = row_action(opened, action, form.context.data.default_data_type, editing)
            if row_change:
                changed.add(row_change)
        state.editing = editing
        state.touched |= _posted_touched(posted)
        state.open_tabs = _chosen_tabs(posted, action)
        state.show_summary = not autosaving or posted.get("summary") == "shown"
        try:
            await store(opened, changed)
            if action.startswith("delete-file:"):
                await data.delete_data_element(opened.ref, uuid.UUID(action.removeprefix("delete-file:")))
                opened = await open_instance(request, runtime, app, caller, party_id, instance_guid)
            if action.startswith("subform-add:") and subform is None:
                return await _add_subform_element(request, opened, page, action.removeprefix("subform-add:"))
            if action.startswith("subform-delete:") and subform is None:
                await _delete_subform_element(opened, uuid.UUID(action.removeprefix("subform-delete:")))
                return redirect(request, opened.page_path(page))
        except (Problem, ValueError) as problem:
            detail = problem.detail if isinstance(problem, Problem) else str(problem)
            state.summary.append(("#form-page", translate("forms.process.refused", language, reason=detail)))
            state.status_code = 409 if isinstance(problem, Problem) else 400
            return await render_form_page(request, runtime, opened, page, state=state)
        if autosaving or state.typed or action.startswith("tab:"):  # a tab chosen without script: drawn here
            if state.touched:  # the fields the person has changed say what is wrong with them now
                issues = await data_validation.validate_instance(opened.ref, language, [data_validation.DATA_TYPE])
                _show_issues(request, opened, page, issues, state)
            return await render_form_page(request, runtime, opened, page, state=state)
    if opened.subform is not None:  # a subform's pages: its own pages, or back to the task's page
        if action in ("next", "previous") or action.startswith("page:"):
            return redirect(request, opened.page_path(_target_page(request, opened, layout_set, page, action)))
        if action == "subform-done":
            return redirect(request, f"{opened.base}/{quote(task)}/{quote(opened.subform.page)}")
        return redirect(request, opened.page_path(page))
    if action == "instantiate":  # an InstantiationButton: a new instance for the same party
        return await instantiate_for(request, runtime, app, caller, party_id)
    if action.startswith("server:"):  # a CustomButton's server action: runs in place, the page stays
        call = InstanceCall(runtime, catalogue(request), app, caller, party_id, instance_guid, language)
        try:
            await task_actions.perform_action(call, task_actions.UserAction(action.removeprefix("server:")))
        except Problem as problem:
            return await _refused(request, runtime, opened, page, problem)
        return redirect(request, f"{opened.base}/{quote(task)}/{quote(page)}{editing_query(editing)}")
    if action in ("next", "previous") or action.startswith("page:"):
        target = _target_page(request, opened, layout_set, page, action)
        return redirect(request, f"{opened.base}/{quote(task)}/{quote(target)}")
    if action == "submit" or action.startswith("process:"):
        process_action = action.removeprefix("process:") if action.startswith("process:") else None
        return await _submit(request, runtime, opened, page, process_action)
    return redirect(request, f"{opened.base}/{quote(task)}/{quote(page)}{editing_query(editing)}")


def _target_page(request: Request, opened: Opened, layout_set: LayoutSetDefinition | None, page: str,
                 action: str) -> str:
    if layout_set is None:
        return page
    pages = visible_pages(form_state_of(request, opened, layout_set), layout_set)
    if action.startswith("page:"):
        wanted = action.removeprefix("page:")
        return wanted if wanted in pages else page
    position = pages.index(page) if page in pages else 0
    position += 1 if action == "next" else -1
    return pages[max(0, min(position, len(pages) - 1))] if pages else page


async def _add_subform_element(request: Request, opened: Opened, page: str, component: str) -> Response:
    """A new data element of a Subform's data type, opened on the subform's first page."""
    layout_set = subform_layout_set(opened, page, component)
    assert layout_set.data_type is not None

    async def nothing() -> AsyncIterator[bytes]:  # an empty form, prefilled as the data service prefills it
        yield b""

    created = await data.create_data_element(opened.ref, layout_set.data_type, content_type="application/json",
                                             content_disposition=None, content_length=0, body=nothing())
    urls = Urls(opened.base, opened.task or "")
    return redirect(request, urls.subform(page, component, str(created.element.id), layout_set.page_order[0]))


async def _delete_subform_element(opened: Opened, element_id: uuid.UUID) -> None:
    """Delete one of the instance's subform elements (the data service applies the data type's rules)."""
    if not any(row_id == element_id for rows in opened.subform_rows.values() for row_id, _ in rows):
        raise NotFound(f"The instance has no subform element {element_id}.", code="subform_not_found")
    await data.delete_data_element(opened.ref, element_id)


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
    return redirect(request, opened.base)


async def _refused(request: Request, runtime: Runtime, opened: Opened, page: str, problem: Problem) -> Response:
    """The page again, saying why the step was refused."""
    reason = problem.detail or problem.title
    if opened.layout_set is None:
        return step_page(request, runtime, opened, refusal=reason)
    state = PageState(summary=[("#form-page", translate("forms.process.refused", page_language(request),
                                                        reason=reason))], status_code=409)
    return await render_form_page(request, runtime, opened, page, state=state)


async def _render_issues(request: Request, runtime: Runtime, opened: Opened, page: str,
                         issues: list[dict[str, Any]]) -> Response:
    """The page again with every error: inline by its field, and in the error summary (fields on other pages
    linked to their page). Each field with an issue goes on showing its messages as the person corrects it."""
    state = PageState(status_code=422)
    _show_issues(request, opened, page, issues, state, every_field=True)
    return await render_form_page(request, runtime, opened, page, state=state)


def _show_issues(request: Request, opened: Opened, page: str, issues: list[dict[str, Any]], state: PageState, *,
                 every_field: bool = False) -> None:
    """Add the issues of the fields the person has touched (or of ``every_field``) to the page's messages, and the
    errors of such fields on other pages to the error summary's links."""
    language = page_language(request)
    layout_set = opened.layout_set
    form = form_state_of(request, opened, layout_set) if layout_set is not None else None
    element_types = {str(element.id): element.data_type for element in opened.opened.elements}
    if opened.subform is not None:  # the subform's other elements have the same fields: theirs are not shown here
        shown = str(opened.subform.element_id)
        data_type = element_types.get(shown)
        issues = [issue for issue in issues if str(issue.get("dataElementId")) == shown
                  or element_types.get(str(issue.get("dataElementId"))) != data_type]
    default = form.context.data.default_data_type if form is not None else ""
    messages = issue_messages(issues, default, element_types, lambda issue: describe_issue(form, language, issue))
    where = field_pages(form) if form is not None else {}
    for name, found in messages.items():
        if not every_field and name not in state.touched:
            continue
        state.touched.add(name)
        state.messages.setdefault(name, []).extend(found)
        if name not in where or where[name][0] == page:
            continue  # on this page: the summary links to it from the page's own views (or to the form)
        field_page, field_id = where[name]
        link = f"{request.scope.get('root_path', '')}{opened.page_path(field_page)}#{field_id}"
        state.elsewhere.extend((link, message.text) for message in found if message.severity == "error")
        state.linked_elsewhere.add(name)


def _chosen_tabs(posted: FormData, action: str) -> dict[str, str]:
    """The tab shown in each Tabs (``<view id>:<tab id>``, as the page posts it), the one a tab button chose last."""
    chosen = [item for item in posted.getlist("tab") if isinstance(item, str)][:MAX_TOUCHED]
    if action.startswith("tab:"):
        chosen.append(action.removeprefix("tab:"))
    tabs: dict[str, str] = {}
    for item in chosen:
        view_id, _, tab = item.partition(":")
        if view_id and tab:
            tabs[view_id] = tab
    return tabs


def _posted_touched(posted: FormData) -> set[str]:
    """The fields the page says the person has touched (a field name is short: anything else is not one)."""
    names = [name for name in posted.getlist("touched") if isinstance(name, str) and 0 < len(name) <= MAX_FIELD_NAME]
    return set(names[:MAX_TOUCHED])


async def post_step(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                    instance_guid: uuid.UUID, task: str) -> Response:
    """The button of a step without layouts: its action moves the process on (the PDP decides)."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    posted = await checked_form(request, runtime)
    if posted is None:
        return error_page(request, app, "forms.error.expired", 400)
    try:
        opened = await open_instance(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return problem_page(request, app, problem)
    if opened.task != task:
        return redirect(request, opened.base)
    action = str(posted.get("action") or "")
    return await _submit(request, runtime, opened, "", action.removeprefix("process:") or None)
