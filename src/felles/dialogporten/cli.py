"""`felles dialogporten ...`: the platform operator's Dialogporten commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from felles.core.commands import run_with_database
from felles.core.config import Settings
from felles.core.db import Database

dialogporten_cli = typer.Typer(help="Dialogporten: dialogs and the mirrors that keep them.", no_args_is_help=True)


@dialogporten_cli.callback()
def _dialogporten() -> None:
    """Dialogporten: dialogs and the mirrors that keep them."""


@dialogporten_cli.command("backfill")
def backfill(
    org: Annotated[str | None, typer.Option(help="Only the instances of this service owner's apps (e.g. ttd).")] = None,
) -> None:
    """Queue a mirror job for every app instance that has no dialog yet (made before the mirrors existed): the
    workers then write their dialogs. Safe to run again: mirrored and already queued instances are skipped."""
    console = Console(highlight=False)

    async def work(database: Database, _settings: Settings) -> int:
        # Imported here: every `felles` command would otherwise load the mirrors and what they read.
        from felles.dialogporten import mirrors
        from felles.storage import service as storage_service

        total = await storage_service.count_instances(database, org=org)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console)
        with progress:
            task = progress.add_task("App instances", total=total)
            return await mirrors.mirror_unmirrored_instances(
                database, org=org, progress=lambda seen: progress.advance(task, seen))

    queued = run_with_database(work)
    console.print(f"{queued} mirror job(s) queued" + (f" for {org}'s apps." if org else ".")
                  + (" A worker (felles worker, or felles serve) writes the dialogs." if queued else ""))
