"""`felles identity ...`: register clients, keys and scopes from the command line (development and operators),
and the demo clients `make run` starts with."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from felles.core.audit import Actor
from felles.core.config import Settings, get_settings
from felles.core.db import Database
from felles.core.errors import Conflict
from felles.identity import schemas, selfservice
from felles.registers.population import DEMO_COMPANY

identity_cli = typer.Typer(help="ID-porten, Maskinporten and self-service.", no_args_is_help=True)
client_cli = typer.Typer(help="Clients (integrations).", no_args_is_help=True)
identity_cli.add_typer(client_cli, name="client")
console = Console()
OPERATOR = Actor("system:cli")
DIGDIR = "991825827"


def _run(coroutine_factory):
    async def run():
        settings = get_settings()
        database = Database(settings.database_url)
        try:
            return await coroutine_factory(database, settings)
        finally:
            await database.dispose()

    return asyncio.run(run())


@client_cli.command("create")
def create_client(
    name: str,
    org: Annotated[str, typer.Option(help="The owner's organisation number.")],
    integration_type: Annotated[str, typer.Option(help="idporten, ansattporten, api_klient, maskinporten")]
    = "idporten",
    redirect_uri: Annotated[list[str] | None, typer.Option(help="May repeat.")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="May repeat.")] = None,
    auth_method: Annotated[str, typer.Option(help="client_secret_basic, client_secret_post, private_key_jwt, none")]
    = "client_secret_basic",
    client_id: Annotated[str | None, typer.Option(help="A fixed client_id (default: a new UUID).")] = None,
    jwks: Annotated[Path | None, typer.Option(help="A JWK set (JSON) of public keys to register.")] = None,
) -> None:
    """Register a client; a generated secret is printed once."""
    machine = integration_type == "maskinporten"
    data = schemas.ClientCreate(
        integration_type=integration_type, client_name=name, client_id=client_id,  # type: ignore[arg-type]
        token_endpoint_auth_method="private_key_jwt" if machine else auth_method,  # type: ignore[arg-type]
        application_type="browser" if auth_method == "none" else "web",
        grant_types=[] if machine or auth_method == "none" else ["authorization_code", "refresh_token"],
        redirect_uris=redirect_uri or [], scopes=scope or ([] if machine else ["openid", "profile"]))

    async def create(database: Database, settings: Settings) -> schemas.ClientPublic:
        created = await selfservice.create_client(database, OPERATOR, org, data, administrator=True,
                                                  allow_local_http=not settings.is_production)
        if jwks is not None:
            await selfservice.set_client_keys(database, OPERATOR, None, created.client_id,
                                              schemas.JwkSet.model_validate(json.loads(jwks.read_text())))
        return created

    console.print_json(_run(create).model_dump_json(exclude_none=True))


@identity_cli.command("scope")
def create_scope(name: Annotated[str, typer.Argument(help="prefix:subscope")], org: str,
                 description: str = "A scope", consumer: Annotated[list[str] | None, typer.Option()] = None) -> None:
    """Create a scope for its owner (assigning the prefix) and grant consumers access."""
    prefix, _, subscope = name.partition(":")

    async def create(database: Database, settings: Settings) -> None:
        await selfservice.assign_prefix(database, OPERATOR, prefix, org)
        await selfservice.create_scope(database, OPERATOR, org, schemas.ScopeCreate(
            prefix=prefix, subscope=subscope, description=description))
        for orgno in consumer or []:
            await selfservice.set_scope_access(database, OPERATOR, org, name, orgno, approved=True)

    _run(create)
    console.print(f"Scope {name} created.")


async def seed_demo_clients(database: Database, settings: Settings) -> dict[str, str]:
    """The development clients (idempotent): a public client for a single-page app and a Maskinporten client for
    the demo company, plus Digdir's self-service scopes. Returns client ids with the client secret of those
    created with one, shown only the first time. (The portal registers its own login client.)"""
    base = settings.base_url.rstrip("/")
    await selfservice.assign_prefix(database, OPERATOR, "idporten", DIGDIR)
    for subscope in ("dcr.read", "dcr.write", "dcr.modify", "scopes.write"):
        try:
            await selfservice.create_scope(database, OPERATOR, DIGDIR, schemas.ScopeCreate(
                prefix="idporten", subscope=subscope, description="Self-service API", accessible_for_all=True))
        except Conflict:
            pass
    wanted = {
        "felles-spa": schemas.ClientCreate(
            integration_type="idporten", client_name="Felles demo SPA", client_id="felles-spa",
            application_type="browser", token_endpoint_auth_method="none",  # noqa: S106 - a method name
            scopes=["openid", "profile"],
            redirect_uris=[f"{base}/spa/callback", "http://localhost:5173/callback"]),
        "demo-company-maskinporten": schemas.ClientCreate(
            integration_type="maskinporten", client_name="Fjordkraft Demo AS integrasjon",
            client_id="demo-company-maskinporten", client_orgno=DEMO_COMPANY,
            scopes=["idporten:dcr.read", "idporten:dcr.write"]),
    }
    created: dict[str, str] = {}
    for client_id, data in wanted.items():
        try:
            client = await selfservice.create_client(database, OPERATOR, DIGDIR, data, administrator=True,
                                                     allow_local_http=not settings.is_production)
            created[client_id] = client.client_secret or ""
        except Conflict:
            created[client_id] = ""
    return created
