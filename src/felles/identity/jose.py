"""The compact JWS work on the token endpoints' hot path, with parsed keys reused across requests.

joserfc remains the JOSE library of the platform (key import, JWKS, the platform's own `PlatformKeys.verify`);
on the token endpoints it re-imports, re-validates and re-serialises per call what is fixed per key, so signing
and verifying RS256/384/512 here goes straight to `cryptography` with the key objects parsed once. The rules are
those of RFC 7515/7518 for these algorithms: three base64url parts without padding, a JSON-object header and
payload, an RSA key, a `crit` header refused (we understand no extension), PKCS#1 v1.5 with the alg's hash.
"""

from __future__ import annotations

import base64
import binascii
import re
import weakref
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from felles.core.tokens import PlatformKeys

HASHES: dict[str, type[hashes.HashAlgorithm]] = {"RS256": hashes.SHA256, "RS384": hashes.SHA384,
                                                 "RS512": hashes.SHA512}
_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")


class JwsError(ValueError):
    """The JWS cannot be read or its signature does not verify."""


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64url_decode(part: bytes) -> bytes:
    if not _BASE64URL.fullmatch(part) or len(part) % 4 == 1:
        raise JwsError("a part is not base64url without padding")
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JwsError("a part is not base64url") from exc


class CompactJws:
    """A compact JWS split and parsed, not yet verified."""

    __slots__ = ("header", "payload", "signature", "signing_input")

    def __init__(self, token: str) -> None:
        raw = token.encode()
        parts = raw.split(b".")
        if len(parts) != 3:
            raise JwsError("a compact JWS has three parts")
        try:
            header = orjson.loads(_b64url_decode(parts[0]))
            payload = orjson.loads(_b64url_decode(parts[1]))
        except orjson.JSONDecodeError as exc:
            raise JwsError("the header or payload is not JSON") from exc
        if not isinstance(header, dict):
            raise JwsError("the header is not a JSON object")
        self.header: dict[str, Any] = header
        self.payload: Any = payload
        self.signature = _b64url_decode(parts[2])
        self.signing_input = raw[: len(parts[0]) + 1 + len(parts[1])]

    def verify(self, key: rsa.RSAPublicKey, algorithms: list[str]) -> dict[str, Any]:
        """The claims, when the signature is the header's alg by `key`; else `JwsError`."""
        algorithm = self.header.get("alg")
        if algorithm not in algorithms or algorithm not in HASHES:
            raise JwsError(f"alg {algorithm!r} is not allowed")
        if "crit" in self.header:
            raise JwsError("crit extensions are not supported")
        if not isinstance(key, rsa.RSAPublicKey):
            raise JwsError("the key is not an RSA key")
        try:
            key.verify(self.signature, self.signing_input, padding.PKCS1v15(), HASHES[algorithm]())
        except InvalidSignature as exc:
            raise JwsError("bad signature") from exc
        if not isinstance(self.payload, dict):
            raise JwsError("the payload is not a JSON object")
        return self.payload


def public_key_of(key: RSAKey) -> rsa.RSAPublicKey:
    public = key.public_key
    if not isinstance(public, rsa.RSAPublicKey):
        raise JwsError("the key is not an RSA key")
    return public


class Signer:
    """RS256 signing with the platform key; the header of each token type is serialised once."""

    def __init__(self, keys: PlatformKeys) -> None:
        private = keys.signing_key.private_key
        if not isinstance(private, rsa.RSAPrivateKey):
            raise TypeError("the platform signing key is not an RSA private key")
        self._private = private
        self._kid = keys.signing_key.kid
        self._headers: dict[str, bytes] = {}

    def sign(self, claims: dict[str, Any], typ: str = "at+jwt") -> str:
        header = self._headers.get(typ)
        if header is None:
            header = self._headers[typ] = b64url(orjson.dumps({"alg": "RS256", "kid": self._kid, "typ": typ}))
        signing_input = header + b"." + b64url(orjson.dumps(claims))
        signature = self._private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return (signing_input + b"." + b64url(signature)).decode()


_signers: weakref.WeakKeyDictionary[PlatformKeys, Signer] = weakref.WeakKeyDictionary()


def signer_for(keys: PlatformKeys) -> Signer:
    signer = _signers.get(keys)
    if signer is None:
        signer = _signers[keys] = Signer(keys)
    return signer
