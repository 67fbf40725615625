"""`felles demo journey`: seed 003's journey, run against a running platform."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from felles.core.config import get_settings

demo_cli = typer.Typer(help="Demonstrations against a running platform.", no_args_is_help=True)
console = Console()


@demo_cli.command("journey")
def journey(base_url: Annotated[str | None, typer.Option(
        help="The running platform (default FELLES_BASE_URL).")] = None) -> None:
    """Heidi applies for leave from school for Line and a kindergarten place for Isak; Skedsmo kommune's case
    system imports, decides and answers; each step is printed with where to look."""
    from felles.journey.run import run_journey

    settings = get_settings()
    result = asyncio.run(run_journey(settings, base_url or settings.base_url, console.print))
    console.print(f"[green]The journey is done: {len(result.steps)} steps.[/green]")
