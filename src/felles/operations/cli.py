"""`felles incident open|close|list`: the operators' driftsmeldinger on the status page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from felles.core.config import get_settings
from felles.core.db import Database
from felles.core.errors import Problem

incident_cli = typer.Typer(help="Incidents (driftsmeldinger) on the status page, /status.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(get_settings().database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except Problem as problem:
        console.print(f"[red]{problem.detail}[/red]")
        raise typer.Exit(1) from problem


@incident_cli.command("open")
def open_incident(
    component: Annotated[str, typer.Argument(help="The component, as the status page names it (e.g. database).")],
    title: Annotated[str, typer.Argument(help="What users notice, in a sentence.")],
    severity: Annotated[str, typer.Option(help="degraded, outage or maintenance.")] = "degraded",
    description: Annotated[str, typer.Option(help="More about it: what works, what to do meanwhile.")] = "",
) -> None:
    """Open an incident; it shows on the status page until it is closed."""
    from felles.operations import service

    incident = _run(lambda database: service.open_incident(database, component=component, severity=severity,
                                                           title=title, description=description))
    console.print(f"Incident {incident.id} opened.")


@incident_cli.command("close")
def close_incident(
    incident_id: Annotated[uuid.UUID, typer.Argument(help="The id `felles incident open` printed.")],
    resolution: Annotated[str, typer.Option(help="What was done.")] = "",
) -> None:
    """Close an open incident."""
    from felles.operations import service

    _run(lambda database: service.close_incident(database, incident_id, resolution=resolution))
    console.print(f"Incident {incident_id} closed.")


@incident_cli.command("list")
def list_incidents(open_only: Annotated[bool, typer.Option("--open", help="Only the open ones.")] = False) -> None:
    """The newest incidents."""
    from felles.operations import service

    incidents = _run(lambda database: service.list_incidents(database, open_only=open_only))
    table = Table("id", "component", "severity", "title", "opened", "closed")
    for incident in incidents:
        table.add_row(str(incident.id), incident.component, incident.severity, incident.title,
                      incident.opened_at.isoformat(timespec="seconds"),
                      incident.closed_at.isoformat(timespec="seconds") if incident.closed_at else "")
    console.print(table)
