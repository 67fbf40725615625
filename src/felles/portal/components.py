"""What runs: the parts of the platform the welcome page presents, with their links and live endpoints.

`PLATFORM_COMPONENTS` is the one list to extend when a component starts serving. Names and descriptions are
message keys (`portal.component.<key>.name|description`); the endpoints are read from the application's OpenAPI
description under each component's path prefixes, so the page shows what this process serves, not what we meant
it to.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from starlette.routing import Match

log = structlog.get_logger("felles.portal")


@dataclass(frozen=True)
class Link:
    label: str  # message key
    href: str


@dataclass(frozen=True)
class PlatformComponent:
    key: str
    route_prefixes: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()

    @property
    def name(self) -> str:
        return f"portal.component.{self.key}.name"

    @property
    def description(self) -> str:
        return f"portal.component.{self.key}.description"

    def serves(self, path: str) -> bool:
        return any(path == prefix or path.startswith(f"{prefix}/") for prefix in self.route_prefixes)


PLATFORM_COMPONENTS: tuple[PlatformComponent, ...] = (
    PlatformComponent(
        "core",
        route_prefixes=("/health", "/metrics", "/.well-known/felles", "/audit"),
        links=(
            Link("portal.link.api_docs", "/docs"),
            Link("portal.link.openapi", "/openapi.json"),
            Link("portal.link.readiness", "/health/ready"),
            Link("portal.link.metrics", "/metrics"),
            Link("portal.link.jwks", "/.well-known/felles/jwks.json"),
        ),
    ),
    PlatformComponent("folkeregisteret", route_prefixes=("/folkeregisteret",)),
    PlatformComponent(
        "enhetsregisteret",
        route_prefixes=("/enhetsregisteret",),
        links=(Link("portal.link.enheter", "/enhetsregisteret/api/enheter"),),
    ),
    PlatformComponent("krr", route_prefixes=("/rest",)),
    PlatformComponent(
        "identity",
        route_prefixes=("/idporten", "/maskinporten", "/ansattporten", "/selvbetjening", "/authentication"),
        links=(
            Link("portal.link.idporten_discovery", "/idporten/.well-known/openid-configuration"),
            Link("portal.link.maskinporten_metadata", "/maskinporten/.well-known/oauth-authorization-server"),
        ),
    ),
    PlatformComponent(
        "authorization",
        route_prefixes=("/resourceregistry", "/authorization", "/accessmanagement/api/v1/enduser",
                        "/accessmanagement/api/v1/meta", "/accessmanagement/api/v1/resourceowner"),
        links=(
            Link("portal.link.access_management", "/accessmanagement/ui"),
            Link("portal.link.resource_export", "/resourceregistry/api/v1/resource/export"),
        ),
    ),
    PlatformComponent(
        "consent",
        route_prefixes=("/accessmanagement/api/v1/enterprise/consentrequests", "/accessmanagement/api/v1/bff"),
    ),
    PlatformComponent("storage", route_prefixes=("/storage",)),
    PlatformComponent("events", route_prefixes=("/events",)),
    PlatformComponent(
        "notifications",
        route_prefixes=("/notifications",),
        links=(Link("portal.link.email_outbox", "/notifications/email-outbox"),
               Link("portal.link.sms_outbox", "/notifications/sms-outbox")),
    ),
    PlatformComponent("portal"),
)

# The pages a person uses, first on the welcome page: each is shown only where this process serves it.
START_PAGES: tuple[Link, ...] = (
    Link("portal.start.log_in", "/accessmanagement/ui"),
    Link("portal.start.demo_app", "/fjordvik/parkering/"),  # felles.apps.demo's app, once its form page is served
    Link("portal.start.skedsmo_leave", "/skedsmo/soknad-om-fri/"),  # felles.journey.demo's apps
    Link("portal.start.skedsmo_kindergarten", "/skedsmo/barnehageplass/"),
    Link("portal.start.consent", "/accessmanagement/ui/consent"),
    Link("broker.welcome_link", "/broker/ui"),
    Link("correspondence.start", "/correspondence/ui"),
    Link("inbox.start", "/inbox/"),
    Link("portal.start.dialogs", "/dialogporten/ui"),
    Link("profile.start", "/profile/ui"),
    Link("portal.start.email_outbox", "/notifications/email-outbox"),
    Link("portal.start.sms_outbox", "/notifications/sms-outbox"),
    Link("portal.start.digital_mailbox", "/digitalpost/postkasse"),
    Link("portal.start.api_docs", "/docs"),
    Link("operations.start.status", "/status"),
    Link("operations.start.statistics", "/statistics"),
)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True, order=True)
class Endpoint:
    path: str  # first: endpoints sort by path, then method
    method: str


@dataclass(frozen=True)
class RunningComponent:
    component: PlatformComponent
    links: list[Link]
    endpoints: list[Endpoint]


def _serves(app: FastAPI, path: str) -> bool:
    """Whether a GET of `path` reaches one of the app's routes: documented APIs and pages (access management,
    the SMS outbox) alike."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def start_pages(app: FastAPI) -> list[Link]:
    return [link for link in START_PAGES if _serves(app, link.href)]


def running_components(app: FastAPI) -> list[RunningComponent]:
    """Every platform component with its links and the API endpoints the app documents for it.

    The endpoints come from the app's OpenAPI description; a link shows only where the app serves its path:
    no dead links while a component is being built, and no `/docs` link where the API docs are switched off.
    """
    try:
        paths: dict[str, dict[str, object]] = app.openapi().get("paths", {})
    except Exception:  # a component's broken schema must not take the front page down with /docs
        log.exception("openapi_unavailable")
        paths = {}
    endpoints = sorted(
        Endpoint(path=path, method=method.upper())
        for path, operations in paths.items()
        for method in operations
        if method in _HTTP_METHODS
    )
    return [
        RunningComponent(
            component,
            links=[link for link in component.links if _serves(app, link.href)],
            endpoints=[endpoint for endpoint in endpoints if component.serves(endpoint.path)],
        )
        for component in PLATFORM_COMPONENTS
    ]
