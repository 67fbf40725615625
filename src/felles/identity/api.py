"""HTTP endpoints of ID-porten, Ansattporten and Maskinporten.

The OAuth endpoints answer RFC 6749 JSON errors (`{"error", "error_description"}`), as every OAuth client
library expects, not problem+json. The browser endpoints (/authorize, /logout) redirect back to the client
only when its redirect_uri is registered; otherwise they show an error page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from felles.core.cache_invalidation import listen_while_serving
from felles.core.errors import Forbidden, Unauthorized
from felles.core.runtime import Runtime
from felles.core.tokens import AcceptedTokens, AuthenticatedRoute, Issuer, Principal, require_scope
from felles.identity import pages, schemas, selfservice, service, service_clients, service_logins, service_tokens
from felles.identity.issuers import (
    ANSATTPORTEN,
    IDPORTEN,
    MASKINPORTEN_PATH,
    OidcIssuer,
    maskinporten_metadata,
)
from felles.identity.pages import RuntimeDep
from felles.identity.service_protocol import AuthorizationPageError, OAuthError

# While the server runs, other processes' self-service changes clear this process's identity cache.
router = APIRouter(tags=["identity"], lifespan=listen_while_serving)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="felles"' if exc.error == "invalid_client" else \
            f'Bearer error="{exc.error}"'
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                        headers=headers)


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


async def _form(request: Request) -> dict[str, Any]:
    """The form's fields; a repeated one is `invalid_request` (RFC 6749 §3.1, §3.2), except `resource`
    (RFC 8707). A url-encoded body, what every OAuth client sends, is parsed directly; anything else goes
    through Starlette's form parser."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        body = await request.body()
        return _parameters(parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                                     errors="replace"))
    return _parameters(list((await request.form()).multi_items()))


def _parameters(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Request parameters; `resource` may repeat (RFC 8707), every other parameter must not."""
    parameters: dict[str, Any] = {}
    for key, value in items:
        if not isinstance(value, str):
            continue
        if key == "resource":
            parameters.setdefault("resource", []).append(value)
        elif key in parameters:
            raise OAuthError("invalid_request", f"The parameter {key} is repeated.")
        else:
            parameters[key] = value
    return parameters


# --- ID-porten and Ansattporten ----------------------------------------------------------------------------------
def _oidc_routes(issuer: OidcIssuer) -> APIRouter:
    routes = APIRouter(prefix=issuer.path, tags=[issuer.name])
    name = issuer.name

    @routes.get("/.well-known/openid-configuration", operation_id=f"{name}_discovery")
    async def discovery(runtime: RuntimeDep) -> JSONResponse:
        """OpenID Connect discovery; the issuer is spelled exactly as the tokens carry it."""
        return JSONResponse(issuer.metadata(runtime.settings.base_url), headers={"Cache-Control": "max-age=300"})

    @routes.get("/jwks", operation_id=f"{name}_jwks")
    @routes.get("/jwks.json", include_in_schema=False)
    async def jwks(runtime: RuntimeDep) -> JSONResponse:
        return JSONResponse(runtime.keys.jwks(), headers={"Cache-Control": "max-age=300"})

    @routes.get("/authorize", operation_id=f"{name}_authorize", response_model=None)
    async def authorize(request: Request, runtime: RuntimeDep) -> Response:
        """The start of a login (authorization code flow with PKCE); also takes a PAR request_uri."""
        try:
            parameters = _parameters(list(request.query_params.multi_items()))
            outcome = await service_logins.begin_authorization(
                runtime.database, runtime.settings, issuer, parameters, request.cookies.get(pages.BROWSER_COOKIE))
        except (AuthorizationPageError, OAuthError) as exc:
            detail = exc.description
            return pages.error_page(request, detail)
        if outcome.login_id is not None:
            return RedirectResponse(f"{request.scope.get('root_path', '')}{issuer.path}/login/{outcome.login_id}",
                                    status_code=303, headers={"Cache-Control": "no-store"})
        return pages.browser_response(request, outcome)

    @routes.post("/par", operation_id=f"{name}_par", status_code=201)
    async def par(request: Request, runtime: RuntimeDep) -> JSONResponse:
        """Pushed authorization request (RFC 9126): the request_uri is valid 120 s."""
        try:
            credentials = service_clients.client_credentials(await _form(request), request.headers.get("authorization"))
            result = await service_logins.push_authorization_request(
                runtime.database, issuer, issuer.issuer(runtime.settings.base_url), credentials,
                {k: v for k, v in credentials.form.items() if not k.startswith("client_")})
        except OAuthError as exc:
            return oauth_error(exc)
        return _json(result, status=201)

    @routes.post("/token", operation_id=f"{name}_token")
    async def token(request: Request, runtime: RuntimeDep) -> JSONResponse:
        """authorization_code and refresh_token grants."""
        try:
            credentials = service_clients.client_credentials(await _form(request), request.headers.get("authorization"))
            result = await service_tokens.exchange_token(runtime.database, runtime.settings, runtime.keys, issuer,
                                                  credentials)
        except OAuthError as exc:
            return oauth_error(exc)
        return _json(result)

    @routes.get("/userinfo", operation_id=f"{name}_userinfo")
    @routes.post("/userinfo", include_in_schema=False)
    async def userinfo(request: Request, runtime: RuntimeDep) -> JSONResponse:
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() != "bearer ":
            return oauth_error(OAuthError("invalid_token", "Send the access token as a Bearer token.", status=401))
        try:
            result = await service_tokens.userinfo(runtime.database, runtime.settings, runtime.keys, issuer,
                                            authorization[7:].strip())
        except OAuthError as exc:
            return oauth_error(exc)
        return _json(result)

    @routes.post("/token/introspect", operation_id=f"{name}_introspect")
    @routes.post("/tokeninfo", include_in_schema=False)
    async def introspect(request: Request, runtime: RuntimeDep) -> JSONResponse:
        try:
            credentials = service_clients.client_credentials(await _form(request), request.headers.get("authorization"))
            result = await service_tokens.introspect(runtime.database, runtime.settings, runtime.keys, issuer,
                                                     credentials)
        except OAuthError as exc:
            return oauth_error(exc)
        return _json(result)

    @routes.post("/token/revoke", operation_id=f"{name}_revoke", response_model=None)
    async def revoke(request: Request, runtime: RuntimeDep) -> Response:
        try:
            credentials = service_clients.client_credentials(await _form(request), request.headers.get("authorization"))
            await service_tokens.revoke(runtime.database, runtime.settings, runtime.keys, issuer, credentials)
        except OAuthError as exc:
            return oauth_error(exc)
        return Response(status_code=200, headers=NO_STORE)

    @routes.get("/logout", operation_id=f"{name}_logout", response_model=None)
    @routes.post("/logout", include_in_schema=False, response_model=None)
    async def logout(request: Request, runtime: RuntimeDep) -> Response:
        """RP-initiated logout; front-channel iframes for every client of the session, then back to the client."""
        try:
            parameters = await _form(request) if request.method == "POST" else _parameters(
                list(request.query_params.multi_items()))
        except OAuthError as exc:
            return pages.error_page(request, exc.description)
        try:
            outcome = await service_tokens.logout(runtime.database, runtime.settings, runtime.keys, issuer, parameters,
                                           request.cookies.get(pages.BROWSER_COOKIE))
        except AuthorizationPageError as exc:
            return pages.error_page(request, exc.description)
        if outcome.frontchannel_urls or outcome.redirect_to is None:
            return pages.logged_out(request, outcome.frontchannel_urls, outcome.redirect_to)
        return RedirectResponse(outcome.redirect_to, status_code=303)

    routes.include_router(pages.login_routes(issuer))
    return routes


router.include_router(_oidc_routes(IDPORTEN))
router.include_router(_oidc_routes(ANSATTPORTEN))


# --- Maskinporten ---------------------------------------------------------------------------------------------
maskinporten = APIRouter(prefix=MASKINPORTEN_PATH, tags=["maskinporten"])


@maskinporten.get("/.well-known/oauth-authorization-server", operation_id="maskinporten_metadata")
@router.get("/.well-known/oauth-authorization-server/maskinporten/", include_in_schema=False)
@router.get("/.well-known/oauth-authorization-server/maskinporten", include_in_schema=False)
async def maskinporten_discovery(runtime: RuntimeDep) -> JSONResponse:
    """RFC 8414 metadata; the issuer ends with a slash, as Maskinporten's does."""
    return JSONResponse(maskinporten_metadata(runtime.settings.base_url), headers={"Cache-Control": "max-age=300"})


@maskinporten.get("/jwk", operation_id="maskinporten_jwks")
async def maskinporten_jwks(runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(runtime.keys.jwks(), headers={"Cache-Control": "max-age=300"})


@maskinporten.post("/token", operation_id="maskinporten_token")
async def maskinporten_token(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """The JWT-bearer grant: a signed grant JWT in, an access token for the consumer out."""
    try:
        result = await service.issue_machine_token(runtime.database, runtime.keys, runtime.settings.base_url,
                                                   await _form(request))
    except OAuthError as exc:
        return oauth_error(exc)
    return _json(result)


router.include_router(maskinporten)



# --- self-service (selvbetjening) ---------------------------------------------------------------------------------
selfservice_routes = APIRouter(prefix="/selvbetjening/api/v1", tags=["selvbetjening"],
                                route_class=AuthenticatedRoute)
# Self-service is for organisations, with Maskinporten tokens (as ID-porten's self-service API).
SELFSERVICE_TOKENS = AcceptedTokens(issuers=frozenset({Issuer.MASKINPORTEN}), audiences=("/selvbetjening",))
DcrRead = require_scope(SELFSERVICE_TOKENS, "idporten:dcr.read", "idporten:dcr.write", "idporten:dcr.modify")
DcrWrite = require_scope(SELFSERVICE_TOKENS, "idporten:dcr.write", "idporten:dcr.modify")
ScopesWrite = require_scope(SELFSERVICE_TOKENS, "idporten:scopes.write")


def _owner(principal: Principal) -> str:
    if principal.organization_number is None:
        raise Forbidden("Self-service is for organisations (a Maskinporten token).", code="organization_required")
    return principal.organization_number


def _local_http(runtime: Runtime) -> bool:
    return not runtime.settings.is_production


@selfservice_routes.post("/clients", status_code=201, operation_id="selfservice_create_client")
async def create_client(data: schemas.ClientCreate, runtime: RuntimeDep,
                        principal: Annotated[Principal, DcrWrite]) -> schemas.ClientPublic:
    return await selfservice.create_client(runtime.database, principal.audit_actor, _owner(principal), data,
                                           allow_local_http=_local_http(runtime))


@selfservice_routes.get("/clients", operation_id="selfservice_list_clients")
async def list_clients(runtime: RuntimeDep, principal: Annotated[Principal, DcrRead],
                       inactive: bool = False) -> list[schemas.ClientPublic]:
    return await selfservice.list_clients(runtime.database, _owner(principal), inactive=inactive)


@selfservice_routes.get("/clients/{client_id}", operation_id="selfservice_get_client")
async def get_client(client_id: str, runtime: RuntimeDep,
                     principal: Annotated[Principal, DcrRead]) -> schemas.ClientPublic:
    return await selfservice.get_client(runtime.database, _owner(principal), client_id)


@selfservice_routes.put("/clients/{client_id}", operation_id="selfservice_update_client")
async def update_client(client_id: str, data: schemas.ClientUpdate, runtime: RuntimeDep,
                        principal: Annotated[Principal, DcrWrite]) -> schemas.ClientPublic:
    return await selfservice.update_client(runtime.database, principal.audit_actor, _owner(principal), client_id,
                                           data, allow_local_http=_local_http(runtime))


@selfservice_routes.delete("/clients/{client_id}", status_code=204, operation_id="selfservice_deactivate_client")
async def deactivate_client(client_id: str, runtime: RuntimeDep, principal: Annotated[Principal, DcrWrite]) -> None:
    await selfservice.deactivate_client(runtime.database, principal.audit_actor, _owner(principal), client_id)


@selfservice_routes.post("/clients/{client_id}/jwks", status_code=201, operation_id="selfservice_set_client_keys")
async def set_client_keys(client_id: str, jwks: schemas.JwkSet, runtime: RuntimeDep,
                          principal: Annotated[Principal, DcrWrite]) -> list[schemas.ClientKeyPublic]:
    """Replace the client's key set; each key is valid at most one year."""
    return await selfservice.set_client_keys(runtime.database, principal.audit_actor, _owner(principal),
                                             client_id, jwks)


@selfservice_routes.get("/clients/{client_id}/jwks", operation_id="selfservice_list_client_keys")
async def list_client_keys(client_id: str, runtime: RuntimeDep,
                           principal: Annotated[Principal, DcrRead]) -> list[schemas.ClientKeyPublic]:
    return await selfservice.list_client_keys(runtime.database, _owner(principal), client_id)


@selfservice_routes.get("/clients/{client_id}/changes", operation_id="selfservice_client_changes")
async def client_changes(client_id: str, runtime: RuntimeDep,
                         principal: Annotated[Principal, DcrRead]) -> list[schemas.ChangePublic]:
    """Who changed the client and how (kept 12 months)."""
    await selfservice.get_client(runtime.database, _owner(principal), client_id)
    return await selfservice.changes_of(runtime.database, "client", client_id)


@selfservice_routes.post("/scopes", status_code=201, operation_id="selfservice_create_scope")
async def create_scope(data: schemas.ScopeCreate, runtime: RuntimeDep,
                       principal: Annotated[Principal, ScopesWrite]) -> schemas.ScopePublic:
    return await selfservice.create_scope(runtime.database, principal.audit_actor, _owner(principal), data)


@selfservice_routes.get("/scopes/all", operation_id="selfservice_public_scopes")
async def public_scopes(runtime: RuntimeDep) -> list[schemas.ScopePublic]:
    return await selfservice.list_scopes(runtime.database)


@selfservice_routes.put("/scopes/access/{consumer_orgno}", operation_id="selfservice_grant_scope_access")
async def grant_scope_access(consumer_orgno: str, scope: str, runtime: RuntimeDep,
                             principal: Annotated[Principal, ScopesWrite]) -> schemas.ScopeAccessPublic:
    """The scope is a query parameter because scopes may contain "/"."""
    return await selfservice.set_scope_access(runtime.database, principal.audit_actor, _owner(principal), scope,
                                              consumer_orgno, approved=True)


@selfservice_routes.delete("/scopes/access/{consumer_orgno}", operation_id="selfservice_revoke_scope_access")
async def revoke_scope_access(consumer_orgno: str, scope: str, runtime: RuntimeDep,
                              principal: Annotated[Principal, ScopesWrite]) -> schemas.ScopeAccessPublic:
    return await selfservice.set_scope_access(runtime.database, principal.audit_actor, _owner(principal), scope,
                                              consumer_orgno, approved=False)


@selfservice_routes.get("/scopes/access", operation_id="selfservice_list_scope_access")
async def list_scope_access(scope: str, runtime: RuntimeDep,
                            principal: Annotated[Principal, ScopesWrite]) -> list[schemas.ScopeAccessPublic]:
    return await selfservice.list_scope_access(runtime.database, _owner(principal), scope)


@selfservice_routes.put("/delegations/{supplier_orgno}", operation_id="selfservice_delegate_scope")
async def delegate_scope(supplier_orgno: str, scope: str, runtime: RuntimeDep,
                         principal: Annotated[Principal, DcrWrite]) -> schemas.DelegationPublic:
    """The consumer lets a supplier ask for this scope on its behalf (consumer_org in the grant)."""
    return await selfservice.set_delegation(runtime.database, principal.audit_actor, _owner(principal), scope,
                                            supplier_orgno, active=True)


router.include_router(selfservice_routes)


# --- Altinn token exchange --------------------------------------------------------------------------------------
@router.get("/authentication/api/v1/exchange/{provider}", tags=["altinn-authentication"],
            operation_id="altinn_exchange_token", response_class=PlainTextResponse)
async def exchange(provider: str, request: Request, runtime: RuntimeDep) -> PlainTextResponse:
    """Altinn's token exchange: an ID-porten or Maskinporten access token in, an Altinn token (plain text) out."""
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() != "bearer ":
        raise Unauthorized("Send the ID-porten or Maskinporten token as a Bearer token.", code="missing_token")
    token = await service.exchange_for_altinn(runtime.database, runtime.keys, runtime.settings.base_url, provider,
                                              authorization[7:].strip())
    return PlainTextResponse(token, headers=NO_STORE)
