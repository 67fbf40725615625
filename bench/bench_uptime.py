"""Uptime while server processes die: the share of requests served while one `felles serve --workers N` process
is killed (SIGKILL) every `--every` seconds, under a steady stream of event submissions.

    .venv/bin/python bench/bench_uptime.py [--seconds 300] [--every 30] [--workers 2] [--clients 4]
        [--keep-alive] [--database-url postgresql+asyncpg://…/felles_bench]

Each client submits CloudEvents one after another. An attempt is *served* when it gets its 200; a connection
reset or a 5xx is *not served*, and the client retries the same event (same id, stored once). Printed: attempts,
served share, the longest time a client waited for one submission, whether every submission was stored exactly
once, and the attempts' latency percentiles and how many of them hung (5 s or more). The PostgreSQL database
given is emptied first (its name must contain "bench").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

HUNG_SECONDS = 5.0  # an attempt this slow waited for something, not for its turn


async def main(arguments: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    import harness
    from felles.core.db import Database
    from felles.core.tokens import PlatformKeys, mint_development_token
    from felles.events.models import CloudEventRecord

    data_dir = Path(tempfile.mkdtemp(prefix="bench-uptime-"))
    url = await harness.fresh_database(arguments.database_url, data_dir)
    settings = harness.bench_settings(data_dir, url)
    token = mint_development_token(PlatformKeys.load(settings), settings, organization_number="974761076",
                                   scopes=["altinn:events.publish.admin"], lifetime_seconds=arguments.seconds + 600)
    served = failed = 0
    longest = 0.0
    submitted: list[int] = []
    kills = 0
    reasons: Counter[str] = Counter()
    took: list[float] = []  # each attempt's seconds, answered or not
    async with harness.served(settings, "--workers", str(arguments.workers), "--no-migrate") as (pid, base):
        deadline = time.monotonic() + arguments.seconds

        async def client(first: int) -> None:
            nonlocal served, failed, longest
            headers = {"Authorization": f"Bearer {token}"}
            if not arguments.keep_alive:
                # Each request on a new connection, as many different clients behind a load balancer: the kernel
                # spreads them over the processes (kept-alive connections stick to one, which may not be killed).
                headers["Connection"] = "close"
            async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as http:
                number = first
                while time.monotonic() < deadline:
                    event = {"id": f"e-{number}", "specversion": "1.0", "source": "https://bench.example/",
                             "type": "bench", "resource": "urn:altinn:resource:bench", "data": {"n": number}}
                    began = time.monotonic()
                    while True:
                        attempt = time.monotonic()
                        try:
                            response = await http.post("/events/api/v1/events", json=event)
                            took.append(time.monotonic() - attempt)
                            if response.status_code == 200:
                                served += 1
                                break
                            reasons[str(response.status_code)] += 1
                        except httpx.TransportError as exc:
                            took.append(time.monotonic() - attempt)
                            reasons[type(exc).__name__] += 1
                        failed += 1
                        await asyncio.sleep(0.05)
                    longest = max(longest, time.monotonic() - began)
                    submitted.append(number)
                    number += 1

        async def killer() -> None:
            nonlocal kills
            while time.monotonic() + arguments.every < deadline:
                await asyncio.sleep(arguments.every)
                children = harness.process_tree(pid)[1:]
                servers = [child for child in children if _is_server(child, pid)]
                if servers:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(random.choice(servers), signal.SIGKILL)
                        kills += 1

        await asyncio.gather(killer(), *(client(n * 10_000_000) for n in range(arguments.clients)))
    database = Database(url)
    async with database.transaction() as session:
        stored = int(await session.scalar(select(func.count()).select_from(CloudEventRecord)) or 0)
    await database.dispose()
    attempts = served + failed
    print(f"uptime on {harness.database_name(url)}: {arguments.seconds} s, {arguments.workers} server processes, "
          f"one killed every {arguments.every} s ({kills} kills), {arguments.clients} clients, "
          f"{'kept-alive connections' if arguments.keep_alive else 'a new connection per request'} "
          f"({harness.load_average()}, {os.cpu_count()} cores)")
    print(f"  attempts {attempts}, served {served} ({100 * served / max(attempts, 1):.3f} %), "
          f"not served (retried) {failed}: {dict(reasons)}")
    print(f"  submissions {len(submitted)} ({len(submitted) / arguments.seconds:.0f}/s), stored {stored} "
          f"({'each exactly once' if stored == len(set(submitted)) == len(submitted) else 'MISMATCH'}); "
          f"longest wait for one submission {longest:.2f} s")
    hung = sum(seconds >= HUNG_SECONDS for seconds in took)
    print(f"  attempts {harness.latencies_ms(took)}; {hung} waited {HUNG_SECONDS:.0f} s or more")


def _is_server(pid: int, supervisor: int) -> bool:
    """A uvicorn server process of the supervisor: its child, but not multiprocessing's resource tracker."""
    with contextlib.suppress(OSError):
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        return parent == supervisor and "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--every", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--keep-alive", action="store_true", help="reuse each client's connection")
    parser.add_argument("--database-url")
    asyncio.run(main(parser.parse_args()))
