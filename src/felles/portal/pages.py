"""The web pages (server-rendered, Jinja2 + htmx) and the static files they use."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from felles.core.health import database_is_ready
from felles.core.runtime import RuntimeDep
from felles.portal.components import running_components
from felles.portal.shell import STATIC_DIR, render_page

router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    """Serve `portal/static` at `/static`; `npm run build` puts Designsystemet and htmx in `static/vendor`."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@router.get("/", response_class=HTMLResponse, name="welcome")
async def welcome(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The front page: what Felles is, and what this process runs."""
    return render_page(
        request,
        "welcome.html",
        {
            "database_ready": (await database_is_ready(runtime.database)).ok,
            "components": running_components(request.app),
        },
    )
