"""The PDF's format at app-lib's path: which pages and components a form data element's PDF leaves out."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from felles.apps import receipt
from felles.apps.actions_api import INSTANCE, PROBLEMS, InstanceCallDep
from felles.core.tokens import AuthenticatedRoute

router = APIRouter(tags=["app pdf"], route_class=AuthenticatedRoute)


@router.get(INSTANCE + "/data/{dataGuid}/pdf/format", operation_id="app_pdf_format", responses=PROBLEMS)
async def pdf_format(call: InstanceCallDep, dataGuid: uuid.UUID) -> dict[str, Any]:
    """The pages and components the PDF of the form data element leaves out (excludedPages, excludedComponents)."""
    return await receipt.pdf_format(call, dataGuid)
