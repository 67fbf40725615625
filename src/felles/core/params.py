"""Integer path and query parameters that fit the database's 64-bit integers.

A number past 2^63 - 1 cannot be compared with a BIGINT column (the drivers raise OverflowError, a 500), so
such parameters are bounded here and a larger one is refused as invalid input, like any other bad parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# The largest value of a BIGINT (PostgreSQL) or INTEGER (SQLite) column.
MAX_DATABASE_INTEGER = 2**63 - 1

# A row's integer id in a path (`/subscriptions/{subscription_id}`).
IntegerId = Annotated[int, Path(ge=1, le=MAX_DATABASE_INTEGER, description="An integer id.")]
