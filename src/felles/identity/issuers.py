"""The three issuers Felles runs and what each publishes: ID-porten and Ansattporten (OpenID Connect
providers) and Maskinporten (an OAuth 2.0 authorization server for machines).

Strict relying parties compare the issuer string exactly, so the spelling follows the real services:
ID-porten and Ansattporten have no trailing slash, Maskinporten has one. The issuer paths are core's
(`felles.core.tokens.ISSUER_PATHS`): every API's token check needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from felles.core.tokens import ISSUER_PATHS, Issuer, issuer_url

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ORGANIZATION_AUTHORITY = "iso6523-actorid-upis"
ASSERTION_ALGORITHMS = ["RS256", "RS384", "RS512"]
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
UI_LOCALES = ("nb", "nn", "en", "se")


@dataclass(frozen=True)
class OidcIssuer:
    """ID-porten or Ansattporten: the same protocol, different acr values, SSO rules and integration type."""

    name: str  # idporten | ansattporten
    path: str  # where it is mounted, e.g. "/idporten"
    integration_types: tuple[str, ...]
    # acr value → the level it stands for (3 substantial, 4 high)
    acr_levels: dict[str, int]
    default_acr: str
    always_isolated: bool
    authorization_details_types: tuple[str, ...] = ()

    def issuer(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path

    def acr_for_level(self, level: int) -> str:
        return next(acr for acr, value in self.acr_levels.items() if value == level)

    def metadata(self, base_url: str) -> dict[str, Any]:
        issuer = self.issuer(base_url)
        document: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "pushed_authorization_request_endpoint": f"{issuer}/par",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "end_session_endpoint": f"{issuer}/logout",
            "jwks_uri": f"{issuer}/jwks",
            "introspection_endpoint": f"{issuer}/token/introspect",
            "revocation_endpoint": f"{issuer}/token/revoke",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
            "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS[:3]),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": list(self.acr_levels),
            "ui_locales_supported": list(UI_LOCALES),
            "prompt_values_supported": ["login", "none"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "pid", "acr", "amr", "auth_time", "locale", "nonce", "sid"],
            "display_values_supported": ["page"],
            "frontchannel_logout_supported": True,
            "frontchannel_logout_session_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_pushed_authorization_requests": False,
            "claims_parameter_supported": False,
        }
        if self.authorization_details_types:
            document["authorization_details_types_supported"] = list(self.authorization_details_types)
        return document


IDPORTEN = OidcIssuer(
    name="idporten", path=ISSUER_PATHS[Issuer.IDPORTEN], integration_types=("idporten", "api_klient"),
    acr_levels={"idporten-loa-substantial": 3, "idporten-loa-high": 4},
    default_acr="idporten-loa-substantial", always_isolated=False,
)
ANSATTPORTEN = OidcIssuer(
    name="ansattporten", path=ISSUER_PATHS[Issuer.ANSATTPORTEN], integration_types=("ansattporten",),
    acr_levels={"substantial": 3, "high": 4}, default_acr="substantial", always_isolated=True,
    authorization_details_types=("ansattporten:altinn:resource", "ansattporten:orgno"),
)
OIDC_ISSUERS = {issuer.name: issuer for issuer in (IDPORTEN, ANSATTPORTEN)}

MASKINPORTEN_PATH = ISSUER_PATHS[Issuer.MASKINPORTEN].rstrip("/")  # where its endpoints are mounted


def maskinporten_issuer(base_url: str) -> str:
    return issuer_url(base_url, Issuer.MASKINPORTEN)


def platform_audience(base_url: str) -> str:
    """The `aud` of an access token asked for without `resource` (RFC 8707): this platform's own APIs. RFC 9068
    requires an audience in every JWT access token; the real services put a placeholder ("unspecified") there,
    Felles names the resource servers that accept such a token, itself."""
    return base_url.rstrip("/")


def maskinporten_metadata(base_url: str) -> dict[str, Any]:
    issuer = maskinporten_issuer(base_url)
    return {
        "issuer": issuer,
        "token_endpoint": issuer + "token",
        "jwks_uri": issuer + "jwk",
        # Required by RFC 8414; empty because Maskinporten has no authorization endpoint, only the token endpoint.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "grant_types_supported": [JWT_BEARER],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "authorization_details_types_supported": ["urn:altinn:systemuser"],
    }


def organization(orgno: str) -> dict[str, str]:
    """An organisation as the tokens of all three services name it."""
    return {"authority": ORGANIZATION_AUTHORITY, "ID": f"0192:{orgno}"}
