"""Maskinporten tokens/s and complete ID-porten logins/s against `felles serve --workers N` on loopback, each with
latency percentiles, the server's CPU time per token/login (read from /proc, so independent of machine load) and
the ratio to a bare sign-and-verify loop measured in the same run.

    .venv/bin/python bench/bench_identity.py [--database URL] [--tokens 6000] [--logins 1500] [--workers 2]
                                             [--concurrency 32]

- The database is a fresh SQLite file by default; `--database postgresql+asyncpg://…/identity_bench` (the name
  must contain "bench", or add `--recreate-database`) drops and recreates that database first (production is
  PostgreSQL).
- The server is uvicorn with N worker processes, as `felles serve --workers N --no-job-worker` runs it, in its
  own process group; this process is the load
  generator. It talks HTTP/1.1 with keep-alive connections (as a load balancer in front of the servers would)
  through a minimal asyncio client, so that it costs the shared cores as little as possible.
- Maskinporten grants are signed by the load generator *before* each timed round (real clients sign on their own
  machines, not on Maskinporten's); only the HTTP exchanges are timed. Rounds are short enough that every grant's
  iat is within Maskinporten's 10 s skew when it arrives.
- A complete login is what a browser and the client's back end do: GET /authorize, GET the eID chooser, GET the
  TestID page, POST the TestID form (the redirect back to the client carries the code), POST /token with the code,
  the PKCE verifier and client_secret_basic.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import resource
import secrets
import signal
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

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
TICKS = os.sysconf("SC_CLK_TCK")
# Grants are signed just before their round; a round must reach the server within Maskinporten's 10 s skew.
ROUND_SECONDS = 4.0


# --- measuring ------------------------------------------------------------------------------------------------------
def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


def _process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        each = queue.pop()
        pids.append(each)
        try:
            for task in Path(f"/proc/{each}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def server_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by the server process and each of its workers."""
    return {each: _cpu_seconds(each) for each in _process_tree(pid)}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    return {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}


def database_cpu(database_name: str | None) -> float:
    """CPU seconds of the PostgreSQL backends serving `database_name` (0 for SQLite, which runs in the server)."""
    if database_name is None:
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if command.startswith(b"postgres: ") and f" {database_name} ".encode() in command:
                total += _cpu_seconds(int(entry.name))
    return total


def peak_memory_mb(pid: int) -> float:
    total = 0
    for each in _process_tree(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def loaded_libraries(pid: int) -> set[str]:
    """Which of uvloop and httptools the server's worker processes have loaded."""
    found = set()
    for each in _process_tree(pid)[1:] or [pid]:
        try:
            maps = Path(f"/proc/{each}/maps").read_text()
        except OSError:
            continue
        found |= {name for name in ("uvloop", "httptools") if f"/{name}/" in maps}
    return found


def bare_loop(key: RSAKey, platform: RSAKey, seconds: float, signs_per_op: int) -> float:
    """Verify one client JWT and sign `signs_per_op` tokens with joserfc: the cryptographic floor, on one core."""
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


# --- a minimal HTTP/1.1 keep-alive client ---------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, *, form: dict[str, str] | None = None,
                      headers: dict[str, str] | None = None) -> Reply:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        reply_headers: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                name = name.lower()
                value = value.strip()
                reply_headers[name] = f"{reply_headers[name]}, {value}" if name in reply_headers else value
        if "chunked" in reply_headers.get("transfer-encoding", ""):
            raise RuntimeError("chunked replies are not expected from these endpoints")
        content = await self.reader.readexactly(int(reply_headers.get("content-length", "0")))
        if reply_headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(int(status_line.split()[1]), reply_headers, content)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = self.reader = None


async def run_concurrently(connections: list[Connection], count: int, operation) -> tuple[float, list[float], int]:
    """`count` operations, one in flight per connection; (elapsed, latencies, failures)."""
    latencies: list[float] = []
    failures = 0
    queue = iter(range(count))

    async def worker(connection: Connection) -> None:
        nonlocal failures
        for index in queue:
            start = time.perf_counter()
            try:
                ok = await operation(connection, index)
            except (OSError, asyncio.IncompleteReadError, KeyError, ValueError) as exc:
                print(f"  operation failed: {exc!r}", file=sys.stderr)
                await connection.close()
                ok = False
            latencies.append(time.perf_counter() - start)
            failures += 0 if ok else 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    return time.perf_counter() - start, latencies, failures


# --- set-up ---------------------------------------------------------------------------------------------------------
async def fresh_postgres_database(url: str, *, recreate_any: bool = False) -> str:
    """Drop and recreate the bench database (refused unless its name says it is one, or `recreate_any`)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name and not recreate_any:
        raise SystemExit(f"refusing to recreate {name!r}: a bench database's name must contain 'bench' "
                         "(or pass --recreate-database when the database is yours to lose)")
    maintenance = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(maintenance)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


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


@dataclass
class Phase:
    name: str
    operations: int = 0
    elapsed: float = 0.0
    failures: int = 0
    server_cpu: float = 0.0
    # CPU seconds per server process: a worker that got most of the connections shows here as an uneven split.
    process_cpu: dict[int, float] = field(default_factory=dict)
    database_cpu: float = 0.0
    latencies: list[float] | None = None

    def add(self, elapsed: float, latencies: list[float], failures: int, cpu: dict[int, float],
            db_cpu: float) -> None:
        self.operations += len(latencies)
        self.elapsed += elapsed
        self.failures += failures
        self.server_cpu += sum(cpu.values())
        for pid, seconds in cpu.items():
            self.process_cpu[pid] = self.process_cpu.get(pid, 0.0) + seconds
        self.database_cpu += db_cpu
        self.latencies = (self.latencies or []) + latencies

    def report(self, unit: str, bare: float, goal: str) -> str:
        rate = self.operations / self.elapsed
        shown = percentiles(self.latencies or [0.0])
        per_op = self.server_cpu / self.operations * 1000
        lines = [
            f"{self.name}: {self.operations} {unit}s in {self.elapsed:.2f} s = {rate:.0f} {unit}s/s "
            f"({self.failures} failed); p50 {shown['p50']:.1f} ms  p95 {shown['p95']:.1f} ms  "
            f"p99 {shown['p99']:.1f} ms",
            f"  server CPU {per_op:.2f} ms per {unit} (= {1000 / per_op:.0f} {unit}s/s per fully used core); "
            f"cores busy {self.server_cpu / self.elapsed:.2f}, per process "
            + " / ".join(f"{seconds / self.elapsed:.2f}" for seconds in self.process_cpu.values() if seconds > 0.05)
            + (f"; PostgreSQL backends {self.database_cpu / self.operations * 1000:.2f} ms per {unit}"
               if self.database_cpu else ""),
            f"  bare sign-and-verify loop (joserfc, 1 core): {bare:.0f}/s; ratio {rate / bare:.2f} "
            f"(throughput / bare loop); {goal}",
        ]
        return "\n".join(lines)


async def bench(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="felles-bench-"))
    url = args.database or f"sqlite+aiosqlite:///{folder}/bench.db"
    database_name = (await fresh_postgres_database(url, recreate_any=args.recreate_database)
                     if url.startswith("postgresql") else None)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    base = f"http://127.0.0.1:{port}"
    seeded = await seed(url, base)
    # Made before the server starts so that every worker process signs with the same key.
    platform = PlatformKeys.load(Settings(data_dir=folder, database_url=url, secret_key="bench")).signing_key
    env = {**os.environ, "FELLES_DATABASE_URL": url, "FELLES_DATA_DIR": str(folder), "FELLES_BASE_URL": base,
           "FELLES_ENVIRONMENT": "test", "FELLES_LOG_LEVEL": "WARNING", "FELLES_SECRET_KEY": "bench"}
    # What `felles serve --workers N --no-job-worker --no-migrate` runs, with a longer worker health-check
    # timeout: spawned workers of `felles serve` re-import the whole CLI before answering uvicorn's 5 s ping,
    # which a loaded machine does not always manage.
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "felles.app:create_app_from_environment", "--factory", "--host",
        "127.0.0.1", "--port", str(port), "--workers", str(args.workers), "--log-level", "warning",
        "--no-access-log", "--proxy-headers", "--timeout-worker-healthcheck", "120",
        env={**env, "FELLES_RUN_WORKER": "0"}, start_new_session=True)
    connections = [Connection("127.0.0.1", port) for _ in range(args.concurrency)]
    try:
        probe = Connection("127.0.0.1", port)
        reply = None
        for _ in range(1200):  # imports are slow on a loaded machine
            try:
                reply = await probe.request("GET", "/maskinporten/.well-known/oauth-authorization-server")
                if reply.status == 200:
                    break
            except OSError:
                await probe.close()
                if server.returncode is not None:
                    raise SystemExit(f"the server exited with {server.returncode}") from None
                await asyncio.sleep(0.1)
        else:
            raise SystemExit(f"the server did not answer within 120 s: {reply}")
        await probe.close()
        await asyncio.sleep(2.0)  # every worker process up
        # Connect one at a time while the server is idle, so that the kernel hands the keep-alive connections to
        # both worker processes (a burst of connects under load lands mostly on one of them).
        for connection in connections:
            await connection.request("GET", "/maskinporten/.well-known/oauth-authorization-server")
            await asyncio.sleep(0.05)
        key = seeded["key"]
        audience = f"{base}/maskinporten/"

        def sign_grants(count: int) -> list[str]:
            now = int(time.time())
            return [jwt.encode({"alg": "RS256", "kid": key.kid}, {
                "aud": audience, "iss": seeded["machine"], "scope": "bench:api", "iat": now, "exp": now + 60,
                "jti": str(uuid.uuid4())}, key) for _ in range(count)]

        async def token(connection: Connection, grant: str) -> bool:
            reply = await connection.request("POST", "/maskinporten/token",
                                             form={"grant_type": JWT_BEARER, "assertion": grant})
            return reply.status == 200

        rate = [50.0]  # tokens/s of the last round: sizes the next one so that it takes about ROUND_SECONDS

        async def token_rounds(total: int, phase: Phase | None) -> None:
            done = 0
            while done < total:
                size = min(args.round_size, max(args.concurrency, int(rate[0] * ROUND_SECONDS)), total - done)
                grants = sign_grants(size)  # untimed: the clients' own machines
                cpu, db_cpu = server_cpu(server.pid), database_cpu(database_name)
                elapsed, latencies, failures = await run_concurrently(
                    connections, len(grants), lambda connection, index, grants=grants: token(connection, grants[index]))
                rate[0] = len(grants) / elapsed
                if phase is not None:
                    phase.add(elapsed, latencies, failures, cpu_spent(cpu, server_cpu(server.pid)),
                              database_cpu(database_name) - db_cpu)
                done += len(grants)

        credentials = base64.b64encode(f"{seeded['rp']}:{seeded['secret']}".encode()).decode()
        people = [person.identifier for person in DEMO_PERSONS]
        callback = f"{base}/rp/callback"

        async def login(connection: Connection, index: int) -> bool:
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            reply = await connection.request("GET", "/idporten/authorize?" + urlencode({
                "client_id": seeded["rp"], "redirect_uri": callback, "response_type": "code",
                "scope": "openid profile", "state": str(index), "nonce": secrets.token_urlsafe(12),
                "code_challenge": challenge, "code_challenge_method": "S256"}))
            chooser = urlsplit(reply.headers["location"]).path
            if (await connection.request("GET", chooser)).status != 200:
                return False
            if (await connection.request("GET", f"{chooser}/testid")).status != 200:
                return False
            reply = await connection.request("POST", f"{chooser}/testid",
                                             form={"pid": people[index % len(people)], "level": "3"})
            code = parse_qs(urlsplit(reply.headers["location"]).query)["code"][0]
            reply = await connection.request(
                "POST", "/idporten/token", headers={"Authorization": f"Basic {credentials}"},
                form={"grant_type": "authorization_code", "code": code, "redirect_uri": callback,
                      "code_verifier": verifier})
            return reply.status == 200 and b"id_token" in reply.body

        async def login_rounds(total: int, phase: Phase | None) -> None:
            cpu, db_cpu = server_cpu(server.pid), database_cpu(database_name)
            elapsed, latencies, failures = await run_concurrently(connections, total, login)
            if phase is not None:
                phase.add(elapsed, latencies, failures, cpu_spent(cpu, server_cpu(server.pid)),
                          database_cpu(database_name) - db_cpu)

        # Warm-up (connections, caches, pools); not counted.
        await token_rounds(max(args.concurrency * 4, 200), None)
        await login_rounds(max(args.concurrency * 2, 50), None)

        tokens = Phase("Maskinporten")
        await token_rounds(args.tokens, tokens)
        logins = Phase("ID-porten")
        await login_rounds(args.logins, logins)
        own = resource.getrusage(resource.RUSAGE_SELF)

        bare_tokens = bare_loop(key, platform, 3.0, signs_per_op=1)
        bare_logins = bare_loop(key, platform, 3.0, signs_per_op=2)
        libraries = ", ".join(sorted(loaded_libraries(server.pid))) or "asyncio, h11"
        print(f"database {url.split(':')[0]}{' ' + database_name if database_name else ''}; "
              f"uvicorn --workers {args.workers} as `felles serve` ({libraries}); concurrency {args.concurrency} "
              f"keep-alive connections; {os.cpu_count()} cores shared by server, database and load generator")
        print("Maskinporten grants were pre-signed by the load generator before each timed round "
              "(clients sign on their own machines); only the HTTP exchanges are timed.")
        print(tokens.report("token", bare_tokens, "goal >= 1000/s; SLA 200/s"))
        print(logins.report("login", bare_logins / 1, "goal >= 250/s; SLA 83/s") +
              "\n  (a login = authorize, chooser page, TestID page, TestID POST, token; the bare loop verifies "
              "one JWT and signs two per login)")
        print(f"Server peak memory (all processes): {peak_memory_mb(server.pid):.0f} MiB; load generator CPU "
              f"(whole run incl. signing and bare loops) {own.ru_utime + own.ru_stime:.1f} s")
    finally:
        for connection in connections:
            await connection.close()
        os.killpg(server.pid, signal.SIGTERM)
        await asyncio.wait_for(server.wait(), timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("FELLES_BENCH_DATABASE_URL"),
                        help="postgresql+asyncpg://…/<name with 'bench'> (recreated), or a fresh SQLite file")
    parser.add_argument("--recreate-database", action="store_true",
                        help="recreate the PostgreSQL database even though its name has no 'bench' in it")
    parser.add_argument("--tokens", type=int, default=6000)
    parser.add_argument("--logins", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--round-size", type=int, default=2000,
                        help="grants signed ahead per timed round (each round must take < 10 s)")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(bench(args))
    else:
        uvloop.run(bench(args))


if __name__ == "__main__":
    main()
