"""The app API at app-lib's paths (`/{org}/{app}/...`): each part's router, included after every component's."""

from __future__ import annotations

from fastapi import APIRouter

from felles.apps import deploy_api, metadata_api, parties_api
from felles.core.tokens import AuthenticatedRoute

router = APIRouter(route_class=AuthenticatedRoute)
# Fixed paths first: `/apps/api/v1/...` must not be taken for an app named `api` of an org `apps`.
router.include_router(deploy_api.router)
router.include_router(metadata_api.router)
router.include_router(parties_api.router)
