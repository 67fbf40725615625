"""Command-line tools for service developers: ``felles app check`` and ``felles expr test``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from felles.apps import deployment
from felles.apps.checks import check_app
from felles.apps.expressions.shared_tests import find_test_files, load_cases, run_case
from felles.apps.lenient_json import JsonFileError
from felles.core.commands import run_with_database
from felles.core.config import Settings
from felles.core.db import Database

app_cli = typer.Typer(help="Altinn 3 app folders.", no_args_is_help=True)
expr_cli = typer.Typer(help="Altinn's expression language.", no_args_is_help=True)


@app_cli.callback()
def _app_group() -> None:
    """Altinn 3 app folders."""


@expr_cli.callback()
def _expr_group() -> None:
    """Altinn's expression language."""


@app_cli.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="The app folder (the repository root or its App/ folder).")],
) -> None:
    """Load every file of an app folder and list every problem; exit 1 if there is any."""
    console = Console(highlight=False, soft_wrap=True)
    app = check_app(path)
    for warning in app.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(str(warning))}")
    for problem in app.problems:
        console.print(f"[red]error[/red] {escape(str(problem))}")
    name = app.id or str(path)
    if app.problems:
        console.print(f"{escape(name)}: {len(app.problems)} problem(s)")
        raise typer.Exit(1)
    pages = sum(len(s.layouts) for s in app.layout_sets.values())
    console.print(
        f"{escape(name)}: OK ({len(app.layout_sets)} layout set(s), {pages} page(s), "
        f"{len(app.models)} data model(s), {len(app.warnings)} warning(s))"
    )


@app_cli.command("deploy")
def deploy(
    path: Annotated[Path, typer.Argument(help="The app folder (the repository root or its App/ folder).")],
    name: Annotated[str | None, typer.Option(
        help='Name an app made from Altinn\'s template ("org/app"), filling its [ORG] and [APP].')] = None,
) -> None:
    """Deploy an app folder as the app's next version (an unchanged folder makes no new version)."""
    console = Console(highlight=False, soft_wrap=True)

    async def work(database: Database, _settings: Settings) -> deployment.Deployment:
        return await deployment.deploy_folder(database, path, "system:cli", name=name)

    try:
        result = run_with_database(work)
    except deployment.DeploymentRefused as refused:
        for problem in refused.problems:
            console.print(f"[red]error[/red] {escape(str(problem))}")
        raise typer.Exit(1) from None
    what = "deployed as version" if result.created else "unchanged: still version"
    console.print(f"{escape(result.app_id)} {what} {result.version}")


@app_cli.command("list")
def list_apps() -> None:
    """The deployed apps with their newest version."""
    console = Console(highlight=False, soft_wrap=True)

    async def work(database: Database, _settings: Settings) -> list[deployment.DeployedApp]:
        return await deployment.list_deployed(database)

    apps = run_with_database(work)
    if not apps:
        console.print("No apps are deployed. Deploy one with: felles app deploy PATH")
        return
    table = Table("app", "version", "versions", "deployed", "by")
    for app in apps:
        table.add_row(app.app_id, str(app.version), str(app.versions), app.deployed_at.isoformat(timespec="seconds"),
                      app.deployed_by)
    console.print(table)


@expr_cli.command("test")
def test(
    paths: Annotated[list[Path], typer.Argument(help="Test files or folders in Altinn's shared-test format.")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list passing cases.")] = False,
) -> None:
    """Run expression test files and end with the line ``N passed, M failed``; exit 1 on any failure."""
    console = Console(highlight=False, soft_wrap=True)
    passed = failed = 0
    for file in find_test_files(paths):
        try:
            cases = load_cases(file)
        except (JsonFileError, OSError) as error:
            failed += 1
            console.print(f"[red]FAIL[/red] {escape(str(file))}: {escape(str(error))}")
            continue
        for case in cases:
            outcome = run_case(case)
            if outcome.passed:
                passed += 1
                if verbose:
                    console.print(f"[green]ok[/green]   {escape(case.id)}")
            else:
                failed += 1
                console.print(f"[red]FAIL[/red] {escape(str(file))} :: {escape(case.name)}: {escape(outcome.detail)}")
    console.print(f"{passed} passed, {failed} failed")
    if failed or not passed:
        raise typer.Exit(1)
