"""The API documentation pages, Swagger UI at `/docs` and Redoc at `/redoc`, with every file served from here.

FastAPI's own pages load their scripts from a CDN, so without internet they are blank: the app turns them off
(`docs_url=None, redoc_url=None`) and these pages load the copies `npm run build` puts in `static/vendor`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from felles.core.middleware import content_security_policy
from felles.portal.shell import templates

router = APIRouter(include_in_schema=False)

# Swagger UI starts from a script file (no inline script) but styles some elements in the markup it renders.
_SWAGGER_POLICY = content_security_policy(style_src="'self' 'unsafe-inline'")
# Redoc writes its styles into <style> elements and runs its search index in a worker made from a blob.
_REDOC_POLICY = content_security_policy(style_src="'self' 'unsafe-inline'", worker_src="'self' blob:")


def _documentation_page(request: Request, template: str, policy: str) -> HTMLResponse:
    root_path = request.scope.get("root_path", "")
    response = templates.TemplateResponse(request, template, {
        "title": request.app.title,
        "openapi_url": request.app.openapi_url,
        "url": lambda path: f"{root_path}{path}",
    })
    response.headers["Content-Security-Policy"] = policy
    return response


@router.get("/docs", response_class=HTMLResponse, name="swagger_ui")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Try the API in the browser (Swagger UI)."""
    return _documentation_page(request, "docs/swagger.html", _SWAGGER_POLICY)


@router.get("/redoc", response_class=HTMLResponse, name="redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Read the API description (Redoc)."""
    return _documentation_page(request, "docs/redoc.html", _REDOC_POLICY)
