"""The app API at app-lib's paths (`/{org}/{app}/...`): each part's router, included after every component's."""

from __future__ import annotations

from fastapi import APIRouter

from felles.apps import data_api, instances_api, metadata_api, parties_api
from felles.apps.forms import pages as form_pages
from felles.core.tokens import AuthenticatedRoute

router = APIRouter(route_class=AuthenticatedRoute)
router.include_router(metadata_api.router)
router.include_router(parties_api.router)
router.include_router(instances_api.router)
router.include_router(data_api.router)
# Last: the form pages (`/{org}/{app}/` and `/{org}/{app}/instance/...`), for people in a browser.
router.include_router(form_pages.router)
