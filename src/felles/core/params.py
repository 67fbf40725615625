"""Integer path and query parameters bounded by the database column they are compared with.

A number past a column's range cannot even be compared with it (asyncpg refuses it, SQLite's driver raises
OverflowError past 64 bits: a 500), so such parameters are bounded here and a larger one is refused as invalid
input, like any other bad parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# The largest value of an INTEGER column on PostgreSQL (SQLite's hold 64 bits) ...
MAX_DATABASE_INTEGER = 2**31 - 1
# ... and of a BIGINT column (sequence numbers of the feeds).
MAX_DATABASE_BIG_INTEGER = 2**63 - 1

# The id of a row whose primary key is an INTEGER column, in a path (`/subscriptions/{subscription_id}`).
IntegerId = Annotated[int, Path(ge=1, le=MAX_DATABASE_INTEGER, description="An integer id.")]
