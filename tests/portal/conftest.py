from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from felles.app import create_app
from felles.core.config import Settings


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """An embedded database in the test's folder; parametrize it indirectly with
    "unreachable database" for one that cannot be opened."""
    folder = tmp_path / "no-such-folder" if getattr(request, "param", None) == "unreachable database" else tmp_path
    return Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{folder}/t.db")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, run_worker=False)
    yield application
    await application.state.runtime.database.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://felles.test") as c:
        yield c
