"""Alembic, driven from code: `felles db upgrade`, the start-up of `make run`, and the tests use this."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`. Runs Alembic's sync API in a worker thread if a loop is running."""
    config = alembic_config(database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, revision)
        return
    raise RuntimeError("call upgrade_async from async code")


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), revision)


def modelled(metadata: MetaData) -> Callable[[str | None, str, Any], bool]:
    """Alembic's `include_name`: leave out what a component's migration makes outside the models (the names in
    `metadata.info["unmodelled"]`, such as full-text indexes), which the models cannot declare."""
    unmodelled = metadata.info.get("unmodelled", ())
    return lambda name, type_, parent_names: name not in unmodelled


async def differences(database_url: str, metadata: MetaData) -> list[Any]:
    """What the models declare that the migrated database lacks (or has in excess); empty when they agree."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_name": modelled(metadata)}), metadata)
            )
    finally:
        await engine.dispose()
