"""`felles dialogporten backfill`: the operator brings app instances made before the mirrors existed into
Dialogporten, with a progress bar, and a second run queues nothing."""

from __future__ import annotations

import asyncio
import uuid

from typer.testing import CliRunner

from felles.cli import cli
from felles.dialogporten import mirrors
from tests.apps.runtime import conftest as runtime_fixtures
from tests.dialogporten.test_mirrors import instances_made_before_the_mirrors, run_jobs

soknad, kari = runtime_fixtures.soknad, runtime_fixtures.kari


async def test_the_operator_backfills_the_instances_no_dialog_mirrors(client, database, soknad, kari,
                                                                     job_settings) -> None:
    guids = await instances_made_before_the_mirrors(client, database, kari, 2)

    def backfill(*options: str) -> str:
        result = CliRunner().invoke(cli, ["dialogporten", "backfill", *options])
        assert result.exit_code == 0, result.output
        return str(result.output)

    first = await asyncio.to_thread(backfill, "--org", "ttd")
    assert "App instances" in first and "2/2" in first  # the progress bar, at its end
    assert "2 mirror job(s) queued for ttd's apps." in first
    assert "0 mirror job(s) queued." in await asyncio.to_thread(backfill)  # queued already
    await run_jobs(database)
    for guid in guids:
        assert await mirrors.mirrored_dialog_id(database, "instance", uuid.UUID(guid)) is not None
    assert "0 mirror job(s) queued." in await asyncio.to_thread(backfill)
