"""What one process holds for its lifetime (settings, database, keys), and the typed dependencies for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from felles.core.blobs import BlobStore, open_blob_store
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.paging import ContinuationTokens
from felles.core.tokens import PlatformKeys


@dataclass
class Runtime:
    settings: Settings
    database: Database
    keys: PlatformKeys
    continuation_tokens: ContinuationTokens = field(init=False)
    blobs: BlobStore = field(init=False)  # the one blob store of this process (files, attachments, receipts)

    def __post_init__(self) -> None:
        self.continuation_tokens = ContinuationTokens(self.settings.secret_key)
        self.blobs = open_blob_store(self.settings)


# Dependencies are coroutines because FastAPI runs a plain function dependency in a worker thread, which costs
# a thread hop on every request.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.runtime.database
    return database


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DatabaseDep = Annotated[Database, Depends(get_database)]
