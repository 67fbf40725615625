"""``felles xacml ...``: tools for policy authors; ``felles service-owner ...``: the registry of service
owners."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from felles.authorization import schemas, service
from felles.authorization.xacml.conformance import discover_cases, run_case
from felles.core.audit import Actor
from felles.core.commands import run_with_database
from felles.core.errors import Problem

xacml_cli = typer.Typer(help="XACML 3.0 policies and decisions.", no_args_is_help=True)
service_owner_cli = typer.Typer(help="The registry of service owners (tjenesteeiere).", no_args_is_help=True)
OPERATOR = Actor("system:cli")


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


@service_owner_cli.command("add")
def add_service_owner(
    orgcode: Annotated[str, typer.Argument(help="The owner's code, e.g. brg (lower case).")],
    organization: Annotated[str, typer.Argument(help="Its organisation number.")],
    name_nb: Annotated[str, typer.Option("--name-nb", help="Name in bokmål.")],
    name_nn: Annotated[str | None, typer.Option("--name-nn", help="Name in nynorsk (default: bokmål).")] = None,
    name_en: Annotated[str | None, typer.Option("--name-en", help="Name in English (default: bokmål).")] = None,
) -> None:
    """Register an organisation as a service owner: it may then own resources and access lists."""
    console = Console(highlight=False)
    try:
        owner = schemas.ServiceOwnerPublic(orgcode=orgcode, organization=organization,
                                           name={"nb": name_nb, "nn": name_nn or name_nb, "en": name_en or name_nb})
        added = run_with_database(lambda database, _settings: service.add_service_owner(database, OPERATOR, owner))
    except (ValidationError, Problem) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(code=1) from None
    console.print(f"Service owner {added.orgcode} ({added.organization}) added.")


@service_owner_cli.command("list")
def list_service_owners() -> None:
    """Print the registry of service owners."""
    owners = run_with_database(lambda database, _settings: service.list_service_owners(database))
    table = Table("orgcode", "organisation number", "name (nb)", title="Service owners")
    for owner in owners:
        table.add_row(owner.orgcode, owner.organization, owner.name.get("nb", ""))
    Console().print(table)
