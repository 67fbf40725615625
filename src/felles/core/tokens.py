"""Platform signing keys and the one token check every Felles API uses.

Tokens are JWTs signed with the platform's keys (RS256, as ID-porten and Maskinporten sign), or opaque tokens
(ID-porten issues them for scopes configured so) that only their issuer can resolve. The identity component issues
both; this module verifies a JWT itself, resolves an opaque token through the resolver the identity component
registers (`register_opaque_token_resolver`: core imports no component), refuses a token on the platform's
revocation list (`felles.core.revocations`) and turns the claims into a `Principal`: a person, an organisation
(possibly through a supplier) or a system, with its authentication level and scopes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from felles.core.audit import Actor
from felles.core.config import Settings
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


class PlatformKeys:
    """The private key the platform signs with and the public key set it verifies against."""

    def __init__(self, signing_key: RSAKey) -> None:
        self.signing_key = signing_key
        self._verified: dict[str, dict[str, Any]] = {}
        self.public_set = KeySet([RSAKey.import_key(signing_key.as_dict(private=False))])

    @classmethod
    def load(cls, settings: Settings) -> PlatformKeys:
        path = settings.signing_key_file or settings.data_dir / "keys" / "platform-signing-key.json"
        if path.exists():
            return cls(RSAKey.import_key(json.loads(path.read_text())))
        if settings.is_production:
            raise RuntimeError(f"production mode needs a signing key in {path} (FELLES_SIGNING_KEY_FILE)")
        key = RSAKey.generate_key(2048, parameters={"kid": uuid7().hex, "use": "sig", "alg": SIGNING_ALGORITHM})
        _write_private(path, json.dumps(key.as_dict(private=True)))
        return cls(key)

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


async def verify_access_token(keys: PlatformKeys, database: Database, token: str) -> dict[str, Any]:
    """The claims of an access token any Felles API accepts (a JWT this platform signed, or an opaque token its
    issuer resolves) that is valid now and not revoked; else `Unauthorized`."""
    claims = keys.verify(token) if token.count(".") == 2 else await opaque_tokens.claims(database, token)
    jti = claims.get("jti")
    if isinstance(jti, str) and await revocations_for(database).is_revoked(database, jti):
        raise _invalid_token("The token has been revoked.")
    return claims


def _write_private(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(content)


def _invalid_token(detail: str) -> Unauthorized:
    return Unauthorized(
        detail, code="invalid_token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


@dataclass(frozen=True)
class Principal:
    """Who calls: a person, an organisation (maybe through a supplier) or a system, with level and scopes."""

    kind: Literal["person", "organization", "system"]
    person_identifier: str | None = None
    organization_number: str | None = None
    supplier_organization_number: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    authentication_level: int = 0
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        scopes = frozenset(str(claims.get("scope", "")).split())
        level = int(claims.get("urn:altinn:authlevel") or ACR_LEVELS.get(str(claims.get("acr", "")), 0))
        person = claims.get("pid")
        consumer = _organization_number(claims.get("consumer"))
        supplier = _organization_number(claims.get("supplier"))
        client_id = claims.get("client_id")
        if isinstance(person, str):
            return cls("person", person_identifier=person, organization_number=None, client_id=client_id,
                       scopes=scopes, authentication_level=level, claims=claims)
        if consumer is not None:
            return cls("organization", organization_number=consumer, supplier_organization_number=supplier,
                       client_id=client_id, scopes=scopes, authentication_level=level, claims=claims)
        return cls("system", client_id=client_id or str(claims.get("sub", "")), scopes=scopes,
                   authentication_level=level, claims=claims)

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


_bearer = HTTPBearer(auto_error=False, description="An access token from ID-porten, Maskinporten or Altinn")


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "This endpoint needs a Bearer access token.", code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys: PlatformKeys = request.app.state.platform_keys
    database: Database = request.app.state.runtime.database
    return Principal.from_claims(await verify_access_token(keys, database, credentials.credentials))


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


class ScopeRequirement:
    """A dependency that lets the call through when the token has at least one of the scopes `any_of`.

    The scopes are kept on the dependency so that the OpenAPI description of every route that uses it names them
    (`felles.core.security_documentation`): one declaration both enforces and documents them."""

    def __init__(self, *any_of: str) -> None:
        self.any_of = any_of

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        if not principal.scopes.intersection(self.any_of):
            raise Forbidden(
                f"The token lacks a required scope (one of: {', '.join(self.any_of)}).", code="insufficient_scope",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(self.any_of)}"'},
            )
        return principal


def require_scope(*any_of: str) -> Any:
    """A dependency that lets the call through when the token has at least one of these scopes."""
    return Depends(ScopeRequirement(*any_of))


def require_person() -> Any:
    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.kind != "person":
            raise Forbidden("Only a person logged in with ID-porten may do this.", code="person_required")
        return principal

    return Depends(check)


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
) -> str:
    """A test token, as Altinn's test token generator makes them. Refused in production."""
    if settings.is_production:
        raise Forbidden("Test tokens are not issued in production.", code="test_tokens_disabled")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.base_url + "/testtokens", "iat": now, "exp": now + lifetime_seconds, "jti": uuid7().hex,
        "scope": " ".join(scopes), "client_id": "felles-test-token-generator",
        "acr": "idporten-loa-high" if authentication_level >= 4 else "idporten-loa-substantial",
        "urn:altinn:authlevel": authentication_level,
    }
    if person_identifier:
        claims.update(sub=person_identifier, pid=person_identifier)
    elif organization_number:
        claims["consumer"] = {"authority": "iso6523-actorid-upis", "ID": ORGANIZATION_ID_PREFIX + organization_number}
        if supplier_organization_number:
            claims["supplier"] = {
                "authority": "iso6523-actorid-upis", "ID": ORGANIZATION_ID_PREFIX + supplier_organization_number,
            }
    return keys.sign(claims)
