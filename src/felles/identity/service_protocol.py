"""What the identity service modules share: the OAuth errors (`OAuthError` for a client at the OAuth endpoints,
`AuthorizationPageError` for a browser that must not be redirected), the protocols' lifetimes and limits, and
small encodings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from felles.core.config import Settings

PAR_LIFETIME = timedelta(seconds=120)
LOGIN_LIFETIME = timedelta(minutes=30)
ORGANIZATION_CHOICE_LIFETIME = timedelta(minutes=10)
CODE_LIFETIME = timedelta(seconds=60)
ID_TOKEN_LIFETIME = timedelta(seconds=120)
SSO_INACTIVITY = timedelta(minutes=30)
SSO_MAX = timedelta(minutes=120)
GRANT_CLOCK_SKEW = 10  # seconds, both ways, as Maskinporten allows
GRANT_MAX_LIFETIME = 120
LOGOUT_TOKEN_LIFETIME = 300
BACKCHANNEL_LOGOUT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
OIDC_SCOPES = frozenset({"openid", "profile"})
INTROSPECTION_SCOPE = "idporten:token.introspection"
PAR_URN_PREFIX = "urn:felles:par:"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CODE_VERIFIER_PATTERN = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
ORGNO_PATTERN = re.compile(r"\d{9}")

log = structlog.get_logger("felles.identity")


class OAuthError(Exception):
    """An RFC 6749 error answered as `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class AuthorizationPageError(Exception):
    """An /authorize request that cannot be sent back to the client (its redirect_uri is not trusted)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def pairwise_subject(settings: Settings, client_id: str, pid: str) -> str:
    """The same person gives the same `sub` to one client and unlinkable values across clients."""
    return b64url(hmac.new(settings.secret_key.encode(), f"{client_id}\x00{pid}".encode(), hashlib.sha256).digest())


def resource_audience(resource: Any, error: str) -> str | list[str]:
    values = resource if isinstance(resource, list) else [resource]
    if not values or not all(isinstance(v, str) and urlsplit(v).scheme for v in values):
        raise OAuthError(error, "resource must be one or more absolute URIs.")
    return values[0] if len(values) == 1 else values


def new_browser_id() -> str:
    return secrets.token_urlsafe(32)
