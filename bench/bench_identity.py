"""Maskinporten tokens/s and complete ID-porten logins/s against `felles serve`-like uvicorn on loopback,
each with its ratio to a bare sign-and-verify loop measured in the same run.

    .venv/bin/python bench/bench_identity.py [--tokens 3000] [--logins 600] [--workers 2] [--concurrency 32]

Each grant is signed by the load generator just before it is sent (as a client must); the server process(es) are
started in a subprocess on a fresh SQLite database (or FELLES_BENCH_DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import secrets
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from felles.core.audit import Actor
from felles.core.config import Settings
from felles.core.db import Database
from felles.core.migrations import upgrade_async
from felles.core.tokens import PlatformKeys
from felles.identity import schemas, selfservice
from felles.registers.population import DEMO_PERSONS, seed_demo_personas

CONSUMER, PROVIDER = "910753614", "974761076"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):.1f} ms  p95 {pick(0.95):.1f} ms  p99 {pick(0.99):.1f} ms"


def bare_loop(key: RSAKey, platform: RSAKey, seconds: float, signs_per_op: int) -> float:
    """Verify one client JWT and sign `signs_per_op` tokens: the cryptographic floor of one operation."""
    now = int(time.time())
    grant = jwt.encode({"alg": "RS256", "kid": key.kid}, {"iss": "x", "iat": now, "exp": now + 60}, key)
    public = RSAKey.import_key(key.as_dict(private=False))
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        jwt.decode(grant, public, algorithms=["RS256"])
        for _ in range(signs_per_op):
            jwt.encode({"alg": "RS256", "kid": "k"}, {"scope": "a:b", "iat": now, "jti": str(done)}, platform)
        done += 1
    return done / (time.perf_counter() - start)


def peak_memory_mb(pid: int) -> float:
    """Peak resident memory of the server and its worker processes (VmHWM), in MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def seed(url: str, base: str) -> dict:
    await upgrade_async(url)
    database = Database(url)
    await seed_demo_personas(database)
    actor = Actor("system:bench")
    await selfservice.assign_prefix(database, actor, "bench", PROVIDER)
    await selfservice.create_scope(database, actor, PROVIDER, schemas.ScopeCreate(
        prefix="bench", subscope="api", description="bench"))
    await selfservice.set_scope_access(database, actor, PROVIDER, "bench:api", CONSUMER, approved=True)
    key = RSAKey.generate_key(2048, parameters={"kid": "bench-key", "alg": "RS256"})
    machine = await selfservice.create_client(database, actor, CONSUMER, schemas.ClientCreate(
        integration_type="maskinporten", client_name="bench", scopes=["bench:api"]), allow_local_http=True)
    await selfservice.set_client_keys(database, actor, CONSUMER, machine.client_id, schemas.JwkSet(
        keys=[{**key.as_dict(private=False), "kid": key.kid}]))
    rp = await selfservice.create_client(database, actor, CONSUMER, schemas.ClientCreate(
        integration_type="idporten", client_name="bench rp", token_endpoint_auth_method="client_secret_basic",
        redirect_uris=[f"{base}/rp/callback"], scopes=["openid", "profile"]), allow_local_http=True)
    await database.dispose()
    return {"key": key, "machine": machine.client_id, "rp": rp.client_id, "secret": rp.client_secret}


async def run_concurrently(count: int, concurrency: int, operation) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue = iter(range(count))

    async def worker() -> None:
        nonlocal failures
        for index in queue:
            start = time.perf_counter()
            ok = await operation(index)
            latencies.append(time.perf_counter() - start)
            failures += 0 if ok else 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, failures


async def bench(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="felles-bench-"))
    url = os.environ.get("FELLES_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{folder}/bench.db")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    base = f"http://127.0.0.1:{port}"
    seeded = await seed(url, base)
    # Made before the server starts so that every worker process signs with the same key.
    PlatformKeys.load(Settings(data_dir=folder, database_url=url, secret_key="bench"))
    env = {**os.environ, "FELLES_DATABASE_URL": url, "FELLES_DATA_DIR": str(folder), "FELLES_BASE_URL": base,
           "FELLES_ENVIRONMENT": "test", "FELLES_LOG_LEVEL": "WARNING", "FELLES_RUN_WORKER": "0"}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "felles.app:create_app_from_environment", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log", env=env)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     limits=httpx.Limits(max_connections=args.concurrency)) as http:
            for _ in range(200):
                try:
                    if (await http.get("/maskinporten/.well-known/oauth-authorization-server")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            platform = PlatformKeys.load(Settings(data_dir=folder, database_url=url, secret_key="bench")).signing_key
            key = seeded["key"]

            # Maskinporten: each grant is signed just before it is sent (iat must be within 10 s), so the
            # client's signing shares the machine's two cores with the server.
            async def token(index: int) -> bool:
                now = int(time.time())
                grant = jwt.encode({"alg": "RS256", "kid": key.kid}, {
                    "aud": f"{base}/maskinporten/", "iss": seeded["machine"], "scope": "bench:api", "iat": now,
                    "exp": now + 60, "jti": str(uuid.uuid4())}, key)
                response = await http.post("/maskinporten/token", data={"grant_type": JWT_BEARER,
                                                                         "assertion": grant})
                return response.status_code == 200

            elapsed, latencies, failures = await run_concurrently(args.tokens, args.concurrency, token)
            token_rate = args.tokens / elapsed
            bare_tokens = bare_loop(key, platform, 3.0, signs_per_op=1)
            print(f"Maskinporten: {args.tokens} tokens in {elapsed:.2f} s = {token_rate:.0f} tokens/s "
                  f"({failures} failed); {percentiles(latencies)}")
            print(f"  bare verify+sign loop (1 core): {bare_tokens:.0f}/s; ratio {token_rate / bare_tokens:.2f}"
                  f" (goal >= 1000/s; SLA 200/s)")

            # ID-porten: a complete login per person: /authorize, TestID, /token (code + PKCE + secret).
            credentials = base64.b64encode(f"{seeded['rp']}:{seeded['secret']}".encode()).decode()
            person = DEMO_PERSONS[0].identifier

            async def login(index: int) -> bool:
                verifier = secrets.token_urlsafe(48)
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                async with httpx.AsyncClient(base_url=base, timeout=30) as browser:
                    response = await browser.get("/idporten/authorize", params={
                        "client_id": seeded["rp"], "redirect_uri": f"{base}/rp/callback", "response_type": "code",
                        "scope": "openid profile", "state": str(index), "nonce": str(index),
                        "code_challenge": challenge, "code_challenge_method": "S256"})
                    location = response.headers["location"]
                    response = await browser.post(f"{location}/testid", data={"pid": person, "level": "3"})
                    code = httpx.URL(response.headers["location"]).params["code"]
                response = await http.post("/idporten/token", headers={"Authorization": f"Basic {credentials}"},
                                           data={"grant_type": "authorization_code", "code": code,
                                                 "redirect_uri": f"{base}/rp/callback", "code_verifier": verifier})
                return response.status_code == 200

            elapsed, latencies, failures = await run_concurrently(args.logins, args.concurrency, login)
            login_rate = args.logins / elapsed
            bare_logins = bare_loop(key, platform, 3.0, signs_per_op=2)
            print(f"ID-porten: {args.logins} complete logins in {elapsed:.2f} s = {login_rate:.0f} logins/s "
                  f"({failures} failed); {percentiles(latencies)}")
            print(f"  bare sign-id_token+access_token loop (1 core): {bare_logins:.0f}/s; ratio "
                  f"{login_rate / bare_logins:.2f} (goal >= 250/s; SLA 83/s)")
            print(f"Server peak memory (all worker processes): {peak_memory_mb(server.pid):.0f} MiB; "
                  f"workers {args.workers}, concurrency {args.concurrency}, database {url.split(':')[0]}")
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=3000)
    parser.add_argument("--logins", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()

