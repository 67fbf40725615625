"""The one way the platform calls out over HTTP, guarded against server-side request forgery: webhooks and
notification condition endpoints (addresses API consumers give us), back-channel logout (addresses clients
register), the SMS gateway, and any later caller.

A URL is allowed when its scheme is http(s), it carries no credentials, its host is not a non-public address
literal, and (unless the caller says the URL was registered by a vetted party, see `allow_list`) its host is on
the allow-list (`FELLES_OUTBOUND_ALLOWED_HOSTS`, formerly `FELLES_WEBHOOK_ALLOWED_HOSTS`: "example.no" exactly,
".example.no" for subdomains). Every address the host resolves to must be public; loopback (127.0.0.0/8, ::1,
localhost) is allowed only in development and tests, where receivers run on the developer's machine. Only https
is called in production. Redirects are never followed.

The URL is checked when it is registered and before every call. The addresses are checked where the
connection is made: the transport resolves the host once, refuses it if any address it resolves to is not
allowed, and connects to a checked address, while the request keeps the host name (Host header, TLS SNI and
certificate check). A name that re-resolves elsewhere after the check (DNS rebinding) cannot redirect a
connection to an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from felles.core.config import Environment, Settings
from felles.core.errors import InvalidInput

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class OutboundRefused(InvalidInput):
    code = "outbound_url_refused"
    title = "The URL may not be called"


def _loopback_allowed(settings: Settings) -> bool:
    return settings.environment in (Environment.DEVELOPMENT, Environment.TEST)


def _host_on_allow_list(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith(".") and (host.endswith(entry) or host == entry[1:]):
            return True
        if host == entry:
            return True
    return False


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _forbidden_address(address: Address, *, loopback_allowed: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 reaches 10.0.0.1
    if address.is_loopback:
        return not loopback_allowed
    return (address.is_private or address.is_link_local or address.is_multicast or address.is_reserved
            or address.is_unspecified)


def _is_loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_non_public_host(host: str, *, loopback_allowed: bool) -> None:
    """Refuse (`OutboundRefused`) a host that names loopback (unless allowed) or is a private, link-local or
    otherwise non-public address literal. No DNS lookup: names are checked when a connection is made."""
    if _is_loopback_host(host):
        if not loopback_allowed:
            raise OutboundRefused("Loopback addresses are only allowed in development and tests.")
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if _forbidden_address(literal, loopback_allowed=loopback_allowed):
        raise OutboundRefused(f"{host} is not a public address.")


def check_url_syntax(settings: Settings, url: str, *, allow_list: bool = True) -> str:
    """The host of an allowed URL, or `OutboundRefused` (no DNS lookup: for validating requests).

    `allow_list=False` is for URLs that a vetted, registered party gave (a client's back-channel logout URI):
    every other rule still applies, and the addresses are still checked at each connection."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{url!r} is not an absolute http(s) URL.")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with credentials are not allowed.")
    host = parts.hostname
    loopback_allowed = _loopback_allowed(settings)
    refuse_non_public_host(host, loopback_allowed=loopback_allowed)
    if _is_loopback_host(host):  # allowed, or refused just above
        return host
    if allow_list and not _host_on_allow_list(host, settings.outbound_allowed_hosts):
        raise OutboundRefused(f"The host {host} is not on the allow-list of outbound hosts.")
    if settings.environment is Environment.PRODUCTION and parts.scheme != "https":
        raise OutboundRefused("Only https URLs are called in production.")
    return host


async def allowed_address(settings: Settings, host: str, port: int) -> str:
    """The address to connect to for `host`: resolved once, and refused (`OutboundRefused`) unless every
    address it resolves to is allowed (no private networks; loopback only in development and tests)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:  # an address, not a name: nothing to resolve
        if _forbidden_address(literal, loopback_allowed=_loopback_allowed(settings)):
            raise OutboundRefused(f"{host} is not a public address.")
        return host
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundRefused(f"The host {host} cannot be resolved: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if _forbidden_address(address, loopback_allowed=_loopback_allowed(settings)):
            raise OutboundRefused(f"The host {host} resolves to a non-public address ({address}).")
    if not addresses:
        raise OutboundRefused(f"The host {host} resolves to no address.")
    return str(addresses[0])


async def check_url(settings: Settings, url: str, *, allow_list: bool = True) -> None:
    """`check_url_syntax` plus: every address the host resolves to now is allowed (for early feedback; each
    connection checks the addresses again, see `allowed_address`)."""
    host = check_url_syntax(settings, url, allow_list=allow_list)
    await allowed_address(settings, host, urlsplit(url).port or 443)


class _CheckedAddresses(httpcore.AsyncNetworkBackend):
    """Opens each connection to the address `allowed_address` checked, never to a second resolution."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None, socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await allowed_address(self.settings, host, port)
        return await self._network.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)

    async def connect_unix_socket(
        self, path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("Outbound calls do not use local sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (tens of ms): do it once per process.
    return ssl.create_default_context()


def _new_client(settings: Settings, **limits: Any) -> httpx.AsyncClient:
    """A client whose every connection goes through the guard; the transport is otherwise httpx's own."""
    transport = httpx.AsyncHTTPTransport(verify=_tls_context(), trust_env=False)
    # httpx takes no network backend of its own, so its transport gets a pool that connects through ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_tls_context(), network_backend=_CheckedAddresses(settings), **limits)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(settings.outbound_timeout_seconds),
                             follow_redirects=False, trust_env=False)


# One pooled client per event loop (a worker process has one): repeated calls (webhook deliveries) reuse its keep-alive
# connections instead of a TCP (and TLS) handshake per call. Keyed by the loop, as a client is bound to it.
_pooled: dict[asyncio.AbstractEventLoop, tuple[Settings, httpx.AsyncClient]] = {}


def _pooled_client(settings: Settings) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    found = _pooled.get(loop)
    if found is not None and found[0] is settings and not found[1].is_closed:
        return found[1]
    for other in [other for other in _pooled if other.is_closed()]:
        del _pooled[other]  # clients of finished loops (tests): their sockets went with the loop
    client = _new_client(settings, max_connections=settings.outbound_max_connections,
                         max_keepalive_connections=settings.outbound_max_connections, keepalive_expiry=30.0)
    _pooled[loop] = (settings, client)
    return client


async def close_pooled_clients() -> None:
    """Close this loop's pooled client (tests call this after each test; a worker simply exits)."""
    found = _pooled.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found[1].aclose()


async def request(
    settings: Settings, method: str, url: str, *, json: Any = None, data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None, pooled: bool = False, allow_list: bool = True,
    timeouts: httpx.Timeout | None = None,
) -> httpx.Response:
    """One guarded call; never follows redirects. Raises `OutboundRefused` or an `httpx.HTTPError`.

    The URL is checked before every call (see `check_url_syntax` for `allow_list`), and each new connection's
    address when it is made. `pooled` reuses this process's keep-alive connections (webhooks, which a worker
    calls over and over); otherwise the call gets its own client. `timeouts` replace
    `FELLES_OUTBOUND_TIMEOUT_SECONDS` for callers with a protocol's own limits."""
    check_url_syntax(settings, url, allow_list=allow_list)
    options: dict[str, Any] = {"json": json, "data": data, "headers": headers}
    if timeouts is not None:
        options["timeout"] = timeouts
    if pooled:
        return await _pooled_client(settings).request(method, url, **options)
    async with _new_client(settings) as client:
        return await client.request(method, url, **options)
