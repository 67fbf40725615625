"""The pages a person fills an app's form in: start (party, "my active instances", start new), the task's pages,
autosave, uploads, the confirmation and other process steps, and the receipt with its PDF.

Paths are app-frontend's: ``/{org}/{app}/`` and ``/{org}/{app}/instance/{partyId}/{guid}/{task}/{page}``. The
pages decide nothing themselves: the person logs in through the portal's ID-porten login, becomes an app
``Caller``, and every read and change goes through the apps' service functions (instances, data, validation,
the process), which ask the app's policy. Every page works without script: each button posts the whole form,
which is saved first; with script, a change saves at once (htmx) and the page body is drawn again.

This module is the route table, in the order the routes must be tried (``data`` and ``receipt`` are not tasks);
the pages themselves live by what they show: :mod:`.start`, :mod:`.steps`, :mod:`.task_pages`, :mod:`.uploads`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from felles.apps.forms import start, steps, task_pages, uploads
from felles.apps.forms.opening import INSTANCE_PATH, UPLOAD_SEGMENT

router = APIRouter(include_in_schema=False)

_HTML = {"response_class": HTMLResponse, "response_model": None}
router.add_api_route("/{org}/{app}/", start.start_page, methods=["GET"], name="forms_start",
                     route_class_override=start.SlashedRoute, **_HTML)
router.add_api_route("/{org}/{app}/", start.instantiate, methods=["POST"], name="forms_instantiate",
                     route_class_override=start.SlashedRoute, **_HTML)
router.add_api_route(INSTANCE_PATH, steps.instance_page, methods=["GET"], name="forms_instance", **_HTML)
router.add_api_route(INSTANCE_PATH + "/receipt", steps.receipt_pdf, methods=["GET"], name="forms_receipt_pdf",
                     response_model=None)
router.add_api_route(INSTANCE_PATH + "/data/{element_id}", uploads.download, methods=["GET"], name="forms_download",
                     response_model=None)
router.add_api_route(INSTANCE_PATH + "/{task}/{page}", task_pages.form_page, methods=["GET"], name="forms_page",
                     **_HTML)
router.add_api_route(INSTANCE_PATH + "/{task}/{page}/save", task_pages.autosave, methods=["POST"],
                     name="forms_autosave", **_HTML)
router.add_api_route(INSTANCE_PATH + "/{task}/{page}", task_pages.post_page, methods=["POST"], name="forms_post",
                     **_HTML)
SUBFORM_PATH = INSTANCE_PATH + "/{task}/{page}/{component}/{element_id}/{subform_page}"
router.add_api_route(SUBFORM_PATH, task_pages.subform_page, methods=["GET"], name="forms_subform_page", **_HTML)
router.add_api_route(SUBFORM_PATH + "/save", task_pages.subform_autosave, methods=["POST"],
                     name="forms_subform_autosave", **_HTML)
router.add_api_route(SUBFORM_PATH, task_pages.subform_post, methods=["POST"], name="forms_subform_post", **_HTML)
router.add_api_route(INSTANCE_PATH + "/{task}/" + UPLOAD_SEGMENT + "/{data_type}", uploads.upload, methods=["POST"],
                     name="forms_upload", **_HTML)
router.add_api_route(INSTANCE_PATH + "/{task}", task_pages.post_step, methods=["POST"], name="forms_step", **_HTML)
