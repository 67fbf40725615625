"""The PDF's format at app-lib's path (which pages and components a form data element's PDF leaves out), and the
instance's receipt to download (a Felles addition: app-lib's clients read the `ref-data-as-pdf` element)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from felles.apps import receipt
from felles.apps.actions_api import INSTANCE, PROBLEMS, InstanceCallDep
from felles.core.tokens import AuthenticatedRoute

router = APIRouter(tags=["app pdf"], route_class=AuthenticatedRoute)


@router.get(INSTANCE + "/data/{dataGuid}/pdf/format", operation_id="app_pdf_format", responses=PROBLEMS)
async def pdf_format(call: InstanceCallDep, dataGuid: uuid.UUID) -> dict[str, Any]:
    """The pages and components the PDF of the form data element leaves out (excludedPages, excludedComponents)."""
    return await receipt.pdf_format(call, dataGuid)


@router.get(INSTANCE + "/receipt", operation_id="app_instance_receipt", responses={
    **PROBLEMS, 200: {"content": {"application/pdf": {}}, "description": "The receipt as a PDF"}},
    response_class=Response)
async def instance_receipt(call: InstanceCallDep) -> Response:
    """The instance's receipt: the PDF its process made last, or one written now of its forms."""
    found = await receipt.instance_receipt(call)
    ascii_name = found.filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(found.content, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(found.filename)}",
        "Cache-Control": "no-store"})
