"""Authorization end to end: in-process decisions, the decision API over HTTP at a fixed rate, authorized parties
for a user with 5,000 parties, and Cedar (cedarpy) on an equivalent policy in the same run.

    .venv/bin/python bench/bench_authorization.py [--seconds 3] [--rate 500] [--http-seconds 10] [--parties 5000]

Uses a fresh SQLite database in a temporary folder (or FELLES_BENCH_DATABASE_URL). Prints decisions/s,
p50/p95/p99 latencies, the server's CPU time per HTTP decision (from /proc, all its worker processes, so it does
not depend on the machine's load) and peak memory (tracemalloc for in-process figures, RSS for the server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_identity
import bench_pdp
from felles.authorization import parties, pip, service
from felles.authorization.catalogue import load_catalogue
from felles.authorization.models import Delegation, Resource
from felles.authorization.xacml import request_from_json
from felles.core.audit import Actor
from felles.core.clock import utcnow
from felles.core.db import Database
from felles.core.ids import uuid7
from felles.core.migrations import upgrade_async
from felles.registers.identifiers import make_person_identifier
from felles.registers.models import Organization, Person, Role

SKD_POLICY = bench_pdp.POLICY_FILE
RESOURCE_ID = "app_skd_taxreport"
ACTOR = Actor("system:bench")


def org_number(base: int) -> str:
    while True:
        digits = str(base)
        check = 11 - sum(int(d) * w for d, w in zip(digits, (3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        if check != 10:
            return digits + ("0" if check == 11 else str(check))
        base += 1


def person(born: date) -> str:
    for individual in range(0, 500):
        identifier = make_person_identifier(born, individual, synthetic=True)
        if identifier:
            return identifier
    raise RuntimeError


async def seed(database: Database, count: int) -> tuple[str, str, list[str]]:
    """A leader (DAGL of one company) and an accountant employee with ``count`` client delegations."""
    await load_catalogue(database)
    now = utcnow()
    leader, accountant = person(date(1970, 5, 17)), person(date(1980, 3, 3))
    companies = []
    base = 93000000
    for _ in range(count + 1):
        number = org_number(base)
        base = int(number[:8]) + 1
        companies.append(number)
    async with database.transaction() as session:
        for identifier, born in ((leader, date(1970, 5, 17)), (accountant, date(1980, 3, 3))):
            session.add(Person(national_identity_number=identifier, given_name="Bench", family_name=identifier,
                               birth_date=born, gender="kvinne", status="bosatt", updated_at=now))
        for number in companies:
            session.add(Organization(organization_number=number, name=f"Company {number}", organization_form="AS",
                                     registered_on=date(2020, 1, 1), updated_at=now))
        await session.flush()
        session.add(Role(id=uuid7(), organization_number=companies[0], role_code="DAGL", person=leader, position=0,
                         registered_on=date(2020, 1, 1)))
        session.add(Resource(identifier=RESOURCE_ID, resource_type="AltinnApp", document={},
                             policy_xml=SKD_POLICY.read_text("utf-8-sig"), policy_version=1, created_at=now,
                             updated_at=now))
        await session.flush()
        for number in companies[1:]:
            session.add(Delegation(id=uuid7(), from_party=number, to_party=accountant, to_kind="person",
                                   package_code="regnskapsforer-lonn", right_key="package:regnskapsforer-lonn",
                                   delegated_by="bench", created_at=now))
    return leader, accountant, companies


def decision_request(subject: str, party: str) -> dict:
    return {"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": subject}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                                   "Value": "read"}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:org", "Value": "skd"},
                                    {"AttributeId": "urn:altinn:app", "Value": "taxreport"},
                                    {"AttributeId": "urn:altinn:task", "Value": "formfilling"},
                                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party}]}],
    }}


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100)
    return q[49], q[94], q[98]


async def full_path(database: Database, leader: str, company: str, seconds: float) -> None:
    """Decisions through the context handler, information point (warm caches) and compiled policy."""
    body = decision_request(leader, company)
    response = await service.authorize(database, request_from_json(body))
    assert response.decision.value == "Permit", response
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        await service.authorize(database, request_from_json(body))
        latencies.append((time.perf_counter() - t0) * 1e6)
    p50, p95, p99 = percentiles(latencies)
    print(f"{'full decision path (context handler + PIP)':<42} {len(latencies) / seconds:>10,.0f} decisions/s   "
          f"p50 {p50:6.1f} µs   p95 {p95:6.1f} µs   p99 {p99:6.1f} µs")


def forget_cached_access() -> None:
    """What a register or delegation change makes every process forget."""
    pip.invalidate()
    parties.forget_details()


async def authorized_parties(database: Database, accountant: str, count: int) -> None:
    forget_cached_access()
    t0 = time.perf_counter()
    first = await service.authorized_parties(database, ACTOR, accountant)
    cold = time.perf_counter() - t0
    assert len(first) == count + 1, len(first)  # the clients and the accountant themself
    forget_cached_access()
    t0 = time.perf_counter()
    await service.authorized_parties(database, ACTOR, accountant)
    recomputed = time.perf_counter() - t0
    samples = []
    for _ in range(20):
        t0 = time.perf_counter()
        await service.authorized_parties(database, ACTOR, accountant)
        samples.append((time.perf_counter() - t0) * 1000)
    print(f"authorized parties, {count:,} parties: first ever {cold * 1000:,.0f} ms (party ids given out), "
          f"recomputed {recomputed * 1000:,.0f} ms, cached p50 {statistics.median(samples):,.1f} ms "
          f"max {max(samples):,.1f} ms")


def http_load(port: int, token: str, body: dict, rate: int, seconds: float, server_pid: int,
              concurrency: int = 64) -> None:
    """Requests scheduled every 1/rate s for ``seconds``; ``concurrency`` keep-alive connections send them, each
    waiting for its slot. Latency counts from the scheduled start, so a server that falls behind shows it.

    The request is encoded once and replies are read by hand: the load generator shares the server's cores, and
    a general HTTP client costs more CPU per request than the server's decision does."""
    payload = json.dumps(body).encode()
    request = (f"POST /authorization/api/v1/authorize HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload

    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, bytes]:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return int(head.split(b" ", 2)[1]), await reader.readexactly(length)

    async def run() -> None:
        latencies: list[float] = []
        errors = 0
        total = int(rate * seconds)
        next_slot = 0
        connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
        status, reply = await send(*connections[0])
        if status != 200 or json.loads(reply)["Response"][0]["Decision"] != "Permit":
            raise SystemExit(f"the HTTP decision should be Permit: {status} {reply[:300]!r}")
        start = time.perf_counter()
        server_before, client_before = bench_identity.server_cpu(server_pid), time.process_time()

        async def sender(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal next_slot, errors
            while next_slot < total:
                slot = next_slot
                next_slot += 1
                scheduled = start + slot / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                status, _ = await send(reader, writer)
                latencies.append((time.perf_counter() - scheduled) * 1000)
                if status != 200:
                    errors += 1

        await asyncio.gather(*(sender(*connection) for connection in connections))
        elapsed = time.perf_counter() - start
        server_cpu = sum(bench_identity.cpu_spent(server_before, bench_identity.server_cpu(server_pid)).values())
        client_cpu = time.process_time() - client_before
        for _, writer in connections:
            writer.close()
        p50, p95, p99 = percentiles(latencies)
        print(f"HTTP authorize offered at {rate}/s for {seconds:.0f} s: achieved {len(latencies) / elapsed:,.0f}/s, "
              f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  errors {errors}", flush=True)
        print(f"server CPU {server_cpu / len(latencies) * 1000:.2f} ms per decision (all workers), load generator "
              f"{client_cpu / len(latencies) * 1000:.2f} ms per request; load {os.getloadavg()[0]:.1f}", flush=True)

    asyncio.run(run())


def wait_until_ready(base_url: str, server: subprocess.Popen[bytes], seconds: float = 180) -> None:
    """Server start-up takes long on a busy machine (imports, two workers): wait for as long as it lives."""
    deadline = time.monotonic() + seconds
    while server.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--parties", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, one process, load {os.getloadavg()[0]:.1f}")

    # 1. In-process engine and Cedar on the same policy and request (bench_pdp's translation).
    engine = bench_pdp.measure(bench_pdp.felles_engine(parse_json=False), args.seconds)
    bench_pdp.report("felles XACML engine (typical app policy)", engine,
                     bench_pdp.peak_memory_kib(lambda: bench_pdp.felles_engine(False)))
    print(f"goal ≥ 20,000/s per core: {'met' if engine['per_second'] >= 20_000 else 'NOT met'}")
    try:
        cedar = bench_pdp.measure(bench_pdp.cedar_engine(), args.seconds)
        bench_pdp.report("cedarpy (Rust Cedar via PyO3)", cedar, bench_pdp.peak_memory_kib(bench_pdp.cedar_engine))
        print(f"ratio felles/cedar: {engine['per_second'] / cedar['per_second']:.2f}x decisions/s")
    except ImportError:
        print("cedarpy is not installed: no Cedar comparison in this run")

    folder = Path(tempfile.mkdtemp(prefix="felles-bench-authz-"))
    url = os.environ.get("FELLES_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"

    async def prepare() -> tuple[str, str, list[str]]:
        await upgrade_async(url)
        database = Database(url)
        try:
            facts = await seed(database, args.parties)
            await full_path(database, facts[0], facts[2][0], args.seconds)
            await authorized_parties(database, facts[1], args.parties)
            # Memory apart from the timings: tracemalloc slows allocation-heavy code several times over.
            forget_cached_access()
            tracemalloc.start()
            await service.authorized_parties(database, ACTOR, facts[1])
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"peak Python memory, authorized parties recomputed: {peak / 1024 / 1024:.1f} MiB")
        finally:
            await database.dispose()
        return facts

    leader, _, companies = asyncio.run(prepare())

    # 2. The decision API over HTTP on loopback: `felles serve` in its own process, as in production.
    import bench_registers

    env = bench_registers.environment(url, folder)
    token = subprocess.run([*bench_registers.FELLES, "token", "--org", "974761076", "--scope",
                            "altinn:authorization/authorize"], env=env, check=True, capture_output=True,
                           text=True).stdout.strip()
    port = bench_registers.free_port()
    server = subprocess.Popen([*bench_registers.FELLES, "serve", "--port", str(port), "--no-job-worker",
                               "--no-migrate", "--workers", str(args.workers)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url, server)
        http_load(port, token, decision_request(leader, companies[0]), args.rate, args.http_seconds, server.pid)
        print(f"server peak memory: {bench_registers.server_peak_memory_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
