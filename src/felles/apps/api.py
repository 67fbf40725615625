"""The app API at app-lib's paths (`/{org}/{app}/...`): each part's router, included after every component's."""

from __future__ import annotations

from fastapi import APIRouter

from felles.apps import (
    actions_api,
    data_api,
    deploy_api,
    instances_api,
    metadata_api,
    parties_api,
    payment_api,
    receipt_api,
    signing_api,
)
from felles.apps.forms import pages as form_pages
from felles.core.cache_invalidation import listen_while_serving
from felles.core.tokens import AuthenticatedRoute

# The catalogue of loaded apps remembers which version is newest until another process announces a deployment.
router = APIRouter(route_class=AuthenticatedRoute, lifespan=listen_while_serving)
# Fixed paths first: `/apps/api/v1/...` must not be taken for an app named `api` of an org `apps`.
router.include_router(deploy_api.router)
router.include_router(payment_api.router)  # its fixed paths (/apps-payment/...) before the apps' /{org}/{app}/...
router.include_router(metadata_api.router)
router.include_router(metadata_api.instance_router)
router.include_router(parties_api.router)
router.include_router(instances_api.router)
router.include_router(data_api.router)
router.include_router(receipt_api.router)
router.include_router(signing_api.router)
router.include_router(actions_api.router)
# Last: the form pages (`/{org}/{app}/` and `/{org}/{app}/instance/...`), for people in a browser.
router.include_router(form_pages.router)
