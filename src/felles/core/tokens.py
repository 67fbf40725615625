"""Platform signing keys and the one token check every Felles API uses.

Tokens are JWTs signed with the platform's keys (RS256, as ID-porten and Maskinporten sign), or opaque tokens
(ID-porten issues them for scopes configured so) that only their issuer can resolve. The identity component issues
both; this module verifies a JWT itself, resolves an opaque token through the resolver the identity component
registers (`register_opaque_token_resolver`: core imports no component), refuses a token on the platform's
revocation list (`felles.core.revocations`) and turns the claims into a `Principal`: a person, an organisation
(possibly through a supplier) or a system, with its authentication level and scopes.

Which token opens which API. Every token must come from one of the four issuers this platform runs (`Issuer`:
ID-porten, Ansattporten, Maskinporten, and the Altinn platform's token exchange
`/authentication/api/v1/exchange/{idporten|maskinporten}`); any other `iss` is refused everywhere. On top of
that each API says, in one `AcceptedTokens` constant per API (named `*_TOKENS` in its `api.py`), which issuers
it takes and which audiences name it, and each route which scopes it needs. The choices follow the real
services (see `shared/reference/notes/identity.md` and `authz.md`):

- Altinn's end-user APIs (access management `enduser/...`: delegations, client delegation, access requests,
  authorized parties; the consent BFF; and Felles's own audit `/me`) take only Altinn tokens (`iss` = the
  Altinn platform issuer) with the portal's scope `altinn:portal/enduser` (Altinn's `SCOPE_PORTAL_ENDUSER`)
  or, where Altinn names one, the end-user system's own scope (`altinn:accessmanagement/authorizedparties`,
  `altinn:clientdelegations.read|write`). An ID-porten token, whatever its scope, is not one: an agency's relying
  party that got a person's ID-porten token cannot act as that person in Altinn. Exchanging it gives an Altinn
  token with the ID-porten token's own scopes, and the exchange never passes `altinn:portal/enduser` on: that
  scope is Altinn authentication's own, for the Altinn portal's login. Felles's portal pages use the portal
  session (an HttpOnly cookie, forms bound to it by a CSRF token), never these APIs; the session token is an
  ID-porten token of the portal's client with scope `openid`, so sent as a Bearer token it opens nothing.
- KRR's `krr:user/...` API takes ID-porten tokens (the person logged in to a service with that scope), as KRR
  does.
- APIs for organisations (KRR's and Folkeregisteret's lookups, ID-porten self-service) take Maskinporten
  tokens; Altinn's APIs for service owners and other organisations (resource registry, decisions, events,
  notifications, consent requests, digitalt dødsbo, the audit search) take Maskinporten tokens and Altinn
  tokens exchanged from them, as Altinn's APIs do.
- Audience (`aud`, RFC 8707 `resource`): a token that names an audience opens only the APIs it names; each API's
  audiences are the paths in its `AcceptedTokens`, under the platform's base URL (e.g.
  `http://localhost:8000/accessmanagement`). A token without `aud`, with ID-porten's `unspecified`
  (`UNSPECIFIED_AUDIENCE`: no audience requested) or with the platform's own base URL (what Felles's issuers
  write when no `resource` was asked for) is not restricted by audience, since ID-porten and
  Maskinporten issue those to clients that ask for no `resource`.

Altinn's own frontend (app-frontend-react) sends no Authorization header: the browser holds the person's Altinn
token in app-lib's `AltinnStudioRuntime` cookie. Only an API whose `AcceptedTokens` says `runtime_cookie` (the app
API) takes the token from there, and a call that changes something must then carry app-lib's XSRF token (the
`X-XSRF-TOKEN` header, equal to the `XSRF-TOKEN` cookie the page set, which is bound to the runtime cookie), since
a browser sends the cookie along with any other site's form too.

A route that needs a token authenticates before FastAPI reads the request body (`AuthenticatedRoute`): FastAPI
reads and parses the body before it solves dependencies, so without it a caller with no token could make the
server read and parse any body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from starlette.routing import BaseRoute

from felles.core.audit import Actor
from felles.core.config import Settings, create_private_once
from felles.core.db import Database
from felles.core.errors import Forbidden, Unauthorized
from felles.core.ids import uuid7
from felles.core.revocations import revocations_for

SIGNING_ALGORITHM = "RS256"
# ID-porten's acr values mapped to Altinn's authentication levels.
ACR_LEVELS = {"idporten-loa-substantial": 3, "idporten-loa-high": 4, "substantial": 3, "high": 4}
ORGANIZATION_ID_PREFIX = "0192:"
VERIFIED_TOKEN_CACHE_SIZE = 10_000
# How long a process uses an opaque token's claims without asking its issuer again (revocation is checked on
# every use regardless, by jti).
OPAQUE_TOKEN_CACHE_SECONDS = 10.0
# Altinn authentication's scope for a login to the Altinn portal; it opens Altinn's end-user APIs.
PORTAL_END_USER_SCOPE = "altinn:portal/enduser"
# ID-porten's `aud` for a token whose client asked for no audience: it restricts nothing.
UNSPECIFIED_AUDIENCE = "unspecified"
# app-lib's cookie with the person's Altinn token (`General.RuntimeCookieName`), and its XSRF cookie and header.
RUNTIME_COOKIE = "AltinnStudioRuntime"
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_HEADER = "X-XSRF-TOKEN"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Issuer(StrEnum):
    """The token issuers this platform runs; no Felles API takes a token from any other."""

    IDPORTEN = "idporten"
    ANSATTPORTEN = "ansattporten"
    MASKINPORTEN = "maskinporten"
    ALTINN = "altinn"  # the Altinn platform's token exchange


# Where each issuer lives under the platform's base URL. Strict relying parties compare the issuer string
# exactly, so the spelling follows the real services: ID-porten and Ansattporten have no trailing slash,
# Maskinporten and Altinn (`https://platform.altinn.no/authentication/api/v1/openid/`) have one.
ISSUER_PATHS = {
    Issuer.IDPORTEN: "/idporten",
    Issuer.ANSATTPORTEN: "/ansattporten",
    Issuer.MASKINPORTEN: "/maskinporten/",
    Issuer.ALTINN: "/authentication/api/v1/openid/",
}


# Altinn's APIs for organisations take Maskinporten tokens and Altinn tokens exchanged from any of its issuers;
# its end-user APIs take Altinn tokens only.
ALTINN_API_ISSUERS = frozenset({Issuer.MASKINPORTEN, Issuer.ALTINN})
ALTINN_END_USER_ISSUERS = frozenset({Issuer.ALTINN})


def issuer_url(base_url: str, issuer: Issuer) -> str:
    """The `iss` of `issuer`'s tokens on the platform at `base_url`."""
    return base_url.rstrip("/") + ISSUER_PATHS[issuer]


def token_issuer(claims: dict[str, Any], base_url: str) -> Issuer:
    """Which of the platform's issuers issued a token, or `Unauthorized`."""
    iss = claims.get("iss")
    for issuer in Issuer:
        if iss == issuer_url(base_url, issuer):
            return issuer
    raise _invalid_token("The token was not issued by this platform's ID-porten, Ansattporten, Maskinporten or "
                         "Altinn.")


class PlatformKeys:
    """The private key the platform signs with and the public key set it verifies against."""

    def __init__(self, signing_key: RSAKey) -> None:
        self.signing_key = signing_key
        self._verified: dict[str, dict[str, Any]] = {}
        self.public_set = KeySet([RSAKey.import_key(signing_key.as_dict(private=False))])

    @classmethod
    def load(cls, settings: Settings) -> PlatformKeys:
        path = settings.signing_key_file or settings.data_dir / "keys" / "platform-signing-key.json"
        if not path.exists():
            if settings.is_production:
                raise RuntimeError(f"production mode needs a signing key in {path} (FELLES_SIGNING_KEY_FILE)")
            key = RSAKey.generate_key(2048, parameters={"kid": uuid7().hex, "use": "sig", "alg": SIGNING_ALGORITHM})
            create_private_once(path, json.dumps(key.as_dict(private=True)))
        # Importing an RSA key checks it, which takes tens of milliseconds: a file read once is not read again while
        # it is unchanged (each test, CLI step and app of a process loads the same one).
        stamp = path.stat()
        identity = (str(path.resolve()), stamp.st_mtime_ns, stamp.st_size)
        if identity not in _LOADED_KEYS:
            _LOADED_KEYS[identity] = cls(RSAKey.import_key(json.loads(path.read_text())))
        return _LOADED_KEYS[identity]

    def jwks(self) -> dict[str, Any]:
        return dict(self.public_set.as_dict(private=False))

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": SIGNING_ALGORITHM, "kid": self.signing_key.kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, self.signing_key, algorithms=[SIGNING_ALGORITHM])

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this platform signed and that is valid now, or `Unauthorized`.

        A token's signature and type never change, so tokens already verified are remembered (a bounded,
        per-process cache) and only their validity period is checked again: clients reuse a token for many
        calls, and JOSE parsing costs more than the rest of a small lookup."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify_signature_and_type(token)
            if len(self._verified) >= VERIFIED_TOKEN_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[token] = claims
        return _valid_now(claims)

    def _verify_signature_and_type(self, token: str) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, self.public_set, algorithms=[SIGNING_ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise _invalid_token(f"The token cannot be verified: {exc}") from exc
        # Only access tokens open the APIs: an id_token or logout token signed by the same key must not.
        if decoded.header.get("typ") != "at+jwt":
            raise _invalid_token("The token is not an access token.")
        return dict(decoded.claims)


_LOADED_KEYS: dict[tuple[str, int, int], PlatformKeys] = {}


def _valid_now(claims: dict[str, Any]) -> dict[str, Any]:
    """A copy of the claims of a token within its validity period, or `Unauthorized`."""
    now = int(time.time())
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int) or exp <= now:
        raise _invalid_token("The token has expired.")
    if isinstance(nbf, int) and nbf > now + 10:
        raise _invalid_token("The token is not valid yet.")
    return dict(claims)


OpaqueTokenResolver = Callable[[Database, str], Awaitable[dict[str, Any] | None]]


class OpaqueTokens:
    """Opaque access tokens, resolved to their claims by the resolver of the component that issues them.

    Resolved claims are remembered per process for at most `OPAQUE_TOKEN_CACHE_SECONDS` (a bounded cache, like
    `PlatformKeys`'s), so a client reusing its token costs its issuer one lookup per period; an unknown token is
    asked about every time."""

    def __init__(self) -> None:
        self._resolver: OpaqueTokenResolver | None = None
        self._resolved: dict[str, tuple[float, dict[str, Any]]] = {}

    def register(self, resolver: OpaqueTokenResolver) -> None:
        self._resolver = resolver

    async def claims(self, database: Database, token: str) -> dict[str, Any]:
        """The claims of an active opaque token, or `Unauthorized`."""
        entry = self._resolved.get(token)
        if entry is None or entry[0] <= time.monotonic():
            if self._resolver is None:
                raise _invalid_token("The token is neither a JWT nor an opaque token this platform issued.")
            claims = await self._resolver(database, token)
            if claims is None:
                self._resolved.pop(token, None)
                raise _invalid_token("The token is not active.")
            if len(self._resolved) >= VERIFIED_TOKEN_CACHE_SIZE:
                self._resolved.pop(next(iter(self._resolved)))  # the oldest
            entry = self._resolved[token] = (time.monotonic() + OPAQUE_TOKEN_CACHE_SECONDS, claims)
        return _valid_now(entry[1])


opaque_tokens = OpaqueTokens()


def register_opaque_token_resolver(resolver: OpaqueTokenResolver) -> None:
    """Let core's token check accept the opaque access tokens `resolver` knows (their claims, or None)."""
    opaque_tokens.register(resolver)


async def verify_access_token(keys: PlatformKeys, database: Database, token: str, *, base_url: str) -> dict[str, Any]:
    """The claims of an access token some Felles API accepts (a JWT this platform signed, or an opaque token its
    issuer resolves) from one of the platform's issuers, valid now and not revoked; else `Unauthorized`."""
    claims, _issuer = await _verified(keys, database, token, base_url)
    return claims


async def _verified(keys: PlatformKeys, database: Database, token: str,
                    base_url: str) -> tuple[dict[str, Any], Issuer]:
    """`verify_access_token`'s claims, with the issuer it found them to be from."""
    claims = keys.verify(token) if token.count(".") == 2 else await opaque_tokens.claims(database, token)
    issuer = token_issuer(claims, base_url)
    jti = claims.get("jti")
    if isinstance(jti, str) and await revocations_for(database).is_revoked(database, jti):
        raise _invalid_token("The token has been revoked.")
    return claims, issuer


def _invalid_token(detail: str) -> Unauthorized:
    return Unauthorized(
        detail, code="invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


@dataclass(frozen=True)
class Principal:
    """Who calls: a person, an organisation (maybe through a supplier) or a system, with level and scopes, and
    the issuer and audiences of the token that says so."""

    kind: Literal["person", "organization", "system"]
    person_identifier: str | None = None
    organization_number: str | None = None
    supplier_organization_number: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    authentication_level: int = 0
    issuer: Issuer | None = None
    audiences: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    from_runtime_cookie: bool = False  # the token came in app-lib's `AltinnStudioRuntime` cookie

    @classmethod
    def from_claims(cls, claims: dict[str, Any], issuer: Issuer | None = None, *,
                    from_runtime_cookie: bool = False) -> Principal:
        level = int(claims.get("urn:altinn:authlevel") or ACR_LEVELS.get(str(claims.get("acr", "")), 0))
        aud = claims.get("aud")
        person = claims.get("pid")
        consumer = _organization_number(claims.get("consumer"))
        client_id = claims.get("client_id")
        kind: Literal["person", "organization", "system"] = (
            "person" if isinstance(person, str) else "organization" if consumer is not None else "system")
        return cls(
            kind,
            person_identifier=person if kind == "person" else None,
            organization_number=consumer if kind == "organization" else None,
            supplier_organization_number=(_organization_number(claims.get("supplier"))
                                          if kind == "organization" else None),
            client_id=client_id if kind != "system" else client_id or str(claims.get("sub", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()), authentication_level=level, issuer=issuer,
            audiences=frozenset(str(value) for value in (aud if isinstance(aud, list) else [aud]) if value is not None),
            claims=claims, from_runtime_cookie=from_runtime_cookie,
        )

    @property
    def audit_actor(self) -> Actor:
        if self.kind == "person":
            return Actor(f"person:{self.person_identifier}")
        if self.kind == "organization":
            if self.supplier_organization_number:
                return Actor(f"organization:{self.supplier_organization_number}",
                             on_behalf_of=f"organization:{self.organization_number}")
            return Actor(f"organization:{self.organization_number}")
        return Actor(f"system:{self.client_id}")


def _organization_number(value: Any) -> str | None:
    if isinstance(value, dict):
        identifier = str(value.get("ID", ""))
        if identifier.startswith(ORGANIZATION_ID_PREFIX):
            return identifier.removeprefix(ORGANIZATION_ID_PREFIX)
    return None


@dataclass(frozen=True)
class AcceptedTokens:
    """The tokens one API takes: from which of the platform's issuers, and the audiences that name it (paths
    under the platform's base URL; see the module docstring)."""

    issuers: frozenset[Issuer]
    audiences: tuple[str, ...]
    runtime_cookie: bool = False  # the token may come in app-lib's `AltinnStudioRuntime` cookie

    def check(self, principal: Principal, base_url: str) -> None:
        """`Unauthorized` unless this API takes the principal's token."""
        if principal.from_runtime_cookie and not self.runtime_cookie:
            raise Unauthorized("This endpoint needs a Bearer access token.", code="missing_token",
                               headers={"WWW-Authenticate": "Bearer"})
        if principal.issuer not in self.issuers:
            names = ", ".join(sorted(self.issuers))
            raise _invalid_token(f"This API takes tokens from {names} only.")
        platform = base_url.rstrip("/")
        # A token issued without `resource` names the whole platform (RFC 9068 wants an aud): every API takes it.
        named = principal.audiences - {UNSPECIFIED_AUDIENCE, platform}
        if named and named.isdisjoint(platform + path for path in self.audiences):
            raise _invalid_token("The token is for another audience (aud) than this API.")


_bearer = HTTPBearer(auto_error=False, description="An access token from ID-porten, Maskinporten or Altinn")
# Where a request's principal is kept once its token is checked, so the check runs once per request.
_PRINCIPAL_SCOPE_KEY = "felles.principal"


async def _principal_of(request: Request) -> Principal:
    principal: Principal | None = request.scope.get(_PRINCIPAL_SCOPE_KEY)
    if principal is not None:
        return principal
    header = request.headers.get("authorization")
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    from_cookie = header is None and RUNTIME_COOKIE in request.cookies
    if from_cookie:
        token = request.cookies[RUNTIME_COOKIE]
        _check_xsrf(request, token)
    elif scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "This endpoint needs a Bearer access token.", code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys: PlatformKeys = request.app.state.platform_keys
    database: Database = request.app.state.runtime.database
    claims, issuer = await _verified(keys, database, token, _base_url(request))
    principal = request.scope[_PRINCIPAL_SCOPE_KEY] = Principal.from_claims(claims, issuer,
                                                                             from_runtime_cookie=from_cookie)
    return principal


def xsrf_token(secret_key: str, runtime_token: str) -> str:
    """The XSRF token of a browser holding `runtime_token` in its runtime cookie: only this platform can make it."""
    return hmac.new(secret_key.encode(), f"xsrf:{runtime_token}".encode(), hashlib.sha256).hexdigest()


def _check_xsrf(request: Request, runtime_token: str) -> None:
    """A call that changes something with the runtime cookie must carry the XSRF token bound to that cookie."""
    if request.method in _SAFE_METHODS:
        return
    expected = xsrf_token(request.app.state.runtime.settings.secret_key, runtime_token)
    if not hmac.compare_digest(request.headers.get(XSRF_HEADER, ""), expected):
        raise Forbidden("The call lacks the XSRF token of the page that made it (X-XSRF-TOKEN).",
                        code="xsrf_token_invalid")


async def authenticate(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller, from a Bearer token any of the platform's issuers issued (`_credentials` only documents the
    scheme in OpenAPI)."""
    return await _principal_of(request)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


# Every scope some route requires, noted by `require_scope` and `require_person` as the routers are imported: the
# platform's own scopes, which the demo data registers in Maskinporten so that a client can be granted them.
_required_scopes: set[str] = set()


def required_scopes() -> frozenset[str]:
    """The scopes the imported routers require (import `felles.app` first to have them all)."""
    return frozenset(_required_scopes)


def _base_url(request: Request) -> str:
    base_url: str = request.app.state.runtime.settings.base_url
    return base_url


def _require_any_scope(principal: Principal, any_of: tuple[str, ...]) -> None:
    if any_of and not principal.scopes.intersection(any_of):
        raise Forbidden(
            f"The token lacks a required scope (one of: {', '.join(any_of)}).", code="insufficient_scope",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(any_of)}"'},
        )


class ScopeRequirement:
    """A dependency that lets the call through with a token the API takes (`accepted`) that has at least one of
    the scopes `any_of` (any token of those, when none are named), and only a person's when `person`.

    The scopes are kept on the dependency so that the OpenAPI description of every route that uses it names them
    (`felles.core.security_documentation`): one declaration both enforces and documents them."""

    def __init__(self, accepted: AcceptedTokens, *any_of: str, person: bool = False) -> None:
        self.accepted, self.any_of, self.person = accepted, any_of, person
        _required_scopes.update(any_of)

    async def __call__(self, request: Request, principal: CurrentPrincipal) -> Principal:
        self.accepted.check(principal, _base_url(request))
        if self.person and principal.kind != "person":
            raise Forbidden("Only a person logged in with ID-porten may do this.", code="person_required")
        _require_any_scope(principal, self.any_of)
        return principal


def require_token(accepted: AcceptedTokens) -> Any:
    """A dependency that lets the call through with any token this API takes."""
    return Depends(ScopeRequirement(accepted))


def require_scope(accepted: AcceptedTokens, *any_of: str) -> Any:
    """A dependency that lets the call through with a token this API takes that has one of these scopes."""
    return Depends(ScopeRequirement(accepted, *any_of))


def require_person(accepted: AcceptedTokens, *any_of: str) -> Any:
    """A dependency that lets a person through, with a token this API takes that has one of these scopes."""
    return Depends(ScopeRequirement(accepted, *any_of, person=True))


# Operators of the platform: they read its metrics and development outboxes in production.
OPERATOR_SCOPE = "felles:operator"


async def _operator_in_production(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    if not request.app.state.runtime.settings.is_production:
        return  # development and tests: open, so that a developer sees what the platform does
    _require_any_scope(await authenticate(request, credentials), (OPERATOR_SCOPE,))


# A route dependency: in production only an operator's token gets through.
OperatorInProduction = Depends(_operator_in_production)


def _needs_token(dependant: Dependant) -> bool:
    return any(dependency.call is authenticate or _needs_token(dependency) for dependency in dependant.dependencies)


def authenticated_routes(routes: Iterable[BaseRoute]) -> list[APIRoute]:
    """The routes among `routes` that need a token."""
    return [route for route in routes if isinstance(route, APIRoute) and _needs_token(route.dependant)]


class AuthenticatedRoute(APIRoute):
    """A route that, when it needs a token, checks it before FastAPI reads the request body.

    FastAPI reads (and parses) the whole body before it solves any dependency, so a token check done only as a
    dependency would let a caller without a token make the server read any body it sends."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()
        if not _needs_token(self.dependant):
            return handler

        async def authenticate_then_handle(request: Request) -> Response:
            await _principal_of(request)
            return await handler(request)

        return authenticate_then_handle


def mint_development_token(
    keys: PlatformKeys,
    settings: Settings,
    *,
    person_identifier: str | None = None,
    organization_number: str | None = None,
    supplier_organization_number: str | None = None,
    scopes: list[str],
    authentication_level: int = 3,
    lifetime_seconds: int = 3600,
    issuer: Issuer | None = None,
    audience: str | None = None,
) -> str:
    """A test token, as Altinn's test token generator makes them. Refused in production.

    A person's token is an Altinn token unless `issuer` says otherwise (with no scope named, it has the portal's
    `altinn:portal/enduser`, as Altinn authentication gives a login without scopes); an organisation's is a
    Maskinporten token. `audience` becomes `aud`."""
    if settings.is_production:
        raise Forbidden("Test tokens are not issued in production.", code="test_tokens_disabled")
    issuer = issuer or (Issuer.ALTINN if person_identifier else Issuer.MASKINPORTEN)
    if issuer is Issuer.ALTINN and person_identifier and not scopes:
        scopes = [PORTAL_END_USER_SCOPE]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer_url(settings.base_url, issuer), "iat": now, "exp": now + lifetime_seconds,
        "jti": uuid7().hex, "scope": " ".join(scopes), "client_id": "felles-test-token-generator",
        "acr": "idporten-loa-high" if authentication_level >= 4 else "idporten-loa-substantial",
        "urn:altinn:authlevel": authentication_level,
    }
    if audience is not None:
        claims["aud"] = audience
    if person_identifier:
        claims.update(sub=person_identifier, pid=person_identifier)
    elif organization_number:
        claims["consumer"] = {"authority": "iso6523-actorid-upis", "ID": ORGANIZATION_ID_PREFIX + organization_number}
        if supplier_organization_number:
            claims["supplier"] = {
                "authority": "iso6523-actorid-upis", "ID": ORGANIZATION_ID_PREFIX + supplier_organization_number,
            }
    return keys.sign(claims)
