"""`felles casesystem`: Skedsmo kommune's reference case system as its own program, on the platform's public
APIs only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from felles.core.config import get_settings

console = Console()


def casesystem(
    base_url: Annotated[str | None, typer.Option(help="The platform (default FELLES_BASE_URL).")] = None,
    host: str = "127.0.0.1",
    port: int = 8100,
    public_url: Annotated[str | None, typer.Option(help="How the platform reaches this program.")] = None,
    store: Annotated[Path | None, typer.Option(
        help="The case records (SQLite; default casesystem/cases.db in the data folder).")] = None,
) -> None:
    """Run the case system: a webhook for the apps' events, the case worker's page, the answers as letters."""
    from dataclasses import replace

    from felles.casesystem.runner import running
    from felles.journey.run import case_system_options

    settings = get_settings()
    base = (base_url or settings.base_url).rstrip("/")
    options = replace(case_system_options(settings, base, port=port), host=host, public_url=public_url,
                      store=store or settings.data_dir / "casesystem" / "cases.db")

    async def run() -> None:
        async with running(options) as (_, url):
            console.print(f"Skedsmo kommune's case system at {url} (the case worker's page), subscribed to "
                          f"{', '.join(options.settings.app_ids)} on {base}.")
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
