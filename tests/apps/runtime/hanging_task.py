"""A task type for the crash test, loaded into a server process as a plugin: entering it hangs while the file
`hang` exists in the folder RUNTIME_TEST_HANG_DIR names (after writing `entered` there), so that the test can kill
the server in the middle of a process step."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from felles.apps import tasks


class HangingTask:
    task_type = "hang"
    actions: tuple[str, ...] = ()

    async def on_enter(self, ctx: tasks.TaskContext) -> None:
        folder = Path(os.environ.get("RUNTIME_TEST_HANG_DIR", "/nonexistent"))
        if (folder / "hang").exists():
            (folder / "entered").touch()
            await asyncio.sleep(3600)

    async def before_leave(self, ctx: tasks.TaskContext, action: str) -> list[dict[str, Any]]:
        return []

    async def on_leave(self, ctx: tasks.TaskContext) -> None:
        return None


tasks.register_task_type(HangingTask())
