"""The committed OpenAPI descriptions, one per component (`docs/openapi/<component>.json`).

`felles openapi` writes them; a test fails when the code's API and the committed files differ, so a change to
an API is always visible in review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from felles import __version__
from felles.app import COMPONENT_ROUTERS
from felles.core.errors import document_problems
from felles.core.security_documentation import document_security

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "docs" / "openapi"


def _component_of(router: APIRouter) -> str | None:
    for route in router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            return str(route.endpoint.__module__).split(".")[1]
        included = getattr(route, "original_router", None)  # a router included in this one (the app API's parts)
        if isinstance(included, APIRouter) and (component := _component_of(included)) is not None:
            return component
    return None  # a router with no documented API (the web pages)


def component_descriptions() -> dict[str, dict[str, Any]]:
    """One description per component, of all its routers (correspondence has the Altinn API and next-move's)."""
    apps: dict[str, FastAPI] = {}
    for router in COMPONENT_ROUTERS:
        component = _component_of(router)
        if component is None:
            continue
        app = apps.setdefault(component, FastAPI(title=f"Felles {component}", version=__version__))
        app.include_router(router)
    return {component: document_problems(document_security(app, app.openapi())) for component, app in apps.items()}


def render(description: dict[str, Any]) -> str:
    return json.dumps(description, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_descriptions(folder: Path = OPENAPI_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for component, description in component_descriptions().items():
        path = folder / f"{component}.json"
        path.write_text(render(description))
        written.append(path)
    return written


def stale_descriptions(folder: Path = OPENAPI_DIR) -> list[str]:
    """Components whose committed description differs from the code's."""
    return [
        component for component, description in component_descriptions().items()
        if not (folder / f"{component}.json").exists()
        or (folder / f"{component}.json").read_text() != render(description)
    ]
