"""Identity's figures for the monthly statistics: logins per eID and Maskinporten tokens per client.

Both are counted in process memory where they happen and stored once a minute (`core.usage`), so a login or a
token costs no extra write."""

from __future__ import annotations

from datetime import datetime

from felles.core.db import Database
from felles.core.usage import usage_counts

LOGINS_PER_EID = "logins"  # key: "<issuer> <eID>", e.g. "idporten TestID"
TOKENS_PER_CLIENT = "maskinporten_tokens"  # key: the client_id


async def logins_per_eid(database: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Logins in [start, end) per login service and eID (ID-porten with BankID, Ansattporten with MinID …)."""
    return await usage_counts(database, "identity", LOGINS_PER_EID, start, end)


async def tokens_per_client(database: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Maskinporten access tokens issued in [start, end) per client."""
    return await usage_counts(database, "identity", TOKENS_PER_CLIENT, start, end)
