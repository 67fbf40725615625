"""The web pages (server-rendered, Jinja2 + htmx) and the static files they use."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError

from felles.core.errors import ProblemPage, register_html_problem_renderer
from felles.core.health import database_is_ready
from felles.core.runtime import Runtime, RuntimeDep
from felles.portal.components import running_components, start_pages
from felles.portal.shell import STATIC_DIR, render_page
from felles.registers import service as registers

router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    """Serve `portal/static` at `/static`; `npm run build` puts Designsystemet and htmx in `static/vendor`."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


async def _demo_personas(runtime: Runtime) -> list[tuple[str, str, str]]:
    """The demo personas to log in as, outside production, once the registers hold them."""
    if runtime.settings.is_production:
        return []
    try:
        return await registers.seeded_demo_personas(runtime.database)
    except DBAPIError:  # not migrated yet: the page still tells what runs
        return []


@router.get("/", response_class=HTMLResponse, name="welcome")
async def welcome(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The front page: what Felles is, and what this process runs."""
    database_ready = (await database_is_ready(runtime.database)).ok
    return render_page(
        request,
        "welcome.html",
        {
            "database_ready": database_ready,
            "components": running_components(request.app),
            "start_pages": start_pages(request.app),
            "personas": await _demo_personas(runtime) if database_ready else [],
        },
    )


# Statuses whose error page has a heading of its own; others get the general one for their class.
_STATUSES_WITH_HEADING = frozenset({400, 401, 403, 404, 405, 413, 422, 500})


def _heading_key(status: int) -> str:
    if status in _STATUSES_WITH_HEADING:
        return f"portal.error.heading.{status}"
    return "portal.error.heading.500" if status >= 500 else "portal.error.heading.other"


def render_problem_page(request: Request, problem: ProblemPage) -> HTMLResponse:
    """A problem as a page in the shell, for a browser (core's handlers call this; see `install_pages`)."""
    response = render_page(request, "error.html", {"problem": problem, "heading_key": _heading_key(problem.status)},
                           status_code=problem.status)
    response.headers["Cache-Control"] = "no-store"
    return response


def install_pages(app: FastAPI) -> None:
    """The static files, and error pages for browsers instead of problem documents."""
    mount_static(app)
    register_html_problem_renderer(app, render_problem_page)
