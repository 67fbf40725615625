"""Keyset paging with opaque continuation tokens.

A token carries the sort key of the last item handed out, signed so that a client cannot forge a position.
Because the next page starts strictly after that key, rows inserted meanwhile never shift a page (stable
under concurrent inserts), unlike OFFSET paging.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from felles.core.errors import InvalidInput

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    continuationToken: str | None = Field(
        default=None, description="Pass as `continuationToken` to get the next page; absent on the last page."
    )


class ContinuationTokens:
    """Signs and reads continuation tokens with the platform's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(("paging:" + secret_key).encode()).digest()

    def encode(self, last_key: list[Any]) -> str:
        body = json.dumps(last_key, separators=(",", ":"), default=str).encode()
        signature = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(body + signature).decode().rstrip("=")

    def decode(self, token: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body, signature = raw[:-12], raw[-12:]
            expected = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(signature, expected):
                raise ValueError("signature")
            value = json.loads(body)
            if not isinstance(value, list):
                raise ValueError("shape")
            return value
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise InvalidInput(
                "The continuation token is not one this server handed out.", code="invalid_continuation_token"
            ) from exc


def page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}.", code="invalid_limit")
    return limit
