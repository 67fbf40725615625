"""The `felles` command: serve, work, migrate, seed, check and operate the platform."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from felles.apps.cli import app_cli, expr_cli
from felles.authorization.cli import service_owner_cli, xacml_cli
from felles.casesystem.cli import casesystem
from felles.core.config import get_settings
from felles.dialogporten.cli import dialogporten_cli
from felles.identity.cli import identity_cli
from felles.journey.cli import demo_cli
from felles.operations.cli import incident_cli

cli = typer.Typer(help="Felles: Norway's digital-government platform.", no_args_is_help=True)
db_cli = typer.Typer(help="The database.", no_args_is_help=True)
jobs_cli = typer.Typer(help="The durable job queue.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(app_cli, name="app", help="Altinn app folders.")
cli.add_typer(expr_cli, name="expr", help="Altinn's expression language.")
cli.add_typer(xacml_cli, name="xacml", help="XACML 3.0 policies.")
cli.add_typer(service_owner_cli, name="service-owner", help="Service owners (tjenesteeiere): who may own resources.")
cli.add_typer(identity_cli, name="identity", help="ID-porten, Maskinporten and Ansattporten clients and scopes.")
cli.add_typer(demo_cli, name="demo", help="Demonstrations against a running platform.")
cli.command("casesystem")(casesystem)
cli.add_typer(incident_cli, name="incident")
cli.add_typer(dialogporten_cli, name="dialogporten")
console = Console()


LOOPBACK_AND_ANY_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # noqa: S104 - names


def served_base_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches `felles serve --host HOST --port PORT` at: the platform's
    base URL (issuers, redirects) when FELLES_BASE_URL does not say otherwise."""
    name = "localhost" if host in LOOPBACK_AND_ANY_HOSTS else (f"[{host}]" if ":" in host else host)
    return f"http://{name}:{port}"


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="HTTP worker processes (each runs an in-process job worker).")] = 1,
    job_worker: Annotated[bool, typer.Option(help="Run the job worker inside the server process.")] = True,
    migrate: Annotated[bool, typer.Option(help="Migrate the database before serving.")] = True,
    graceful_seconds: Annotated[int, typer.Option(help="On SIGTERM, how long requests in flight may take.")] = 30,
) -> None:
    """Serve the API, the web pages and (by default) an in-process job worker."""
    import os

    import uvicorn

    from felles.core.migrations import upgrade
    from felles.notifications.service import delivery_destinations

    # Set in the environment, so that every server process uvicorn starts (--workers) reads the same address.
    os.environ.setdefault("FELLES_BASE_URL", served_base_url(host, port))
    get_settings.cache_clear()
    settings = get_settings()
    if migrate:
        upgrade(settings.database_url)
    for channel, destination in delivery_destinations(settings).items():
        console.print(f"{channel}: {destination}")
    os.environ["FELLES_RUN_WORKER"] = "1" if job_worker else "0"
    options: dict[str, Any] = dict(log_level=settings.log_level.lower(), access_log=False, proxy_headers=True,
                   timeout_graceful_shutdown=graceful_seconds)
    if workers > 1:
        # Our supervisor: restarts a process that dies and releases the jobs it had leased (core/supervisor.py).
        from felles.core.supervisor import Supervisor, bind, release_jobs_of

        Supervisor(bind(host, port), workers, options, graceful_seconds=graceful_seconds + 5,
                   on_death=lambda pid: release_jobs_of(settings.database_url, pid)).run()
        return
    uvicorn.run("felles.app:create_app_from_environment", factory=True, host=host, port=port, **options)


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at the same time.")] = 8,
) -> None:
    """Run a job worker (any number may run against one PostgreSQL)."""
    import felles.app  # noqa: F401 - loads every component, and with them their job handlers
    from felles.core.db import Database
    from felles.core.jobs import Worker, load_plugin_modules
    from felles.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    load_plugin_modules(settings.plugin_modules)

    async def run() -> None:
        database = Database(settings.database_url)
        job_worker = Worker(database, concurrency=concurrency, poll_seconds=settings.worker_poll_seconds)
        loop = asyncio.get_running_loop()
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, job_worker.stop)
        try:
            await job_worker.run()
        finally:
            await database.dispose()

    asyncio.run(run())


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations up to REVISION."""
    from felles.core.migrations import upgrade

    upgrade(get_settings().database_url, revision)
    console.print(f"[green]Database at {revision}.[/green]")


@cli.command()
def seed(
    persons: Annotated[int, typer.Option(help="Synthetic persons to create.")] = 0,
    orgs: Annotated[int, typer.Option(help="Synthetic organisations to create.")] = 0,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = 1,
    demo: Annotated[bool, typer.Option(
        help="Also add the named demo personas, demo services, the demo app and a consent request.")] = False,
) -> None:
    """Fill the registers with a consistent synthetic population (streamed, constant memory)."""
    import felles.app  # noqa: F401 - every router, and with them every scope the platform's APIs require
    from felles.apps.demo import seed_demo_app
    from felles.authorization.demo import seed_demo_services
    from felles.broker.demo import seed_demo_broker
    from felles.consent.demo import seed_demo_consent_request
    from felles.core.blobs import open_blob_store
    from felles.core.db import Database
    from felles.core.migrations import upgrade
    from felles.core.pdf import static_fonts
    from felles.core.tokens import required_scopes
    from felles.correspondence.demo import seed_demo_correspondence
    from felles.correspondence.letters_demo import seed_demo_letters
    from felles.dialogporten.demo import seed_demo_dialogs
    from felles.identity.cli import seed_demo_clients, seed_platform_scopes
    from felles.journey.demo import seed_skedsmo
    from felles.portal.login import LOGIN_CLIENT_ID, ensure_login_client
    from felles.registers import population

    settings = get_settings()
    upgrade(settings.database_url)

    async def run() -> None:
        database = Database(settings.database_url)
        try:
            if demo:
                added = await population.seed_demo_personas(database)
                console.print(f"Demo personas: {'added' if added else 'already there'}.")
                scopes = await seed_platform_scopes(database, required_scopes(), [population.DEMO_COMPANY])
                console.print(f"Platform scopes: {len(scopes)} registered, access given to the demo company "
                              f"{population.DEMO_COMPANY}.")
                services = await seed_demo_services(database)
                console.print("Demo services: " + ", ".join(
                    f"{resource.identifier} ({resource.title.get('nb', '')})" for resource in services))
                demo_app = await seed_demo_app(database)
                console.print(f"Demo app: {demo_app.app_id} version {demo_app.version} "
                              f"({'deployed' if demo_app.created else 'already deployed'}), at /{demo_app.app_id}/")
                # The demo app's receipts need the PDF fonts, which are cut from a variable font once per data
                # folder (seconds): done here, so the newcomer's first receipt is not the one that waits.
                await asyncio.to_thread(static_fonts, settings.data_dir / "fonts")
                console.print("PDF fonts: ready.")
                skedsmo = await seed_skedsmo(database, settings)
                console.print(f"Skedsmo kommune: {', '.join(f'/{app.app_id}/' for app in skedsmo.apps)}; its case "
                              f"system's key in {skedsmo.key_file} (run `felles casesystem`).")
                sent = await seed_demo_correspondence(database, open_blob_store(settings))
                console.print(f"Demo correspondence: {sent} new message request(s) from Fjordvik kommune, at "
                              "/correspondence/ui.")
                consent_page = await seed_demo_consent_request(database, settings)
                console.print(f"Demo consent request to Kari Nordmann: {consent_page}")
                transfer = await seed_demo_broker(database, settings)
                console.print(f"Demo file transfer to Fjordkraft Demo AS: {transfer}, in the brokerbox at /broker/ui")
                letters = await seed_demo_letters(database)
                console.print(f"Demo letters: {len(letters) or 'already there'} (Kari's in her Digipost mailbox at "
                              f"/digitalpost/postkasse, Reidun's on paper at /print/outbox).")
                written = await seed_demo_dialogs(database, settings)
                console.print(f"Demo dialogs from Fjordvik kommune: {written} written (in the inbox at /inbox/).")
                clients = await seed_demo_clients(database, settings)
                # What the portal would register at its first login; here so that a data folder seeded by an
                # earlier version (a portal client with a secret) gets the portal's client back at once.
                await ensure_login_client(database, settings)
                clients[LOGIN_CLIENT_ID] = ""
                console.print("Demo clients: " + ", ".join(
                    name + (f" (client secret, shown only now: {secret})" if secret else "")
                    for name, secret in clients.items()
                ))
            if persons or orgs:
                await population.seed_population(database, persons=persons, organizations=orgs, seed=seed_value,
                                                 console=console)
        finally:
            await database.dispose()

    asyncio.run(run())


@cli.command()
def check() -> None:
    """Check every configured dependency (database, migrations, signing keys, plugins) and print its health."""
    import felles.app  # noqa: F401 - loads every component, and with them their self-checks
    from felles.core.health import run_checks

    results = asyncio.run(run_checks(get_settings()))
    table = Table("dependency", "status", "detail")
    for result in results:
        table.add_row(result.name, "[green]ok[/green]" if result.ok else "[red]failing[/red]", result.detail)
    console.print(table)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@jobs_cli.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="pending, running, succeeded or dead")] = "dead",
    limit: int = 50,
) -> None:
    """List jobs (the dead ones by default) with their last error."""
    from felles.core.db import Database
    from felles.core.jobs import JobStatus, count_by_status, list_jobs

    async def run() -> None:
        database = Database(get_settings().database_url)
        try:
            async with database.transaction() as session:
                counts = await count_by_status(session)
                jobs = await list_jobs(session, status=JobStatus(status) if status else None, limit=limit)
        finally:
            await database.dispose()
        console.print("Jobs by status: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
        table = Table("id", "kind", "status", "attempts", "run at", "last error")
        for job in jobs:
            error = (job.last_error or "").strip().splitlines()
            table.add_row(str(job.id), job.kind, job.status, str(job.attempts), job.run_at.isoformat(),
                          error[-1] if error else "")
        console.print(table)

    asyncio.run(run())


@jobs_cli.command("retry")
def jobs_retry(
    job_ids: Annotated[list[str] | None, typer.Argument(help="Dead jobs to retry; none given: every dead job.")] = None,
) -> None:
    """Give dead jobs a fresh set of attempts."""
    from felles.core.db import Database
    from felles.core.jobs import retry_dead

    try:
        ids = [uuid.UUID(value) for value in job_ids] if job_ids else None
    except ValueError as exc:
        raise typer.BadParameter(f"not a job id: {exc}") from exc

    async def run() -> int:
        database = Database(get_settings().database_url)
        try:
            async with database.transaction() as session:
                return await retry_dead(session, ids)
        finally:
            await database.dispose()

    console.print(f"{asyncio.run(run())} job(s) will be retried.")


@cli.command()
def token(
    scope: Annotated[list[str], typer.Option(help="A scope to grant; repeat for more.")],
    person: Annotated[str | None, typer.Option(help="Fødselsnummer of a person (an ID-porten-like token).")] = None,
    org: Annotated[str | None, typer.Option(help="Organisation number (a Maskinporten-like token).")] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier acting for --org.")] = None,
    level: int = 3,
    lifetime: int = 3600,
    issuer: Annotated[str | None, typer.Option(
        help="idporten, ansattporten, maskinporten or altinn (default: altinn for --person, maskinporten for "
             "--org). KRR's krr:user API takes idporten tokens; Altinn's end-user APIs altinn tokens.")] = None,
    audience: Annotated[str | None, typer.Option(help="The token's aud (an API's address).")] = None,
) -> None:
    """Print a test token signed by this platform (development and test only, as Altinn's test token generator)."""
    from felles.core.tokens import Issuer, PlatformKeys, mint_development_token

    settings = get_settings()
    if (person is None) == (org is None):
        raise typer.BadParameter("give exactly one of --person and --org")
    if issuer is not None and issuer not in set(Issuer):
        raise typer.BadParameter(f"--issuer must be one of {', '.join(Issuer)}")
    print(mint_development_token(
        PlatformKeys.load(settings), settings, person_identifier=person, organization_number=org,
        supplier_organization_number=supplier, scopes=scope, authentication_level=level,
        lifetime_seconds=lifetime, issuer=Issuer(issuer) if issuer else None, audience=audience,
    ))


@cli.command()
def openapi(
    check_only: Annotated[bool, typer.Option("--check", help="Only check that the committed files are current.")]
    = False,
) -> None:
    """Write each component's OpenAPI description to docs/openapi/ (or check them)."""
    from felles.openapi import stale_descriptions, write_descriptions

    if check_only:
        stale = stale_descriptions()
        if stale:
            console.print(f"[red]Out of date: {', '.join(stale)}[/red]; run `felles openapi`.")
            raise typer.Exit(1)
        console.print("[green]docs/openapi is current.[/green]")
        return
    for path in write_descriptions():
        console.print(f"wrote {path}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
