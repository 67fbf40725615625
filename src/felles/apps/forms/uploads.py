"""Files on the form pages: a file chosen on a page stored as a data element (the data type's rules apply), and
the instance's files downloaded."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from felles.apps import access, data
from felles.apps.dependencies import catalogue
from felles.apps.deployment import RunningApp
from felles.apps.forms.opening import (
    UPLOAD_SEGMENT,
    AppPage,
    InstanceArgs,
    caller_of,
    error_page,
    has_token,
    open_instance,
    problem_page,
    redirect,
    to_login,
)
from felles.apps.forms.saving import PageState
from felles.apps.forms.task_pages import render_form_page
from felles.apps.forms.views import Message
from felles.core.body_limit import declare_body_limit
from felles.core.errors import Problem
from felles.core.i18n import translate
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal.shell import page_language

# A file posted from a page: the data type's own limit is checked by the data service as it streams.
declare_body_limit(f"/*/*/instance/*/*/*/{UPLOAD_SEGMENT}", data.MAX_ATTACHMENT_BYTES)


# Before the task pages' route: `data` is not a task.
async def download(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                   instance_guid: uuid.UUID, element_id: uuid.UUID) -> Response:
    """A file of the instance (an attachment or the PDF receipt), for the person on the page."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    ref = data.InstanceRef(runtime, catalogue(request), app.id, caller, party_id, instance_guid)
    try:
        element, form_data = await data.read_data_element(ref, element_id)
    except Problem as problem:
        return problem_page(request, app, problem)
    if form_data is not None:
        return Response(json.dumps(form_data), media_type="application/json")
    stream = await data.open_file(ref, element)
    filename = element.filename or f"{element.data_type}"
    return StreamingResponse(stream, media_type=element.content_type or "application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"})


# --- uploads and downloads ----------------------------------------------------------------------------------------
async def _file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 16):
        yield chunk


async def upload(request: Request, runtime: RuntimeDep, app: AppPage, party_id: InstanceArgs,
                 instance_guid: uuid.UUID, task: str, data_type: str) -> Response:
    """A file chosen on a page, stored as a data element of ``data_type`` (the data type's rules apply)."""
    caller = await caller_of(request, runtime)
    if caller is None:
        return await to_login(request, runtime)
    posted = await request.form()
    try:
        return await _upload(request, runtime, app, caller, posted, party_id, instance_guid, task, data_type)
    finally:
        await posted.close()  # the file's spooled copy


async def _upload(request: Request, runtime: Runtime, app: RunningApp, caller: access.Caller, posted: FormData,
                  party_id: int, instance_guid: uuid.UUID, task: str, data_type: str) -> Response:
    if not has_token(request, runtime, posted):
        return error_page(request, app, "forms.error.expired", 400)
    page = str(posted.get("page") or "")
    try:
        opened = await open_instance(request, runtime, app, caller, party_id, instance_guid)
    except Problem as problem:
        return problem_page(request, app, problem)
    if opened.task != task:
        return redirect(request, opened.base)
    file = posted.get("file")
    language = page_language(request)
    if not isinstance(file, UploadFile) or not file.filename:
        state = PageState({f"attachment::{data_type}": [Message(translate("forms.file.missing", language))]})
        state.status_code = 400
        return await render_form_page(request, runtime, opened, page, state=state)
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
        return await render_form_page(request, runtime, opened, page, state=state)
    return redirect(request, f"{opened.base}/{quote(task)}/{quote(page)}?uploaded={quote(file.filename)}")
