"""`felles identity ...`: register clients, keys and scopes from the command line (development and operators),
and the demo clients `make run` starts with."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from joserfc import jwt
from joserfc.jwk import RSAKey
from rich.console import Console

from felles.core.audit import Actor
from felles.core.commands import run_with_database
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
SKATTEETATEN = "974761076"
# Who owns the platform's scope prefixes (Digdir runs Altinn, ID-porten, Maskinporten and KRR).
PREFIX_OWNERS = {"folkeregister": SKATTEETATEN}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


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
    jwk_out: Annotated[Path | None, typer.Option(
        help="Make an RSA key pair, register its public key and write the private JWK to this file "
             "(for `felles identity token --key`).")] = None,
) -> None:
    """Register a client; a generated secret is printed once."""
    if jwks is not None and jwk_out is not None:
        raise typer.BadParameter("give --jwks or --jwk-out, not both")
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
        if jwk_out is not None:
            key = RSAKey.generate_key(2048, parameters={"kid": f"{created.client_id}-{uuid.uuid4().hex[:8]}",
                                                        "alg": "RS256", "use": "sig"})
            await selfservice.set_client_keys(database, OPERATOR, None, created.client_id,
                                              schemas.JwkSet(keys=[key.as_dict(private=False)]))
            jwk_out.touch(mode=0o600)
            jwk_out.write_text(json.dumps(key.as_dict(private=True), indent=2) + "\n")
        return created

    console.print_json(run_with_database(create).model_dump_json(exclude_none=True))


def maskinporten_grant(client_id: str, key: RSAKey, audience: str, scopes: list[str]) -> str:
    """The JWT grant a Maskinporten client signs with its private key: issued by the client, for Maskinporten
    (the issuer in its metadata), valid one minute, used once (`jti`)."""
    now = int(time.time())
    claims = {"aud": audience, "iss": client_id, "scope": " ".join(scopes), "iat": now, "exp": now + 60,
              "jti": str(uuid.uuid4())}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@identity_cli.command("token")
def maskinporten_token(
    client: Annotated[str, typer.Option(help="The Maskinporten client's client_id.")],
    key: Annotated[Path, typer.Option(help="The client's private JWK (as `client create --jwk-out` wrote it).")],
    scope: Annotated[list[str], typer.Option(help="May repeat.")],
    base_url: Annotated[str | None, typer.Option(help="The platform (default FELLES_BASE_URL).")] = None,
    show_json: Annotated[bool, typer.Option("--json", help="Print the whole token response.")] = False,
) -> None:
    """Get a Maskinporten access token over HTTP with the real JWT-bearer grant, signed with the client's key;
    prints the access token."""
    base = (base_url or get_settings().base_url).rstrip("/")
    private_key = RSAKey.import_key(json.loads(key.read_text()))
    with httpx.Client(timeout=30) as http:
        metadata = http.get(f"{base}/maskinporten/.well-known/oauth-authorization-server")
        metadata.raise_for_status()
        issuer, token_endpoint = metadata.json()["issuer"], metadata.json()["token_endpoint"]
        response = http.post(token_endpoint, data={
            "grant_type": JWT_BEARER, "assertion": maskinporten_grant(client, private_key, issuer, scope)})
    answer: dict[str, Any] = response.json()
    if response.status_code != 200:
        console.print(f"[red]{answer.get('error')}: {answer.get('error_description')}[/red]")
        raise typer.Exit(1)
    print(json.dumps(answer, indent=2) if show_json else answer["access_token"])


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

    run_with_database(create)
    console.print(f"Scope {name} created.")


async def seed_platform_scopes(database: Database, scopes: Iterable[str], consumers: Iterable[str]) -> list[str]:
    """Register the platform's own scopes in Maskinporten, owned by Digdir (Folkeregisteret's by Skatteetaten),
    and give the `consumers` access, so that their clients can be granted them (idempotent). Returns the
    scopes it created."""
    created = []
    for name in sorted(scopes):
        if ":" not in name:
            continue  # eFormidling's legacy names (move/dpo.read) are not prefix:subscope, so not registrable here
        prefix, _, subscope = name.partition(":")
        owner = PREFIX_OWNERS.get(prefix, DIGDIR)
        await selfservice.assign_prefix(database, OPERATOR, prefix, owner)
        try:
            await selfservice.create_scope(database, OPERATOR, owner, schemas.ScopeCreate(
                prefix=prefix, subscope=subscope, description=f"The platform's API ({name})"))
        except Conflict:
            continue  # registered (and its access given) by an earlier run
        created.append(name)
        for consumer in consumers:
            if consumer != owner:
                await selfservice.set_scope_access(database, OPERATOR, owner, name, consumer, approved=True)
    return created


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
