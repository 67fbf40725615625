"""``felles xacml ...``: tools for policy authors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from felles.authorization.xacml.conformance import discover_cases, run_case

xacml_cli = typer.Typer(help="XACML 3.0 policies and decisions.", no_args_is_help=True)


@xacml_cli.callback()
def _xacml() -> None:
    """XACML 3.0 policies and decisions."""


@xacml_cli.command("test")
def test_folder(
    directory: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, dir_okay=True, readable=True,
        help="Folder of <ID>Policy.xml, <ID>Request.xml|json, <ID>Response.xml|json")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every case, not only the failures.")] = False,
) -> None:
    """Run a folder of conformance-style cases and compare each decision with the recorded response."""
    console = Console(highlight=False)
    cases = discover_cases(directory)
    if not cases:
        console.print(f"[yellow]No cases (<ID>Request.xml|json with <ID>Response.xml|json) in {directory}[/]")
    failures = Table("case", "difference", title="Failed cases", show_lines=False)
    passed = failed = 0
    with console.status("Evaluating…"):
        for case in cases:
            outcome = run_case(case)
            if outcome.passed:
                passed += 1
                if verbose:
                    console.print(f"[green]✓[/] {case.id}")
            else:
                failed += 1
                failures.add_row(case.id, "; ".join(outcome.differences))
    if failed:
        console.print(failures)
    console.print(f"{passed} passed, {failed} failed", style="bold green" if not failed else "bold red")
    if failed:
        raise typer.Exit(code=1)
