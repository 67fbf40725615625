"""What every route of the app API needs: the deployed app named by the path, the caller, the party.

App routes live at app-lib's paths, `/{org}/{app}/...`, as Altinn's apps serve them, so that Altinn's own
frontend (app-frontend-react) finds them. Their first segment is a path parameter: the apps routers are included
after every component's, so fixed paths win.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from felles.apps import access
from felles.apps.deployment import AppCatalogue, RunningApp
from felles.core.runtime import DatabaseDep
from felles.core.tokens import ALTINN_API_ISSUERS, ALTINN_END_USER_ISSUERS, AcceptedTokens, Principal, require_token

# A person calls with an Altinn token (exchanged from ID-porten), a service owner with Maskinporten's or Altinn's.
# Altinn's frontend sends the person's token in app-lib's runtime cookie.
APP_TOKENS = AcceptedTokens(issuers=ALTINN_END_USER_ISSUERS | ALTINN_API_ISSUERS, audiences=("/apps",),
                            runtime_cookie=True)
ORG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,29}$"
APP_PATTERN = r"^[a-z0-9][a-z0-9-]{0,98}$"


def catalogue(request: Request) -> AppCatalogue:
    """This process's catalogue of loaded app versions (unpacked under the data folder on first use)."""
    state = request.app.state
    if getattr(state, "app_catalogue", None) is None:
        runtime = state.runtime
        state.app_catalogue = AppCatalogue(runtime.database, runtime.settings.data_dir / "apps")
    found: AppCatalogue = state.app_catalogue
    return found


async def deployed_app(request: Request, org: Annotated[str, Path(pattern=ORG_PATTERN)],
                       app: Annotated[str, Path(pattern=APP_PATTERN)]) -> RunningApp:
    """The newest deployed version of `org/app`; 404 when no such app is deployed."""
    definition, version = await catalogue(request).get(f"{org}/{app}")
    return RunningApp(definition, version)


async def caller(database: DatabaseDep, principal: Annotated[Principal, require_token(APP_TOKENS)]) -> access.Caller:
    return await access.caller_of(database, principal)


AppDep = Annotated[RunningApp, Depends(deployed_app)]
CallerDep = Annotated[access.Caller, Depends(caller)]
